/**
 * Owners' `poolsync approve-policies DIGEST WHY` comments on a pull request, read by the CLI
 * (docs/policies.md, Owners): `plan --comment` and `apply --policy-approvals` in CI. The forge
 * says who wrote each comment and who opened the pull request; decideApproval decides, as for
 * the daemon. The newest comment that approves exactly the failures counts; an edited one never
 * does (its `updated_at` after its `created_at`), nor one written before poolsync's plan comment
 * showed the pull request's head commit (a push withdraws approvals, as in the daemon); else the
 * newest refusal is said.
 */
import type { PolicyReport } from '../model/policy.js';
import { decideApproval, type PolicyApprovalAnswer } from '../policy/approvals.js';
import { short, time } from '../render/daemon-words.js';
import {
  commentMarker,
  isPoolsyncComment,
  parsePolicyApproval,
  planCommentCommit,
  statusContext,
} from './comment.js';
import {
  createApprovalForge,
  createPullRequestApi,
  isOwnComment,
  sameUser,
  type CommitStatus,
} from './forges.js';
import { actorMatches, type Memberships } from './principals.js';
import type { ForgeUser, IssueComment, Provider, PullRequestRef } from './types.js';

/**
 * Whether `user` is an owner of `report`'s policy set: by name, or a member of a listed GitHub
 * team or GitLab group (vcs/principals.ts, as poolsync.yaml `approvers:` are matched). A
 * membership the forge does not answer approves nothing.
 */
export async function isPolicyOwner(
  forge: Memberships,
  report: Pick<PolicyReport, 'owners' | 'source'>,
  who: { provider: Provider; user: ForgeUser },
): Promise<boolean> {
  const rule = { rule: `policies of ${report.source}`, principals: report.owners };
  const actor = { kind: 'user' as const, ...who };
  return (await actorMatches(forge, rule, actor).catch(() => null))?.allowed ?? false;
}

/**
 * The newest approval of these failures; else the answer to the newest `approve-policies`
 * comment (another digest included); null when there is none. `key`: the folder's plan comment
 * (comment.ts commentMarker), as `plan --comment` posts it.
 */
export async function approvalInComments(
  target: PullRequestRef & { key?: string | null },
  report: PolicyReport,
): Promise<PolicyApprovalAnswer | null> {
  if (!report.failures) return null;
  const api = createPullRequestApi(target);
  const forge = createApprovalForge(target);
  try {
    const [comments, pr, self] = await Promise.all([
      api.listComments(),
      forge.pullRequest(target.number),
      api.self(),
    ]);
    const marker = commentMarker(target.key);
    const plan = comments.find((c) => isOwnComment(c, self) && isPoolsyncComment(c.body, marker));
    let statuses: Promise<CommitStatus[]> | null = null;
    const shown: PlanShown = {
      plan,
      head: pr.headSha.toLowerCase(),
      context: statusContext(target.key),
      statuses: () => (statuses ??= api.statuses(pr.headSha)),
    };
    let refused: PolicyApprovalAnswer | null = null;
    for (const c of [...comments].reverse()) {
      const asked = parsePolicyApproval(c.body);
      // Another digest (cut short, or older failures') is answered too: decideApproval says so.
      if (!asked || !c.author) continue;
      // Any writer may edit anyone's comment, and the forge still names who posted it.
      let answer: PolicyApprovalAnswer =
        c.updatedAt !== c.createdAt
          ? {
              ok: false,
              reason: `${c.author.login}'s approval comment was edited after it was posted: an edited comment approves nothing; post a new one`,
            }
          : decideApproval(report, {
              by: c.author.login,
              why: asked.why,
              digest: asked.digest,
              author: pr.author?.login ?? null,
              at: new Date(c.createdAt ?? 0),
              owner: await isPolicyOwner(forge, report, {
                provider: target.provider,
                user: c.author,
              }),
            });
      const earlier = answer.ok ? await writtenEarlier(c, shown) : null;
      if (earlier !== null) answer = { ok: false, reason: earlier };
      if (answer.ok) return answer;
      refused ??= answer;
    }
    return refused;
  } finally {
    await Promise.all([api.close(), forge.close()]);
  }
}

/** poolsync's plan comment, the pull request's head, and the head's statuses when asked. */
interface PlanShown {
  plan: IssueComment | undefined;
  head: string;
  /** The plan's status context (comment.ts statusContext). */
  context: string;
  statuses: () => Promise<CommitStatus[]>;
}

/**
 * Why approval comment `c` was not written for the head commit's plan, or null when it was:
 * after the plan comment showed that commit. Its `updated_at` says when it last changed; once
 * changed again for the same commit (the approval it then shows, a re-run), the first status
 * poolsync set on the commit linking to it says it, since publish.ts sets it right after.
 */
async function writtenEarlier(c: IssueComment, s: PlanShown): Promise<string | null> {
  const by = c.author!.login;
  const head = short(s.head);
  const again = `review the plan of ${head}, then approve again`;
  const commit = s.plan ? planCommentCommit(s.plan.body) : null;
  if (commit === null)
    return `written for an earlier commit: poolsync's plan comment does not show the pull request's head ${head} yet; ${again}`;
  if (commit !== s.head)
    return `written for an earlier commit ${short(commit)}: the plan comment showed it when ${by} approved, and the pull request is now at ${head}; ${again}`;
  const plan = s.plan!;
  const written = c.createdAt;
  if (written !== null && plan.updatedAt !== null && written > plan.updatedAt) return null;
  const times = (plan.url === null ? [] : await s.statuses()).flatMap((status) =>
    status.context === s.context &&
    status.targetUrl === plan.url &&
    plan.author !== null &&
    sameUser(status.author, plan.author) &&
    status.createdAt !== null
      ? [status.createdAt]
      : [],
  );
  if (plan.updatedAt !== null) times.push(plan.updatedAt);
  if (written === null || times.length === 0)
    return `the forge did not say when ${by}'s approval or the plan comment of ${head} was written, so poolsync cannot tell which commit it approves: it approves nothing`;
  const since = Math.min(...times);
  if (written <= since)
    return `written for an earlier commit: ${by} approved at ${time(written)}, and the plan comment has shown the pull request's head ${head} only since ${time(since)}; ${again}`;
  return null;
}
