/**
 * A shutdown before the apply (docs/daemon.md#shutdown) ends the run's calls and retries at
 * once: over a real socket a control plane that accepts and never answers holds the live read,
 * and the run is recorded `stopped` with nothing applied, before --shutdown-timeout fires.
 */
import { createServer, type Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { cleanup } from '../support/cleanup.js';
import { manifests } from './fixtures.js';
import { startOwnTestDaemon } from './harness.js';
import { TestRepo } from './helpers.js';

/** A TCP listener on 127.0.0.1 that accepts and never answers; `accepted`: its first connection. */
async function silentListener(): Promise<{ url: string; accepted: Promise<void> }> {
  const sockets = new Set<Socket>();
  let accept = () => {};
  const accepted = new Promise<void>((resolve) => (accept = resolve));
  const server = createServer((socket) => {
    sockets.add(socket);
    accept();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanup.add(
    () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  );
  const { port } = server.address() as { port: number };
  return { url: `http://127.0.0.1:${port}`, accepted };
}

describe('a shutdown before the apply', () => {
  it('the live read of a control plane that never answers: the run is stopped, nothing applied, no timeout', async () => {
    const repo = new TestRepo();
    repo.commit(manifests());
    const cp = await silentListener();
    const h = await startOwnTestDaemon({
      repo,
      // Without the shutdown's cut, the read's retries outlast it and it fires.
      flags: { 'control-plane': cp.url, 'shutdown-timeout': '20s' },
    });
    cleanup.add(h.stop);
    await cp.accepted;
    expect(await h.daemon.stop()).toBe(true);
    await h.daemon.firstRun;
    const { lastRun } = h.daemon.status();
    expect(lastRun).toMatchObject({ result: 'stopped', message: 'shutting down: nothing applied' });
    const lines = h.logs.map((l) => JSON.parse(l) as { msg: string });
    expect(lines.filter((l) => l.msg.startsWith('shutdown timeout'))).toEqual([]);
    expect(lines.at(-1)).toMatchObject({ msg: 'poolsync daemon stopped', finished: true });
  });
});

describe('--once', () => {
  it('a transient failure says the daemon exits, not when it retries', async () => {
    const repo = new TestRepo();
    repo.commit(manifests());
    // A port nothing listens on any more: refused at once.
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as { port: number };
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const h = await startOwnTestDaemon({
      repo,
      flags: { 'control-plane': `http://127.0.0.1:${port}`, once: true },
    });
    cleanup.add(h.stop);
    await h.daemon.firstRun;
    const { lastRun } = h.daemon.status();
    expect(lastRun?.result).toBe('failed');
    expect(lastRun?.message).toMatch(/; not retried: --once exits after this run \(/);
    expect(lastRun?.message).not.toMatch(/retrying in/);
  });
});
