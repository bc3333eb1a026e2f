/**
 * The write-ahead record's `pending` in its shorter form (issue 79 item 5): a first apply of
 * 100,000 creates listed every address a second time; it now lists the addresses held instead
 * (none), and a plan reads the rest as pending (docs/apply.md, What apply records).
 */
import { describe, expect, it } from 'vitest';
import {
  adoptIntoInventory,
  changeInventory,
  readSettled,
  type InventoryStore,
} from '../../src/apply/inventory.js';
import {
  INVENTORY_FORMAT,
  parseInventory,
  parseInventoryText,
  type InventoryRecord,
} from '../../src/model/inventory.js';
import type { LiveState } from '../../src/model/live.js';
import type { Change, Plan } from '../../src/model/plan.js';

const STARTED = '2026-11-30T00:00:00.000Z';

/** A store keeping the record as JSON text, read back as a file's is; `mark`: the apply-started mark. */
function storeHolding(addresses: string[], mark: { at: string | null } = { at: STARTED }) {
  let text = JSON.stringify({
    format: INVENTORY_FORMAT,
    addresses,
    updated_at: '',
    commit: null,
    control_plane: null,
  });
  const read = () => {
    const r = parseInventoryText(text);
    if (typeof r === 'string') throw new Error(r);
    return r;
  };
  const store: InventoryStore & { raw: () => Record<string, unknown> } = {
    where: 'memory',
    controlPlane: null,
    read: async () => read(),
    write: async (r) => void (text = JSON.stringify(r)),
    began: async () => mark.at,
    raw: () => JSON.parse(text) as Record<string, unknown>,
  };
  return store;
}

/** Declares `declared`; `creates` do not exist, the rest do (adopted when not held). */
function planOf(declared: string[], creates: string[]): Plan {
  // The planner's order: by kind, then name (not the addresses' order).
  const changes = creates.map((address) => ({ address, action: 'create', before: null }) as Change);
  return {
    commit: null,
    steps: [],
    warnings: [],
    changes,
    inventory: { found: true, declared: [...declared].sort(), gone: [] },
  } as unknown as Plan;
}

const settledAddresses = async (store: InventoryStore) => (await readSettled(store))!.addresses;

