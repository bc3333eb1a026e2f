/**
 * Webhook receivers (quality.md, Security): GitHub deliveries are authenticated by an
 * HMAC-SHA256 of the raw body (`X-Hub-Signature-256`), GitLab ones by a shared token
 * (`X-Gitlab-Token`); both compared in constant time. Parsing is pure: the HTTP layer turns an
 * outcome into a reconcile request, a pull-request handler call, a metric and a response.
 */
import { parseCommentCommand, parsePolicyApproval } from '../vcs/comment.js';
import { createHmac } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { constantTimeEqual } from '../util/constant-time.js';
import type { CommentEvent, PullRequestEvent } from '../vcs/types.js';
import { isMap } from '../model/flyte.js';
import { forgeTime } from '../vcs/forges.js';
import { normalizeRemote } from '../ops/repository.js';

export type WebhookOutcome =
  | { status: 401; result: 'unauthorized'; message: string }
  | { status: 400; result: 'bad_request'; message: string }
  | { status: 200; result: 'ping'; message: string }
  | { status: 202; result: 'push'; message: string; ref: string; commit: string | null }
  | { status: 202; result: 'pull_request'; message: string; event: PullRequestEvent }
  | { status: 202; result: 'comment'; message: string; event: CommentEvent }
  | { status: 202; result: 'ignored'; message: string };

