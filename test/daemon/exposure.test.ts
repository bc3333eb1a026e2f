/**
 * What the daemon shows, and to whom (issue 60, item 3): its control-plane token read as the CLI
 * reads it (a bound token file works); /status, the dashboard and /metrics answer loopback
 * names, IP addresses and --external-url only (DNS rebinding); no secret in anything it shows,
 * a server's message echoing the token included; a corrupt run history set aside, not a 500 or
 * a stack trace (`poolsync history` too).
 */
import { writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { foreignHost } from '../../src/daemon/http.js';
import { cleanup } from '../support/cleanup.js';
import { listenLoopback } from '../support/forwarding.js';
import { exitOf, memoryIo } from '../support/memory-io.js';
import { servedControlPlane } from '../support/served-control-plane.js';
import { until } from '../support/until.js';
import { manifests } from './fixtures.js';
import { startOwnTestDaemon } from './harness.js';
import { tempDir, TestRepo } from './helpers.js';

const TOKEN = 'cp-token-5f2a9c7e1b3d';
const ADMIN = 'admin-token-exposure-0123';

/** A GET with the Host (and Origin) a browser would send: `fetch` cannot set them. */
function get(url: string, path: string, headers: Record<string, string> = {}) {
  return new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = request(`${url}${path}`, { headers }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('foreignHost (DNS rebinding)', () => {
  it.each([
    [{ host: 'localhost:8080' }, null],
    [{ host: 'status.localhost' }, null],
    [{ host: '127.0.0.1:8080' }, null],
    [{ host: '[::1]:8080' }, null],
    [{ host: '10.0.3.7:8080' }, null],
    [{ host: 'poolsync.example.com' }, null],
    [{ host: 'localhost:8080', origin: 'http://localhost:8080' }, null],
    [{ host: 'rebound.attacker.example:8080' }, /does not answer to the host name/],
    [{ host: '127.0.0.1:8080', origin: 'http://attacker.example' }, /pages of another site/],
  ])('%o', (headers, said) => {
    const refused = foreignHost(headers, ['poolsync.example.com']);
    if (said === null) expect(refused).toBeNull();
    else expect(refused).toMatch(said);
  });
});

describe('a daemon on a REST control plane with a bound token file', () => {
  async function daemonOn(url: string, flags: Record<string, unknown> = {}) {
    const state = tempDir();
    const tokenFile = join(state, 'token');
    writeFileSync(tokenFile, `endpoint: ${url}\ntoken: ${TOKEN}\n`);
    const repo = new TestRepo();
    repo.commit(manifests());
    const d = await startOwnTestDaemon({
      repo,
      state,
      flags: { 'control-plane': url, 'token-file': tokenFile, ...flags },
      env: { POOLSYNC_ADMIN_TOKEN: ADMIN },
    });
    cleanup.add(d.stop);
    await d.daemon.firstRun;
    return d;
  }

  it('reaches it: the token, not the file, is the bearer value', async () => {
    const { embedded: cp, url } = await servedControlPlane({ token: TOKEN });
    const d = await daemonOn(url);
    expect(d.daemon.status().outcome).toBe('applied');
    expect((await cp.listClusters()).length).toBeGreaterThan(0);
  });

  it('answers only the hosts it knows; scrubs the token a server echoes from all it shows', async () => {
    // A control plane that quotes the token back in every error.
    const echo = await listenLoopback((_req, res) =>
      res
        .writeHead(400, { 'content-type': 'application/json' })
        .end(JSON.stringify({ code: 'INVALID_ARGUMENT', message: `bad token ${TOKEN}` })),
    );
    cleanup.add(echo.close);
    const url = `http://127.0.0.1:${echo.port}`;
    const d = await daemonOn(url, { 'external-url': 'https://poolsync.example.com' });
    await until('the run failed', () => d.daemon.status().outcome === 'failed');
    const at = d.daemon.url;
    const port = new URL(at).port;
    for (const path of ['/status', '/', '/metrics']) {
      const foreign = await get(at, path, { host: `rebound.attacker.example:${port}` });
      expect(foreign.status).toBe(403);
      expect(foreign.body).toContain('--external-url');
      const fromPage = await get(at, path, { origin: 'http://attacker.example' });
      expect(fromPage.status).toBe(403);
      for (const host of [`localhost:${port}`, `127.0.0.1:${port}`, 'poolsync.example.com']) {
        const ok = await get(at, path, { host });
        expect(ok.status).toBe(200);
        expect(ok.body).not.toContain(TOKEN);
      }
    }
    expect((await get(at, '/healthz', { host: 'rebound.attacker.example' })).status).toBe(200);
    const shown = await get(at, '/status');
    expect(shown.body).toContain('bad token ***');
    expect(d.logs.join('')).not.toContain(TOKEN);
    // An approver's name, or who suspends and why, holding the control plane's token is
    // refused, never recorded.
    const asked = (path: string, body: unknown) =>
      fetch(`${at}${path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    const approve = await asked('/approve', { fingerprint: 'x', approver: `ops ${TOKEN}` });
    expect(approve.status).toBe(400);
    expect(await approve.text()).not.toContain(TOKEN);
    for (const said of [{ by: `ops ${TOKEN}` }, { reason: `ops ${TOKEN}` }]) {
      const suspend = await asked('/suspend', said);
      expect(suspend.status).toBe(400);
      expect(await suspend.text()).not.toContain(TOKEN);
    }
    // Nor is a body that is no JSON object (an array was read as `{}` and froze the daemon).
    for (const body of [[], [{ by: 'ops' }], 'ops'])
      expect((await asked('/suspend', body)).status, JSON.stringify(body)).toBe(400);
    expect(d.daemon.status().freeze.frozen).toBe(false);
  });
});

describe('a corrupt run history', () => {
  it('is set aside with a warning: the daemon, its dashboard and `poolsync history` go on', async () => {
    const state = tempDir();
    const dir = join(state, 'daemon');
    const cp = join(state, 'cp.json');
    const repo = new TestRepo();
    repo.commit(manifests());
    const { mkdirSync } = await import('node:fs');
    mkdirSync(dir, { recursive: true });
    // A run without its triggers: `history` once read it as `run.trigger.join` and crashed.
    writeFileSync(
      join(dir, 'history.json'),
      JSON.stringify({ format: 1, runs: [{ id: 7, startedAt: 'x', finishedAt: 'y' }] }),
    );
    const d = await startOwnTestDaemon({ repo, state, flags: { 'control-plane': `file:${cp}` } });
    cleanup.add(d.stop);
    await d.daemon.firstRun;
    expect(d.logs.join('')).toMatch(/set aside as .*history\.json\.corrupt-/);
    expect((await get(d.daemon.url, '/')).status).toBe(200);
    const io = memoryIo();
    const { main } = await import('../../src/cli/run.js');
    expect(await exitOf(io, main(['history', '--daemon', d.daemon.url], io))).toBe(0);
    expect(io.out()).toMatch(/^#1 /);
  });

  it('a daemon answering a status that is not one: one line, no stack trace', async () => {
    const fake = await listenLoopback((_req, res) =>
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ source: {}, runs: [{ id: 1 }] })),
    );
    cleanup.add(fake.close);
    const io = memoryIo();
    const { main } = await import('../../src/cli/run.js');
    const url = `http://127.0.0.1:${fake.port}`;
    expect(await exitOf(io, main(['history', '1', '--daemon', url], io))).toBe(1);
    expect(io.err()).toBe(
      `Error: ${url}/status is not a poolsync daemon's status (status.runs[0].trigger is missing): is --daemon a poolsync daemon, of this version?\n`,
    );
  });

  // A control plane's URL given as --daemon (its REST API answers 404 with its own words).
  it.each([
    ['status', '/status'],
    ['sync', '/reconcile'],
  ])('%s of a control plane: says --daemon names one', async (command, path) => {
    const fake = await listenLoopback((req, res) =>
      res
        .writeHead(404, { 'content-type': 'application/json' })
        .end(JSON.stringify({ code: 'NOT_FOUND', message: `no endpoint ${req.url}` })),
    );
    cleanup.add(fake.close);
    const io = memoryIo({ POOLSYNC_ADMIN_TOKEN: ADMIN });
    const { main } = await import('../../src/cli/run.js');
    const url = `http://127.0.0.1:${fake.port}`;
    expect(await exitOf(io, main([command, '--daemon', url], io))).toBe(1);
    expect(io.err()).toBe(
      `Error: ${url}${path} answered HTTP 404 (NOT_FOUND) as a control plane does, not as a poolsync daemon: --daemon (its status address; env POOLSYNC_DAEMON_URL) must be the daemon's own address, which \`poolsync daemon\` prints as it starts (default http://127.0.0.1:8080); a control plane's URL is for --control-plane (plan, apply)\n`,
    );
  });

  it.each([
    [
      'approve',
      '{"source": {}, "runs": [], "leader": {"isLeader": false}}',
      /status\.leader\.identity is missing/,
    ],
    [
      'approve',
      '{"source": {}, "runs": [], "approval": {"pending": {"changes": 1}}}',
      /status\.approval\.pending\.fingerprint is missing/,
    ],
    ['approve', 'null', /\/status answered HTTP 200 with a body that is not a JSON object/],
    ['suspend', '[]', /\/suspend answered HTTP 200 with a body that is not a JSON object/],
  ])('%s, answered %s: one line, no stack trace', async (command, answer, said) => {
    const fake = await listenLoopback((_req, res) =>
      res.writeHead(200, { 'content-type': 'application/json' }).end(answer),
    );
    cleanup.add(fake.close);
    const io = memoryIo({ POOLSYNC_ADMIN_TOKEN: ADMIN });
    const { main } = await import('../../src/cli/run.js');
    const url = `http://127.0.0.1:${fake.port}`;
    expect(await exitOf(io, main([command, '--daemon', url], io))).toBe(1);
    expect(io.err()).toMatch(said);
    expect(io.err().trim().split('\n')).toHaveLength(1);
  });
});
