/**
 * One plan for `poolsync plan`, the daemon's plan stage and pull-request comments: a folder or a
 * loaded desired state, against a control plane opened read-only here (`acquire`: closed once
 * the live state is read) or the caller's (`open`); named and classified here, rendered by the
 * caller. Below it, the I/O edge around the pure planner (`planRepository`) and `cleanCommit`.
 */
import { openTarget, pullRequestPins, type Opening, type Target } from './open-target.js';
import { repositoryNames } from './repository.js';
import { gitAnswer } from '../util/git.js';
import {
  backendInfo,
  readLiveState,
  readSettingsAgain,
  type BackendInfo,
  type ControlPlane,
} from '../controlplane/types.js';
import { embeddedStateIsNew, planControlPlane } from '../controlplane/identity.js';
import { inventoryStore, readLiveWithInventory, type SharedInventory } from '../apply/inventory.js';
import type { PlanReuse } from '../incremental/plan-reuse.js';
import type { ApplierSource } from '../model/appliers.js';
import { appliedByAnother } from '../plan/applied-by-another.js';
import type { LoadCounts, LoadResult, ValidationError } from '../manifests/types.js';
import type { FolderRead } from '../manifests/config.js';
import type { ObjectKind } from '../model/common.js';
import type { DesiredState } from '../model/desired.js';
import type { Plan, PlanControlPlane } from '../model/plan.js';
import type { PlanOptions, PlanShape } from '../plan/index.js';
import { driftSince, type LastApplied, type RefreshReport } from '../plan/refresh.js';
import type { PaceListener } from '../util/pacer.js';
import { loadRepository, type FileAnalysis, type LoaderOptions } from '../manifests/index.js';
import type { LiveState, SettingsNeed } from '../model/live.js';
import type { TransportLimits, WaitListener } from '../util/transport-limits.js';

/** How `poolsync plan` and `apply` reach the control plane they open (their flags). */
export interface ControlPlaneAccess {
  target: Target;
  opening: Opening;
  /** `--state-dir`: where this machine keeps apply's records (the inventory's file). */
  stateDir: string;
  /** The inventory shared across machines (`--inventory`, `--lock`), or null. */
  sharedInventory: SharedInventory | null;
  maxRetries: number;
  limits?: TransportLimits;
  parallelism?: number;
  onPace?: PaceListener;
  onWait?: WaitListener;
}

export type PlanSource =
  | ({ kind: 'acquire' } & ControlPlaneAccess)
  | {
      kind: 'open';
      /** Told which default-queue settings the plan needs (src/plan/fingerprint.ts). */
      readLive: LiveReading;
      /** What that control plane manages (BACKEND_KIND errors, config-only kinds). */
      backend?: BackendInfo;
      /** The control plane the plan names in its header (docs/plan.md). */
      controlPlane?: PlanControlPlane;
    };

type AcquireSource = Extract<PlanSource, { kind: 'acquire' }>;
type OpenSource = Extract<PlanSource, { kind: 'open' }>;

export type PlanDesired =
  | {
      kind: 'folder';
      dir: string;
      /** poolsync.yaml and the walk, read once for several environments (manifests/config.ts). */
      shared?: FolderRead;
      /** The folder as the user named it, when `dir` is a temporary copy (`--at`, promote). */
      shown?: string;
    }
  | {
      kind: 'loaded';
      desired: DesiredState;
      plans?: PlanReuse;
    };

export interface PlanRunInput {
  source: PlanSource;
  desired: PlanDesired;
  commit: string | null;
  /** docs/environments.md; null without environments. */
  environment: string | null;
  shape?: PlanShape & Pick<PlanOptions, 'baseGuardrails' | 'baseRepository'>;
  /** The repository planned (src/ops/repository.ts); absent: a folder's, by its Git remote. */
  repository?: string;
  /** With `repository`: its folder's path (PlanOptions.folder). */
  folder?: string;
  /** With `repository`: where the plan runs (PlanOptions.applier). */
  applier?: ApplierSource;
}

export interface Planned {
  kind: 'errors' | 'changes' | 'no_changes';
  plan: Plan;
  counts: LoadCounts | null;
  desired: DesiredState;
  /** The kinds the backend takes as configuration only (rendered to files, never planned). */
  configKinds?: readonly ObjectKind[];
}

export type PlanOutcome =
  /** The repository has validation errors: nothing was read from the control plane. */
  | { kind: 'invalid'; errors: ValidationError[]; counts: LoadCounts }
  /** The live state could not be read (plan.md: the plan fails; the reason is the caller's to show). */
  | { kind: 'unreadable'; error: unknown }
  | Planned;

class LiveStateUnreadable extends Error {
  constructor(readonly failure: unknown) {
    super('live state unreadable');
  }
}

type Made =
  | { ok: false; errors: ValidationError[]; counts: LoadCounts }
  | (Omit<Planned, 'kind'> & { ok: true });

