/**
 * Seeds any ControlPlane with a ScaleModel through its ordinary calls, in dependency order
 * (pools, then clusters, then queues, then assignments) with bounded concurrency, so the
 * live state equals what applying the generated repository would have produced.
 */
import { copyFile, mkdir, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { EmbeddedControlPlane } from '../../src/controlplane/embedded/embedded.js';
import { partOf, type ControlPlane } from '../../src/controlplane/types.js';
import type { RunPoolsync } from './rows.js';
import { declaredDataPlane, type ScaleModel } from './scale.js';

export interface SeedOptions {
  /** Calls in flight at once (default 16). */
  concurrency?: number;
  /**
   * Called once per registered cluster, after registration: lets a simulator report the
   * cluster's data plane (C5) so it becomes healthy, as a real cluster would.
   */
  afterRegister?: (cluster: { name: string; pool: string }) => Promise<void>;
  onProgress?: (stage: SeedStage, done: number, total: number) => void;
}

export type SeedStage = 'pools' | 'clusters' | 'queues' | 'assignments';

export interface SeedResult {
  calls: number;
  ms: number;
}

/** Runs `fn` over `items` with at most `limit` in flight; rejects on the first failure. */
export async function mapLimit<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  let failed = false;
  const worker = async () => {
    while (!failed && next < items.length) {
      const item = items[next++] as T;
      try {
        await fn(item);
      } catch (err) {
        failed = true;
        throw err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
}

export async function seedControlPlane(
  cp: ControlPlane,
  model: ScaleModel,
  options: SeedOptions = {},
): Promise<SeedResult> {
  const [pools, clusters, queues] = [
    partOf(cp, 'pools'),
    partOf(cp, 'clusters'),
    partOf(cp, 'queues'),
  ];
  const assignments = partOf(cp, 'assignments');
  const limit = options.concurrency ?? 16;
  const started = performance.now();
  let calls = 0;
  const stage = async <T>(
    name: SeedStage,
    items: readonly T[],
    fn: (item: T) => Promise<number>,
  ) => {
    let done = 0;
    await mapLimit(items, limit, async (item) => {
      // Not `calls += await fn()`: that reads `calls` before the await and loses concurrent adds.
      const n = await fn(item);
      calls += n;
      done++;
      if (options.onProgress && (done % 500 === 0 || done === items.length))
        options.onProgress(name, done, items.length);
    });
  };

  // P1: `default` exists from the start; the generator never declares it.
  await stage('pools', model.pools, async (pool) => {
    await pools.createPool(pool.name, pool.contract);
    return 1;
  });
  await stage('clusters', model.clusters, async (cluster) => {
    // C1/C4: the pool exists (previous stage) and any declared data plane equals its contract.
    await clusters.registerCluster({
      name: cluster.name,
      pool: cluster.pool,
      data_plane: cluster.data_plane,
    });
    let n = 1;
    if (!cluster.enabled) {
      await clusters.updateCluster(cluster.name, { enabled: false }); // C6
      n++;
    }
    if (options.afterRegister) await options.afterRegister(cluster);
    return n;
  });
  await stage('queues', model.queues, async (queue) => {
    if (queue.coNamed) {
      // C2 created it at registration; Q4 lets us tune everything but pool and selector.
      await queues.updateQueue(queue.name, queue.spec);
    } else {
      await queues.createQueue({ name: queue.name, ...queue.spec });
    }
    return 1;
  });
  await stage('assignments', model.assignments, async (a) => {
    await assignments.setAssignment({
      project: a.project,
      domain: a.domain,
      workflow: a.workflow,
      pool: a.pool,
    });
    return 1;
  });
  return { calls, ms: performance.now() - started };
}

/** Seeds an embedded control plane persisted at `path` with `model`, clusters reporting healthy (C5). */
export async function seedStateFile(path: string, model: ScaleModel): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const cp = await EmbeddedControlPlane.open({ path });
  const contracts = new Map(model.pools.map((p) => [p.name, p.contract]));
  try {
    await seedControlPlane(cp, model, {
      concurrency: 64,
      afterRegister: async (c) => {
        await cp.reportClusterStatus(c.name, declaredDataPlane(contracts.get(c.pool)!));
      },
    });
  } finally {
    await cp.close();
  }
}

/**
 * Copies the embedded state at `from` to `to`: the snapshot AND its `.journal`. A state of
 * fewer than 1,000 journaled calls keeps them in the journal when closed (docs/control-plane.md),
 * so a copy of the snapshot alone is an older state: at N = 100 the seeded organisation was
 * the empty one, and every row on the copy planned creating everything.
 */
export async function copyStateFile(from: string, to: string): Promise<void> {
  await mkdir(dirname(to), { recursive: true });
  await copyFile(from, to);
  // And poolsync's records beside it (recordSeeded): without them every object is adopted again.
  for (const beside of ['.journal', '.inventory.json', '.last-applied.json'])
    try {
      await copyFile(`${from}${beside}`, `${to}${beside}`);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      // None: the snapshot is the whole state; a journal left at `to` would be replayed.
      await rm(`${to}${beside}`, { force: true });
    }
}

/**
 * The seeded state as an apply of `repo` leaves it: its objects recorded in poolsync's inventory
 * as the repository's, so a plan of `repo` over it has nothing to do, not even an adoption
 * (`--detailed-exitcode` 0). Seeding writes the objects alone.
 */
export async function recordSeeded(poolsync: RunPoolsync, repo: string, state: string) {
  await poolsync([
    'apply',
    repo,
    '--control-plane',
    `file:${state}`,
    '--auto-approve',
    '--no-color',
  ]);
}
