import { afterEach, describe, expect, it } from 'vitest';
import {
  buildComments,
  COMMENT_LIMITS,
  heldListMarker,
  planRecord,
  commentKey,
  commentMarker,
  isPoolsyncComment,
  statusDescription,
} from '../../src/vcs/comment.js';
import { publishPlan } from '../../src/vcs/publish.js';
import { codePointLength } from '../../src/vcs/comment.js';
import type { PublishOutcome } from '../../src/vcs/types.js';
import { FakeForge } from '../support/fake-forge.js';
import { makePlan } from './plan-fixture.js';
import { renderMarkdown } from '../../src/render/markdown.js';
import { budgetErrors } from '../../src/plan/guardrails.js';
import { splitHeld } from '../../src/plan/hold.js';
import { statusState } from '../../src/vcs/publish.js';
import type { PolicyReport } from '../../src/model/policy.js';

const SHA = '0123456789abcdef0123456789abcdef01234567';
const GITHUB = COMMENT_LIMITS.github;
const GITLAB = COMMENT_LIMITS.gitlab;

function body(outcome: PublishOutcome, limit = GITHUB, key?: string) {
  return buildComments({ outcome, commit: SHA, limit, key }).body;
}

describe('comment body', () => {
  it('opens with the marker and names the commit and folder', () => {
    const plan = makePlan({ queueUpdates: 1 });
    const b = body({ kind: 'plan', plan }, GITHUB, './teams/a/');
    expect(b.startsWith('<!-- poolsync:plan path="teams/a" -->\n')).toBe(true);
    expect(isPoolsyncComment(b, commentMarker('teams/a'))).toBe(true);
    expect(isPoolsyncComment(b, commentMarker())).toBe(false);
    expect(isPoolsyncComment(b, commentMarker('teams/a/b'))).toBe(false);
    expect(b).toContain('for `teams/a`');
    expect(b).toContain(`For commit \`${SHA}\`.`);
    expect(b).toContain(renderMarkdown(plan).trim());
    expect(b).toContain('**Merging** hands this change to poolsync');
    expect(body({ kind: 'plan', plan: makePlan({ queueUpdates: 2 }) })).toContain(
      '**Merging** hands these 2 changes to poolsync',
    );
  });

  it('a key cannot close the HTML comment early', () => {
    expect(commentMarker('a--b>"c')).toBe('<!-- poolsync:plan path="a_b__c" -->');
    expect(commentMarker('.')).toBe(commentMarker());
  });

  it('one key for the CLI (its Git prefix) and the daemon (its --path); a dot folder keeps its dot', () => {
    for (const [path, key] of [
      ['.config/', '.config'],
      ['./.config', '.config'],
      ['.config', '.config'],
      ['./teams/a/', 'teams/a'],
      ['teams\\a', 'teams/a'],
      ['.', ''],
      ['./', ''],
      ['', ''],
    ])
      expect(commentKey(path)).toBe(key);
    expect(commentMarker('.config/')).toBe('<!-- poolsync:plan path=".config" -->');
  });

  it('invalid repository: the errors in a text block, counted in the status', () => {
    const outcome: PublishOutcome = {
      kind: 'invalid',
      errorsText:
        'a.yaml:1:3: SCHEMA unknown field "spce" (did you mean "spec"?)\nb.yaml:2:1: V1 duplicate',
      errorCount: 2,
    };
    const b = body(outcome);
    expect(b).toContain('The repository is invalid (2 errors)');
    expect(b).toContain('```text\na.yaml:1:3: SCHEMA');
    expect(statusDescription(outcome)).toBe(
      'Invalid configuration (2 errors): nothing can be applied',
    );
  });
});

