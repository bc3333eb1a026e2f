/**
 * Union API keys and OAuth2 (api-key.ts, oauth.ts) against the embedded control plane's local
 * OAuth2 server over real sockets: refresh before expiry, re-authentication after a revoked
 * token, and a clear message for each failure that never carries the key, secret or token.
 */
import { Code, ConnectError, type Interceptor } from '@connectrpc/connect';
import { afterEach, describe, expect, it } from 'vitest';
import { EmbeddedControlPlane } from '../../../src/controlplane/embedded/embedded.js';
import { startControlPlaneServer } from '../../../src/controlplane/embedded/server.js';
import { ControlPlaneError } from '../../../src/controlplane/errors.js';
import { openControlPlane } from '../../../src/controlplane/open.js';
import { parseApiKey, resolveApiKey } from '../../../src/controlplane/union/oauth.js';
import { credentialsFromEnv } from '../../../src/controlplane/flyteadmin/client.js';
import { keyServes, type UnionControlPlane } from '../../../src/controlplane/union/union.js';
import { UserError } from '../../../src/util/user-error.js';
import { SYSTEM_CLOCK } from '../../../src/util/clock.js';
import { apiKey, CLIENT, openUnion, startUnionServer, type UnionServer } from './helpers.js';
import { join } from 'node:path';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';

let s: UnionServer | undefined;
afterEach(async () => {
  await s?.close();
  s = undefined;
});

async function failure(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a failure');
}

function secretFree(message: string, key: string) {
  expect(message).not.toContain(key);
  expect(message).not.toContain(CLIENT.client_secret);
  expect(message).not.toContain(CLIENT.client_id + ':');
}

