/**
 * The stages that read the repository. A failed fetch schedules a retry and ends the run, except
 * for a drift check, which keeps reconciling the last fetched commit (Git being down must not
 * stop drift correction). A Git-only trigger (poll, retry, webhook) of a commit already
 * evaluated ends the run as `unchanged`: nothing is planned again.
 */
import type { SourceSnapshot } from '../git-source.js';
import type { RollbackPin, RunRollback } from '../rollback.js';
import type { TriggerReason } from '../loop.js';
import { reachedCommit, type RunResult } from '../run-result.js';
import { rollbackWords, runWords } from '../../render/daemon-words.js';
import { appliedRulesOf, loadedPolicy, runPolicy } from './merged-rules.js';
import {
  type BranchRules,
  isOutcome,
  type Outcome,
  problem,
  problemsUpdate,
  reachedUpdate,
  type RunContext,
  type RunMemory,
  type Staged,
  type StatusUpdate,
} from './context.js';
import { existsSync } from 'node:fs';
import { type ControlPlane, readCapabilities } from '../../controlplane/types.js';
import type { LoadResult } from '../../manifests/types.js';
import { relocated } from '../../manifests/report.js';
import type { DesiredState, RepoConfig } from '../../model/desired.js';
import { deepFreeze } from '../../util/deep-freeze.js';
import {
  type DaemonStatus,
  deployed,
  type RenderedFileStatus,
  type RunRecord,
  type StatusError,
  totalOf,
} from '../status.js';

const GIT_ONLY = new Set<TriggerReason>(['poll', 'retry', 'webhook']);
/** Outcomes that a re-run of the same commit would only repeat (drift is the drift timer's job). */
const SETTLED = new Set<RunResult>(['in_sync', 'left_unpruned', 'applied', 'invalid', 'planned']);

export async function fetchStage(ctx: RunContext): Promise<Staged<SourceSnapshot>> {
  const { o, state } = ctx;
  let snapshot: SourceSnapshot;
  let git: DaemonStatus['git'];
  try {
    // The first run takes the start's fetch (discoverEnvironments) when that one failed.
    snapshot = await o.source.sync(ctx.reasons.has('startup') ? 'start' : ctx.requestedAt);
    git = {
      lastFetchAt: ctx.now().toISOString(),
      lastError: null,
      consecutiveFailures: 0,
      nextRetryAt: null,
    };
  } catch (err) {
    // A shutdown stopped the fetch (GitSource.stop, at once when asked while the daemon started):
    // no fetch failed (docs/daemon.md#shutdown).
    if (ctx.signal.aborted || o.source.stopped)
      return {
        value: { result: 'stopped', commit: state.commit, message: runWords.shuttingDown() },
      };
    const message = o.redactor.errorMessage(err);
    const failures = state.git.consecutiveFailures + 1;
    o.metrics.gitFetchFailures.inc();
    const retryAt = o.retry?.schedule(failures) ?? null;
    git = {
      ...state.git,
      lastError: message,
      consecutiveFailures: failures,
      nextRetryAt: retryAt?.toISOString() ?? null,
    };
    const last = o.source.last;
    if (!last || !ctx.reasons.has('drift'))
      return {
        value: {
          result: 'failed',
          commit: state.commit,
          message: runWords.fetchFailed(failures, message),
        },
        status: { git, ...problemsUpdate([problem('GIT_FETCH', message)]) },
      };
    o.logger.warn(
      { commit: last.commit },
      `fetch failed, checking drift against the last fetched commit: ${message}`,
    );
    snapshot = last;
  }
  const head = snapshot;
  const pinned = await rolledBack(ctx, head, git.lastError === null);
  if (pinned !== null && 'result' in pinned) return { value: pinned, status: { git } };
  if (pinned !== null) snapshot = pinned.snapshot;
  const products =
    pinned === null
      ? {}
      : {
          rollback: pinned.rollback,
          branch: head,
          ...(pinned.pending ? { rollbackPending: pinned.pending } : {}),
        };
  const { commit } = snapshot;
  const status = { git, commit };
  const gitOnly = [...ctx.reasons].every((r) => GIT_ONLY.has(r));
  if (
    gitOnly &&
    commit !== null &&
    commit === ctx.memory.lastEvaluatedCommit &&
    state.outcome !== null &&
    SETTLED.has(state.outcome)
  ) {
    const message = runWords.unchanged(commit);
    return { value: { result: 'unchanged', commit, message }, status, products };
  }
  return { value: snapshot, status, products };
}

