/** A read-only open of a `file:` control plane (plan, export): no lock, no write, a consistent read. */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EmbeddedControlPlane } from '../../src/controlplane/embedded/embedded.js';
import { openControlPlane } from '../../src/controlplane/open.js';
import { readLiveState } from '../../src/controlplane/types.js';
import { coreCalls } from './core-calls.js';
import { poolContract } from '../support/builders.js';

const WRITER = join(import.meta.dirname, '../fixtures/controlplane/writer.ts');

let dir: string;
let children: ChildProcess[] = [];
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'poolsync-cp-readonly-'));
});
afterEach(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  children = [];
  await rm(dir, { recursive: true, force: true });
});

describe('read-only open of file: control planes', () => {
  it('reads snapshot + journal while a writer holds the lock, and writes nothing', async () => {
    const path = join(dir, 'cp.json');
    const writer = await EmbeddedControlPlane.open({ path });
    try {
      await writer.createPool(
        'batch',
        poolContract('s3://b', { secret_store: { type: 'KUBERNETES', locator: 'b' } }),
      );
      await writer.registerCluster({ name: 'b-1', pool: 'batch' });
      await writer.createQueue({
        name: 'etl',
        pool: 'batch',
        clusters: ['b-1'],
        run_concurrency: 1,
        action_concurrency: 1,
      });
      // These ops are only in the journal so far; the snapshot predates them.
      expect((await readFile(`${path}.journal`, 'utf8')).split('\n').length).toBeGreaterThan(3);
      const snapshotBefore = await stat(path);
      const lockBefore = await readFile(`${path}.lock`, 'utf8');

      const reader = coreCalls(await openControlPlane(`file:${path}`, { readOnly: true }));
      const live = await readLiveState(reader);
      expect(live.pools.map((p) => p.name)).toEqual(['batch', 'default']);
      expect(live.clusters.find((c) => c.name === 'b-1')?.bound_queues).toEqual(['b-1', 'etl']);
      await expect(reader.createPool('x', live.pools[0]!.contract)).rejects.toThrow(
        /opened read-only/,
      );
      // A call of a name only is refused by a rejected promise too, never a throw (embedded.ts
      // write is not async); so after close.
      const refused = reader.deletePool('batch');
      await expect(refused).rejects.toThrow(/opened read-only/);
      await reader.close();
      const closed = reader.deletePool('batch');
      await expect(closed).rejects.toThrow(/closed/);

      const snapshotAfter = await stat(path);
      expect(snapshotAfter.mtimeMs).toBe(snapshotBefore.mtimeMs);
      expect(snapshotAfter.ino).toBe(snapshotBefore.ino);
      expect(await readFile(`${path}.lock`, 'utf8')).toBe(lockBefore);
    } finally {
      await writer.close();
    }
  });

  it('a missing state file reads as a new organisation and is not created', async () => {
    mkdirSync(join(dir, 'absent'));
    const path = join(dir, 'absent', 'cp.json');
    const reader = coreCalls(await openControlPlane(`file:${path}`, { readOnly: true }));
    const live = await readLiveState(reader);
    await reader.close();
    expect(live.pools.map((p) => p.name)).toEqual(['default']);
    expect(live.queues.map((q) => q.name)).toEqual(['default']);
    expect(existsSync(path)).toBe(false);
  });

  it('every read is a consistent prefix of the writes while a writer compacts constantly', async () => {
    const path = join(dir, 'cp.json');
    // The writer's updates make it compact often, so readers race snapshot renames and journal
    // truncations.
    const child = spawn(process.execPath, ['--import', 'tsx', WRITER, path, 'write', 'w'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    let acked = 0;
    child.stdout!.on('data', (chunk: Buffer) => {
      const last = chunk.toString().trim().split('\n').pop()!;
      if (/^\d+$/.test(last)) acked = Number(last);
    });
    while (acked < 100) await new Promise((r) => setTimeout(r, 20));
    let previous = 0;
    let reads = 0;
    while (reads < 30 || acked < 600) {
      const reader = coreCalls(await openControlPlane(`file:${path}`, { readOnly: true }));
      const names = (await readLiveState(reader)).queues
        .map((q) => q.name)
        .filter((n) => n.startsWith('w-'));
      await reader.close();
      // Writes apply in order, so any consistent state holds exactly w-0 … w-(k-1).
      const expected = Array.from({ length: names.length }, (_, i) => `w-${i}`).sort();
      expect([...names].sort()).toEqual(expected);
      expect(names.length).toBeGreaterThanOrEqual(previous);
      previous = names.length;
      reads++;
    }
    expect(previous).toBeGreaterThan(100);
  }, 60_000);
});
