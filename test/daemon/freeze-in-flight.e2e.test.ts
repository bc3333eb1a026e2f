/**
 * A freeze stops an apply in flight (issue 74 item 6; docs/daemon.md#freeze-and-resume): a
 * suspension made while a 1,500-step apply runs, or a sync window that closes, lets the calls
 * already sent finish and starts no further step; the run is recorded `frozen`, with what ran
 * and what did not, and `poolsync resume` plans again. Deterministic: the control plane parks
 * queue creates until the test releases them, so the suspension lands while calls are in flight,
 * whatever the machine's speed.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { freeze } from '../../src/cli/commands/daemon-client.js';
import { EmbeddedControlPlane } from '../../src/controlplane/embedded/embedded.js';
import type { ControlPlane } from '../../src/controlplane/types.js';
import { parseCapabilities } from '../../src/model/capabilities.js';
import { cleanup } from '../support/cleanup.js';
import { memoryIo } from '../support/memory-io.js';
import { ManualClock } from '../support/virtual-clock.js';
import { manifests } from './fixtures.js';
import { startTestDaemon } from './harness.js';
import { tempDir } from './helpers.js';
import { daemonClientArgs } from '../support/daemon-client-args.js';

const ADMIN = 'admin-token-freeze-in-flight-0123';
const env = { POOLSYNC_ADMIN_TOKEN: ADMIN };
const QUEUES = 1500;

function writeFolder(dir: string, files: Record<string, string>): void {
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
}

/** The fixture's repository and `n` more queues in one file: an apply of `n` create steps. */
function withQueues(n: number): Record<string, string> {
  const docs = Array.from({ length: n }, (_, i) =>
    [
      'apiVersion: poolsync/v1',
      'kind: Queue',
      'metadata:',
      `  name: q-${String(i).padStart(4, '0')}`,
      'spec:',
      '  pool: prod',
      "  clusters: ['*']",
      '  run_concurrency: 5',
      '  action_concurrency: 50',
      '',
    ].join('\n'),
  );
  return { ...manifests(), 'queues/many.yaml': docs.join('---\n') };
}

/**
 * Queue creates park while `parking.on`: each call is counted when it is sent and answered once
 * the test releases it. `sent` tells the test when the first call is parked.
 */
