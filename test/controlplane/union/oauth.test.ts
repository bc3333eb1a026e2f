/**
 * The OAuth2 edge cases of the union backend, against real HTTP servers on 127.0.0.1: a token
 * endpoint answering 5xx/429 is retried with the RPCs' backoff; each OAuth2 error code has its
 * own message (never the secret); discovery falls back to OpenID Connect as Union's Terraform
 * provider does (oauth.go); a client secret holding ':' authenticates.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { discover, parseApiKey, unionTokens } from '../../../src/controlplane/union/oauth.js';
import { apiKey, openUnion, rejection, startUnionServer, type UnionServer } from './helpers.js';

type Handler = (req: IncomingMessage, res: ServerResponse, body: string) => void;

const servers: Server[] = [];
let union: UnionServer | undefined;
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
  await union?.close();
  union = undefined;
});

/** A server answering each request with `handle`; returns its base URL and the requests. */
async function serve(handle: Handler): Promise<{ base: string; seen: string[] }> {
  const seen: string[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      seen.push(`${req.method} ${req.url}`);
      handle(req, res, body);
    });
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

function json(res: ServerResponse, status: number, body: unknown, headers = {}) {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

const SECRET = 'top:secret:value';
const KEY = parseApiKey(
  Buffer.from(`127.0.0.1:1:poolsync-app:${SECRET}:acme`).toString('base64'),
  'test',
);
const FAST = { retry: { maxRetries: 3, minDelayMs: 1, maxDelayMs: 5 } };
const discovery = (base: string) => ({
  tokenEndpoint: `${base}/oauth2/token`,
  scopes: ['all'],
  audience: 'https://acme.example',
  headerName: 'authorization',
});

describe('the token endpoint', () => {
  it('5xx and 429 are retried with backoff (429 honours Retry-After), then the token is used', async () => {
    const answers = [503, 429, 502];
    const delays: number[] = [];
    const { base, seen } = await serve((_req, res) => {
      const status = answers.shift();
      if (status === 429) return json(res, 429, { error: 'slow_down' }, { 'retry-after': '0' });
      if (status) return json(res, status, {});
      json(res, 200, { access_token: 'tok-1', token_type: 'Bearer', expires_in: 3600 });
    });
    const tokens = unionTokens(KEY, discovery(base), {
      ...FAST,
      clock: { now: Date.now, sleep: async (ms) => void delays.push(ms) },
    });
    expect(await tokens.token()).toBe('tok-1');
    expect(seen).toHaveLength(4);
    expect(delays).toHaveLength(3);
    expect(delays.every((d) => d >= 1 && d <= 5)).toBe(true);
  });

  it('gives up after the retry budget: UNAVAILABLE naming the status', async () => {
    const { base, seen } = await serve((_req, res) => json(res, 503, {}));
    const err = await rejection(unionTokens(KEY, discovery(base), FAST).token());
    expect(err.code).toBe('UNAVAILABLE');
    expect(err.message).toContain('answered HTTP 503');
    expect(seen).toHaveLength(4); // the first attempt and 3 retries
  });

  it('each OAuth2 error code has its own message, none with the secret', async () => {
    const want: Record<string, RegExp> = {
      invalid_client:
        /revoked, expired or mistyped; create one with `flyte create api-key --name poolsync`/,
      invalid_scope:
        /refused the scopes poolsync asked for \("all", as \/config\/v1\/flyte_client advertises/,
      unauthorized_client: /does not let the API key's application use client credentials/,
      invalid_grant: /refused the grant .*disabled or expired/,
      unsupported_grant_type: /does not offer client credentials/,
      invalid_request: /found the token request malformed .*audience "https:\/\/acme\.example"/,
    };
    const messages = new Set<string>();
    for (const [code, pattern] of Object.entries(want)) {
      const status = code === 'invalid_client' ? 401 : 400;
      const { base, seen } = await serve((_req, res) =>
        json(res, status, { error: code, error_description: `echo ${SECRET}` }),
      );
      const err = await rejection(unionTokens(KEY, discovery(base), FAST).token());
      expect(err.code, code).toBe('UNAUTHENTICATED');
      expect(err.message, code).toMatch(pattern);
      expect(err.message, code).toContain(`HTTP ${status} ${code}`);
      expect(err.message).not.toContain(SECRET);
      expect(err.message).not.toContain('top:secret');
      expect(seen, 'a refusal is not retried').toHaveLength(1);
      messages.add(err.message.replace(base, ''));
    }
    expect(messages.size).toBe(Object.keys(want).length);
  });

  it("a secret holding ':' is sent form-urlencoded in client_secret_basic (RFC 6749 2.3.1)", async () => {
    let auth = '';
    const { base } = await serve((req, res) => {
      auth = req.headers.authorization ?? '';
      json(res, 200, { access_token: 'tok', token_type: 'Bearer', expires_in: 60 });
    });
    await unionTokens(KEY, discovery(base), FAST).token();
    const decoded = Buffer.from(auth.replace(/^Basic /, ''), 'base64').toString();
    const at = decoded.indexOf(':');
    expect(decodeURIComponent(decoded.slice(0, at))).toBe('poolsync-app');
    expect(decodeURIComponent(decoded.slice(at + 1))).toBe(SECRET);
  });
});

describe('discovery', () => {
  it("retries Union's metadata on 5xx", async () => {
    let failures = 1;
    const { base, seen } = await serve((req, res) => {
      if (req.url === '/config/v1/flyte_client' && failures-- > 0) return json(res, 502, {});
      if (req.url === '/config/v1/flyte_client')
        return json(res, 200, {
          scopes: ['all'],
          authorization_metadata_key: 'flyte-authorization',
        });
      json(res, 200, { token_endpoint: '/oauth2/token' });
    });
    const d = await discover(base, FAST);
    expect(d).toMatchObject({
      tokenEndpoint: `${base}/oauth2/token`,
      headerName: 'flyte-authorization',
    });
    expect(seen.filter((r) => r === 'GET /config/v1/flyte_client')).toHaveLength(2);
  });

  it('falls back to OpenID Connect discovery, following the issuer (a CNAME) to its token endpoint', async () => {
    const idp = await serve((req, res) => {
      if (req.url === '/.well-known/openid-configuration')
        return json(res, 200, { issuer: idp.base, token_endpoint: `${idp.base}/v1/token` });
      if (req.url === '/v1/token')
        return json(res, 200, { access_token: 'from-idp', token_type: 'Bearer', expires_in: 60 });
      json(res, 404, {});
    });
    const endpoint = await serve((req, res) => {
      if (req.url === '/.well-known/openid-configuration')
        return json(res, 200, { issuer: idp.base });
      json(res, 404, {}); // no Union metadata
    });
    const d = await discover(endpoint.base, FAST);
    expect(d).toEqual({
      tokenEndpoint: `${idp.base}/v1/token`,
      scopes: [],
      audience: '',
      headerName: 'authorization',
    });
    expect(await unionTokens(KEY, d, FAST).token()).toBe('from-idp');
  });

  it('an issuer whose document names another issuer is refused', async () => {
    const idp = await serve((_req, res) =>
      json(res, 200, { issuer: 'https://elsewhere.example', token_endpoint: '/t' }),
    );
    const endpoint = await serve((req, res) => {
      if (req.url === '/.well-known/openid-configuration')
        return json(res, 200, { issuer: idp.base });
      json(res, 404, {});
    });
    const err = await rejection(discover(endpoint.base, FAST));
    expect(err.message).toContain('HTTP 404');
    expect(err.message).toContain('names another issuer');
  });
});

describe("a client secret holding ':' end to end (API key → token → RPC)", () => {
  it.each(['connect', 'grpc'] as const)('over %s', async (protocol) => {
    union = await startUnionServer({ client: { client_secret: 'a:b:c-secret' } });
    const cp = await openUnion(
      union,
      protocol,
      apiKey(union.host, { client_secret: 'a:b:c-secret' }),
    );
    expect((await cp.queues.listQueues()).map((q) => q.name)).toEqual(['default']);
    await cp.close();
  });
});
