/**
 * Issue 79 item 2: the daemon's plan of the slice a change touches (src/incremental/plan-slice.ts)
 * is the whole plan, as a property. fast-check generates a live history played through the
 * embedded control plane's own calls and a repository valid by construction
 * (../plan/property/plan-equals-apply.ts), within the baseline and Union's capability sets; the
 * daemon's planner plans it (whole: nothing to slice from), sometimes applies it and plans the
 * converged state, then the live state drifts (more calls) and the repository is edited (every
 * kind: queue spec, pool or selector moves, cluster moves and disables, pool contracts,
 * co-named queues, the default queue, settings, assignments, prune, absent, protection
 * annotations; adds, deletes, renames). Unchanged objects keep their identity and are frozen as
 * the daemon's caches hand them, or are new equal objects. The next plan must be the whole
 * plan: the same Plan object, deeply, and the same JSON. A relation or reuse rule broken on
 * purpose fails it within a few dozen cases (bench/history.md, issue 79).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { executePlan } from '../../src/apply/executor.js';
import { EmbeddedControlPlane } from '../../src/controlplane/embedded/embedded.js';
import { backendInfo, readLiveState } from '../../src/controlplane/types.js';
import { PlanReuse } from '../../src/incremental/plan-reuse.js';
import {
  CONFIRM_DESTROY_ANNOTATION,
  PREVENT_DESTROY_ANNOTATION,
  type DesiredState,
} from '../../src/model/desired.js';
import type { LiveState } from '../../src/model/live.js';
import { planAgainst, type PlanOptions } from '../../src/plan/index.js';
import { deepFreeze } from '../../src/util/deep-freeze.js';
import { desiredAssignment } from '../support/builders.js';
import {
  caseArb,
  capabilitiesOf,
  desiredOf,
  play,
  type Backend,
  type Repo,
} from '../plan/property/plan-equals-apply.js';

const REPO_FIELDS = ['pools', 'clusters', 'queues', 'conamed', 'settings'] as const;
const KEYS = [
  ['ml', 'production'],
  ['ml', 'staging'],
  ['web', 'production'],
] as const;

interface Extras {
  assignments: { key: number; pool: number }[];
  /** An annotation on the n-th declared object (of all kinds, in order). */
  marks: { at: number; mark: 0 | 1 }[];
}

type Edit =
  | { field: (typeof REPO_FIELDS)[number]; op: 'replace' | 'delete' | 'add'; at: number }
  | { field: 'prune' | 'absentDefault' | 'defaultQueue' }
  | { field: 'assignment'; op: 'replace' | 'delete' | 'add'; at: number; pool: number }
  | { field: 'mark'; at: number; mark: 0 | 1 };

const extrasArb: fc.Arbitrary<Extras> = fc.record({
  assignments: fc.uniqueArray(fc.record({ key: fc.nat(2), pool: fc.nat(3) }), {
    selector: (a) => a.key,
    maxLength: 3,
  }),
  marks: fc.array(fc.record({ at: fc.nat(12), mark: fc.constantFrom(0 as const, 1 as const) }), {
    maxLength: 2,
  }),
});

const editArb: fc.Arbitrary<Edit> = fc.oneof(
  fc.record({
    field: fc.constantFrom(...REPO_FIELDS),
    op: fc.constantFrom('replace' as const, 'delete' as const, 'add' as const),
    at: fc.nat(5),
  }),
  fc.record({
    field: fc.constantFrom('prune' as const, 'absentDefault' as const, 'defaultQueue' as const),
  }),
  fc.record({
    field: fc.constant('assignment' as const),
    op: fc.constantFrom('replace' as const, 'delete' as const, 'add' as const),
    at: fc.nat(2),
    pool: fc.nat(3),
  }),
  fc.record({
    field: fc.constant('mark' as const),
    at: fc.nat(12),
    mark: fc.constantFrom(0 as const, 1 as const),
  }),
);

