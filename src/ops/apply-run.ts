/**
 * One apply (docs/apply.md) for `poolsync apply` (`locks: acquire`: lock file, control plane
 * opened for writing, lock across machines) and the daemon's apply stage (`locks: daemon`): the
 * plan executed under the locks and recorded; what a person sees and answers is the caller's
 * hooks'. Locks and the control plane are released whatever happens.
 */
import { newStateUndo } from '../controlplane/embedded/store.js';
import { READ_PARALLELISM, type ApplyResult } from '../apply/types.js';
import { repositoryNames, type RepositoryNames } from './repository.js';
import {
  changeInventory,
  notMadeBy,
  notOursBy,
  deletedBy,
  inventoryStore,
  readLiveWithInventory,
  readSettled,
  takeBackInventory,
  withInventory,
  wroteBy,
  type InventoryChange,
  type InventoryStore,
} from '../apply/inventory.js';
import {
  lastAppliedPathFor,
  startedPathOf,
  writeApplyStarted,
  writeLastApplied,
} from '../apply/last-applied.js';
import {
  acquireApplyLock,
  holdSharedApplyLock,
  isLockHeld,
  lockPathFor,
  type HeldApplyLock,
  type HoldApplyLockOptions,
} from '../apply/lock.js';
import {
  checkStateFolder,
  embeddedStatePath,
  type openControlPlane,
} from '../controlplane/open.js';
import { openTarget, pullRequestPins, type PullRequestPins } from './open-target.js';
import { backendInfo, readLiveState, type ControlPlane } from '../controlplane/types.js';
import {
  controlPlaneIdentity,
  embeddedStateIsNew,
  planControlPlane,
} from '../controlplane/identity.js';
import { formatValidationText } from '../manifests/report.js';
import type { ObjectKind } from '../model/common.js';
import type { DesiredState } from '../model/desired.js';
import type { InventoryRecord } from '../model/inventory.js';
import type { ApplierSource } from '../model/appliers.js';
import type { LiveState } from '../model/live.js';
import type { Plan } from '../model/plan.js';
import { SYSTEM_CLOCK } from '../util/clock.js';
import type { PlanShape } from '../plan/index.js';
import type { K8sPlace } from '../util/k8s-place.js';
import { OlderReaderError } from '../util/format-version.js';
import { UserError } from '../util/user-error.js';
import { DEFAULT_LIMITS } from '../util/transport-limits.js';
import { appliedState, withFolderRecords } from '../plan/inventory.js';
import { unplannedStep } from '../plan/steps.js';
import { withRoutingRead } from '../plan/target.js';
import { savedPlanInventory } from '../plan/saved-plan.js';
import {
  budgetErrors,
  confirmDestroy,
  recordedBudget,
  recordedProtectionErrors,
} from '../plan/guardrails.js';
import { errorText, listAddresses, planErrorsRefusal } from '../render/reasons.js';
import { plural } from '../util/plural.js';
import {
  classify,
  cleanCommit,
  loadDesired,
  openOptions,
  planDesired,
  type ControlPlaneAccess,
  type LiveReading,
} from './plan-run.js';
import { changedWhileAsked, recheckPlan, stalePlanError } from './stale-plan.js';

/** What is applied: a reviewed plan file, a folder planned now, or a plan the caller made. */
export type ApplySource =
  | {
      /** Refused when the control plane or its live state is not what it was made on (stale-plan.ts). */
      kind: 'saved';
      path: string;
      plan: Plan;
    }
  | {
      kind: 'dir';
      path: string;
      environment?: string;
      shape: PlanShape;
      /** The commit the folder holds, when it is not a checkout (`apply --at`). */
      commit?: string;
      /** The folder as the user named it, when `path` is a temporary checkout (`apply --at`). */
      shown?: string;
    }
  | {
      /** The daemon gate's plan: executed even without steps (side effects count). */
      kind: 'planned';
      plan: Plan;
    };

/** The locks an apply takes (docs/apply.md#lock), taken here for `url`: what they are taken with. */
export interface LockAccess extends ControlPlaneAccess {
  /** `--lock`'s Kubernetes Lease, the lock across machines (else the control plane's own). */
  lease: K8sPlace | null;
  /** `--lock-timeout`: one deadline for every lock (0: fail at once). */
  lockTimeoutMs: number;
  /** How the control plane is opened (tests wrap it). */
  open?: typeof openControlPlane;
}

