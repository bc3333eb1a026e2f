/**
 * Notifications through an outage and a recovery, as a team sees them in Slack (issue 24): a
 * daemon on a folder applies to a control plane served over HTTP, posting to a local receiver.
 * What it applied names the objects; the control plane then goes away for several runs (each
 * failing with another URL and retry count in its message) and one `failed` is sent; when it is
 * back, one `recovered`; a change made by hand is corrected and named in `drift-corrected`.
 */
import { cpSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cleanup } from '../support/cleanup.js';
import { EmbeddedControlPlane } from '../../src/controlplane/embedded/embedded.js';
import {
  startControlPlaneServer,
  type ControlPlaneServer,
} from '../../src/controlplane/embedded/server.js';
import { Notifier } from '../../src/notify/notifier.js';
import type { NotifyEvent } from '../../src/notify/config.js';
import { startOwnTestDaemon } from '../daemon/harness.js';
import { tempDir } from '../daemon/helpers.js';
import { ManualClock } from '../support/virtual-clock.js';
import { Receiver } from './receiver.js';

describe('notifications through an outage', () => {
  it('applied (naming the objects), one failed for the whole outage, one recovered, drift-corrected naming what drifted', async () => {
    const work = tempDir();
    cleanup.add(() => rmSync(work, { recursive: true, force: true }));
    const pools = join(work, 'pools');
    cpSync('examples/config-repo', pools, { recursive: true });
    mkdirSync(join(work, 'state'));
    const store = await EmbeddedControlPlane.open({ path: null });
    let server: ControlPlaneServer | null = await startControlPlaneServer({ controlPlane: store });
    const port = Number(new URL(server.url).port);
    cleanup.add(async () => {
      await server?.close();
      await store.close();
    });
    const hook = await new Receiver().start('/hooks/poolsync');
    const slack = await new Receiver().start('/services/T1/B1/x');
    cleanup.add(() => hook.stop());
    cleanup.add(() => slack.stop());

    const notifier = new Notifier({
      destinations: [
        { kind: 'webhook', url: hook.url, origin: 'webhook (test)' },
        { kind: 'slack', url: slack.url, origin: 'slack (test)' },
      ],
      rateLimit: { max: 1000, windowMs: 60_000 },
    });
    const clock = new ManualClock();
    const d = await startOwnTestDaemon({
      state: join(work, 'state'),
      flags: {
        watch: pools,
        'control-plane': server.url,
        // An outage fails each run at once; the daemon's own backoff retries the run.
        'max-retries': '0',
      },
      logLevel: 'silent',
      // The daemon's retry waits on a clock only this test moves: the runs are the test's.
      deps: { notifier, retryBaseMs: 20, clock },
    });
    cleanup.add(d.stop);
    const { daemon } = d;
    const events = () => hook.received.map((r) => r.body as unknown as NotifyEvent);

    await daemon.firstRun;
    await notifier.flush();
    expect(events().map((e) => e.event)).toEqual(['applied']);
    const applied = events()[0]!;
    expect(applied.changed_total).toBeGreaterThan(20);
    expect(applied.changed).toHaveLength(20); // bounded; the count says the rest
    expect(applied.changed).toContain('create ClusterPool/prod');
    expect(applied.changed.some((c) => / \(side effect\)$/.test(c))).toBe(true);
    expect(applied.applied.create + applied.applied.side_effects).toBe(
      applied.changed_total - applied.applied.update,
    );
    expect(String(slack.received[0]!.body.text)).toMatch(
      new RegExp(`… and ${applied.changed_total - 10} more \\(see the daemon's /status\\)`),
    );

    // The outage: several runs fail, each message with its own URL and retry count.
    await server.close();
    server = null;
    for (let i = 0; i < 4; i++) await daemon.reconcile('manual');
    expect(daemon.status().lastRun?.result).toBe('failed');
    await notifier.flush();
    expect(events().map((e) => e.event)).toEqual(['applied', 'failed']);
    expect(events()[1]!.errors[0]).toMatch(/UNAVAILABLE|CONTROL_PLANE/);

    // Back on the same address: one `recovered`, nothing more for the runs after it.
    server = await startControlPlaneServer({ controlPlane: store, port });
    await daemon.reconcile('manual');
    await daemon.reconcile('manual');
    await notifier.flush();
    expect(events().map((e) => e.event)).toEqual(['applied', 'failed', 'recovered']);
    expect(events()[2]!.message).toMatch(/^recovered: in sync/);
    expect(String(slack.received[2]!.body.text)).toMatch(/poolsync recovered/);
    // The retry the outage scheduled was cancelled by the run that recovered: no run comes
    // unasked later (it once applied the hand change below before the drift run, reported as
    // `applied`): nothing waits on the clock any more, so no time passing can start one.
    const lastAsked = daemon.status().lastRun!.id;
    expect(clock.sleeping).toBe(0);
    expect(daemon.status().lastRun!.id).toBe(lastAsked);

    // A change by hand, found by the drift timer and corrected: named.
    const critical = await store.getQueue('critical');
    const { name: _n, cluster_managed: _m, available_clusters: _a, ...spec } = critical;
    await store.updateQueue('critical', { ...spec, run_concurrency: spec.run_concurrency + 1 });
    await daemon.reconcile('drift');
    await notifier.flush();
    const drift = events()[3]!;
    expect(drift).toMatchObject({
      event: 'drift-corrected',
      changed: ['update Queue/critical'],
      changed_total: 1,
      applied: { create: 0, update: 1, replace: 0, delete: 0, side_effects: 0 },
    });
    expect(String(slack.received[3]!.body.text)).toContain('• update Queue/critical');
    expect(events()).toHaveLength(4);
  }, 120_000);
});
