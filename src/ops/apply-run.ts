/**
 * One apply, as `poolsync apply` runs it (docs/apply.md): the lock file of this machine, the
 * control plane opened for writing (waiting while another process has an embedded state open),
 * the lock across machines, then the plan (a saved plan checked against the control plane it
 * names and the live state it was made on, or a folder planned now), its steps executed under
 * the locks and the record of what was applied (inventory, last-applied state). What a person
 * sees and answers (the plan, the confirmation, progress, the result) and how signals stop the
 * steps are the caller's, through the hooks; the locks are released and the control plane
 * closed whatever happens.
 */
import type { ApplyResult } from '../apply/types.js';
import { inventoryStore, readLiveWithInventory, type InventoryStore } from '../apply/inventory.js';
import { lockWait, type HeldApplyLock } from '../apply/lock.js';
import type { SharedInventory } from '../apply/inventory.js';
import { checkStateFolder, openControlPlane, resolveToken } from '../controlplane/open.js';
import { backendInfo, type ControlPlane } from '../controlplane/types.js';
import { embeddedStateIsNew, planControlPlane } from '../controlplane/identity.js';
import { formatValidationText, manifestCacheDir } from '../manifests/index.js';
import type { Plan } from '../model/plan.js';
import type { PlanShapeOptions } from '../plan/plan-against.js';
import { UserError } from '../util/user-error.js';
import { openWaiting, takeLock, takeSharedLock } from './apply-locks.js';
import { recordApply } from './apply-record.js';
import { cleanCommit, planRepository } from './pipeline.js';

/** What is applied: a reviewed plan file, or a folder planned now. */
export type ApplySource =
  | {
      kind: 'saved';
      path: string;
      plan: Plan;
      /** Refuses the plan when the control plane or its live state is not what it was made on. */
      check: (cp: ControlPlane, inventory: InventoryStore) => Promise<void>;
    }
  | {
      kind: 'dir';
      path: string;
      environment?: string;
      /** `--target`, `--replace`, `--accept-cascade`. */
      shape: Pick<PlanShapeOptions, 'targets' | 'replace' | 'acceptCascade'>;
    };

export interface ApplyRunOptions {
  url: string;
  stateDir: string;
  sharedInventory: SharedInventory | null;
  /** `--lock`: a Kubernetes Lease for the lock across machines (else the control plane's own). */
  lockFlag: string | undefined;
  /** `--lock-timeout`: one deadline for every lock (0: fail at once). */
  lockTimeoutMs: number;
  parallelism: number;
  maxRetries: number;
  tokenFile: string | undefined;
  apiKeyFile?: string;
  /** How the control plane is opened (tests wrap it). */
  open?: typeof openControlPlane;
  /** Text for the person on stderr (lock waits, warnings: whole lines). */
  stderr: (text: string) => void;
  /** A folder's plan, once made (before its errors are checked). */
  planned?: (plan: Plan) => Promise<void>;
  /** A plan with steps, before the first runs: throws to refuse it. */
  approve: (plan: Plan) => Promise<void>;
  /** Runs the steps (the executor, with the caller's progress and signals); `lockLost` aborts. */
  execute: (plan: Plan, cp: ControlPlane, lockLost: AbortSignal) => Promise<ApplyResult>;
  /** The result, before it is recorded. */
  executed: (plan: Plan, result: ApplyResult) => Promise<void>;
}

/** The plan applied, and what running its steps did (null: it had none). */
export interface ApplyRunResult {
  plan: Plan;
  result: ApplyResult | null;
}

export async function applyRun(source: ApplySource, o: ApplyRunOptions): Promise<ApplyRunResult> {
  const { url } = o;
  // A file: state in a folder that does not exist is a typo: refused before the lock is made.
  checkStateFolder(url);
  // Asked before opening (which creates it): the plan's header warns about a new, empty state.
  const stateWasNew = embeddedStateIsNew(url);
  // The token never comes from a flag value (it would show in `ps` and shell history).
  const token = await resolveToken(o.tokenFile);
  const wait = lockWait(o.lockTimeoutMs, (message, remainingMs) =>
    o.stderr(
      `Waiting up to ${Math.ceil(remainingMs / 1000)}s (--lock-timeout) for the lock: ${message}\n`,
    ),
  );
  const lock = await takeLock(url, o.stateDir, wait);
  let cp: ControlPlane | null = null;
  let shared: HeldApplyLock | null = null;
  try {
    const open = o.open ?? openControlPlane;
    cp = await openWaiting(wait, () =>
      open(url, {
        // One connection per call in flight (P=128 is not capped at a fixed pool size).
        http: { connections: Math.max(o.parallelism, 8), maxRetries: o.maxRetries },
        ...(token === undefined ? {} : { token }),
        ...(o.apiKeyFile ? { apiKeyFile: o.apiKeyFile } : {}),
      }),
    );
    const warn = (m: string) => o.stderr(`warning: ${m}\n`);
    shared = await takeSharedLock(cp, url, lock.path, o.lockFlag, wait, warn);
    return await underLocks(source, o, cp, shared, stateWasNew);
  } finally {
    await shared?.release().catch((err: unknown) => {
      o.stderr(`warning: could not release the apply lock: ${(err as Error).message}\n`);
    });
    await cp?.close().catch(() => {});
    await lock.release();
  }
}

async function underLocks(
  source: ApplySource,
  o: ApplyRunOptions,
  cp: ControlPlane,
  shared: HeldApplyLock,
  stateWasNew: boolean | null,
): Promise<ApplyRunResult> {
  const inventory = inventoryStore(cp, o.url, o.stateDir, o.sharedInventory);
  const record = (plan: Plan, result: ApplyResult | null) =>
    recordApply({ url: o.url, stateDir: o.stateDir, cp, plan, inventory, result, warn: o.stderr });
  let plan: Plan;
  if (source.kind === 'saved') {
    plan = source.plan;
    await source.check(cp, inventory);
  } else {
    plan = {
      ...(await planFolder(source, cp, inventory, o.stderr)),
      control_plane: {
        ...(source.environment !== undefined ? { environment: source.environment } : {}),
        ...planControlPlane(o.url, cp, stateWasNew),
      },
    };
    await o.planned?.(plan);
  }
  if (plan.errors.length > 0)
    throw new UserError(`the plan has ${plan.errors.length} error(s); nothing was applied`);
  if (plan.steps.length === 0) {
    await record(plan, null);
    return { plan, result: null };
  }
  await o.approve(plan);
  const result = await o.execute(plan, cp, shared.lost);
  await o.executed(plan, result);
  await record(plan, result);
  return { plan, result };
}

/**
 * load → validate → read live → plan, recording the commit like `plan` does. An invalid
 * repository is never applied.
 */
async function planFolder(
  source: Extract<ApplySource, { kind: 'dir' }>,
  cp: ControlPlane,
  inventory: InventoryStore,
  stderr: (text: string) => void,
): Promise<Plan> {
  const dir = source.path;
  const result = await planRepository(dir, () => readLiveWithInventory(cp, inventory), {
    commit: await cleanCommit(dir),
    ...(source.environment !== undefined ? { environment: source.environment } : {}),
    cacheDir: manifestCacheDir(),
    // What the backend manages and which steps are manual (given a closure, not the control plane).
    backend: backendInfo(cp),
    ...source.shape,
  });
  if (!result.ok) {
    stderr(formatValidationText(result.errors, { baseDir: dir }));
    throw new UserError(
      `the repository is invalid (${result.errors.length} error(s)): nothing was applied`,
    );
  }
  return result.plan;
}