/** `poolsync apply`: locks taken and the control plane opened here. */
export interface AcquireLocks extends LockAccess {
  kind: 'acquire';
  parallelism: number;
}

/** The daemon's open control plane; the apply lock taken here. */
export interface DaemonLocks {
  kind: 'daemon';
  cp: ControlPlane;
  /** How the lock is held (src/apply/lock.ts holdSharedApplyLock), less the control plane. */
  lock: Omit<HoldApplyLockOptions, 'cp'>;
  /** Where the record goes (the daemon keeps the inventory only). */
  record: ApplyRecording;
}

export type ApplyPhase = 'lock' | 'apply' | 'unlock';

export interface ApplyRunOptions {
  locks: AcquireLocks | DaemonLocks;
  /**
   * Aborted (Ctrl-C, SIGTERM) before the first step: the apply stops at its next point and throws
   * the abort's reason, nothing applied and a state it created removed, as when declined. Once
   * the steps run, stopping them is `execute`'s.
   */
  cancelled?: AbortSignal;
  /** True as the records are written ahead of the first step; false once a cancel took them back. */
  writingAhead?: (writing: boolean) => void;
  /** Told as the apply takes its lock, runs under it and lets it go (the daemon's phases). */
  phase?: (phase: ApplyPhase) => void;
  /** Text for the person on stderr (lock waits, warnings: whole lines). */
  stderr: (text: string) => void;
  /** Before the plan's errors are checked; a folder's with its desired state (policies read it). */
  planned?: (plan: Plan, folder?: PlannedFolder) => Promise<void>;
  /**
   * A plan with steps, before the first runs: throws to refuse it. `waited`: a person answered,
   * however long after: the live state is read again and a changed one refused (not with
   * --auto-approve, which waits for nobody: docs/apply.md#approval).
   */
  approve?: (plan: Plan) => Promise<'waited' | void>;
  /** Runs the steps (the executor, with the caller's progress and signals); `lockLost` aborts. */
  execute: (plan: Plan, cp: ControlPlane, lockLost: AbortSignal) => Promise<ApplyResult>;
  executed?: (plan: Plan, result: ApplyResult) => Promise<void>;
}

/** What a folder's plan was made from, beside the plan. */
export interface PlannedFolder {
  desired: DesiredState;
  configKinds: readonly ObjectKind[];
}

/** The plan applied, and what running its steps did (null: it had none). */
interface ApplyRunResult {
  plan: Plan;
  result: ApplyResult | null;
}

interface Locked {
  cp: ControlPlane;
  lost: AbortSignal;
  record: ApplyRecording;
  /** The control plane a folder's plan names (`control_plane`), and whether it was new. */
  url: string | null;
  stateWasNew?: boolean | null;
  /** Once the steps ran, before the records are written: lets go of what only the calls need. */
  stepsRan?: (result: ApplyResult) => Promise<void>;
  /** In pull-request mode, the base branch's destroy budget and repository (docs/plan.md, Guardrails). */
  pins?: PullRequestPins;
  /** A folder's desired state, loaded before the locks; taken (emptied) when it is planned. */
  loaded?: LoadedFolder;
}

/** A `dir` source's valid desired state (it records the commit: the plan's), and its repository. */
interface LoadedFolder {
  desired: DesiredState | null;
  /** Its repository's names (src/ops/repository.ts). */
  names: RepositoryNames;
}

export async function applyRun(source: ApplySource, o: ApplyRunOptions): Promise<ApplyRunResult> {
  const { locks } = o;
  if (locks.kind === 'acquire') return acquiring(source, o, locks);
  const { cp, record } = locks;
  o.phase?.('lock');
  return underApplyLock(locks.lock.url, locks.lock.stateDir, async (lockFile) => {
    const held = await holdSharedApplyLock({ ...locks.lock, cp, lockFile });
    o.phase?.('apply');
    try {
      return await underLocks(source, o, { cp, lost: held.lost, record, url: null });
    } finally {
      o.phase?.('unlock');
      await release(held, o.stderr);
    }
  });
}

