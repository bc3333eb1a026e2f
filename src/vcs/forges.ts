/**
 * The forges' REST APIs, for exactly what poolsync does on a pull request (through http.ts):
 * - the sticky plan comment: a GitHub pull request's issue comments or a GitLab merge request's
 *   notes (https://docs.github.com/rest/issues/comments, https://docs.gitlab.com/api/notes/),
 *   and the folder's commit status, `poolsync/plan` (comment.ts statusContext;
 *   docs.github.com/rest/commits/statuses, docs.gitlab.com/api/commits);
 * - who poolsync is, from its token (`GET /user`), for the one test of "poolsync's own comment":
 *   its author is that identity AND its body opens with the marker (anyone who can comment can
 *   write the marker). A GitHub App's installation token may not read /user (403), and GitHub
 *   names no bot login it may read: its own comments are those posted through an app
 *   (`performed_via_github_app`, which no user can set) by that app's bot, and once it has
 *   posted one, that comment's author (isOwnComment). No setting names it;
 * - who may approve a held plan (docs/daemon.md#approvals; githubPermission, gitlabPermission):
 *   docs.github.com/rest/collaborators/collaborators, docs.gitlab.com/api/members.
 */
import { plural } from '../render/common.js';
import { clip, COMMENT_LIMITS } from './comment.js';
import { ApiClient, header, listPages, nextLink, parseApiUrl, type ErrorMapper } from './http.js';
import {
  PROVIDER_NAMES,
  VcsApiError,
  VcsConfigError,
  type ForgeRepository,
  type ForgeUser,
  type IssueComment,
  type Provider,
  type PullRequestRef,
  type StatusState,
} from './types.js';

export const GITHUB_API_URL = 'https://api.github.com';
export const GITLAB_API_URL = 'https://gitlab.com/api/v4';
/** GitHub rejects longer status descriptions (422); GitLab stores up to 255 characters. */
const STATUS_DESCRIPTION_MAX: Record<Provider, number> = { github: 140, gitlab: 255 };

/** What --api-url should be, and where else it is set (CI for the CLI, the daemon's settings). */
const API_URL_USE: Record<Provider, string> = {
  github:
    'https://api.github.com, https://api.SUBDOMAIN.ghe.com, or https://HOST/api/v3 for GitHub Enterprise Server',
  gitlab: 'https://gitlab.com/api/v4 or https://HOST/api/v4 for a self-managed GitLab',
};
const API_URL_SETTING: Record<Provider, string> = {
  github: '--api-url (or GITHUB_API_URL)',
  gitlab: '--api-url (or CI_API_V4_URL in GitLab CI, GITLAB_API_URL for the daemon)',
};

/** GitHub Enterprise Cloud with data residency (docs.github.com, "About GitHub Enterprise Cloud with data residency"). */
export const GHE_COM = /^(?:api\.)?([a-z0-9-]+)\.ghe\.com$/i;

/**
 * `https://api.github.com` (default), `https://api.SUBDOMAIN.ghe.com` (GHE_COM), or GitHub
 * Enterprise Server `https://HOST/api/v3` (a bare `https://HOST` gets `/api/v3`, a bare
 * `https://SUBDOMAIN.ghe.com` its `api.` host).
 */
export function normalizeGitHubApiUrl(apiUrl: string | undefined): string {
  const url = parseApiUrl(apiUrl?.trim() || GITHUB_API_URL, API_URL_USE.github);
  const cloud = GHE_COM.exec(url.hostname);
  if (url.pathname === '/' || url.pathname === '') {
    if (cloud) url.hostname = `api.${cloud[1]}.ghe.com`;
    else if (url.hostname !== 'api.github.com') url.pathname = '/api/v3';
  }
  return url.toString().replace(/\/+$/, '');
}

/** `https://gitlab.com/api/v4` (default) or `https://HOST/api/v4` (a bare `https://HOST` gets `/api/v4`). */
export function normalizeGitLabApiUrl(apiUrl: string | undefined): string {
  const url = parseApiUrl(apiUrl?.trim() || GITLAB_API_URL, API_URL_USE.gitlab);
  if (url.pathname === '/' || url.pathname === '') url.pathname = '/api/v4';
  return url.toString().replace(/\/+$/, '');
}