export interface WebhookRequest {
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export function githubSignature(secret: string, body: Buffer | string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

function header(headers: IncomingHttpHeaders, name: string): string | null {
  const v = headers[name.toLowerCase()];
  return (Array.isArray(v) ? v[0] : v) ?? null;
}

/**
 * The body as JSON, or a GitHub form-encoded body's `payload` field (a choice in GitHub's webhook
 * settings). The signature is over the body as sent either way.
 */
function parseJson(
  body: Buffer,
  contentType: string | null = null,
): Record<string, unknown> | null {
  try {
    const text = /^application\/x-www-form-urlencoded\b/i.test(contentType ?? '')
      ? new URLSearchParams(body.toString('utf8')).get('payload')
      : body.toString('utf8');
    if (text === null) return null;
    const v: unknown = JSON.parse(text);
    return isMap(v) ? v : null;
  } catch {
    return null;
  }
}

const unauthorized = (message: string) =>
  ({ status: 401, result: 'unauthorized', message }) as const;
const badRequest = (message: string) => ({ status: 400, result: 'bad_request', message }) as const;
const ignored = (message: string): WebhookOutcome => ({ status: 202, result: 'ignored', message });

const obj = (v: unknown): Record<string, unknown> => (isMap(v) ? v : {});
const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);
const num = (v: unknown): number | null => (typeof v === 'number' ? v : null);

/**
 * The repository the daemon follows, as a forge names it (owner/name, a GitLab path or numeric
 * project id), and `--repo`'s URL, which a delivery's clone URLs may name instead.
 */
export interface FollowedRepository {
  name: string;
  remote: string;
}

/**
 * `verified`: a follower verified the delivery and handed it on, signed instead (http.ts).
 * `followed`: null or absent when the daemon cannot tell (a local path), and then every
 * repository's delivery is taken.
 */
interface WebhookOptions {
  secret: string;
  branch: string | null;
  verified?: boolean;
  followed?: FollowedRepository | null;
}

/** What a delivery says it is from: its repository's name, numeric id and clone URLs. */
interface DeliveredFrom {
  name: string | null;
  id?: number | null;
  urls: unknown[];
}

/**
 * Why a delivery from another repository is ignored (one webhook of an organisation or group
 * sends every repository's events with one secret), or null when it is the followed one's, or
 * names none.
 */
function elsewhere(from: DeliveredFrom, followed: FollowedRepository | null | undefined) {
  const urls = from.urls.filter((u): u is string => typeof u === 'string' && u !== '');
  if (!followed || (from.name === null && urls.length === 0)) return null;
  const remote = normalizeRemote(followed.remote);
  if (
    from.name?.toLowerCase() === followed.name.toLowerCase() ||
    (from.id != null && String(from.id) === followed.name) ||
    urls.some((u) => normalizeRemote(u) === remote)
  )
    return null;
  const named = from.name ?? urls[0]!;
  return ignored(`delivery for ${shown(named)}; this daemon follows ${followed.name}: ignored`);
}

export function handleGithubWebhook(req: WebhookRequest, options: WebhookOptions): WebhookOutcome {
  // Verify before looking at anything else in the request: unauthenticated input changes nothing.
  if (!options.verified) {
    const signature = header(req.headers, 'x-hub-signature-256');
    if (signature === null) return unauthorized('missing X-Hub-Signature-256 header');
    if (!constantTimeEqual(signature, githubSignature(options.secret, req.body)))
      return unauthorized('X-Hub-Signature-256 does not match the body; check the webhook secret');
  }
  const event = header(req.headers, 'x-github-event');
  const payload = parseJson(req.body, header(req.headers, 'content-type'));
  if (payload === null)
    return badRequest(
      'the body is not a JSON object (nor a form with a JSON object as its payload field)',
    );
  if (event === 'ping') return { status: 200, result: 'ping', message: 'pong' };
  const repository = obj(payload.repository);
  const from = {
    name: str(repository.full_name),
    urls: [repository.clone_url, repository.ssh_url],
  };
  const other = elsewhere(from, options.followed);
  if (other) return other;
  if (event === 'push') return pushOutcome(payload, options.branch);
  if (event === 'pull_request') {
    // An edit plans again only when it changes the base branch (a retarget); a title does not.
    if (str(payload.action) === 'edited' && obj(payload.changes).base === undefined)
      return ignored('pull request edit without a new base branch: nothing to plan');
    return pullRequestOutcome(githubPullRequest(payload));
  }
  if (event === 'issue_comment') return githubComment(payload);
  return ignored(`event ${shown(event ?? '(none)')} is not handled`);
}

function githubPullRequest(payload: Record<string, unknown>): PullRequestEvent {
  const pr = obj(payload.pull_request);
  const head = obj(pr.head);
  const number = typeof payload.number === 'number' ? payload.number : pr.number;
  return {
    provider: 'github',
    repository: str(obj(payload.repository).full_name) ?? '',
    number: typeof number === 'number' ? number : NaN,
    headSha: str(head.sha) ?? '',
    headRef: str(head.ref) ?? '',
    baseRef: str(obj(pr.base).ref) ?? undefined,
    action: str(payload.action) ?? '',
    merged: pr.merged === true,
  };
}

/** A GitHub `issue_comment` event: a new comment on a pull request, else ignored. */
function githubComment(payload: Record<string, unknown>): WebhookOutcome {
  const issue = obj(payload.issue);
  const comment = obj(payload.comment);
  // Comments on issues that are not pull requests, and edits or deletions, do not count.
  if (str(payload.action) !== 'created' || issue.pull_request === undefined)
    return ignored('not a new pull request comment');
  return commentOutcome({
    provider: 'github',
    repository: str(obj(payload.repository).full_name) ?? '',
    number: typeof issue.number === 'number' ? issue.number : NaN,
    body: str(comment.body) ?? '',
    user: { login: str(obj(comment.user).login) ?? '', id: num(obj(comment.user).id) },
    createdAt: forgeTime(comment.created_at),
    open: str(issue.state) === 'open',
  });
}

/**
 * GitHub and GitLab send the same `ref` and `after`. A push deleting the followed branch (`after`
 * all zeros; GitHub also says `deleted: true`) is ignored: the last good state stays.
 */
function pushOutcome(payload: Record<string, unknown>, branch: string | null): WebhookOutcome {
  const ref = str(payload.ref) ?? '';
  if (branch === null || ref !== `refs/heads/${branch}`)
    return ignored(`push to ${ref ? shown(ref) : 'unknown ref'} is not the followed branch`);
  if (payload.deleted === true || /^0+$/.test(str(payload.after) ?? ''))
    return ignored(
      `push deletes the followed branch ${shown(ref)}: nothing to reconcile, the last applied commit stays`,
    );
  const commit = str(payload.after);
  return { status: 202, result: 'push', message: 'reconcile queued', ref, commit };
}

/** Of a ref or event kind, what the answer and log show: a 512 KiB ref was (issue 38 item 12). */
const SHOWN = 200;

function shown(text: string): string {
  return text.length <= SHOWN
    ? text
    : `${text.slice(0, SHOWN)}… (${text.length.toLocaleString('en-US')} characters)`;
}

export function handleGitlabWebhook(req: WebhookRequest, options: WebhookOptions): WebhookOutcome {
  if (!options.verified) {
    const token = header(req.headers, 'x-gitlab-token');
    if (token === null) return unauthorized('missing X-Gitlab-Token header');
    if (!constantTimeEqual(token, options.secret))
      return unauthorized('X-Gitlab-Token does not match; check the webhook token');
  }
  const payload = parseJson(req.body);
  if (payload === null) return badRequest('the body is not a JSON object');
  const kind = str(payload.object_kind) ?? header(req.headers, 'x-gitlab-event') ?? '';
  const project = obj(payload.project);
  const from = {
    name: str(project.path_with_namespace),
    id: num(project.id),
    urls: [project.git_http_url, project.git_ssh_url],
  };
  const other = elsewhere(from, options.followed);
  if (other) return other;
  if (kind === 'push' || kind === 'Push Hook') return pushOutcome(payload, options.branch);
  if (kind === 'merge_request' || kind === 'Merge Request Hook') {
    const attrs = obj(payload.object_attributes);
    // GitLab's docs: `oldrev` is present only when code changed (new commits, a suggestion
    // applied); an update without it or a new target branch is a title, label, description or draft edit.
    const retargeted = obj(payload.changes).target_branch !== undefined;
    if (str(attrs.action) === 'update' && attrs.oldrev === undefined && !retargeted)
      return ignored(
        'merge request update without new commits (no oldrev) or a new target branch: nothing to plan',
      );
    return pullRequestOutcome({
      provider: 'gitlab',
      repository: str(obj(payload.project).path_with_namespace) ?? '',
      webUrl: str(obj(payload.project).web_url),
      number: typeof attrs.iid === 'number' ? attrs.iid : NaN,
      headSha: str(obj(attrs.last_commit).id) ?? '',
      headRef: str(attrs.source_branch) ?? '',
      baseRef: str(attrs.target_branch) ?? undefined,
      action: str(attrs.action) ?? '',
    });
  }
  if (kind === 'note' || kind === 'Note Hook') {
    const attrs = obj(payload.object_attributes);
    const mr = obj(payload.merge_request);
    if (str(attrs.noteable_type) !== 'MergeRequest') return ignored('not a merge request note');
    // Since GitLab 16.11 note events fire on edits too (`action: update`): only a note just
    // written approves (before 16.11 there is no `action`, and only new notes fire).
    if (attrs.action !== undefined && str(attrs.action) !== 'create')
      return ignored('an edited note approves nothing');
    const user = obj(payload.user);
    return commentOutcome({
      provider: 'gitlab',
      repository: str(obj(payload.project).path_with_namespace) ?? '',
      webUrl: str(obj(payload.project).web_url),
      number: typeof mr.iid === 'number' ? mr.iid : NaN,
      body: str(attrs.note) ?? '',
      user: { login: str(user.username) ?? '', id: num(user.id) },
      createdAt: forgeTime(attrs.created_at),
      open: str(mr.state) === 'opened',
    });
  }
  return ignored(`event ${shown(kind || '(none)')} is not handled`);
}

/** Only `poolsync apply` comments matter (an approval, pull-requests.ts). */
function commentOutcome(given: CommentEvent): WebhookOutcome {
  const policies = parsePolicyApproval(given.body);
  const command = policies ?? parseCommentCommand(given.body);
  if (!command) return ignored('comment is not a poolsync command');
  if (policies) given = { ...given, policies: { digest: policies.digest, why: policies.why } };
  const e: CommentEvent = command.environment
    ? { ...given, environment: command.environment }
    : given;
  if (!e.repository || !Number.isInteger(e.number) || !e.user.login)
    return badRequest('comment event without repository, pull request number or author');
  return { status: 202, result: 'comment', message: 'poolsync apply comment accepted', event: e };
}

function pullRequestOutcome(e: PullRequestEvent): WebhookOutcome {
  if (!e.repository || !Number.isInteger(e.number) || !e.headSha)
    return badRequest('pull request event without repository, number or head commit');
  return { status: 202, result: 'pull_request', message: 'pull request event accepted', event: e };
}