async function release(held: HeldApplyLock | null, stderr: (text: string) => void): Promise<void> {
  await held?.release().catch((err: unknown) => {
    stderr(`warning: could not release the apply lock: ${(err as Error).message}\n`);
  });
}

async function acquiring(
  source: ApplySource,
  o: ApplyRunOptions,
  locks: AcquireLocks,
): Promise<ApplyRunResult> {
  const { url } = locks.target;
  // A file: state in a folder that does not exist is a typo: refused before the lock is made.
  checkStateFolder(url);
  // A folder is validated before the lock file or the control plane is made (an invalid one
  // left a new embedded state with capabilities none), as plan and validate do.
  const loaded = source.kind === 'dir' ? await loadFolder(source, o) : undefined;
  o.cancelled?.throwIfAborted();
  // Asked before opening (which creates it): the plan's header warns about a new, empty state.
  const stateWasNew = embeddedStateIsNew(url);
  const made = stateWasNew ? await undoNewState(url) : null;
  const wait = { ...lockWait(locks.lockTimeoutMs, o.stderr), cancelled: o.cancelled };
  // One connection per call in flight: reads at read width, steps `parallelism` at a time.
  const connections = Math.max(locks.parallelism, READ_PARALLELISM);
  const held = await takeApplyLocks(locks, wait, 'poolsync apply', connections, () => true);
  const { cp, shared } = held;
  let ran = false;
  let discard: typeof made = null;
  let giveUp: NodeJS.Timeout | undefined;
  try {
    // A plan file's apply runs where its checkout is: the branch of the folder it is run in.
    const { applier } = loaded?.names ?? (await repositoryNames(process.cwd()));
    const record: ApplyRecording = {
      inventory: held.inventory,
      lastApplied: lastAppliedPathFor(url, locks.stateDir),
      ...(applier ? { applier } : {}),
      warn: ({ record, where, err }) =>
        o.stderr(
          record === 'inventory'
            ? `Warning: could not record the inventory in ${where} (what prune may delete): ${(err as Error).message}\n`
            : `Warning: could not record the applied state in ${where} (for plan --refresh-only): ${(err as Error).message}\n`,
        ),
    };
    // An embedded state (~45 MB at 100,000 objects) goes before the records are written, at
    // apply's peak: they are guarded by the apply lock, not the state's, and the embedded
    // control plane's lease is kept in this process, not in its state.
    const stepsRan = url.startsWith('file:')
      ? () => cp.close().catch(() => {})
      : (result: ApplyResult) => {
          if (!result.ok && result.steps.some((s) => s.error?.code === 'UNAVAILABLE'))
            giveUp = setTimeout(() => held.endCalls(new Error(GIVEN_UP)), AFTER_UNAVAILABLE_MS);
          return Promise.resolve();
        };
    // In pull-request mode the base branch's destroy budget and repository bind (docs/plan.md,
    // Guardrails, Prune scope), read with Git in the user's folder: a temporary checkout (--at) is no repository.
    const dir = source.kind === 'dir' ? (source.shown ?? source.path) : null;
    const environment = source.kind === 'dir' ? (source.environment ?? null) : null;
    const pins = await pullRequestPins(locks.opening, dir, environment);
    const { lost } = shared;
    const locked = { cp, lost, record, url, stateWasNew, stepsRan, pins, loaded };
    const execute: ApplyRunOptions['execute'] = (...args) => {
      ran = true;
      return o.execute(...args);
    };
    return await underLocks(source, { ...o, execute }, locked);
  } catch (err) {
    // A new state left by an apply that applied nothing (declined, refused, cancelled) would
    // refuse a later command asking other capabilities: what this apply made goes, once its
    // locks are let go (the apply lock file beside the state would keep a folder it made).
    if (!ran) discard = made;
    throw err;
  } finally {
    await held.release(o.stderr);
    clearTimeout(giveUp);
    await discard?.();
  }
}

/**
 * docs/apply.md#failures: once a step failed UNAVAILABLE (the control plane did not answer through
 * a whole --max-retries budget), the records and the lock's release after the steps get this much
 * in all, not another budget each (up to 23 s apiece at the default 8), before their calls end.
 */
