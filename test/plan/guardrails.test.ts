/**
 * Guardrails in the pure planner (docs/plan.md, Guardrails; issue 74 items 1 and 2): protection
 * the inventory keeps once applied, so removing, renaming or un-annotating a protected object in
 * one change is a PREVENT_DESTROY error; lifting it by applying a commit without the annotation;
 * confirm-destroy listed for approval; and the destroy budget, strictest of this commit's, the
 * base branch's and the last apply's, so a raise never counts for the change that carries it.
 */
import { describe, expect, it } from 'vitest';
import { BASELINE_CAPABILITIES } from '../../src/model/common.js';
import type { DesiredState, Guardrails } from '../../src/model/desired.js';
import type { LiveState } from '../../src/model/live.js';
import { environmentConfig } from '../../src/manifests/environments.js';
import { parseInventory } from '../../src/model/inventory.js';
import { computePlan } from '../../src/plan/index.js';
import { inventoryBehind, nextBudgets, nextProtection } from '../../src/plan/inventory.js';
import { liveChanges } from '../../src/plan/live-changes.js';
import { errorText, planErrorsRefusal } from '../../src/render/reasons.js';
import { renderMarkdown } from '../../src/render/markdown.js';
import { renderText } from '../../src/render/text.js';
import { contract, desired, live } from './build.js';
import { actions } from './helpers.js';

const CAPS = { ...BASELINE_CAPABILITIES, drain: true, queue_delete: true };
const PREVENT = { 'poolsync/prevent-destroy': 'true' };

const names = (n: number) => Array.from({ length: n }, (_, i) => `c${i + 1}`);

/** Clusters `declared` in the repository (prune on), `guardrails` in its poolsync.yaml. */
function repo(
  declared: Record<string, Record<string, string>>,
  guardrails?: Guardrails,
): DesiredState {
  const d = desired({
    prune: true,
    pools: { prod: contract('prod') },
    clusters: Object.fromEntries(
      Object.entries(declared).map(([n, annotations]) => [n, { pool: 'prod', annotations }]),
    ),
  });
  return { ...d, config: { ...d.config, ...(guardrails ? { guardrails } : {}) } };
}

/** Clusters `applied` by poolsync (in the inventory), with the inventory's marks. */
function state(applied: string[], marks: Partial<LiveState> = {}): LiveState {
  const l = live({
    pools: { prod: contract('prod') },
    clusters: Object.fromEntries(applied.map((n) => [n, { pool: 'prod' }])),
  });
  return {
    ...l,
    capabilities: CAPS,
    inventory: ['ClusterPool/prod', ...applied.map((n) => `Cluster/${n}`)].sort(),
    ...marks,
  };
}