describe('Union API keys', () => {
  it('decodes endpoint:client_id:client_secret:org (the endpoint may carry a port)', () => {
    const b64 = Buffer.from('dns:///acme.hosted.unionai.cloud:app:secret-1:none').toString(
      'base64',
    );
    const k = parseApiKey(b64, 'X');
    expect(k).toEqual({
      endpoint: 'acme.hosted.unionai.cloud',
      clientId: 'app',
      clientSecret: 'secret-1',
      org: 'acme',
      source: 'X',
    });
  });

  it("reads a client secret that contains ':' (everything between the client id and the org)", () => {
    const cases: [string, Partial<ReturnType<typeof parseApiKey>>][] = [
      // Union's Go provider and Python CLI split at most 4 fields from the left (the tail of
      // such a secret would land in the org); flyte-sdk-ts takes 3 from the right (its head
      // would land in the client id). Both agree with this on a secret without ':'.
      [
        'acme.us-east-2.unionai.cloud:app-1:s3:cr:et-1:acme',
        {
          endpoint: 'acme.us-east-2.unionai.cloud',
          clientId: 'app-1',
          clientSecret: 's3:cr:et-1',
          org: 'acme',
        },
      ],
      [
        '127.0.0.1:8089:app-1:sec:ret-part:acme',
        {
          endpoint: '127.0.0.1:8089',
          clientId: 'app-1',
          clientSecret: 'sec:ret-part',
          org: 'acme',
        },
      ],
      [
        'dns:///acme.unionai.cloud:443:app:a:b-secret:',
        {
          endpoint: 'acme.unionai.cloud:443',
          clientId: 'app',
          clientSecret: 'a:b-secret',
          org: 'acme',
        },
      ],
      [
        'host:12345:secret-1:org',
        { endpoint: 'host', clientId: '12345', clientSecret: 'secret-1', org: 'org' },
      ],
    ];
    for (const [text, want] of cases)
      expect(parseApiKey(Buffer.from(text).toString('base64'), 'X'), text).toMatchObject(want);
  });

  it('a bad key is a user error naming where it came from, never its content', () => {
    for (const [raw, why] of [
      ['not base64!', 'not base64'],
      [
        Buffer.from('host:id:secret').toString('base64'),
        '3 colon-separated fields: an endpoint, a client id and a client secret, but no org',
      ],
      [Buffer.from('host::secret:org').toString('base64'), 'no client id'],
      // Union reads an empty org as the host's first label: an address has none (not org "127").
      [
        Buffer.from('127.0.0.1:8089:app-1:S3CR3T-secret-1:').toString('base64'),
        "its org field is empty, and its endpoint 127.0.0.1:8089 has no first label to name the org: write the org after the last ':'",
      ],
      ['', 'empty'],
    ] as const) {
      const err = (() => {
        try {
          parseApiKey(raw, 'POOLSYNC_UNION_API_KEY');
        } catch (e) {
          return e as Error;
        }
        throw new Error('expected a failure');
      })();
      expect(err).toBeInstanceOf(UserError);
      expect(err.message).toContain('POOLSYNC_UNION_API_KEY');
      expect(err.message).toContain(why);
      expect(err.message).toContain('endpoint:client_id:client_secret:org');
      if (raw) expect(err.message).not.toContain(raw);
    }
  });

  it("reads a key wrapped over lines or encoded with its newline, as Union's client does (_auth_utils.py:10)", () => {
    const text =
      'acme.hosted.unionai.cloud:poolsync-dev-with-a-longer-client-id:change-me-to-a-forty-character-secret:acme';
    const b64 = Buffer.from(text).toString('base64');
    // GNU base64 wraps at 76 columns (-w 20: at 20) and ends with a newline.
    const wrapped = (n: number) => `${b64.match(new RegExp(`.{1,${n}}`, 'g'))!.join('\n')}\n`;
    for (const raw of [
      wrapped(76),
      wrapped(20),
      `${b64.slice(0, 9)}\r\n \t${b64.slice(9)}`,
      Buffer.from(`${text}\n`).toString('base64'), // echo '…' | base64
      Buffer.from(`${text}\r\n`).toString('base64'),
    ])
      expect(parseApiKey(raw, 'X'), JSON.stringify(raw)).toEqual({
        endpoint: 'acme.hosted.unionai.cloud',
        clientId: 'poolsync-dev-with-a-longer-client-id',
        clientSecret: 'change-me-to-a-forty-character-secret',
        org: 'acme',
        source: 'X',
      });
  });

  it('a key without its org says the org is missing, not that it is for another host', () => {
    const raw = Buffer.from(`127.0.0.1:7480:poolsync-dev:${CLIENT.client_secret}`).toString(
      'base64',
    );
    let err: Error | undefined;
    try {
      parseApiKey(raw, 'POOLSYNC_UNION_API_KEY', '127.0.0.1:7480');
    } catch (e) {
      err = e as Error;
    }
    expect(err).toBeInstanceOf(UserError);
    expect(err!.message).toContain(
      'POOLSYNC_UNION_API_KEY is not valid (4 colon-separated fields: an endpoint with a port, a client id and a client secret, but no org)',
    );
    secretFree(err!.message, raw);
  });

  it('without a key, or with a key of another endpoint, opening fails before any call', async () => {
    s = await startUnionServer();
    delete process.env.POOLSYNC_UNION_API_KEY;
    const none = await failure(openControlPlane(s.url('connect')));
    expect(none).toBeInstanceOf(UserError);
    expect(none.message).toContain('POOLSYNC_UNION_API_KEY');
    expect(none.message).toContain('--api-key-file');
    const other = apiKey('acme.hosted.unionai.cloud');
    const wrongHost = await failure(openUnion(s, 'connect', other));
    expect(wrongHost).toBeInstanceOf(UserError);
    expect(wrongHost.message).toContain('issued for acme.hosted.unionai.cloud');
    // union+http:// is refused for a host not this machine's: https is offered.
    expect(wrongHost.message).toContain(
      'use --control-plane union+https://acme.hosted.unionai.cloud or the key of',
    );
    secretFree(wrongHost.message, other);
    expect(s.oauth.issued).toBe(0);
  });

  it('a key of another endpoint is told with the scheme given, not https (it said union+https:// to a union+http:// user)', async () => {
    s = await startUnionServer();
    const err = await failure(openUnion(s, 'connect', apiKey('127.0.0.1:1')));
    expect(err.message).toContain('use --control-plane union+http://127.0.0.1:1 or the key of');
  });

  it('both POOLSYNC_UNION_API_KEY and POOLSYNC_UNION_API_KEY_FILE set is refused, naming both (the file silently won)', async () => {
    const err = await failure(
      resolveApiKey(undefined, {
        POOLSYNC_UNION_API_KEY: apiKey('127.0.0.1:1'),
        POOLSYNC_UNION_API_KEY_FILE: '/nonexistent/key',
      }),
    );
    expect(err).toBeInstanceOf(UserError);
    expect(err.message).toBe(
      'both POOLSYNC_UNION_API_KEY and POOLSYNC_UNION_API_KEY_FILE (/nonexistent/key) are set, and poolsync will not guess which Union API key is meant: unset one of them',
    );
  });

  it('both POOLSYNC_FLYTE_CLIENT_SECRET and its _FILE set is refused (the file silently won)', async () => {
    const err = await failure(
      credentialsFromEnv('http://127.0.0.1:1', {
        POOLSYNC_FLYTE_CLIENT_ID: 'poolsync',
        POOLSYNC_FLYTE_CLIENT_SECRET: 'a-secret-of-length',
        POOLSYNC_FLYTE_CLIENT_SECRET_FILE: '/nonexistent/secret',
      }),
    );
    expect(err).toBeInstanceOf(UserError);
    expect(err.message).toContain(
      'both POOLSYNC_FLYTE_CLIENT_SECRET and POOLSYNC_FLYTE_CLIENT_SECRET_FILE (/nonexistent/secret) are set',
    );
  });

  it('a key naming the default port serves the host without it, and no other', () => {
    expect(keyServes('acme.hosted.unionai.cloud:443', 'https://acme.hosted.unionai.cloud')).toBe(
      true,
    );
    expect(keyServes('ACME.hosted.unionai.cloud', 'https://acme.hosted.unionai.cloud')).toBe(true);
    expect(keyServes('acme.hosted.unionai.cloud:8443', 'https://acme.hosted.unionai.cloud')).toBe(
      false,
    );
    expect(keyServes('127.0.0.1:7480', 'http://127.0.0.1:7480')).toBe(true);
    expect(keyServes('127.0.0.1', 'http://127.0.0.1:7480')).toBe(false);
    expect(
      keyServes('evil.example/acme.hosted.unionai.cloud', 'https://acme.hosted.unionai.cloud'),
    ).toBe(false);
  });

  it('reads the key from --api-key-file', async () => {
    s = await startUnionServer();
    const dir = await mkdtemp(join(tmpdir(), 'poolsync-key-'));
    const file = join(dir, 'key');
    await writeFile(file, `${apiKey(s.host)}\n`);
    const cp = (await openControlPlane(s.url('grpc'), { apiKeyFile: file })) as UnionControlPlane;
    expect((await cp.queues.listQueues()).map((q) => q.name)).toEqual(['default']);
    await cp.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('opens with a wrapped key from --api-key-file or POOLSYNC_UNION_API_KEY, refuses one without its org', async () => {
    s = await startUnionServer();
    const dir = await mkdtemp(join(tmpdir(), 'poolsync-key-'));
    const file = join(dir, 'key');
    // base64 -w 20: the key over several lines.
    await writeFile(
      file,
      `${apiKey(s.host)
        .match(/.{1,20}/g)!
        .join('\n')}\n`,
    );
    const fromFile = (await openControlPlane(s.url('grpc'), {
      apiKeyFile: file,
    })) as UnionControlPlane;
    expect((await fromFile.queues.listQueues()).map((q) => q.name)).toEqual(['default']);
    await fromFile.close();
    await rm(dir, { recursive: true, force: true });
    // echo '…' | base64: the decoded key ends in a newline.
    const echoed = Buffer.from(
      `${s.host}:${CLIENT.client_id}:${CLIENT.client_secret}:${CLIENT.org}\n`,
    ).toString('base64');
    const fromEnv = await openUnion(s, 'connect', `${echoed.slice(0, 12)}\n${echoed.slice(12)}\n`);
    expect((await fromEnv.queues.listQueues()).map((q) => q.name)).toEqual(['default']);
    await fromEnv.close();
    const issued = s.oauth.issued;
    const noOrg = Buffer.from(`${s.host}:${CLIENT.client_id}:${CLIENT.client_secret}`).toString(
      'base64',
    );
    const err = await failure(openUnion(s, 'connect', noOrg));
    expect(err).toBeInstanceOf(UserError);
    expect(err.message).toContain('but no org');
    expect(err.message).not.toContain('issued for');
    secretFree(err.message, noOrg);
    expect(s.oauth.issued).toBe(issued);
  });

  it('refuses union+http:// to anything but loopback (the secret would travel in clear text)', async () => {
    const err = await failure(openControlPlane('union+http://acme.hosted.unionai.cloud'));
    expect(err).toBeInstanceOf(UserError);
    expect(err.message).toContain('union+https://acme.hosted.unionai.cloud');
    // A loopback address, not a name that starts like one.
    const named = await failure(openControlPlane('union+http://127.evil.example'));
    expect(named).toBeInstanceOf(UserError);
    expect(named.message).toContain('union+https://127.evil.example');
  });
});

describe.each(['connect', 'grpc'] as const)('OAuth2 over %s', (protocol) => {
  it('refreshes the token before it expires, mid-run, without a failed call', async () => {
    // The token endpoint and the client read one clock, moved here alone (backoffs sleep in real
    // time): how long a call takes on this machine changes no count.
    let now = Date.parse('2026-01-01T00:00:00Z');
    const started = now;
    s = await startUnionServer({ client: { token_ttl_seconds: 1 }, now: () => now });
    const clock = { ...SYSTEM_CLOCK, now: () => now };
    const cp = await openUnion(s, protocol, undefined, { clock });
    for (let calls = 0; now - started < 3_000; now += 100, calls++) {
      await cp.queues.createQueue({ name: `q${calls}`, run_concurrency: 1, action_concurrency: 1 });
      await cp.queues.listQueues();
    }
    await cp.close();
    // A call every 0.1 s for 3 s: tokens at 0, 0.8, 1.6 and 2.4 s, each the first call a quarter of
    // its lifetime before it expires; not one per call, none refused.
    expect(s.oauth.issued).toBe(4);
  });

  it('a revoked token (key rotation) is replaced once and the call goes through', async () => {
    s = await startUnionServer();
    const cp = await openUnion(s, protocol);
    await cp.queues.listQueues();
    s.oauth.revokeAll();
    expect((await cp.queues.getQueue('default')).name).toBe('default');
    await cp.close();
    expect(s.oauth.issued).toBe(2);
  });

  it('UNAUTHENTICATED: the token is refused even when fresh', async () => {
    const refuse: Interceptor = () => async () => {
      throw new ConnectError('token audience mismatch', Code.Unauthenticated);
    };
    s = await startUnionServer({ interceptors: [refuse] });
    const key = apiKey(s.host);
    const cp = await openUnion(s, protocol, key);
    const err = await failure(cp.clusters.listClusters());
    await cp.close();
    expect(err).toBeInstanceOf(ControlPlaneError);
    expect((err as ControlPlaneError).code).toBe('UNAUTHENTICATED');
    expect(err.message).toContain('token audience mismatch');
    expect(err.message).toMatch(/UNAUTHENTICATED from cloudidl\.(queue|cluster)\.\w+Service\/List/);
    expect(err.message).toContain('check the API key');
    secretFree(err.message, key);
    expect(err.message).not.toMatch(/Bearer/);
  });

  it('PERMISSION_DENIED (403): a key of another organisation', async () => {
    s = await startUnionServer();
    const key = apiKey(s.host, { org: 'globex' });
    const cp = await openUnion(s, protocol, key);
    const err = (await failure(cp.queues.listQueues())) as ControlPlaneError;
    await cp.close();
    expect(err.code).toBe('PERMISSION_DENIED');
    expect(err.message).toContain('organization "globex" is not served here');
    expect(err.message).toContain('PERMISSION_DENIED');
    expect(err.message).toContain('organisation "globex"');
    secretFree(err.message, key);
  });

  it('token endpoint 401: the client credentials are wrong', async () => {
    s = await startUnionServer();
    const key = apiKey(s.host, { client_secret: 'revoked-secret' });
    const cp = await openUnion(s, protocol, key);
    const err = (await failure(cp.queues.listQueues())) as ControlPlaneError;
    await cp.close();
    expect(err.code).toBe('UNAUTHENTICATED');
    expect(err.message).toContain('HTTP 401 invalid_client');
    expect(err.message).toContain('flyte create api-key');
    secretFree(err.message, key);
    expect(err.message).not.toContain('revoked-secret');
  });
});

describe('OAuth2 discovery', () => {
  it('a server without discovery (404) is named with the URL and what to check', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'poolsync-rest-'));
    const embedded = await EmbeddedControlPlane.open({ path: join(dir, 'cp.json') });
    const server = await startControlPlaneServer({ controlPlane: embedded });
    const host = new URL(server.url).host;
    process.env.POOLSYNC_UNION_API_KEY = apiKey(host);
    try {
      const err = (await failure(
        openControlPlane(`union+http://${host}`, { env: process.env }),
      )) as ControlPlaneError;
      expect(err).toBeInstanceOf(ControlPlaneError);
      expect(err.code).toBe('UNAUTHENTICATED');
      expect(err.message).toContain(`GET http://${host}/.well-known/oauth-authorization-server`);
      expect(err.message).toContain('HTTP 404');
      expect(err.message).toContain('--control-plane');
    } finally {
      delete process.env.POOLSYNC_UNION_API_KEY;
      await server.close();
      await embedded.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
