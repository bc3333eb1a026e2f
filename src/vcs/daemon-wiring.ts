/**
 * One call for the daemon: the `onPullRequest` handler built from its own configuration.
 * The repository and API URL come from the followed Git remote, the token from
 * GITHUB_TOKEN / GITLAB_TOKEN, the work dir from the state dir:
 *
 *   const onPullRequest = pullRequestHandlerForDaemon({ config, readLiveState, logger });
 *   startDaemon(config, { ..., ...(onPullRequest ? { onPullRequest } : {}) });
 */
import type { BackendInfo } from '../controlplane/types.js';
import { join } from 'node:path';
import type { LiveState } from '../model/live.js';
import type { DaemonConfig } from '../daemon/config.js';
import { GITHUB_API_URL } from './github.js';
import {
  createPullRequestHandler,
  type HandlerLogger,
  type PullRequestHandler,
} from './pull-request-handler.js';
import type { Provider, PullRequestEvent } from './types.js';

export interface ForgeTarget {
  /** `owner/name` (GitHub) or the project path (GitLab). */
  repository: string;
  /** Undefined for github.com / gitlab.com. */
  apiUrl: string | undefined;
}

/**
 * The forge repository behind a clone URL: `https://host/owner/name(.git)`,
 * `git@host:owner/name.git` or `ssh://git@host[:port]/owner/name.git`. Null for anything
 * else (a local path, a file:// URL).
 */
export function forgeTargetFromRemote(remote: string, provider: Provider): ForgeTarget | null {
  let host: string;
  let path: string;
  let scheme = 'https:';
  const scp = /^(?:[^@/\s]+@)?([^:/\s]+):(?!\/)(.+)$/.exec(remote);
  if (/^(https?|ssh|git):\/\//i.test(remote)) {
    let url: URL;
    try {
      url = new URL(remote);
    } catch {
      return null;
    }
    host = url.hostname;
    path = url.pathname;
    if (url.protocol === 'http:') scheme = 'http:';
    // An https remote may carry a port the API shares; ssh ports never apply to the API.
    if ((url.protocol === 'https:' || url.protocol === 'http:') && url.port) host = url.host;
  } else if (scp) {
    host = scp[1]!;
    path = scp[2]!;
  } else {
    return null;
  }
  const repository = path.replace(/^\/+|\/+$/g, '').replace(/\.git$/, '');
  const parts = repository.split('/').filter((p) => p !== '');
  if (provider === 'github' ? parts.length !== 2 : parts.length < 2) return null;
  const publicHost = provider === 'github' ? 'github.com' : 'gitlab.com';
  const apiUrl =
    host === publicHost
      ? undefined
      : `${scheme}//${host}${provider === 'github' ? '/api/v3' : '/api/v4'}`;
  return { repository: parts.join('/'), apiUrl };
}

const TOKEN_ENV: Record<Provider, string> = { github: 'GITHUB_TOKEN', gitlab: 'GITLAB_TOKEN' };
const API_ENV: Record<Provider, string> = { github: 'GITHUB_API_URL', gitlab: 'GITLAB_API_URL' };

/**
 * The daemon's pull-request handler, or null when plan comments are not configured: a
 * provider is on when its webhook secret is set and its token is in the environment, and
 * the daemon follows a Git remote (not `--watch`).
 */
export function pullRequestHandlerForDaemon(opts: {
  config: DaemonConfig;
  readLiveState: () => Promise<LiveState>;
  /** What the control plane manages (BACKEND_KIND errors, config-only kinds). */
  backend?: BackendInfo;
  logger: HandlerLogger;
  env?: Record<string, string | undefined>;
}): ((e: PullRequestEvent) => Promise<void>) | null {
  const { config, logger } = opts;
  const env = opts.env ?? process.env;
  if (config.source.kind !== 'git') return null;
  const source = config.source;
  const handlers = new Map<Provider, PullRequestHandler>();
  const enabled: [Provider, boolean][] = [
    ['github', config.githubWebhookSecret !== null],
    ['gitlab', config.gitlabWebhookToken !== null],
  ];
  for (const [provider, webhook] of enabled) {
    const token = env[TOKEN_ENV[provider]]?.trim();
    if (!webhook || !token) continue;
    // A mirror or a local path is not a forge URL: POOLSYNC_COMMENT_REPOSITORY names the repository.
    const named = env.POOLSYNC_COMMENT_REPOSITORY?.trim();
    const target = named
      ? { repository: named, apiUrl: undefined }
      : forgeTargetFromRemote(source.repo, provider);
    if (!target) {
      logger.warn(
        { provider },
        `plan comments are off: the repository URL is not a ${provider === 'github' ? 'GitHub' : 'GitLab'} repository URL (set POOLSYNC_COMMENT_REPOSITORY)`,
      );
      continue;
    }
    const apiUrl = env[API_ENV[provider]]?.trim() || target.apiUrl;
    handlers.set(
      provider,
      createPullRequestHandler({
        provider,
        ...(apiUrl && apiUrl !== GITHUB_API_URL ? { apiUrl } : {}),
        repository: target.repository,
        token,
        git: {
          repo: source.repo,
          auth: source.auth,
          workDir: join(config.stateDir, `pull-requests-${provider}`),
        },
        path: source.path,
        readLiveState: opts.readLiveState,
        ...(opts.backend ? { backend: opts.backend } : {}),
        logger,
      }),
    );
    logger.info(
      { provider, repository: target.repository },
      'plan comments on pull requests are on',
    );
  }
  if (handlers.size === 0) return null;
  return async (e) => {
    const handler = handlers.get(e.provider);
    if (!handler) {
      logger.debug({ provider: e.provider }, 'no plan-comment handler for this provider: ignored');
      return;
    }
    await handler(e);
  };
}