describe('protection kept in the inventory (issue 74 item 1)', () => {
  it('removing the manifest of a recorded prevent-destroy cluster is a plan error naming it', () => {
    const plan = computePlan(
      repo({ b: {} }),
      state(['a', 'b'], { prevent_destroy: ['Cluster/a'] }),
    );
    expect(plan.errors.map((e) => [e.code, e.address])).toEqual([['PREVENT_DESTROY', 'Cluster/a']]);
    const text = errorText(plan.errors[0]!);
    expect(text).toContain('Cluster/a was applied with poolsync/prevent-destroy: "true"');
    expect(text).toContain('without the annotation');
    expect(renderText(plan, { color: false })).toContain(
      'Cluster/a was applied with poolsync/prevent-destroy',
    );
  });

  it('annotation and object removed in one change, or only the annotation while a replace is planned: still an error', () => {
    // The manifest drops the annotation and moves the cluster (a replace) in one change.
    const d = repo({ a: {} });
    const moved = { ...d, clusters: d.clusters.map((c) => ({ ...c, pool: 'gpu' })) };
    moved.pools = [...d.pools, { ...d.pools[0]!, name: 'gpu' }];
    const plan = computePlan(moved, state(['a'], { prevent_destroy: ['Cluster/a'] }));
    expect(actions(plan)['Cluster/a']).toBe('replace');
    expect(plan.errors.map((e) => e.address)).toEqual(['Cluster/a']);
  });

  it('without a recorded mark, and once lifted, the delete plans', () => {
    const plan = computePlan(repo({ b: {} }), state(['a', 'b']));
    expect(plan.errors).toEqual([]);
    expect(actions(plan)['Cluster/a']).toBe('delete');
  });

  it('an apply records the declared marks; a declared object without "true" lifts its mark; an undeclared one keeps it', () => {
    const d = repo({ a: PREVENT, b: {} });
    const first = computePlan(d, state(['a', 'b']));
    expect(first.inventory?.prevent_destroy).toEqual(['Cluster/a']);
    const addresses = ['Cluster/a', 'Cluster/b', 'ClusterPool/prod'];
    expect(nextProtection({}, first.inventory!, addresses)).toEqual({
      prevent_destroy: ['Cluster/a'],
      confirm_destroy: [],
    });
    // The manifest removed: the mark stays (nothing to record: null).
    const removed = computePlan(repo({ b: {} }), state(['a', 'b']));
    expect(nextProtection({ prevent_destroy: ['Cluster/a'] }, removed.inventory!, addresses)).toBe(
      null,
    );
    // Declared without the annotation: lifted when applied.
    const lifted = computePlan(repo({ a: {}, b: {} }), state(['a', 'b']));
    expect(lifted.errors).toEqual([]);
    expect(
      nextProtection({ prevent_destroy: ['Cluster/a'] }, lifted.inventory!, addresses),
    ).toEqual({ prevent_destroy: [], confirm_destroy: [] });
    // Gone from the inventory (deleted): its mark goes with it.
    expect(
      nextProtection({ prevent_destroy: ['Cluster/a'] }, removed.inventory!, ['Cluster/b']),
    ).toEqual({ prevent_destroy: [], confirm_destroy: [] });
    // Forgotten (`state forget`): kept for `import` to write back, so no run is behind for it.
    const forgotten = state(['b'], { prevent_destroy: ['Cluster/a'], forgotten: ['Cluster/a'] });
    expect(inventoryBehind(forgotten, computePlan(repo({ b: {} }), forgotten).inventory!)).toBe(
      false,
    );
  });

  it('confirm-destroy, declared or recorded, lists the destroy for approval and is no error', () => {
    const recorded = computePlan(
      repo({ b: {} }),
      state(['a', 'b'], { confirm_destroy: ['Cluster/a'] }),
    );
    expect(recorded.errors).toEqual([]);
    expect(recorded.confirm_destroy).toEqual(['Cluster/a']);
    expect(renderMarkdown(recorded)).toContain(
      "Needs a person's approval (poolsync/confirm-destroy): Cluster/a.",
    );
    const none = computePlan(
      repo({ a: {}, b: {} }),
      state(['a', 'b'], { confirm_destroy: ['Cluster/a'] }),
    );
    expect(none.confirm_destroy).toBeUndefined();
  });
});

