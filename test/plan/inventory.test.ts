/**
 * Prune by inventory (docs/plan.md): with an inventory, `prune: true` deletes what poolsync
 * applied and the repository no longer declares (with the drains and waits its delete needs),
 * plus every object of the kinds `manage:` claims; a hand-made object of a declared kind is
 * unmanaged. Without one yet (the first run against an existing control plane) nothing poolsync
 * did not apply is deleted (issue 61): only what `manage:` claims, and the plan says why.
 */
import { whyText } from '../../src/render/common.js';
import { describe, expect, it } from 'vitest';
import { BASELINE_CAPABILITIES, type ObjectKind } from '../../src/model/common.js';
import type { DesiredState } from '../../src/model/desired.js';
import type { LiveState } from '../../src/model/live.js';
import { computePlan } from '../../src/plan/index.js';
import {
  declaredObjects,
  declaredObjectsAt,
  nextInventory,
  withFolderRecords,
} from '../../src/plan/inventory.js';
import { renderJson } from '../../src/render/json.js';
import { renderText } from '../../src/render/text.js';
import { contract, desired, live } from './build.js';
import { actions, expectOrder, expectWellFormed } from './helpers.js';

const CAPS = { ...BASELINE_CAPABILITIES, drain: true, queue_delete: true };

/** The repository after its last Queue document and cluster c2 were removed. */
function repo(manage?: ObjectKind[]): DesiredState {
  const d = desired({
    prune: true,
    pools: { prod: contract('prod') },
    clusters: { c1: { pool: 'prod' } },
  });
  return {
    ...d,
    config: {
      ...d.config,
      declared_kinds: ['ClusterPool', 'Cluster'],
      ...(manage ? { manage } : {}),
    },
  };
}

/** What poolsync applied (c1, c2, the queue q), and what someone made by hand beside it. */
function state(inventory: string[] | null | undefined): LiveState {
  const l = live({
    pools: { prod: contract('prod') },
    clusters: { c1: { pool: 'prod' }, c2: { pool: 'prod' }, 'hand-1': { pool: 'prod' } },
    queues: {
      q: { pool: 'prod', clusters: ['c1', 'c2'] },
      'hand-q': { pool: 'prod', clusters: ['c1'] },
    },
  });
  return {
    ...l,
    capabilities: CAPS,
    ...(inventory !== undefined ? { inventory } : {}),
  };
}
const APPLIED = ['Cluster/c1', 'Cluster/c2', 'ClusterPool/prod', 'Queue/q'];