/** The repository and its extras after `edits`; replacements come from `other` (renames too). */
function edited(repo: Repo, extras: Extras, other: Repo, edits: readonly Edit[]) {
  const r: Repo = structuredClone(repo);
  const x: Extras = structuredClone(extras);
  for (const e of edits) {
    switch (e.field) {
      case 'prune':
      case 'absentDefault':
        r[e.field] = !r[e.field];
        break;
      case 'defaultQueue':
        r.defaultQueue = r.defaultQueue ? null : { run: 1 };
        break;
      case 'assignment': {
        const list = x.assignments;
        const i = e.at % Math.max(1, list.length);
        if (e.op === 'delete') list.splice(i, 1);
        else if (e.op === 'replace' && list[i]) list[i]!.pool = e.pool;
        else if (!list.some((a) => a.key === e.at)) list.push({ key: e.at, pool: e.pool });
        break;
      }
      case 'mark':
        x.marks.push({ at: e.at, mark: e.mark });
        break;
      default: {
        const list = r[e.field] as { [k: string]: unknown }[];
        const from = other[e.field] as { [k: string]: unknown }[];
        const i = e.at % Math.max(1, list.length);
        const name = (o: { [k: string]: unknown }) => o['name'] ?? o['cluster'] ?? o['key'];
        const fresh = from[e.at % Math.max(1, from.length)];
        if (e.op === 'delete') list.splice(i, 1);
        else if (fresh && e.op === 'replace' && list[i]) {
          // Kept unique by name (the repository's V1): a rename drops the one it collides with.
          const rest = list.filter((o, j) => j !== i && name(o) !== name(fresh));
          list.splice(0, list.length, ...rest, fresh);
        } else if (fresh && !list.some((o) => name(o) === name(fresh))) list.push(fresh);
      }
    }
  }
  return { repo: r, extras: x };
}

/** desiredOf with assignments and protection marks. */
function desiredWith(repo: Repo, extras: Extras): DesiredState {
  const d = desiredOf(repo);
  const pools = ['default', ...d.pools.map((p) => p.name)];
  d.assignments = extras.assignments
    .map((a) => {
      const [project, domain] = KEYS[a.key % KEYS.length]!;
      return desiredAssignment({ project, domain, pool: pools[a.pool % pools.length]! });
    })
    .sort((a, b) => (a.project + a.domain < b.project + b.domain ? -1 : 1));
  const all = [...d.pools, ...d.clusters, ...d.queues, ...d.assignments];
  for (const m of extras.marks) {
    const o = all[m.at % Math.max(1, all.length)];
    if (o)
      o.annotations = {
        ...o.annotations,
        [m.mark ? CONFIRM_DESTROY_ANNOTATION : PREVENT_DESTROY_ANNOTATION]: 'true',
      };
  }
  return d;
}

/**
 * The daemon's caches hand the same frozen object for an unchanged one (analysis and state
 * caches): each list's items equal to one of `was` become that one, and all is frozen.
 */
function shared<S extends DesiredState | LiveState>(was: S, now: S): S {
  const out: Record<string, unknown> = { ...now };
  for (const [key, value] of Object.entries(now)) {
    const old = (was as unknown as Record<string, unknown>)[key];
    if (!Array.isArray(value) || !Array.isArray(old)) continue;
    const byJson = new Map(old.map((o: unknown) => [JSON.stringify(o), o]));
    out[key] = value.map((o: unknown) => byJson.get(JSON.stringify(o)) ?? o);
  }
  return deepFreeze(out as S);
}

/** An inventory's picks of RECORDABLE, or `none` recorded (null: it was never read). */
const picksArb = fc.oneof(
  { weight: 4, arbitrary: fc.array(fc.nat(40), { maxLength: 10 }) },
  { weight: 1, arbitrary: fc.constant('none' as const) },
);

/** Addresses an inventory may record (what poolsync applied): the generators' names. */
const RECORDABLE = [
  ...['default', 'pa', 'pb'].map((p) => `ClusterPool/${p}`),
  ...['c0', 'c1', 'c2', 'c3'].map((c) => `Cluster/${c}`),
  ...['q0', 'q1', 'q2', 'c0', 'c1', 'c2', 'c3', 'default'].map((q) => `Queue/${q}`),
  ...KEYS.map(([p, d]) => `PoolAssignment/${p}/${d}`),
  ...KEYS.map(([p, d]) => `DefaultQueue/${p}/${d}`),
];

