/**
 * Stage load: load and validate the manifests of the fetched commit (src/ops/plan-run.ts's
 * first half, injectable for tests). Any error ends the run as `invalid`: nothing is applied,
 * the control plane keeps the last applied state and /status lists the errors with
 * file:line:col (manifests.md). A commit's manifests never change, so drift and manual runs of
 * the same commit reuse its validated desired state; a folder on disk is always read again.
 */
import { existsSync } from 'node:fs';
import { readCapabilities } from '../../controlplane/types.js';
import type { LoadResult } from '../../manifests/types.js';
import type { DesiredState } from '../../model/desired.js';
import type { SourceSnapshot } from '../git-source.js';
import type { StatusError } from '../status.js';
import { runWords } from '../../render/daemon-words.js';
import { type RunContext, type RunMemory, type Staged } from './context.js';
import { problemsUpdate } from './status-update.js';
import { off } from '../../incremental/off.js';

export async function loadStage(
  ctx: RunContext,
  snapshot: SourceSnapshot,
): Promise<Staged<DesiredState>> {
  const { commit } = snapshot;
  ctx.enter(commit !== null && ctx.memory.loaded?.commit === commit ? 'load_reused' : 'load');
  const cached = existsSync(snapshot.dir) ? await loadCached(ctx, snapshot, commit) : null;
  const load = cached?.result ?? null;
  const remember: Partial<RunMemory> = cached?.remember ?? {};
  if (load !== null && load.valid) return { value: load.desired, status: {}, remember };
  const errors: StatusError[] =
    load === null
      ? [
          {
            code: 'IO',
            message: runWords.noFolder(ctx.repoPath, commit),
            location: null,
            address: null,
          },
        ]
      : load.errors.map((e) => ({
          code: e.code,
          message: e.message,
          location: `${ctx.repoRelative(e.file)}:${e.line}:${e.column}`,
          address: e.address,
        }));
  const answered = await pingControlPlane(ctx);
  return {
    value: {
      result: 'invalid',
      commit,
      message: runWords.invalid(errors.length, commit),
    },
    status: problemsUpdate(errors),
    remember: {
      ...remember,
      lastEvaluatedCommit: commit,
      ...(answered ? { controlPlaneAnswered: true } : {}),
    },
  };
}

/** The commit's load result, and the memory of it when it was loaded now (not reused). */
async function loadCached(
  ctx: RunContext,
  { dir, root }: SourceSnapshot,
  commit: string | null,
): Promise<{ result: LoadResult; remember?: Partial<RunMemory> }> {
  const { loaded } = ctx.memory;
  if (!off('loaded') && commit !== null && loaded?.commit === commit)
    return { result: loaded.result };
  // The checkout is the boundary: a --path that is (or sits under) a link is refused.
  const result = await ctx.o.pipeline.loadRepository(dir, { commit, root });
  return { result, remember: { loaded: commit === null ? null : { commit, result } } };
}

/**
 * Readiness needs proof the control plane answers, even when the commit is invalid: true when
 * it answered now (not asked again once it has).
 */
async function pingControlPlane(ctx: RunContext): Promise<boolean> {
  if (ctx.memory.controlPlaneAnswered) return false;
  try {
    await ctx.o.controlPlane.read(readCapabilities);
    return true;
  } catch {
    // reported by the next run that reads live state
    return false;
  }
}