const AFTER_UNAVAILABLE_MS = 5_000;
const GIVEN_UP = `the control plane stopped answering during the steps: what follows them gets ${AFTER_UNAVAILABLE_MS / 1000} s, docs/apply.md#failures`;

/**
 * What removes a new embedded state, with the records an apply cancelled before its first step
 * wrote ahead beside it: the inventory (controlplane/embedded/embedded.ts) and the mark that it
 * began.
 */
function undoNewState(url: string): Promise<() => Promise<void>> {
  const path = embeddedStatePath(url);
  const begun = startedPathOf(lastAppliedPathFor(url));
  return newStateUndo(path, [`${path}.inventory.json`, begun]);
}

/** The locks taken (and the control plane opened for writing), with the inventory apply records. */
interface TakenLocks {
  cp: ControlPlane;
  shared: HeldApplyLock;
  inventory: InventoryStore;
  /** The lock across machines, the control plane, then this machine's lock file. */
  release(stderr: (text: string) => void): Promise<void>;
  /** The control plane's calls still waiting or retrying end with `reason`, and no new one starts. */
  endCalls(reason: Error): void;
}

/**
 * Every lock an apply against `locks.target` takes (docs/apply.md#lock), in its order, each
 * waited for within `wait`: this machine's lock file; the control plane opened for writing (an
 * embedded state's own lock, held by another apply or by the `control-plane serve` serving it);
 * the lock across machines (the control plane's lease, or --lock's Lease). `warnUnshared`: whether
 * to say that the control plane has no lock across machines, given the inventory recorded.
 */
async function takeApplyLocks(
  locks: LockAccess,
  wait: LockWait,
  who: string,
  connections: number | undefined,
  warnUnshared: (inventory: InventoryStore) => boolean,
): Promise<TakenLocks> {
  const { url } = locks.target;
  const lock = await untilFree(wait, () => acquireApplyLock(lockPathFor(url, locks.stateDir)));
  let cp: ControlPlane | null = null;
  try {
    // A Lease without a kubeconfig is refused before opening, which makes a new file: state.
    let k8s: HoldApplyLockOptions['k8s'] = null;
    if (locks.lease) {
      k8s = {
        ref: locks.lease,
        kubeConfig: (await import('../lease/k8s-lease.js')).loadKubeConfig(
          locks.opening.vars,
          locks.limits ?? DEFAULT_LIMITS,
          locks.onWait,
        ),
      };
    }
    const calls = new AbortController();
    const tuned = openOptions(locks, connections);
    const options = { ...tuned, http: { ...tuned.http, signal: calls.signal } };
    // Opening an embedded state for writing waits while another process has it open.
    cp = await untilFree(wait, () => openTarget(locks.target, locks.opening, options, locks.open));
    const opened = cp;
    const inventory = inventoryStore(cp, url, {
      stateDir: locks.stateDir,
      shared: locks.sharedInventory,
      env: locks.opening.vars,
      limits: locks.limits,
      onWait: locks.onWait,
    });
    const warn = (m: string) => {
      if (warnUnshared(inventory)) wait.stderr(`warning: ${m}\n`);
    };
    let tries = 0;
    const shared = await untilFree(wait, () => {
      tries += 1;
      return holdSharedApplyLock({ cp: opened, url, k8s, lockFile: lock.path, who, warn });
    });
    // Said after a wait (--lock-timeout); this machine's killed apply's lease is taken silently.
    if (shared.takeover && tries > 1) wait.stderr(`${shared.takeover}\n`);
    return {
      cp,
      shared,
      inventory,
      release: async (stderr) => {
        await release(shared, stderr);
        await opened.close().catch(() => {});
        await lock.release();
      },
      endCalls: (reason) => calls.abort(reason),
    };
  } catch (err) {
    await cp?.close().catch(() => {});
    await lock.release();
    throw err;
  }
}

