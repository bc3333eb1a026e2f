/**
 * A control plane that accepts calls and never answers them held `plan` and `apply` silent for
 * the whole call deadline (60 s by default): they now say, once, what they wait for and for how
 * long at most. Against a real socket of each backend's protocol: for REST a server that answers
 * what opens the control plane (GET /v1/capabilities, from a served embedded one) and holds every
 * other call; for Union its stand-in (OAuth2 answered) holding every Connect and gRPC call; for
 * flyteadmin an HTTP server holding every request.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Interceptor } from '@connectrpc/connect';
import { describe, expect, it, onTestFinished } from 'vitest';
import { apiKey, CLIENT, startUnionServer } from '../controlplane/union/helpers.js';
import { runInProcess, type CliResult } from '../support/memory-io.js';
import { servedControlPlane } from '../support/served-control-plane.js';
import { tempFolder } from '../support/temp-folder.js';
import { until } from '../support/until.js';
import { ManualClock } from '../support/virtual-clock.js';
import { networkOf } from '../../src/cli/options.js';
import { FlyteadminControlPlane } from '../../src/controlplane/flyteadmin/client.js';
import type { ClientTuning } from '../../src/controlplane/opener.js';
import { HttpControlPlane } from '../../src/controlplane/rest/http-client.js';
import { openUnion } from '../../src/controlplane/union/union.js';
import { HTTP_DELAYS } from '../../src/util/backoff.js';
import { unionOAuthServer } from '../../src/standins/union/oauth-client-file.js';

/** An Io output that keeps each write. */
const memoryStream = (into: string[]) => ({ write: (text: string) => (into.push(text), true) });

const REPO = 'examples/config-repo';

