/**
 * Ctrl-C while apply wrote its records ahead of the first step (a hand-tester's find): it said
 * "Apply cancelled (Ctrl-C): nothing was applied." but left the inventory listing what it never
 * made and its started mark, so `state list` called the object managed and, once another client
 * made one of that name and its manifest was removed with `prune: true`, the plan deleted it.
 * Now what it wrote ahead is taken back (docs/apply.md#what-it-prints). The Ctrl-C is given from
 * the inventory's write itself, so it arrives exactly while the write is in flight.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { InventoryStore } from '../../src/apply/inventory.js';
import { takeBackInventory } from '../../src/apply/inventory.js';
import { main } from '../../src/cli/run.js';
import { openControlPlane } from '../../src/controlplane/open.js';
import type { InventoryCalls } from '../../src/controlplane/types.js';
import { INVENTORY_FORMAT, type InventoryRecord } from '../../src/model/inventory.js';
import { applyRun } from '../../src/ops/apply-run.js';
import { exitOf, memoryIo } from '../support/memory-io.js';
import { tempDir, writeRepo } from '../support/repo.js';
import { servedControlPlane } from '../support/served-control-plane.js';

/** INVENTORY's writes go through; the first after `arm()` gives `signal` first. */
function interruptingWrites(inventory: InventoryCalls, signal: () => void) {
  const write = inventory.writeInventory.bind(inventory);
  let armed = false;
  inventory.writeInventory = (record) => {
    if (armed) signal();
    armed = false;
    return write(record);
  };
  return () => void (armed = true);
}

describe('apply cancelled while its records are written ahead of the first step', () => {
  it('served: the inventory is as it was, no started mark, and the object is nobody’s', async () => {
    const { embedded, url } = await servedControlPlane();
    const root = await tempDir();
    const st = join(root, 'st');
    const repo = join(root, 'repo');
    const run = async (argv: string[], io = memoryIo({ NO_COLOR: '1' })) => {
      const code = await exitOf(io, main([...argv, '--control-plane', url, '--state-dir', st], io));
      return { code, out: io.out(), err: io.err() };
    };
    await writeRepo(repo, { pools: ['prod'], clusters: { 'prod-1': 'prod' } });
    expect((await run(['apply', repo, '--auto-approve'])).code).toBe(0);
    const before = await embedded.inventory.readInventory();

    await writeRepo(repo, { pools: ['prod'], clusters: { 'prod-1': 'prod', victim: 'prod' } });
    const listeners = new Set<(signal: NodeJS.Signals) => void>();
    const arm = interruptingWrites(embedded.inventory, () => listeners.forEach((l) => l('SIGINT')));
    arm();
    const io = {
      ...memoryIo({ NO_COLOR: '1' }),
      onSignal: (l: (signal: NodeJS.Signals) => void) => (
        listeners.add(l),
        () => listeners.delete(l)
      ),
    };
    const r = await run(['apply', repo, '--auto-approve'], io);
    expect(r.code).toBe(130);
    expect(r.err).toBe(
      'Interrupt received (SIGINT): the apply stops before its first step, once what it wrote ahead of it is taken back.\n' +
        'Error: Apply cancelled (Ctrl-C): nothing was applied.\n',
    );
    expect(await embedded.inventory.readInventory()).toEqual(before);
    expect(
      (await readdir(join(st, 'last-applied'))).filter((f) => f.endsWith('.started.json')),
    ).toEqual([]);
    expect((await run(['state', 'list', repo])).out).not.toContain('victim');

    // Another client registers it; its manifest removed, prune leaves it alone.
    await embedded.registerCluster({ name: 'victim', pool: 'prod' });
    await writeRepo(repo, { pools: ['prod'], clusters: { 'prod-1': 'prod' } });
    const plan = await run(['plan', repo]);
    expect(plan.code).toBe(0);
    expect(plan.out).toContain('No changes.');
    expect(plan.out).toContain('? Cluster/victim  (unmanaged)');
  });

  it('file: an existing state keeps its inventory as it was', async () => {
    const root = await tempDir();
    const repo = await writeRepo(join(root, 'repo'), { pools: ['prod'] });
    const url = `file:${join(root, 'cp.json')}`;
    const cancel = new AbortController();
    let arm = () => {};
    const locks = {
      kind: 'acquire' as const,
      target: { name: null, url, env: null },
      opening: { vars: {} },
      stateDir: join(root, 'st'),
      sharedInventory: null,
      lease: null,
      lockTimeoutMs: 0,
      parallelism: 1,
      maxRetries: 0,
      open: async (...args: Parameters<typeof openControlPlane>) => {
        const cp = await openControlPlane(...args);
        arm = interruptingWrites(cp.inventory!, () => cancel.abort(new Error('Ctrl-C')));
        return cp;
      },
    };
    const options = {
      locks,
      stderr: () => {},
      execute: () => Promise.reject(new Error('no step')),
    };
    const inventoryFile = `${join(root, 'cp.json')}.inventory.json`;
    const { executePlan } = await import('../../src/apply/executor.js');
    await applyRun(
      { kind: 'dir', path: repo, shape: {} },
      { ...options, execute: (plan, cp) => executePlan(plan, cp, { parallelism: 1 }) },
    );
    const { readFile } = await import('node:fs/promises');
    const before = await readFile(inventoryFile, 'utf8');

    await writeRepo(join(root, 'repo'), { pools: ['prod', 'dev'] });
    const applied = applyRun(
      { kind: 'dir', path: repo, shape: {} },
      { ...options, cancelled: cancel.signal, approve: async () => arm() },
    );
    await expect(applied).rejects.toThrow('Ctrl-C');
    expect(JSON.parse(await readFile(inventoryFile, 'utf8'))).toEqual(JSON.parse(before));
    const files = await readdir(root, { recursive: true });
    expect(files).toContain('cp.json.last-applied.json');
    expect(files.filter((f) => f.includes('started'))).toEqual([]);
  });
});

describe('takeBackInventory', () => {
  const record = (fields: Partial<InventoryRecord>): InventoryRecord => ({
    format: INVENTORY_FORMAT,
    addresses: [],
    updated_at: '2026-01-01T00:00:00.000Z',
    commit: null,
    control_plane: null,
    ...fields,
  });
  const storeHolding = (held: InventoryRecord | null) => {
    const store: InventoryStore & { held: InventoryRecord | null } = {
      where: 'memory',
      controlPlane: null,
      held,
      read: async () => store.held,
      write: async (r) => void (store.held = r),
    };
    return store;
  };

  it('takes back only what the apply added: another writer’s change since stays', async () => {
    const before = record({ repositories: { a: ['Cluster/old'] } });
    const written = record({
      repositories: { a: ['Cluster/old', 'Cluster/victim'] },
      prevent_destroy: ['Cluster/victim'],
      updated_at: '2026-01-02T00:00:00.000Z',
      commit: 'abc',
    });
    const store = storeHolding({
      ...written,
      repositories: { a: ['Cluster/old', 'Cluster/victim'], b: ['Queue/theirs'] },
    });
    await takeBackInventory(store, { before, written, addresses: [] });
    expect(store.held).toEqual({
      ...before,
      repositories: { a: ['Cluster/old'], b: ['Queue/theirs'] },
    });
  });

  it('none before: an empty record, listing nothing', async () => {
    const written = record({ repositories: { a: ['Cluster/victim'] }, commit: 'abc' });
    const store = storeHolding(written);
    await takeBackInventory(store, { before: null, written, addresses: [] });
    expect(store.held).toMatchObject({ addresses: [], commit: null });
    expect(store.held?.repositories).toBeUndefined();
  });
});