async function underLocks(
  source: ApplySource,
  o: ApplyRunOptions,
  locked: Locked,
): Promise<ApplyRunResult> {
  const { record } = locked;
  o.cancelled?.throwIfAborted();
  const planned = await planOf(source, o, locked);
  const { plan } = planned;
  let { live } = planned;
  o.cancelled?.throwIfAborted();
  if (plan.errors.length > 0) throw new UserError(planErrorsRefusal(plan.errors));
  // Once the lock is lost (another apply took it, the daemon's term ended) nothing more is
  // written, not even the record: the next apply reads what this one did.
  if (classify(plan) === 'no_changes' && source.kind !== 'planned') {
    if (!locked.lost.aborted) await recordApply(record, live, plan, null);
    return { plan, result: null };
  }
  const asked = await o.approve?.(plan);
  o.cancelled?.throwIfAborted();
  // docs/apply.md#approval: an answer can take hours; what was approved is what is done, or nothing.
  if (asked === 'waited' && live !== null) {
    const checked = await recheck(plan, locked, { planned: live });
    if (checked.stale) throw changedWhileAsked(plan, checked.stale);
    live = checked.live;
  }
  o.cancelled?.throwIfAborted();
  // Written ahead (docs/apply.md#what-apply-records): what the apply creates is poolsync's
  // before it exists, so one killed part-way leaves nothing it made outside prune's scope.
  o.writingAhead?.(true);
  const written = locked.lost.aborted ? null : await writeAhead(record, plan, live);
  // Stopped before a step was sent, none of it is true: taken back while still locked (after
  // the lock or the term was lost nothing is written: the next apply's plan reads them).
  const takeBack = async () => {
    if (!locked.lost.aborted) await written?.takeBack();
  };
  if (o.cancelled?.aborted) {
    await takeBack();
    o.writingAhead?.(false);
    o.cancelled.throwIfAborted();
  }
  const result = await o.execute(plan, locked.cp, locked.lost);
  await o.executed?.(plan, result);
  await locked.stepsRan?.(result);
  // The daemon's shutdown, freeze or newer head can stop it as the steps begin: none started.
  if (sentNothing(result)) await takeBack();
  else if (!locked.lost.aborted) await recordApply(record, live, plan, result, written?.before);
  return { plan, result };
}

/** An apply stopped before any of its steps started. */
const sentNothing = (result: ApplyResult) =>
  result.aborted && result.steps.length > 0 && result.steps.every((s) => s.status === 'not_run');

async function planOf(
  source: ApplySource,
  o: ApplyRunOptions,
  locked: Locked,
): Promise<{ plan: Plan; live: LiveState | null }> {
  const { cp, url } = locked;
  if (source.kind === 'planned') return { plan: source.plan, live: null };
  const inventory = locked.record.inventory;
  // A programming error: only `locks: acquire` knows the URL and keeps an inventory.
  if (url === null || inventory === null)
    throw new Error(`a ${source.kind} source is applied with locks: acquire`);
  if (source.kind === 'saved') {
    const { plan, path } = source;
    // plan.md: live state re-read, a plan made against another refused before any call; the
    // inventory too when the plan read one (what prune deletes is part of what it was made on).
    const checked = await recheck(plan, locked, { here: controlPlaneIdentity(url, cp) });
    if (checked.stale) throw stalePlanError(path, plan, checked.stale);
    const unplanned = unplannedStep(plan, checked.live, backendInfo(cp).manualStep);
    if (unplanned !== null)
      throw new UserError(
        `${path} is refused: ${unplanned}: the file was edited after poolsync made it (a plan runs only what its changes show, and an unkeyed seal can be made again). Nothing was applied; make the plan again with the flags it was made with (\`poolsync plan … --out ${path}\`, --target too)`,
      );
    const guarded = await guardedByInventory(source, checked.live, inventory);
    return { plan: withRoutingRead(guarded, checked.live), live: checked.live };
  }
  const read: LiveReading = (need, before) =>
    readLiveWithInventory(cp, inventory, need, undefined, before);
  // Taken: the desired state (~60 MB at 100,000 objects) is not kept while the steps run (issue 63).
  const desired = locked.loaded?.desired;
  if (!desired) throw new Error('a dir source is loaded before it is planned');
  locked.loaded!.desired = null;
  // What the backend manages and which steps are manual (given a closure, not the control plane).
  const backend = backendInfo(cp);
  const made = await planDesired(desired, read, {
    plan: {
      backend,
      ...source.shape,
      ...locked.pins,
      ...locked.loaded!.names,
    },
  });
  // Not shown once cancelled while it was read.
  o.cancelled?.throwIfAborted();
  const plan = {
    ...made.plan,
    control_plane: {
      ...(source.environment !== undefined ? { environment: source.environment } : {}),
      ...planControlPlane(url, cp, locked.stateWasNew ?? null),
    },
  };
  await o.planned?.(plan, { desired, configKinds: backend.configKinds ?? [] });
  return { plan, live: made.live };
}

