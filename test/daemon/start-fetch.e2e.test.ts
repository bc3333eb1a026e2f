/**
 * The daemon's start against a remote that accepts and never answers (docs/daemon.md, The Git
 * source): it listens before its first fetch, says it is fetching and since when, logs the
 * fetch's failure (with --once too), and its first run takes that failure without fetching again.
 */
import { createServer, type Socket } from 'node:net';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cleanup } from '../support/cleanup.js';
import { startCli } from '../support/cli.js';
import { stopsWithThisProcess } from '../support/stops-with-this-process.js';
import { until } from '../support/until.js';
import { startTestDaemon } from './harness.js';
import { tempDir } from './helpers.js';

/** A TCP server that accepts and never answers; `reset` then drops every connection. */
async function silentServer() {
  const accepted: Socket[] = [];
  let dropping = false;
  let onAccept = () => {};
  const server = createServer((s) => {
    accepted.push(s);
    if (dropping) s.destroy();
    onAccept();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanup.add(() => {
    for (const s of accepted) s.destroy();
    server.close();
  });
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}/repo.git`,
    accepted,
    firstAccepted: new Promise<void>((resolve) => (onAccept = resolve)),
    reset: () => {
      dropping = true;
      for (const s of accepted) s.destroy();
    },
  };
}

/** A logger whose records the test reads while the daemon starts. */
function recording() {
  const records: { msg: string; address?: string; err?: string }[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      records.push(JSON.parse(String(chunk)) as (typeof records)[number]);
      done();
    },
  });
  return { logger: pino({ level: 'info' }, sink), records };
}

const get = async (url: string) => {
  const res = await fetch(url);
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
};

describe('a daemon whose remote never answers', () => {
  it('listens while its first fetch stalls, saying so; that fetch’s failure is the first run’s', async () => {
    const remote = await silentServer();
    const { logger, records } = recording();
    const starting = startTestDaemon({
      flags: { repo: remote.url, 'git-timeout': '10m', once: true },
      deps: { retryBaseMs: 3_600_000, logger },
    });
    cleanup.add(async () => (await starting).stop());
    await remote.firstAccepted;
    const address = await until(
      'the start says where it answers',
      () => records.find((r) => r.msg.startsWith('starting: fetching branch main'))?.address,
    );
    const listen = `http://${address}`;

    expect(await get(`${listen}/healthz`)).toEqual({ status: 200, body: { status: 'ok' } });
    const status = await get(`${listen}/status`);
    expect(status.status).toBe(200);
    const git = status.body.git as Record<string, unknown>;
    expect(git.fetchingSince).toMatch(/^\d{4}-\d\d-\d\dT/);
    const doing = `starting: fetching branch main of ${remote.url} since ${String(git.fetchingSince)}`;
    expect(await get(`${listen}/readyz`)).toEqual({
      status: 503,
      body: { status: 'not ready', reason: doing },
    });
    const reconcile = await fetch(`${listen}/reconcile`, { method: 'POST' });
    expect(reconcile.status).toBe(503);
    expect(await reconcile.json()).toEqual({
      error: `${doing}: POST /reconcile is answered once it has started; try again then`,
    });

    remote.reset();
    const { daemon } = await starting;
    const connections = await daemon.firstRun.then(() => remote.accepted.length);
    expect(connections).toBe(1);
    expect(daemon.status().lastRun?.result).toBe('failed');
    expect(daemon.status().git.fetchingSince).toBeUndefined();
    const atStart = records.find((l) => l.msg === 'cannot read the repository at start');
    expect(atStart?.err?.startsWith(`cannot fetch branch main of ${remote.url}: `)).toBe(true);
  });

  it('the Git time bound (--git-timeout) stops the start’s fetch and the run says so', async () => {
    const remote = await silentServer();
    const started = await startTestDaemon({
      flags: { repo: remote.url, 'git-timeout': '1s', once: true },
      deps: { retryBaseMs: 3_600_000 },
    });
    cleanup.add(() => started.stop());
    const connections = await started.daemon.firstRun.then(() => remote.accepted.length);
    expect(connections).toBe(1);
    const error = started.daemon.status().git.lastError ?? '';
    expect(error).toBe(
      `cannot fetch branch main of ${remote.url}: git fetch did not finish within 1.0s and was stopped (the remote stalled or is too slow): check the URL, the network or a proxy; the bound is --git-timeout, 1.0s (docs/daemon.md#the-git-source)`,
    );
    expect(started.logs.join('')).not.toMatch(/trap|sh -c|Command failed/);
  });

  it('SIGTERM while the start’s fetch stalls stops that fetch: the daemon exits 0 at once, its first run stopped, not failed', async () => {
    const remote = await silentServer();
    const root = tempDir();
    const checkout = join(root, 'state', 'checkout');
    // A bound the test would never see out: only the signal may end the fetch.
    const daemon = startCli(
      [
        'daemon',
        ...['--repo', remote.url, '--git-timeout', '10m', '--listen', '127.0.0.1:0'],
        ...['--control-plane', `file:${join(root, 'cp.json')}`, '--state-dir', join(root, 'state')],
        ...['--log-format', 'json'],
      ],
      { XDG_STATE_HOME: root },
      root,
    );
    stopsWithThisProcess(daemon.child, 'SIGKILL');
    cleanup.add(() => void daemon.child.kill('SIGKILL'));
    await remote.firstAccepted;
    await daemon.waitForOutput((out) => out.includes('starting: fetching branch main'));
    daemon.child.kill('SIGTERM');
    const { code, stdout } = await daemon.done;
    expect(code).toBe(0);
    const said = stdout
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { msg: string }).msg);
    expect(said).toContain('received SIGTERM: stopping triggers, letting running steps finish');
    expect(said.at(-1)).toBe('poolsync daemon stopped');
    // No fetch failed: the daemon was asked to stop, and its first run says so.
    expect(said.filter((m) => /cannot read the repository|fetch failed/.test(m))).toEqual([]);
    const run = stdout.split('\n').find((l) => l.includes('"run":'));
    expect(JSON.parse(run!)).toMatchObject({ result: 'stopped' });
    // Its git fetch was stopped, not left to the time bound, and its remote helper with it.
    await until('the fetch stopped', () => (gitIn(checkout) ? null : true));
  });
});

/** Whether a git process (a fetch, its `git remote-http` helper) runs in `dir` or under it. */
function gitIn(dir: string): boolean {
  return readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .some((p) => {
      try {
        const cwd = readlinkSync(`/proc/${p}/cwd`);
        const cmd = readFileSync(`/proc/${p}/cmdline`, 'utf8');
        return /\bgit/.test(cmd) && (cwd === dir || cwd.startsWith(`${dir}/`));
      } catch {
        return false;
      }
    });
}
