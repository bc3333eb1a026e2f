/**
 * Critical path first (issue 79 item 3): a live read sweeps its lists page after page (each
 * page waits for the one before, so they are the plan's critical path) while it reads the
 * default-queue settings by the hundred. The settings are bulk reads (util/pacer.ts's `bulk`
 * lane): they leave slots free, and a list's next page never queues behind them. Against the
 * Union stand-in over real sockets; the settings answers are held until the list sweeps are
 * done, unless every slot is taken by a held settings read (the lists then stuck behind them,
 * as before): the order decides, not the time.
 */
import type { Interceptor } from '@connectrpc/connect';
import { afterEach, expect, it } from 'vitest';
import { readLiveState } from '../../../src/controlplane/types.js';
import { reserveOf } from '../../../src/util/pacer.js';
import { openUnion, setDefaultQueue, startUnionServer, type UnionServer } from './helpers.js';

let s: UnionServer | undefined;
afterEach(async () => {
  await s?.close();
  s = undefined;
});

const CONNECTIONS = 16;
const PROJECTS = Array.from({ length: 20 }, (_, i) => `p${i}`);
const DOMAINS = ['development', 'staging', 'production'];

/**
 * Holds each GetSettingsForEdit until `open()`: once the live ListQueues sweep has its last
 * page, or once `CONNECTIONS` settings reads are held (nothing else can be in flight then).
 */
function settingsGate() {
  const held: (() => void)[] = [];
  let openedBy: 'lists' | 'settings' | null = null;
  let mostHeld = 0;
  const order: string[] = [];
  const open = (by: 'lists' | 'settings') => {
    openedBy ??= by;
    for (const release of held.splice(0)) release();
  };
  const interceptor: Interceptor = (next) => async (req) => {
    const name = req.method.name;
    order.push(name);
    if (name === 'GetSettingsForEdit' && openedBy === null) {
      const waiting = new Promise<void>((r) => held.push(r));
      mostHeld = Math.max(mostHeld, held.length);
      if (held.length === CONNECTIONS) open('settings');
      await waiting;
    }
    const res = await next(req);
    const message = res.message as { token?: string };
    const request = req.message as { request?: { filters?: unknown[] } };
    const live = (request.request?.filters ?? []).length === 0;
    if (name === 'ListQueues' && live && !res.stream && message.token === '') open('lists');
    return res;
  };
  return { interceptor, order, state: () => ({ openedBy, mostHeld }) };
}

it('sends every list page before the settings reads held in flight: they leave the reserve free (issue 79 item 3)', async () => {
  const gate = settingsGate();
  s = await startUnionServer({ interceptors: [gate.interceptor], projects: PROJECTS });
  // `default` and seven queues in pages of 2: the live ListQueues sweep is 4 pages, in a row.
  for (let i = 0; i < 7; i++)
    await s.embedded.createQueue({ name: `q${i}`, run_concurrency: 10, action_concurrency: 100 });
  for (const project of PROJECTS) setDefaultQueue(s, project, 'production', 'q1');
  const cp = await openUnion(s, 'connect', undefined, { pageSize: 2, connections: CONNECTIONS });
  try {
    const pairs = PROJECTS.flatMap((project) => DOMAINS.map((domain) => ({ project, domain })));
    const live = await readLiveState(cp, pairs);

    // The lists finished while the settings reads waited, at most 16 − 2 of them in flight.
    expect(gate.state().openedBy).toBe('lists');
    expect(gate.state().mostHeld).toBeLessThanOrEqual(CONNECTIONS - reserveOf(CONNECTIONS));
    const pages = gate.order.filter((n) => n === 'ListQueues');
    expect(pages.length).toBe(5); // 4 live pages, 1 of soft-deleted queues
    expect(gate.order.filter((n) => n === 'GetSettingsForEdit')).toHaveLength(pairs.length);
    // And the read is whole: every queue, every setting.
    expect(live.queues.map((q) => q.name)).toEqual([
      'default',
      'q0',
      'q1',
      'q2',
      'q3',
      'q4',
      'q5',
      'q6',
    ]);
    expect(live.default_queues).toEqual(
      [...PROJECTS].sort().map((project) => ({ project, domain: 'production', queue: 'q1' })),
    );
  } finally {
    await cp.close();
  }
});
