/**
 * Publishing a plan to a pull request: upsert the ONE sticky comment (poolsync's own: its
 * author is the token's identity and it opens with the marker; edited in place) and set the
 * folder's commit status (`poolsync/plan`, comment.ts statusContext), which always ends: when
 * the comment cannot be posted, the status says so (`error`), never staying `pending`. Nothing
 * is ever applied.
 */
import { createHash, createHmac } from 'node:crypto';
import { policyAllows, type PolicyReport } from '../model/policy.js';
import type { DesiredState } from '../model/desired.js';
import { posix } from 'node:path';
import { formatValidationText, relocated } from '../manifests/report.js';
import type { ValidationError } from '../manifests/types.js';
import type { Plan } from '../model/plan.js';
import type { BaseRepository } from '../plan/index.js';
import type { RenderedFilesNote } from '../render/rendered-files.js';
import { planRun, type PlanSource } from '../ops/plan-run.js';
import { constantTimeEqual } from '../util/constant-time.js';
import {
  buildComments,
  type Comments,
  COMMENT_LIMITS,
  commentMarker,
  HELD_LIST_COMMENTS,
  heldByBudget,
  heldListMarker,
  isPoolsyncComment,
  notPlannedComment,
  statusContext,
  statusDescription,
} from './comment.js';
import { createPullRequestApi, isOwnComment, type PullRequestApi } from './forges.js';
import {
  VcsApiError,
  type EnvironmentOutcome,
  type InvalidOutcome,
  type ForgeUser,
  type IssueComment,
  type PublishOutcome,
  type PullRequestRef,
  type StatusState,
} from './types.js';

export interface PublishOptions extends PullRequestRef {
  /** The pull request's head. */
  commit: string;
  outcome: PublishOutcome;
  /** Folder inside the repository: one comment per folder (default: one per pull request). */
  key?: string | null;
  /** Before the commit status is set. */
  onCommentPosted?: (posted: Posted) => void;
  /** The daemon's: each comment it posts ends with this MAC of its body (sealed). */
  seal?: Seal;
}

/** A keyed MAC of a body (the daemon's: HMAC-SHA256 under its webhook secret, sealWith). */
export type Seal = (body: string) => string;

/** HMAC-SHA256 keyed by `secret`: what every replica of the daemon holds, and no writer does. */
export function sealWith(secret: string): Seal {
  return (body) => createHmac('sha256', secret).update(`poolsync comment\n${body}`).digest('hex');
}

const SEAL = /\n<!-- poolsync:seal v1 ([0-9a-f]{64}) -->$/;
/** Room the seal takes (its line). */
const SEAL_ROOM = 100;

const sealOf = (seal: Seal | undefined, body: string) =>
  seal ? `${body}\n<!-- poolsync:seal v1 ${seal(body)} -->` : body;

/**
 * Whether `body` is as the daemon holding `seal` posted it: its last line the MAC of the rest
 * (`unsealed`: no such line, e.g. posted by an earlier version; `broken`: changed since).
 * A replica that did not post a comment (or posted it before a restart) knows no more of it:
 * an edit of anything in it, by a writer who cannot make the MAC, fails this.
 */
export function sealed(body: string, seal: Seal): 'sealed' | 'unsealed' | 'broken' {
  const m = SEAL.exec(body);
  if (m === null) return 'unsealed';
  return constantTimeEqual(m[1]!, seal(body.slice(0, m.index))) ? 'sealed' : 'broken';
}

/** What the pull request shows from now on: what an approval by comment may approve. */
export interface Posted {
  /** When it was shown (the forge's clock: its comments' `updated_at`, epoch ms); null if unsaid. */
  at: number | null;
  /** Per section, the held changes' fingerprint shown with all of them (comment.ts Comments). */
  shown: Map<string, string | null>;
  /** The plan comment and its held lists as posted: an approval finds them unchanged (shownChange). */
  comments?: ShownComment[];
}

/** One comment poolsync posted, as the forge stored it. */
export interface ShownComment {
  id: number;
  marker: string;
  updatedAt: number | null;
  /** SHA-256 of its body. */
  digest: string;
}

const digestOf = (body: string) => createHash('sha256').update(body).digest('hex');
const shownOf = (marker: string, c: IssueComment): ShownComment => ({
  id: c.id,
  marker,
  updatedAt: c.updatedAt,
  digest: digestOf(c.body),
});

/** How a comment poolsync posted differs now (an approval grants nothing then), or null. */
export type ShownChange =
  | { kind: 'deleted'; id: number }
  | { kind: 'not_own'; id: number }
  | { kind: 'edited'; id: number; at: number | null };

/**
 * Each comment of `shown` as it is now among `now` (the pull request's comments, re-read):
 * still there, still poolsync's own (author and marker), and not changed since it was posted
 * (`updated_at` and body): an edit by anyone with write access, which GitHub allows, would
 * otherwise approve what the edited text hid.
 */
