/**
 * A daemon whose followed branch's head is invalid (docs/daemon.md): what it says of the control
 * plane it never planned against. In process: a real Git repository, the daemon's HTTP server,
 * the control plane over its REST API (or nothing listening at its URL).
 */
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/run.js';
import type { DaemonStatus } from '../../src/daemon/status.js';
import { cleanup } from '../support/cleanup.js';
import { memoryIo } from '../support/memory-io.js';
import { servedControlPlane } from '../support/served-control-plane.js';
import { manifests } from './fixtures.js';
import { startOwnTestDaemon } from './harness.js';
import { TestRepo } from './helpers.js';

/** A daemon started on an invalid head, its control plane at `url`. */
async function startOnInvalidHead(url: string) {
  const repo = new TestRepo();
  repo.commit(manifests({ invalid: true }), 'invalid from the start');
  const h = await startOwnTestDaemon({
    repo,
    flags: { 'control-plane': url, 'max-retries': '0' },
    logLevel: 'silent',
  });
  cleanup.add(h.stop);
  await h.daemon.firstRun;
  const status = (await (await fetch(`${h.daemon.url}/status`)).json()) as DaemonStatus;
  expect(status.outcome).toBe('invalid');
  return { ...h, status };
}

describe('the control plane of a daemon on an invalid head', () => {
  it('nothing listening: /readyz and /status say why, with the error the probe met', async () => {
    const h = await startOnInvalidHead('http://127.0.0.1:1');
    expect(h.status.ready).toBe(false);
    expect(h.status.controlPlane).toMatchObject({
      url: 'http://127.0.0.1:1',
      reachable: false,
      lastAnsweredAt: null,
      lastError: expect.stringMatching(
        /^cannot read the control plane's capabilities: .*ECONNREFUSED/,
      ),
    });
    const ready = await fetch(`${h.daemon.url}/readyz`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toEqual({
      status: 'not ready',
      reason: `the control plane has not answered: ${h.status.controlPlane.lastError}`,
    });
  });

  it('reachable: ready, and /status and `poolsync status` say the control plane answered', async () => {
    const served = await servedControlPlane();
    const h = await startOnInvalidHead(served.url);
    expect(h.status.ready).toBe(true);
    expect(h.status.controlPlane).toMatchObject({
      backend: 'poolsync REST API',
      reachable: true,
      lastAnsweredAt: expect.any(String),
      lastError: null,
    });
    const io = memoryIo();
    await main(['status', '--daemon', h.daemon.url], io);
    expect(io.out()).toContain(`Control plane: poolsync REST API ${served.url}, reachable\n`);
  });
});
