/**
 * Owners' `poolsync approve-policies DIGEST WHY` comments on a pull request, read by the CLI
 * (docs/policies.md, Owners): `plan --comment` and `apply --policy-approvals` in CI. The forge
 * says who wrote each comment and who opened the pull request; decideApproval decides, as for
 * the daemon. The newest comment that approves exactly the failures counts; an edited one never
 * does (its `updated_at` after its `created_at`); else the newest refusal is said.
 */
import type { PolicyReport } from '../model/policy.js';
import { decideApproval, type PolicyApprovalAnswer } from '../policy/approvals.js';
import { parsePolicyApproval } from './comment.js';
import { createApprovalForge, createPullRequestApi } from './forges.js';
import { actorMatches, type Memberships } from './principals.js';
import type { ForgeUser, Provider, PullRequestRef } from './types.js';

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
 * comment (another digest included); null when there is none.
 */
export async function approvalInComments(
  target: PullRequestRef,
  report: PolicyReport,
): Promise<PolicyApprovalAnswer | null> {
  if (!report.failures) return null;
  const api = createPullRequestApi(target);
  const forge = createApprovalForge(target);
  try {
    const [comments, pr] = await Promise.all([
      api.listComments(),
      forge.pullRequest(target.number),
    ]);
    let refused: PolicyApprovalAnswer | null = null;
    for (const c of [...comments].reverse()) {
      const asked = parsePolicyApproval(c.body);
      // Another digest (cut short, or older failures') is answered too: decideApproval says so.
      if (!asked || !c.author) continue;
      // Any writer may edit anyone's comment, and the forge still names who posted it.
      const answer: PolicyApprovalAnswer =
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
      if (answer.ok) return answer;
      refused ??= answer;
    }
    return refused;
  } finally {
    await Promise.all([api.close(), forge.close()]);
  }
}
