/**
 * Stage policies (docs/policies.md): the plan checked against the daemon's policy set (its
 * `--policies`, else the followed branch's poolsync.yaml: the base of every pull request), by
 * OPA. The result goes to /status and the metrics; the gate holds a plan they deny until an
 * owner approves exactly its failures, and one they cannot evaluate never goes on.
 */
import { join, posix, relative, sep } from 'node:path';
import type { Plan } from '../../model/plan.js';
import { classify } from '../../ops/plan-run.js';
import { policyVerdict, type PolicyReport } from '../../model/policy.js';
import { policySummary } from '../../render/policy.js';
import {
  DEFAULT_LIMITS,
  evaluatePolicies,
  failedReport,
  type PolicySet,
} from '../../policy/evaluate.js';
import { findOpa, opaMemoryMiB } from '../../policy/opa.js';
import { judgedBoth, sameFiles } from '../../policy/both-sets.js';
import { committedPolicies } from '../../policy/source.js';
import { UserError } from '../../util/user-error.js';
import { REPO_CONFIG_FILE } from '../../manifests/walk.js';
import type { Env } from '../../util/env.js';
import type { DaemonConfig } from '../config.js';
import type { Source, SourceSnapshot } from '../git-source.js';
import { readRepoConfig } from '../../manifests/config.js';
import type { DesiredState, RepoConfig } from '../../model/desired.js';
import type { Outcome, PolicyCheck, RunContext, Staged } from './context.js';

export async function policyStage(
  ctx: RunContext,
  plan: Plan,
  desired: DesiredState,
): Promise<Staged<PolicyReport | null>> {
  const check = ctx.o.policies;
  if (!check) return { value: null };
  // Nothing to apply, nothing to judge: a poll of an in-sync repository starts no OPA.
  if (classify(plan) === 'no_changes') return { value: null, status: { policies: null } };
  const applied = ctx.state.appliedCommit;
  const report = await ctx.timed('policies', () => check.run(plan, desired, applied));
  if (report === null) return { value: null, status: { policies: null } };
  const approved = ctx.o.policyApprovals?.of(report);
  const shown = approved ? { ...report, approval: approved } : report;
  const { metrics } = ctx.o;
  const verdict = policyVerdict(shown);
  metrics.policyEvaluations.inc({ result: verdict });
  metrics.policyFailures.set(verdict === 'error' ? 1 : report.deny.length);
  metrics.policyWarnings.set(report.warn.length);
  metrics.policyDuration.observe(report.elapsed_ms / 1000);
  return { value: shown, status: { policies: shown } };
}

/** The run's end when the policies stop it: denied (held for an owner) or not evaluated. */
export function policyGate(report: PolicyReport | null, commit: string | null): Outcome | null {
  if (report === null) return null;
  const verdict = policyVerdict(report);
  if (verdict === 'error') return { result: 'failed', commit, message: policySummary(report) };
  if (verdict === 'deny')
    return { result: 'waiting_for_approval', commit, message: policySummary(report) };
  return null;
}

/**
 * A unit's policy checks: `follow` each time a run loads the followed branch (its rules, its
 * checkout), whether or not the run applies; `run` for its own runs, `pullRequest` for the plans
 * of pull requests, both checked by that set and the last applied commit's, never by the pull
 * request's. Before a run has
 * loaded a valid commit of the branch, a pull request's set is read from the branch's head as
 * last fetched (`source.tip`): its poolsync.yaml decides, whatever its manifests' errors; only one
 * that cannot be read or is invalid fails the plan closed (`--policies` still checks it). After,
 * a pull request's policy files are read from the commit the run loaded, never the checkout. With
 * `--policies` and no OPA the daemon does not start; a poolsync.yaml policy set without OPA fails
 * each run, closed.
 */
