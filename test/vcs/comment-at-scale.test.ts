/**
 * Issue 78: a pull-request comment reads at any size, as Atlantis' does. The counts come first,
 * every destructive and blocked change before anything the room may not hold (or exactly how
 * many could not be listed), warnings one line per code, the plan folded in `<details>`, and
 * last what merging does. Plans made by the planner: the 10,000-object organisation
 * (scale-plans.ts) and the example repository drifted (test/render/scenarios.ts).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { Plan } from '../../src/model/plan.js';
import { destructiveChanges, splitHeld } from '../../src/plan/hold.js';
import { buildComments, codePointLength, COMMENT_LIMITS } from '../../src/vcs/comment.js';
import type { PublishOutcome } from '../../src/vcs/types.js';
import { driftedScenario } from '../render/scenarios.js';
import { scalePlan } from './scale-plans.js';

const SHA = '0123456789abcdef0123456789abcdef01234567';
const GITHUB = COMMENT_LIMITS.github;

const comment = (outcome: PublishOutcome, limit = GITHUB) =>
  buildComments({ outcome, commit: SHA, limit }).body;

/** The plan section's lines before the footer, the last one first. */
const lastLine = (body: string) => body.split('\n---\n')[0]!.trimEnd().split('\n').at(-1)!;

/** Each address in the comment's destructive section, by the code spans it lists. */
function listedAddresses(body: string): Set<string> {
  const start = body.indexOf('### Destructive and blocked changes');
  const end = body.indexOf('\n### ', start + 1);
  const section = body.slice(start, end < 0 ? undefined : end);
  return new Set([...section.matchAll(/`([A-Za-z]+\/[^`]+)`/g)].map((m) => m[1]!));
}

describe('the comment of the 10,000-object organisation (issue 78)', () => {
  let first: Plan;
  let moved: Plan;
  let manyMoved: Plan;
  beforeAll(async () => {
    first = await scalePlan(null);
    moved = await scalePlan(0.25);
    manyMoved = await scalePlan(0.9);
  }, 60_000);

  it('its first apply: the counts first, 344 warnings in two lines, the plan folded and counted', () => {
    expect(first.summary.create).toBe(11_652);
    expect(first.warnings).toHaveLength(344);
    const b = comment({ kind: 'plan', plan: first });
    expect(codePointLength(b)).toBeLessThanOrEqual(GITHUB);
    const counts = b.indexOf(
      '**Plan: 10000 to create, 0 to update, 0 to replace, 0 to delete, 0 blocked.**',
    );
    expect(counts).toBeGreaterThan(0);
    expect(counts).toBeLessThan(b.indexOf('### Warnings (344)'));
    // Before: 219 warning lines filled the comment and no change was shown.
    expect(b.match(/^- :warning: /gm)).toHaveLength(2);
    expect(b).toMatch(/^- :warning: \*\*QUEUE_NO_HEALTHY_CLUSTER\*\* ×164: .* and 160 more\.$/m);
    expect(b).toContain('<details><summary>The plan, change by change (11652)</summary>');
    const shown = b.match(/^\+ [A-Za-z]+\//gm)?.length ?? 0;
    const omitted = Number(/^# … (\d+) more changes not shown/m.exec(b)?.[1]);
    // 285: each registration also shows its data plane (was 532 without it; before issue 78, 0).
    expect(shown).toBeGreaterThan(250);
    expect(shown + omitted).toBe(11_652);
    expect(lastLine(b)).toMatch(/^\*\*Merging\*\* hands these 10000 changes to poolsync's apply/);
  });

  it('500 clusters moved: every one of the 1,000 destructive and blocked changes is listed', () => {
    const destructive = destructiveChanges(moved).map((d) => d.change.address);
    const blocked = moved.changes.filter((c) => c.action === 'blocked').map((c) => c.address);
    expect([destructive.length, blocked.length]).toEqual([500, 500]);
    const b = comment({ kind: 'plan', plan: moved });
    expect(codePointLength(b)).toBeLessThanOrEqual(GITHUB);
    const listed = listedAddresses(b);
    for (const address of [...destructive, ...blocked]) expect(listed).toContain(address);
    expect(b).not.toContain('more destructive or blocked change');
    // Before the warnings and the plan, which are what a full comment shortens.
    expect(b.indexOf('### Destructive and blocked changes (1000)')).toBeLessThan(
      b.indexOf('### Warnings'),
    );
    expect(b).toMatch(/^- \*\*replace\*\* `Cluster\/[^`]+`(, `Cluster\/[^`]+`)+$/m);
  });

  it('more than the comment holds: as many as fit, and exactly how many it could not list', () => {
    const total = destructiveChanges(manyMoved).length + manyMoved.summary.blocked;
    expect(total).toBeGreaterThan(3000);
    const b = comment({ kind: 'plan', plan: manyMoved });
    expect(codePointLength(b)).toBeLessThanOrEqual(GITHUB);
    const listed = listedAddresses(b).size;
    const more = Number(/- … (\d+) more destructive or blocked changes not listed/.exec(b)?.[1]);
    expect(listed).toBeGreaterThan(1000);
    expect(listed + more).toBe(total);
    expect(b).toContain(`### Destructive and blocked changes (${total})`);
  });

  it('GitLab (1,000,000 characters) lists every one of them', () => {
    const b = comment({ kind: 'plan', plan: manyMoved }, COMMENT_LIMITS.gitlab);
    expect(b).not.toContain('more destructive or blocked change');
    const total = destructiveChanges(manyMoved).length + manyMoved.summary.blocked;
    expect(listedAddresses(b).size).toBe(total);
  });

  it('from the daemon under policy safe: the held changes above, not listed twice; merging says what it holds', () => {
    const split = splitHeld(moved);
    const held = {
      fingerprint: split.fingerprint!,
      changes: split.held,
      command: 'poolsync apply',
    };
    const b = comment({ kind: 'plan', plan: moved, policy: 'safe', held });
    expect(codePointLength(b)).toBeLessThanOrEqual(GITHUB);
    expect(b.indexOf('**Plan:')).toBeLessThan(b.indexOf('**Held for approval**'));
    expect(b.indexOf('**Held for approval**')).toBeLessThan(
      b.indexOf('### Destructive and blocked changes'),
    );
    expect(b).toContain('500 of them are the held changes above.');
    expect(lastLine(b)).toBe(
      `**Merging**: the daemon applies the rest of these 2439 changes on its next run and holds the ${split.held.length} changes above until approved (unless applies are frozen).`,
    );
  });
});