export function shownChange(
  shown: readonly ShownComment[],
  now: { self: ForgeUser | null; comments: readonly IssueComment[] },
): ShownChange | null {
  const byId = new Map(now.comments.map((c) => [c.id, c]));
  for (const s of shown) {
    const c = byId.get(s.id);
    if (!c) return { kind: 'deleted', id: s.id };
    if (!isOwnComment(c, now.self) || !isPoolsyncComment(c.body, s.marker))
      return { kind: 'not_own', id: s.id };
    if (c.updatedAt !== s.updatedAt || digestOf(c.body) !== s.digest)
      return { kind: 'edited', id: s.id, at: c.updatedAt };
  }
  return null;
}

export interface PublishResult {
  comment: 'created' | 'updated' | 'unchanged';
  commentUrl: string | null;
  /** The status's context (statusContext). */
  context: string;
  status: StatusState;
  description: string;
}

/** With environments, the worst of theirs. */
export function statusState(outcome: PublishOutcome): StatusState {
  if (outcome.kind === 'environments') {
    const states = outcome.environments.map((e) => statusState(e.outcome));
    return (['error', 'failure', 'pending'] as const).find((s) => states.includes(s)) ?? 'success';
  }
  if (outcome.kind === 'error') return 'error';
  if (outcome.kind === 'invalid') return 'failure';
  if (!policyAllows(outcome.policies)) return 'failure';
  return outcome.plan.errors.length > 0 && !heldByBudget(outcome) ? 'failure' : 'success';
}

function tooLong(err: unknown): boolean {
  return (
    err instanceof VcsApiError &&
    (err.status === 422 || err.status === 400) &&
    /too long|too large|maximum|exceed/i.test(err.message)
  );
}

/** poolsync's own comment with `marker` (module header: what makes it its own), the oldest. */
export async function ownComment(
  api: PullRequestApi,
  marker: string,
): Promise<IssueComment | undefined> {
  return (await ownComments(api))(marker);
}

/** Each own comment by marker, from one read of the pull request's comments. */
export async function ownComments(api: PullRequestApi) {
  const self = await api.self();
  const all = await api.listComments();
  return (marker: string) =>
    all.find((c) => isOwnComment(c, self) && isPoolsyncComment(c.body, marker));
}

/** A create of unclear outcome is looked for, then made again only if absent. */
async function upsertComment(
  api: PullRequestApi,
  marker: string,
  body: string,
  existing: IssueComment | undefined,
): Promise<{ comment: IssueComment; action: PublishResult['comment'] }> {
  if (existing) {
    if (existing.body === body) return { comment: existing, action: 'unchanged' };
    return { comment: await api.updateComment(existing.id, body), action: 'updated' };
  }
  let landed: IssueComment | undefined;
  const made = await api.createComment(body, async () => (landed = await ownComment(api, marker)));
  // One an earlier attempt made may hold an older body: written over. A new one is as posted.
  const comment = landed && landed.body !== body ? await api.updateComment(landed.id, body) : made;
  return { comment, action: 'created' };
}

/** The plan comment, then the held lists' (those no longer needed removed): what shows, since when. */
async function upsertComments(
  api: PullRequestApi,
  key: string | null | undefined,
  comments: Comments,
  seal: Seal | undefined,
): Promise<[Awaited<ReturnType<typeof upsertComment>>, Posted]> {
  const own = await ownComments(api);
  const marker = commentMarker(key);
  const main = await upsertComment(api, marker, sealOf(seal, comments.body), own(marker));
  const shown = [shownOf(marker, main.comment)];
  for (let part = 1; part <= HELD_LIST_COMMENTS; part++) {
    const partMarker = heldListMarker(key, part);
    const body = comments.heldLists[part - 1];
    const existing = own(partMarker);
    if (body !== undefined) {
      const list = await upsertComment(api, partMarker, sealOf(seal, body), existing);
      shown.push(shownOf(partMarker, list.comment));
    } else if (existing) await api.deleteComment(existing.id);
  }
  const times = shown.map((c) => c.updatedAt);
  const at = times.includes(null) ? null : Math.max(...(times as number[]));
  return [main, { at, shown: comments.shown, comments: shown }];
}

export function notPosted(err: unknown): string {
  return `Could not post the plan comment: ${(err as Error).message.split('\n')[0]}`;
}

export async function publishPlan(opts: PublishOptions): Promise<PublishResult> {
  const api = createPullRequestApi(opts);
  const context = statusContext(opts.key);
  try {
    // The seal's line fits in the forge's limit.
    const room = opts.seal ? SEAL_ROOM : 0;
    const build = (limit: number) =>
      buildComments({
        outcome: opts.outcome,
        commit: opts.commit,
        key: opts.key,
        limit: limit - room,
      });
    let result: Awaited<ReturnType<typeof upsertComment>>;
    let posted: Posted;
    try {
      try {
        [result, posted] = await upsertComments(
          api,
          opts.key,
          build(COMMENT_LIMITS[opts.provider]),
          opts.seal,
        );
      } catch (err) {
        // The provider counted differently than its documented limit: post much shorter bodies.
        if (!tooLong(err)) throw err;
        const shorter = build(Math.floor(COMMENT_LIMITS[opts.provider] / 4));
        [result, posted] = await upsertComments(api, opts.key, shorter, opts.seal);
      }
    } catch (err) {
      // The status ends even so: a required check never stays "Planning…". Not while a rate
      // limit holds the token: the caller sets it once the limit ends (pull-request-handler.ts);
      // nor on a forge that let a call run out of time, which would hold this one as long (the
      // command ends within one call's deadline; the next run sets the status).
      if (!(err instanceof VcsApiError && (err.retryAt !== null || err.outOfTime)))
        await api
          .setStatus(opts.commit, { context, state: 'error', description: notPosted(err) })
          .catch(() => undefined);
      throw err;
    }

    opts.onCommentPosted?.(posted);
    const state = statusState(opts.outcome);
    const description = statusDescription(opts.outcome);
    const targetUrl = result.comment.url;
    await api.setStatus(opts.commit, { context, state, description, targetUrl });
    return { comment: result.action, commentUrl: targetUrl, context, status: state, description };
  } finally {
    await api.close();
  }
}

