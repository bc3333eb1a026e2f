/**
 * Approval by pull-request comment (docs/daemon.md#approvals): a `poolsync apply` comment
 * approves the held part of the plan poolsync posted on that pull request, when
 * - it was just written (an edited comment or note never reaches here: webhooks.ts),
 * - the pull request is open,
 * - the author may (GitHub: write permission or more; GitLab: Developer or more),
 * - a plan was posted on that pull request, for the commit the pull request is at now,
 * - the live state is still the one that plan was made against.
 * Anything else is refused with the reason, in a reply on the pull request and in /status.
 * The approval names the held changes' fingerprint; the daemon applies them only while they
 * are exactly those changes (approvals.ts, stages/gate.ts).
 */
import type { Logger } from 'pino';
import type { LiveState, SettingsNeed } from '../model/live.js';
import type { Plan } from '../model/plan.js';
import { splitHeld } from '../plan/hold.js';
import { recheckPlan } from '../ops/stale-plan.js';
import { commentWords } from '../render/daemon-words.js';
import type { ApprovalForge } from '../vcs/forges.js';
import type { CommentEvent, Provider } from '../vcs/types.js';
import type { Approvals } from './approvals.js';
import type { PlanRecord } from '../vcs/comment.js';

/** Where an approval goes: the daemon's one control plane, or the environment `-e` names. */
export interface ApprovalTarget {
  /** Null without environments. */
  environment: string | null;
  approvals: Approvals;
  readLiveState: (need?: SettingsNeed) => Promise<LiveState>;
  /** Asks the leader for a run (the approved changes may be held already). */
  requestReconcile: () => void;
}

export interface CommentApprovalOptions {
  posted: PostedPlans;
  /**
   * With environments and several replicas: the plan comment another replica posted, found
   * on the pull request and re-planned here (pull-requests.ts); accepted only when it is
   * exactly the plan that comment shows.
   */
  recover?: RecoverPlan;
  forges: Map<Provider, { repository: string; forge: ApprovalForge }>;
  /** The target of a comment (`-e NAME` or none), or why there is none. */
  target: (environment: string | undefined) => ApprovalTarget | string;
  logger: Logger;
}

/** The daemon without environments: `-e NAME` is refused with the reason. */
export function soleTarget(
  t: Omit<ApprovalTarget, 'environment'>,
): CommentApprovalOptions['target'] {
  return (environment) =>
    environment === undefined
      ? { ...t, environment: null }
      : commentWords.withoutEnvironments(environment);
}

/** The daemon with environments: `-e NAME` names one of them; without it, the comment is refused. */
export function environmentTarget(
  targets: Map<string, Omit<ApprovalTarget, 'environment'>>,
): CommentApprovalOptions['target'] {
  const names = [...targets.keys()];
  return (environment) => {
    if (environment === undefined) return commentWords.environmentNeeded(names);
    const t = targets.get(environment);
    return t ? { ...t, environment } : commentWords.noSuchEnvironment(environment, names);
  };
}

export function commentApprovalHandler(
  o: CommentApprovalOptions,
): (e: CommentEvent) => Promise<void> {
  return (e) => handleApprovalComment(o, e);
}

/** The plan a comment approves (posted here, or recovered), and its held changes' fingerprint. */
interface Approving {
  posted: { commit: string; plan: Plan } | null;
  fingerprint: string | null;
}

async function handleApprovalComment(o: CommentApprovalOptions, e: CommentEvent): Promise<void> {
  const target = o.forges.get(e.provider);
  const log = {
    provider: e.provider,
    repository: e.repository,
    number: e.number,
    user: e.user.login,
  };
  if (!target || target.repository.toLowerCase() !== e.repository.toLowerCase()) {
    o.logger.debug(log, 'poolsync apply comment for another repository: ignored');
    return;
  }
  const { forge } = target;
  const to = o.target(e.environment);
  const env = typeof to === 'string' ? null : to.environment;
  const posted = typeof to === 'string' ? null : o.posted.get(e.provider, e.number, env ?? '');
  const approving: Approving = {
    posted,
    fingerprint: posted ? splitHeld(posted.plan).fingerprint : null,
  };
  const refuse = async (reason: string) => {
    if (typeof to !== 'string')
      to.approvals.refuse(
        { fingerprint: approving.fingerprint ?? '-', approver: e.user.login, via: e.provider },
        reason,
      );
    o.logger.warn(
      { ...log, fingerprint: approving.fingerprint, reason },
      'approval by comment refused',
    );
    await forge.reply(e.number, commentWords.refused(e.user.login, reason));
  };

  if (typeof to === 'string') return refuse(to);
  if (!e.open) return refuse(commentWords.notOpen);
  const check = await forge.permission(e.user);
  if (!check.allowed) {
    return refuse(commentWords.mayNotApprove(e.user.login, e.provider === 'github', check.level));
  }
  const reason = await approvalRefusal(o, e, forge, to, approving);
  if (reason !== null) return refuse(reason);
  const answer = await accept(o, e, forge, to, approving, check.level, log);
  if (answer !== null) return refuse(answer);
}

