/**
 * src/notify against real HTTP receivers on 127.0.0.1: Slack and JSON payloads, retries with
 * backoff (5xx, 429 Retry-After), no retry on 4xx, the rate limit, repeats said once, URLs
 * never logged, a POST bounded as a whole (a trickled answer) and shutdown's cut, and the
 * configuration from files and the environment.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { resolveNotifyConfig } from '../../src/notify/config.js';
import { eventForRun, RunNotifications } from '../../src/notify/daemon-hook.js';
import { Notifier, slackMessage } from '../../src/notify/notifier.js';
import type { NotifyEvent } from '../../src/notify/config.js';
import { DEFAULT_LIMITS } from '../../src/util/transport-limits.js';
import { startHostileServer, startRawServer, type Hostility } from '../support/hostile-server.js';
import { cleanup } from '../support/cleanup.js';
import { until } from '../support/until.js';
import { VirtualClock } from '../support/virtual-clock.js';
import { Receiver } from './receiver.js';

const receivers: Receiver[] = [];
afterEach(async () => {
  for (const r of receivers.splice(0)) await r.stop();
});
async function receiver(): Promise<Receiver> {
  const r = await new Receiver().start();
  receivers.push(r);
  return r;
}

async function hostile(mode: Hostility, status?: number) {
  const server = await startHostileServer({ mode, status });
  cleanup.add(() => server.close());
  return server;
}

function event(over: Partial<NotifyEvent> = {}): NotifyEvent {
  return {
    event: 'applied',
    message: 'applied: 1 created, 2 updated',
    commit: '0123456789abcdef0123',
    source: { repository: 'https://git.example.com/pools.git', branch: 'main' },
    run: 3,
    at: '2026-11-22T12:00:00.000Z',
    applied: { create: 1, update: 2, replace: 0, delete: 0, side_effects: 0 },
    changed: ['create Cluster/a', 'update Queue/b', 'update Queue/c'],
    changed_total: 3,
    waiting_for_approval: [],
    waiting_total: 0,
    errors: [],
    rendered_files: [],
    ...over,
  };
}

function logSink() {
  const lines: string[] = [];
  const log = (obj: unknown, msg?: string) => lines.push(JSON.stringify(obj) + ' ' + (msg ?? ''));
  return { lines, logger: { info: log, warn: log, debug: log } };
}

describe('Notifier', () => {
  it('posts a Slack message and the JSON event', async () => {
    const [slack, hook] = [await receiver(), await receiver()];
    const n = new Notifier({
      destinations: [
        { kind: 'slack', url: slack.url, origin: 'slack (test)' },
        { kind: 'webhook', url: hook.url, origin: 'webhook (test)' },
      ],
    });
    n.notify(event());
    await n.flush();
    expect(slack.received).toHaveLength(1);
    const text = String(slack.received[0]!.body.text);
    expect(text).toMatch(/^\*:white_check_mark: poolsync applied\* commit `0123456789ab`/);
    expect(text).toContain('applied: 1 created, 2 updated');
    expect(slack.received[0]!.headers['content-type']).toBe('application/json');
    expect(hook.received[0]!.body).toMatchObject({
      event: 'applied',
      commit: '0123456789abcdef0123',
      applied: { create: 1, update: 2 },
      suppressed: 0,
    });
  });

  it('retries 5xx and 429 with backoff, gives up on 4xx, never logs the URL', async () => {
    const r = await receiver();
    r.script = [{ status: 503 }, { status: 429, headers: { 'retry-after': '0' } }];
    const { lines, logger } = logSink();
    const n = new Notifier({
      destinations: [{ kind: 'slack', url: r.url, origin: 'slack (file /run/secrets/slack)' }],
      logger,
      clock: new VirtualClock(),
    });
    n.notify(event());
    await n.flush();
    expect(r.attempts).toBe(3);
    expect(r.received).toHaveLength(1);

    r.script = [{ status: 404 }];
    n.notify(event({ event: 'failed', message: 'apply failed' }));
    await n.flush();
    expect(r.attempts).toBe(4); // no retry of a 404: the URL is wrong
    expect(lines.join('\n')).toMatch(/notification not delivered/);
    expect(lines.join('\n')).toMatch(/HTTP 404/);
    expect(lines.join('\n')).toContain('slack (file /run/secrets/slack)');
    expect(lines.join('\n')).not.toContain('s3cr3t');
    expect(lines.join('\n')).not.toContain('127.0.0.1');
  });

  it('gives up after the attempts on an unreachable receiver, without the URL in the log', async () => {
    const r = await receiver();
    const url = r.url;
    await r.stop();
    receivers.splice(receivers.indexOf(r), 1);
    const { lines, logger } = logSink();
    const n = new Notifier({
      destinations: [{ kind: 'webhook', url, origin: 'webhook (env POOLSYNC_NOTIFY_WEBHOOK_URL)' }],
      logger,
      clock: new VirtualClock(),
    });
    n.notify(event());
    await n.flush();
    const log = lines.join('\n');
    expect(log).toMatch(/"attempts":5/);
    expect(log).toMatch(/ECONNREFUSED/);
    expect(log).not.toContain(url);
    expect(log).not.toContain('s3cr3t');
  });

  it('rate-limits per destination and says how many were dropped', async () => {
    const r = await receiver();
    let now = 0;
    const n = new Notifier({
      destinations: [{ kind: 'slack', url: r.url, origin: 'slack' }],
      rateLimit: { max: 2, windowMs: 60_000 },
      clock: { now: () => now, sleep: async () => {} },
    });
    for (let i = 0; i < 5; i++) n.notify(event({ run: i, message: `applied run ${i}` }));
    await n.flush();
    expect(r.received).toHaveLength(2);
    now = 61_000;
    n.notify(event({ message: 'later' }));
    await n.flush();
    expect(r.received).toHaveLength(3);
    expect(String(r.received[2]!.body.text)).toContain('3 earlier notifications were dropped');
  });

  it('filters events', async () => {
    const r = await receiver();
    const n = new Notifier({
      destinations: [{ kind: 'webhook', url: r.url, origin: 'webhook' }],
      events: ['failed', 'held-for-approval'],
    });
    n.notify(event({ event: 'failed', message: 'V3 error', errors: ['a.yaml:1:1: V3: x'] }));
    n.notify(event()); // applied: not subscribed
    n.notify(
      event({
        event: 'held-for-approval',
        message: 'held',
        waiting_for_approval: ['delete Cluster/x'],
        waiting_total: 1,
      }),
    );
    await n.flush();
    expect(r.received.map((x) => x.body.event)).toEqual(['failed', 'held-for-approval']);
  });

  it('a POST ends at its call timeout, a trickled answer included, and is not tried again', async () => {
    // 200, then a byte every 100 ms: never idle long enough for a read timeout.
    const trickle = await hostile('trickle');
    // The request read, nothing answered.
    const silent = await hostile('silent');
    const { lines, logger } = logSink();
    const n = new Notifier({
      destinations: [
        { kind: 'slack', url: `${trickle.url}/services/s3cr3t`, origin: 'slack (test)' },
        { kind: 'webhook', url: `${silent.url}/hook?key=s3cr3t`, origin: 'webhook (test)' },
      ],
      logger,
      clock: new VirtualClock(),
      limits: { ...DEFAULT_LIMITS, callTimeoutMs: 300 },
    });
    n.notify(event());
    await n.flush();
    expect([trickle.counts.hostile, silent.counts.hostile]).toEqual([1, 1]);
    const log = lines.join('\n');
    expect(log).toMatch(
      /"destination":"slack \(test\)".*notification sent, but its answer was cut off/,
    );
    expect(log).toMatch(
      /"destination":"webhook \(test\)".*"attempts":1.*notification not delivered/,
    );
    for (const server of [trickle, silent])
      expect(log).toContain(
        `"error":"${server.url}: no complete answer within 300ms, the deadline of one call with its retries (--call-timeout, env POOLSYNC_CALL_TIMEOUT)`,
      );
    expect(log).not.toContain('s3cr3t');
  });

  // Said `could not be reached … no answer (UND_ERR_HEADERS_OVERFLOW)`, and tried 5 times.
  it('a refusal whose answer is cut at the call timeout is logged with its status', async () => {
    const refusing = await hostile('trickle', 503);
    const { lines, logger } = logSink();
    const n = new Notifier({
      destinations: [
        { kind: 'webhook', url: `${refusing.url}/hook?key=s3cr3t`, origin: 'webhook (test)' },
      ],
      logger,
      clock: new VirtualClock(),
      limits: { ...DEFAULT_LIMITS, callTimeoutMs: 300 },
    });
    n.notify(event());
    await n.flush();
    expect(refusing.counts.hostile).toBe(1);
    const log = lines.join('\n');
    expect(log).toMatch(/"attempts":1,"error":"HTTP 503, its answer cut off: http:.*not delivered/);
    expect(log).toContain(`${refusing.url}: no complete answer within 300ms`);
    expect(log).not.toContain('s3cr3t');
  });

  it('an answer whose headers are over 16 KiB is said as such, and not tried again', async () => {
    const huge = await startRawServer({ mode: 'huge-headers' });
    cleanup.add(huge.close);
    const { lines, logger } = logSink();
    const n = new Notifier({
      destinations: [
        { kind: 'webhook', url: `${huge.url}/hook?key=s3cr3t`, origin: 'webhook (test)' },
      ],
      logger,
      clock: new VirtualClock(),
    });
    n.notify(event());
    await n.flush();
    await n.close();
    expect(huge.counts.hostile).toBe(1);
    const log = lines.join('\n');
    expect(log).toMatch(
      /"destination":"webhook \(test\)".*"attempts":1.*notification not delivered/,
    );
    expect(log).toContain(
      `"error":"${huge.url}: the server answered with headers larger than 16 KiB, the most poolsync accepts (UND_ERR_HEADERS_OVERFLOW): a proxy or sign-in gateway between may add them; if they are the server's own, raise the bound with NODE_OPTIONS=--max-http-header-size=BYTES"`,
    );
    expect(log).not.toContain('s3cr3t');
  });

  it('close gives messages in flight their grace, then cuts them off; later ones are not sent', async () => {
    const silent = await hostile('silent');
    const r = await receiver();
    const { lines, logger } = logSink();
    const n = new Notifier({
      destinations: [
        { kind: 'webhook', url: `${silent.url}/hook`, origin: 'webhook (test)' },
        { kind: 'slack', url: r.url, origin: 'slack (test)' },
      ],
      logger,
    });
    n.notify(event());
    n.notify(event({ event: 'failed', message: 'queued behind the first' }));
    await until('the receiver to read the first', () => silent.counts.hostile === 1);
    await n.close(200);
    n.notify(event({ message: 'after the shutdown' }));
    await n.flush();
    const cut = lines.filter((l) => l.includes('notification not delivered'));
    expect(cut).toHaveLength(2);
    for (const line of cut)
      expect(line).toContain(
        '"error":"cut off by the shutdown (200ms given to messages in flight)"',
      );
    // The other destination's messages went out, and nothing after close.
    expect(r.received.map((x) => x.body.text)).toHaveLength(2);
    expect(silent.counts.hostile).toBe(1);
  });

  it('Slack lists the objects changed, at most 10, and counts the rest', () => {
    const changed = Array.from({ length: 25 }, (_, i) => `create Cluster/c${i}`);
    const text = slackMessage(event({ changed: changed.slice(0, 20), changed_total: 25 })).text;
    expect(text).toContain('• create Cluster/c0\n');
    expect(text).toContain('• create Cluster/c9\n');
    expect(text).not.toContain('c10');
    expect(text).toMatch(/… and 15 more \(see the daemon's \/status\)$/);
  });
});

describe('eventForRun', () => {
  const base = {
    source: { watch: '/pools' },
    waitingForApproval: [{ action: 'delete', address: 'Cluster/old' }],
    errors: [{ code: 'V3', message: 'bad', location: 'a.yaml:2:3', address: null }],
  };
  const run = (result: string, trigger: string[] = ['poll']) => ({
    ...base,
    lastRun: {
      id: 1,
      trigger,
      finishedAt: 'now',
      result,
      commit: 'abc',
      message: result,
      applied: { create: 0, update: 0, replace: 0, delete: 0, side_effects: 0 },
    },
  });
  it('maps run results to events', () => {
    expect(eventForRun(run('applied'))?.event).toBe('applied');
    expect(eventForRun(run('applied', ['drift']))?.event).toBe('drift-corrected');
    expect(eventForRun(run('failed'))).toMatchObject({
      event: 'failed',
      errors: ['a.yaml:2:3: V3: bad'],
    });
    expect(eventForRun(run('invalid'))?.event).toBe('failed');
    expect(eventForRun(run('waiting_for_approval'))).toMatchObject({
      event: 'held-for-approval',
      waiting_for_approval: ['delete Cluster/old'],
    });
    for (const quiet of ['in_sync', 'planned', 'unchanged'])
      expect(eventForRun(run(quiet))).toBeNull();
    // In sync, but a generated file no API sends differs: a person has it to deploy.
    const files = [
      { kind: 'union-cluster-pools' as const, path: 'p.yaml', status: 'missing' as const },
    ];
    const inSync = run('in_sync', ['drift']);
    expect(
      eventForRun({ ...inSync, lastRun: { ...inSync.lastRun, renderedFiles: files } }),
    ).toMatchObject({ event: 'applied', rendered_files: files, changed_total: 0 });
  });
});

describe('RunNotifications: repeats said once by identity, recovered once', () => {
  const view = (
    result: string,
    message: string,
    errors: {
      code: string;
      message: string;
      location: string | null;
      address: string | null;
    }[] = [],
    waiting: { action: string; address: string }[] = [],
  ) => ({
    source: { watch: '/pools' },
    waitingForApproval: waiting,
    errors,
    lastRun: {
      id: 1,
      trigger: ['retry'],
      finishedAt: 'now',
      result,
      commit: 'abc',
      message,
      applied: { create: 0, update: 0, replace: 0, delete: 0, side_effects: 0 },
    },
  });
  const down = (attempt: number, path: string) =>
    view(
      'failed',
      `cannot open the control plane: GET http://cp:8080${path}: unreachable; retrying in ${attempt * 5}s (transient failure ${attempt} in a row)`,
      [
        {
          code: 'UNAVAILABLE',
          message: `GET http://cp:8080${path} (ECONNREFUSED, ${attempt} attempts)`,
          location: null,
          address: null,
        },
      ],
    );

  it('an outage is one failure whatever the retry count and URL say; recovery is said once', () => {
    const n = new RunNotifications();
    const kinds = (v: ReturnType<typeof view>) => n.next(v).map((e) => e.event);
    expect(kinds(down(1, '/v1/pools'))).toEqual(['failed']);
    expect(kinds(down(2, '/v1/queues'))).toEqual([]);
    expect(kinds(down(3, '/v1/clusters'))).toEqual([]);
    expect(kinds(view('unchanged', 'no new commit'))).toEqual([]);
    const back = n.next(view('in_sync', 'in sync'));
    expect(back.map((e) => e.event)).toEqual(['recovered']);
    expect(back[0]!.message).toBe('recovered: in sync');
    expect(kinds(view('in_sync', 'in sync'))).toEqual([]);
    // Another failure (another code) is news; so is the first after a recovery.
    expect(kinds(down(1, '/v1/pools'))).toEqual(['failed']);
    expect(
      kinds(
        view('invalid', 'invalid', [
          { code: 'V3', message: 'x', location: 'a.yaml:1:1', address: null },
        ]),
      ),
    ).toEqual(['failed']);
    expect(kinds(view('applied', 'applied: 1 to create'))).toEqual(['recovered', 'applied']);
    expect(kinds(view('applied', 'applied: 1 to create'))).toEqual(['applied']);
  });

  it('a hold is said once while the same changes wait', () => {
    const n = new RunNotifications();
    const held = [{ action: 'delete', address: 'Cluster/old' }];
    const kinds = (v: ReturnType<typeof view>) => n.next(v).map((e) => e.event);
    expect(kinds(view('waiting_for_approval', 'held 1', [], held))).toEqual(['held-for-approval']);
    expect(kinds(view('waiting_for_approval', 'held 1 (run 2)', [], held))).toEqual([]);
    expect(
      kinds(
        view(
          'waiting_for_approval',
          'held 2',
          [],
          [...held, { action: 'delete', address: 'Cluster/b' }],
        ),
      ),
    ).toEqual(['held-for-approval']);
    expect(kinds(view('in_sync', 'in sync'))).toEqual([]);
    expect(kinds(view('waiting_for_approval', 'held 1', [], held))).toEqual(['held-for-approval']);
  });
  it('rendered files are said once per commit, by the first event of a run that has them', () => {
    const n = new RunNotifications();
    const files = [
      { kind: 'flyte-core-values' as const, path: 'v.yaml', status: 'changed' as const },
    ];
    const withFiles = (result: string, commit: string, renderedFiles = files) => {
      const v = view(result, result);
      return { ...v, lastRun: { ...v.lastRun, commit, renderedFiles } };
    };
    const kinds = (v: ReturnType<typeof withFiles>) => n.next(v).map((e) => e.event);
    // A plan only (policy none) sent nothing: the in-sync run after it says the files.
    expect(kinds(withFiles('planned', 'c1'))).toEqual([]);
    expect(kinds(withFiles('in_sync', 'c1'))).toEqual(['applied']);
    expect(kinds(withFiles('in_sync', 'c1'))).toEqual([]);
    // An applied run's event said them: its commit's in-sync runs do not.
    expect(kinds(withFiles('applied', 'c2'))).toEqual(['applied']);
    expect(kinds(withFiles('in_sync', 'c2'))).toEqual([]);
    expect(kinds(withFiles('in_sync', 'c2', []))).toEqual([]);
    expect(kinds(withFiles('in_sync', 'c2'))).toEqual(['applied']);
  });

  it('an invalid head whose drift run put objects back: failed once, drift-corrected each time', () => {
    const n = new RunNotifications();
    const errors = [{ code: 'V3', message: 'x', location: 'a.yaml:1:1', address: null }];
    const corrected = (id: number, result = 'invalid') => {
      const v = view(
        result,
        '1 validation error; drift checked against commit def: applied',
        errors,
      );
      return {
        ...v,
        lastRun: {
          ...v.lastRun,
          id,
          trigger: ['drift'],
          applied: { ...v.lastRun.applied, update: 1 },
          changed: [{ address: 'Queue/batch', action: 'update', sideEffect: false }],
          changedTotal: 1,
          checkedAgainst: 'def',
        },
      };
    };
    expect(n.next(view('invalid', 'invalid', errors)).map((e) => e.event)).toEqual(['failed']);
    const first = n.next(corrected(2));
    expect(first).toEqual([
      expect.objectContaining({
        event: 'drift-corrected',
        run: 2,
        changed: ['update Queue/batch'],
        changed_total: 1,
        errors: [],
      }),
    ]);
    expect(n.next(corrected(3)).map((e) => e.event)).toEqual(['drift-corrected']);
    expect(n.next(view('invalid', 'invalid', errors))).toEqual([]);
    // A head whose plan failed (prevent-destroy): the same.
    const events = (v: ReturnType<typeof corrected>) => n.next(v).map((e) => e.event);
    expect(events(corrected(4, 'failed'))).toEqual(['failed', 'drift-corrected']);
    expect(events(corrected(5, 'failed'))).toEqual(['drift-corrected']);
  });
});

describe('resolveNotifyConfig', () => {
  it('reads URLs from files and env, refuses a bad one without showing it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'poolsync-notify-'));
    try {
      writeFileSync(join(dir, 'slack'), 'https://hooks.slack.example/services/T/B/s3cr3t\n');
      const c = await resolveNotifyConfig(
        { 'notify-slack-url-file': join(dir, 'slack'), 'notify-on': 'failed, applied' },
        { POOLSYNC_NOTIFY_WEBHOOK_URL: 'https://hooks.example.com/poolsync?key=s3cr3t' },
      );
      expect(c.destinations.map((d) => [d.kind, d.origin])).toEqual([
        ['slack', `slack (file ${join(dir, 'slack')})`],
        ['webhook', 'webhook (env POOLSYNC_NOTIFY_WEBHOOK_URL)'],
      ]);
      expect(c.destinations[0]!.url).toBe('https://hooks.slack.example/services/T/B/s3cr3t');
      expect(c.events).toEqual(['failed', 'applied']);
      expect(c.maxPerMinute).toBe(10);

      writeFileSync(join(dir, 'bad'), 'hooks.slack.example/s3cr3t');
      const bad = resolveNotifyConfig({ 'notify-webhook-url-file': join(dir, 'bad') }, {});
      await expect(bad).rejects.toThrow(/not an http\(s\) URL/);
      await expect(bad).rejects.not.toThrow(/s3cr3t/);
      await expect(resolveNotifyConfig({ 'notify-on': 'synced' }, {})).rejects.toThrow(
        /unknown event "synced"/,
      );
      expect((await resolveNotifyConfig({}, {})).destinations).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