describe('a small plan (issue 78)', () => {
  let plan: Plan;
  beforeAll(async () => {
    plan = await driftedScenario();
  });

  it('collapsible details (open, being short), the destructive change first, a next step last', () => {
    const b = comment({ kind: 'plan', plan });
    expect(b).toContain('<details open><summary>The plan, change by change (4)</summary>');
    expect(b).toContain('</details>');
    const destructive = b.indexOf('### Destructive and blocked changes (2)');
    expect(destructive).toBeGreaterThan(b.indexOf('**Plan:'));
    expect(destructive).toBeLessThan(b.indexOf('<details open>'));
    expect(b).toContain(
      '- **replace** `Cluster/shared-us-west-2`: pool "dev" → "default" forces it',
    );
    expect(lastLine(b)).toMatch(/^\*\*Merging\*\* hands these 4 changes/);
  });

  it("the daemon's policy words the next step", () => {
    const none = comment({ kind: 'plan', plan, policy: 'none' });
    expect(lastLine(none)).toBe(
      "**Merging** applies nothing: the daemon's policy is `none` (it plans only); these 4 changes wait for `poolsync apply`.",
    );
    const all = comment({ kind: 'plan', plan, policy: 'all' });
    expect(lastLine(all)).toBe(
      '**Merging**: the daemon applies these 4 changes on its next run (unless applies are frozen).',
    );
  });
});