export function forgeApi(
  opts: ForgeRepository & { number?: number },
  mapError: ErrorMapper = errorMessages(opts),
): ApiClient {
  const github = opts.provider === 'github';
  return new ApiClient({
    provider: PROVIDER_NAMES[opts.provider],
    baseUrl: github ? normalizeGitHubApiUrl(opts.apiUrl) : normalizeGitLabApiUrl(opts.apiUrl),
    headers: github
      ? {
          authorization: `Bearer ${opts.token}`,
          accept: 'application/vnd.github+json',
          'x-github-api-version': '2022-11-28',
          'user-agent': 'poolsync',
        }
      : { 'private-token': opts.token, 'user-agent': 'poolsync' },
    secrets: [opts.token],
    retry: opts.retry,
    mapError,
    redirect: {
      setting: `correct ${API_URL_SETTING[opts.provider]}`,
      within: `the ${github ? 'repository' : 'project'} may have been renamed or moved: check --repo`,
    },
  });
}

const GITLAB_STATES: Record<StatusState, string> = {
  pending: 'running',
  success: 'success',
  failure: 'failed',
  // GitLab has no separate "error" state.
  error: 'failed',
};

export type PullRequestApi = ReturnType<typeof createPullRequestApi>;

/** GitLab's system notes are left out. */
export function createPullRequestApi(opts: PullRequestRef) {
  checkOptions(opts);
  const { provider } = opts;
  const github = provider === 'github';
  const api = forgeApi(opts);
  const pr = pullRequestOf(opts, opts.number);
  const word = github ? 'comment' : 'note';
  const read = github ? async (json: unknown) => toComment(json) : noteReader(api, opts, pr);
  const first = `${pr.comments}?per_page=100${github ? '' : '&sort=asc&order_by=created_at'}`;
  return {
    provider,
    /** Who the token is; null for a GitHub App's token until it has posted (module header). */
    self: () => tokenIdentity(api, provider),
    /** Oldest first, all pages. */
    async listComments() {
      const all = await listPages(api, first, `list the ${word}s of ${pr.name}`, (res) => {
        // GitLab's offset pagination names the next page; keyset pagination and GitHub only
        // send a Link header.
        const next = github ? undefined : header(res.headers, 'x-next-page');
        return next ? `${first}&page=${encodeURIComponent(next)}` : nextLink(res.headers.link);
      });
      return Promise.all((all as { system?: boolean }[]).filter((n) => !n.system).map(read));
    },
    /** `landed`: the comment, when a create of unclear outcome made it (http.ts ApiCall.landed). */
    async createComment(body: string, landed?: () => Promise<IssueComment | undefined>) {
      let made: IssueComment | undefined;
      const res = await api.call({
        method: 'POST',
        path: pr.comments,
        body: { body },
        operation: `comment on ${pr.name}`,
        nonIdempotent: true,
        landed: landed && (async () => (made = await landed()) !== undefined),
      });
      const comment = made ?? (await read(res.json));
      // A GitHub App's token learns who it is from the comment it posted (module header).
      if (comment.author && (await tokenIdentity(api, provider)) === null)
        known.set(api.tokenKey, Promise.resolve(comment.author));
      return comment;
    },
    async deleteComment(id: number) {
      await api.call({
        method: 'DELETE',
        path: github ? `${pr.repo}/issues/comments/${id}` : `${pr.comments}/${id}`,
        operation: `delete the poolsync ${word} ${id} on ${pr.name}`,
      });
    },
    async updateComment(id: number, body: string) {
      const res = await api.call({
        method: github ? 'PATCH' : 'PUT',
        path: github ? `${pr.repo}/issues/comments/${id}` : `${pr.comments}/${id}`,
        body: { body },
        operation: `update the poolsync ${word} on ${pr.name}`,
      });
      return read(res.json);
    },
    /** `context`: comment.ts statusContext. */
    async setStatus(
      sha: string,
      status: {
        context: string;
        state: StatusState;
        description: string;
        targetUrl?: string | null;
      },
    ) {
      try {
        await api.call({
          method: 'POST',
          path: `${pr.repo}/statuses/${encodeURIComponent(sha)}`,
          body: {
            state: github ? status.state : GITLAB_STATES[status.state],
            [github ? 'context' : 'name']: status.context,
            description: clip(status.description, STATUS_DESCRIPTION_MAX[provider]),
            target_url: status.targetUrl || undefined,
          },
          operation: `set the ${status.context} status of commit ${sha.slice(0, 12)}`,
        });
      } catch (err) {
        // GitLab answers 400 "Cannot transition status via :run from :running" when the
        // status already has that state (a redelivered event): the goal is reached.
        const reached =
          err instanceof VcsApiError &&
          err.status === 400 &&
          /cannot transition status/i.test(err.message);
        if (github || !reached) throw err;
      }
    },
    /**
     * Every status of commit `sha` (GitLab's `all`: not only each name's latest), with when the
     * forge made it and who (docs.github.com/rest/commits/statuses, docs.gitlab.com/api/commits).
     */
    async statuses(sha: string): Promise<CommitStatus[]> {
      const commit = encodeURIComponent(sha);
      const first = github
        ? `${pr.repo}/commits/${commit}/statuses?per_page=100`
        : `${pr.repo}/repository/commits/${commit}/statuses?all=true&per_page=100`;
      const operation = `list the statuses of commit ${sha.slice(0, 12)}`;
      const all = await listPages(api, first, operation, (res) => {
        const next = github ? undefined : header(res.headers, 'x-next-page');
        return next ? `${first}&page=${encodeURIComponent(next)}` : nextLink(res.headers.link);
      });
      return (all as StatusJson[]).map((s) => ({
        context: (github ? s.context : s.name) ?? '',
        targetUrl: s.target_url ?? null,
        author: userOf(github ? s.creator : s.author),
        createdAt: forgeTime(s.created_at),
      }));
    },
    close: () => api.close(),
  };
}