describe('the destroy budget (issue 74 item 2)', () => {
  const applied = names(8);
  const keep = (n: number) =>
    Object.fromEntries(
      names(8)
        .slice(n)
        .map((c) => [c, {}]),
    );

  it('6 deletes over max_destroy: 5 is a plan error with the count and the list; 5 pass', () => {
    const six = computePlan(repo(keep(6), { max_destroy: 5 }), state(applied));
    expect(six.errors.map((e) => e.code)).toEqual(['DESTROY_BUDGET']);
    const text = errorText(six.errors[0]!);
    expect(text).toContain('would delete 6 objects, over guardrails.max_destroy: 5');
    for (const c of names(6)) expect(text).toContain(`Cluster/${c}`);
    // The pull-request comment and the plan text say the same (item 7).
    expect(renderMarkdown(six)).toContain('over guardrails.max_destroy: 5');
    expect(renderText(six, { color: false })).toContain('over guardrails.max_destroy: 5');
    const five = computePlan(repo(keep(5), { max_destroy: 5 }), state(applied));
    expect(five.errors).toEqual([]);
    expect(five.inventory?.guardrails).toEqual({ max_destroy: 5 });
  });

  it('one delete over max_destroy: 0 is counted in the singular, as is one error refusing a plan', () => {
    const one = computePlan(repo(keep(1), { max_destroy: 0 }), state(applied));
    expect(errorText(one.errors[0]!)).toContain(
      'would delete 1 object, over guardrails.max_destroy: 0',
    );
    expect(planErrorsRefusal(one.errors)).toMatch(/^the plan has 1 error; nothing was applied/);
  });

  it('a raise in the change itself counts for nothing: the base branch and the last apply bound it', () => {
    const raised = repo(keep(6), { max_destroy: 50 });
    const base = computePlan(raised, state(applied), { baseGuardrails: { max_destroy: 5 } });
    expect(base.errors.map((e) => e.params)).toMatchObject([{ limit: 5, from: ['base'] }]);
    const recorded = computePlan(raised, state(applied, { guardrails: { max_destroy: 5 } }));
    expect(recorded.errors.map((e) => e.params)).toMatchObject([{ limit: 5, from: ['recorded'] }]);
    expect(errorText(recorded.errors[0]!)).toContain('as last applied');
    // Lowering counts at once.
    const lowered = computePlan(
      repo(keep(2), { max_destroy: 1 }),
      state(applied, { guardrails: { max_destroy: 5 } }),
    );
    expect(lowered.errors.map((e) => e.params)).toMatchObject([{ limit: 1, count: 2 }]);
  });

  it("each repository's recorded budget bounds its own plans only; one recorded without a repository, those with none of their own", () => {
    const raised = repo(keep(6), { max_destroy: 50 });
    const recorded = state(applied, {
      guardrails: { max_destroy: 1 },
      repository_guardrails: { mine: { max_destroy: 5 }, other: { max_destroy: 0 }, lifted: {} },
    });
    const bounds = (repository: string | null) =>
      computePlan(raised, recorded, { repository }).errors.map((e) => e.params);
    expect(bounds('mine')).toMatchObject([{ limit: 5, from: ['recorded'] }]);
    expect(bounds('lifted')).toEqual([]);
    const unnamed = computePlan(raised, recorded, { repository: 'new' });
    expect(unnamed.errors.map((e) => e.params)).toMatchObject([
      { limit: 1, from: ['recorded_unnamed'] },
    ]);
    expect(errorText(unnamed.errors[0]!)).toContain(
      "(as last applied, recorded by an earlier poolsync for every repository until this one's next apply records its own)",
    );
    // A plan naming no repository (in process, or an earlier build's) keeps the one recorded so.
    expect(bounds(null)).toMatchObject([{ limit: 1, from: ['recorded'] }]);
  });

  it("an apply records its repository's budget only; {} where one recorded without a repository would bind it", () => {
    const a = { max_destroy: 1 };
    expect(nextBudgets({}, { repository: 'a' })).toBeNull();
    expect(nextBudgets({}, { repository: 'a', guardrails: a })).toEqual({
      repository_guardrails: { a },
    });
    expect(
      nextBudgets({ repository_guardrails: { a, b: { max_destroy: 0 } } }, { repository: 'b' }),
    ).toEqual({ repository_guardrails: { a } });
    expect(nextBudgets({ guardrails: { max_destroy: 0 } }, { repository: 'a' })).toEqual({
      guardrails: { max_destroy: 0 },
      repository_guardrails: { a: {} },
    });
    expect(
      nextBudgets(
        { guardrails: { max_destroy: 0 }, repository_guardrails: { a: {} } },
        { repository: 'a' },
      ),
    ).toBeNull();
    // A plan of an earlier build names no repository: recorded as that build did.
    expect(
      nextBudgets({ repository_guardrails: { a } }, { guardrails: { max_destroy: 3 } }),
    ).toEqual({ guardrails: { max_destroy: 3 }, repository_guardrails: { a } });
  });

  it('max_replace counts replaces only; no guardrails: no bound', () => {
    const d = repo(Object.fromEntries(names(3).map((c) => [c, {}])), { max_replace: 1 });
    const moved = {
      ...d,
      pools: [...d.pools, { ...d.pools[0]!, name: 'gpu' }],
      clusters: d.clusters.map((c) => ({ ...c, pool: 'gpu' })),
    };
    const plan = computePlan(moved, state(names(3)));
    expect(plan.errors.map((e) => [e.code, e.params?.rule, e.params?.count])).toEqual([
      ['DESTROY_BUDGET', 'max_replace', 3],
    ]);
    expect(computePlan(repo({}), state(applied)).errors).toEqual([]);
  });
});