/** A desired state the caller loaded is valid: its plan is never `invalid`. */
export function planRun(
  input: PlanRunInput & { desired: { kind: 'loaded' } },
): Promise<Exclude<PlanOutcome, { kind: 'invalid' }>>;
export function planRun(input: PlanRunInput): Promise<PlanOutcome>;
export async function planRun(input: PlanRunInput): Promise<PlanOutcome> {
  const { source } = input;
  try {
    if (source.kind === 'acquire') return await acquired(input, source);
    return await planned(input, source.readLive, source);
  } catch (err) {
    if (err instanceof LiveStateUnreadable) return { kind: 'unreadable', error: err.failure };
    throw err;
  }
}

/** The one answer to "is there anything to do" (plan, apply, the daemon's gate). */
export function classify(plan: Plan): Planned['kind'] {
  if (plan.errors.length > 0) return 'errors';
  // Blocked and unmanaged objects alone are not changes: nothing would be sent.
  return plan.steps.length > 0 ? 'changes' : 'no_changes';
}

async function acquired(input: PlanRunInput, source: AcquireSource): Promise<PlanOutcome> {
  const { url } = source.target;
  // Asked before opening: the header warns when this is a new, empty embedded state.
  const stateWasNew = embeddedStateIsNew(url);
  const cp = await openReading(source);
  // Recorded in the plan and named in its header: `apply PLANFILE` refuses it on any other.
  const controlPlane = {
    ...(input.environment !== null ? { environment: input.environment } : {}),
    ...planControlPlane(url, cp, stateWasNew),
  };
  let closing: Promise<void> | null = null;
  const close = () => (closing ??= cp.close());
  try {
    // Closed once the live state is read whole: 100,000 objects are ~40 MB the plan never needs
    // (one with some settings only stays open: the plan may need all, plan/fingerprint.ts).
    const store = inventoryStore(cp, url, {
      stateDir: source.stateDir,
      shared: source.sharedInventory,
      env: source.opening.vars,
      limits: source.limits,
      onWait: source.onWait,
    });
    const readLive: LiveReading = async (need, before) => {
      const live = await readLiveWithInventory(cp, store, need, undefined, before);
      if (live.default_queues_read === undefined) await close();
      return live;
    };
    // In pull-request mode the base branch's destroy budget and repository bind (docs/plan.md,
    // Guardrails, Prune scope), read with Git in the user's folder: a temporary copy is no repository.
    const { desired } = input;
    const dir = desired.kind === 'folder' ? (desired.shown ?? desired.dir) : null;
    const pins = await pullRequestPins(source.opening, dir, input.environment);
    const bound = pins ? { ...input, shape: { ...input.shape, ...pins } } : input;
    return await planned(bound, readLive, { backend: backendInfo(cp), controlPlane });
  } finally {
    await close();
  }
}

/** Read-only (no writer lock, no snapshot rewrite), read when first needed (not when invalid). */
function openReading(source: AcquireSource): Promise<ControlPlane> {
  const options = { readOnly: true, lazyRead: true, ...openOptions(source, source.parallelism) };
  return openTarget(source.target, source.opening, options);
}

export function openOptions(access: ControlPlaneAccess, connections: number | undefined) {
  const { maxRetries, limits, onPace, onWait } = access;
  return { http: { connections: connections || undefined, maxRetries, limits, onPace, onWait } };
}

/** `plan --refresh-only` (docs/plan.md): drift since the `last` apply; no default-queue setting. */
export async function refreshRun(source: AcquireSource, last: LastApplied): Promise<RefreshReport> {
  const cp = await openReading(source);
  try {
    return driftSince(last, await readLiveState(cp, []));
  } finally {
    await cp.close();
  }
}

async function planned(
  input: PlanRunInput,
  read: LiveReading,
  cp: Pick<OpenSource, 'backend' | 'controlPlane'>,
): Promise<PlanOutcome> {
  const { desired } = input;
  const readLive: LiveReading = (need, before) =>
    read(need, before).catch((err: unknown) => {
      throw new LiveStateUnreadable(err);
    });
  // Named by the folder as the user gave it: a temporary copy (--at, promote) is no repository.
  const {
    repository = null,
    folder,
    applier,
  } = input.repository !== undefined
    ? input
    : desired.kind === 'folder'
      ? await repositoryNames(desired.shown ?? desired.dir)
      : {};
  const common = {
    commit: input.commit,
    environment: input.environment ?? undefined,
    shared: desired.kind === 'folder' ? desired.shared : undefined,
    plan: {
      commit: input.commit,
      backend: cp.backend,
      ...input.shape,
      repository,
      folder,
      applier,
    },
  };
  let made: Made & { live?: LiveState };
  if (desired.kind === 'loaded') {
    const opts = { ...common, plans: desired.plans };
    const { plan, live } = await planDesired(desired.desired, readLive, opts);
    made = { ok: true, plan, live, counts: null, desired: desired.desired };
  } else {
    made = await planRepository(desired.dir, readLive, common);
  }
  if (!made.ok) return { kind: 'invalid', errors: made.errors, counts: made.counts };
  const { controlPlane } = cp;
  const plan = controlPlane ? { ...made.plan, control_plane: controlPlane } : made.plan;
  const configKinds = cp.backend?.configKinds ?? [];
  const { counts } = made;
  return { kind: classify(plan), plan, counts, desired: made.desired, configKinds };
}

