/**
 * The embedded state cache at the edge (src/incremental/state-cache.ts, StateCachePort): a
 * process that hands one to the embedded control plane reads unchanged state files once and
 * shares the frozen objects; without one every open reads the files. The safety rules hold: a
 * file written since never matches, a reader never sees a writer's writes before it closes, a
 * writer takes the kept state over only when no reader holds it. Real files, real locks.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EmbeddedControlPlane } from '../../src/controlplane/embedded/embedded.js';
import {
  type EmbeddedStateCache,
  stateFilesIdentity,
} from '../../src/controlplane/embedded/store.js';
import { openControlPlane } from '../../src/controlplane/open.js';
import { readLiveState } from '../../src/controlplane/types.js';
import { sharedListsOf } from '../../src/daemon/unit.js';
import type { LiveState } from '../../src/model/live.js';
import { sameObjects } from '../../src/incremental/plan-reuse.js';
import { createEmbeddedStateCache } from '../../src/incremental/state-cache.js';
import { retuneQueue } from '../support/retune-queue.js';
import { poolContract } from '../support/builders.js';

let dir: string;
let path: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'poolsync-state-cache-'));
  path = join(dir, 'cp.json');
  const cp = await EmbeddedControlPlane.open({ path });
  await cp.createPool(
    'batch',
    poolContract('s3://b', { secret_store: { type: 'KUBERNETES', locator: 'b' } }),
  );
  await cp.registerCluster({ name: 'b-1', pool: 'batch' });
  await cp.createQueue({
    name: 'etl',
    pool: 'batch',
    clusters: ['b-1'],
    run_concurrency: 1,
    action_concurrency: 1,
  });
  await cp.close();
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const opener = (stateCache?: EmbeddedStateCache) => (readOnly: boolean) =>
  EmbeddedControlPlane.open({
    path,
    ...(readOnly ? { readOnly } : {}),
    ...(stateCache ? { stateCache } : {}),
  });

async function read(
  open: (readOnly: boolean) => Promise<EmbeddedControlPlane>,
): Promise<LiveState> {
  const cp = await open(true);
  try {
    return await readLiveState(cp, 'all', sharedListsOf(cp));
  } finally {
    await cp.close();
  }
}

async function retune(cp: EmbeddedControlPlane, run_concurrency: number): Promise<void> {
  await retuneQueue(cp, 'etl', { run_concurrency });
}

const runs = (live: LiveState) => live.queues.find((q) => q.name === 'etl')!.run_concurrency;

describe('the embedded state cache (src/incremental/state-cache.ts)', () => {
  it('without a cache every open reads the files; with one an unchanged state is read once and shared frozen', async () => {
    const cold = opener();
    const a = await read(cold);
    const b = await read(cold);
    expect(b).toEqual(a);
    expect(sameObjects(a, b)).toBe(false);

    const cache = createEmbeddedStateCache();
    const warm = opener(cache);
    const c = await read(warm);
    expect(cache.size).toBe(1);
    const d = await read(warm);
    expect(d).toEqual(a);
    expect(sameObjects(c, d)).toBe(true);
    // Another cache (another daemon of the same process) shares nothing with it.
    expect(sameObjects(c, await read(opener(createEmbeddedStateCache())))).toBe(false);
  });

  it('a state file written since never matches, also by a writer that was not given the cache', async () => {
    const cache = createEmbeddedStateCache();
    const warm = opener(cache);
    const before = await read(warm);
    const writer = await EmbeddedControlPlane.open({ path });
    await retune(writer, 9);
    // Not durable until the writer has closed?  Its ops are journaled (fsync'd) per call: the
    // journal changed, so the kept state no longer matches.
    const during = await read(warm);
    await writer.close();
    expect(runs(before)).toBe(1);
    expect(runs(during)).toBe(9);
    expect(runs(await read(warm))).toBe(9);
    expect(runs(await read(opener()))).toBe(9);
  });

  it('a writer takes the kept state over and gives it back: unchanged objects stay the same after its write', async () => {
    const cache = createEmbeddedStateCache();
    const open = opener(cache);
    const before = await read(open);
    const writer = await open(false);
    // Taken over: no longer kept while the writer may change it.
    expect(cache.size).toBe(0);
    await retune(writer, 5);
    await writer.close();
    expect(cache.size).toBe(1);
    const after = await read(open);
    expect(runs(after)).toBe(5);
    expect(after).toEqual(await read(opener()));
    // The same state object went on: every view but the queue written is the same frozen object.
    const others = (l: LiveState) => ({ p: l.pools, c: l.clusters, a: l.assignments });
    expect(sameObjects(others(after), others(before))).toBe(true);
    const etl = (l: LiveState) => l.queues.find((q) => q.name === 'etl');
    expect(etl(after)).not.toBe(etl(before));
    const cold = await read(opener());
    expect(sameObjects(others(after), others(cold))).toBe(false);
  });

  it("after a queue's update keeping its pool and selector only that queue's view is made again; any other write makes every list again (issue 79)", async () => {
    const cache = createEmbeddedStateCache();
    const open = opener(cache);
    const seed = await open(false);
    await seed.registerCluster({ name: 'b-2', pool: 'batch' });
    for (const name of ['q1', 'q2', 'q3'])
      await seed.createQueue({
        name,
        pool: 'batch',
        clusters: ['b-1'],
        run_concurrency: 1,
        action_concurrency: 1,
      });
    await seed.close();
    const queue = (l: LiveState, name: string) => l.queues.find((q) => q.name === name)!;
    const cluster = (l: LiveState, name: string) => l.clusters.find((c) => c.name === name)!;
    // Each step: writes through the cache's writer, then a read equal to a cold read.
    const step = async (write: (cp: EmbeddedControlPlane) => Promise<void>) => {
      const writer = await open(false);
      await write(writer);
      await writer.close();
      const live = await read(open);
      expect(live).toEqual(await read(opener()));
      return live;
    };
    const before = await read(open);
    // Two queues retuned in one session: those two views made again, every other the same object.
    const retuned = await step(async (cp) => {
      await retuneQueue(cp, 'q1', { run_concurrency: 7 });
      await retuneQueue(cp, 'q3', { priority: 'max' });
    });
    expect(queue(retuned, 'q1').run_concurrency).toBe(7);
    expect(queue(retuned, 'q3').priority).toBe('max');
    expect(queue(retuned, 'q1')).not.toBe(queue(before, 'q1'));
    for (const name of ['etl', 'q2', 'default'])
      expect(queue(retuned, name)).toBe(queue(before, name));
    expect(Object.isFrozen(queue(retuned, 'q1'))).toBe(true);
    expect(sameObjects({ c: retuned.clusters }, { c: before.clusters })).toBe(true);
    // A selector changed: the clusters' bound_queues follow (the whole lists made again).
    const moved = await step((cp) => retuneQueue(cp, 'q2', { clusters: ['b-2'] }));
    expect(cluster(moved, 'b-2').bound_queues).toContain('q2');
    expect(cluster(moved, 'b-1').bound_queues).not.toContain('q2');
    // A cluster disabled after a retune in the same session: q1's available clusters follow.
    const disabled = await step(async (cp) => {
      await retuneQueue(cp, 'q1', { run_concurrency: 8 });
      await cp.updateCluster('b-1', { enabled: false });
    });
    expect(queue(disabled, 'q1')).toMatchObject({ run_concurrency: 8, available_clusters: [] });
    expect(queue(disabled, 'etl').available_clusters).toEqual([]);
  });

  it('while a reader holds the kept state a writer reads the files itself, and the reader never sees its writes', async () => {
    const cache = createEmbeddedStateCache();
    const open = opener(cache);
    await read(open);
    const reader = await open(true);
    const writer = await open(false);
    try {
      expect(cache.size).toBe(1); // not taken: a reader holds it
      await retune(writer, 7);
      expect((await reader.getQueue('etl')).run_concurrency).toBe(1);
    } finally {
      await writer.close();
      await reader.close();
    }
    expect(runs(await read(open))).toBe(7);
    // Through openControlPlane (the daemon's way) too.
    const viaUrl = await openControlPlane(`file:${path}`, { readOnly: true, stateCache: cache });
    try {
      expect(runs(await readLiveState(viaUrl))).toBe(7);
    } finally {
      await viaUrl.close();
    }
  });

  it('matches by path and identity; a held value is not taken; forget drops it; a few files at most', async () => {
    const cache = createEmbeddedStateCache<string>();
    const files = await stateFilesIdentity(path);
    cache.keep(files, 'v1');
    const held = cache.hold(files)!;
    expect(held.value).toBe('v1');
    expect(cache.take(files)).toBeNull();
    held.release();
    held.release(); // once only
    expect(cache.hold({ ...files, key: `${files.key}x` })).toBeNull();
    expect(cache.take(files)).toBe('v1');
    expect(cache.take(files)).toBeNull();
    cache.keep(files, 'v2');
    cache.forget(path);
    expect(cache.hold(files)).toBeNull();
    for (let i = 0; i < 6; i++)
      cache.keep(await stateFilesIdentity(join(dir, `s${i}.json`)), `s${i}`);
    expect(cache.size).toBe(4);
  });
});