/**
 * A saved plan held to the inventory's prevent-destroy and confirm-destroy marks and destroy budget
 * as they are now, as planning would have held it (docs/plan.md, Guardrails): the file's own errors and
 * `confirm_destroy` are its word only, and an unkeyed seal can be made again after an edit. What
 * it records in the inventory is derived again (saved-plan.ts savedPlanInventory).
 */
async function guardedByInventory(
  { plan, path }: { plan: Plan; path: string },
  live: LiveState,
  inventory: InventoryStore,
): Promise<Plan> {
  // Refused for its own errors next (underLocks), each named.
  if (plan.errors.length > 0) return plan;
  const marked = plan.inventory ? live : withInventory(live, await readSettled(inventory));
  const [prevented] = recordedProtectionErrors(plan.changes, marked, {}, []);
  if (prevented) throw new UserError(`${path}: ${errorText(prevented)} Nothing was applied.`);
  const recorded = savedPlanInventory(plan, marked);
  if ('unprunable' in recorded)
    throw new UserError(
      `${path} is refused: it deletes ${listAddresses(recorded.unprunable, 20)}, which an earlier poolsync recorded in the inventory without a repository (format 1), and no repository prunes those (docs/plan.md, Prune scope). Nothing was applied; run \`poolsync plan\` again: \`poolsync import ADDRESS\` adopts one this repository applied, and removing its manifest then deletes it`,
    );
  if ('refused' in recorded)
    throw new UserError(
      `${path} is refused: ${recorded.refused}: the file was edited after poolsync made it, or the inventory changed since (an unkeyed seal can be made again). Nothing was applied; run \`poolsync plan --out ${path}\` again`,
    );
  // The destroy budget as planning bounds it, but the base branch's, which only a pull request has.
  const repository = plan.inventory?.repository ?? null;
  const from = plan.inventory?.renamed_from;
  const [overBudget] = budgetErrors(plan, [
    { from: 'repository', guardrails: plan.inventory?.guardrails },
    recordedBudget(
      // The budget recorded under the folder's path, when the plan takes its records, as planning read it.
      withFolderRecords(marked, repository, from).live,
      repository,
    ),
    // And the folder's own, which the name the file gives must not escape.
    ...(from === undefined ? [] : [recordedBudget(marked, from)]),
  ]);
  if (overBudget) throw new UserError(`${path}: ${errorText(overBudget)} Nothing was applied.`);
  const confirm = new Set([
    ...(plan.confirm_destroy ?? []),
    ...confirmDestroy(plan.changes, marked, {}),
  ]);
  return {
    ...plan,
    ...(confirm.size > 0 ? { confirm_destroy: [...confirm] } : {}),
    ...(recorded.inventory ? { inventory: recorded.inventory } : {}),
  };
}

/**
 * The one check of a plan made earlier against the live state now (stale-plan.ts): the state read
 * as the plan read it, with the inventory when it read one (what prune deletes depends on it).
 */
function recheck(plan: Plan, locked: Locked, opts: Parameters<typeof recheckPlan>[2]) {
  const { cp } = locked;
  const inventory = locked.record.inventory!;
  return recheckPlan(
    plan,
    (need) =>
      plan.inventory ? readLiveWithInventory(cp, inventory, need) : readLiveState(cp, need(null)),
    opts,
  );
}

/** DIR's desired state and commit, before anything is locked or opened. Invalid: never applied. */
async function loadFolder(
  source: Extract<ApplySource, { kind: 'dir' }>,
  o: ApplyRunOptions,
): Promise<LoadedFolder> {
  const dir = source.path;
  const commit = source.commit ?? (await cleanCommit(dir));
  // Named by the folder as the user gave it: a temporary checkout (--at) is no repository.
  const [loaded, names] = await Promise.all([
    loadDesired(dir, { commit, environment: source.environment }),
    repositoryNames(source.shown ?? dir),
  ]);
  if (!loaded.valid) {
    o.stderr(formatValidationText(loaded.errors, { baseDir: source.shown ?? dir }));
    throw new UserError(
      `the repository is invalid (${plural(loaded.errors.length, 'error')}): nothing was applied`,
    );
  }
  return { desired: loaded.desired, names };
}

