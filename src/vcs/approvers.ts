/**
 * Who may approve a held plan from a pull request (docs/daemon.md#approvals), and the two
 * calls around it: the pull request's head commit and state, and the reply comment.
 * - GitHub: the collaborator permission API; `admin`, `maintain` or `write` may approve
 *   (https://docs.github.com/rest/collaborators/collaborators#get-repository-permissions-for-a-user).
 * - GitLab: the project member's access level (inherited members included); Developer (30)
 *   or above may approve (https://docs.gitlab.com/api/members/#get-a-member-of-a-group-or-project-including-inherited-and-invited-members).
 */
import type { ApiClient, ErrorMapper } from './http.js';
import { githubApi } from './github.js';
import { gitlabApi } from './gitlab.js';
import { VcsApiError, type ForgeRepository, type ForgeUser } from './types.js';

export interface ApproverCheck {
  allowed: boolean;
  /** What the forge says: `write`, `read`, `none`, `developer (30)`, `reporter (20)`… */
  level: string;
}

export interface ApprovalForge {
  permission(user: ForgeUser): Promise<ApproverCheck>;
  /** The pull request's head commit, and whether it is open. */
  pullRequest(number: number): Promise<{ headSha: string; open: boolean }>;
  reply(number: number, body: string): Promise<void>;
  close(): Promise<void>;
}

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

export function createApprovalForge(opts: ForgeRepository): ApprovalForge {
  const github = opts.provider === 'github';
  const mapError: ErrorMapper = (status, server, call) =>
    `${github ? 'GitHub' : 'GitLab'} answered HTTP ${status} when trying to ${call.operation} in ${opts.repository}${server ? `: ${server}` : ''}.`;
  const api = github ? githubApi(opts, mapError) : gitlabApi(opts, mapError);
  const project = `/projects/${encodeURIComponent(opts.repository)}`;
  return {
    async permission(user) {
      if (github) return githubPermission(api, opts.repository, user);
      return gitlabPermission(api, project, user);
    },
    async pullRequest(number) {
      const res = await api.call({
        method: 'GET',
        path: github
          ? `/repos/${opts.repository}/pulls/${number}`
          : `${project}/merge_requests/${number}`,
        operation: `read ${github ? 'pull request #' : 'merge request !'}${number}`,
      });
      const body = res.json as { head?: { sha?: string }; sha?: string; state?: string };
      const sha = github ? body.head?.sha : body.sha;
      if (!sha)
        throw new Error(`${github ? 'GitHub' : 'GitLab'} returned no head commit for ${number}`);
      // GitHub: open | closed; GitLab: opened | closed | locked | merged.
      return { headSha: sha, open: body.state === 'open' || body.state === 'opened' };
    },
    async reply(number, body) {
      await api.call({
        method: 'POST',
        path: github
          ? `/repos/${opts.repository}/issues/${number}/comments`
          : `${project}/merge_requests/${number}/notes`,
        body: { body },
        operation: `reply on ${github ? 'pull request #' : 'merge request !'}${number}`,
        nonIdempotent: true,
      });
    },
    close: () => api.close(),
  };
}

const notFound = (err: unknown) => err instanceof VcsApiError && err.status === 404;

/** GitHub: the collaborator's permission; `admin`, `maintain` or `write` may approve. */
async function githubPermission(
  api: ApiClient,
  repository: string,
  user: ForgeUser,
): Promise<ApproverCheck> {
  try {
    const res = await api.call({
      method: 'GET',
      path: `/repos/${repository}/collaborators/${encodeURIComponent(user.login)}/permission`,
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
  } catch (err) {
    if (notFound(err)) return { allowed: false, level: 'none (not a collaborator)' };
    throw err;
  }
}

/** GitLab: the member's access level (inherited included); Developer (30) or above may approve. */
async function gitlabPermission(
  api: ApiClient,
  project: string,
  user: ForgeUser,
): Promise<ApproverCheck> {
  if (user.id === null) return { allowed: false, level: 'unknown (no user id in the event)' };
  try {
    const res = await api.call({
      method: 'GET',
      path: `${project}/members/all/${user.id}`,
      operation: `read the access level of ${user.login}`,
    });
    const n = (res.json as { access_level?: number }).access_level ?? 0;
    return { allowed: n >= 30, level: `${GITLAB_LEVELS[n] ?? 'level'} (${n})` };
  } catch (err) {
    if (notFound(err)) return { allowed: false, level: 'none (not a member)' };
    throw err;
  }
}
