/**
 * The daemon against a backend with manual steps (test/apply/helpers/manual-backend.ts, as
 * the union backend has for pool creation): it applies what has an API, reports each manual
 * step with its command in /status, and finishes once a person has done the manual work.
 */
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { EmbeddedControlPlane } from '../../src/controlplane/embedded/embedded.js';
import { resolveDaemonConfig } from '../../src/daemon/config.js';
import { startDaemon } from '../../src/daemon/daemon.js';
import type { DaemonStatus } from '../../src/daemon/status.js';
import { withManualSteps } from '../apply/helpers/manual-backend.js';
import { manifests } from './fixtures.js';
import { TestRepo, tempDir } from './helpers.js';

const RECONCILE_TOKEN = 'reconcile-token-0123456789';
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('daemon with manual steps', () => {
  it('applies what has an API, reports the manual steps, and converges once a person ran them', async () => {
    const repo = new TestRepo();
    const commit = repo.commit(manifests());
    const embedded = await EmbeddedControlPlane.open({ path: null });
    const state = tempDir();
    const config = await resolveDaemonConfig({
      cwd: state,
      env: { POOLSYNC_RECONCILE_TOKEN: RECONCILE_TOKEN },
      flags: {
        repo: repo.bare,
        'control-plane': `file:${state}/cp.json`,
        listen: '127.0.0.1:0',
        'state-dir': `${state}/daemon`,
        policy: 'all',
        'poll-interval': '1h',
        'drift-interval': '1h',
      },
    });
    const daemon = await startDaemon(config, {
      logger: pino({ level: 'silent' }, new Writable({ write: (_c, _e, cb) => cb() })),
      controlPlane: withManualSteps(embedded, new Set(['create_pool'])),
    });
    cleanups.push(async () => {
      await daemon.stop();
      await embedded.close();
      repo.cleanup();
    });
    await daemon.firstRun;
    const status = async () => (await (await fetch(`${daemon.url}/status`)).json()) as DaemonStatus;
    let st = await status();
    expect(st.outcome).toBe('failed');
    expect(st.lastRun?.message).toMatch(/1 manual step\(s\) wait for a person/);
    expect(st.errors).toEqual([
      {
        code: 'MANUAL_STEP',
        address: 'ClusterPool/prod',
        location: null,
        message: expect.stringContaining('run `flyte create cluster-pool prod --file prod.yaml`'),
      },
    ]);
    expect(st.appliedCommit).not.toBe(commit);
    expect(await embedded.listClusters()).toEqual([]);

    // A person runs the runbook (here: the call the command makes).
    await embedded.createPool('prod', {
      object_store_ref: { uri: 's3://acme-prod/metadata', endpoint: '' },
      secret_store: { type: 'AWS_SECRETS_MANAGER', locator: 'us-east-1' },
      image_registry: null,
    });
    const res = await fetch(`${daemon.url}/reconcile?wait=1`, {
      method: 'POST',
      headers: { authorization: `Bearer ${RECONCILE_TOKEN}` },
    });
    expect(res.status).toBe(200);
    st = await status();
    expect(st).toMatchObject({ outcome: 'applied', appliedCommit: commit, errors: [] });
    expect((await embedded.listClusters()).map((c) => c.name).sort()).toEqual(['prod-1', 'prod-2']);
  });
});
