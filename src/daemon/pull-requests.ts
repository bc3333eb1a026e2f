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
import type { LiveState, SettingsNeed } from '../model/live.js';
import type { DaemonConfig, SourceConfig } from './config.js';
import { GHE_COM, GITHUB_API_URL } from '../vcs/github.js';
import { rateLimitWait, type RetryTuning } from '../vcs/http.js';
import { UserError } from '../util/user-error.js';
import {
  createPullRequestHandler,
  type HandlerLogger,
  type PullRequestHandler,
} from '../vcs/pull-request-handler.js';
import type { Provider, PublishOutcome, PullRequestEvent } from '../vcs/types.js';
import { commentMarker } from '../vcs/comment.js';
import { planRecord, type PlanRecord } from '../vcs/environments-comment.js';
import { createPullRequestApi, ownComment } from '../vcs/publish.js';
import { planOutcome } from '../vcs/plan-outcome.js';
import { splitHeld } from '../plan/hold.js';
import type { Plan, PlanControlPlane } from '../model/plan.js';
import { code } from '../render/markdown.js';
import { plural } from '../render/index.js';

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
  // GitHub Enterprise Cloud with data residency: SUBDOMAIN.ghe.com's API is api.SUBDOMAIN.ghe.com.
  const cloud = provider === 'github' ? GHE_COM.exec(host) : null;
  const apiUrl =
    host === publicHost
      ? undefined
      : cloud
        ? `https://api.${cloud[1]}.ghe.com`
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
export function pullRequestHandlerForDaemon(
  opts: DaemonPullRequestOptions,
): DaemonPullRequestHandler | null {
  const { config, logger } = opts;
  const env = opts.env ?? process.env;
  if (config.source.kind !== 'git') return null;
  const source = config.source;
  const handlers = new Map<Provider, PullRequestHandler>();
  const targets = forgeTargets(config, env, (provider) =>
    logger.warn(
      { provider },
      `plan comments are off: the repository URL is not a ${provider === 'github' ? 'GitHub' : 'GitLab'} repository URL (set POOLSYNC_COMMENT_REPOSITORY)`,
    ),
  );
  for (const [provider, target] of targets) {
    handlers.set(provider, providerHandler(opts, source, provider, target));
    logger.info(
      { provider, repository: target.repository },
      'plan comments on pull requests are on',
    );
  }
  if (handlers.size === 0) return null;
  const onEvent = async (e: PullRequestEvent) => {
    const handler = handlers.get(e.provider);
    if (!handler) {
      logger.debug({ provider: e.provider }, 'no plan-comment handler for this provider: ignored');
      return;
    }
    await handler(e);
  };
  const environments = opts.environments ?? [];
  return Object.assign(onEvent, {
    recover: recoverer(handlers, targets, environments, source.path),
  });
}

export interface DaemonPullRequestOptions {
  config: DaemonConfig;
  readLiveState: (need?: SettingsNeed) => Promise<LiveState>;
  /** What the control plane manages (BACKEND_KIND errors, config-only kinds). */
  backend?: BackendInfo;
  /** The control plane the plans name in their header. */
  controlPlane?: PlanControlPlane;
  logger: HandlerLogger;
  env?: Record<string, string | undefined>;
  /** Records each posted plan (approvals by comment check against it) and notes its held part. */
  posted?: PostedPlans;
  /**
   * With environments (docs/environments.md): each environment's plan, one comment with a
   * section each; `readLiveState`, `backend` and `controlPlane` above are then unused.
   */
  environments?: EnvironmentPlanner[];
}

/** A forge plan comments are on: its token, and its rate-limit deadline (POOLSYNC_RATE_LIMIT_WAIT). */
export type ForgeTargetWithToken = ForgeTarget & { token: string; retry: RetryTuning };

/** The pull-request handler of one provider (its own work dir). */
function providerHandler(
  opts: DaemonPullRequestOptions,
  source: Extract<SourceConfig, { kind: 'git' }>,
  provider: Provider,
  { repository, apiUrl, token, retry }: ForgeTargetWithToken,
): PullRequestHandler {
  return createPullRequestHandler({
    provider,
    ...(apiUrl && apiUrl !== GITHUB_API_URL ? { apiUrl } : {}),
    repository,
    token,
    retry,
    git: {
      repo: source.repo,
      auth: source.auth,
      workDir: join(opts.config.stateDir, `pull-requests-${provider}`),
    },
    path: source.path,
    readLiveState: opts.readLiveState,
    ...(opts.backend ? { backend: opts.backend } : {}),
    logger: opts.logger,
    ...(opts.environments
      ? {
          plan: environmentsPlanner(provider, opts.environments, opts.posted ?? null, source.path),
        }
      : opts.posted
        ? { plan: recordingPlanner(provider, opts, opts.posted) }
        : {}),
    // Recorded as posted once its comment is readable, not after the commit status too:
    // a `poolsync apply` comment in between was refused as "no plan posted".
    ...(opts.posted
      ? { onPosted: (e) => opts.posted!.settle(e.provider, e.number, e.headSha) }
      : {}),
  });
}

/** `recover`: the comment's record of an environment, and its plan re-made at `head`. */
function recoverer(
  handlers: Map<Provider, PullRequestHandler>,
  targets: Map<Provider, ForgeTargetWithToken>,
  environments: EnvironmentPlanner[],
  path: string,
): RecoverPlan {
  return async (provider: Provider, number: number, environment: string, head: string) => {
    const handler = handlers.get(provider);
    const target = targets.get(provider);
    const planner = environments.find((p) => p.name === environment);
    if (!handler || !target || !planner) return null;
    const record = await commentRecord({ provider, number, ...target, key: path }, environment);
    if (!record || record.commit !== head) return record && { record, plan: null };
    const outcome = await handler.atCommit(number, head, (dir) =>
      planEnvironment(planner, dir, head, path),
    );
    return { record, plan: outcome.kind === 'plan' ? outcome.plan : null };
  };
}

