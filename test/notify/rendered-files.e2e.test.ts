/**
 * A commit whose only difference is a generated file (poolsync.yaml `render`, which no API
 * sends) is `applied` news: a daemon on a Git repository posts it to local receivers once, in
 * render/rendered-files.ts's words, and again only when another commit leaves the file behind.
 */
import { describe, expect, it } from 'vitest';
import { cleanup } from '../support/cleanup.js';
import { Notifier } from '../../src/notify/notifier.js';
import type { NotifyEvent } from '../../src/notify/config.js';
import { manifests } from '../daemon/fixtures.js';
import { startTestDaemon } from '../daemon/harness.js';
import { TestRepo } from '../daemon/helpers.js';
import { Receiver } from './receiver.js';

describe('notifications of a rendered file to deploy', () => {
  it('an in-sync run whose commit changes only a rendered file sends `applied`, once per commit', async () => {
    const repo = new TestRepo();
    const files = manifests();
    repo.commit(files, 'seed');
    const hook = await new Receiver().start('/hooks/poolsync');
    const slack = await new Receiver().start('/services/T1/B1/x');
    cleanup.add(() => hook.stop());
    cleanup.add(() => slack.stop());
    const notifier = new Notifier({
      destinations: [
        { kind: 'webhook', url: hook.url, origin: 'webhook (test)' },
        { kind: 'slack', url: slack.url, origin: 'slack (test)' },
      ],
    });
    const h = await startTestDaemon({ repo, logLevel: 'silent', deps: { notifier } });
    cleanup.add(h.stop);
    const events = async () => {
      await notifier.flush();
      return hook.received.map((r) => r.body as unknown as NotifyEvent);
    };
    await h.daemon.firstRun;
    expect((await events()).map((e) => e.event)).toEqual(['applied']);

    // The next commit adds a render target only: nothing to send to the control plane.
    const render = 'render:\n  union-cluster-pools:\n    path: deploy/pools.yaml\n';
    const commit = repo.commit({ 'poolsync.yaml': files['poolsync.yaml'] + render });
    await h.daemon.reconcile();
    expect(h.daemon.status().lastRun).toMatchObject({ result: 'in_sync', commit });
    const [, rendered] = await events();
    expect(rendered).toMatchObject({
      event: 'applied',
      commit,
      changed: [],
      changed_total: 0,
      rendered_files: [
        { kind: 'union-cluster-pools', path: 'deploy/pools.yaml', status: 'missing' },
      ],
      message:
        'in sync. Not applied: deploy/pools.yaml does not exist yet, and Union self-managed has no API for the pool → clusters mapping. ' +
        'Render the file (`poolsync render union-cluster-pools .`), then hand the file to Union (support), who configure the control plane with it.',
    });
    expect(String(slack.received[1]!.body.text)).toMatch(
      /^\*:page_facing_up: poolsync: The repository changes what it has no API for: rendered file deploy\/pools\.yaml\* commit /,
    );
    expect(String(slack.received[1]!.body.text)).not.toContain('poolsync applied');

    // The drift timer's runs of the same commit say nothing new; another commit that leaves the
    // file behind says it again.
    await h.daemon.reconcile('drift');
    await h.daemon.reconcile('manual');
    expect(await events()).toHaveLength(2);
    const next = repo.commit({ 'README.md': 'pools\n' });
    await h.daemon.reconcile();
    const third = (await events())[2];
    expect(third).toMatchObject({ event: 'applied', commit: next, changed_total: 0 });
    expect(await events()).toHaveLength(3);
  }, 120_000);
});