/**
 * While a rollback holds (daemon/rollback.ts), the commit rolled back to instead of the branch
 * head; a head other than the one it was asked at lifts it (read only from a fetch that worked).
 */
async function rolledBack(
  ctx: RunContext,
  head: SourceSnapshot,
  fetched: boolean,
): Promise<
  { snapshot: SourceSnapshot; rollback: RunRollback; pending: RollbackPin | null } | Outcome | null
> {
  const { o } = ctx;
  // Another replica may have rolled back (or lifted it) since: what they share is read first.
  await o.rollback
    ?.refresh()
    .catch((err: unknown) =>
      o.logger.warn({ err: o.redactor.errorMessage(err) }, 'cannot read the shared rollback'),
    );
  const pin = o.rollback?.current ?? null;
  if (pin === null) return null;
  if (fetched && pin.branchHead === null) {
    await o.rollback!.headSeen(head.commit);
    const seen = o.rollback!.current!;
    o.logger.info({ rollback: seen }, rollbackWords.holding(seen));
  } else if (fetched && head.commit !== pin.branchHead) {
    await o.rollback!.lift();
    o.logger.info(
      { commit: head.commit, rollback: pin },
      runWords.rollbackLifted(pin.run, head.commit),
    );
    return null;
  }
  const rollback = { to: pin.run, commit: pin.commit };
  const pending = tookHold(ctx.state.runs, o.rollback!.current!) ? null : o.rollback!.current!;
  try {
    if (!o.source.at) throw new Error(rollbackWords.watchedFolder);
    return { snapshot: await o.source.at(pin.commit), rollback, pending };
  } catch (err) {
    const message = runWords.rollbackUnreadable(pin.run, o.redactor.errorMessage(err));
    return { result: 'failed', commit: pin.commit, message };
  }
}

/**
 * Whether a run since `pin` was asked planned its commit without errors (its apply began, or it
 * ended in sync, planned, held or frozen): from then on a plan error fails a run, not the rollback.
 */
function tookHold(runs: readonly RunRecord[], pin: RollbackPin): boolean {
  return runs.some(
    (r) =>
      r.rollback?.to === pin.run &&
      r.startedAt >= pin.since &&
      (r.phasesMs.apply !== undefined || !['failed', 'invalid', 'stopped'].includes(r.result)),
  );
}

/**
 * Stage load (src/ops/plan-run.ts's first half). Any error ends the run as `invalid`: nothing is
 * applied and /status lists the errors with file:line:col (manifests.md). A commit's manifests
 * never change, so runs of the same commit reuse them; a folder on disk is always read again.
 */