describe('prune by inventory', () => {
  it('deletes what poolsync applied and no longer declares, with its drains and waits; hand-made objects are unmanaged', () => {
    const plan = computePlan(repo(), state(APPLIED));
    expectWellFormed(plan);
    const a = actions(plan);
    // The last Queue document removed: its queue is deleted, drained first (queue_delete).
    expect(a['Queue/q']).toBe('delete');
    expectOrder(plan, 'drain_queue Queue/q', 'wait_drained Queue/q', 'delete_queue Queue/q');
    // A cluster poolsync registered: deleted after what routes to it is drained or waited for.
    expect(a['Cluster/c2']).toBe('delete');
    expect(plan.steps.some((s) => s.op === 'delete_cluster' && s.target === 'Cluster/c2')).toBe(
      true,
    );
    // Declared kinds, made by hand: never touched.
    expect(a['Cluster/hand-1']).toBe('unmanaged');
    expect(a['Queue/hand-q']).toBe('unmanaged');
    const hand = plan.changes.find((c) => c.address === 'Queue/hand-q')!;
    expect(whyText(hand)).toBe(
      'not in the repository, and poolsync did not apply it (it is not in the inventory): reported, never touched; list Queue in poolsync.yaml manage: to prune every Queue',
    );
    expect(plan.prune_scope).toEqual({ kinds: [], source: 'inventory', inventory: true });
    expect(plan.inventory).toEqual({
      found: true,
      declared: ['Cluster/c1', 'ClusterPool/prod'],
      gone: [],
    });
    expect(renderText(plan, { color: false })).toContain(
      'Prune scope: what this repository applied (its part of the inventory); other live objects are never deleted.',
    );
  });

  it.each([
    [
      'with queue_delete',
      CAPS,
      'ClusterPool/old is not in the repository, but a pool cannot be deleted while anything references it (P5): Cluster/hand-2, Queue/hand-2. This control plane deletes queues (queue_delete, Q6): delete, move or import them, then plan again; or declare the pool again to stop this report.',
    ],
    [
      'without queue_delete',
      BASELINE_CAPABILITIES,
      'ClusterPool/old is not in the repository, but a pool cannot be deleted while anything references it (P5): Cluster/hand-2, Queue/hand-2. Queues can never be deleted (Q6), so this pool stays; declare it again to stop this report.',
    ],
  ])(
    'an undeclared pool a hand-made cluster still references (P5), %s: says what frees it',
    (_, capabilities, words) => {
      const l = live({
        pools: { prod: contract('prod'), old: contract('old') },
        clusters: { c1: { pool: 'prod' }, 'hand-2': { pool: 'old' } },
      });
      const inventory = ['Cluster/c1', 'ClusterPool/prod', 'ClusterPool/old'];
      const plan = computePlan(repo(), { ...l, capabilities, inventory });
      const pool = plan.changes.find((c) => c.address === 'ClusterPool/old')!;
      expect(pool.action).toBe('blocked');
      expect(whyText(pool)).toBe(words);
    },
  );

  it('manage: claims a whole kind: hand-made objects of it are deleted too', () => {
    const plan = computePlan(repo(['Cluster']), state(APPLIED));
    const a = actions(plan);
    expect(a['Cluster/hand-1']).toBe('delete');
    expect(a['Queue/hand-q']).toBe('unmanaged');
    expect(a['Queue/q']).toBe('delete');
    expect(plan.prune_scope).toEqual({ kinds: ['Cluster'], source: 'manage', inventory: true });
    expect(renderText(plan, { color: false })).toContain(
      'Prune scope: what this repository applied (its part of the inventory), and every Cluster no other repository applied (poolsync.yaml manage:); other live objects are never deleted.',
    );
  });

  it('without an inventory yet (a first run), a plan with prune: true deletes nothing poolsync did not create', () => {
    const plan = computePlan(repo(), state(null));
    expectWellFormed(plan);
    expect(plan.changes.filter((c) => c.action === 'delete' || c.action === 'replace')).toEqual([]);
    expect(plan.steps.filter((s) => s.op.startsWith('delete_'))).toEqual([]);
    const a = actions(plan);
    for (const hand of ['Cluster/c2', 'Cluster/hand-1', 'Queue/q', 'Queue/hand-q'])
      expect(a[hand], hand).toBe('unmanaged');
    expect(whyText(plan.changes.find((c) => c.address === 'Cluster/hand-1')!)).toBe(
      'not in the repository, and poolsync did not apply it (it is not in the inventory): reported, never touched; list Cluster in poolsync.yaml manage: to prune every Cluster',
    );
    expect(plan.prune_scope).toEqual({ kinds: [], source: 'inventory', inventory: false });
    expect(plan.inventory?.found).toBe(false);
    expect(renderText(plan, { color: false })).toContain(
      'Prune scope: what this repository applied (its part of the inventory); other live objects are never deleted. This control plane has no inventory of what poolsync applied yet (a first run here): nothing poolsync did not apply is deleted, unless adopted (`poolsync import ADDRESS`, or its kind in poolsync.yaml manage:); the apply records what the repository declares.',
    );
    expect(JSON.parse(renderJson(plan)).prune_scope.inventory).toBe(false);
  });

  it('without an inventory yet, manage: is the adoption: the kinds it claims are deleted whole', () => {
    const plan = computePlan(repo(['Cluster']), state(null));
    const a = actions(plan);
    expect(a['Cluster/hand-1']).toBe('delete');
    expect(a['Cluster/c2']).toBe('delete');
    expect(a['Queue/hand-q']).toBe('unmanaged');
    expect(plan.prune_scope).toEqual({ kinds: ['Cluster'], source: 'manage', inventory: false });
  });

  it('a live state read without one (in-process) plans as before, and its plan records nothing', () => {
    const plan = computePlan(repo(), state(undefined));
    expect(plan.prune_scope).toEqual({ kinds: ['ClusterPool', 'Cluster'], source: 'declared' });
    expect(plan.inventory).toBeUndefined();
  });

  it('forgets what is neither live nor declared, and the inventory is part of the live fingerprint', () => {
    const plan = computePlan(repo(), state([...APPLIED, 'Queue/deleted-by-hand']));
    expect(plan.inventory?.gone).toEqual(['Queue/deleted-by-hand']);
    expect(computePlan(repo(), state(APPLIED)).live_fingerprint).not.toBe(plan.live_fingerprint);
  });

  it("says what its apply adopts: declared live objects in no repository's part of the inventory", () => {
    const d = desired({
      prune: true,
      pools: { prod: contract('prod') },
      clusters: {
        c1: { pool: 'prod' },
        c2: { pool: 'prod' },
        'hand-1': { pool: 'prod' },
        'new-1': { pool: 'prod' },
      },
    });
    const owned = (
      owners: Record<string, string[]>,
      { unnamed = [] as string[], forgotten = [] as string[] } = {},
    ): LiveState => ({
      ...state([...Object.values(owners).flat(), ...unnamed].sort()),
      inventory_owners: owners,
      ...(forgotten.length ? { forgotten } : {}),
    });
    const adopts = (l: LiveState, repository: string | null = 'here') =>
      computePlan(d, l, { repository }).inventory?.adopts;
    // Made by hand (hand-1), and recorded by an earlier build without a repository (c2): adopted;
    // its own (c1, prod) and the one it creates (new-1) are not.
    const l = owned({ here: ['Cluster/c1', 'ClusterPool/prod'] }, { unnamed: ['Cluster/c2'] });
    expect(adopts(l)).toEqual(['Cluster/c2', 'Cluster/hand-1']);
    // JSON keeps `adopts` whole; the earlier build's, applied by poolsync, are said apart.
    const plan = computePlan(d, l, { repository: 'here' });
    expect(plan.inventory?.adopts_recorded_without_repository).toEqual(['Cluster/c2']);
    expect(renderText(plan, { color: false })).toContain(
      "\nAdopts 1 object poolsync did not apply: Cluster/hand-1; and 1 object an earlier poolsync recorded without a repository: Cluster/c2. The apply records them as this repository's; with prune: true, removing a manifest then deletes its object.\n",
    );
    // A plan naming no repository records an unnamed entry as it was: only the hand-made one.
    expect(adopts(l, null)).toEqual(['Cluster/hand-1']);
    // Another repository's is left to it (REPOSITORY_CONFLICT); a forgotten one stays forgotten.
    expect(
      adopts(owned({ here: ['ClusterPool/prod'], there: ['Cluster/c1', 'Cluster/c2'] }), 'here'),
    ).toEqual(['Cluster/hand-1']);
    expect(
      adopts(
        owned(
          { here: ['Cluster/c1', 'ClusterPool/prod'] },
          { forgotten: ['Cluster/c2', 'Cluster/hand-1'] },
        ),
      ),
    ).toBeUndefined();
    // A first run adopts every declared live object.
    expect(adopts(state(null))).toEqual([
      'Cluster/c1',
      'Cluster/c2',
      'Cluster/hand-1',
      'ClusterPool/prod',
    ]);
  });

  it('prune off: nothing is deleted, the inventory still records what is declared', () => {
    const d = repo();
    const plan = computePlan({ ...d, config: { ...d.config, prune: false } }, state(APPLIED));
    expect(plan.changes.filter((c) => c.action === 'delete')).toEqual([]);
    expect(actions(plan)['Queue/q']).toBe('unmanaged');
    expect(plan.inventory?.declared).toEqual(['Cluster/c1', 'ClusterPool/prod']);
  });
});

