/**
 * Fast, clear failures when nothing answers (issue 35's network part, owned by issue 38): every
 * backend — REST, union (Connect and gRPC), flyteadmin without and with OAuth2 credentials —
 * says "nothing accepts connections at …" (or the DNS or TLS failure) after the fast-fail
 * budget (3 attempts at most, 1 with --max-retries 0), OAuth2 discovery included, with no hint
 * about authentication. The bound is checked as the number of attempts the message reports and
 * the server counts, never as a time.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { ControlPlaneError } from '../../src/controlplane/errors.js';
import { UnreachableError } from '../../src/controlplane/errors.js';
import { openControlPlane } from '../../src/controlplane/open.js';
import { readLiveState, type ControlPlane } from '../../src/controlplane/types.js';
import { connectFailure, Reach } from '../../src/util/reach.js';
import { runCli } from '../apply/helpers/cli.js';
import { apiKey } from './union/helpers.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A port nothing listens on (listened on, then closed). */
async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as AddressInfo).port;
  await new Promise((r) => srv.close(r));
  return port;
}

/** A plain-HTTP server counting its connections (what `https://` to it fails the TLS of). */
async function plainServer(): Promise<{ port: number; connections: () => number }> {
  let connections = 0;
  const srv: Server = createServer((_req, res) => res.end('plain'));
  srv.on('connection', () => connections++);
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  cleanups.push(
    () =>
      new Promise((r) => {
        srv.closeAllConnections();
        srv.close(r);
      }),
  );
  return { port: (srv.address() as AddressInfo).port, connections: () => connections };
}

async function failure(url: string, maxRetries?: number): Promise<ControlPlaneError> {
  const before = { ...process.env };
  process.env.POOLSYNC_UNION_API_KEY = apiKey(new URL(url.replace(/^\w+\+/, '')).host);
  try {
    const opts = maxRetries === undefined ? {} : { http: { maxRetries, minRetryDelayMs: 1 } };
    const cp: ControlPlane = await openControlPlane(url, opts);
    try {
      await readLiveState(cp);
    } finally {
      await cp.close();
    }
  } catch (err) {
    return err as ControlPlaneError;
  } finally {
    process.env = before;
  }
  throw new Error('expected a failure');
}

const NOT_AUTH = /authentication|POOLSYNC_FLYTE_CLIENT|fallback|API key/;

