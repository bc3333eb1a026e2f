/**
 * GitLab REST (v4) client for exactly what a sticky plan comment needs: list, create and
 * update the notes of a merge request, and set the `poolsync/plan` commit status.
 * https://docs.gitlab.com/api/notes/#merge-requests, https://docs.gitlab.com/api/commits/#set-the-pipeline-status-of-a-commit
 */
import { ApiClient, listPages, nextLink, parseApiUrl, type ErrorMapper } from './http.js';
import { tokenIdentity } from './identity.js';
import { plural } from '../render/common.js';
import { clip } from './text.js';
import {
  STATUS_CONTEXT,
  VcsApiError,
  VcsConfigError,
  type IssueComment,
  type PullRequestApi,
  type PullRequestRef,
  type StatusState,
} from './types.js';

export const GITLAB_API_URL = 'https://gitlab.com/api/v4';
/** GitLab stores status descriptions up to 255 characters. */
export const GITLAB_STATUS_DESCRIPTION_MAX = 255;
const PROJECT = /^(\d+|[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+)+)$/;

type GitLabOptions = Omit<PullRequestRef, 'provider'>;

/** `https://gitlab.com/api/v4` (default) or `https://HOST/api/v4` (a bare `https://HOST` gets `/api/v4`). */
export function normalizeGitLabApiUrl(apiUrl: string | undefined): string {
  const url = parseApiUrl(
    apiUrl?.trim() || GITLAB_API_URL,
    'https://gitlab.com/api/v4 or https://HOST/api/v4 for a self-managed GitLab',
  );
  if (url.pathname === '/' || url.pathname === '') url.pathname = '/api/v4';
  return url.toString().replace(/\/+$/, '');
}

const STATES: Record<StatusState, string> = {
  pending: 'running',
  success: 'success',
  failure: 'failed',
  // GitLab has no separate "error" state.
  error: 'failed',
};

/** The REST client of `opts`: its token and error messages. */
export function gitlabApi(
  opts: Omit<GitLabOptions, 'number'> & { number?: number },
  mapError: ErrorMapper = errorMessages(opts),
): ApiClient {
  return new ApiClient({
    provider: 'GitLab',
    baseUrl: normalizeGitLabApiUrl(opts.apiUrl),
    headers: { 'private-token': opts.token, 'user-agent': 'poolsync' },
    secrets: [opts.token],
    retry: opts.retry,
    mapError,
  });
}

export function createGitLabClient(opts: GitLabOptions): PullRequestApi {
  checkOptions(opts);
  const api = gitlabApi(opts);
  const project = `/projects/${encodeURIComponent(opts.repository)}`;
  const notes = `${project}/merge_requests/${opts.number}/notes`;
  const toNote = noteReader(api, project, opts);
  return {
    provider: 'gitlab',
    self: () => tokenIdentity(api, 'gitlab'),
    async listComments() {
      const all = await listNotes(api, notes, opts.number);
      return Promise.all((all as { system?: boolean }[]).filter((n) => !n.system).map(toNote));
    },
    async createComment(body) {
      const res = await api.call({
        method: 'POST',
        path: notes,
        body: { body },
        operation: `comment on merge request !${opts.number}`,
        nonIdempotent: true,
      });
      return toNote(res.json);
    },
    async updateComment(id, body) {
      const res = await api.call({
        method: 'PUT',
        path: `${notes}/${id}`,
        body: { body },
        operation: `update the poolsync note on merge request !${opts.number}`,
      });
      return toNote(res.json);
    },
    setStatus: (sha, status) => setStatus(api, project, sha, status),
    close: () => api.close(),
  };
}

function checkOptions(opts: GitLabOptions): void {
  if (!PROJECT.test(opts.repository)) {
    throw new VcsConfigError(
      `--repo ${JSON.stringify(opts.repository)} is not a GitLab project: use its numeric id or its path, e.g. acme/infra/pool-config.`,
    );
  }
  if (!Number.isInteger(opts.number) || opts.number < 1) {
    throw new VcsConfigError(
      `--pr must be a merge request iid (a positive integer), got ${opts.number}.`,
    );
  }
}

