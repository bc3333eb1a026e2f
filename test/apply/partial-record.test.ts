/**
 * An apply that did not finish records only what it made or may have made (a hand-tester's
 * find): stopped part-way (Ctrl-C, a failed step) it left every declared address in the
 * inventory, also the creates that never ran, so a queue another client then made of such a
 * name was taken as poolsync's without an `Adopts …` notice and, once the repository dropped the
 * name, deleted by prune (docs/apply.md, What apply records). Driven in process against a served
 * embedded control plane whose queue creates the test holds.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/run.js';
import { ControlPlaneError } from '../../src/controlplane/errors.js';
import type { EmbeddedControlPlane } from '../../src/controlplane/embedded/embedded.js';
import { changeInventory, type InventoryStore } from '../../src/apply/inventory.js';
import {
  INVENTORY_FORMAT,
  recordedAddresses,
  type InventoryRecord,
} from '../../src/model/inventory.js';
import type { Change, Plan } from '../../src/model/plan.js';
import { exitOf, memoryIo } from '../support/memory-io.js';
import { tempDir, writeRepo, type RepoSpec } from '../support/repo.js';
import { servedControlPlane } from '../support/served-control-plane.js';

const BASE: RepoSpec = { prune: true, pools: ['prod'], clusters: { 'prod-1': 'prod' } };
const SETTINGS = {
  run_concurrency: 10,
  action_concurrency: 100,
  depth: 10000,
  priority: 'medium',
  fairness: 'round_robin',
} as const;
const queues = (...names: string[]) =>
  Object.fromEntries(names.map((n) => [n, { pool: 'prod', clusters: ['prod-1'] }]));

/** A served plane with BASE applied, and a CLI that can be sent SIGINT. */
async function applied() {
  const { embedded, url } = await servedControlPlane();
  const root = await tempDir();
  const repo = await writeRepo(join(root, 'repo'), BASE);
  const listeners = new Set<(signal: NodeJS.Signals) => void>();
  const run = async (argv: string[]) => {
    const io = {
      ...memoryIo({ NO_COLOR: '1' }),
      onSignal: (l: (signal: NodeJS.Signals) => void) => (
        listeners.add(l),
        () => listeners.delete(l)
      ),
    };
    const on = ['--control-plane', url, '--state-dir', join(root, 'st'), '--parallelism', '1'];
    const code = await exitOf(io, main([...argv, ...on], io));
    return { code, out: io.out(), err: io.err() };
  };
  expect((await run(['apply', repo, '--auto-approve'])).code).toBe(0);
  const recorded = async () => {
    const record = await embedded.inventory.readInventory();
    return record ? recordedAddresses(record).filter((a) => a.startsWith('Queue/')) : [];
  };
  const interrupt = () => listeners.forEach((l) => l('SIGINT'));
  return { embedded, repo, run, recorded, interrupt };
}

/** Each queue create calls `before(name)` first, then goes on (unless it throws). */
function onQueueCreate(embedded: EmbeddedControlPlane, before: (name: string) => void) {
  const created = embedded.createdQueue.bind(embedded);
  embedded.createdQueue = (request) => {
    before(request.name);
    return created(request);
  };
}

