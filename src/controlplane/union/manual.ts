/**
 * The steps Union has no public API for, and the exact `flyte` CLI command (flyteplugins-union)
 * a person runs instead (real-apis.md; the Union docs in shared/seeds/). The union backend
 * offers this as `backend.manualStep`; its methods for these steps throw `noPublicApi`.
 */
import { dump } from '../../util/js-yaml.js';
import type { PoolContract } from '../../model/common.js';
import type { ManualInstruction, Step } from '../../model/plan.js';
import { ControlPlaneError } from '../errors.js';

/** The `--file` of `flyte create cluster-pool` (cluster-pools.md: name + config). */
export function poolFile(name: string, contract: PoolContract): { name: string; content: string } {
  const config = {
    object_store_ref: {
      uri: contract.object_store_ref.uri,
      endpoint: contract.object_store_ref.endpoint,
    },
    secret_store: { type: contract.secret_store.type, locator: contract.secret_store.locator },
    ...(contract.image_registry
      ? { image_registry: { locator: contract.image_registry.locator } }
      : {}),
  };
  return { name: `${name}-pool.yaml`, content: dump({ name, config }, { lineWidth: -1 }) };
}

export const MANUAL = {
  createPool: (name: string, contract: PoolContract): ManualInstruction => {
    const file = poolFile(name, contract);
    return {
      reason: 'Union has no public API to create a cluster pool',
      command: `flyte create cluster-pool ${name} --file ${file.name}`,
      file,
    };
  },
  updatePool: (name: string, contract: PoolContract): ManualInstruction => {
    const file = poolFile(name, contract);
    return {
      reason:
        "Union has no public API (and the flyte CLI no documented command) to change a cluster pool's contract",
      command: `# change the contract of cluster pool ${name} in the Union console to ${file.name}`,
      file,
    };
  },
  deletePool: (name: string): ManualInstruction => ({
    reason: 'Union has no public API to delete a cluster pool',
    command: `flyte delete cluster-pool ${name} --yes`,
  }),
  registerCluster: (name: string, pool: string): ManualInstruction => ({
    reason: 'Union has no public API to register a cluster',
    command: `flyte create cluster ${name} --pool ${pool}`,
  }),
  moveCluster: (name: string, pool: string): ManualInstruction => ({
    reason:
      'Union has no public API to move a cluster to another pool (its queues must be drained first)',
    command: `flyte update cluster ${name} --pool ${pool}`,
  }),
  updateCluster: (name: string, enabled: boolean): ManualInstruction => ({
    reason: `Union has no public API (and the flyte CLI no documented command) to ${enabled ? 'enable' : 'disable'} a cluster`,
    command: `# ${enabled ? 'enable' : 'disable'} cluster ${name} in the Union console`,
  }),
  deleteQueue: (name: string): ManualInstruction => ({
    reason: 'Union has no public API to delete a queue (it must be drained first)',
    command: `flyte delete queue ${name} --yes`,
  }),
};

/** `backend.manualStep` of the union backend: null for the steps it makes by API. */
export function unionManualStep(step: Step): ManualInstruction | null {
  // Ops other engineers add to StepOp later (update_pool, move_cluster, delete_queue) are
  // matched by name, so this stays correct without a cast of the union at each case.
  const s = step as { op: string; args: Record<string, unknown> };
  const name = String(s.args.name ?? '');
  switch (s.op) {
    case 'create_pool':
      return MANUAL.createPool(name, s.args.contract as PoolContract);
    case 'update_pool':
      return MANUAL.updatePool(name, s.args.contract as PoolContract);
    case 'delete_pool':
      return MANUAL.deletePool(name);
    case 'register_cluster':
      return MANUAL.registerCluster(name, String(s.args.pool ?? 'default'));
    case 'move_cluster':
      return MANUAL.moveCluster(name, String(s.args.pool));
    case 'update_cluster':
      return MANUAL.updateCluster(name, Boolean(s.args.enabled));
    case 'delete_queue':
      return MANUAL.deleteQueue(name);
    default:
      return null;
  }
}

/** What a union backend method without an RPC throws: says so and names the command. */
export function noPublicApi(address: string, m: ManualInstruction): ControlPlaneError {
  const file = m.file ? ` (${m.file.name}: the pool definition shown in the plan)` : '';
  return new ControlPlaneError(
    'FAILED_PRECONDITION',
    `${address}: ${m.reason}; run \`${m.command}\`${file}`,
    address,
  );
}
