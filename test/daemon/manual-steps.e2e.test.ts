/**
 * The daemon against a backend with manual steps (test/apply/helpers/manual-backend.ts, as
 * the union backend has for pool creation): it applies what has an API, reports each manual
 * step with its command in /status, and finishes once a person has done the manual work.
 */
import { describe, expect, it } from 'vitest';
import { cleanup } from '../support/cleanup.js';
import { EmbeddedControlPlane } from '../../src/controlplane/embedded/embedded.js';
import type { DaemonStatus } from '../../src/daemon/status.js';
import { withManualSteps } from '../apply/helpers/manual-backend.js';
import { manifests } from './fixtures.js';
import { startTestDaemon } from './harness.js';
import { TestRepo } from './helpers.js';
import { poolContract } from '../support/builders.js';

const RECONCILE_TOKEN = 'reconcile-token-0123456789';
describe('daemon with manual steps', () => {
  it('applies what has an API, reports the manual steps, and converges once a person ran them', async () => {
    const repo = new TestRepo();
    const commit = repo.commit(manifests());
    const embedded = await EmbeddedControlPlane.open({ path: null });
    const { daemon, stop } = await startTestDaemon({
      repo,
      cp: withManualSteps(embedded, new Set(['create_pool'])),
      env: { POOLSYNC_RECONCILE_TOKEN: RECONCILE_TOKEN },
      logLevel: 'silent',
    });
    cleanup.add(async () => {
      await stop();
      await embedded.close();
    });
    await daemon.firstRun;
    const status = async () => (await (await fetch(`${daemon.url}/status`)).json()) as DaemonStatus;
    let st = await status();
    expect(st.outcome).toBe('failed');
    expect(st.lastRun?.message).toMatch(/1 manual step waits for a person/);
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
    await embedded.createPool('prod', poolContract('s3://acme-prod/metadata'));
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