export type PipelineResult =
  | { ok: false; errors: ValidationError[]; counts: LoadCounts }
  | {
      ok: true;
      plan: Plan;
      desired: DesiredState;
      live: LiveState;
      counts: LoadCounts;
      timings: { load_ms: number; live_ms: number; plan_ms: number };
    };

export type LiveSource = ControlPlane | LiveReading;
/** Told the settings the plan needs; `before`, a state read already: only its settings again. */
export type LiveReading = (need: SettingsNeed, before?: LiveState) => Promise<LiveState>;

export interface PipelineOptions extends LoaderOptions {
  /** The one request, handed whole to the planner (and to `plans`' key). */
  plan?: PlanOptions;
  /** Each file's analysis as the loader reads it (loadRepository's onAnalysed): src/incremental/. */
  onAnalysed?: (file: string, analysis: FileAnalysis) => void;
  /** The daemon unit's plan reuse (src/incremental/plan-reuse.ts). */
  plans?: PlanReuse;
}

export async function planRepository(
  dir: string,
  source: LiveSource,
  opts: PipelineOptions = {},
): Promise<PipelineResult> {
  const t0 = performance.now();
  const loaded = await loadDesired(dir, opts);
  if (!loaded.valid) return { ok: false, errors: loaded.errors, counts: loaded.counts };
  const t1 = performance.now();
  const planned = await planDesired(loaded.desired, source, opts);
  return {
    ok: true,
    plan: planned.plan,
    desired: loaded.desired,
    live: planned.live,
    counts: loaded.counts,
    timings: { load_ms: t1 - t0, live_ms: planned.live_ms, plan_ms: planned.plan_ms },
  };
}

/** Load and validate DIR (the daemon keeps it per commit). */
export function loadDesired(dir: string, opts: PipelineOptions = {}): Promise<LoadResult> {
  return loadRepository(dir, opts, opts.onAnalysed);
}

/** With the settings the plan needs (plan/fingerprint.ts: all to drain, delete or move a queue). */
export async function planDesired(
  desired: DesiredState,
  source: LiveSource,
  opts: PipelineOptions = {},
): Promise<{ plan: Plan; live: LiveState; live_ms: number; plan_ms: number }> {
  const read: LiveReading =
    typeof source === 'function'
      ? source
      : (need, before) =>
          before
            ? readSettingsAgain(source, before, need(undefined))
            : readLiveState(source, need(undefined));
  const request: PlanOptions = {
    ...opts.plan,
    backend: opts.plan?.backend ?? (typeof source === 'function' ? undefined : backendInfo(source)),
  };
  // Loaded here: a command that fails before planning never loads the planner.
  const [{ planAgainst }, scope] = await Promise.all([
    import('../plan/index.js'),
    import('../plan/fingerprint.js'),
  ]);
  const { plans } = opts;
  const planner = plans ? plans.plan.bind(plans) : planAgainst;
  let live_ms = 0;
  let plan_ms = 0;
  const out = await scope.planWithSettings(
    desired,
    async (need, before) => {
      const t0 = performance.now();
      const live = await read(need, before);
      live_ms += performance.now() - t0;
      return live;
    },
    (live) => {
      const t0 = performance.now();
      const plan = planner(desired, live, request);
      plan_ms += performance.now() - t0;
      return plan;
    },
  );
  // After the planner (and its reuse): who last wrote an object is no part of the live state it keys on.
  const plan = appliedByAnother(out.plan, out.live, request.applier);
  return { ...out, plan, live_ms, plan_ms };
}

/** The commit a plan of DIR records: HEAD, unless DIR has local changes (or is not in Git). */
export async function cleanCommit(dir: string): Promise<string | null> {
  // One git process: "# branch.oid <HEAD>", then a line per changed or untracked path under DIR
  // (more than gitAnswer's bound of output is changes too: null).
  const stdout = await gitAnswer(['status', '--porcelain=v2', '--branch', '--', '.'], { cwd: dir });
  let head: string | null = null;
  for (const line of stdout?.split('\n') ?? []) {
    if (line.startsWith('# branch.oid ')) head = line.slice('# branch.oid '.length).trim();
    else if (line !== '' && !line.startsWith('#')) return null;
  }
  return head !== null && /^[0-9a-f]{40,64}$/.test(head) ? head : null;
}