describe('nothing listening: every backend says so after at most 3 attempts', () => {
  const cases = [
    ['REST', (p: number) => `http://127.0.0.1:${p}`],
    ['union (Connect)', (p: number) => `union+http://127.0.0.1:${p}`],
    ['union (gRPC)', (p: number) => `union+http://127.0.0.1:${p}?protocol=grpc`],
    ['flyteadmin', (p: number) => `flyteadmin+http://127.0.0.1:${p}`],
  ] as const;

  for (const [name, url] of cases) {
    it(`${name}: "nothing accepts connections", 3 attempts of the default --max-retries 8, 1 with 0`, async () => {
      const port = await closedPort();
      for (const [maxRetries, attempts] of [
        [8, '3 attempts'],
        [0, '1 attempt'],
      ] as const) {
        const err = await failure(url(port), maxRetries);
        expect(err).toBeInstanceOf(UnreachableError);
        expect(err.code).toBe('UNAVAILABLE');
        expect(err.message).toContain(
          `nothing accepts connections at http://127.0.0.1:${port} (ECONNREFUSED, ${attempts}); is it running, and is --control-plane (env POOLSYNC_CONTROL_PLANE) right?`,
        );
        expect(err.message).not.toMatch(NOT_AUTH);
      }
    });
  }

  it('flyteadmin with a client id: OAuth2 discovery fails fast too, without a hint about authentication', async () => {
    const port = await closedPort();
    const env = { ...process.env };
    process.env.POOLSYNC_FLYTE_CLIENT_ID = 'poolsync';
    process.env.POOLSYNC_FLYTE_CLIENT_SECRET = 'not-used';
    try {
      for (const [maxRetries, attempts] of [
        [8, '3 attempts'],
        [0, '1 attempt'],
      ] as const) {
        const err = await failure(`flyteadmin+http://127.0.0.1:${port}`, maxRetries);
        expect(err).toBeInstanceOf(UnreachableError);
        expect(err.message).toContain(
          `cannot reach flyteadmin: nothing accepts connections at http://127.0.0.1:${port} (ECONNREFUSED, ${attempts})`,
        );
        expect(err.message).not.toMatch(NOT_AUTH);
      }
    } finally {
      process.env = env;
    }
  });

  it('union: OAuth2 discovery honours --max-retries 0 (one attempt), and a port fetch calls "bad" (9) is reached like any other', async () => {
    for (const [maxRetries, attempts] of [
      [0, '1 attempt'],
      [8, '3 attempts'],
    ] as const) {
      const err = await failure('union+http://127.0.0.1:9', maxRetries);
      expect(err.message).toMatch(
        new RegExp(
          `^Union OAuth2 discovery: cannot reach Union: nothing accepts connections at http://127\\.0\\.0\\.1:9 \\(ECONNREFUSED, ${attempts}\\)`,
        ),
      );
    }
  });

  it('the CLI: union+http://127.0.0.1:9 with --max-retries 0 is one line, exit 1', async () => {
    const r = await runCli(
      [
        'plan',
        'examples/config-repo',
        '--control-plane',
        'union+http://127.0.0.1:9',
        '--max-retries',
        '0',
      ],
      { POOLSYNC_UNION_API_KEY: apiKey('127.0.0.1:9') },
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /^Error: control plane: UNAVAILABLE: Union OAuth2 discovery: cannot reach Union: nothing accepts connections at http:\/\/127\.0\.0\.1:9 \(ECONNREFUSED, 1 attempt\); is it running/,
    );
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  }, 60_000);
});

describe('DNS and TLS failures are said as such', () => {
  it('an unknown host: "is not known (DNS)", for REST and union', async () => {
    for (const url of ['http://no-such-host.invalid', 'union+https://no-such-host.invalid']) {
      const err = await failure(url, 8);
      expect(err.message).toContain('the host no-such-host.invalid is not known (DNS)');
      expect(err.message).toMatch(/\((ENOTFOUND|EAI_AGAIN), 3 attempts\)/);
    }
  });

  it('https:// to a plain-HTTP server: the TLS handshake failed, one attempt (a retry cannot fix it)', async () => {
    const plain = await plainServer();
    const err = await failure(`union+https://127.0.0.1:${plain.port}`, 8);
    expect(err.message).toContain(`the TLS handshake with https://127.0.0.1:${plain.port} failed`);
    expect(err.message).toMatch(/, 1 attempt\); check the scheme/);
    // Discovery asks two documents at once: one connection each, no retry.
    expect(plain.connections()).toBe(2);
    const flyte = await failure(`flyteadmin+https://127.0.0.1:${plain.port}`, 8);
    expect(flyte.message).toContain('TLS handshake');
    expect(flyte.message).toMatch(/, 1 attempt\)/);
  });
});

describe('the budget (util/reach.ts)', () => {
  it('before the first answer: refused and DNS 2 retries, TLS and connect timeouts none; after it, the whole --max-retries', () => {
    const reach = new Reach();
    expect(reach.budget(8, connectFailure('ECONNREFUSED'))).toBe(2);
    expect(reach.budget(8, connectFailure('ENOTFOUND'))).toBe(2);
    expect(reach.budget(0, connectFailure('ECONNREFUSED'))).toBe(0);
    expect(reach.budget(8, connectFailure('ERR_SSL_WRONG_VERSION_NUMBER'))).toBe(0);
    expect(reach.budget(8, connectFailure('UND_ERR_CONNECT_TIMEOUT'))).toBe(0);
    expect(reach.budget(8, connectFailure('ECONNRESET'))).toBe(8);
    reach.answered = true;
    expect(reach.budget(8, connectFailure('ECONNREFUSED'))).toBe(8);
  });
});