type StatusJson = {
  context?: string;
  name?: string;
  target_url?: string | null;
  creator?: UserJson;
  author?: UserJson;
  created_at?: string;
};

/** A commit status as the forge stored it: its context (GitLab: name), link, creator and time. */
export interface CommitStatus {
  context: string;
  targetUrl: string | null;
  author: ForgeUser | null;
  /** Its `created_at` (the forge's clock), epoch ms; null when the forge did not say. */
  createdAt: number | null;
}

const repoPath = ({ provider, repository }: ForgeRepository) =>
  provider === 'github' ? `/repos/${repository}` : `/projects/${encodeURIComponent(repository)}`;

/** Pull request `number`'s name in messages, and its API paths. */
function pullRequestOf(opts: ForgeRepository, number: number) {
  const github = opts.provider === 'github';
  const repo = repoPath(opts);
  const path = `${repo}/${github ? 'pulls' : 'merge_requests'}/${number}`;
  return {
    name: github ? `pull request #${number}` : `merge request !${number}`,
    repo,
    path,
    comments: github ? `${repo}/issues/${number}/comments` : `${path}/notes`,
  };
}

type UserJson = { login?: string; username?: string; id?: number } | null | undefined;
/** GitHub's `login`, GitLab's `username`; null when none. */
function userOf(u: UserJson): ForgeUser | null {
  const login = u?.login ?? u?.username;
  return login ? { login, id: u?.id ?? null } : null;
}

/**
 * A GitHub comment (its author is `user`) or, with `note`, a GitLab note (its author is
 * `author`, no app; GitLab sends no URL), each from its own forge's fields only: who wrote a
 * comment is what an approval rests on.
 */
function toComment(json: unknown, note: { url: string | null } | null = null): IssueComment {
  const c = json as {
    id: number;
    body?: string | null;
    html_url?: string;
    user?: UserJson;
    author?: UserJson;
    performed_via_github_app?: { slug?: string } | null;
    created_at?: string;
    updated_at?: string;
  };
  const author = userOf(note ? c.author : c.user);
  const app = note ? null : (c.performed_via_github_app?.slug ?? null);
  const createdAt = forgeTime(c.created_at);
  const updatedAt = forgeTime(c.updated_at);
  const url = note ? note.url : (c.html_url ?? null);
  return { id: c.id, body: c.body ?? '', url, author, app, createdAt, updatedAt };
}

/** A forge timestamp (ISO 8601; GitLab's webhooks also `2024-05-17 18:08:09 UTC`) as epoch ms, or null. */
export function forgeTime(text: unknown): number | null {
  if (typeof text !== 'string') return null;
  const ms = Date.parse(text.replace(/^(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d) UTC$/, '$1T$2Z'));
  return Number.isFinite(ms) ? ms : null;
}

/** With a GitHub App token not known yet (`self` null): posted through an app by its bot. */
export function isOwnComment(c: IssueComment, self: ForgeUser | null): boolean {
  if (self !== null) return sameUser(c.author, self);
  return c.app !== null && c.author?.login.toLowerCase() === `${c.app}[bot]`.toLowerCase();
}