/**
 * docs/apply.md#lock: with `--lock-timeout D` every lock is waited for up to D in all (deadline,
 * performance.now() ms; null: fail at once while another apply or `control-plane serve` holds it).
 */
interface LockWait {
  deadline: number | null;
  stderr: (text: string) => void;
  /** What a refusal says was left undone (`Queue/x was not forgotten`), for a command run again. */
  undone?: string;
  /** Ends the wait, throwing its reason (ApplyRunOptions.cancelled). */
  cancelled?: AbortSignal | undefined;
}

function lockWait(timeoutMs: number, stderr: LockWait['stderr'], undone?: string): LockWait {
  return { deadline: timeoutMs > 0 ? performance.now() + timeoutMs : null, stderr, undone };
}

/**
 * `attempt()` until it succeeds or fails other than on a held lock, polling from 0.5 s to 5 s;
 * past the deadline a held lock is refused with the --lock-timeout hint.
 */
async function untilFree<T>(wait: LockWait, attempt: () => Promise<T>): Promise<T> {
  let told = false;
  for (let n = 0; ; n++) {
    try {
      return await attempt();
    } catch (err) {
      const remaining = wait.deadline === null ? 0 : wait.deadline - performance.now();
      if (isLockHeld(err) && remaining > 0) {
        if (!told)
          wait.stderr(
            `Waiting up to ${Math.ceil(remaining / 1000)}s (--lock-timeout) for the lock: ${(err as Error).message}\n`,
          );
        told = true;
        await SYSTEM_CLOCK.sleep(
          Math.min(remaining, 500 * 2 ** Math.min(n, 3), 5_000),
          wait.cancelled,
        );
        wait.cancelled?.throwIfAborted();
        continue;
      }
      const hint =
        wait.deadline === null
          ? ' (or pass --lock-timeout 5m to wait for it)'
          : ' (still held at the end of --lock-timeout)';
      if (!isLockHeld(err)) throw err;
      throw new UserError(
        wait.undone === undefined
          ? `${err.message}${hint}`
          : `${wait.undone}: ${err.message}, then run it again${hint}`,
      );
    }
  }
}

/** The daemon's apply: `write` under this machine's apply lock for `url` (held: LockHeldError). */
async function underApplyLock<T>(
  url: string,
  stateDir: string | undefined,
  write: (lockPath: string) => Promise<T>,
): Promise<T> {
  const lock = await acquireApplyLock(lockPathFor(url, stateDir));
  try {
    return await write(lock.path);
  } finally {
    await lock.release();
  }
}

/** A write of apply's records: who writes, and how it waits and is refused. */
export interface RecordWrite extends LockAccess {
  /** The holder name another apply is refused with: `poolsync state forget`. */
  who: string;
  /** What a refusal says was left undone (`Queue/x was not forgotten`). */
  undone?: string;
  stderr: (text: string) => void;
}

/**
 * `write` of apply's records (`state forget`, `import`), which an apply recording meanwhile would
 * undo, under every lock an apply against the same control plane takes (takeApplyLocks), into the
 * inventory that apply records: waited for as apply waits, refused in one line. A control plane
 * that `control-plane serve` serves is one whose applies hold its lease, also when named by its
 * `file:` state (that process holds the state's own lock: refused, saying to use its URL).
 */
export async function underApplyLocks<T>(
  w: RecordWrite,
  write: (inventory: InventoryStore) => Promise<T>,
): Promise<T> {
  checkStateFolder(w.target.url);
  const wait = lockWait(w.lockTimeoutMs, w.stderr, w.undone);
  // Only a shared inventory is written by other machines' applies: a local one, by this one's.
  const held = await takeApplyLocks(w, wait, w.who, undefined, (inventory) => !inventory.local);
  try {
    return await write(held.inventory);
  } finally {
    await held.release(w.stderr);
  }
}

