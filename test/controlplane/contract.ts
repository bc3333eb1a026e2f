/**
 * The contract of domain.md as one suite, run against every ControlPlane implementation
 * (the embedded one in-process, and the HTTP client against a real server). Test names cite
 * the rule they hold the implementation to.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { PoolContract, QueueSpec } from '../../src/model/common.js';
import { BASELINE_CAPABILITIES, QUEUE_DEFAULTS } from '../../src/model/common.js';
import { ControlPlaneError } from '../../src/controlplane/errors.js';
import { readLiveState } from '../../src/controlplane/types.js';
import type { CoreCalls } from './core-calls.js';
import type { Simulator } from './sim-http.js';
import { liveCluster, liveQueue, poolContract, queueSpec } from '../support/builders.js';

export interface Subject {
  cp: CoreCalls;
  sim: Simulator;
  /** The default pool's contract the subject was provisioned with (P1). */
  defaultContract: PoolContract;
  close(): Promise<void>;
}

export const PROD: PoolContract = poolContract('s3://prod-bucket/meta', {
  image_registry: { locator: '123456789012.dkr.ecr.us-east-1.amazonaws.com/union' },
});

export const STAGING: PoolContract = poolContract('gs://staging-bucket', {
  secret_store: { type: 'GCP_SECRET_MANAGER', locator: 'projects/staging' },
});

const HEALTHY_PROD = {
  object_store_uri: PROD.object_store_ref.uri,
  secret_store: { ...PROD.secret_store },
  image_registry: PROD.image_registry!.locator,
};

/** Resolves to the ControlPlaneError a call rejects with. */
async function rejection(p: Promise<unknown>): Promise<ControlPlaneError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(ControlPlaneError);
    return err as ControlPlaneError;
  }
  throw new Error('expected the call to be rejected');
}

async function expectError(
  p: Promise<unknown>,
  code: ControlPlaneError['code'],
  rule?: string,
): Promise<ControlPlaneError> {
  const err = await rejection(p);
  expect({ code: err.code, rule: err.rule }).toMatchObject(rule ? { code, rule } : { code });
  return err;
}

const spec = (over: Partial<QueueSpec> = {}): QueueSpec =>
  queueSpec({ pool: 'prod', depth: 500, priority: 'max', fairness: 'shuffle_interleave', ...over });