/** An HTTP server holding each request `answers` does not take; closed when the test ends. */
async function holdingServer(
  answers: (req: IncomingMessage, res: ServerResponse) => boolean = () => false,
): Promise<{ url: string; held: string[]; stopListening: () => void }> {
  const held: string[] = [];
  const waiting: ServerResponse[] = [];
  const server = createServer((req, res) => {
    if (answers(req, res)) return;
    held.push(req.url ?? '');
    waiting.push(res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  onTestFinished(async () => {
    for (const res of waiting) res.destroy();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, held, stopListening: () => (server.close(), server.closeAllConnections()) };
}

/**
 * Union's address (`http://127.0.0.1:PORT`): nothing listening there; a server holding every
 * request; or one answering OAuth2 (the stand-in's), gone at its first RPC (goneAfter).
 */
async function unionAt(kind: 'nothing listening' | 'holding' | 'gone'): Promise<string> {
  if (kind === 'holding') return (await holdingServer()).url;
  const oauth = unionOAuthServer(CLIENT);
  // Its first RPC comes after the token (the client asks for it at once).
  if (kind === 'gone') return goneAfter((req, res) => oauth.handle(req, res));
  const server = await holdingServer();
  server.stopListening();
  return server.url;
}

/**
 * Union opened as `plan` opens it, with the CLI's notice, on a virtual clock (the notice's and
 * the backoffs'); stopped when the test ends.
 */
function openingUnion(url: string, tuning: ClientTuning = {}) {
  const said: string[] = [];
  const { limits, onWait } = networkOf({}, { env: {}, stderr: memoryStream(said) });
  const clock = new ManualClock();
  const stop = new AbortController();
  const env = { POOLSYNC_UNION_API_KEY: apiKey(new URL(url).host) };
  const opening = openUnion(`union+${url}`, undefined, env, {
    limits,
    onWait,
    clock,
    signal: stop.signal,
    ...tuning,
  }).then(
    (cp) => cp.close(),
    (err: unknown) => err,
  );
  onTestFinished(async () => {
    stop.abort(new Error('the test ended'));
    await opening;
  });
  return { said, clock };
}

/** The held calls' paths, and the server's URL. */
async function answeringOnlyCapabilities(): Promise<{ url: string; held: string[] }> {
  const real = await servedControlPlane();
  return holdingServer((req, res) => {
    if (req.url !== '/v1/capabilities') return false;
    void fetch(`${real.url}${req.url}`).then(async (answer) => {
      res.writeHead(answer.status, { 'content-type': 'application/json' });
      res.end(await answer.text());
    });
    return true;
  });
}

/**
 * A server answering what `answers` takes that stops listening at the first request it does not,
 * as a restarting server does: that call loses its connection, and its retries find nothing
 * listening. Its URL.
 */
async function goneAfter(
  answers: (req: IncomingMessage, res: ServerResponse) => boolean,
): Promise<string> {
  const server = await holdingServer((req, res) => {
    if (answers(req, res)) return true;
    server.stopListening();
    res.destroy();
    return true;
  });
  return server.url;
}

/**
 * `args` with a 1 s read timeout and a 3 s call deadline (or `callTimeout`): the notice comes
 * after one read timeout, each call's deadline later, timers of one process fired in that order.
 */
function waitingRun(
  args: string[],
  env: NodeJS.ProcessEnv = {},
  callTimeout = '3s',
): Promise<CliResult> {
  const limits = ['--read-timeout', '1s', '--call-timeout', callTimeout];
  const state = ['--state-dir', tempFolder('poolsync-state-')];
  return runInProcess([...args, ...limits, ...state], {
    ...env,
    PATH: process.env.PATH,
    NO_COLOR: '1',
  });
}

/**
 * Retries that find nothing listening (`--max-retries 100`) with a 10 s deadline: they end when
 * the next backoff no longer fits it, seconds after the notice even on a loaded machine.
 */
function refusedRun(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  return waitingRun([...args, '--max-retries', '100'], env, '10s');
}

/** The refusals said once on stderr, naming `url`, then the last one, without a stack trace. */
function expectRefusalsTold(r: CliResult, url: string): void {
  expect(r.code, r.stderr).toBe(1);
  const waits = r.stderr.split('\n').filter((l) => l.startsWith('Waiting'));
  expect(waits, r.stderr).toEqual([
    expect.stringMatching(
      new RegExp(
        `^Waiting for ${url}: connection refused \\(ECONNREFUSED\\), retrying \\(attempt \\d+ of at most 101, --max-retries\\); giving up after 10s \\(--call-timeout\\) at the latest; Ctrl-C stops\\.$`,
      ),
    ),
  ]);
  expect(r.stderr).toMatch(/nothing accepts connections at/);
  expect(r.stderr).not.toMatch(/^\s+at /m);
}

/** Said once on stderr, naming `url`, then the deadline's error, without a stack trace. */
function expectToldOnce(r: CliResult, url: string): void {
  expect(r.code, r.stderr).toBe(1);
  const waits = r.stderr.split('\n').filter((l) => l.startsWith('Waiting'));
  expect(waits).toEqual([
    `Waiting for ${url}: no answer for 1.0s; giving up after 3.0s (--call-timeout); Ctrl-C stops.`,
  ]);
  expect(r.stdout).not.toContain('Waiting');
  expect(r.stderr).toMatch(/no complete answer within 3\.0s/);
  expect(r.stderr).not.toMatch(/^\s+at /m);
}

describe('a control plane that never answers', () => {
  const commands: Record<string, string[]> = {
    plan: ['plan', REPO, '--output', 'json'],
    apply: ['apply', REPO, '--auto-approve', '--output', 'json'],
  };
  it.each(Object.keys(commands))(
    '%s says once on stderr what it waits for, and when it gives up',
    async (command) => {
      const { url, held } = await answeringOnlyCapabilities();
      const r = await waitingRun([...commands[command]!, '--control-plane', url]);
      // plan waits on several calls at once (its lists), and says so once.
      expect(new Set(held).size).toBeGreaterThan(command === 'plan' ? 1 : 0);
      expectToldOnce(r, url);
    },
  );

  it.each(['connect', 'grpc'] as const)(
    'Union (%s): plan says once what it waits for, and when it gives up',
    async (protocol) => {
      let held = 0;
      // Every call is taken and never answered, until the client gives up on it.
      const hold: Interceptor = () => (req) => {
        held++;
        return new Promise((_, reject) => req.signal.addEventListener('abort', reject));
      };
      const union = await startUnionServer({ interceptors: [hold] });
      onTestFinished(() => union.close());
      const r = await waitingRun(['plan', REPO, '--control-plane', union.url(protocol)], {
        POOLSYNC_UNION_API_KEY: apiKey(union.host),
      });
      expect(held).toBeGreaterThan(1);
      expectToldOnce(r, `http://${union.host}`);
    },
  );

  it('Union whose OAuth2 discovery is never answered: plan says it too', async () => {
    const { url, held } = await holdingServer();
    const host = url.slice('http://'.length);
    const r = await waitingRun(['plan', REPO, '--control-plane', `union+${url}`], {
      POOLSYNC_UNION_API_KEY: apiKey(host),
    });
    expect(held[0]).toMatch(/^\/\.well-known\//);
    expectToldOnce(r, url);
  });

  it('flyteadmin: plan says once what it waits for, and when it gives up', async () => {
    const { url, held } = await holdingServer();
    const r = await waitingRun(['plan', REPO, '--control-plane', `flyteadmin+${url}`]);
    expect(held.length).toBeGreaterThan(0);
    expectToldOnce(r, url);
  });
});

describe('the notice names what ends the wait', () => {
  it('a call not retried (check, --max-retries 0): its read timeout, not the call deadline', async () => {
    const { url } = await holdingServer();
    const said: string[] = [];
    const { limits, onWait } = networkOf({}, { env: {}, stderr: memoryStream(said) });
    const clock = new ManualClock();
    const cp = new FlyteadminControlPlane(url, { limits, onWait, clock, maxRetries: 0 });
    onTestFinished(() => cp.close());
    const listing = cp.listExecutionClusterLabels().catch((err: unknown) => err);
    // The request is held by the server before the notice's clock moves.
    await until('the request to be held', () => clock.sleeping > 0);
    clock.advance(5_000);
    await until('the notice', () => said.length > 0);
    expect(said).toEqual([
      `Waiting for ${url}: no answer for 5.0s; giving up after 10s (--read-timeout); Ctrl-C stops.\n`,
    ]);
    await cp.close();
    await listing;
  });

  it('a server gone after answering: its refused connections are said, with the retries left', async () => {
    const real = await servedControlPlane();
    const capabilities = await (await fetch(`${real.url}/v1/capabilities`)).text();
    // A REST control plane that answers its capabilities, then stops listening at the first
    // list: that call is cut, and each retry finds nothing listening.
    const url = await goneAfter((req, res) => {
      if (req.url !== '/v1/capabilities') return false;
      res.writeHead(200, { 'content-type': 'application/json' }).end(capabilities);
      return true;
    });
    const said: string[] = [];
    const { limits, onWait } = networkOf({}, { env: {}, stderr: memoryStream(said) });
    // A virtual clock: the notice comes when the test says, after a refused retry, never first.
    const clock = new ManualClock();
    const cp = new HttpControlPlane(url, { limits, onWait, clock, maxRetries: 100 });
    onTestFinished(() => cp.close());
    await cp.capabilities();
    const listing = cp.listQueues().catch((err: unknown) => err);
    // The notice's sleep, and the backoff after the cut call; then its retry, refused, backs off.
    await until('the cut call to back off', () => clock.sleeping >= 2);
    clock.advance(HTTP_DELAYS.minDelayMs);
    await until('the refused retry to back off', () => clock.sleeping >= 2);
    clock.advance(5_000);
    await until('the notice', () => said.length > 0);
    expect(said).toEqual([
      expect.stringMatching(
        new RegExp(
          `^Waiting for ${url}: connection refused \\(ECONNREFUSED\\), retrying \\(attempt \\d+ of at most 101, --max-retries\\); giving up after 1m \\(--call-timeout\\) at the latest; Ctrl-C stops\\.\\n$`,
        ),
      ),
    ]);
    await cp.close();
    await listing;
  });

  it('Union gone after answering: its refused connections are said, with the retries left', async () => {
    const url = await unionAt('gone');
    const r = await refusedRun(['plan', REPO, '--control-plane', `union+${url}`], {
      POOLSYNC_UNION_API_KEY: apiKey(new URL(url).host),
    });
    expectRefusalsTold(r, url);
  });

  it('Union where nothing ever listened: the attempts its fast-fail budget allows', async () => {
    const { said, clock } = openingUnion(await unionAt('nothing listening'));
    // The notice's sleep, and the backoff of each discovery request after its refused attempt.
    await until('both discovery requests to be refused', () => clock.sleeping >= 3);
    clock.advance(5_000);
    await until('the notice', () => said.length > 0);
    expect(said).toEqual([
      expect.stringMatching(
        /^Waiting for http:\/\/127\.0\.0\.1:\d+: connection refused \(ECONNREFUSED\), retrying \(attempt [12] of at most 3, --max-retries\); giving up after 1m \(--call-timeout\) at the latest; Ctrl-C stops\.\n$/,
      ),
    ]);
  });

  it('Union not retried (--max-retries 0) holding its discovery: its read timeout ends the wait', async () => {
    const url = await unionAt('holding');
    const { said, clock } = openingUnion(url, { maxRetries: 0 });
    await until('the discovery requests to be held', () => clock.sleeping > 0);
    clock.advance(5_000);
    await until('the notice', () => said.length > 0);
    expect(said).toEqual([
      `Waiting for ${url}: no answer for 5.0s; giving up after 10s (--read-timeout); Ctrl-C stops.\n`,
    ]);
  });
});