function parkingCreates(cp: ControlPlane) {
  let parkedOne = () => {};
  const state = {
    on: false,
    sent: 0,
    parked: [] as (() => void)[],
    firstParked: new Promise<void>((resolve) => (parkedOne = resolve)),
  };
  const queues = new Proxy(cp.queues!, {
    get: (target, key) => {
      const value: unknown = Reflect.get(target, key);
      if (key !== 'createQueue') return typeof value === 'function' ? value.bind(target) : value;
      return async (...args: Parameters<NonNullable<ControlPlane['queues']>['createQueue']>) => {
        state.sent++;
        if (state.on) {
          const released = new Promise<void>((resolve) => state.parked.push(resolve));
          parkedOne();
          await released;
        }
        return target.createQueue(...args);
      };
    },
  });
  const wrapped = new Proxy(cp, {
    get: (target, key) => {
      if (key === 'queues') return queues;
      const value: unknown = Reflect.get(target, key);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  return { cp: wrapped, state };
}

async function startWatching(
  folder: string,
  cp: ControlPlane,
  clock?: ManualClock,
  windows?: string,
) {
  const h = await startTestDaemon({
    cp,
    flags: {
      watch: folder,
      'watch-debounce': '1h',
      policy: 'all',
      ...(windows ? { 'sync-windows': windows } : {}),
    },
    env,
    logLevel: 'silent',
    deps: clock ? { clock } : {},
    state: join(folder, '..', 'state'),
  });
  cleanup.add(h.stop);
  await h.daemon.firstRun;
  return h;
}

describe(
  'a freeze stops an apply in flight between steps (issue 74 item 6)',
  { timeout: 240_000 },
  () => {
    it('poolsync suspend during a 1,500-step apply: no step starts after the answer; the record lists what ran; resume applies the rest', async () => {
      const folder = join(tempDir(), 'repo');
      writeFolder(folder, manifests());
      const embedded = await EmbeddedControlPlane.open({ path: null });
      cleanup.add(() => embedded.close());
      const { cp, state } = parkingCreates(embedded);
      const h = await startWatching(folder, cp);
      expect(h.daemon.status().lastRun!.result).toBe('applied');

      writeFolder(folder, withQueues(QUEUES));
      state.sent = 0;
      state.on = true;
      const run = h.daemon.reconcile('watch');
      await state.firstParked;

      const io = memoryIo(env);
      expect(
        await freeze(
          daemonClientArgs(h.daemon.url, { reason: 'incident 74', as: 'alice' }),
          io,
          true,
        ),
      ).toBe(0);
      // Answered: every call sent so far may finish; none may be sent from now on.
      const sentAtAnswer = state.sent;
      state.on = false;
      for (const release of state.parked.splice(0)) release();
      await run;
      expect(state.sent).toBe(sentAtAnswer);

      const s = h.daemon.status();
      const created = (await embedded.listQueues()).filter((q) => q.name.startsWith('q-')).length;
      expect(created).toBe(sentAtAnswer);
      expect(created).toBeLessThan(QUEUES);
      expect(s.lastRun).toMatchObject({
        result: 'frozen',
        applied: { create: created },
        changedTotal: created,
        stopped: { by: 'freeze', notRunTotal: QUEUES - created },
      });
      expect(s.lastRun!.message).toBe(
        `apply stopped by the freeze (applies suspended by alice since ${s.freeze.suspended!.since} (incident 74): \`poolsync resume\` lifts it): ${created} steps done, ${QUEUES - created} steps not started; \`poolsync resume\` plans again from the live state`,
      );
      expect(s.lastRun!.stopped!.notRun[0]).toMatch(/^create_queue Queue\/q-\d{4}$/);
      expect(s.lastRun!.changed.every((c) => c.action === 'create')).toBe(true);
      expect(await (await fetch(`${h.daemon.url}/metrics`)).text()).toMatch(
        /^poolsync_applies_stopped_by_freeze_total 1$/m,
      );

      // Resumed: the daemon plans again from the live state (resume asks for a run) and creates the rest.
      expect(await freeze(daemonClientArgs(h.daemon.url), memoryIo(env), false)).toBe(0);
      await h.daemon.reconcile('manual');
      expect(h.daemon.status().runs.map((r) => [r.result, r.applied.create])).toContainEqual([
        'applied',
        QUEUES - created,
      ]);
      expect((await embedded.listQueues()).filter((q) => q.name.startsWith('q-'))).toHaveLength(
        QUEUES,
      );
    });

    it('a sync window that closes while the steps run stops the next step', async () => {
      const clock = new ManualClock();
      const MONDAY_NOON = Date.UTC(2026, 10, 23, 12);
      clock.advance(MONDAY_NOON - clock.now());
      const folder = join(tempDir(), 'repo');
      writeFolder(folder, manifests());
      const embedded = await EmbeddedControlPlane.open({ path: null });
      cleanup.add(() => embedded.close());
      const { cp, state } = parkingCreates(embedded);
      const h = await startWatching(folder, cp, clock, 'deny * 12:30-13:00 UTC');

      writeFolder(folder, withQueues(200));
      state.sent = 0;
      state.on = true;
      const run = h.daemon.reconcile('watch');
      await state.firstParked;
      clock.advance(40 * 60_000); // 12:40: inside the deny window
      const sentAtClose = state.sent;
      state.on = false;
      for (const release of state.parked.splice(0)) release();
      await run;
      expect(state.sent).toBe(sentAtClose);
      const s = h.daemon.status();
      expect(s.lastRun).toMatchObject({ result: 'frozen', stopped: { by: 'freeze' } });
      expect(s.lastRun!.message).toMatch(
        /^apply stopped by the freeze \(applies inside the sync window "deny \* 12:30-13:00 UTC"\): \d+ steps done, \d+ steps not started; the sync windows let applies go again at 2026-11-23T13:00:00\.000Z, and the first run after that \(a poll, a drift run, a webhook\) plans again from the live state; `poolsync sync --override-freeze` does it now$/,
      );
    });

    it('a suspension ends a wait for in-flight work at once: the delete after it never starts', async () => {
      const folder = join(tempDir(), 'repo');
      writeFolder(folder, manifests());
      // With queue_delete a cluster's delete waits for its queue's work (wait_idle) first.
      const caps = parseCapabilities('drain,queue_delete');
      if (!caps.ok) throw new Error(caps.error);
      const embedded = await EmbeddedControlPlane.open({
        path: null,
        capabilities: caps.capabilities,
      });
      cleanup.add(() => embedded.close());
      // Told when the apply first asks whether prod-2's queue is idle (wait_idle before its delete).
      let waiting = () => {};
      const asked = new Promise<void>((resolve) => (waiting = resolve));
      const queues = new Proxy(embedded.queues, {
        get: (target, key) => {
          const value: unknown = Reflect.get(target, key);
          if (key !== 'queueMetrics')
            return typeof value === 'function' ? value.bind(target) : value;
          return (name: string) => {
            if (name === 'prod-2') waiting();
            return target.queueMetrics(name);
          };
        },
      });
      const cp = new Proxy(embedded, {
        get: (target, key) => {
          if (key === 'queues') return queues;
          const value: unknown = Reflect.get(target, key);
          return typeof value === 'function' ? value.bind(target) : value;
        },
      });
      const h = await startWatching(folder, cp);
      await embedded.setQueueActivity('prod-2', { runs_in_flight: 1, actions_in_flight: 2 });
      rmSync(join(folder, 'clusters', 'prod-2.yaml'));
      const run = h.daemon.reconcile('watch');
      await asked;
      expect(
        await freeze(daemonClientArgs(h.daemon.url, { as: 'alice' }), memoryIo(env), true),
      ).toBe(0);
      await run;
      const s = h.daemon.status();
      expect(s.lastRun).toMatchObject({ result: 'frozen', stopped: { by: 'freeze' } });
      expect(s.lastRun!.stopped!.notRun).toContain('delete_cluster Cluster/prod-2');
      // The wait the freeze ended is said as stopped, not failed (as a newer head's is).
      expect(s.lastRun!.message).toMatch(
        /^apply stopped by the freeze \(.*\): \d+ steps? done, 1 wait for in-flight work stopped, \d+ steps? not started; /,
      );
      expect(s.lastRun!.message).not.toContain('failed');
      expect((await embedded.listClusters()).map((c) => c.name).sort()).toEqual([
        'prod-1',
        'prod-2',
      ]);
    });
  },
);
