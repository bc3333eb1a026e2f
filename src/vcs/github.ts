/**
 * GitHub REST client for exactly what a sticky plan comment needs: list, create and update
 * the issue comments of a pull request, and set the `poolsync/plan` commit status.
 * https://docs.github.com/rest/issues/comments, https://docs.github.com/rest/commits/statuses
 */
import {
  ApiClient,
  listPages,
  nextLink,
  parseApiUrl,
  type ApiCall,
  type ErrorMapper,
} from './http.js';
import { tokenIdentity } from './identity.js';
import { plural } from '../render/common.js';
import { clip } from './text.js';
import {
  STATUS_CONTEXT,
  VcsConfigError,
  type IssueComment,
  type PullRequestApi,
  type PullRequestRef,
} from './types.js';

export const GITHUB_API_URL = 'https://api.github.com';
/** GitHub rejects longer status descriptions (422). */
export const GITHUB_STATUS_DESCRIPTION_MAX = 140;
const REPOSITORY = /^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/;

type GitHubOptions = Omit<PullRequestRef, 'provider'>;

/** A GitHub Enterprise Cloud host with data residency: `SUBDOMAIN.ghe.com` (docs.github.com, "About GitHub Enterprise Cloud with data residency"). */
export const GHE_COM = /^(?:api\.)?([a-z0-9-]+)\.ghe\.com$/i;

/**
 * `https://api.github.com` (default), GitHub Enterprise Cloud with data residency
 * `https://api.SUBDOMAIN.ghe.com`, or GitHub Enterprise Server `https://HOST/api/v3` (a bare
 * `https://HOST` gets `/api/v3`, a bare `https://SUBDOMAIN.ghe.com` its `api.` host).
 */
export function normalizeGitHubApiUrl(apiUrl: string | undefined): string {
  const url = parseApiUrl(
    apiUrl?.trim() || GITHUB_API_URL,
    'https://api.github.com, https://api.SUBDOMAIN.ghe.com, or https://HOST/api/v3 for GitHub Enterprise Server',
  );
  const cloud = GHE_COM.exec(url.hostname);
  if (url.pathname === '/' || url.pathname === '') {
    // GitHub.com and GHE.com serve the API at the root of their api. host; a server at /api/v3.
    if (cloud) url.hostname = `api.${cloud[1]}.ghe.com`;
    else if (url.hostname !== 'api.github.com') url.pathname = '/api/v3';
  }
  return url.toString().replace(/\/+$/, '');
}

/** The scope a GitHub token needs for an operation, for 403 messages. */
function neededPermission(call: ApiCall): string {
  return call.path.includes('/statuses/')
    ? 'permission `statuses: write` (fine-grained token or the Actions GITHUB_TOKEN; a classic token needs scope `repo`, or `repo:status`)'
    : 'permission `pull-requests: write` (fine-grained token or the Actions GITHUB_TOKEN; a classic token needs scope `repo`, or `public_repo` for a public repository)';
}

export function createGitHubClient(opts: GitHubOptions): PullRequestApi {
  checkOptions(opts);
  const api = githubApi(opts);
  const issue = `/repos/${opts.repository}/issues`;
  return {
    provider: 'github',
    self: () => tokenIdentity(api, 'github'),
    async listComments() {
      const comments = await listPages(
        api,
        `${issue}/${opts.number}/comments?per_page=100`,
        `list the comments of pull request #${opts.number}`,
        (res) => nextLink(res.headers.link),
      );
      return comments.map(toComment);
    },
    async createComment(body) {
      const res = await api.call({
        method: 'POST',
        path: `${issue}/${opts.number}/comments`,
        body: { body },
        operation: `comment on pull request #${opts.number}`,
        nonIdempotent: true,
      });
      return toComment(res.json);
    },
    async updateComment(id, body) {
      const res = await api.call({
        method: 'PATCH',
        path: `${issue}/comments/${id}`,
        body: { body },
        operation: `update the poolsync comment on pull request #${opts.number}`,
      });
      return toComment(res.json);
    },
    async setStatus(sha, status) {
      await api.call({
        method: 'POST',
        path: `/repos/${opts.repository}/statuses/${encodeURIComponent(sha)}`,
        body: {
          state: status.state,
          context: STATUS_CONTEXT,
          description: clip(status.description, GITHUB_STATUS_DESCRIPTION_MAX),
          target_url: status.targetUrl || undefined,
        },
        operation: `set the ${STATUS_CONTEXT} status of commit ${sha.slice(0, 12)}`,
      });
    },
    close: () => api.close(),
  };
}

/** The REST client of `opts`: its token, API version and error messages. */
export function githubApi(
  opts: Omit<GitHubOptions, 'number'> & { number?: number },
  mapError: ErrorMapper = errorMessages(opts),
): ApiClient {
  return new ApiClient({
    provider: 'GitHub',
    baseUrl: normalizeGitHubApiUrl(opts.apiUrl),
    headers: {
      authorization: `Bearer ${opts.token}`,
      accept: 'application/vnd.github+json',
      'x-github-api-version': '2022-11-28',
      'user-agent': 'poolsync',
    },
    secrets: [opts.token],
    retry: opts.retry,
    mapError,
  });
}

function toComment(json: unknown): IssueComment {
  const c = json as {
    id: number;
    body?: string | null;
    html_url?: string;
    user?: { login: string; id: number } | null;
  };
  const author = c.user ? { login: c.user.login, id: c.user.id } : null;
  return { id: c.id, body: c.body ?? '', url: c.html_url ?? null, author };
}

function checkOptions(opts: GitHubOptions): void {
  if (!REPOSITORY.test(opts.repository)) {
    throw new VcsConfigError(
      `--repo ${JSON.stringify(opts.repository)} is not a GitHub repository: use owner/name, e.g. acme/pool-config.`,
    );
  }
  if (!Number.isInteger(opts.number) || opts.number < 1) {
    throw new VcsConfigError(
      `--pr must be a pull request number (a positive integer), got ${opts.number}.`,
    );
  }
}

/** What each failed call says: what went wrong and what to do. */
function errorMessages(opts: { repository: string; number?: number }): ErrorMapper {
  const where = `${opts.repository}#${opts.number ?? ''}`;
  return (status, server, call, attempts) => {
    const detail = server ? `: ${server}` : '';
    if (status === 401) {
      return `GitHub rejected the token (401${detail}). Set GITHUB_TOKEN to a valid token.`;
    }
    if ((status === 403 || status === 429) && /rate limit/i.test(server)) {
      return `GitHub rate limit exceeded while trying to ${call.operation} (${status}${detail}), still after ${plural(attempts, 'attempt')}. Try again later, or use a token with a higher limit.`;
    }
    if (status === 403) {
      return `GitHub refused to ${call.operation} in ${opts.repository} (403${detail}). The token needs ${neededPermission(call)}.`;
    }
    if (status === 404) {
      return `GitHub could not find ${where} while trying to ${call.operation} (404). Check --repo and --pr; for a private repository, the token must have access to it.`;
    }
    if (status === 422) {
      return `GitHub rejected the request to ${call.operation} in ${where} (422 validation failed${detail}).`;
    }
    if (status === 429 || status >= 500) {
      return `GitHub failed to ${call.operation} in ${where}: HTTP ${status} after ${plural(attempts, 'attempt')}${detail}. GitHub may be unavailable or rate-limiting; try again later.`;
    }
    return `GitHub answered HTTP ${status} when trying to ${call.operation} in ${where}${detail}.`;
  };
}