/**
 * Why the comment approves nothing (no plan posted, or recovered, for the commit the pull
 * request is at and the live state it was made on), or null; a recovered plan is set on
 * `approving`.
 */
async function approvalRefusal(
  o: CommentApprovalOptions,
  e: CommentEvent,
  forge: ApprovalForge,
  to: ApprovalTarget,
  approving: Approving,
): Promise<string | null> {
  const env = to.environment;
  // GitLab's note event names the head; GitHub's comment event does not: the API then.
  let pr = e.headSha === null ? null : { headSha: e.headSha, open: e.open };
  const current = async () => (pr ??= await forge.pullRequest(e.number));
  if (!approving.posted && env !== null && o.recover) {
    const head = (await current()).headSha;
    const found = await o.recover(e.provider, e.number, env, head);
    const reason = found && recoveredRefusal(found, head);
    if (reason) return reason;
    if (found?.plan) {
      approving.posted = { commit: head, plan: found.plan };
      approving.fingerprint = splitHeld(found.plan).fingerprint;
    }
  }
  const { posted } = approving;
  if (!posted) return commentWords.notPosted(env);
  const { headSha: head, open } = await current();
  if (!open) return commentWords.notOpen;
  if (head !== posted.commit) {
    return commentWords.headMoved(posted.commit, head);
  }
  const { stale } = await recheckPlan(posted.plan, to.readLiveState);
  if (stale) {
    return 'stale: the control plane changed since the plan was posted, so the plan may not be what would be applied. Push a commit (or ask for a re-plan), review the new plan, then comment again.';
  }
  return null;
}

/**
 * The held changes approved, the reply posted and a run asked for; nothing to approve is
 * answered too. Returns why the approvals refused it, or null.
 */
async function accept(
  o: CommentApprovalOptions,
  e: CommentEvent,
  forge: ApprovalForge,
  to: ApprovalTarget,
  { posted, fingerprint }: Approving,
  level: string,
  log: Record<string, unknown>,
): Promise<string | null> {
  if (fingerprint === null || posted === null) {
    await forge.reply(e.number, commentWords.nothingHeld(to.environment));
    return null;
  }
  const source = `${e.provider}:${e.repository}${e.provider === 'github' ? `#${e.number}` : `!${e.number}`}`;
  const answer = to.approvals.approve(
    { fingerprint, approver: e.user.login, via: e.provider, source },
    true,
  );
  if (!answer.ok) return answer.reason;
  const held = splitHeld(posted.plan).held;
  o.logger.info({ ...log, fingerprint }, 'approval by comment accepted');
  const by = { user: e.user.login, level };
  await forge.reply(
    e.number,
    commentWords.approved(by, held, to.environment, posted.commit, fingerprint),
  );
  to.requestReconcile();
  return null;
}

/** Why a plan found in another replica's comment is not the one to approve, or null. */
function recoveredRefusal(
  found: NonNullable<Awaited<ReturnType<RecoverPlan>>>,
  head: string,
): string | null {
  const { record, plan } = found;
  if (record.commit !== head) return commentWords.headMoved(record.commit, head);
  if (!plan) return commentWords.notReplanned(record.environment, head);
  if (
    plan.desired_fingerprint !== record.desired ||
    (splitHeld(plan).fingerprint ?? '-') !== record.held
  )
    return commentWords.commentDiffers(record.environment, head);
  if (plan.live_fingerprint !== record.live) return commentWords.liveMoved;
  return null;
}

/**
 * The record of `environment` in poolsync's plan comment on pull request `number` (its own:
 * author and marker, as the comment is updated), with that environment's plan of `head` re-made
 * here when the record is for `head` (null when planning it fails or it is invalid). Null
 * when the pull request carries no such record.
 */
export type RecoverPlan = (
  provider: Provider,
  number: number,
  environment: string,
  head: string,
) => Promise<{ record: PlanRecord; plan: Plan | null } | null>;

/**
 * The plans posted on pull requests, by provider and number: what a `poolsync apply` comment
 * approves. Only the last plan of each pull request counts.
 */
export class PostedPlans {
  /** Per commit, the plan of each environment ('' without environments). */
  private readonly byCommit = new Map<string, Map<string, Plan>>();
  private readonly byNumber = new Map<string, { commit: string; plans: Map<string, Plan> }>();

  planned(provider: Provider, commit: string, plan: Plan, environment = ''): void {
    const key = `${provider}:${commit}`;
    const plans = this.byCommit.get(key) ?? new Map<string, Plan>();
    plans.set(environment, plan);
    this.byCommit.set(key, plans);
  }

  /** The handler published the plan of `commit` on pull request `number`. */
  settle(provider: Provider, number: number, commit: string): void {
    const plans = this.byCommit.get(`${provider}:${commit}`);
    if (plans) this.byNumber.set(`${provider}#${number}`, { commit, plans });
  }

  get(provider: Provider, number: number, environment = ''): { commit: string; plan: Plan } | null {
    const posted = this.byNumber.get(`${provider}#${number}`);
    const plan = posted?.plans.get(environment);
    return posted && plan ? { commit: posted.commit, plan } : null;
  }
}
