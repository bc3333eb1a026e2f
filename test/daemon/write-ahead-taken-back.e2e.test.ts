/**
 * A daemon run stopped between its write-ahead and its first step (docs/daemon.md#shutdown,
 * #freeze-and-resume) takes back what it wrote ahead, as `poolsync apply` cancelled there does:
 * otherwise the inventory lists a cluster no step made as the repository's, and a later prune
 * deletes one another client registered under that name. The daemon runs its real loop against
 * a served control plane behind a proxy that holds the write-ahead's `PUT /v1/inventory` until
 * the shutdown or the suspension reached the run.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { freeze } from '../../src/cli/commands/daemon-client.js';
import { cleanup } from '../support/cleanup.js';
import { daemonClientArgs } from '../support/daemon-client-args.js';
import { startFaultProxy } from '../support/fault-proxy.js';
import { memoryIo } from '../support/memory-io.js';
import { servedControlPlane } from '../support/served-control-plane.js';
import { until } from '../support/until.js';
import { manifests } from './fixtures.js';
import { startOwnTestDaemon } from './harness.js';
import { tempDir } from './helpers.js';

const ADMIN = 'admin-token-write-ahead-taken-back-01';
const TAKEN_BACK = 'no step was sent: the inventory written ahead of the first one was taken back';

function writeFolder(dir: string, files: Record<string, string>): void {
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
}

/** A daemon that applied `prod-1`, now applying `victim` too, its write-ahead held in flight. */
async function heldAtWriteAhead() {
  const served = await servedControlPlane({ port: 0 });
  let holding = false;
  const proxy = await startFaultProxy(served.url, (_n, method, path) =>
    holding && method === 'PUT' && path === '/v1/inventory' ? 'hold' : 'pass',
  );
  cleanup.add(async () => {
    proxy.release();
    await proxy.close();
  });
  const folder = join(tempDir(), 'repo');
  writeFolder(folder, manifests({ clusters: ['prod-1'] }));
  const h = await startOwnTestDaemon({
    flags: { watch: folder, 'watch-debounce': '1h', 'control-plane': proxy.url },
    env: { POOLSYNC_ADMIN_TOKEN: ADMIN },
  });
  cleanup.add(h.stop);
  await h.daemon.firstRun;
  expect(h.daemon.status().lastRun!.result).toBe('applied');
  const before = await served.embedded.inventory.readInventory();

  writeFolder(folder, manifests({ clusters: ['prod-1', 'victim'] }));
  holding = true;
  const run = h.daemon.reconcile('watch');
  await until('the write-ahead held in flight', () => proxy.counts.hold > 0);
  holding = false;
  return { served, proxy, h, before, run };
}

describe('a daemon run stopped before its first step takes back what it wrote ahead', () => {
  it('shutdown: recorded stopped, the inventory as it was, the cluster never registered', async () => {
    const { served, proxy, h, before, run } = await heldAtWriteAhead();
    const stopped = h.daemon.stop();
    await until('the shutdown said', () =>
      h.logs.some((l) => l.includes('shutting down: letting running steps finish')),
    );
    proxy.release();
    await stopped;
    await run;
    expect(await served.embedded.inventory.readInventory()).toEqual(before);
    expect(h.logs.some((l) => l.includes(TAKEN_BACK))).toBe(true);
    const result = h.logs
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .findLast((l) => 'run' in l);
    expect(result).toMatchObject({ result: 'stopped' });
    expect((await served.embedded.listClusters()).map((c) => c.name)).toEqual(['prod-1']);
  });

  it('a suspension: recorded frozen, the inventory as it was', async () => {
    const { served, proxy, h, before, run } = await heldAtWriteAhead();
    const args = daemonClientArgs(h.daemon.url, { reason: 'incident', as: 'alice' });
    expect(await freeze(args, memoryIo({ POOLSYNC_ADMIN_TOKEN: ADMIN }), true)).toBe(0);
    proxy.release();
    await run;
    expect(h.daemon.status().lastRun).toMatchObject({ result: 'frozen', changedTotal: 0 });
    expect(await served.embedded.inventory.readInventory()).toEqual(before);
    expect(h.logs.some((l) => l.includes(TAKEN_BACK))).toBe(true);
    expect((await served.embedded.listClusters()).map((c) => c.name)).toEqual(['prod-1']);
  });
});