/** What each failed call says: what went wrong and what to do. */
function errorMessages(opts: { repository: string; number?: number }): ErrorMapper {
  const where = `${opts.repository}!${opts.number ?? ''}`;
  return (status, server, call, attempts) => {
    const detail = server ? `: ${server}` : '';
    if (status === 401) {
      return `GitLab rejected the token (401${detail}). Set GITLAB_TOKEN to a valid, unexpired access token.`;
    }
    if (status === 403) {
      const role = call.path.includes('/statuses/') ? 'Developer' : 'Reporter';
      return `GitLab refused to ${call.operation} in ${opts.repository} (403${detail}). The token needs the \`api\` scope and at least the ${role} role in the project.`;
    }
    if (status === 404) {
      return `GitLab could not find ${where} while trying to ${call.operation} (404). Check --repo (project id or full path) and --pr (the merge request iid); the token must have access to the project.`;
    }
    if (status === 400 || status === 422) {
      return `GitLab rejected the request to ${call.operation} in ${where} (${status}${detail}).`;
    }
    if (status === 429 || status >= 500) {
      return `GitLab failed to ${call.operation} in ${where}: HTTP ${status} after ${plural(attempts, 'attempt')}${detail}. GitLab may be unavailable or rate-limiting; try again later.`;
    }
    return `GitLab answered HTTP ${status} when trying to ${call.operation} in ${where}${detail}.`;
  };
}

/**
 * A note as an IssueComment, with its web address: the merge request's page and `#note_ID`.
 * The page follows from a project path beside an API at /api/v4; else (a numeric project id,
 * as GitLab CI's CI_PROJECT_ID) it is the merge request's `web_url`, read once.
 */
function noteReader(
  api: ApiClient,
  project: string,
  opts: GitLabOptions,
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
      .call({
        method: 'GET',
        path: `${project}/merge_requests/${opts.number}`,
        operation: `read merge request !${opts.number}`,
      })
      .then((res) => (res.json as { web_url?: string }).web_url ?? null));
  return async (json) => {
    const n = json as {
      id: number;
      body?: string | null;
      author?: { username: string; id: number } | null;
    };
    const author = n.author ? { login: n.author.username, id: n.author.id } : null;
    const web = await webUrl().catch(() => null);
    return { id: n.id, body: n.body ?? '', url: web && `${web}#note_${n.id}`, author };
  };
}

function listNotes(api: ApiClient, notes: string, number: number): Promise<unknown[]> {
  const first = `${notes}?per_page=100&sort=asc&order_by=created_at`;
  return listPages(api, first, `list the notes of merge request !${number}`, (res) => {
    const nextPage = res.headers['x-next-page'];
    const next = Array.isArray(nextPage) ? nextPage[0] : nextPage;
    // Offset pagination names the next page; keyset pagination only sends a Link header.
    return next ? `${first}&page=${encodeURIComponent(next)}` : nextLink(res.headers.link);
  });
}

async function setStatus(
  api: ApiClient,
  project: string,
  sha: string,
  status: Parameters<PullRequestApi['setStatus']>[1],
): Promise<void> {
  try {
    await api.call({
      method: 'POST',
      path: `${project}/statuses/${encodeURIComponent(sha)}`,
      body: {
        state: STATES[status.state],
        name: STATUS_CONTEXT,
        description: clip(status.description, GITLAB_STATUS_DESCRIPTION_MAX),
        target_url: status.targetUrl || undefined,
      },
      operation: `set the ${STATUS_CONTEXT} status of commit ${sha.slice(0, 12)}`,
    });
  } catch (err) {
    // GitLab answers 400 "Cannot transition status via :run from :running" when the
    // status already has that state (a redelivered event): the goal is reached.
    if (
      err instanceof VcsApiError &&
      err.status === 400 &&
      /cannot transition status/i.test(err.message)
    ) {
      return;
    }
    throw err;
  }
}