/**
 * The live state with an inventory of the picked addresses (sorted, as recorded), or none, and
 * protection marks recorded for some picks (a mark list only when it has one, as
 * src/apply/inventory.ts withInventory reads them).
 */
function withInventory(live: LiveState, picks: readonly number[] | 'none' | null): LiveState {
  if (picks === null) return live;
  if (picks === 'none') return { ...live, inventory: null };
  const addresses = (of: readonly number[]) =>
    [...new Set(of.map((i) => RECORDABLE[i % RECORDABLE.length]!))].sort();
  const prevent = addresses(picks.filter((i) => i % 3 === 1));
  const confirm = addresses(picks.filter((i) => i % 4 === 2));
  return {
    ...live,
    inventory: addresses(picks),
    ...(prevent.length > 0 ? { prevent_destroy: prevent } : {}),
    ...(confirm.length > 0 ? { confirm_destroy: confirm } : {}),
  };
}

interface Case {
  base: { history: Parameters<typeof play>[1]; repo: Repo };
  extras: Extras;
  other: Repo;
  drift: Parameters<typeof play>[1];
  edits: Edit[];
  /** Edits of a third commit, planned after a drift check that reused the second's plan. */
  more: Edit[];
  apply: boolean;
  /** The inventory of the first plans, and of the last (null: the same; none: none recorded). */
  inventory: { first: number[] | 'none'; last: number[] | 'none' | null } | null;
  /** Unchanged objects are the same (frozen) ones, as the daemon's caches give them. */
  shared: boolean;
}

function caseOf(backend: Backend): fc.Arbitrary<Case> {
  return fc.record({
    base: caseArb(backend),
    extras: extrasArb,
    other: caseArb(backend).map((c) => c.repo),
    drift: caseArb(backend).map((c) => c.history.slice(0, 4)),
    edits: fc.array(editArb, { minLength: 1, maxLength: 3 }),
    more: fc.array(editArb, { minLength: 1, maxLength: 2 }),
    apply: fc.boolean(),
    inventory: fc.option(fc.record({ first: picksArb, last: fc.option(picksArb) })),
    shared: fc.boolean(),
  });
}

/** Holds the daemon's planner to the whole plan of each state it plans; how often it sliced. */
async function holds(
  backend: Backend,
  c: Case,
  totals: { sliced: number; whole: number; partial: number },
) {
  const cp = await EmbeddedControlPlane.open({ path: null, capabilities: capabilitiesOf(backend) });
  try {
    const backend = backendInfo(cp);
    let commit = 0;
    // Every slice, however large, so that small organisations are sliced too.
    const planner = new PlanReuse({ slices: { maxShare: Infinity } });
    const check = (desired: DesiredState, live: LiveState, what: string) => {
      // The daemon plans each run with its commit (src/ops/plan-run.ts).
      const opts: PlanOptions = { backend, commit: `c${++commit}` };
      const plan = planner.plan(desired, live, opts);
      const whole = planAgainst(desired, live, opts);
      const why = planner.slicer!.stats.lastWhy;
      expect(plan, `${what} (${why})`).toStrictEqual(whole);
      expect(JSON.stringify(plan), `${what} (${why})`).toBe(JSON.stringify(whole));
      // A slice short of every object the plan names: the rest was taken from the last plan.
      if (why === 'sliced' && planner.slicer!.stats.lastSlice < whole.changes.length)
        totals.partial++;
      return plan;
    };
    await play(cp, c.base.history);
    const desired = desiredWith(c.base.repo, c.extras);
    // The daemon slices only a live state of frozen objects (the embedded control plane's views).
    const recorded = (l: LiveState, last = false) =>
      withInventory(
        l,
        c.inventory && (last ? (c.inventory.last ?? c.inventory.first) : c.inventory.first),
      );
    let live = deepFreeze(recorded(await readLiveState(cp)));
    const first = check(desired, live, 'first plan');
    if (c.apply && first.errors.length === 0) {
      await executePlan(first, cp, {
        parallelism: 4,
        waitTimeoutMs: 5_000,
        pollIntervalMs: { initial: 5, max: 20 },
      });
      const after = recorded(await readLiveState(cp));
      live = c.shared ? shared(live, after) : deepFreeze(after);
      check(desired, live, 'after the apply');
    }
    await play(cp, c.drift);
    const next = edited(c.base.repo, c.extras, c.other, c.edits);
    const now = recorded(await readLiveState(cp), true);
    const desired2 = desiredWith(next.repo, next.extras);
    const d2 = c.shared ? shared(desired, desired2) : desired2;
    const l2 = c.shared ? shared(live, now) : deepFreeze(now);
    check(d2, l2, `after ${JSON.stringify(c.edits)} and drift ${JSON.stringify(c.drift)}`);
    // A drift check of the same commit reads an equal state again: the plan is reused (PlanReuse),
    // and the next commit is sliced from it.
    const again = deepFreeze(structuredClone(l2));
    const opts: PlanOptions = { backend, commit: `c${commit}` };
    expect(planner.plan(d2, again, opts)).toStrictEqual(planAgainst(d2, again, opts));
    const third = edited(next.repo, next.extras, c.other, c.more);
    const desired3 = desiredWith(third.repo, third.extras);
    check(c.shared ? shared(d2, desired3) : desired3, again, `then ${JSON.stringify(c.more)}`);
    totals.sliced += planner.slicer!.stats.sliced;
    totals.whole += planner.slicer!.stats.whole;
  } finally {
    await cp.close();
  }
}

