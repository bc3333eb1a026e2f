/**
 * `poolsync_drift_objects` is the drift a run left uncorrected (docs/daemon.md, Metrics): it was
 * set by the plan and stayed at 1 after the drift tick put the change back, until the next
 * in-sync run, so an alert on > 0 fired for a whole --drift-interval after a self-heal. In
 * process: a real Git repository, the daemon's HTTP server, the control plane over its REST API,
 * changed by another client.
 */
import { describe, expect, it } from 'vitest';
import { HttpControlPlane } from '../../src/controlplane/rest/http-client.js';
import type { DaemonStatus } from '../../src/daemon/status.js';
import { cleanup } from '../support/cleanup.js';
import { servedControlPlane } from '../support/served-control-plane.js';
import { manifests } from './fixtures.js';
import { startOwnTestDaemon } from './harness.js';
import { TestRepo } from './helpers.js';

const ASSIGNMENT = { project: 'flytesnacks', domain: 'production', workflow: null };

/** manifests() with a second pool, and flytesnacks/production assigned to `prod`. */
const files = {
  ...manifests(),
  'pools/dev.yaml': [
    'apiVersion: poolsync/v1',
    'kind: ClusterPool',
    'metadata:',
    '  name: dev',
    'spec:',
    '  object_store_ref:',
    '    uri: s3://acme-dev/metadata',
    '  secret_store:',
    '    type: AWS_SECRETS_MANAGER',
    '    locator: us-east-1',
    '',
  ].join('\n'),
  'assignments/flytesnacks.yaml': [
    'apiVersion: poolsync/v1',
    'kind: PoolAssignment',
    'metadata:',
    '  name: flytesnacks-production',
    'spec:',
    '  project: flytesnacks',
    '  domain: production',
    '  pool: prod',
    '',
  ].join('\n'),
};

async function metric(url: string, name: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return Number(new RegExp(`^${name} (\\d+)$`, 'm').exec(text)?.[1]);
}

describe('poolsync_drift_objects', () => {
  it('is 0 once the drift tick corrected the drift another client made', async () => {
    const served = await servedControlPlane();
    const repo = new TestRepo();
    repo.commit(files);
    const h = await startOwnTestDaemon({
      repo,
      flags: { 'control-plane': served.url },
      logLevel: 'silent',
    });
    cleanup.add(h.stop);
    await h.daemon.firstRun;
    const other = new HttpControlPlane(served.url);
    cleanup.add(() => other.close());
    expect((await other.listAssignments()).find((a) => a.project === 'flytesnacks')?.pool).toBe(
      'prod',
    );

    await other.setAssignment({ ...ASSIGNMENT, pool: 'dev' });
    await h.daemon.reconcile('drift');

    const status = (await (await fetch(`${h.daemon.url}/status`)).json()) as DaemonStatus;
    expect(status.lastDrift?.changes).toEqual([
      expect.objectContaining({
        address: 'PoolAssignment/flytesnacks/production',
        corrected: true,
      }),
    ]);
    expect((await other.listAssignments()).find((a) => a.project === 'flytesnacks')?.pool).toBe(
      'prod',
    );
    expect(await metric(h.daemon.url, 'poolsync_drift_detected_total')).toBe(1);
    expect(await metric(h.daemon.url, 'poolsync_drift_objects')).toBe(0);
  });
});