/**
 * A note's web address is the merge request's page and `#note_ID`. The page follows from a
 * project path beside an API at /api/v4; else (a numeric project id, as GitLab CI's
 * CI_PROJECT_ID) it is the merge request's `web_url`, read once.
 */
function noteReader(
  api: ApiClient,
  opts: PullRequestRef,
  pr: ReturnType<typeof pullRequestOf>,
): (json: unknown) => Promise<IssueComment> {
  const base = api.baseUrl.href.replace(/\/+$/, '');
  let page: Promise<string | null> | null =
    !/^\d+$/.test(opts.repository) && base.endsWith('/api/v4')
      ? Promise.resolve(
          `${base.slice(0, -'/api/v4'.length)}/${opts.repository}/-/merge_requests/${opts.number}`,
        )
      : null;
  const webUrl = () =>
    (page ??= api
      .call({ method: 'GET', path: pr.path, operation: `read ${pr.name}` })
      .then((res) => (res.json as { web_url?: string }).web_url ?? null));
  return async (json) => {
    const web = await webUrl().catch(() => null);
    return toComment(json, { url: web && `${web}#note_${(json as { id: number }).id}` });
  };
}

function checkOptions(opts: PullRequestRef): void {
  const github = opts.provider === 'github';
  const shape = github
    ? /^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/
    : /^(\d+|[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+)+)$/;
  if (!shape.test(opts.repository))
    throw new VcsConfigError(
      github
        ? `--repo ${JSON.stringify(opts.repository)} is not a GitHub repository: use owner/name, e.g. acme/pool-config.`
        : `--repo ${JSON.stringify(opts.repository)} is not a GitLab project: use its numeric id or its path, e.g. acme/infra/pool-config.`,
    );
  if (!Number.isInteger(opts.number) || opts.number < 1)
    throw new VcsConfigError(
      `--pr must be a ${github ? 'pull request number' : 'merge request iid'} (a positive integer), got ${opts.number}.`,
    );
}

function errorMessages(opts: ForgeRepository & { number?: number }): ErrorMapper {
  const github = opts.provider === 'github';
  const name = PROVIDER_NAMES[opts.provider];
  const where = `${opts.repository}${github ? '#' : '!'}${opts.number ?? ''}`;
  const repo = repoPath(opts);
  return (status, server, call, attempts, url) => {
    const detail = server ? `: ${server}` : '';
    // A call that names no repository (who the token is) is found on every forge's API: its 404
    // says the URL is not one, whatever --repo and --pr are.
    if (status === 404 && call.path.startsWith('/') && !call.path.startsWith(repo))
      return `${name} answered 404 to ${call.method} ${url.origin}${url.pathname} while trying to ${call.operation}, a call every ${name} API answers: the API URL looks wrong. Check ${API_URL_SETTING[opts.provider]}: ${API_URL_USE[opts.provider]}.`;
    if (status === 401)
      return github
        ? `GitHub rejected the token (401${detail}). Set GITHUB_TOKEN to a valid token.`
        : `GitLab rejected the token (401${detail}). Set GITLAB_TOKEN to a valid, unexpired access token.`;
    if (github && (status === 403 || status === 429) && /rate limit/i.test(server))
      return `GitHub rate limit exceeded while trying to ${call.operation} (${status}${detail}), still after ${plural(attempts, 'attempt')}. Try again later, or use a token with a higher limit.`;
    if (status === 403) {
      const statuses = call.path.includes('/statuses');
      const setting = statuses && call.method !== 'GET';
      return github
        ? `GitHub refused to ${call.operation} in ${opts.repository} (403${detail}). The token needs ${statuses ? `permission \`statuses: ${setting ? 'write' : 'read'}\` (fine-grained token or the Actions GITHUB_TOKEN; a classic token needs scope \`repo\`, or \`repo:status\`)` : 'permission `pull-requests: write` (fine-grained token or the Actions GITHUB_TOKEN; a classic token needs scope `repo`, or `public_repo` for a public repository)'}.`
        : `GitLab refused to ${call.operation} in ${opts.repository} (403${detail}). The token needs the \`api\` scope and at least the ${setting ? 'Developer' : 'Reporter'} role in the project.`;
    }
    if (status === 404)
      return github
        ? `GitHub could not find ${where} while trying to ${call.operation} (404). Check --repo and --pr; for a private repository, the token must have access to it.`
        : `GitLab could not find ${where} while trying to ${call.operation} (404). Check --repo (project id or full path) and --pr (the merge request iid); the token must have access to the project.`;
    if (github && status === 422)
      return `GitHub rejected the request to ${call.operation} in ${where} (422 validation failed${detail}).`;
    if (!github && (status === 400 || status === 422))
      return `GitLab rejected the request to ${call.operation} in ${where} (${status}${detail}).`;
    if (status === 429 || status >= 500)
      return `${name} failed to ${call.operation} in ${where}: HTTP ${status} after ${plural(attempts, 'attempt')}${detail}. ${name} may be unavailable or rate-limiting; try again later.`;
    return `${name} answered HTTP ${status} when trying to ${call.operation} in ${where}${detail}.`;
  };
}