const CASES: Partial<Record<Backend, number>> = { embedded: 250, 'union-embedded': 250 };
const scale = Number(process.env.PROPERTY_CASES ?? 1);

describe('the daemon plans only what a change touches (issue 79): the slice plan is the whole plan', () => {
  for (const [backend, cases] of Object.entries(CASES) as [Backend, number][]) {
    const numRuns = Math.max(1, Math.round(cases * scale));
    it(`${backend}: ${numRuns} generated organisations, edits and drift (P5, A3, C2, C3, C8, Q4, Q8)`, async () => {
      const totals = { sliced: 0, whole: 0, partial: 0 };
      await fc.assert(
        fc.asyncProperty(caseOf(backend), (c) => holds(backend, c, totals)),
        { numRuns, endOnFailure: process.env.CI === 'true' },
      );
      // The path under test was taken: most plans after the first are slices.
      expect(totals.sliced).toBeGreaterThan(numRuns / 2);
      expect(totals.partial).toBeGreaterThan(numRuns / 8);
    }, 600_000);
  }
});

describe('what the daemon does not slice', () => {
  it('a live state of changeable objects (read over HTTP) is planned whole, and nothing kept', async () => {
    const cp = await EmbeddedControlPlane.open({ path: null });
    try {
      await play(cp, [
        { op: 'pool', pool: 'pa' },
        { op: 'cluster', name: 'c0', pool: 1 },
      ]);
      const repo: Repo = {
        prune: false,
        pools: [{ name: 'pa', version: 1 }],
        clusters: [{ name: 'c0', pool: 1, enabled: true }],
        queues: [],
        conamed: [],
        defaultQueue: null,
        settings: [],
        absentDefault: false,
      };
      const planner = new PlanReuse({ slices: { maxShare: Infinity } });
      const frozen = () => deepFreeze(structuredClone(live));
      const disabled = { ...repo, clusters: [{ name: 'c0', pool: 1, enabled: false }] };
      const live = await readLiveState(cp);
      planner.plan(desiredOf(repo), frozen());
      expect(planner.slicer!.stats.lastWhy).toBe('no last plan');
      planner.plan(desiredOf(disabled), frozen());
      expect(planner.slicer!.stats.lastWhy).toBe('sliced');
      const plan = planner.plan(desiredOf(repo), live);
      expect(planner.slicer!.stats.lastWhy).toBe('a live state of changeable objects');
      expect(plan).toStrictEqual(planAgainst(desiredOf(repo), live));
      planner.plan(desiredOf(disabled), frozen());
      expect(planner.slicer!.stats.lastWhy).toBe('no last plan');
    } finally {
      await cp.close();
    }
  });
});