export function unitPolicies(
  config: DaemonConfig,
  env: Env,
  source: Pick<Source, 'tip' | 'reach'>,
) {
  const given = config.policies;
  if (given?.dir) findOpa(given.opa ?? undefined, env);
  const limits = { ...DEFAULT_LIMITS, memoryMiB: opaMemoryMiB(env) };
  const branch = config.source.kind === 'git' ? config.source.branch : null;
  /** The followed branch's set as a run last loaded it; undefined: none loaded since the start. */
  let base: PolicySet | null | undefined;
  /**
   * The same set as pull requests read it: from that run's commit with Git, never from the
   * checkout, which the next fetch moves while a check reads it.
   */
  let pinned: PolicySet | null | undefined;
  const setOf = (configured: RepoConfig['policies'], dir: string): PolicySet | null => {
    const owners = given?.owners ?? configured?.owners ?? [];
    if (given?.dir) return { source: given.dir, at: { kind: 'folder', dir: given.dir }, owners };
    if (!configured) return null;
    const line = configured.line === undefined ? '' : `:${configured.line}:`;
    return {
      source: configured.path,
      at: { kind: 'folder', dir: join(dir, configured.path), root: dir },
      owners,
      // Named when OPA is missing: the daemon was given no --policies.
      origin: `${REPO_CONFIG_FILE}${line} policies.path '${configured.path}'`,
    };
  };
  /**
   * `judge` given the branch head's set (its poolsync.yaml alone), or why it is not known and what
   * to do; the head is read in a copy of this check's own (source.tip), kept until it is judged.
   */
  const headSet = async <T>(judge: (set: PolicySet | null | string) => Promise<T>): Promise<T> => {
    const named = `branch ${branch}`;
    const again = 'then push to the pull request again';
    const setAt = async (tip: SourceSnapshot | null): Promise<PolicySet | null | string> => {
      if (!tip)
        return `${named} has not been fetched since the daemon started: ${closed}; ${again} once /status shows it fetched (git.lastError says why not)`;
      const { errors, config: read } = await readRepoConfig(tip.dir);
      const [e] = errors;
      if (!e) return setOf(read.policies, tip.dir);
      const more = errors.length > 1 ? ` (and ${errors.length - 1} more)` : '';
      return `${REPO_CONFIG_FILE} of ${named} at ${tip.commit?.slice(0, 12)} is invalid (${e.file}:${e.line}:${e.column}: ${e.message}${more}): ${closed}; fix it on ${named}, ${again}`;
    };
    if (!source.tip) return judge(await setAt(null));
    let judging = false;
    try {
      return await source.tip(async (tip) => {
        const set = await setAt(tip);
        judging = true;
        return judge(set);
      });
    } catch (err) {
      if (judging) throw err;
      return judge(`${(err as Error).message}: ${closed}; ${again} once it can be read`);
    }
  };
  const evaluate = async (
    set: PolicySet,
    plan: Plan,
    desired: DesiredState,
    from: string | null,
  ) => {
    const opa = () => findOpa(given?.opa ?? undefined, env, set.origin);
    // No OPA fails this run closed, after the folder's own faults are said.
    return evaluatePolicies(set, plan, { desired, branch: from }, opa, limits).catch(
      (err: unknown) => {
        if (err instanceof UserError) return failedReport(set, err.message);
        throw err;
      },
    );
  };
  /** The followed commit's clone and config folder there (posix): where a commit's files are read. */
  let followed: { repo: string; config: string; commit: string } | null = null;
  /**
   * The report of `plan` by the followed set `own` (a run's, or a pull request's as pinned), and
   * by the set of `applied` (the commit last applied) when that is another commit: a merged
   * commit's own policies and owners take effect for the commits after it, never for itself
   * (docs/policies.md, the daemon). `from`: the plan's branch (data.poolsync.branch).
   */
  const judged = async (
    own: PolicySet | null | undefined,
    plan: Plan,
    desired: DesiredState,
    applied: string | null,
    from: string | null,
  ) => {
    const at = followed;
    const byLoaded = async () => (own ? evaluate(own, plan, desired, from) : null);
    if (applied === null || at === null || applied === at.commit) return byLoaded();
    const configured = await (source.reach?.(applied) ?? Promise.resolve()).then(
      () => committedPolicies(at.repo, at.config, applied),
      (err: unknown) => (err as Error).message,
    );
    // Gone only with a rewritten branch (a force-push, which a merged pull request cannot make):
    // failing closed would stop every run until it was fetchable again, so this commit's set
    // judges alone, and the report says why.
    if (typeof configured === 'string') {
      const loaded = await byLoaded();
      const lastApplied = {
        commit: applied,
        set: 'unread' as const,
        owners: false,
        unread: configured,
      };
      return loaded && { ...loaded, lastApplied };
    }
    // Its owners, when poolsync.yaml names them: with --policies, none listed there is none.
    const owners = given?.owners ? null : (configured?.owners ?? (given?.dir ? [] : null));
    let earlier: PolicySet | null = null;
    if (configured && !given?.dir) {
      const path = posix.join(at.config, configured.path).replace(/^\.$/, '');
      const place = { kind: 'commit' as const, repo: at.repo, commit: applied, path };
      const same = pinned?.at.kind === 'commit' && (await sameFiles(pinned.at, place));
      if (!same) earlier = { source: configured.path, at: place, owners: configured.owners ?? [] };
    }
    if (earlier === null && owners === null) return byLoaded();
    const loaded = await byLoaded();
    const theirs = earlier ? await evaluate(earlier, plan, desired, from) : null;
    return judgedBoth(loaded, theirs, { commit: applied }, owners);
  };
  const check: PolicyCheck = {
    follow: (desired, { dir, commit, root }) => {
      followed =
        commit !== null && root
          ? { repo: root, config: posixPath(relative(root, dir)), commit }
          : null;
      base = setOf(desired.config.policies, dir);
      const at = base?.at;
      // A watched folder has no commit; `--policies` (no root) is read where it is.
      const git = at?.kind === 'folder' && at.root !== undefined && commit !== null && root;
      const path = git ? posixPath(relative(root, at.dir)) : '';
      pinned = git ? { ...base!, at: { kind: 'commit', repo: root, commit, path } } : base;
    },
    run: (plan, desired, applied) => judged(base, plan, desired, applied, branch),
  };
  /**
   * `head`: the pull request's branch, for `data.poolsync.branch`; `applied`: the commit last
   * applied, whose set judges the plan too once a run has loaded the branch, as it will the merge.
   */
  const pullRequest = (
    plan: Plan,
    desired: DesiredState,
    head: string | null,
    applied: string | null = null,
  ) => {
    const judge = async (found: PolicySet | null | string) => {
      // `--policies` is the set whatever the branch says: then only its owners are not known.
      const set = typeof found === 'string' && given?.dir ? setOf(undefined, '') : found;
      if (typeof set === 'string')
        return failedReport(
          { source: REPO_CONFIG_FILE, owners: [], at: { kind: 'folder', dir: '.' } },
          set,
        );
      return set && evaluate(set, plan, desired, head);
    };
    return pinned === undefined ? headSet(judge) : judged(pinned, plan, desired, applied, head);
  };
  return { ...check, pullRequest };
}

/** Why a pull request's plan is not checked when its policies are not known. */
const closed =
  'the policies that check pull requests are not known (a pull request never chooses its own), so this plan fails closed';

const posixPath = (path: string) => path.split(sep).join('/');
