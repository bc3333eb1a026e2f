/**
 * Who poolsync is on the forge, learned from its token once per process, and the one test of
 * "poolsync's own comment": its author is that identity AND its body opens with the marker
 * (a pull request is untrusted input: anyone who can comment can write the marker).
 * - GitHub: `GET /user`. An installation token (a GitHub App, the Actions GITHUB_TOKEN) may not
 *   read it (403); its comments are the app's bot's, `<slug>[bot]`, the slug from
 *   POOLSYNC_GITHUB_APP_SLUG, or `github-actions` inside GitHub Actions (as Atlantis' --gh-app-slug,
 *   server/events/vcs/github/credentials.go: GitHub names no bot login an installation may read).
 * - GitLab: `GET /user` (project and group access tokens are bot users of their own).
 */
import type { ApiClient } from './http.js';
import { VcsApiError, VcsConfigError, type ForgeUser, type Provider } from './types.js';

const known = new Map<string, Promise<ForgeUser>>();

/** The token's identity on the forge of `api`, asked once per process (a failure is asked again). */
export function tokenIdentity(
  api: ApiClient,
  provider: Provider,
  env: Record<string, string | undefined> = process.env,
): Promise<ForgeUser> {
  let identity = known.get(api.tokenKey);
  if (!identity) {
    identity = provider === 'github' ? githubIdentity(api, env) : gitlabIdentity(api);
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

async function githubIdentity(
  api: ApiClient,
  env: Record<string, string | undefined>,
): Promise<ForgeUser> {
  try {
    const user = (
      await api.call({ method: 'GET', path: '/user', operation: 'read who the token is' })
    ).json as { login: string; id: number };
    return { login: user.login, id: user.id };
  } catch (err) {
    // Refused, not rate-limited: an installation token.
    if (!(err instanceof VcsApiError && err.status === 403 && err.retryAt === null)) throw err;
  }
  const slug =
    env.POOLSYNC_GITHUB_APP_SLUG?.trim() || (env.GITHUB_ACTIONS === 'true' ? 'github-actions' : '');
  if (!slug) {
    throw new VcsConfigError(
      "The GitHub token is an installation token (a GitHub App: GET /user is refused): set POOLSYNC_GITHUB_APP_SLUG to the app's slug, so poolsync knows its own comments (they are by <slug>[bot]).",
    );
  }
  return { login: `${slug}[bot]`, id: null };
}

async function gitlabIdentity(api: ApiClient): Promise<ForgeUser> {
  const user = (
    await api.call({ method: 'GET', path: '/user', operation: 'read who the token is' })
  ).json as { username: string; id: number };
  return { login: user.username, id: user.id };
}