describe("the write-ahead record's pending", () => {
  it('a few creates among many held: lists them', async () => {
    const store = storeHolding(['Queue/a', 'Queue/b', 'Queue/c']);
    const plan = planOf(['Queue/a', 'Queue/b', 'Queue/c', 'Queue/x'], ['Queue/x']);
    await changeInventory(store, plan, new Set(), undefined, undefined, { startedAt: STARTED });
    expect(store.raw().pending).toEqual({ started_at: STARTED, addresses: ['Queue/x'] });
    expect(await settledAddresses(store)).toEqual(['Queue/a', 'Queue/b', 'Queue/c']);
  });

  it('mostly creates: lists every other address the record holds, and the rest read as pending', async () => {
    const store = storeHolding(['Queue/a']);
    // Queue/e exists and is not held: adopted, not created, so not pending.
    const plan = planOf(
      ['Cluster/c', 'Queue/a', 'Queue/b', 'Queue/d', 'Queue/e'],
      ['Queue/b', 'Queue/d', 'Cluster/c'],
    );
    await changeInventory(store, plan, new Set(), undefined, undefined, { startedAt: STARTED });
    expect(store.raw().pending).toEqual({ started_at: STARTED, held: ['Queue/a', 'Queue/e'] });
    expect((await store.read())!.addresses).toEqual([
      'Cluster/c',
      'Queue/a',
      'Queue/b',
      'Queue/d',
      'Queue/e',
    ]);
    expect(await settledAddresses(store)).toEqual(['Queue/a', 'Queue/e']);

    // Imported meanwhile: poolsync's, though not held before the apply.
    await adoptIntoInventory(store, ['Queue/z'], null);
    expect(await settledAddresses(store)).toEqual(['Queue/a', 'Queue/e', 'Queue/z']);
  });

  it('every address a create: none held, none listed twice; another apply’s mark settles nothing', async () => {
    const mark = { at: STARTED as string | null };
    const store = storeHolding([], mark);
    const creates = ['Cluster/c1', 'Cluster/c2', 'ClusterPool/p', 'Queue/q'];
    await changeInventory(store, planOf(creates, creates), new Set(), undefined, undefined, {
      startedAt: STARTED,
    });
    expect(store.raw().pending).toEqual({ started_at: STARTED, held: [] });
    expect(await settledAddresses(store)).toEqual([]);
    mark.at = '2026-11-30T00:00:01.000Z';
    expect(await settledAddresses(store)).toEqual([...creates].sort());
  });

  it('is read in either form, and refused in neither or both', () => {
    const record = (pending: unknown) =>
      parseInventory({ format: 3, addresses: [], updated_at: '', commit: null, pending });
    expect(
      (record({ started_at: STARTED, addresses: ['Queue/b', 'Queue/a'] }) as InventoryRecord)
        .pending,
    ).toEqual({
      started_at: STARTED,
      addresses: ['Queue/a', 'Queue/b'],
    });
    expect((record({ started_at: STARTED, held: [] }) as InventoryRecord).pending).toEqual({
      started_at: STARTED,
      held: [],
    });
    for (const bad of [
      { started_at: STARTED },
      { started_at: STARTED, held: [], addresses: [] },
      { started_at: STARTED, held: ['not an address'] },
      { held: [] },
    ])
      expect(record(bad)).toMatch(
        /^pending must be an object of started_at .* held \(every other one\)$/,
      );
  });

  it('deletes: each with what the plan showed; one live with another value is settled out', async () => {
    const store = storeHolding(['ExecutionClusterLabel/p/d', 'Queue/a', 'Queue/b', 'Queue/c']);
    const deleting = (address: string, before: object) =>
      ({ address, kind: address.split('/')[0], action: 'delete', before }) as Change;
    const plan = {
      ...planOf([], []),
      changes: [
        deleting('ExecutionClusterLabel/p/d', { project: 'p', domain: 'd', label: 'label1' }),
        deleting('Queue/a', { pool: 'gpu' }),
        deleting('Queue/b', { pool: 'gpu' }),
        deleting('Queue/c', { pool: 'gpu' }),
      ],
    } as Plan;
    await changeInventory(store, plan, new Set(), undefined, undefined, { startedAt: STARTED });
    const deletes = {
      'ExecutionClusterLabel/p/d': 'label1',
      'Queue/a': 'gpu',
      'Queue/b': 'gpu',
      'Queue/c': 'gpu',
    };
    expect(store.raw().pending).toEqual({ started_at: STARTED, addresses: [], deletes });
    const queue = (name: string, pool: string) => ({ name, pool, clusters: ['*'] });
    // Queue/a deleted and made again in another pool, Queue/b never deleted, Queue/c deleted.
    const live = {
      pools: [],
      clusters: [],
      queues: [queue('a', 'cpu'), queue('b', 'gpu')],
      assignments: [],
      execution_cluster_labels: [{ project: 'p', domain: 'd', workflow: null, label: 'label2' }],
    } as unknown as LiveState;
    expect((await readSettled(store, live))!.addresses).toEqual(['Queue/b', 'Queue/c']);
    // Without the live state, or once the mark is another apply's: every one poolsync's.
    expect(await settledAddresses(store)).toEqual(Object.keys(deletes));
    // A plan that creates nothing and deletes nothing writes no pending.
    await changeInventory(store, planOf([], []), new Set(), undefined, undefined, {
      startedAt: STARTED,
      live,
    });
    expect(store.raw().pending).toBeUndefined();
    expect(store.raw().addresses).toEqual(['Queue/b', 'Queue/c']);
  });

  it('deletes are read as written, and refused when not a map of addresses', () => {
    const record = (deletes: unknown) =>
      parseInventory({
        format: 3,
        addresses: [],
        updated_at: '',
        commit: null,
        pending: { started_at: STARTED, addresses: [], deletes },
      });
    const contract = { object_store_ref: { uri: 's3://a' } };
    expect((record({ 'ClusterPool/p': contract }) as InventoryRecord).pending).toEqual({
      started_at: STARTED,
      addresses: [],
      deletes: { 'ClusterPool/p': contract },
    });
    for (const bad of [[], { 'no-slash': 'p' }, { 'Queue/a': 3 }])
      expect(record(bad)).toMatch(/^pending\.deletes must map each Kind\/name address/);
  });
});
