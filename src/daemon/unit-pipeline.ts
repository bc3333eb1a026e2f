/**
 * The pipeline of one unit (unit.ts): the real modules a run drives, wired to the unit's
 * control plane, apply lock and inventory.
 */
import { dirname } from 'node:path';
import type { Logger } from 'pino';
import { executePlan } from '../apply/index.js';
import type { HoldApplyLockOptions } from '../apply/lock.js';
import { inventoryStore, readLiveWithInventory } from '../apply/inventory.js';
import type { ControlPlane } from '../controlplane/types.js';
import { loadDesired } from '../ops/pipeline.js';
import type { Pipeline } from './reconcile.js';
import type { KubeConfig } from '@kubernetes/client-node';
import type { DaemonConfig } from './config.js';

/** What of a unit's options and deps (unit.ts) its pipeline takes. */
interface PipelineUnit {
  name: string | null;
  config: DaemonConfig;
}
interface PipelineDeps {
  pipeline?: Partial<Pipeline>;
  lockDir?: string;
  kubeConfig?: KubeConfig;
  lockTtlMs?: number;
}

/** The real modules a run drives, wired to the unit's control plane, lock and inventory. */
export function unitPipeline(
  o: PipelineUnit,
  deps: PipelineDeps,
  logger: Logger,
  learn: (cp: ControlPlane) => unknown,
  k8sLock: HoldApplyLockOptions['k8s'],
): Pipeline {
  const { config } = o;
  const lockDir = deps.lockDir ?? dirname(config.stateDir);
  let warnedLock = false;
  const who = `poolsync daemon${config.leaderElection ? ` ${config.leaderElection.identity}` : ''}`;
  const lease = config.leaderElection?.lease;
  // The inventory of what poolsync applied (src/apply/inventory.ts): the control plane's own
  // when it keeps one, else the ConfigMap of --inventory (by default beside the Lease), else the
  // state folder apply shares (where the locks are).
  const sharedInventory = config.inventory
    ? { place: config.inventory, ...(deps.kubeConfig ? { kubeConfig: deps.kubeConfig } : {}) }
    : null;
  const inventoryOf = (cp: ControlPlane) =>
    inventoryStore(cp, config.controlPlane.url, lockDir, sharedInventory);
  const environment = o.name;
  return {
    loadRepository: repositoryLoader(environment),
    readLiveState: (cp, need) => {
      learn(cp);
      return readLiveWithInventory(cp, inventoryOf(cp), need);
    },
    inventoryOf,
    executePlan,
    applyLock: {
      url: config.controlPlane.url,
      stateDir: lockDir,
      k8s: k8sLock,
      who,
      shareWith: lease && `leader Lease ${lease.namespace}/${lease.name}`,
      ttlMs: deps.lockTtlMs || undefined,
      warn: (message) => {
        if (!warnedLock) logger.warn(message);
        warnedLock = true;
      },
    },
    ...deps.pipeline,
  };
}

/** Loads the repository (its environment's part); names the restart a new `environments:` needs. */
function repositoryLoader(environment: string | null): Pipeline['loadRepository'] {
  return async (dir, opts) => {
    const loaded = await loadDesired(dir, {
      ...opts,
      ...(environment !== null ? { environment } : {}),
    });
    if (environment !== null || loaded.valid) return loaded;
    // Started while the repository could not be read (environments.ts): say what to do.
    const errors = loaded.errors.map((e) =>
      /declares environments/.test(e.message)
        ? {
            ...e,
            message: `${e.message}; this daemon started before it could read them: restart it to reconcile each environment`,
          }
        : e,
    );
    return { ...loaded, errors };
  };
}