describe('nextInventory', () => {
  const inv = { found: true, declared: ['Cluster/a', 'Queue/b'], gone: ['Queue/x'] };
  it('adds what is declared, drops what was deleted and what is gone', () => {
    expect(
      nextInventory(['Cluster/old', 'Queue/x', 'Queue/b'], inv, new Set(['Cluster/old'])),
    ).toEqual(['Cluster/a', 'Queue/b']);
    // A delete that did not run keeps its address: the next plan deletes it again.
    expect(nextInventory(['Cluster/old'], inv, new Set())).toEqual([
      'Cluster/a',
      'Cluster/old',
      'Queue/b',
    ]);
  });
  it('is null when nothing changes (no write), and records a first inventory even when empty', () => {
    expect(nextInventory(['Cluster/a', 'Queue/b'], inv, new Set())).toBeNull();
    expect(nextInventory(null, { found: false, declared: [], gone: [] }, new Set())).toEqual([]);
  });
});

describe('declaredObjectsAt', () => {
  it('has the objects of the addresses asked, as declaredObjects has them, and nothing else', () => {
    const d = desired({
      pools: { prod: contract('prod'), gpu: contract('gpu') },
      clusters: { c1: { pool: 'prod' }, c2: { pool: 'gpu' } },
      queues: { q1: { pool: 'prod' }, q2: { pool: 'gpu' } },
    });
    const all = declaredObjects(d);
    const asked = ['Queue/q2', 'Cluster/c1', 'ClusterPool/gpu', 'Queue/gone', 'Nonsense/q1', 'q1'];
    const some = declaredObjectsAt(d, asked);
    expect([...some.keys()].sort()).toEqual(['Cluster/c1', 'ClusterPool/gpu', 'Queue/q2']);
    for (const [a, o] of some) expect(o).toBe(all.get(a));
    expect(declaredObjectsAt(d, all.keys())).toEqual(all);
    expect(declaredObjectsAt(d, []).size).toBe(0);
    // A name declared twice (refused by the loader, N2), still in order: the last one, as
    // declaredObjects has it.
    const again = { ...d.queues[0]!, annotations: { again: '1' } };
    const twice = { ...d, queues: [d.queues[0]!, again, ...d.queues.slice(1)] };
    const q1 = declaredObjectsAt(twice, ['Queue/q1']).get('Queue/q1');
    expect(q1).toBe(declaredObjects(twice).get('Queue/q1'));
    expect(q1).toBe(again);
  });

  it('looks at a logarithmic number of objects of a kind, not each one (issue 79 item 2)', () => {
    const d = desired({ pools: { prod: contract('prod') }, queues: { q: { pool: 'prod' } } });
    let looked = 0;
    const queues = Array.from({ length: 10_000 }, (_, i) => {
      const name = `q${String(i).padStart(5, '0')}`;
      return {
        ...d.queues[0]!,
        get name() {
          looked++;
          return name;
        },
      };
    });
    const found = declaredObjectsAt({ ...d, queues }, ['Queue/q04321', 'Queue/q99999']);
    expect([...found.keys()]).toEqual(['Queue/q04321']);
    expect(found.get('Queue/q04321')).toBe(queues[4321]);
    // Two binary searches of 10,000: at most 2 × (14 + 1) names read.
    expect(looked).toBeLessThanOrEqual(30);
  });
});

