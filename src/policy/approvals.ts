/**
 * Owners' approvals of policy failures (docs/policies.md, Owners): an approval names the
 * digest of the failures it releases (each rule, message and object), so it releases exactly
 * those: another failure, or one more, needs its own. Who may approve: a listed owner of the
 * policy set, never the pull request's author; recorded with who and why. One decision
 * (`decideApproval`) for the daemon (its API, its comments) and the CLI (pull-request comments);
 * the daemon keeps what it accepted in memory (`PolicyApprovals`: a restart asks again, as a
 * held plan's approvals are, daemon/approvals.ts).
 */
import { failuresDigest, type PolicyApproval, type PolicyReport } from '../model/policy.js';

/**
 * Whether `who` is a listed owner by name (GitHub logins and GitLab usernames are
 * case-insensitive). `team:` and `group:` owners need the forge's membership: callers that have
 * a forge ask vcs/principals.ts actorMatches and pass its answer (ApprovalRequest.owner).
 */
export function isOwner(owners: readonly string[], who: string): boolean {
  const name = who.toLowerCase();
  return owners.some((o) => !o.includes(':') && o.toLowerCase() === name);
}

export type PolicyApprovalAnswer =
  { ok: true; approval: PolicyApproval } | { ok: false; reason: string };

export interface ApprovalRequest {
  by: string;
  why: string;
  /** The failures' digest the approver saw. */
  digest: string;
  /** The pull request's author, when there is one. */
  author?: string | null;
  at: Date;
  /**
   * Whether `by` is an owner as the forge answers for `team:`/`group:` owners (vcs/principals.ts
   * actorMatches); absent: owners are matched by name only (isOwner), as for the admin API.
   */
  owner?: boolean;
}

/**
 * `by` approves the failures of `report` it saw (`digest`), for `why`: only an owner, never
 * `author` (the pull request's), only while they are the failures.
 */
export function decideApproval(
  report: PolicyReport | null | undefined,
  a: ApprovalRequest,
): PolicyApprovalAnswer {
  if (!report || report.deny.length === 0)
    return { ok: false, reason: 'the last plan has no policy failure to approve' };
  const digest = failuresDigest(report);
  if (a.digest !== digest)
    return {
      ok: false,
      reason: `${a.by}'s approval names ${a.digest || 'no digest'}, not the failures' ${digest}: approve exactly those`,
    };
  if (a.why.trim() === '') return { ok: false, reason: 'say why the failures are approved' };
  if (a.author && a.author.toLowerCase() === a.by.toLowerCase())
    return {
      ok: false,
      reason: `${a.by} wrote the pull request: its author may not approve its policy failures`,
    };
  if (!(a.owner ?? isOwner(report.owners, a.by)))
    return {
      ok: false,
      reason: `${a.by} is not an owner of the policies of ${report.source} (${report.owners.join(', ') || 'none listed'})`,
    };
  const approval = { by: a.by, why: a.why.trim(), failures: digest, at: a.at.toISOString() };
  return { ok: true, approval };
}

export class PolicyApprovals {
  private readonly approved = new Map<string, PolicyApproval>();

  /** Decided by decideApproval; kept when accepted. */
  approve(report: PolicyReport | null | undefined, a: ApprovalRequest): PolicyApprovalAnswer {
    const answer = decideApproval(report, a);
    if (answer.ok) this.approved.set(answer.approval.failures, answer.approval);
    return answer;
  }

  /** The approval of exactly these failures, if any. */
  of(report: PolicyReport): PolicyApproval | undefined {
    return report.deny.length > 0 ? this.approved.get(failuresDigest(report)) : undefined;
  }
}