describe('the inventory record and poolsync.yaml (issue 74 items 1, 2)', () => {
  it('an inventory written before the marks reads as before; the marks and the budget round trip; a wrong one is refused', () => {
    const old = {
      format: 1,
      addresses: ['Cluster/a'],
      updated_at: '2026-01-01T00:00:00Z',
      commit: null,
      control_plane: null,
    };
    expect(parseInventory(old)).toEqual(old);
    const marked = {
      ...old,
      prevent_destroy: ['Cluster/a'],
      confirm_destroy: ['Cluster/a'],
      guardrails: { max_destroy: 5 },
    };
    expect(parseInventory(JSON.parse(JSON.stringify(marked)))).toEqual(marked);
    expect(parseInventory({ ...old, prevent_destroy: 'Cluster/a' })).toBe(
      'prevent_destroy must be a list of Kind/name addresses',
    );
    expect(parseInventory({ ...old, guardrails: { max_destroy: -1 } })).toMatch(
      /^guardrails must be/,
    );
    // Each repository's budget, {} kept: it lifts the one recorded without a repository.
    const perRepository = {
      ...old,
      format: 2,
      guardrails: { max_destroy: 0 },
      repository_guardrails: { a: { max_replace: 1 }, b: {} },
    };
    expect(parseInventory(JSON.parse(JSON.stringify(perRepository)))).toEqual(perRepository);
    expect(parseInventory({ ...old, repository_guardrails: { a: { max_destroy: -1 } } })).toMatch(
      /^repository_guardrails\["a"\] must be/,
    );
    expect(parseInventory({ ...old, repository_guardrails: { '': {} } })).toMatch(
      /^repository_guardrails must map/,
    );
  });

  it("an environment's guardrails are over the top level's, field by field", () => {
    const config = { prune: true, ignore: [], guardrails: { max_destroy: 5, max_replace: 2 } };
    const env = { name: 'prod', controlPlane: 'file:x', folders: ['.'], patches: [] };
    expect(environmentConfig(config, env).guardrails).toEqual({ max_destroy: 5, max_replace: 2 });
    expect(
      environmentConfig(config, { ...env, guardrails: { max_destroy: 1 } }).guardrails,
    ).toEqual({ max_destroy: 1, max_replace: 2 });
  });
});

describe('a stale plan names what moved (plan/live-changes.ts)', () => {
  it("another repository's recorded budget alone is a change of poolsync's own records", () => {
    const was = state(['a']);
    const plan = computePlan(repo({ a: {} }), was);
    const budget = { repository_guardrails: { 'github.com/acme/other': { max_destroy: 1 } } };
    expect(liveChanges(plan, { ...was, ...budget }, was)).toEqual({
      addresses: [],
      inventory: 'changed',
    });
    expect(liveChanges(plan, was, was)).toEqual({ addresses: [], inventory: null });
  });
});