describe('withFolderRecords (docs/plan.md, Prune scope)', () => {
  const read = {
    ...live({}),
    inventory: ['Cluster/a', 'Cluster/b', 'Cluster/c'],
    inventory_owners: {
      '/home/me/pools': ['Cluster/a', 'Cluster/c'],
      'github.com/acme/pools': ['Cluster/b'],
      'github.com/acme/labels': ['Cluster/x'],
    },
    repository_guardrails: { '/home/me/pools': { max_destroy: 1 } },
  } as LiveState;

  it("takes the folder path's records and budget for the remote's name; no other name's", () => {
    const { live: planned, renamedFrom } = withFolderRecords(
      read,
      'github.com/acme/pools',
      '/home/me/pools',
    );
    expect(renamedFrom).toBe('/home/me/pools');
    expect(planned.inventory_owners).toEqual({
      'github.com/acme/pools': ['Cluster/a', 'Cluster/b', 'Cluster/c'],
      'github.com/acme/labels': ['Cluster/x'],
    });
    expect(planned.repository_guardrails).toEqual({ 'github.com/acme/pools': { max_destroy: 1 } });
    // Another path, no folder, or a folder named by its path: nothing taken.
    for (const [name, folder] of [
      ['github.com/acme/pools', '/home/me/other'],
      ['github.com/acme/pools', undefined],
      ['/home/me/pools', '/home/me/pools'],
    ] as const)
      expect(withFolderRecords(read, name, folder)).toEqual({ live: read });
  });
});
