/**
 * The steps Union has no public API for, and the exact `flyte` CLI command (flyteplugins-union)
 * a person runs instead (real-apis.md; the Union docs in shared/seeds/). The union backend
 * offers this as `backend.manualStep`; its methods for these steps throw `noPublicApi`.
 *
 * Every command runs as printed, without a terminal (`apply --flyte-cli` gives it none):
 * - it targets exactly the organisation and endpoint of `--control-plane`: the flyte CLI's root
 *   options `--endpoint` and `--org` (flyteorg/flyte-sdk src/flyte/cli/main.py), which override
 *   whatever a local config file or FLYTE_* variables name; `--insecure` for a plain-http
 *   (loopback) endpoint;
 * - commands that ask for confirmation carry `--yes` (`flyte delete …`, `flyte update cluster`:
 *   Union's CLI reference);
 * - credentials never appear in it: the flyte CLI reads an API key from the environment
 *   variable FLYTE_API_KEY (flyte-sdk src/flyte/cli/_common.py, CLIConfig.init), which
 *   `--flyte-cli` sets for the child and the runbook exports first (`credentials`).
 */
import { dump } from '../../util/js-yaml.js';
import type { PoolContract } from '../../model/common.js';
import type { ManualInstruction, Step } from '../../model/plan.js';
import { shellQuote } from '../../util/shell-quote.js';
import { ControlPlaneError } from '../errors.js';

/** The environment variable the flyte CLI reads an API key from. */
export const FLYTE_API_KEY_ENV = 'FLYTE_API_KEY';

/** Where the commands go, and how the runbook hands them the API key. */
export interface CliTarget {
  /** `host[:port]` of --control-plane (and of the API key). */
  endpoint: string;
  org: string;
  /** Plain http (a loopback test server): the CLI's `--insecure`. */
  insecure: boolean;
  /** The shell line that puts the API key in FLYTE_API_KEY (never the key itself). */
  credentials: string;
}

/** The runbook's line handing the key to the flyte CLI, from where poolsync read it. */
export function credentialsLine(source: { env: string } | { file: string }): string {
  const from = 'env' in source ? `"$${source.env}"` : `"$(cat ${shellQuote(source.file)})"`;
  return `export ${FLYTE_API_KEY_ENV}=${from}`;
}

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

/** The manual instruction of each step kind, for one organisation and endpoint. */
export function unionManual(target: CliTarget) {
  const flyte =
    `flyte --endpoint ${shellQuote(`dns:///${target.endpoint}`)} --org ${shellQuote(target.org)}` +
    (target.insecure ? ' --insecure' : '');
  const cli = (reason: string, args: string, file?: ManualInstruction['file']) => ({
    reason,
    command: `${flyte} ${args}`,
    credentials: target.credentials,
    ...(file ? { file } : {}),
  });
  return {
    createPool: (name: string, contract: PoolContract): ManualInstruction => {
      const file = poolFile(name, contract);
      return cli(
        'Union has no public API to create a cluster pool',
        `create cluster-pool ${name} --file ${file.name}`,
        file,
      );
    },
    updatePool: (name: string, contract: PoolContract): ManualInstruction => {
      const file = poolFile(name, contract);
      return {
        reason:
          "Union has no public API (and the flyte CLI no non-interactive command: `flyte update cluster-pool` opens $EDITOR) to change a cluster pool's contract",
        command: `# change the contract of cluster pool ${name} in the Union console to ${file.name}`,
        file,
      };
    },
    deletePool: (name: string): ManualInstruction =>
      cli('Union has no public API to delete a cluster pool', `delete cluster-pool ${name} --yes`),
    registerCluster: (name: string, pool: string): ManualInstruction =>
      cli('Union has no public API to register a cluster', `create cluster ${name} --pool ${pool}`),
    moveCluster: (name: string, pool: string): ManualInstruction =>
      cli(
        'Union has no public API to move a cluster to another pool (its queues are drained first)',
        `update cluster ${name} --pool ${pool} --yes`,
      ),
    updateCluster: (name: string, enabled: boolean): ManualInstruction =>
      cli(
        enabled
          ? 'Union has no public API to enable a cluster: the flyte CLI activates it'
          : 'Union has no public API to disable a cluster: the flyte CLI drains it (no new work)',
        `update cluster ${name} ${enabled ? '--activate' : '--drain'} --yes`,
      ),
    deleteQueue: (name: string): ManualInstruction =>
      cli(
        'Union has no public API to delete a queue (it is drained first)',
        `delete queue ${name} --yes`,
      ),
  };
}

export type UnionManual = ReturnType<typeof unionManual>;

/** `backend.manualStep` of the union backend: null for the steps it makes by API. */
export function unionManualStep(manual: UnionManual): (step: Step) => ManualInstruction | null {
  return (step) => {
    const name = 'name' in step.args ? String(step.args.name) : '';
    switch (step.op) {
      case 'create_pool':
        return manual.createPool(name, step.args.contract);
      case 'update_pool':
        return manual.updatePool(name, step.args.contract);
      case 'delete_pool':
        return manual.deletePool(name);
      case 'register_cluster':
        return manual.registerCluster(name, step.args.pool);
      case 'move_cluster':
        return manual.moveCluster(name, step.args.pool);
      case 'update_cluster':
        return manual.updateCluster(name, step.args.enabled);
      case 'delete_queue':
        return manual.deleteQueue(name);
      default:
        return null;
    }
  };
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
