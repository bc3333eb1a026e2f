/** The two golden scenarios: the example repository against an empty and a drifted control plane. */
import { EmbeddedControlPlane } from '../../src/controlplane/embedded/embedded.js';
import type { Plan, PlanControlPlane } from '../../src/model/plan.js';
import { planRepository } from '../../src/ops/plan-run.js';
import { runSteps } from '../plan/runner.js';

export const EXAMPLE = 'examples/config-repo';

export async function planExample(cp: EmbeddedControlPlane): Promise<Plan> {
  const result = await planRepository(EXAMPLE, cp, { commit: null });
  if (!result.ok)
    throw new Error(`example repository is invalid: ${JSON.stringify(result.errors)}`);
  return result.plan;
}

/** `poolsync plan examples/config-repo` on a fresh clone: the default state, not there yet. */
export const NEW_DEFAULT_STATE: PlanControlPlane = {
  backend: 'embedded',
  endpoint: 'file:/home/me/poolsync/.poolsync/control-plane.json',
  organization: null,
  new_state: true,
  default_state: true,
};
/** `poolsync plan examples/config-repo --control-plane file:/srv/poolsync/control-plane.json`. */
export const NAMED_STATE: PlanControlPlane = {
  backend: 'embedded',
  endpoint: 'file:/srv/poolsync/control-plane.json',
  organization: null,
};

export async function emptyScenario(): Promise<Plan> {
  const cp = await EmbeddedControlPlane.open({ path: null });
  try {
    return { ...(await planExample(cp)), control_plane: NEW_DEFAULT_STATE };
  } finally {
    await cp.close();
  }
}

/** Applies the example, then drifts the control plane the ways operators do by hand. */
export async function driftedScenario(): Promise<Plan> {
  const cp = await EmbeddedControlPlane.open({ path: null });
  try {
    await runSteps(await planExample(cp), cp);
    const critical = await cp.getQueue('critical');
    const { name: _n, cluster_managed: _m, available_clusters: _a, ...spec } = critical;
    await cp.updateQueue('critical', {
      ...spec,
      run_concurrency: spec.run_concurrency + 50,
      priority: 'medium',
    });
    await cp.updateCluster('prod-us-west-2', { enabled: false });
    await cp.registerCluster({ name: 'legacy-1', pool: 'prod' });
    await cp.createQueue({
      name: 'adhoc',
      pool: 'dev',
      clusters: ['*'],
      run_concurrency: 5,
      action_concurrency: 50,
    });
    await cp.deleteAssignment({ project: 'flytesnacks', domain: 'staging', workflow: null });
    await cp.setAssignment({
      project: 'sandbox',
      domain: 'development',
      workflow: null,
      pool: 'dev',
    });
    // Moved by hand: the co-named queue stays behind in `default` (C7, C8).
    await cp.deleteCluster('shared-us-west-2');
    await cp.registerCluster({ name: 'shared-us-west-2', pool: 'dev' });
    await cp.reportClusterStatus('research-eastus-gpu', {
      object_store_uri: 's3://not-the-research-bucket',
    });
    return { ...(await planExample(cp)), control_plane: NAMED_STATE };
  } finally {
    await cp.close();
  }
}
