/**
 * One plan of a folder against a control plane, as `poolsync plan` makes it: the control plane
 * opened read-only (no writer lock, no snapshot rewrite), the live state read with the inventory
 * (what poolsync applied, which prune reads) and closed as soon as it is read, the folder's
 * remembered plan given again when nothing it was derived from changed
 * (src/incremental/plan-memory.ts), and the plan naming the control plane it was made against
 * (`apply PLANFILE` refuses it on any other). Rendering, comments and exit codes are the
 * caller's.
 */
import { openControlPlane } from '../controlplane/open.js';
import { backendInfo } from '../controlplane/types.js';
import { embeddedStateIsNew, planControlPlane } from '../controlplane/identity.js';
import { inventoryStore, readLiveWithInventory, type SharedInventory } from '../apply/inventory.js';
import {
  planRemembering,
  type DesiredFacts,
  type RememberedResult,
} from '../incremental/plan-memory.js';
import { manifestCacheDir } from '../manifests/index.js';
import type { DesiredState } from '../model/desired.js';
import type { PlanShapeOptions } from '../plan/plan-against.js';

export interface PlanRunOptions {
  /** The `--control-plane` URL. */
  url: string;
  /** Where this machine keeps apply's records (`--state-dir`): the inventory's file. */
  stateDir: string;
  /** The inventory shared across machines (`--inventory`, `--lock`), or null. */
  sharedInventory: SharedInventory | null;
  maxRetries: number;
  token?: string;
  apiKeyFile?: string;
  /** The environment of poolsync.yaml planned (docs/environments.md); null without one. */
  environment: string | null;
  /** The commit the plan records. */
  commit: string | null;
  /** `--target`, `--replace`, `--accept-cascade`. */
  shape: Pick<PlanShapeOptions, 'targets' | 'replace' | 'acceptCascade'>;
  /** What the caller reads of the desired state besides the plan (kept with a remembered plan). */
  facts: (desired: DesiredState) => DesiredFacts;
}

export async function planRun(dir: string, opts: PlanRunOptions): Promise<RememberedResult> {
  // Asked before opening: the header warns when this is a new, empty embedded state.
  const stateWasNew = embeddedStateIsNew(opts.url);
  const cp = await openControlPlane(opts.url, {
    readOnly: true, // no writer lock, no snapshot rewrite: a plan only reads
    lazyRead: true, // read when first needed: a remembered plan needs only the files' key
    http: { maxRetries: opts.maxRetries },
    ...(opts.token ? { token: opts.token } : {}),
    ...(opts.apiKeyFile ? { apiKeyFile: opts.apiKeyFile } : {}),
  });
  // Recorded in the plan and named in its header: `apply PLANFILE` refuses it on any other.
  const controlPlane = {
    ...(opts.environment !== null ? { environment: opts.environment } : {}),
    ...planControlPlane(opts.url, cp, stateWasNew),
  };
  let result: RememberedResult;
  let closing: Promise<void> | null = null;
  const close = () => (closing ??= cp.close());
  try {
    // Closed as soon as the live state is read: a state of 100,000 objects is ~40 MB that the
    // plan itself never needs. The inventory (what poolsync applied) is read with it.
    const store = inventoryStore(cp, opts.url, opts.stateDir, opts.sharedInventory);
    const readLive = () => readLiveWithInventory(cp, store).finally(close);
    const cacheDir = manifestCacheDir();
    result = await planRemembering(dir, readLive, {
      commit: opts.commit,
      cacheDir,
      memoryDir: cacheDir,
      facts: opts.facts,
      backend: backendInfo(cp),
      ...(cp.stateKey ? { stateKey: cp.stateKey } : {}),
      ...(opts.environment !== null ? { environment: opts.environment } : {}),
      ...opts.shape,
    });
  } finally {
    await close();
  }
  return result.ok ? { ...result, plan: { ...result.plan, control_plane: controlPlane } } : result;
}
