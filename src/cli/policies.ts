/**
 * `--policies` for `plan` and `apply` (docs/policies.md): the policy set found (src/policy/
 * source.ts), evaluated by OPA on the plan, its results written under the plan. Without a
 * policy set configured nothing is looked for: no OPA is needed.
 */
import type { DesiredState, RepoConfig } from '../model/desired.js';
import type { Plan } from '../model/plan.js';
import type { PolicyReport } from '../model/policy.js';
import type { PolicySet } from '../policy/evaluate.js';
import type { Opening } from '../ops/open-target.js';
import type { Env } from '../util/env.js';
import { gitAnswer } from '../util/git.js';
import type { CommentArgs } from '../vcs/comment-options.js';

export interface PolicyArgs {
  policies?: string;
  opa?: string;
}

/** What a command knows when it checks a plan. */
export interface PolicyCheck {
  args: PolicyArgs;
  /**
   * The pull request whose owners' `poolsync approve-policies` comments may release the
   * failures (`plan --comment`, `apply --policy-approvals`): its forge, number, repository.
   */
  approvals?: CommentArgs;
  /** The config folder, and its poolsync.yaml `policies:` as this checkout has it. */
  dir: string;
  /** DIR as the user named it when DIR is a temporary copy (cli/options.ts Shown). */
  shown?: string;
  config: RepoConfig['policies'];
  opening: Opening;
  desired?: DesiredState | null;
}

/** The plan's policy report, or null when no policy set is configured. */
export async function checkPolicies(plan: Plan, c: PolicyCheck): Promise<PolicyReport | null> {
  const [{ policySetsOf }, { judgedBoth }] = await Promise.all([
    import('../policy/source.js'),
    import('../policy/both-sets.js'),
  ]);
  const { set, before } = await policySetsOf({
    flag: c.args.policies,
    dir: c.dir,
    shown: c.shown,
    config: c.config,
    opening: c.opening,
  });
  const earlier = before && 'set' in before ? before.set : null;
  if (set === null && earlier === null) return null;
  const [{ findOpa, opaMemoryMiB }, { DEFAULT_LIMITS, evaluatePolicies }] = await Promise.all([
    import('../policy/opa.js'),
    import('../policy/evaluate.js'),
  ]);
  const limits = { ...DEFAULT_LIMITS, memoryMiB: opaMemoryMiB(c.opening.vars) };
  const branch = await branchOf(c.dir, c.opening.vars);
  // Found only once the folder is known to be a policy set: poolsync without policies needs no OPA.
  const evaluate = async (s: PolicySet | null) => {
    const opa = () => findOpa(c.args.opa, c.opening.vars, s!.origin);
    return s && evaluatePolicies(s, plan, { desired: c.desired, branch }, opa, limits);
  };
  const own = await evaluate(set);
  // docs/policies.md: on a push, the set of the commit before it judges too, as in the daemon.
  const report =
    before === undefined
      ? own
      : 'alone' in before
        ? own && { ...own, alone: before.alone }
        : judgedBoth(
            own,
            await evaluate(earlier),
            { commit: before.commit, push: true },
            before.owners,
          );
  if (report === null) return null;
  if (!report.failures || c.approvals?.comment === undefined) return report;
  // docs/policies.md, Owners: an owner's comment on the pull request, never its author's.
  const [{ resolveCommentTarget }, { approvalInComments }] = await Promise.all([
    import('../vcs/cli-options.js'),
    import('../vcs/policy-approval.js'),
  ]);
  const target = await resolveCommentTarget(c.approvals, c.opening.vars);
  // A forge that cannot be read releases nothing; the plan and its comment are still shown
  // (docs/pull-request-comments.md), and posting the comment says what the forge said.
  const answer = await approvalInComments(target, report).catch((err: unknown) => ({
    unread: (err as Error).message,
  }));
  if (answer && 'unread' in answer) return { ...report, unread: answer.unread };
  if (answer?.ok) return { ...report, approval: answer.approval };
  return answer ? { ...report, refused: answer.reason } : report;
}

/**
 * The branch the plan is of (`data.poolsync.branch`): a pull request's head branch, else the
 * CI's branch, else the checkout's; null when none says (a detached HEAD outside CI).
 */
async function branchOf(dir: string, env: Env): Promise<string | null> {
  const named = [
    env.GITHUB_HEAD_REF,
    env.GITHUB_ACTIONS === 'true' && env.GITHUB_REF_TYPE === 'branch' ? env.GITHUB_REF_NAME : '',
    env.CI_MERGE_REQUEST_SOURCE_BRANCH_NAME,
    env.CI_COMMIT_BRANCH,
  ].find((b) => b !== undefined && b.trim() !== '');
  if (named) return named.trim();
  return (await gitAnswer(['symbolic-ref', '--short', '-q', 'HEAD'], { cwd: dir }))?.trim() || null;
}