export async function loadStage(
  ctx: RunContext,
  { commit, dir, root }: SourceSnapshot,
): Promise<Staged<DesiredState>> {
  const { loaded } = ctx.memory;
  ctx.enter(commit !== null && loaded?.commit === commit ? 'load_reused' : 'load');
  let remember: Partial<RunMemory> = {};
  let load: LoadResult | null = null;
  if (!existsSync(dir)) load = null;
  else if (!ctx.o.pipeline.reloadEveryRun && commit !== null && loaded?.commit === commit)
    load = loaded.result;
  else {
    // The checkout is the boundary: a --path that is (or sits under) a link is refused.
    load = await ctx.o.pipeline.loadRepository(dir, { commit, root });
    remember = { loaded: commit === null ? null : { commit, result: load } };
  }
  if (load !== null && load.valid) return { value: load.desired, remember };
  const errors: StatusError[] =
    load === null
      ? [problem('IO', runWords.noFolder(ctx.repoPath, commit))]
      : loadErrors(ctx, load);
  // Readiness needs proof the control plane answers, even when the commit is invalid (asked until
  // it answers); what the probe met is /status `controlPlane`, as a plan's read would set it.
  const probe = ctx.memory.controlPlaneAnswered ? {} : await probed(ctx);
  return {
    value: { result: 'invalid', commit, message: runWords.invalid(errors.length, commit) },
    status: { ...problemsUpdate(errors), ...probe },
    remember: {
      ...remember,
      lastEvaluatedCommit: commit,
      ...(probe.controlPlane?.reachable ? { controlPlaneAnswered: true } : {}),
    },
  };
}

/** The control plane's capabilities read, for its answer or its error alone. */
async function probed(ctx: RunContext): Promise<StatusUpdate> {
  const { o } = ctx;
  const read = async (cp: ControlPlane) => (await readCapabilities(cp), cp.backend.name);
  return o.controlPlane.read(read, ctx.term).then(
    (backend) => reachedUpdate(backend, null, ctx.now()),
    (err: unknown) =>
      reachedUpdate(null, runWords.probeFailed(o.redactor.errorMessage(err)), ctx.now()),
  );
}

/**
 * Stage drift base (docs/daemon.md#an-invalid-head): a drift run of an invalid head (a validation
 * error, or a plan error) plans the commit the control plane was last brought to instead, as a rollback plans its commit: under
 * the branch's last valid commit's rules (rulesStage, with the head as `branch`), so drift is
 * still found and put back, the head still judged invalid. Since a restart, with no valid commit
 * loaded, that commit's own rules, unless the history names a later commit evaluated; else, and
 * for any other trigger, the head's outcome stands, a drift run saying why drift is not checked.
 */
export async function driftBaseStage(
  ctx: RunContext,
  head: SourceSnapshot,
  invalid: Outcome,
  rolledBack: boolean,
): Promise<Staged<SourceSnapshot>> {
  const { o, memory } = ctx;
  if (!ctx.reasons.has('drift') || rolledBack) return { value: invalid };
  const unchecked = (why: string): Staged<SourceSnapshot> => ({
    value: { ...invalid, message: `${invalid.message}; ${runWords.driftUnchecked(why)}` },
  });
  const base = driftBase(ctx.state.runs);
  if (base === null || !o.source.at) return unchecked(runWords.noDriftBase);
  const rulesKnown = memory.branchRules !== undefined;
  if (!rulesKnown && !base.alone) return unchecked(runWords.driftRulesUnknown(base.commit));
  try {
    const snapshot = await o.source.at(base.commit);
    const invalidHead = {
      commit: head.commit,
      result: invalid.result,
      errors: ctx.state.errors,
      errorsTotal: totalOf(ctx.state.errors, ctx.state.errorsTotal),
      base: base.commit,
    };
    return { value: snapshot, products: { invalidHead, ...(rulesKnown ? { branch: head } : {}) } };
  } catch (err) {
    return unchecked(runWords.driftBaseUnreadable(base.commit, o.redactor.errorMessage(err)));
  }
}

/**
 * The commit the kept runs (newest first) last brought the control plane to: the newest run that
 * changed it or found it equal, a drift run of an invalid head by the commit it checked against.
 * `alone`: no run since evaluated another commit (one of the invalid ones aside) and it was no
 * rollback's, so its poolsync.yaml was the branch's last.
 */
