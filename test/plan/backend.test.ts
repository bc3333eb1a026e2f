/** planForBackend: what a backend manages, takes as configuration, or refuses (BACKEND_KIND). Pure. */
import { errorText } from '../../src/render/reasons.js';
import { warningText, whyText } from '../../src/render/common.js';
import { cp, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { BackendInfo } from '../../src/controlplane/types.js';
import { loadRepository } from '../../src/manifests/index.js';
import { BASELINE_CAPABILITIES } from '../../src/model/common.js';
import type { DesiredState } from '../../src/model/desired.js';
import type { LiveState } from '../../src/model/live.js';
import { planForBackend } from '../../src/plan/index.js';
import { contract, desired, live } from './build.js';
import { desiredDefaultQueue } from '../support/builders.js';

const FLYTEADMIN: BackendInfo = {
  name: 'flyteadmin',
  kinds: ['PoolAssignment', 'ExecutionClusterLabel'],
  configKinds: ['ExecutionCluster', 'ClusterLabel', 'ClusterPool', 'Cluster'],
};
const CORE: BackendInfo = {
  name: 'poolsync REST API',
  kinds: ['ClusterPool', 'Cluster', 'Queue', 'PoolAssignment'],
};
const UNION: BackendInfo = {
  name: 'union',
  kinds: ['ClusterPool', 'Cluster', 'Queue', 'DefaultQueue'],
  queueCaps: true,
  replacedKinds: { PoolAssignment: 'DefaultQueue' },
};
const EMPTY: LiveState = {
  pools: [],
  clusters: [],
  queues: [],
  assignments: [],
  capabilities: BASELINE_CAPABILITIES,
};

async function example(name: string, extra: Record<string, string> = {}): Promise<DesiredState> {
  const dir = await mkdtemp(join(tmpdir(), 'poolsync-backend-'));
  await cp(`examples/${name}`, dir, { recursive: true });
  for (const [f, text] of Object.entries(extra)) await writeFile(join(dir, f), text);
  const r = await loadRepository(dir);
  expect(r.errors).toEqual([]);
  return r.desired!;
}

describe('planForBackend', () => {
  it('flyteadmin: pools and clusters are configuration, assignments to them are planned', async () => {
    const plan = planForBackend(await example('union-self-managed'), EMPTY, FLYTEADMIN);
    expect(plan.errors).toEqual([]);
    expect(plan.changes.map((c) => c.address)).toEqual([
      'PoolAssignment/flytesnacks/development',
      'PoolAssignment/flytesnacks/production/my_critical_wf',
    ]);
    expect(plan.steps.map((s) => s.op)).toEqual(['set_assignment', 'set_assignment']);
  });

  it('without a backend (or with one managing pools) the same repository plans the pools', async () => {
    const desired = await example('union-self-managed');
    expect(
      planForBackend(desired, EMPTY, undefined).steps.some((s) => s.op === 'create_pool'),
    ).toBe(true);
  });

  it('a kind the backend cannot manage: one BACKEND_KIND error per kind, and nothing planned for it', async () => {
    const queue =
      'apiVersion: poolsync/v1\nkind: Queue\nmetadata:\n  name: gpu\nspec:\n  pool: production-cp\n  run_concurrency: 1\n  action_concurrency: 1\n';
    const plan = planForBackend(
      await example('union-self-managed', { 'queue.yaml': queue }),
      EMPTY,
      FLYTEADMIN,
    );
    expect(plan.errors.map((e) => [e.code, e.address, e.location])).toEqual([
      ['BACKEND_KIND', 'Queue/gpu', 'queue.yaml:1:1'],
    ]);
    expect(plan.changes.map((c) => c.kind)).not.toContain('Queue');
  });

  it('a core backend refuses the Flyte kinds, counting them per kind', async () => {
    const plan = planForBackend(await example('flyte-oss'), EMPTY, CORE);
    expect(plan.errors.map((e) => [e.code, e.address])).toEqual([
      ['BACKEND_KIND', 'ExecutionCluster/controlplane'],
      ['BACKEND_KIND', 'ClusterLabel/label1'],
      ['BACKEND_KIND', 'ExecutionClusterLabel/project1/development'],
    ]);
    expect(errorText(plan.errors[0]!)).toContain('(and 2 more)');
    expect(errorText(plan.errors[0]!)).toContain(
      'the poolsync REST API backend cannot manage ExecutionCluster',
    );
  });

  it('a kind the backend replaced (Union: PoolAssignment by DefaultQueue): blocked, saying what to declare instead', () => {
    const repo = desired({
      pools: { gpu: contract('gpu'), cpu: contract('cpu') },
      queues: { train: { pool: 'gpu' }, 'a-batch': { pool: 'gpu' } },
      assignments: [
        { project: 'ml', domain: 'prod', pool: 'gpu' },
        { project: 'ml', domain: 'dev', pool: 'cpu' },
        { project: 'ml', domain: 'prod', workflow: 'wf.train', pool: 'gpu' },
      ],
    });
    const setting = desiredDefaultQueue({ project: 'ml', domain: 'dev', queue: 'train' });
    const plan = planForBackend(
      { ...repo, default_queues: [setting] },
      live({ pools: { gpu: contract('gpu'), cpu: contract('cpu') } }),
      UNION,
    );
    expect(plan.errors).toEqual([]);
    const blocked = plan.changes.filter((c) => c.kind === 'PoolAssignment');
    expect(blocked.map((c) => [c.address, c.action, c.why?.code])).toEqual([
      ['PoolAssignment/ml/prod', 'blocked', 'ASSIGNMENT_REPLACED_BY_DEFAULT_QUEUE'],
      ['PoolAssignment/ml/dev', 'blocked', 'ASSIGNMENT_REPLACED_BY_DEFAULT_QUEUE'],
      ['PoolAssignment/ml/prod/wf.train', 'blocked', 'ASSIGNMENT_REPLACED_BY_DEFAULT_QUEUE'],
    ]);
    expect(blocked.map((c) => whyText(c)!.split('(run.default_queue). ')[1])).toEqual([
      'Declare a DefaultQueue for ml/prod naming a queue of pool "gpu" (a-batch, train), then remove this PoolAssignment',
      'DefaultQueue/ml/dev already sets the default queue of ml/dev: check that it names a queue of pool "cpu" ' +
        '(the repository declares none: add a Queue with pool: cpu), then remove this PoolAssignment',
      "A workflow's queue is chosen in its code: set queue= on the TaskEnvironment of workflow wf.train " +
        '(or run it with flyte run --queue) naming a queue of pool "gpu" (a-batch, train), then remove this PoolAssignment',
    ]);
    // Sorted by kind: after the queues, before the setting; counted; nothing sent for them.
    expect(plan.changes.map((c) => c.kind).indexOf('DefaultQueue')).toBe(plan.changes.length - 1);
    expect(plan.summary.blocked).toBe(3);
    expect(plan.steps.map((s) => s.target).filter((t) => t.startsWith('PoolAssignment'))).toEqual(
      [],
    );
    // A backend that names no replacement still refuses the kind.
    const { replacedKinds: _, ...refusing } = UNION;
    expect(planForBackend(repo, EMPTY, refusing).errors.map((e) => e.code)).toEqual([
      'BACKEND_KIND',
    ]);
  });

  it('LABEL_CLUSTER_DISABLED: a label sending work to a disabled ExecutionCluster', async () => {
    const desired = await example('flyte-oss');
    const disabled = {
      ...desired,
      execution_clusters: desired.execution_clusters!.map((c) =>
        c.name === 'dataplane_2' ? { ...c, enabled: false } : c,
      ),
    };
    const plan = planForBackend(disabled, EMPTY, FLYTEADMIN);
    expect(plan.warnings.map((w) => [w.code, w.address])).toEqual([
      ['LABEL_CLUSTER_DISABLED', 'ClusterLabel/label2'],
      ['LABEL_CLUSTER_DISABLED', 'ClusterLabel/training'],
    ]);
    expect(warningText(plan.warnings[0]!)).toContain(
      'every cluster of the label is disabled, so flyteadmin drops the label and sends its executions to every enabled cluster with equal weight (controlplane, dataplane_1)',
    );
    expect(warningText(plan.warnings[1]!)).toContain('take its share');
  });
});