describe('size limits (GitHub 65,536; GitLab 1,000,000 characters)', () => {
  const plan = (opts: Parameters<typeof makePlan>[0]) => ({
    kind: 'plan' as const,
    plan: makePlan(opts),
  });

  it('a plan that fits is posted whole, the plan as renderMarkdown words it', () => {
    const outcome = plan({ queueUpdates: 50, warnings: 3, blocked: 2 });
    const b = body(outcome);
    // Three warnings of one code: a line each, as the dashboard leaves them unfolded.
    expect(b.match(/^- :warning: \*\*QUEUE_ROUTES_NOWHERE\*\* `Queue\/idle-\d`: /gm)).toHaveLength(
      3,
    );
    expect(b).toContain(renderMarkdown(outcome.plan).trim());
    expect(b).not.toContain('not shown');
    expect(b.match(/^! Queue\/queue-\d+$/gm)).toHaveLength(50);
  });

  it('a plan over the limit is shortened: counts, blocked, warnings, then changes counted', () => {
    const b = body(plan({ queueUpdates: 3000, warnings: 5, blocked: 2, unmanaged: 1 }));
    expect(codePointLength(b)).toBeLessThanOrEqual(GITHUB);
    expect(b.startsWith(commentMarker())).toBe(true);
    const counts = b.indexOf(
      'Plan: 0 to create, 3000 to update, 0 to replace, 0 to delete, 2 blocked.',
    );
    const blocked = b.indexOf('### Destructive and blocked changes (2)');
    const warnings = b.indexOf('### Warnings (5)');
    const changes = b.indexOf('<details><summary>The plan, change by change (3000)');
    expect(counts).toBeGreaterThan(0);
    expect(blocked).toBeGreaterThan(counts);
    expect(warnings).toBeGreaterThan(blocked);
    expect(changes).toBeGreaterThan(warnings);
    expect(b).toContain('- **blocked** `Queue/moved-1`: Q3/Q6');
    // Five warnings of one code: one line.
    expect(b).toContain(
      '**QUEUE_ROUTES_NOWHERE** ×5: queue idle-0 will route nowhere (C8) Also `Queue/idle-1`, `Queue/idle-2`, `Queue/idle-3` and 1 more.',
    );
    expect(b.match(/^- :warning: /gm)).toHaveLength(1);
    const shown = b.match(/^! Queue\/queue-\d+$/gm)?.length ?? 0;
    const omitted = Number(/# … (\d+) more changes not shown/.exec(b)?.[1]);
    expect(shown).toBeGreaterThan(1000);
    expect(shown + omitted).toBe(3000);
    // The unmanaged list did not fit: counted.
    expect(b).toContain('_1 unmanaged object not listed._');
    // Still ends with what merging does and the footer: nothing was cut blindly.
    expect(b).toMatch(
      /\*\*Merging\*\* hands these 3000 changes .*\n\n---\n<sub>Posted by poolsync/,
    );
  });

  it('the shortened body uses the room it has (fills to near the limit)', () => {
    const b = body(plan({ queueUpdates: 5000 }));
    expect(codePointLength(b)).toBeGreaterThan(GITHUB - 1000);
    expect(codePointLength(b)).toBeLessThanOrEqual(GITHUB);
  });

  it('GitLab: a plan GitHub shortens is whole; 40,000 changes are shortened, never over', () => {
    expect(body(plan({ queueUpdates: 3000 }), GITLAB)).not.toContain('not shown');
    const over = body(plan({ queueUpdates: 40_000 }), GITLAB);
    expect(codePointLength(over)).toBeLessThanOrEqual(GITLAB);
    expect(codePointLength(over)).toBeGreaterThan(GITLAB - 1000);
    expect(over).toMatch(/# … \d+ more changes not shown/);
  });

  it('counts characters, not UTF-16 units: an emoji is one, and no pair is cut', () => {
    const outcome = plan({ queueUpdates: 3000 });
    for (const c of outcome.plan.changes) c.address = `${c.address}🚀`;
    const b = body(outcome);
    expect(codePointLength(b)).toBeLessThanOrEqual(GITHUB);
    expect(b).toContain('Queue/queue-00000🚀');
    expect(b).not.toMatch(/[\ud800-\udbff](?![\udc00-\udfff])/);
  });

  it('huge validation output keeps the first errors and counts the rest', () => {
    const lines = Array.from(
      { length: 5000 },
      (_, i) => `q${i}.yaml:1:1: V3 Queue/q${i} names an unknown cluster`,
    );
    const b = body({ kind: 'invalid', errorsText: lines.join('\n'), errorCount: 5000 });
    expect(codePointLength(b)).toBeLessThanOrEqual(GITHUB);
    expect(b).toContain(lines[0]);
    const omitted = Number(/… (\d+) more lines omitted/.exec(b)?.[1]);
    const shown = b.match(/^q\d+\.yaml/gm)?.length ?? 0;
    expect(shown + omitted).toBe(5000);
  });

  it('errors, warnings and blocked items that alone exceed the limit are counted too', () => {
    const b = body(plan({ queueUpdates: 10, warnings: 2000, blocked: 2000, errors: 2000 }));
    expect(codePointLength(b)).toBeLessThanOrEqual(GITHUB);
    expect(b).toContain('**Plan failed** with 2000 errors');
    const errors = b.match(/^- :x: \*\*PREVENT_DESTROY\*\*/gm)?.length ?? 0;
    expect(errors + Number(/- … (\d+) more errors not shown/.exec(b)?.[1])).toBe(2000);
    // The errors took the room: the blocked changes are counted, each one.
    expect(b).toMatch(
      /(?:- … 2000 more destructive or blocked changes not listed)|(?:\*\*blocked\*\*)/,
    );
    expect(b).toContain('**Merging** applies nothing while the plan fails');
  });

  it('a tiny limit still gives a body within it, marker first', () => {
    const b = body(plan({ queueUpdates: 3000 }), 300);
    expect(codePointLength(b)).toBeLessThanOrEqual(300);
    expect(b.startsWith(commentMarker())).toBe(true);
  });
});

describe('size limits end to end', () => {
  let forge: FakeForge | null = null;
  afterEach(async () => {
    await forge?.stop();
  });

  it('a 20,000-change plan is posted to GitHub, shortened, within the limit', async () => {
    forge = await new FakeForge().start();
    const plan = makePlan({ queueUpdates: 20_000 });
    const r = await publishPlan({
      provider: 'github',
      apiUrl: forge.url,
      repository: 'acme/cfg',
      number: 1,
      commit: SHA,
      token: forge.token,
      outcome: { kind: 'plan', plan },
    });
    expect(r.comment).toBe('created');
    const posted = forge.list('github:acme/cfg#1')[0]!.body;
    expect(codePointLength(posted)).toBeLessThanOrEqual(GITHUB);
    expect(posted).toMatch(/# … \d+ more changes not shown/);
  });

  it('when the service counts lower than documented (422 too long), a shorter body is posted', async () => {
    forge = await new FakeForge().start();
    forge.limits.github = 60_000;
    const plan = makePlan({ queueUpdates: 20_000 });
    const r = await publishPlan({
      provider: 'github',
      apiUrl: forge.url,
      repository: 'acme/cfg',
      number: 1,
      commit: SHA,
      token: forge.token,
      outcome: { kind: 'plan', plan },
    });
    expect(r.comment).toBe('created');
    expect(forge.list('github:acme/cfg#1')).toHaveLength(1);
    expect(codePointLength(forge.list('github:acme/cfg#1')[0]!.body)).toBeLessThanOrEqual(
      GITHUB / 4,
    );
  });
});

describe('held changes: the plan comment always carries them and their fingerprint (issue 59)', () => {
  const FP = `sha256:${'ab'.repeat(32)}`;
  /** A plan of `n` held cluster deletes, as the daemon's comment carries it (policy safe). */
  const heldOutcome = (n: number, command = 'poolsync apply') => {
    const plan = makePlan({ queueUpdates: n });
    const changes = Array.from({ length: n }, (_, i) => ({
      action: 'delete' as const,
      address: `Cluster/gpu-${String(i).padStart(5, '0')}`,
    }));
    return {
      kind: 'plan' as const,
      plan,
      held: { fingerprint: FP, changes, command },
    };
  };
  const lines = (...texts: string[]) =>
    texts.flatMap((t) => t.match(/^- `delete Cluster\/gpu-\d+`$/gm) ?? []);

  it('a short list is in the plan comment, whole, right under the counts, before the plan', () => {
    const c = buildComments({ outcome: heldOutcome(3), commit: SHA, limit: GITHUB });
    expect(lines(c.body)).toHaveLength(3);
    expect(c.body).toContain(`holds these 3 changes, fingerprint \`${FP}\``);
    // Issue 78: the counts first, then what is held, then the rest of the plan.
    expect(c.body.indexOf('Plan:')).toBeLessThan(c.body.indexOf('Held for approval'));
    expect(c.body.indexOf('Held for approval')).toBeLessThan(c.body.indexOf('<details'));
    expect(c.heldLists).toEqual([]);
    expect(c.shown).toEqual(new Map([['', FP]]));
  });

  it('1,500 held deletes: the comment says how many, the fingerprint and where the rest is; the comment after it lists every one', () => {
    const c = buildComments({ outcome: heldOutcome(1500), commit: SHA, limit: GITHUB });
    expect(codePointLength(c.body)).toBeLessThanOrEqual(GITHUB);
    expect(c.body).toContain(`holds these 1500 changes, fingerprint \`${FP}\``);
    expect(c.body).toContain('all 1500 are listed in the comments after it');
    expect(c.body).toContain('by commenting `poolsync apply`');
    expect(lines(c.body)).toHaveLength(10);
    expect(c.body).toContain('- … 1490 more changes');
    expect(c.heldLists).toHaveLength(1);
    expect(codePointLength(c.heldLists[0]!)).toBeLessThanOrEqual(GITHUB);
    expect(c.heldLists[0]!.startsWith(heldListMarker('', 1))).toBe(true);
    expect(c.heldLists[0]).toContain(`1500 changes, fingerprint \`${FP}\``);
    expect(lines(c.heldLists[0]!)).toHaveLength(1500);
    expect(c.shown).toEqual(new Map([['', FP]]));
  });

  it('6,000: as many comments after it as the list takes, each within the limit, every change once', () => {
    const c = buildComments({ outcome: heldOutcome(6000), commit: SHA, limit: GITHUB });
    expect(c.heldLists.length).toBeGreaterThan(2);
    c.heldLists.forEach((list, i) => {
      expect(codePointLength(list)).toBeLessThanOrEqual(GITHUB);
      expect(list.startsWith(heldListMarker('', i + 1))).toBe(true);
    });
    const all = lines(...c.heldLists);
    expect(all).toHaveLength(6000);
    expect(new Set(all).size).toBe(6000);
    expect(c.shown).toEqual(new Map([['', FP]]));
  });

  it('a list too long for the comments allowed: shown nowhere, so no comment approves it, and the comment says so', () => {
    const c = buildComments({ outcome: heldOutcome(30_000), commit: SHA, limit: GITHUB });
    expect(codePointLength(c.body)).toBeLessThanOrEqual(GITHUB);
    expect(c.body).toContain(`holds these 30000 changes, fingerprint \`${FP}\``);
    expect(c.body).toContain('so no comment approves them');
    expect(c.body).not.toContain('by commenting');
    expect(c.heldLists).toEqual([]);
    expect(c.shown).toEqual(new Map([['', null]]));
  });

  it('with environments, each section carries its held part; the record says which lists are shown', () => {
    const outcome: PublishOutcome = {
      kind: 'environments',
      environments: [
        { name: 'dev', outcome: heldOutcome(2, 'poolsync apply -e dev') },
        { name: 'prod', outcome: heldOutcome(1500, 'poolsync apply -e prod') },
        { name: 'eu', outcome: heldOutcome(30_000, 'poolsync apply -e eu') },
      ],
    };
    const c = buildComments({ outcome, commit: SHA, limit: GITHUB });
    expect(codePointLength(c.body)).toBeLessThanOrEqual(GITHUB);
    // prod's list goes to the comments after it; eu's is too long for them.
    expect(c.shown).toEqual(
      new Map([
        ['dev', FP],
        ['prod', FP],
        ['eu', null],
      ]),
    );
    expect(c.heldLists.join('')).toContain('#### `prod`: 1500 changes');
    expect(c.heldLists.join('')).not.toContain('`eu`');
    expect(c.body).toContain('`poolsync apply -e dev`');
    expect(c.body).toContain('`poolsync apply -e prod`');
    expect(c.body).not.toContain('`poolsync apply -e eu`');
    // A replica reading the comment refuses eu's approval too (pull-requests.ts recover).
    expect(planRecord(c.body, 'eu')!.held).toBe('unlisted');
    expect(planRecord(c.body, 'prod')!.held).not.toBe('unlisted');
  });
});

describe('what the daemon holds, and why, in words that agree (hand-tester findings)', () => {
  /**
   * Main's `development` sets `guardrails: {max_destroy: 0}` under policy `all`; the pull
   * request deletes two clusters and raises the budget to 10: the base branch's bound holds.
   */
  const overBudget = () => {
    const plan = makePlan({ deletes: 2 });
    plan.errors = budgetErrors(plan, [
      { from: 'repository', guardrails: { max_destroy: 10 } },
      { from: 'base', guardrails: { max_destroy: 0 } },
    ]);
    return plan;
  };
  const daemonOutcome = (plan = overBudget(), policy: 'safe' | 'all' = 'all') => {
    const { fingerprint, held } = splitHeld(plan);
    const note = { fingerprint: fingerprint!, changes: held, command: 'poolsync apply' };
    return { kind: 'plan' as const, plan, policy, held: note };
  };

  it('a budget hold names the budget, not policy safe, and is not a failed plan in the daemon’s comment', () => {
    const outcome = daemonOutcome();
    const b = body(outcome);
    expect(b).toContain(
      "**Held for approval** (the destroy budget `guardrails.max_destroy: 0` (the base branch's poolsync.yaml), whatever the policy): after merge the daemon applies the rest and holds these 2 changes",
    );
    expect(b).not.toContain('(policy `safe`)');
    expect(b).not.toContain('Plan failed');
    expect(b).not.toContain('nothing will be applied');
    expect(b).toContain('**Over the destroy budget** (1 error): after merge the daemon holds');
    expect(b).toMatch(
      /\*\*Merging\*\*: the daemon applies the rest of these 2 changes .* holds the 2 changes above/,
    );
    // Its check: the daemon holds, so the check does not fail; it says why.
    expect(statusState(outcome)).toBe('success');
    expect(statusDescription(outcome)).toBe(
      'Plan: 0 to create, 0 to update, 0 to replace, 2 to delete, 0 blocked. Over the destroy budget: the daemon holds 2 changes for approval after merge.',
    );
  });

  it('CI (`plan --comment`, no daemon): the same plan fails, as its exit code does', () => {
    const outcome = { kind: 'plan' as const, plan: overBudget() };
    const b = body(outcome);
    expect(b).toContain('**Plan failed** with 1 error: nothing will be applied.');
    expect(b).toContain('**Merging** applies nothing while the plan fails');
    expect(statusState(outcome)).toBe('failure');
    expect(statusDescription(outcome)).toMatch(/^Plan failed with 1 error: /);
  });

  it('policy safe alone, and safe with a budget, name each', () => {
    const plan = makePlan({ deletes: 2 });
    expect(body(daemonOutcome(plan, 'safe'))).toContain(
      '**Held for approval** (policy `safe`): after merge',
    );
    expect(body(daemonOutcome(overBudget(), 'safe'))).toContain(
      "**Held for approval** (policy `safe`, and the destroy budget `guardrails.max_destroy: 0` (the base branch's poolsync.yaml), whatever the policy)",
    );
  });

  it('the destructive changes name what really holds them after merge, as the held section does', () => {
    /** The line under the heading of destructive and blocked changes. */
    const note = (b: string) => {
      const lines = b.split('\n');
      return lines[lines.findIndex((l) => l.startsWith('### Destructive and blocked')) + 2];
    };
    const above = ' 2 of them are the held changes above.';
    expect(note(body(daemonOutcome()))).toBe(
      "They remove, replace or interrupt something (held for approval by the destroy budget `guardrails.max_destroy: 0` (the base branch's poolsync.yaml), whatever the policy); nothing is sent for blocked ones." +
        above,
    );
    expect(note(body(daemonOutcome(makePlan({ deletes: 2 }), 'safe')))).toBe(
      'They remove, replace or interrupt something (held for approval by policy `safe`); nothing is sent for blocked ones.' +
        above,
    );
    const confirmed = { ...makePlan({ deletes: 2 }), confirm_destroy: ['Cluster/dev-0'] };
    expect(note(body(daemonOutcome(confirmed)))).toBe(
      'They remove, replace or interrupt something (held for approval by `poolsync/confirm-destroy`, whatever the policy); nothing is sent for blocked ones.' +
        above,
    );
    // Nothing holds them: policy `all` applies them, `none` applies nothing.
    const plan = makePlan({ deletes: 2, blocked: 1 });
    expect(note(body({ kind: 'plan', plan, policy: 'all' }))).toBe(
      "They remove, replace or interrupt something (the daemon's policy `all` applies them without approval); nothing is sent for blocked ones.",
    );
    expect(note(body({ kind: 'plan', plan, policy: 'none' }))).toBe(
      "They remove, replace or interrupt something (the daemon's policy `none` applies none of them); nothing is sent for blocked ones.",
    );
    // CI's comment knows no daemon: what its default policy does.
    expect(note(body({ kind: 'plan', plan }))).toBe(
      'They remove, replace or interrupt something (policy `safe` holds them for approval); nothing is sent for blocked ones.',
    );
  });

  it('a section the policies deny never says the daemon applies it, and is shown open', () => {
    const denied: PolicyReport = {
      source: 'policies',
      from: 'base',
      files: 1,
      rules: 1,
      deny: [{ rule: 'no_deletes', msg: 'no cluster deletes on Fridays' }],
      warn: [],
      elapsed_ms: 5,
      owners: ['alice'],
    };
    const plan = makePlan({ queueUpdates: 1 });
    const outcome = { kind: 'plan' as const, plan, policy: 'all' as const, policies: denied };
    const b = body(outcome);
    expect(b).not.toContain('the daemon applies');
    expect(b).toContain('**Merging** applies nothing while the policies deny this plan (above)');
    const error = { ...denied, deny: [], error: 'opa exited 1' };
    expect(body({ ...outcome, policies: error })).toContain(
      '**Merging** applies nothing while the policies cannot be evaluated (above)',
    );
    const sections = body({
      kind: 'environments',
      environments: [
        { name: 'production', outcome },
        { name: 'staging', outcome: { kind: 'plan', plan, policy: 'all' } },
      ],
    });
    expect(sections).toMatch(/<details open><summary><b>production<\/b>: Plan: .* Policies fail/);
    expect(sections).toMatch(/<details><summary><b>staging<\/b>: Plan: /);
  });
});
