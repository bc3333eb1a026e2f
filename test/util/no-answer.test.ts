/**
 * The daemon's own outgoing clients (a forge's API, a notification webhook, the OAuth2 token
 * endpoint, the Kubernetes API of the Lease) say a server that gives no answer in the words of
 * the control-plane clients (util/reach.ts): what happened, at which URL (never its credential),
 * and what to do about the setting it came from. Real sockets on 127.0.0.1.
 */
import { KubeConfig } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { retryingFetch } from '../../src/controlplane/oauth.js';
import { LeaseLock } from '../../src/lease/k8s-lease.js';
import { Notifier } from '../../src/notify/notifier.js';
import { ApiClient } from '../../src/vcs/http.js';
import { answeringOnce, brokenEndpoint } from '../support/broken-endpoints.js';
import { cleanup } from '../support/cleanup.js';
import { VirtualClock } from '../support/virtual-clock.js';

const SECRET = 's3cr3t-not-said';
const FAST = { maxRetries: 2, minDelayMs: 1, maxDelayMs: 2 };

/** Each client's words for one call to `url`, and the setting its URL comes from. */
const CLIENTS: Record<string, { setting: string; said: (url: string) => Promise<string> }> = {
  forge: {
    setting: '--api-url',
    async said(url) {
      const api = new ApiClient({
        provider: 'GitHub',
        baseUrl: `${url}/api/v3`,
        headers: { authorization: `token ${SECRET}` },
        secrets: [SECRET],
        mapError: (status) => `HTTP ${status}`,
        retry: FAST,
      });
      cleanup.add(() => api.close());
      const call = api.call({ method: 'GET', path: 'user', operation: 'read who the token is' });
      return (await call.then(
        () => 'answered',
        (e: Error) => e.message,
      )) as string;
    },
  },
  webhook: {
    setting: 'the webhook (env POOLSYNC_NOTIFY_WEBHOOK_URL) URL',
    async said(url) {
      const lines: string[] = [];
      const log = (obj: unknown, msg?: string) => lines.push(`${msg} ${JSON.stringify(obj)}`);
      const n = new Notifier({
        destinations: [
          {
            kind: 'webhook',
            url: `${url}/hooks/${SECRET}`,
            origin: 'webhook (env POOLSYNC_NOTIFY_WEBHOOK_URL)',
          },
        ],
        logger: { info: log, warn: log, debug: log },
        clock: new VirtualClock(),
      });
      n.notify({
        event: 'failed',
        message: 'apply failed',
        commit: null,
        source: {},
        run: 1,
        at: '2026-01-01T00:00:00.000Z',
        applied: { create: 0, update: 0, replace: 0, delete: 0, side_effects: 0 },
        changed: [],
        changed_total: 0,
        waiting_for_approval: [],
        waiting_total: 0,
        errors: [],
        rendered_files: [],
      });
      await n.flush();
      return lines.join('\n');
    },
  },
  'token endpoint': {
    setting: "the token endpoint is the one flyteadmin's OAuth2 discovery names",
    async said(url) {
      const post = retryingFetch('flyteadmin', 'token request', { retry: FAST });
      const got = post(`${url}/oauth2/token`, { method: 'POST', body: `secret=${SECRET}` });
      return (await got.then(
        () => 'answered',
        (e: Error) => e.message,
      )) as string;
    },
  },
  'Kubernetes API': {
    setting: "the current cluster's server in KUBECONFIG",
    async said(url) {
      const kc = new KubeConfig();
      kc.loadFromOptions({
        clusters: [{ name: 'k', server: url, skipTLSVerify: true }],
        users: [{ name: 'u', token: SECRET }],
        contexts: [{ name: 'c', cluster: 'k', user: 'u' }],
        currentContext: 'c',
      });
      const lock = new LeaseLock(kc, { namespace: 'poolsync', name: 'leader' }, 'me', 15_000);
      const got = lock.tryAcquireOrRenew();
      return (await got.then(
        () => 'answered',
        (e: Error) => e.message,
      )) as string;
    },
  },
};

const escaped = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

describe('every outgoing client says a server that gives no answer alike', () => {
  for (const [client, { setting, said }] of Object.entries(CLIENTS)) {
    // The token endpoint's URL is discovery's, not a setting's: its advice says so instead.
    const todo = (words: string) => (client === 'token endpoint' ? escaped(setting) : words);

    it(`${client}: an HTTPS port given as http://`, async () => {
      const url = await brokenEndpoint('tlsPort');
      const text = await said(url);
      expect(text).toMatch(
        new RegExp(
          `${escaped(url)} closed the connection before any answer, as an HTTPS \\(TLS\\) port does to plain HTTP .*\\((ECONNRESET|UND_ERR_SOCKET|EPIPE)[,)].*; ${todo(`if it is an HTTPS port, use https:// in ${escaped(setting)}`)}`,
        ),
      );
      expect(text).not.toContain(SECRET);
    });

    it(`${client}: a closed port`, async () => {
      const url = await brokenEndpoint('closed');
      const text = await said(url);
      expect(text).toMatch(
        new RegExp(
          `nothing accepts connections at ${escaped(url)} \\(ECONNREFUSED[,)].*; ${todo(`is it running, and is ${escaped(setting)}`)}`,
        ),
      );
      expect(text).not.toContain(SECRET);
    });
  }

  it('forge: one that answered, then closes every connection, is said so, with no guess about TLS', async () => {
    const srv = await answeringOnce('{"login":"poolsync"}');
    const api = new ApiClient({
      provider: 'GitHub',
      baseUrl: `${srv.url}/api/v3`,
      headers: {},
      secrets: [],
      mapError: (status) => `HTTP ${status}`,
      retry: FAST,
    });
    cleanup.add(() => api.close());
    const call = () =>
      api.call({ method: 'GET', path: 'user', operation: 'read who the token is' });
    expect((await call()).json).toEqual({ login: 'poolsync' });
    const err = (await call().catch((e: unknown) => e)) as Error;
    expect(err.message).toMatch(
      new RegExp(
        `${escaped(srv.url)} closed the connection before any answer: the server, or a proxy or firewall between, cut it \\((ECONNRESET|UND_ERR_SOCKET)\\); it answered before: try again`,
      ),
    );
    expect(srv.connections()).toBe(1 + 1 + FAST.maxRetries);
  });
});