describe('an apply that did not finish records only what it made', () => {
  it('Ctrl-C while the first create is in flight: that queue is recorded, the creates not run are not; another client’s queue of such a name is adopted visibly, never pruned', async () => {
    const { embedded, repo, run, recorded, interrupt } = await applied();
    await writeRepo(repo, { ...BASE, queues: queues('a', 'b', 'c') });
    const sent: string[] = [];
    onQueueCreate(embedded, (name) => {
      if (sent.push(name) === 1) interrupt();
    });
    const r = await run(['apply', repo, '--auto-approve']);
    expect(r.code).toBe(1);
    expect(r.out).toContain('Apply interrupted: 1 of 3 steps done, 0 failed, 2 not run.');
    expect(sent).toEqual(['a']);
    expect(await recorded()).toEqual(['Queue/a']);

    // Another client makes b: the next plan of the same repository says it adopts it.
    await embedded.createQueue({ name: 'b', pool: 'prod', clusters: ['prod-1'], ...SETTINGS });
    const plan = await run(['plan', repo]);
    expect(plan.out).toContain('Adopts 1 object poolsync did not apply: Queue/b.');

    // Dropped from the repository before any apply adopted it: prune leaves it alone.
    await writeRepo(repo, { ...BASE, queues: queues('a') });
    const dropped = await run(['plan', repo]);
    expect(dropped.code).toBe(0);
    expect(dropped.out).not.toContain('Queue/b  (delete)');
    expect(dropped.out).toContain('? Queue/b  (unmanaged)');
  });

  it('a failed step: a refused create (4xx) is not recorded, a create whose answer was lost (5xx) is', async () => {
    const { embedded, repo, run, recorded } = await applied();
    onQueueCreate(embedded, (name) => {
      if (name === 'refused')
        throw new ControlPlaneError('FAILED_PRECONDITION', 'no room', 'Queue/refused');
      if (name === 'lost') throw new ControlPlaneError('UNAVAILABLE', 'answer lost', 'Queue/lost');
    });
    await writeRepo(repo, { ...BASE, queues: queues('made', 'refused') });
    const refused = await run(['apply', repo, '--auto-approve']);
    expect(refused.out).toContain('✗ s2 create_queue Queue/refused: FAILED_PRECONDITION');
    expect(await recorded()).toEqual(['Queue/made']);

    // An UNAVAILABLE step stops the apply: what follows it is not run.
    await writeRepo(repo, { ...BASE, queues: queues('lost', 'made', 'unsent') });
    const lost = await run(['apply', repo, '--auto-approve', '--max-retries', '0']);
    expect(lost.out).toContain('✗ s1 create_queue Queue/lost: UNAVAILABLE');
    expect(lost.out).toContain('- s2 create_queue Queue/unsent: not run');
    expect(await recorded()).toEqual(['Queue/lost', 'Queue/made']);
  });

  it('what the inventory held before the apply stays, its create not run', async () => {
    const { embedded, repo, run, recorded, interrupt } = await applied();
    // Queue/b recorded, but not live (deleted by another client): the next apply makes it again.
    const record = (await embedded.inventory.readInventory())!;
    const repositories = Object.fromEntries(
      Object.entries(record.repositories ?? {}).map(([r, l]) => [r, [...l, 'Queue/b'].sort()]),
    );
    await embedded.inventory.writeInventory({ ...record, repositories });
    expect(await recorded()).toEqual(['Queue/b']);
    await writeRepo(repo, { ...BASE, queues: queues('a', 'b', 'c') });
    const sent: string[] = [];
    onQueueCreate(embedded, (name) => {
      if (sent.push(name) === 1) interrupt();
    });
    expect((await run(['apply', repo, '--auto-approve'])).code).toBe(1);
    expect(sent).toEqual(['a']);
    expect(await recorded()).toEqual(['Queue/a', 'Queue/b']);
  });
});

describe('a blocked create', () => {
  const storeHolding = (addresses: string[]) => {
    const store: InventoryStore & { held: InventoryRecord } = {
      where: 'memory',
      controlPlane: null,
      held: {
        format: INVENTORY_FORMAT,
        addresses,
        updated_at: '',
        commit: null,
        control_plane: null,
      },
      read: async () => store.held,
      write: async (r) => void (store.held = r),
    };
    return store;
  };
  const change = (address: string, action: string, extra: object = {}) =>
    ({ address, action, before: null, ...extra }) as Change;
  const plan = {
    commit: null,
    steps: [],
    warnings: [],
    changes: [
      change('Queue/stray', 'blocked'),
      // A co-named queue blocked for its spec is still made by its cluster's registration (C2).
      change('Queue/c1', 'blocked', { caused_by: 'Cluster/c1' }),
      change('Cluster/c1', 'create'),
    ],
    inventory: {
      found: true,
      declared: ['Cluster/c1', 'Queue/c1', 'Queue/kept', 'Queue/stray'],
      gone: [],
    },
  } as unknown as Plan;

  it('is not recorded: it does not exist (a finished apply, or one with nothing to do)', async () => {
    const store = storeHolding([]);
    await changeInventory(store, plan, new Set());
    expect(store.held.addresses).toEqual(['Cluster/c1', 'Queue/c1', 'Queue/kept']);
  });

  it('recorded before, it stays', async () => {
    const store = storeHolding(['Queue/stray']);
    await changeInventory(store, plan, new Set());
    expect(store.held.addresses).toContain('Queue/stray');
  });
});
