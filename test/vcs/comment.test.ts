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
import { makePlan, markdownOf } from './plan-fixture.js';

const SHA = '0123456789abcdef0123456789abcdef01234567';
const GITHUB = COMMENT_LIMITS.github;
const GITLAB = COMMENT_LIMITS.gitlab;

function body(outcome: PublishOutcome, limit = GITHUB, key?: string) {
  return buildComments({ outcome, commit: SHA, limit, key }).body;
}

/** Markdown of exactly `n` characters, standing in for renderMarkdown output. */
function outcomeWithMarkdown(
  n: number,
  plan = makePlan({ queueUpdates: 3000, warnings: 3, blocked: 2 }),
) {
  return { kind: 'plan' as const, plan, markdown: 'x'.repeat(n) };
}

describe('comment body', () => {
  it('opens with the marker and names the commit and folder', () => {
    const plan = makePlan({ queueUpdates: 1 });
    const b = body({ kind: 'plan', plan, markdown: markdownOf(plan) }, GITHUB, './teams/a/');
    expect(b.startsWith('<!-- poolsync:plan path="teams/a" -->\n')).toBe(true);
    expect(isPoolsyncComment(b, commentMarker('teams/a'))).toBe(true);
    expect(isPoolsyncComment(b, commentMarker())).toBe(false);
    expect(isPoolsyncComment(b, commentMarker('teams/a/b'))).toBe(false);
    expect(b).toContain('for `teams/a`');
    expect(b).toContain(`For commit \`${SHA}\`.`);
    expect(b).toContain(markdownOf(plan).trim());
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
  const overhead = codePointLength(body(outcomeWithMarkdown(0)));

  it('a body exactly at the GitHub limit is posted in full', () => {
    const b = body(outcomeWithMarkdown(GITHUB - overhead));
    expect(codePointLength(b)).toBe(GITHUB);
    expect(b).toContain('x'.repeat(GITHUB - overhead));
    expect(b).not.toContain('shortened');
  });

  it('one character over the limit is shortened: summary, warnings, blocked first, changes counted', () => {
    const plan = makePlan({ queueUpdates: 3000, warnings: 3, blocked: 2, unmanaged: 1 });
    const b = body(outcomeWithMarkdown(GITHUB - overhead + 1, plan));
    expect(codePointLength(b)).toBeLessThanOrEqual(GITHUB);
    expect(b.startsWith(commentMarker())).toBe(true);
    expect(b).toContain('Plan: 0 to create, 3000 to update, 0 to replace, 0 to delete, 2 blocked.');
    expect(b).toContain('shortened');
    const warnings = b.indexOf('#### Warnings');
    const blocked = b.indexOf('#### Blocked');
    const changes = b.indexOf('#### Changes');
    expect(warnings).toBeGreaterThan(0);
    expect(blocked).toBeGreaterThan(warnings);
    expect(changes).toBeGreaterThan(blocked);
    expect(b).toContain('`Queue/moved-1`: Q3/Q6');
    expect(b).toContain('`QUEUE_ROUTES_NOWHERE` `Queue/idle-2`');
    const shown = b.match(/^~ Queue\/queue-\d+$/gm)?.length ?? 0;
    const omitted = Number(/# … (\d+) more changes omitted/.exec(b)?.[1]);
    expect(shown).toBeGreaterThan(1000);
    // 3000 updates + 1 unmanaged; blocked ones are listed above.
    expect(shown + omitted).toBe(3001);
    // Still ends with the footer: nothing was cut blindly.
    expect(b.trimEnd().endsWith('</sub>')).toBe(true);
  });

  it('the shortened body uses the room it has (fills to near the limit)', () => {
    const b = body(outcomeWithMarkdown(GITHUB, makePlan({ queueUpdates: 5000 })));
    expect(codePointLength(b)).toBeGreaterThan(GITHUB - 500);
    expect(codePointLength(b)).toBeLessThanOrEqual(GITHUB);
  });

  it('GitLab: exactly at 1,000,000 in full, one over shortened, never over', () => {
    const exact = body(outcomeWithMarkdown(GITLAB - overhead), GITLAB);
    expect(codePointLength(exact)).toBe(GITLAB);
    const plan = makePlan({ queueUpdates: 40_000 });
    const over = body(outcomeWithMarkdown(GITLAB - overhead + 1, plan), GITLAB);
    expect(codePointLength(over)).toBeLessThanOrEqual(GITLAB);
    expect(over).toMatch(/# … \d+ more changes omitted/);
  });

  it('counts characters, not UTF-16 units: an emoji is one', () => {
    const emoji = '🚀'.repeat(GITHUB - overhead);
    const b = body({ kind: 'plan', plan: makePlan({}), markdown: emoji });
    expect(codePointLength(b)).toBe(GITHUB);
    expect(b).toContain(emoji);
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
    const plan = makePlan({ queueUpdates: 10, warnings: 2000, blocked: 2000, errors: 2000 });
    const b = body(outcomeWithMarkdown(GITHUB * 2, plan));
    expect(codePointLength(b)).toBeLessThanOrEqual(GITHUB);
    expect(b).toMatch(/- … \d+ more errors omitted/);
    expect(b).toContain('The plan failed');
  });

  it('a tiny limit still gives a body within it, marker first', () => {
    const b = body(outcomeWithMarkdown(5000), 300);
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
      outcome: { kind: 'plan', plan, markdown: markdownOf(plan) },
    });
    expect(r.comment).toBe('created');
    const posted = forge.list('github:acme/cfg#1')[0]!.body;
    expect(codePointLength(posted)).toBeLessThanOrEqual(GITHUB);
    expect(posted).toMatch(/# … \d+ more changes omitted/);
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
      outcome: { kind: 'plan', plan, markdown: markdownOf(plan) },
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
      markdown: markdownOf(plan),
      held: { fingerprint: FP, changes, command },
    };
  };
  const lines = (...texts: string[]) =>
    texts.flatMap((t) => t.match(/^- `delete Cluster\/gpu-\d+`$/gm) ?? []);

  it('a short list is in the plan comment, whole, before the plan', () => {
    const c = buildComments({ outcome: heldOutcome(3), commit: SHA, limit: GITHUB });
    expect(lines(c.body)).toHaveLength(3);
    expect(c.body).toContain(`holds these 3 changes, fingerprint \`${FP}\``);
    expect(c.body.indexOf('Held for approval')).toBeLessThan(c.body.indexOf('Plan:'));
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