function driftBase(runs: readonly RunRecord[]): { commit: string; alone: boolean } | null {
  // An invalid head's run of an older history, which kept no `checkedAgainst`, names none.
  const brought = (r: RunRecord) => r.checkedAgainst ?? (r.result === 'invalid' ? null : r.commit);
  const i = runs.findIndex((r) => brought(r) !== null && (reachedCommit(r.result) || deployed(r)));
  const commit = i < 0 ? null : brought(runs[i]!);
  if (!commit) return null;
  const invalid = new Set(runs.filter((r) => r.result === 'invalid').map((r) => r.commit));
  // Its own run too: a drift run of a head whose plan failed names that (valid) head.
  const since = runs
    .slice(0, i + 1)
    .every((r) => r.commit === null || r.commit === commit || invalid.has(r.commit));
  return { commit, alone: since && runs[i]!.rollback === undefined };
}

/** The errors with every place from the repository's root, the places messages name too (as `validate`'s). */
function loadErrors(ctx: RunContext, load: LoadResult): StatusError[] {
  return load.errors.map((e) => {
    const { code, message, address, file, line, column } = relocated(e, (f) => ctx.repoRelative(f));
    return { code, message, location: `${file}:${line}:${column}`, address };
  });
}

const rulesOf = ({ approvers, policies, guardrails }: RepoConfig): BranchRules => ({
  ...(approvers && { approvers }),
  ...(policies && { policies }),
  ...(guardrails && { guardrails }),
});

/** A rolled-back commit's desired state under the branch's rules, one per pair (plans reuse it). */
const governed = new WeakMap<DesiredState, { rules: BranchRules; desired: DesiredState }>();

/**
 * Stage rules (docs/daemon.md#rollback): who may approve, sync, suspend and override, the
 * policies (read from the branch's checkout) and the guardrails are the followed branch's, of its
 * last valid commit. A run of the branch goes by the commit it loaded; a rollback's by the branch
 * head (`branch`), never by the commit rolled back to, which may predate them. Unknown (a restart
 * on an invalid head), nothing is applied. Where the last applied commit's `policy` or approvers
 * are tighter, they hold (merged-rules.ts): `at` is the commit the rules are read from.
 */
export async function rulesStage(
  ctx: RunContext,
  desired: DesiredState,
  branch: SourceSnapshot | undefined,
  at: SourceSnapshot,
): Promise<Staged<DesiredState>> {
  const { o } = ctx;
  const applied = await appliedRulesOf(ctx, at);
  const ruled = await governedBy(ctx, desired, branch);
  if (isOutcome(ruled.value)) return ruled;
  const policy = runPolicy(loadedPolicy(ctx.o.config, desired.config), applied);
  o.approvals.setApprovers(ruled.value.config.approvers, applied);
  return {
    ...ruled,
    status: { policy: policy.policy, policyLastApplied: policy.lastApplied },
    products: { policy },
    remember: { ...ruled.remember, ...(applied ? { appliedRules: applied } : {}) },
  };
}

/** The loaded commit under the branch's rules (rulesStage), or why they are not known. */
async function governedBy(
  ctx: RunContext,
  desired: DesiredState,
  branch: SourceSnapshot | undefined,
): Promise<Staged<DesiredState>> {
  const { o, memory } = ctx;
  if (branch === undefined) {
    const { commit } = desired;
    const known = commit === null || memory.branchRules?.commit === commit;
    return {
      value: desired,
      ...(known ? {} : { remember: { branchRules: { commit, rules: rulesOf(desired.config) } } }),
    };
  }
  let remember: Partial<RunMemory> = {};
  let rules = memory.branchRules?.commit === branch.commit ? memory.branchRules.rules : null;
  if (rules === null) {
    const load = await o.pipeline.loadRepository(branch.dir, {
      commit: branch.commit,
      root: branch.root,
    });
    // An invalid head changes no rule: its last valid commit's stay (unknown after a restart).
    rules = load.valid ? rulesOf(load.desired.config) : (memory.branchRules?.rules ?? null);
    if (rules === null) {
      const message = runWords.branchInvalid(branch.commit, load.errors.length);
      const status = problemsUpdate(loadErrors(ctx, load));
      return { value: { result: 'failed', commit: desired.commit, message }, status };
    }
    remember = { branchRules: { commit: branch.commit, rules } };
  }
  let made = governed.get(desired);
  if (made?.rules !== rules) {
    const { approvers: _a, policies: _p, guardrails: _g, ...own } = desired.config;
    made = { rules, desired: deepFreeze({ ...desired, config: { ...own, ...rules } }) };
    governed.set(desired, made);
  }
  return { value: made.desired, remember };
}