export function contractSuite(label: string, makeSubject: () => Promise<Subject>): void {
  describe(`ControlPlane contract: ${label}`, () => {
    let s: Subject;
    let cp: CoreCalls;

    beforeEach(async () => {
      s = await makeSubject();
      cp = s.cp;
    });
    afterEach(async () => {
      await s.close();
    });

    const prodWithCluster = async (name = 'prod-1') => {
      await cp.createPool('prod', PROD);
      await cp.registerCluster({ name, pool: 'prod' });
      return cp.getCluster(name);
    };

    describe('names (N1, N2)', () => {
      it('N1: rejects invalid names with INVALID_ARGUMENT', async () => {
        await expectError(cp.createPool('Prod', PROD), 'INVALID_ARGUMENT', 'N1');
        await expectError(cp.createPool('-x', PROD), 'INVALID_ARGUMENT', 'N1');
        await expectError(cp.createPool('a'.repeat(64), PROD), 'INVALID_ARGUMENT', 'N1');
        await expectError(cp.registerCluster({ name: 'has_underscore' }), 'INVALID_ARGUMENT', 'N1');
        await expect(cp.createPool('a'.repeat(63), { ...PROD })).resolves.toMatchObject({
          name: 'a'.repeat(63),
        });
      });

      it('N2: a queue cannot take a name used by another queue; a cluster cannot take a queue name', async () => {
        await cp.createPool('prod', PROD);
        await cp.createQueue({
          name: 'batch',
          pool: 'prod',
          run_concurrency: 1,
          action_concurrency: 1,
        });
        await expectError(
          cp.createQueue({
            name: 'batch',
            pool: 'prod',
            run_concurrency: 1,
            action_concurrency: 1,
          }),
          'ALREADY_EXISTS',
        );
        await expectError(
          cp.registerCluster({ name: 'batch', pool: 'prod' }),
          'ALREADY_EXISTS',
          'N2',
        );
      });
    });

    describe('pools (P1-P7)', () => {
      it('P1: a new organisation has the default pool and the default queue', async () => {
        const live = await readLiveState(cp);
        expect(live.pools).toEqual([
          { name: 'default', contract: s.defaultContract, member_clusters: [] },
        ]);
        expect(live.queues).toEqual([
          {
            name: 'default',
            pool: 'default',
            clusters: ['*'],
            ...QUEUE_DEFAULTS,
            cluster_managed: false,
            available_clusters: [],
          },
        ]);
        expect(live.clusters).toEqual([]);
        expect(live.assignments).toEqual([]);
      });

      it('P2: a contract is normalised (endpoint "", image_registry null) and validated', async () => {
        const created = await cp.createPool('staging', {
          object_store_ref: { uri: 'gs://staging-bucket' },
          secret_store: { type: 'GCP_SECRET_MANAGER', locator: 'projects/staging' },
        } as PoolContract);
        expect(created).toEqual({ name: 'staging', contract: STAGING, member_clusters: [] });
        expect(await cp.getPool('staging')).toEqual(created);
        await expectError(
          cp.createPool('bad1', { ...PROD, object_store_ref: { uri: 'http://x', endpoint: '' } }),
          'INVALID_ARGUMENT',
          'P2',
        );
        await expectError(
          cp.createPool('bad2', { ...PROD, secret_store: { type: 'NOPE' as never, locator: 'x' } }),
          'INVALID_ARGUMENT',
          'P2',
        );
        await expectError(
          cp.createPool('bad3', { ...PROD, secret_store: { type: 'VAULT', locator: '' } }),
          'INVALID_ARGUMENT',
          'P2',
        );
      });

      it('P3: creating a pool whose name exists fails with ALREADY_EXISTS', async () => {
        await cp.createPool('prod', PROD);
        const err = await expectError(cp.createPool('prod', PROD), 'ALREADY_EXISTS', 'P3');
        expect(err.address).toBe('ClusterPool/prod');
        await expectError(cp.createPool('default', PROD), 'ALREADY_EXISTS', 'P3');
      });

      it('P4: with pool_update off (the baseline), a pool update is FAILED_PRECONDITION', async () => {
        expect((await cp.capabilities()).pool_update).toBe(false);
        await expectError(cp.updatePool('default', STAGING), 'FAILED_PRECONDITION', 'P4');
        expect((await cp.getPool('default')).contract).not.toEqual(STAGING);
      });

      it('P5: default can never be deleted; a pool with a cluster or queue cannot be deleted', async () => {
        await expectError(cp.deletePool('default'), 'FAILED_PRECONDITION', 'P5');
        await cp.createPool('empty', STAGING);
        await cp.deletePool('empty');
        await expectError(cp.getPool('empty'), 'NOT_FOUND');
        await expectError(cp.deletePool('empty'), 'NOT_FOUND');

        await prodWithCluster();
        const err = await expectError(cp.deletePool('prod'), 'FAILED_PRECONDITION', 'P5');
        expect(err.message).toContain('prod-1');
        // P5: the co-named queue outlives the cluster (Q6), so the pool stays blocked.
        await cp.deleteCluster('prod-1');
        await expectError(cp.deletePool('prod'), 'FAILED_PRECONDITION', 'P5');
      });

      it('P6: member_clusters follows the clusters registered into the pool', async () => {
        await prodWithCluster('prod-b');
        await cp.registerCluster({ name: 'prod-a', pool: 'prod' });
        expect((await cp.getPool('prod')).member_clusters).toEqual(['prod-a', 'prod-b']);
        await cp.deleteCluster('prod-b');
        expect((await cp.listPools()).find((p) => p.name === 'prod')!.member_clusters).toEqual([
          'prod-a',
        ]);
      });

      it('P7: the control plane does not enforce distinct object stores (validation does)', async () => {
        await cp.createPool('a', PROD);
        await expect(cp.createPool('b', PROD)).resolves.toMatchObject({ name: 'b' });
      });
    });

    describe('clusters (C1-C9)', () => {
      it('C1: registration defaults to the default pool; the pool must exist; "default" is reserved', async () => {
        await cp.registerCluster({ name: 'c1' });
        expect(await cp.getCluster('c1')).toMatchObject({ name: 'c1', pool: 'default' });
        const err = await expectError(
          cp.registerCluster({ name: 'c2', pool: 'missing' }),
          'NOT_FOUND',
          'C1',
        );
        expect(err.address).toBe('Cluster/c2');
        await expectError(cp.registerCluster({ name: 'default' }), 'INVALID_ARGUMENT', 'C1');
      });

      it('C2: registration creates the co-named queue with default settings', async () => {
        const cluster = await prodWithCluster();
        expect(cluster).toEqual(
          liveCluster('prod-1', { pool: 'prod', health: 'unknown', bound_queues: ['prod-1'] }),
        );
        expect(await cp.getQueue('prod-1')).toEqual(
          liveQueue('prod-1', {
            pool: 'prod',
            clusters: ['prod-1'],
            run_concurrency: 0,
            action_concurrency: 0,
            cluster_managed: true,
          }),
        );
      });

      it('C3: registration keeps the org-wide default queue (with its edited settings)', async () => {
        const edited = { ...spec({ pool: 'default', clusters: ['*'] }), run_concurrency: 7 };
        await cp.updateQueue('default', edited);
        await cp.registerCluster({ name: 'c1' });
        const q = await cp.getQueue('default');
        expect(q).toMatchObject({ ...edited, cluster_managed: false });
      });

      it('C4: a declared data plane must match the pool contract, naming each mismatching field', async () => {
        await cp.createPool('prod', PROD);
        await cp.registerCluster({ name: 'ok', pool: 'prod', data_plane: HEALTHY_PROD });
        expect(await cp.getCluster('ok')).toMatchObject({ health: 'unknown' });
        const err = await expectError(
          cp.registerCluster({
            name: 'bad',
            pool: 'prod',
            data_plane: { object_store_uri: 's3://other', secret_store: { locator: 'eu-west-1' } },
          }),
          'FAILED_PRECONDITION',
          'C4',
        );
        expect(err.message).toContain('object_store_uri');
        expect(err.message).toContain('secret_store.locator');
        expect(err.message).not.toContain('secret_store.type');
        await expectError(cp.getCluster('bad'), 'NOT_FOUND');
        // Undeclared values are not checked.
        await cp.registerCluster({
          name: 'partial',
          pool: 'prod',
          data_plane: { secret_store: { type: 'AWS_SECRETS_MANAGER' } },
        });
        expect(await cp.getCluster('partial')).toMatchObject({ pool: 'prod' });
      });

      it('C5: status reports set health, unhealthy_reasons and config_drift', async () => {
        await prodWithCluster();
        expect((await cp.getCluster('prod-1')).health).toBe('unknown');
        const bad = await s.sim.reportClusterStatus('prod-1', {
          ...HEALTHY_PROD,
          object_store_uri: 's3://wrong',
          image_registry: 'quay.io/x',
        });
        expect(bad.health).toBe('unhealthy');
        expect(bad.unhealthy_reasons).toHaveLength(2);
        expect(bad.config_drift).toEqual([
          { field: 'object_store_uri', contract: 's3://prod-bucket/meta', reported: 's3://wrong' },
          {
            field: 'image_registry',
            contract: PROD.image_registry!.locator,
            reported: 'quay.io/x',
          },
        ]);
        expect(await cp.getCluster('prod-1')).toEqual(bad);
        const good = await s.sim.reportClusterStatus('prod-1', HEALTHY_PROD);
        expect(good).toMatchObject({ health: 'healthy', unhealthy_reasons: [], config_drift: [] });
        await expectError(s.sim.reportClusterStatus('nope', HEALTHY_PROD), 'NOT_FOUND');
      });

      it('C6: only enabled can be updated; routing skips disabled or unhealthy clusters', async () => {
        await prodWithCluster();
        await s.sim.reportClusterStatus('prod-1', HEALTHY_PROD);
        expect((await cp.getQueue('prod-1')).available_clusters).toEqual(['prod-1']);
        expect(await cp.updateCluster('prod-1', { enabled: false })).toMatchObject({
          enabled: false,
        });
        expect((await cp.getQueue('prod-1')).available_clusters).toEqual([]);
        await cp.updateCluster('prod-1', { enabled: true });
        await s.sim.reportClusterStatus('prod-1', { object_store_uri: 's3://wrong' });
        expect((await cp.getQueue('prod-1')).available_clusters).toEqual([]);
        await expectError(
          cp.updateCluster('prod-1', { enabled: 'no' } as never),
          'INVALID_ARGUMENT',
        );
        await expectError(cp.updateCluster('nope', { enabled: true }), 'NOT_FOUND');
      });

      it('C7: a cluster pool is fixed; re-registering is FAILED_PRECONDITION (other pool) or ALREADY_EXISTS', async () => {
        await prodWithCluster();
        await cp.createPool('staging', STAGING);
        await expectError(
          cp.registerCluster({ name: 'prod-1', pool: 'staging' }),
          'FAILED_PRECONDITION',
          'C7',
        );
        await expectError(
          cp.registerCluster({ name: 'prod-1', pool: 'prod' }),
          'ALREADY_EXISTS',
          'C7',
        );
      });

      it('C7 trap: after delete + re-register elsewhere, the old co-named queue stays in the old pool, empty', async () => {
        await prodWithCluster();
        await cp.updateQueue('prod-1', spec({ clusters: ['prod-1'], run_concurrency: 3 }));
        await cp.createPool('staging', STAGING);
        await cp.deleteCluster('prod-1');
        await cp.registerCluster({ name: 'prod-1', pool: 'staging' });
        const moved = await cp.getCluster('prod-1');
        expect(moved.pool).toBe('staging');
        expect(moved.bound_queues).toEqual([]);
        const q = await cp.getQueue('prod-1');
        expect(q).toMatchObject({
          pool: 'prod',
          clusters: [],
          run_concurrency: 3,
          cluster_managed: true,
          available_clusters: [],
        });
      });

      it('C8: deleting a cluster prunes explicit selectors only; wildcard queues are unaffected', async () => {
        await prodWithCluster();
        await cp.registerCluster({ name: 'prod-2', pool: 'prod' });
        await cp.createQueue({
          name: 'both',
          pool: 'prod',
          clusters: ['prod-1', 'prod-2'],
          run_concurrency: 1,
          action_concurrency: 1,
        });
        await cp.createQueue({
          name: 'only1',
          pool: 'prod',
          clusters: ['prod-1'],
          run_concurrency: 1,
          action_concurrency: 1,
        });
        await cp.createQueue({
          name: 'all',
          pool: 'prod',
          run_concurrency: 1,
          action_concurrency: 1,
        });
        expect((await cp.getCluster('prod-1')).bound_queues).toEqual(['both', 'only1', 'prod-1']);
        await cp.deleteCluster('prod-1');
        await expectError(cp.getCluster('prod-1'), 'NOT_FOUND');
        expect((await cp.getQueue('both')).clusters).toEqual(['prod-2']);
        expect((await cp.getQueue('only1')).clusters).toEqual([]);
        expect((await cp.getQueue('prod-1')).clusters).toEqual([]);
        expect((await cp.getQueue('all')).clusters).toEqual(['*']);
        await expectError(cp.deleteCluster('prod-1'), 'NOT_FOUND');
      });

      it('C9/C7: with drain and cluster_move off (the baseline), drain and move are FAILED_PRECONDITION', async () => {
        expect(await cp.capabilities()).toEqual(BASELINE_CAPABILITIES);
        await prodWithCluster();
        await expectError(cp.drainQueue('prod-1'), 'FAILED_PRECONDITION', 'C9');
        await expectError(cp.activateQueue('prod-1'), 'FAILED_PRECONDITION', 'C9');
        await expectError(cp.moveCluster('prod-1', 'default'), 'FAILED_PRECONDITION', 'C7');
        expect((await cp.getCluster('prod-1')).pool).toBe('prod');
      });
    });

    describe('queues (Q1-Q8)', () => {
      it('Q1: create applies defaults and validates settings and selector', async () => {
        await prodWithCluster();
        await cp.createQueue({ name: 'batch', run_concurrency: 5, action_concurrency: 50 });
        // Every field not given takes the schema's default (the builder's).
        expect(await cp.getQueue('batch')).toEqual(
          liveQueue('batch', { run_concurrency: 5, action_concurrency: 50 }),
        );
        const ok = { run_concurrency: 1, action_concurrency: 1 };
        await expectError(cp.createQueue({ name: 'q1', pool: 'nope', ...ok }), 'NOT_FOUND', 'Q1');
        await expectError(
          cp.createQueue({ name: 'q2', pool: 'prod', clusters: ['*', 'prod-1'], ...ok }),
          'INVALID_ARGUMENT',
          'Q1',
        );
        await expectError(
          cp.createQueue({ name: 'q3', pool: 'prod', clusters: ['ghost'], ...ok }),
          'FAILED_PRECONDITION',
          'Q1',
        );
        await expectError(
          cp.createQueue({ name: 'q4', pool: 'default', clusters: ['prod-1'], ...ok }),
          'FAILED_PRECONDITION',
          'Q1',
        );
        await expectError(
          cp.createQueue({ name: 'q5', run_concurrency: -1, action_concurrency: 1 }),
          'INVALID_ARGUMENT',
          'Q1',
        );
        await expectError(
          cp.createQueue({ name: 'q6', run_concurrency: 1.5, action_concurrency: 1 }),
          'INVALID_ARGUMENT',
          'Q1',
        );
        await expectError(
          cp.createQueue({ name: 'q7', action_concurrency: 1 } as never),
          'INVALID_ARGUMENT',
          'Q1',
        );
        await expectError(
          cp.createQueue({ name: 'q8', priority: 'high' as never, ...ok }),
          'INVALID_ARGUMENT',
          'Q1',
        );
        await expectError(
          cp.createQueue({ name: 'q9', fairness: 'fifo' as never, ...ok }),
          'INVALID_ARGUMENT',
          'Q1',
        );
        await cp.createQueue({ name: 'retired', pool: 'prod', clusters: [], ...ok });
        expect(await cp.getQueue('retired')).toMatchObject({ clusters: [] });
      });

      it('Q2: a queue cannot be named default or like an existing cluster', async () => {
        await prodWithCluster();
        const ok = { run_concurrency: 1, action_concurrency: 1 };
        await expectError(cp.createQueue({ name: 'default', ...ok }), 'ALREADY_EXISTS', 'Q2');
        await expectError(
          cp.createQueue({ name: 'prod-1', pool: 'prod', ...ok }),
          'ALREADY_EXISTS',
          'Q2',
        );
      });

      it('Q3: update replaces the whole spec; the pool never changes', async () => {
        await prodWithCluster();
        await cp.createPool('staging', STAGING);
        await cp.createQueue({
          name: 'batch',
          pool: 'prod',
          run_concurrency: 1,
          action_concurrency: 1,
          depth: 5,
        });
        const updated = await cp.updateQueue('batch', spec({ clusters: ['prod-1'] }));
        expect(updated).toMatchObject(spec({ clusters: ['prod-1'] }));
        expect(await cp.getQueue('batch')).toEqual(updated);
        await expectError(
          cp.updateQueue('batch', spec({ pool: 'staging' })),
          'FAILED_PRECONDITION',
          'Q3',
        );
        const partial = { run_concurrency: 1, action_concurrency: 1 } as QueueSpec;
        await expectError(cp.updateQueue('batch', partial), 'INVALID_ARGUMENT', 'Q3');
        await expectError(cp.updateQueue('ghost', spec()), 'NOT_FOUND');
      });

      it('Q4: a co-named queue keeps its pool and selector; its settings are editable', async () => {
        await prodWithCluster();
        await cp.registerCluster({ name: 'prod-2', pool: 'prod' });
        const edited = await cp.updateQueue(
          'prod-1',
          spec({ clusters: ['prod-1'], run_concurrency: 9 }),
        );
        expect(edited).toMatchObject({ run_concurrency: 9, cluster_managed: true });
        await expectError(
          cp.updateQueue('prod-1', spec({ clusters: ['prod-2'] })),
          'FAILED_PRECONDITION',
          'Q4',
        );
        await expectError(
          cp.updateQueue('prod-1', spec({ clusters: ['*'] })),
          'FAILED_PRECONDITION',
          'Q4',
        );
      });

      it('Q5: the default queue keeps its pool and selector; its settings are editable', async () => {
        await prodWithCluster();
        await expect(
          cp.updateQueue('default', spec({ pool: 'default', depth: 1 })),
        ).resolves.toMatchObject({ depth: 1 });
        await expectError(
          cp.updateQueue('default', spec({ pool: 'prod' })),
          'FAILED_PRECONDITION',
          'Q5',
        );
        await expectError(
          cp.updateQueue('default', spec({ pool: 'default', clusters: [] })),
          'FAILED_PRECONDITION',
          'Q5',
        );
      });

      it('Q6: with queue_delete off (the baseline), a queue delete is FAILED_PRECONDITION', async () => {
        expect((await cp.capabilities()).queue_delete).toBe(false);
        await expectError(cp.deleteQueue('default'), 'FAILED_PRECONDITION', 'Q6');
        expect((await cp.getQueue('default')).name).toBe('default');
      });

      it('Q7: queue metrics report in-flight work, which can finish over time', async () => {
        await prodWithCluster();
        expect(await cp.queueMetrics('prod-1')).toEqual({
          runs_in_flight: 0,
          actions_in_flight: 0,
          depth: 0,
        });
        await s.sim.setQueueActivity('prod-1', { runs_in_flight: 4, actions_in_flight: 40 });
        expect(await cp.queueMetrics('prod-1')).toEqual({
          runs_in_flight: 4,
          actions_in_flight: 40,
          depth: 4,
        });
        await s.sim.setQueueActivity('prod-1', {
          runs_in_flight: 4,
          actions_in_flight: 40,
          finish_over_ms: 150,
        });
        const during = await cp.queueMetrics('prod-1');
        expect(during.runs_in_flight).toBeLessThanOrEqual(4);
        await new Promise((r) => setTimeout(r, 200));
        expect(await cp.queueMetrics('prod-1')).toEqual({
          runs_in_flight: 0,
          actions_in_flight: 0,
          depth: 0,
        });
        await expectError(cp.queueMetrics('ghost'), 'NOT_FOUND');
        await expectError(
          s.sim.setQueueActivity('prod-1', { runs_in_flight: -1, actions_in_flight: 0 }),
          'INVALID_ARGUMENT',
          'Q7',
        );
      });

      it('Q8: available_clusters are the enabled, healthy clusters of the selector (or of the pool for *)', async () => {
        await prodWithCluster('prod-1');
        await cp.registerCluster({ name: 'prod-2', pool: 'prod' });
        await cp.registerCluster({ name: 'prod-3', pool: 'prod' });
        await cp.registerCluster({ name: 'dflt-1' });
        for (const c of ['prod-1', 'prod-2', 'prod-3'])
          await s.sim.reportClusterStatus(c, HEALTHY_PROD);
        await s.sim.reportClusterStatus('dflt-1', {
          object_store_uri: s.defaultContract.object_store_ref.uri,
        });
        await cp.updateCluster('prod-3', { enabled: false });
        await cp.createQueue({
          name: 'all',
          pool: 'prod',
          run_concurrency: 1,
          action_concurrency: 1,
        });
        await cp.createQueue({
          name: 'two',
          pool: 'prod',
          clusters: ['prod-3', 'prod-2'],
          run_concurrency: 1,
          action_concurrency: 1,
        });
        expect((await cp.getQueue('all')).available_clusters).toEqual(['prod-1', 'prod-2']);
        expect((await cp.getQueue('two')).available_clusters).toEqual(['prod-2']);
        expect((await cp.getQueue('default')).available_clusters).toEqual(['dflt-1']);
        const listed = await cp.listQueues();
        expect(listed.find((q) => q.name === 'all')!.available_clusters).toEqual([
          'prod-1',
          'prod-2',
        ]);
      });
    });

    describe('assignments (A1-A3)', () => {
      it('A1: set is an upsert keyed by project/domain(/workflow); the pool must exist; delete removes', async () => {
        await cp.createPool('prod', PROD);
        await cp.createPool('staging', STAGING);
        const pd = { project: 'flytesnacks', domain: 'production', workflow: null };
        expect(await cp.setAssignment({ ...pd, pool: 'prod' })).toEqual({ ...pd, pool: 'prod' });
        await cp.setAssignment({ ...pd, pool: 'staging' });
        await cp.setAssignment({ ...pd, workflow: 'critical', pool: 'prod' });
        expect(await cp.listAssignments()).toEqual([
          { ...pd, pool: 'staging' },
          { ...pd, workflow: 'critical', pool: 'prod' },
        ]);
        await expectError(cp.setAssignment({ ...pd, pool: 'ghost' }), 'NOT_FOUND', 'A1');
        await cp.deleteAssignment(pd);
        expect(await cp.listAssignments()).toEqual([{ ...pd, workflow: 'critical', pool: 'prod' }]);
        await expectError(cp.deleteAssignment(pd), 'NOT_FOUND');
        await expectError(
          cp.setAssignment({ project: '', domain: 'd', workflow: null, pool: 'prod' }),
          'INVALID_ARGUMENT',
          'A1',
        );
      });

      it('A2: assignments are stored per key, so a workflow assignment can sit beside its project-domain one', async () => {
        await cp.createPool('prod', PROD);
        await cp.setAssignment({ project: 'p', domain: 'd', workflow: null, pool: 'default' });
        await cp.setAssignment({ project: 'p', domain: 'd', workflow: 'w', pool: 'prod' });
        expect((await cp.listAssignments()).map((a) => a.pool)).toEqual(['default', 'prod']);
      });

      it('A3: a pool named by an assignment cannot be deleted', async () => {
        await cp.createPool('prod', PROD);
        await cp.setAssignment({ project: 'p', domain: 'd', workflow: null, pool: 'prod' });
        await expectError(cp.deletePool('prod'), 'FAILED_PRECONDITION', 'A3');
        await cp.deleteAssignment({ project: 'p', domain: 'd', workflow: null });
        await cp.deletePool('prod');
      });
    });

    describe('reads', () => {
      it('returns copies: mutating a result never changes the control plane', async () => {
        await prodWithCluster();
        const pools = await cp.listPools();
        pools[0]!.contract.object_store_ref.uri = 's3://mutated';
        pools[0]!.member_clusters.push('x');
        const q = await cp.getQueue('prod-1');
        q.clusters.push('x');
        expect((await cp.getPool('default')).contract).toEqual(s.defaultContract);
        expect((await cp.getQueue('prod-1')).clusters).toEqual(['prod-1']);
      });

      it('errors name the object and the rule', async () => {
        await prodWithCluster();
        const err = await expectError(
          cp.updateQueue('prod-1', spec({ clusters: [] })),
          'FAILED_PRECONDITION',
          'Q4',
        );
        expect(err.address).toBe('Queue/prod-1');
        expect(err.message).toContain('prod-1');
        expect(err.message).toContain('Q4');
      });
    });
  });
}