/** The daemon's pull-request handler, and how it finds again a plan another replica posted. */
export type DaemonPullRequestHandler = ((e: PullRequestEvent) => Promise<void>) & {
  recover: RecoverPlan;
};

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

async function commentRecord(
  pr: ForgeTargetWithToken & { provider: Provider; number: number; key: string },
  environment: string,
): Promise<PlanRecord | null> {
  const api = createPullRequestApi({ ...pr, ...(pr.apiUrl ? { apiUrl: pr.apiUrl } : {}) });
  try {
    // Only poolsync's own comment (author and marker): anyone can write a record into theirs.
    const marker = commentMarker(pr.key);
    const comment = await ownComment(api, marker);
    return comment ? planRecord(comment.body, environment) : null;
  } finally {
    await api.close();
  }
}

function planEnvironment(env: EnvironmentPlanner, dir: string, commit: string, repoPath: string) {
  const backend = env.backend();
  const controlPlane = env.controlPlane();
  return planOutcome({
    dir,
    commit,
    environment: env.name,
    readLiveState: env.readLiveState,
    repoPath,
    ...(backend ? { backend } : {}),
    ...(controlPlane ? { controlPlane } : {}),
  });
}

/**
 * The forges plan comments are on (provider → repository, API URL, token): a provider is on
 * when its webhook secret is set and its token is in the environment, and the daemon follows
 * a Git remote. `notForge` hears of a provider left off because the remote is no forge URL.
 */
export function forgeTargets(
  config: DaemonConfig,
  env: Record<string, string | undefined> = process.env,
  notForge: (provider: Provider) => void = () => {},
): Map<Provider, ForgeTargetWithToken> {
  const out = new Map<Provider, ForgeTargetWithToken>();
  if (config.source.kind !== 'git') return out;
  let retry: RetryTuning;
  try {
    retry = { deadlineMs: rateLimitWait(env) };
  } catch (err) {
    throw new UserError((err as Error).message);
  }
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
      : forgeTargetFromRemote(config.source.repo, provider);
    if (!target) {
      notForge(provider);
      continue;
    }
    const apiUrl = env[API_ENV[provider]]?.trim() || target.apiUrl;
    out.set(provider, { repository: target.repository, apiUrl, token, retry });
  }
  return out;
}

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

/** How the pull-request path plans one environment (the daemon's unit of it). */
export interface EnvironmentPlanner {
  name: string;
  readLiveState: (need?: SettingsNeed) => Promise<LiveState>;
  backend: () => BackendInfo | undefined;
  controlPlane: () => PlanControlPlane | undefined;
  policy: DaemonConfig['policy'];
}

/** Every environment's plan of the commit, in order, each recorded as posted with its held part. */
function environmentsPlanner(
  provider: Provider,
  environments: EnvironmentPlanner[],
  posted: PostedPlans | null,
  repoPath: string,
): (dir: string, commit: string) => Promise<PublishOutcome> {
  return async (dir, commit) => {
    const sections = await Promise.all(
      environments.map(async (env) => {
        const outcome = await planEnvironment(env, dir, commit, repoPath);
        if (outcome.kind === 'environments') throw new Error('one environment was planned');
        if (outcome.kind !== 'plan') return { name: env.name, outcome };
        posted?.planned(provider, commit, outcome.plan, env.name);
        return {
          name: env.name,
          outcome: withHeldNote(outcome, env.policy, `poolsync apply -e ${env.name}`),
        };
      }),
    );
    return { kind: 'environments', environments: sections };
  };
}

/** Under policy `safe`, the plan's comment lists what the daemon will hold and how to approve it. */
function withHeldNote<O extends { plan: Plan; markdown: string }>(
  outcome: O,
  policy: DaemonConfig['policy'],
  command: string,
): O {
  const split = splitHeld(outcome.plan);
  if (policy !== 'safe' || split.fingerprint === null) return outcome;
  const list = split.held.map((c) => `- ${code(`${c.action} ${c.address}`)}`).join('\n');
  return {
    ...outcome,
    markdown:
      `${outcome.markdown}\n\n**Held for approval** (policy \`safe\`): after merge the daemon applies the rest ` +
      `and holds these ${plural(split.held.length, 'change')}:\n${list}\n\n` +
      `Fingerprint \`${split.fingerprint}\`. A user with write permission approves exactly them by commenting \`${command}\`.`,
  };
}

function recordingPlanner(
  provider: Provider,
  opts: {
    readLiveState: (need?: SettingsNeed) => Promise<LiveState>;
    config: DaemonConfig;
    backend?: BackendInfo;
    controlPlane?: PlanControlPlane;
  },
  posted: PostedPlans,
): (dir: string, commit: string) => Promise<PublishOutcome> {
  const source = opts.config.source;
  const repoPath = source.kind === 'git' ? source.path : '.';
  return async (dir, commit) => {
    const outcome = await planOutcome({
      dir,
      commit,
      readLiveState: opts.readLiveState,
      repoPath,
      ...(opts.backend ? { backend: opts.backend } : {}),
      ...(opts.controlPlane ? { controlPlane: opts.controlPlane } : {}),
    });
    if (outcome.kind !== 'plan') return outcome;
    posted.planned(provider, commit, outcome.plan);
    return withHeldNote(outcome, opts.config.policy, 'poolsync apply');
  };
}
