/** planForBackend: what a backend manages, takes as configuration, or refuses (BACKEND_KIND). Pure. */
import { cp, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { BackendInfo } from '../../src/controlplane/types.js';
import { loadRepository } from '../../src/manifests/index.js';
import { BASELINE_CAPABILITIES } from '../../src/model/common.js';
import type { DesiredState } from '../../src/model/desired.js';
import type { LiveState } from '../../src/model/live.js';
import { planForBackend } from '../../src/plan/backend.js';

const FLYTEADMIN: BackendInfo = {
  name: 'flyteadmin',
  kinds: ['PoolAssignment', 'ExecutionClusterLabel'],
  configKinds: ['ExecutionCluster', 'ClusterLabel', 'ClusterPool', 'Cluster'],
};
const CORE: BackendInfo = {
  name: 'poolsync REST API',
  kinds: ['ClusterPool', 'Cluster', 'Queue', 'PoolAssignment'],
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
    expect(plan.errors[0]!.message).toContain('(and 2 more)');
    expect(plan.errors[0]!.message).toContain(
      'the poolsync REST API backend cannot manage ExecutionCluster',
    );
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
    expect(plan.warnings[0]!.message).toContain(
      'every cluster of the label is disabled, so flyteadmin drops the label and sends its executions to every enabled cluster with equal weight (controlplane, dataplane_1)',
    );
    expect(plan.warnings[1]!.message).toContain('take its share');
  });
});