/**
 * Stage render: the files poolsync.yaml `render` names (what Helm / Argo CD / Flux deploy),
 * rendered from the loaded commit; those that differ from the committed ones are listed in
 * /status `renderedFiles`. With --commit-rendered the daemon commits + pushes them; the push
 * starts a run whose render matches, so it never loops. A failure to commit is logged and the
 * run goes on: the files are a convenience for the deploy pipeline, not the reconcile. A diff
 * longer than DIFF_LIMIT is cut in /status (the file itself is in the repository).
 */
const DIFF_LIMIT = 64 * 1024;

export async function renderStage(
  ctx: RunContext,
  snapshot: SourceSnapshot,
  desired: DesiredState,
): Promise<Staged<null>> {
  const { o } = ctx;
  if (!desired.config.render) return { value: null, status: { renderedFiles: [] } };
  const { commit, dir } = snapshot;
  // A commit's files never change: compared once (a folder on disk, every run).
  if (commit !== null && ctx.memory.renderedCommit === commit) return { value: null };
  const { changed, contents } = await compared(ctx, dir, desired);
  const status = { renderedFiles: changed };
  // A run whose leadership term ended pushes nothing (the new leader renders the same).
  if (
    changed.length === 0 ||
    !o.config.commitRendered ||
    !o.source.commitFiles ||
    ctx.term.signal.aborted
  )
    return { value: null, status, remember: { renderedCommit: commit } };
  // --commit-rendered: the files that differ committed and pushed (`committed` set on each).
  const paths = changed.map((f) => f.path);
  try {
    const pushed = await o.source.commitFiles(
      changed.map((f) => ({ path: f.path, content: contents.get(f.path)! })),
      runWords.renderCommit(paths, commit),
    );
    for (const f of changed) f.committed = pushed;
    o.logger.info({ files: paths, commit: pushed }, 'committed rendered files');
    return { value: null, status, remember: { renderedCommit: commit } };
  } catch (err) {
    const error = o.redactor.errorMessage(err);
    o.logger.warn({ files: paths, err: error }, 'cannot commit rendered files');
    // Tried again on the next commit or drift run.
    return { value: null, status, remember: { renderedCommit: null } };
  }
}

async function compared(
  ctx: RunContext,
  dir: string,
  desired: DesiredState,
): Promise<{ changed: RenderedFileStatus[]; contents: Map<string, string> }> {
  const { o } = ctx;
  const { renderTargets } = await import('../../render/values.js');
  const changed: RenderedFileStatus[] = [];
  const contents = new Map<string, string>();
  for (const target of await renderTargets(dir, desired)) {
    if ('error' in target) {
      const err = o.redactor.errorMessage(target.error);
      const what = 'unreadable' in target ? 'cannot read the rendered file' : 'cannot render';
      o.logger.warn({ file: target.path, err }, what);
      continue;
    }
    if (target.status === 'same') continue;
    contents.set(target.path, target.content);
    changed.push({
      kind: target.kind,
      path: target.path,
      status: target.status,
      diff:
        target.diff.length > DIFF_LIMIT
          ? `${target.diff.slice(0, DIFF_LIMIT)}\n… (diff cut at ${DIFF_LIMIT} bytes)\n`
          : target.diff,
      committed: null,
    });
  }
  return { changed, contents };
}
