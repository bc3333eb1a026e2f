/**
 * A notification is a write of the leadership term whose run it reports (docs/daemon.md,
 * Notifications): a run its term's end cut sends nothing, and a message of a term still queued
 * or waiting to be tried again when the term ends is dropped and logged; the new leader reports.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { notifyingRun, type RunView } from '../../src/notify/daemon-hook.js';
import { Notifier } from '../../src/notify/notifier.js';
import type { NotifyEvent } from '../../src/notify/config.js';
import { cleanup } from '../support/cleanup.js';
import { VirtualClock } from '../support/virtual-clock.js';
import { Receiver } from './receiver.js';

const DEPOSED = 'stopped leading: the lease is held by replica-1';

function view(id: number, result: string, message: string): RunView {
  return {
    source: { repository: 'https://git.example.com/pools.git', branch: 'main' },
    lastRun: {
      id,
      trigger: ['push'],
      finishedAt: '2026-11-22T12:00:00.000Z',
      result,
      commit: '0123456789abcdef0123456789abcdef01234567',
      message,
      applied: { create: 0, update: 1, replace: 0, delete: 0, side_effects: 0 },
    },
    waitingForApproval: [],
    errors: [],
  };
}

function logSink() {
  const lines: string[] = [];
  const log = (obj: unknown, msg?: string) => lines.push(JSON.stringify(obj) + ' ' + (msg ?? ''));
  return { lines, logger: { info: log, warn: log, debug: log } };
}

describe('notifications and the leadership term', () => {
  it("a run its term's end cut sends nothing, and is not remembered: the next term's run says only its own", async () => {
    const r = await new Receiver().start();
    cleanup.add(() => r.stop());
    const notifier = new Notifier({
      destinations: [{ kind: 'webhook', url: r.url, origin: 'webhook (test)' }],
    });
    let last = view(94, 'in_sync', 'in sync');
    const run = async (next: RunView, term?: AbortController) => {
      // The term ends while the run runs (a paused leader resumed): it records a failure.
      term?.abort(new Error(DEPOSED));
      last = next;
    };
    const notified = notifyingRun(run, () => last, notifier, null);

    const first = new AbortController();
    await notified(
      first.signal,
      view(95, 'failed', `${DEPOSED}: the run ended with the term`),
      first,
    );
    await notifier.flush();
    expect(r.received).toEqual([]);

    // This replica leads again: its run applies; no `recovered` for a failure never said.
    await notified(new AbortController().signal, view(97, 'applied', 'applied: 1 updated'));
    await notifier.flush();
    expect(r.received.map((m) => [m.body.event, m.body.run])).toEqual([['applied', 97]]);
  });

  it('a new term starts from what its runs see: no `recovered` for a failure of an earlier term, a failure said again', async () => {
    const r = await new Receiver().start();
    cleanup.add(() => r.stop());
    const notifier = new Notifier({
      destinations: [{ kind: 'webhook', url: r.url, origin: 'webhook (test)' }],
    });
    let last = view(94, 'in_sync', 'in sync');
    const notified = notifyingRun(
      async (next: RunView) => {
        last = next;
      },
      () => last,
      notifier,
      null,
    );
    const unreachable = 'control plane unreachable';
    const sent = async (term: AbortController, next: RunView) => {
      await notified(term.signal, next);
      await notifier.flush();
      return r.received.splice(0).map((m) => [m.body.event, m.body.run]);
    };

    const first = new AbortController();
    expect(await sent(first, view(95, 'failed', unreachable))).toEqual([['failed', 95]]);
    first.abort(new Error(DEPOSED));
    // Another replica led meanwhile (and said its own `recovered`); this one leads again.
    const second = new AbortController();
    expect(await sent(second, view(97, 'applied', 'applied: 1 updated'))).toEqual([
      ['applied', 97],
    ]);
    expect(await sent(second, view(98, 'failed', unreachable))).toEqual([['failed', 98]]);
    expect(await sent(second, view(99, 'failed', unreachable))).toEqual([]);
    second.abort(new Error(DEPOSED));
    // The failure the previous term said is this term's first word: the other leader may have
    // said it was over.
    const third = new AbortController();
    expect(await sent(third, view(101, 'failed', unreachable))).toEqual([['failed', 101]]);
  });

  it('a message queued or waiting to be tried again when its term ends is dropped and logged; another term’s goes out', async () => {
    const term = new AbortController();
    const bodies: NotifyEvent[] = [];
    let attempts = 0;
    const server = createServer((req, res) => {
      let data = '';
      req.on('data', (c: Buffer) => (data += c.toString()));
      req.on('end', () => {
        attempts += 1;
        // The first POST went out within the term; the term ends before it is answered.
        if (attempts === 1) {
          term.abort(new Error(DEPOSED));
          return void res.writeHead(503).end('busy');
        }
        bodies.push(JSON.parse(data) as NotifyEvent);
        res.writeHead(200).end('ok');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanup.add(() => new Promise((resolve) => server.close(resolve)));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
    const { lines, logger } = logSink();
    const notifier = new Notifier({
      destinations: [{ kind: 'webhook', url, origin: 'webhook (test)' }],
      logger,
      clock: new VirtualClock(),
    });
    const event = (run: number): NotifyEvent => ({
      event: 'failed',
      message: `run ${run} failed`,
      commit: null,
      source: {},
      run,
      at: '2026-11-22T12:00:00.000Z',
      applied: { create: 0, update: 0, replace: 0, delete: 0, side_effects: 0 },
      changed: [],
      changed_total: 0,
      waiting_for_approval: [],
      waiting_total: 0,
      errors: [],
      rendered_files: [],
    });
    notifier.notify(event(95), term.signal);
    notifier.notify(event(96), term.signal);
    await notifier.flush();
    notifier.notify(event(97), new AbortController().signal);
    await notifier.flush();

    expect(attempts).toBe(2);
    expect(bodies.map((b) => b.run)).toEqual([97]);
    const dropped = lines.filter((l) => l.includes('notification dropped'));
    expect(dropped).toHaveLength(2);
    expect(dropped[0]).toContain('"run":95');
    expect(dropped[1]).toContain('"run":96');
    expect(dropped[0]).toContain(
      `"reason":"${DEPOSED}"} notification dropped: the leadership term of its run ended, the new leader reports`,
    );
  });
});