const known = new Map<string, Promise<ForgeUser | null>>();

/** Asked once per process (a failure is asked again); null: see PullRequestApi.self. */
function tokenIdentity(api: ApiClient, provider: Provider): Promise<ForgeUser | null> {
  let identity = known.get(api.tokenKey);
  if (!identity) {
    identity = askIdentity(api, provider);
    known.set(api.tokenKey, identity);
    identity.catch(() => known.delete(api.tokenKey));
  }
  return identity;
}

/** The same user: by id when both have one (logins can be renamed), else by login (case-blind). */
export function sameUser(a: ForgeUser | null, b: ForgeUser): boolean {
  if (a === null) return false;
  if (a.id !== null && b.id !== null) return a.id === b.id;
  return a.login.toLowerCase() === b.login.toLowerCase();
}

async function askIdentity(api: ApiClient, provider: Provider): Promise<ForgeUser | null> {
  try {
    const user = (
      await api.call({ method: 'GET', path: '/user', operation: 'read who the token is' })
    ).json as { login: string; username: string; id: number };
    return { login: provider === 'github' ? user.login : user.username, id: user.id };
  } catch (err) {
    // GitHub refused, not rate-limited: an installation token, whose bot GitHub does not name.
    const refused = err instanceof VcsApiError && err.status === 403 && err.retryAt === null;
    if (provider !== 'github' || !refused) throw err;
    return null;
  }
}

export interface ApproverCheck {
  allowed: boolean;
  /** What the forge says: `write`, `read`, `none`, `developer (30)`, `reporter (20)`… */
  level: string;
}

export type ApprovalForge = ReturnType<typeof createApprovalForge>;

const GITLAB_LEVELS: Record<number, string> = {
  0: 'none',
  5: 'minimal access',
  10: 'guest',
  15: 'planner',
  20: 'reporter',
  30: 'developer',
  40: 'maintainer',
  50: 'owner',
};

