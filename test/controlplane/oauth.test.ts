/**
 * The one OAuth2 client-credentials client of every backend (src/controlplane/oauth/), against
 * real HTTP servers on 127.0.0.1: the client authentication method the server advertises, a
 * refusal's code read from a WWW-Authenticate challenge or the body, an answer that is not a
 * token response, and an unreachable token endpoint retried then named.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { cleanup } from '../support/cleanup.js';
import { ControlPlaneError } from '../../src/controlplane/errors.js';
import {
  discover,
  type Discovery,
  retryingFetch,
  type TokenOptions,
  TokenSource,
} from '../../src/controlplane/oauth.js';
import { Reach } from '../../src/util/reach.js';
import { DEFAULT_LIMITS } from '../../src/util/transport-limits.js';
import { brokenEndpoint } from '../support/broken-endpoints.js';
import { discover as unionDiscover } from '../../src/controlplane/union/oauth.js';
import { flyteTokenSource } from '../../src/controlplane/flyteadmin/client.js';

type Handler = (req: IncomingMessage, res: ServerResponse, body: string) => void;

async function serve(handle: Handler): Promise<string> {
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => handle(req, res, body));
  });
  cleanup.add(() => new Promise((r) => server.close(r)));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function json(res: ServerResponse, status: number, body: unknown, headers = {}) {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

const FAST = { retry: { maxRetries: 2, minDelayMs: 1, maxDelayMs: 2 } };
const CREDENTIALS = { clientId: 'poolsync', clientSecret: 's3cr3t value' };
const OPTIONS: TokenOptions = {
  service: 'Test',
  http: FAST,
  refusal: (status, code) =>
    new ControlPlaneError('UNAUTHENTICATED', `refused: HTTP ${status} ${code ?? '(no code)'}`),
};
const at = (base: string): Discovery => ({
  tokenEndpoint: `${base}/token`,
  scopes: ['all'],
  audience: '',
  headerName: 'authorization',
});

describe('client authentication', () => {
  it('client_secret_post when the server advertises only that; client_secret_basic otherwise', async () => {
    const seen: { basic: boolean; form: URLSearchParams }[] = [];
    const base = await serve((req, res, body) => {
      if (req.url === '/.well-known/oauth-authorization-server')
        return json(res, 200, {
          issuer: 'https://idp.example',
          token_endpoint: `http://${req.headers.host}/token`,
          token_endpoint_auth_methods_supported: ['client_secret_post'],
        });
      if (req.url === '/config/v1/flyte_client') return json(res, 200, { scopes: ['all'] });
      seen.push({
        basic: /^Basic /.test(req.headers.authorization ?? ''),
        form: new URLSearchParams(body),
      });
      json(res, 200, { access_token: `t${seen.length}`, token_type: 'bearer', expires_in: 60 });
    });
    const d = await discover(base, { service: 'Test', http: FAST });
    expect(d.authMethod).toBe('client_secret_post');
    expect(await new TokenSource(CREDENTIALS, d, OPTIONS).token()).toBe('t1');
    expect(await new TokenSource(CREDENTIALS, at(base), OPTIONS).token()).toBe('t2');
    expect(seen[0]!.basic).toBe(false);
    expect(seen[0]!.form.get('client_id')).toBe('poolsync');
    expect(seen[0]!.form.get('client_secret')).toBe('s3cr3t value');
    expect(seen[0]!.form.get('grant_type')).toBe('client_credentials');
    expect(seen[1]!.basic).toBe(true);
    expect(seen[1]!.form.get('client_secret')).toBeNull();
  });
});

describe('the token answer', () => {
  it("a 401 with a WWW-Authenticate challenge: the body's error code reaches the backend's message", async () => {
    const base = await serve((_req, res) =>
      json(res, 401, { error: 'invalid_client' }, { 'www-authenticate': 'Basic realm="idp"' }),
    );
    const err = await new TokenSource(CREDENTIALS, at(base), OPTIONS).token().catch((e) => e);
    expect((err as Error).message).toBe('refused: HTTP 401 invalid_client');
  });

  it('a 200 that is not a token response is named, never cached', async () => {
    const base = await serve((_req, res) => json(res, 200, { token_type: 'bearer' }));
    const tokens = new TokenSource(CREDENTIALS, at(base), OPTIONS);
    const err = (await tokens.token().catch((e) => e)) as ControlPlaneError;
    expect(err.code).toBe('UNAUTHENTICATED');
    expect(err.message).toBe(`Test token request: ${base}/token answered without an access_token`);
    await expect(tokens.token()).rejects.toBe(err);
  });

  it('a page answered 200 is said to be no JSON, and what to check, not a bare status', async () => {
    const base = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end('<html>sign in</html>');
    });
    const err = (await new TokenSource(CREDENTIALS, at(base), OPTIONS)
      .token()
      .catch((e) => e)) as ControlPlaneError;
    expect(err.message).toBe(
      `Test token request: ${base}/token answered HTTP 200 text/html, not JSON: is it the OAuth2 token endpoint? check --control-plane and what its OAuth2 discovery names`,
    );
  });

  it('an unreachable token endpoint is retried (the fast-fail budget), then UNAVAILABLE saying nothing accepts connections there', async () => {
    const base = await serve(() => undefined);
    const closed = base.replace(/:\d+$/, ':1'); // nothing listens on port 1
    let sleeps = 0;
    const tokens = new TokenSource(CREDENTIALS, at(closed), {
      ...OPTIONS,
      http: { ...FAST, clock: { now: Date.now, sleep: async () => void sleeps++ } },
    });
    const err = (await tokens.token().catch((e) => e)) as ControlPlaneError;
    expect(err.code).toBe('UNAVAILABLE');
    // Port 1 is one the fetch standard refuses outright ("bad port"): the OAuth2 requests go
    // over node:http (node-fetch.ts), so this is what a user sees for any port.
    expect(err.message).toBe(
      "Test token request http://127.0.0.1:1/token: cannot reach Test's token endpoint: nothing accepts connections at http://127.0.0.1:1 (ECONNREFUSED, 3 attempts); the token endpoint is the one Test's OAuth2 discovery names; is it running?",
    );
    expect(sleeps).toBe(2);
  });

  it('a discovery found on the first token is kept; a failed one is asked again', async () => {
    let asked = 0;
    const base = await serve((_req, res) =>
      json(res, 200, { access_token: 'x', token_type: 'bearer', expires_in: 1 }),
    );
    const tokens = new TokenSource(
      CREDENTIALS,
      async () => {
        if (++asked === 1) throw new ControlPlaneError('UNAVAILABLE', 'discovery down');
        return at(base);
      },
      OPTIONS,
    );
    await expect(tokens.token()).rejects.toThrow('discovery down');
    expect(await tokens.token()).toBe('x');
    tokens.invalidate();
    expect(await tokens.token()).toBe('x');
    expect(asked).toBe(2);
  });
});

describe('discovery', () => {
  it('of a plain-http host other than this machine is refused before any request', async () => {
    // Any request would end at once, "not sent": what is said is the refusal that came first.
    const signal = AbortSignal.abort(new Error('no request expected'));
    const err = (await discover('http://192.0.2.2:18446', {
      service: 'Test',
      http: { ...FAST, signal },
    }).catch((e) => e)) as ControlPlaneError;
    expect(err.code).toBe('UNAUTHENTICATED');
    expect(err.message).toBe(
      'Test OAuth2 discovery: http://192.0.2.2:18446 is not https; poolsync looks for where to send client credentials over https only (or on this machine)',
    );
  });
});

describe('discovery', () => {
  it('of a server that accepts and never answers: one read timeout, no OpenID Connect fallback', async () => {
    const asked: string[] = [];
    // Never answered: each request ends by the client's read timeout alone.
    const base = await serve((req) => void asked.push(req.url ?? ''));
    const limits = { ...DEFAULT_LIMITS, readTimeoutMs: 300 };
    const err = (await discover(base, {
      service: 'Test',
      http: { retry: { maxRetries: 0, minDelayMs: 0, maxDelayMs: 0 }, limits },
    }).catch((e: unknown) => e)) as ControlPlaneError;
    expect(asked.sort()).toEqual([
      '/.well-known/oauth-authorization-server',
      '/config/v1/flyte_client',
    ]);
    expect(err.code).toBe('UNAVAILABLE');
    expect(err.message).toBe(
      `Test OAuth2 discovery: ${base}/.well-known/oauth-authorization-server: nothing was received for 300ms (--read-timeout, env POOLSYNC_READ_TIMEOUT): the server or the network stalled; raise --read-timeout if it is only slow (1 attempt); OpenID Connect discovery was not tried, as the same server would be waited for again: check that ${base} is up and is the control plane's address`,
    );
  });
});

describe('discovery answered by a web page', () => {
  // As `openssl s_server -www` answers any GET: another server, so --control-plane is wrong.
  const webPage = () =>
    serve((_req, res) =>
      res.writeHead(200, { 'content-type': 'text/html' }).end('<html><body>hi</body></html>'),
    );
  const page = (base: string, path: string) =>
    `${base}${path} answered HTTP 200 with a body that is not JSON (text/html)`;

  it("is the wrong --control-plane (INVALID_ARGUMENT), said with Union's endpoint", async () => {
    const base = await webPage();
    const err = (await unionDiscover(base, FAST).catch((e) => e)) as ControlPlaneError;
    expect(err.code).toBe('INVALID_ARGUMENT');
    expect(err.message).toBe(
      `Union OAuth2 discovery: ${page(base, '/.well-known/oauth-authorization-server')}; the fallback failed too (Union OpenID Connect discovery: ${page(base, '/.well-known/openid-configuration')}): is --control-plane the Union endpoint of the API key (https://<org>.<region>.unionai.cloud), not of a web page or another server?`,
    );
  });

  it("is the wrong --control-plane (INVALID_ARGUMENT), said with flyteadmin's API", async () => {
    const base = await webPage();
    const tokens = flyteTokenSource(base, CREDENTIALS, FAST);
    const err = (await tokens.token().catch((e) => e)) as ControlPlaneError;
    expect(err.code).toBe('INVALID_ARGUMENT');
    expect(err.message).toMatch(
      /the fallback failed too \(.*\): is --control-plane \(env POOLSYNC_CONTROL_PLANE\) the URL of flyteadmin's API, not of a web page or another server\?$/,
    );
  });
});

describe('a request without an answer', () => {
  it('is counted in words: 1 attempt (a token endpoint that answered before, then closed)', async () => {
    const reach = new Reach();
    // It answered once: a connection it closes now is a failure on the way, not a wrong port.
    reach.answered = true;
    const url = `${await brokenEndpoint('tlsPort')}/token`;
    const fetch = retryingFetch('Test', 'token request', {
      retry: { maxRetries: 0, minDelayMs: 0, maxDelayMs: 0 },
      reach,
    });
    const err = (await fetch(url, { method: 'POST' }).catch((e: unknown) => e)) as Error;
    // In the words of a port that never answered, without its guess about TLS.
    expect(err.message).toBe(
      `Test token request ${url}: cannot reach Test's token endpoint: ${new URL(url).origin} closed the connection before any answer: the server, or a proxy or firewall between, cut it (ECONNRESET, 1 attempt); the token endpoint is the one Test's OAuth2 discovery names; is it running?`,
    );
  });
});