/**
 * What an apply records under its lock (docs/apply.md): the inventory (what prune reads), also
 * after a failed or partial apply, and after a successful one the live state it left (`plan
 * --refresh-only`); null: not kept (the daemon keeps the inventory only, also after an in-sync
 * run). A record that cannot be written is a warning: the apply itself is done.
 */
export interface ApplyRecording {
  inventory: InventoryStore | null;
  lastApplied: string | null;
  warn: (warning: { record: 'inventory' | 'last-applied'; where: string; err: unknown }) => void;
  /** The inventory's addresses, when this record changed it. */
  recorded?: (addresses: string[]) => void;
  /** Once what was written ahead of the first step was taken back from the inventory. */
  takenBack?: () => void;
  /** Where this apply runs, recorded beside what it updates (docs/daemon.md, Two poolsyncs on one control plane). */
  applier?: ApplierSource;
}

/**
 * The records before the first step: the inventory with what the apply will make, and beside the
 * last-applied record (replaced with it) the mark that it began, so `plan --refresh-only` says an
 * apply began and did not finish rather than call its changes drift. Returns what takes them back.
 */
async function writeAhead(
  rec: ApplyRecording,
  plan: Plan,
  live: LiveState | null,
): Promise<{ takeBack: () => Promise<void>; before: InventoryRecord | null | undefined }> {
  const { inventory, lastApplied } = rec;
  // Its creates are pending under its mark until a record after the steps, or the mark's
  // replacement, settles them: without a mark (the daemon) nothing would tell they were.
  const startedAt = lastApplied === null ? undefined : new Date().toISOString();
  const change = await recordApply(rec, null, plan, null, undefined, { startedAt, live });
  let unmark: (() => Promise<void>) | null = null;
  if (lastApplied !== null)
    unmark = await writeApplyStarted(lastApplied, plan.commit, startedAt).catch((err: unknown) => {
      rec.warn({ record: 'last-applied', where: startedPathOf(lastApplied), err });
      return null;
    });
  const takeBack = async () => {
    if (inventory !== null && change !== null)
      await takeBackInventory(inventory, change).then(rec.takenBack, (err: unknown) =>
        rec.warn({ record: 'inventory', where: inventory.where, err }),
      );
    if (lastApplied !== null)
      await unmark?.().catch((err: unknown) =>
        rec.warn({ record: 'last-applied', where: startedPathOf(lastApplied), err }),
      );
  };
  return { takeBack, before: change?.before };
}

/**
 * `result` null: nothing ran; `live` with the plan's changes is the state the apply left;
 * `before`, the inventory before the write-ahead record (undefined: none written). What the
 * inventory's record changed (null: nothing).
 */
export async function recordApply(
  rec: ApplyRecording,
  live: LiveState | null,
  plan: Plan,
  result: ApplyResult | null,
  before?: InventoryRecord | null,
  /** Ahead of the first step: the time of the mark it writes and the live state read (writeAhead). */
  ahead: { startedAt?: string | undefined; live?: LiveState | null } = { live },
): Promise<InventoryChange | null> {
  const { inventory, lastApplied, warn } = rec;
  let change: InventoryChange | null = null;
  if (inventory !== null) {
    try {
      change = result
        ? await changeInventory(
            inventory,
            plan,
            deletedBy(plan, result),
            notOursBy(result),
            { addresses: notMadeBy(plan, result), before, failed: !result.ok },
            {},
            rec.applier && { by: rec.applier, wrote: wroteBy(plan, result) },
          )
        : await changeInventory(
            inventory,
            plan,
            new Set(),
            undefined,
            undefined,
            ahead,
            rec.applier && { by: rec.applier, wrote: {} },
          );
      if (change) rec.recorded?.(change.addresses);
    } catch (err) {
      // Before the first step: an apply that could never be recorded would leave what it makes
      // outside prune's scope, every time.
      if (err instanceof OlderReaderError && result === null)
        throw new UserError(`Nothing was applied: ${err.message}`);
      warn({ record: 'inventory', where: inventory.where, err });
    }
  }
  if ((result !== null && !result.ok) || lastApplied === null || live === null) return change;
  try {
    await writeLastApplied(lastApplied, appliedState(live, plan), plan.commit);
  } catch (err) {
    warn({ record: 'last-applied', where: lastApplied, err });
  }
  return change;
}
