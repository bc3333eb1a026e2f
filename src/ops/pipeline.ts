/**
 * The I/O edge around the pure planner, shared by `plan`, `apply`, pull-request comments and
 * the daemon's load and plan stages: load + validate the repository, read the live state, plan
 * (src/plan/index.ts), and the commit a folder's plan records (`git status`). The caller
 * opens (and closes) the control plane, so it can keep using it (apply) or open it per use
 * (daemon).
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { LoadCounts, LoadResult, ValidationError } from '../manifests/types.js';
import { loadRepository, type FileAnalysis, type LoaderOptions } from '../manifests/index.js';
import type { PlanReuse } from '../incremental/plan-reuse.js';
import { backendInfo, readLiveState, type ControlPlane } from '../controlplane/types.js';
import type { DesiredState } from '../model/desired.js';
import type { LiveState, SettingsNeed } from '../model/live.js';
import type { Plan } from '../model/plan.js';
import type { PlanShapeOptions } from '../plan/index.js';

export type PipelineResult =
  /** The repository has validation errors: nothing was read from the control plane. */
  | { ok: false; errors: ValidationError[]; counts: LoadCounts }
  | {
      ok: true;
      plan: Plan;
      desired: DesiredState;
      live: LiveState;
      counts: LoadCounts;
      timings: PipelineTimings;
    };

export interface PipelineTimings {
  load_ms: number;
  live_ms: number;
  plan_ms: number;
}

/**
 * Where the live state comes from: a control plane, or a reader of one the caller manages,
 * told which default-queue settings the plan needs (src/plan/fingerprint.ts).
 */
export type LiveSource = ControlPlane | LiveReading;
export type LiveReading = (need: SettingsNeed) => Promise<LiveState>;

/**
 * The loader's options and the planner's: what shapes a plan of a folder. `analyses`: the
 * daemon unit's memory layer (src/incremental/analysis-cache.ts); absent, a one-shot load.
 */
export interface PipelineOptions extends PlanShapeOptions, LoaderOptions {
  /** Each file's analysis as the loader reads it (loadRepository's onAnalysed): src/incremental/. */
  onAnalysed?: (file: string, analysis: FileAnalysis) => void;
  /**
   * The daemon unit's reuse of the plan of the same desired state object against an identical
   * live state (src/incremental/plan-reuse.ts): it plans one validated commit again and again.
   */
  plans?: PlanReuse;
}

/** Load, validate and plan DIR; `first`: a live state read already (planDesired). */
export async function planRepository(
  dir: string,
  source: LiveSource,
  opts: PipelineOptions = {},
  first: LiveState | null = null,
): Promise<PipelineResult> {
  const t0 = performance.now();
  const loaded = await loadDesired(dir, opts);
  if (!loaded.valid) return { ok: false, errors: loaded.errors, counts: loaded.counts };
  const t1 = performance.now();
  const planned = await planDesired(loaded.desired, source, opts, first);
  return {
    ok: true,
    plan: planned.plan,
    desired: loaded.desired,
    live: planned.live,
    counts: loaded.counts,
    timings: { load_ms: t1 - t0, live_ms: planned.live_ms, plan_ms: planned.plan_ms },
  };
}

/** First half of planRepository: load and validate DIR (the daemon keeps it per commit). */
export function loadDesired(dir: string, opts: PipelineOptions = {}): Promise<LoadResult> {
  return loadRepository(dir, opts, opts.onAnalysed);
}

/**
 * Second half of planRepository: read the live state (the settings the plan needs: live-scope.ts)
 * and plan a valid desired state against it; again with every setting when the plan drains,
 * deletes or moves a queue (which a setting of any scope may forbid). `first`: a live state
 * read already, planned against when it holds the settings the plan needs.
 */
export async function planDesired(
  desired: DesiredState,
  source: LiveSource,
  opts: PipelineOptions = {},
  first: LiveState | null = null,
): Promise<{ plan: Plan; live: LiveState; live_ms: number; plan_ms: number }> {
  const read: LiveReading =
    typeof source === 'function' ? source : (need) => readLiveState(source, need(undefined));
  const backend = opts.backend ?? (typeof source === 'function' ? undefined : backendInfo(source));
  // Loaded when first needed: `plan` given a remembered result never loads the planner.
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
    async (need) => {
      const t0 = performance.now();
      const live = await read(need);
      live_ms += performance.now() - t0;
      return live;
    },
    (live) => {
      const t0 = performance.now();
      const plan = planner(desired, live, { ...opts, backend });
      plan_ms += performance.now() - t0;
      return plan;
    },
    first,
  );
  return { ...out, live_ms, plan_ms };
}

/**
 * The commit to record in a plan of DIR: the HEAD commit when DIR is in a Git work tree
 * without local changes under DIR; else null (the plan would not be that commit's).
 */
export async function cleanCommit(dir: string): Promise<string | null> {
  // One git process: porcelain v2 with --branch prints "# branch.oid <HEAD>" and then one line
  // per changed or untracked path under DIR.
  try {
    const { stdout } = await promisify(execFile)(
      'git',
      ['status', '--porcelain=v2', '--branch', '--', '.'],
      { cwd: dir, maxBuffer: 64 * 1024 * 1024 },
    );
    let head: string | null = null;
    for (const line of stdout.split('\n')) {
      if (line.startsWith('# branch.oid ')) head = line.slice('# branch.oid '.length).trim();
      else if (line !== '' && !line.startsWith('#')) return null;
    }
    return head !== null && /^[0-9a-f]{40,64}$/.test(head) ? head : null;
  } catch {
    return null;
  }
}