/**
 * A pull request into another branch than the followed one: its plan comment says it is not
 * planned (held lists removed), and no commit status is set, since none would be true.
 */
export async function publishNotPlanned(
  opts: Omit<PublishOptions, 'outcome' | 'onCommentPosted'> & { base: string; branch: string },
): Promise<PublishResult['comment']> {
  const api = createPullRequestApi(opts);
  try {
    const body = notPlannedComment(opts.key, opts.base, opts.branch);
    const [main] = await upsertComments(
      api,
      opts.key,
      { body, heldLists: [], shown: new Map() },
      opts.seal,
    );
    return main.action;
  } finally {
    await api.close();
  }
}

/** `pending` while planning, or the one owed after a rate limit. */
export async function publishStatus(
  opts: Omit<PublishOptions, 'outcome'>,
  state: StatusState,
  description: string,
): Promise<void> {
  const api = createPullRequestApi(opts);
  try {
    await api.setStatus(opts.commit, { context: statusContext(opts.key), state, description });
  } finally {
    await api.close();
  }
}

/** A folder of a checkout, planned against the daemon's control plane (planRun's `open`). */
export interface PlanOutcomeOptions extends Omit<Extract<PlanSource, { kind: 'open' }>, 'kind'> {
  dir: string;
  commit: string | null;
  /** The folder inside the repository, prefixed to error locations so reviewers find them. */
  repoPath?: string;
  environment?: string;
  /** The plan's policies (docs/policies.md: the base branch's), shown in the comment. */
  policies?: (plan: Plan, desired: DesiredState) => Promise<PolicyReport | null>;
  /** The repository planned (src/ops/repository.ts); absent: `dir`'s, by its Git remote. */
  repository?: string;
  /** The followed branch's repository identity, which the pull request keeps (docs/plan.md, Prune scope). */
  baseRepository?: BaseRepository;
}

/** `rendered`: the generated files the commit changes, which no plan sends (render/rendered-files.ts). */
export function outcomeForPlan(plan: Plan, rendered?: RenderedFilesNote): EnvironmentOutcome {
  return { kind: 'plan', plan, ...(rendered?.files.length ? { rendered } : {}) };
}

/** Files from the repository root (`repoPath` prefixed). */
export function outcomeForInvalid(errors: ValidationError[], repoPath?: string): InvalidOutcome {
  const prefix = repoPath && repoPath !== '.' ? repoPath : '';
  const shown = prefix ? errors.map((e) => relocated(e, (f) => posix.join(prefix, f))) : errors;
  return { kind: 'invalid', errorsText: formatValidationText(shown), errorCount: errors.length };
}

/** planRun's (src/ops/plan-run.ts) outcome as a comment's. */
export async function planOutcome(opts: PlanOutcomeOptions): Promise<EnvironmentOutcome> {
  const { dir, commit, repoPath, environment, policies: check, repository, ...rest } = opts;
  const { baseRepository, ...source } = rest;
  const outcome = await planRun({
    source: { kind: 'open', ...source },
    desired: { kind: 'folder', dir },
    commit,
    environment: environment ?? null,
    ...(repository ? { repository } : {}),
    ...(baseRepository ? { shape: { baseRepository } } : {}),
  });
  // plan.md: unreadable live state makes the plan fail; the reason goes in the comment.
  if (outcome.kind === 'unreadable') {
    const err = outcome.error;
    const message = err instanceof Error ? err.message : String(err);
    return { kind: 'error', message: `cannot read live state from the control plane: ${message}` };
  }
  if (outcome.kind === 'invalid') return outcomeForInvalid(outcome.errors, repoPath);
  const policies = check ? await check(outcome.plan, outcome.desired) : null;
  // The generated files the commit changes and the objects no file is named for, as `poolsync
  // plan` shows them; rendered from the repository's folder, as a reviewer's clone names it.
  const { changedTargets } = await import('../render/values.js');
  const files = await changedTargets(dir, outcome.desired, outcome.configKinds ?? []);
  const rendered = { files, dir: repoPath || '.', ...(environment ? { env: environment } : {}) };
  return { ...outcomeForPlan(outcome.plan, rendered), ...(policies ? { policies } : {}) };
}