export function createApprovalForge(opts: ForgeRepository) {
  const github = opts.provider === 'github';
  const name = PROVIDER_NAMES[opts.provider];
  const api = forgeApi(
    opts,
    (status, server, call) =>
      `${name} answered HTTP ${status} when trying to ${call.operation} in ${opts.repository}${server ? `: ${server}` : ''}.`,
  );
  const repo = repoPath(opts);
  return {
    async permission(user: ForgeUser): Promise<ApproverCheck> {
      try {
        return await (github ? githubPermission : gitlabPermission)(api, repo, user);
      } catch (err) {
        if (!(err instanceof VcsApiError && err.status === 404)) throw err;
        return { allowed: false, level: `none (not a ${github ? 'collaborator' : 'member'})` };
      }
    },
    async pullRequest(number: number) {
      const pr = pullRequestOf(opts, number);
      const res = await api.call({ method: 'GET', path: pr.path, operation: `read ${pr.name}` });
      const body = res.json as {
        head?: { sha?: string };
        sha?: string;
        state?: string;
        user?: UserJson;
        author?: UserJson;
        merged?: boolean;
        merge_commit_sha?: string | null;
        squash_commit_sha?: string | null;
      };
      const sha = github ? body.head?.sha : body.sha;
      if (!sha) throw new Error(`${name} returned no head commit for ${number}`);
      // GitHub: open | closed; GitLab: opened | closed | locked | merged.
      const merged = github ? body.merged === true : body.state === 'merged';
      // GitHub's merge_commit_sha of an open pull request is its test merge: only a merged one's counts.
      const mergeCommit = merged ? (body.merge_commit_sha ?? body.squash_commit_sha ?? null) : null;
      return {
        headSha: sha,
        open: body.state === 'open' || body.state === 'opened',
        author: userOf(github ? body.user : body.author),
        merged,
        mergeCommit,
      };
    },
    /**
     * GitHub: `user` is an active member of ORG's team SLUG (docs.github.com/rest/teams/members,
     * "Get team membership for a user"; 404: no membership, or a team the token cannot see).
     */
    async teamMember(org: string, slug: string, login: string): Promise<boolean> {
      const path = `/orgs/${encodeURIComponent(org)}/teams/${encodeURIComponent(slug)}/memberships/${encodeURIComponent(login)}`;
      const operation = `read whether ${login} is in team:${org}/${slug}`;
      const body = await notFoundAsNull(api.call({ method: 'GET', path, operation })).catch(
        (err: unknown) => {
          // A token that may not read the organization's teams: say which permission it needs.
          if (!(err instanceof VcsApiError && err.status === 403 && err.retryAt === null))
            throw err;
          throw new VcsApiError(
            name,
            403,
            `GitHub refused to ${operation} (403): the token needs to read the organization's teams (classic token: read:org; fine-grained token or GitHub App: organization Members: read)`,
          );
        },
      );
      return (body as { state?: string } | null)?.state === 'active';
    },
    /**
     * GitLab: user `id` is a member of group PATH, inherited and invited memberships included
     * (docs.gitlab.com/api/members, "Get a member of a group or project, including inherited
     * and invited members"): Guest or more, its membership not awaiting approval.
     */
    async groupMember(path: string, id: number): Promise<boolean> {
      const body = await notFoundAsNull(
        api.call({
          method: 'GET',
          path: `/groups/${encodeURIComponent(path)}/members/all/${id}`,
          operation: `read whether user ${id} is in group:${path}`,
        }),
      );
      const m = body as { access_level?: number; membership_state?: string } | null;
      return (m?.access_level ?? 0) >= 10 && (m?.membership_state ?? 'active') === 'active';
    },
    /**
     * The pull request's comments as they are now, and who the token is (null: a GitHub App's
     * until it has posted): an approval re-reads poolsync's plan comment with them.
     */
    async comments(number: number) {
      const pr = createPullRequestApi({ ...opts, number });
      try {
        return { self: await pr.self(), comments: await pr.listComments() };
      } finally {
        await pr.close();
      }
    },
    /** A reply, shortened to the forge's limit: it always lands. */
    async reply(number: number, body: string) {
      const pr = pullRequestOf(opts, number);
      await api.call({
        method: 'POST',
        path: pr.comments,
        body: { body: clip(body, COMMENT_LIMITS[opts.provider]) },
        operation: `reply on ${pr.name}`,
        nonIdempotent: true,
      });
    },
    close: () => api.close(),
  };
}

/** The answer's JSON; null for a 404 (no such membership). */
async function notFoundAsNull(call: ReturnType<ApiClient['call']>): Promise<unknown> {
  try {
    return (await call).json;
  } catch (err) {
    if (err instanceof VcsApiError && err.status === 404) return null;
    throw err;
  }
}

// Each forge's check; its 404 (not a collaborator, not a member) is answered by `permission`.

/** GitHub: `admin`, `maintain` or `write` may approve. */
async function githubPermission(
  api: ApiClient,
  repo: string,
  user: ForgeUser,
): Promise<ApproverCheck> {
  const res = await api.call({
    method: 'GET',
    path: `${repo}/collaborators/${encodeURIComponent(user.login)}/permission`,
    operation: `read the permission of ${user.login}`,
  });
  const body = res.json as { permission?: string; role_name?: string };
  const level = body.role_name ?? body.permission ?? 'none';
  return {
    allowed:
      ['admin', 'maintain', 'write'].includes(level) ||
      body.permission === 'admin' ||
      body.permission === 'write',
    level,
  };
}

/** GitLab: the member's access level, inherited included; Developer (30) or above may approve. */
async function gitlabPermission(
  api: ApiClient,
  repo: string,
  user: ForgeUser,
): Promise<ApproverCheck> {
  if (user.id === null) return { allowed: false, level: 'unknown (no user id in the event)' };
  const res = await api.call({
    method: 'GET',
    path: `${repo}/members/all/${user.id}`,
    operation: `read the access level of ${user.login}`,
  });
  const n = (res.json as { access_level?: number }).access_level ?? 0;
  return { allowed: n >= 30, level: `${GITLAB_LEVELS[n] ?? 'level'} (${n})` };
}
