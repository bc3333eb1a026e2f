/**
 * The status server's own answers (src/daemon/http.ts), over a real socket: HEAD wherever GET
 * is answered and an Allow header that lists what the endpoint takes.
 */
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { startStatusServer, type HttpHandlers } from '../../src/daemon/http.js';
import { DaemonMetrics } from '../../src/daemon/metrics.js';
import { initialStatus } from '../../src/daemon/status.js';
import { cleanup } from '../support/cleanup.js';

/** A leader's status server whose handlers do nothing. */
async function statusServer(): Promise<string> {
  const h: HttpHandlers = {
    status: () => initialStatus({ kind: 'watch' }, 'safe'),
    ready: () => true,
    metrics: new DaemonMetrics({ processMetrics: false }),
    requestReconcile: async () => {},
    githubWebhookSecret: 'github-secret-0123456789',
    gitlabWebhookToken: null,
    reconcileToken: null,
    adminToken: null,
    branch: 'main',
    approve: () => ({ ok: false, reason: 'nothing held' }),
    freeze: async () => ({ ok: false, reason: 'not here' }),
    follower: () => null,
    logger: pino({ level: 'silent' }),
  };
  const server = await startStatusServer({ host: '127.0.0.1', port: 0 }, h);
  cleanup.add(() => server.close());
  return server.url;
}

describe('the status server', () => {
  it('answers HEAD wherever it answers GET, and a 405 names the methods the endpoint takes', async () => {
    const url = await statusServer();
    for (const path of ['/healthz', '/readyz', '/status', '/metrics']) {
      const get = await fetch(`${url}${path}`);
      const head = await fetch(`${url}${path}`, { method: 'HEAD' });
      expect([path, head.status, await head.text()]).toEqual([path, get.status, '']);
      expect(head.headers.get('content-type')).toBe(get.headers.get('content-type'));
      const put = await fetch(`${url}${path}`, { method: 'PUT' });
      expect([path, put.status, put.headers.get('allow')]).toEqual([path, 405, 'GET, HEAD']);
    }
    const get = await fetch(`${url}/reconcile`);
    expect([get.status, get.headers.get('allow')]).toEqual([405, 'POST']);
  });
});
