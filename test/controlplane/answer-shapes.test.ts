/**
 * A server that answers 200 with JSON of another shape (a web framework's `{}`, another API):
 * the REST client names the URL and the field, never a TypeError deep in a plan. Real sockets.
 */
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it, onTestFinished } from 'vitest';
import { HttpControlPlane } from '../../src/controlplane/rest/http-client.js';
import { UserError } from '../../src/util/user-error.js';
import { runInProcess } from '../support/memory-io.js';

/** A server answering each request 200 with `answer(path)` as JSON; closed when the test ends. */
async function answering(answer: (path: string, req: IncomingMessage) => unknown) {
  const server = createServer((req, res) => {
    const body = JSON.stringify(answer(req.url!.split('?')[0]!, req));
    res.writeHead(200, { 'content-type': 'application/json' }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  onTestFinished(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function refusal(url: string, call: (cp: HttpControlPlane) => Promise<unknown>) {
  const cp = new HttpControlPlane(url);
  onTestFinished(() => cp.close());
  const err = await call(cp).then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(UserError);
  return (err as Error).message;
}

const ASKED = ': is it a poolsync control-plane server (control-plane serve)?';
const pool = {
  name: 'prod',
  contract: {
    object_store_ref: { uri: 's3://b' },
    secret_store: { type: 'KUBERNETES', locator: 'ns/s' },
  },
  member_clusters: [],
};
const lease = {
  holder: 'poolsync apply',
  acquired_at: '2026-01-01T00:00:00Z',
  renewed_at: '2026-01-01T00:00:00Z',
  expires_at: '2026-01-01T00:01:00Z',
  taken_over_from: null,
};
const page = (items: unknown[], more: object = {}) => ({ items, next_page_token: null, ...more });

describe('an answer of another shape', () => {
  it.each([
    ['a page without items', {}, 'answer.items is missing'],
    ['items that are no list', { items: {}, next_page_token: null }, 'answer.items is not a list'],
    ['no next-page token', { items: [] }, 'answer.next_page_token is missing'],
    [
      'a next-page token that is no string',
      { items: [], next_page_token: 2 },
      'answer.next_page_token is not a string',
    ],
    [
      'a shard without its count',
      page([], { shard: { index: 0 } }),
      'answer.shard.count is missing',
    ],
    ['a total that is no number', page([], { total: '3' }), 'answer.total is not a number'],
    [
      'an item without a field',
      page([pool, { ...pool, member_clusters: undefined }]),
      'answer.items[1].member_clusters is missing',
    ],
  ])('a list: %s', async (_, answer, problem) => {
    const url = await answering(() => answer);
    expect(await refusal(url, (cp) => cp.listPools())).toBe(`${url}/v1/pools: ${problem}${ASKED}`);
  });

  it('a later page of another shape: named by its list', async () => {
    const url = await answering((_, req) =>
      req.url!.includes('page_token')
        ? { items: [], next_page_token: false }
        : page([pool], { next_page_token: 'p2' }),
    );
    expect(await refusal(url, (cp) => cp.listPools())).toBe(
      `${url}/v1/pools: answer.next_page_token is not a string${ASKED}`,
    );
  });

  it('a page token given again: refused, not read without end', async () => {
    // Every page names the same next page ('a', the hand-tester's server), or a cycle of two.
    for (const next of [() => 'a', (token: string | null) => (token === 'a' ? 'b' : 'a')]) {
      let asked = 0;
      const url = await answering((_, req) => {
        asked++;
        const token = new URL(req.url!, 'http://x').searchParams.get('page_token');
        return page([pool], { next_page_token: next(token) });
      });
      expect(await refusal(url, (cp) => cp.listPools())).toBe(
        `${url}/v1/pools: answer.next_page_token was given before: its pages would be read without end${ASKED}`,
      );
      // The first page, then each shard chain (listShards at once) to its first repeat.
      expect(asked).toBeLessThan(50);
    }
  });

  it('every list checks its items: clusters, queues, assignments, deleted ones', async () => {
    const url = await answering(() => page([{ name: 'x' }]));
    const lists: [string, (cp: HttpControlPlane) => Promise<unknown>, string][] = [
      ['/v1/clusters', (cp) => cp.listClusters(), 'health'],
      ['/v1/queues', (cp) => cp.listQueues(), 'run_concurrency'],
      ['/v1/assignments', (cp) => cp.listAssignments(), 'project'],
      ['/v1/deleted/clusters', (cp) => cp.listDeletedClusters(), 'health'],
      ['/v1/deleted/pools', (cp) => cp.listDeletedPools(), 'contract'],
      ['/v1/deleted/queues', (cp) => cp.listDeletedQueues(), 'run_concurrency'],
    ];
    for (const [path, call, field] of lists)
      expect(await refusal(url, call)).toBe(
        `${url}${path}: answer.items[0].${field} is missing${ASKED}`,
      );
  });

  it('single objects: a pool, cluster, queue, metrics, capabilities, a cluster moved', async () => {
    const url = await answering(() => ({ name: 'x', drain: 'yes' }));
    const calls: [string, (cp: HttpControlPlane) => Promise<unknown>, string][] = [
      ['/v1/pools/x', (cp) => cp.getPool('x'), 'answer.contract is missing'],
      ['/v1/clusters/x', (cp) => cp.getCluster('x'), 'answer.health is missing'],
      ['/v1/queues/x', (cp) => cp.getQueue('x'), 'answer.run_concurrency is missing'],
      ['/v1/queues/x/metrics', (cp) => cp.queueMetrics('x'), 'answer.runs_in_flight is missing'],
      ['/v1/capabilities', (cp) => cp.capabilities(), 'answer.drain is not true or false'],
      ['/v1/clusters/x/move', (cp) => cp.moveCluster('x', 'p'), 'answer.health is missing'],
    ];
    for (const [path, call, problem] of calls)
      expect(await refusal(url, call)).toBe(`${url}${path}: ${problem}${ASKED}`);
  });

  it('the apply lock: its holder and lease, taken or read', async () => {
    const url = await answering((_, req) =>
      req.method === 'PUT'
        ? { ...lease, taken_over_from: undefined }
        : { lock: { ...lease, holder: 7 } },
    );
    expect(
      await refusal(url, (cp) =>
        cp.applyLock!.acquireApplyLock({ id: 'a'.repeat(16), holder: 'h', ttl_seconds: 60 }),
      ),
    ).toBe(`${url}/v1/apply-lock: answer.taken_over_from is missing${ASKED}`);
    expect(await refusal(url, (cp) => cp.applyLock!.getApplyLock())).toBe(
      `${url}/v1/apply-lock: answer.lock.holder is not a string${ASKED}`,
    );
  });

  it('the inventory: the resource, and the record it holds', async () => {
    const empty = await answering(() => ({}));
    expect(await refusal(empty, (cp) => cp.inventory!.readInventory())).toBe(
      `${empty}/v1/inventory: answer.inventory is missing${ASKED}`,
    );
    const url = await answering(() => ({ inventory: { format: 3, addresses: 'all' } }));
    expect(await refusal(url, (cp) => cp.inventory!.readInventory())).toBe(
      `${url}/v1/inventory: answer.inventory: addresses must be a list of Kind/name addresses${ASKED}`,
    );
  });

  it('plan: one line naming the URL, exit 1, no internal error nor stack', async () => {
    const url = await answering(() => ({}));
    const r = await runInProcess(['plan', 'examples/config-repo', '--control-plane', url], {
      ...process.env,
      NO_COLOR: '',
      POOLSYNC_TOKEN: '',
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      new RegExp(
        `^Error: ${url}/v1/\\S+: answer\\.\\S+ is missing: is it a poolsync control-plane server \\(control-plane serve\\)\\?\\n$`,
      ),
    );
  });
});
