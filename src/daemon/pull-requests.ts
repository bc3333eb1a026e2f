/**
 * The daemon's pull-request side, wired to its units (unit.ts): plan comments on pull requests
 * (src/vcs; with environments one section per environment) and approvals by `poolsync apply`
 * comments (`-e NAME`: that environment's). A forge is on when its webhook secret is set, its
 * token is in the environment (GITHUB_TOKEN / GITLAB_TOKEN) and the daemon follows a Git remote,
 * which gives the repository and API URL.
 */
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Plan } from '../model/plan.js';
import type { PolicyReport } from '../model/policy.js';
import { policyWords } from '../render/policy.js';
import { splitHeld } from '../plan/hold.js';
import { guardrailHold } from '../plan/guardrails.js';
import { UserError } from '../util/user-error.js';
import { followedRepository } from '../ops/repository.js';
import {
  commentKey,
  commentMarker,
  HELD_LIST_COMMENTS,
  heldListMarker,
  planRecord,
  type PlanRecord,
} from '../vcs/comment.js';
import {
  createApprovalForge,
  createPullRequestApi,
  GHE_COM,
  GITHUB_API_URL,
  sameUser,
  type ApprovalForge,
} from '../vcs/forges.js';
import { rateLimitWait } from '../vcs/http.js';
import {
  ownComments,
  planOutcome,
  sealWith,
  sealed,
  shownChange,
  type Posted,
  type ShownComment,
} from '../vcs/publish.js';
import { actorMatches } from '../vcs/principals.js';
import { isPolicyOwner } from '../vcs/policy-approval.js';
import {
  createPullRequestHandler,
  type HandlerLogger,
  type PullRequestHandler,
} from '../vcs/pull-request-handler.js';
import {
  VcsApiError,
  type CommentEvent,
  type EnvironmentOutcome,
  type ForgeRepository,
  type HeldNote,
  type Provider,
  type PublishOutcome,
  type PullRequestEvent,
  type RetryTuning,
} from '../vcs/types.js';
import type { DaemonConfig } from './config.js';
import type { mergePolicy } from './stages/merged-rules.js';
import type { RepoConfig } from '../model/desired.js';
import type { Unit } from './unit.js';
import type { FollowedRepository } from './webhooks.js';
import { recheckPlan } from '../ops/stale-plan.js';
import { approvalWords, approverWords, commentWords } from '../render/daemon-words.js';
import { approvalFields, approvalTarget } from './approvals.js';
import type { Env } from '../util/env.js';

/**
 * The forge repository behind a clone URL: `https://host/owner/name(.git)`,
 * `git@host:owner/name.git` or `ssh://git@host[:port]/owner/name.git`; else null.
 */
export function forgeTargetFromRemote(
  remote: string,
  provider: Provider,
): Pick<ForgeRepository, 'repository' | 'apiUrl'> | null {
  let host: string;
  let path: string;
  let scheme = 'https:';
  const scp = /^(?:[^@/\s]+@)?([^:/\s]+):(?!\/)(.+)$/.exec(remote);
  if (/^(https?|ssh|git):\/\//i.test(remote)) {
    if (!URL.canParse(remote)) return null;
    const url = new URL(remote);
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

/** The forge repository `remote` is: POOLSYNC_COMMENT_REPOSITORY names it for a mirror or a local path. */
export function forgeRepository(
  remote: string,
  provider: Provider,
  env: Env,
): Pick<ForgeRepository, 'repository' | 'apiUrl'> | null {
  const named = env.POOLSYNC_COMMENT_REPOSITORY?.trim();
  return named ? { repository: named, apiUrl: undefined } : forgeTargetFromRemote(remote, provider);
}

/** The repository each forge's webhook deliveries must be from (null: the daemon cannot tell). */
export function followedByWebhooks(source: DaemonConfig['source'], env: Env) {
  const of = (provider: Provider): FollowedRepository | null => {
    if (source.kind !== 'git') return null;
    const forge = forgeRepository(source.repo, provider, env);
    return forge && { name: forge.repository, remote: source.repo };
  };
  return { github: of('github'), gitlab: of('gitlab') };
}

type MergePolicy = Awaited<ReturnType<typeof mergePolicy>>;

const TOKEN_ENV: Record<Provider, string> = { github: 'GITHUB_TOKEN', gitlab: 'GITLAB_TOKEN' };
const API_ENV: Record<Provider, string> = { github: 'GITHUB_API_URL', gitlab: 'GITLAB_API_URL' };

export type PlannedUnit = Pick<
  Unit,
  'name' | 'config' | 'readLive' | 'backend' | 'identity' | 'mergePolicy' | 'mergeRepository'
> &
  Partial<Pick<Unit, 'approvals' | 'checkPolicies'>>;

/**
 * What the HTTP server calls, and the forges closed at stop. `onPullRequest` replaces the plan
 * comments (tests), and then approvals by comment are off.
 */
export function pullRequestSide(
  config: DaemonConfig,
  units: Unit[],
  logger: Logger,
  env: Env,
  onPullRequest?: (event: PullRequestEvent) => Promise<void>,
) {
  const posted = new PostedPlans();
  // Approvals by comment on the forges of plan comments (also once GitLab shows its URL root).
  const forges = new Map<Provider, { repository: string; forge: ApprovalForge }>();
  const approvalsOn = (provider: Provider, target: ForgeRepository) => {
    void forges.get(provider)?.forge.close();
    forges.set(provider, { repository: target.repository, forge: createApprovalForge(target) });
  };
  const own = onPullRequest
    ? null
    : pullRequestHandlerForDaemon(config, units, logger, posted, env, approvalsOn);
  const approve =
    forges.size > 0
      ? commentApprovalHandler({
          posted,
          // With environments: a plan another replica posted.
          recover: own && units.some((u) => u.name !== null) ? own.recover : undefined,
          forges,
          units,
          logger,
          allowSelfApproval: config.allowSelfApproval,
        })
      : undefined;
  const onComment =
    approve &&
    ((e: CommentEvent) => {
      own?.learn(e);
      return approve(e);
    });
  // A run asks the forge whether an approval's pull request was merged, and as what commit.
  for (const u of units)
    u.approvals.readPullRequestsWith(async (provider, number) => {
      const forge = forges.get(provider)?.forge;
      if (!forge) throw new Error(`${provider} is not configured on this daemon`);
      const now = await forge.pullRequest(number);
      // New commits or a close whose event went to another replica, or was lost, withdraw as it would.
      const closed = !now.open && !now.merged;
      void withdrawOn(provider, number, closed ? null : now.headSha, units, logger, forge);
      return now;
    });
  const plans = onPullRequest ?? own;
  const onPull =
    plans &&
    (async (e: PullRequestEvent) => {
      own?.learn(e);
      await withdrawApprovals(e, units, logger, forges.get(e.provider)?.forge);
      return plans(e);
    });
  return { onPullRequest: onPull ?? undefined, onComment, forges };
}

/**
 * An approval by comment is of its pull request at the head it was granted for: new commits
 * (GitHub `synchronize`, GitLab `update` with new commits; a retarget moves no head) or a
 * close without merge (GitHub `closed` unmerged, GitLab `close`) withdraw it
 * (docs/daemon.md#an-approval-by-comment-is-of-its-pull-request-merged). New commits are the
 * head the forge reads now: a late or redelivered event of an older commit withdraws nothing
 * granted at the head (unread, the event's head).
 */
async function withdrawApprovals(
  e: PullRequestEvent,
  units: readonly Unit[],
  logger: Logger,
  forge: ApprovalForge | undefined,
): Promise<void> {
  const moved = e.action === 'synchronize' || e.action === 'update';
  const closed = (e.action === 'closed' && e.merged !== true) || e.action === 'close';
  if (!moved && !closed) return;
  const now = moved && forge ? await forge.pullRequest(e.number).catch(() => null) : null;
  await withdrawOn(
    e.provider,
    e.number,
    closed ? null : (now?.headSha ?? e.headSha),
    units,
    logger,
    forge,
  );
}

/**
 * Withdraws every unit's approvals of pull request `number` not granted at `head` (null: closed
 * without merge), said in one reply. Withdrawn once (withdraw drops it), so a redelivered event,
 * or a run that reads the same move from the forge, replies nothing more.
 */
async function withdrawOn(
  provider: Provider,
  number: number,
  head: string | null,
  units: readonly Unit[],
  logger: Logger,
  forge: ApprovalForge | undefined,
): Promise<void> {
  const why = head === null ? approvalWords.closedUnmerged : approvalWords.newCommits(head);
  const gone: { approver: string; environment: string | null }[] = [];
  for (const u of units)
    for (const r of u.approvals.withdraw(provider, number, head, why)) {
      logger.info(
        { ...approvalFields(r), environment: u.name ?? undefined, reason: why },
        'approval by comment withdrawn',
      );
      gone.push({ approver: r.approver, environment: u.name });
    }
  if (gone.length === 0 || !forge) return;
  await forge
    .reply(number, commentWords.withdrawn(gone, why, head === null))
    .catch((err: unknown) =>
      logger.warn(
        { provider, number, err: messageOf(err) },
        'the reply saying an approval was withdrawn could not be posted',
      ),
    );
}

/** The pull-request handler and `recover` (a plan another replica posted); null: no forge. */
export function pullRequestHandlerForDaemon(
  config: DaemonConfig,
  units: PlannedUnit[],
  logger: HandlerLogger,
  posted: PostedPlans,
  env: Env,
  /** Told the target of each forge, and again when a GitLab event shows its relative URL root. */
  onTarget: (provider: Provider, target: ForgeRepository) => void = () => {},
) {
  if (config.source.kind !== 'git') return null;
  const source = config.source;
  const forges = new Map<Provider, { target: ForgeRepository; handler: PullRequestHandler }>();
  /** A GitLab remote without a named API: its origin (the root may follow). */
  let gitlabOrigin: string | null = null;
  // Each comment the daemon posts is sealed with its webhook secret, which every replica has
  // and no writer does: a replica that did not post it can tell an edit (recover).
  const seals = {
    github: config.githubWebhookSecret && sealWith(config.githubWebhookSecret),
    gitlab: config.gitlabWebhookToken && sealWith(config.gitlabWebhookToken),
  };
  const handlerOf = (target: ForgeRepository) =>
    createPullRequestHandler({
      seal: seals[target.provider] || undefined,
      ...target,
      apiUrl: target.apiUrl && target.apiUrl !== GITHUB_API_URL ? target.apiUrl : undefined,
      git: {
        repo: source.repo,
        auth: source.auth,
        timeoutMs: source.timeoutMs,
        workDir: join(config.stateDir, `pull-requests-${target.provider}`),
        env,
      },
      path: source.path,
      logger,
      plan: unitsPlanner(target.provider, units, posted, source.path),
      // Recorded as posted once its comment is readable, not after the commit status too:
      // a `poolsync apply` comment in between was refused as "no plan posted".
      onPosted: (e, shown) => posted.settle(e.provider, e.number, e.headSha, shown),
      // A pull request into another branch: no `poolsync apply` comment approves a plan shown before.
      branch: source.branch,
      onNotPlanned: (e) => posted.forget(e.provider, e.number),
    });
  let retry: RetryTuning;
  try {
    retry = { deadlineMs: rateLimitWait(env), limits: config.limits };
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
    const remote = forgeRepository(source.repo, provider, env);
    if (!remote) {
      logger.warn(
        { provider },
        `plan comments are off: the repository URL is not a ${provider === 'github' ? 'GitHub' : 'GitLab'} repository URL (set POOLSYNC_COMMENT_REPOSITORY)`,
      );
      continue;
    }
    const { repository } = remote;
    const namedApi = env[API_ENV[provider]]?.trim();
    const apiUrl = namedApi || remote.apiUrl;
    if (provider === 'gitlab' && !namedApi && remote.apiUrl)
      gitlabOrigin = new URL(remote.apiUrl).origin;
    const target = { provider, repository, apiUrl, token, retry };
    forges.set(provider, { target, handler: handlerOf(target) });
    onTarget(provider, target);
    logger.info({ provider, repository }, 'plan comments on pull requests are on');
  }
  if (forges.size === 0) return null;
  /**
   * GitLab under a relative URL root (`https://host/gitlab`): a clone URL's path is
   * ROOT/NAMESPACE/PROJECT, the API ROOT/api/v4. The root is an event's `web_url` path less its
   * `path_with_namespace`, on the remote's host only (the token goes nowhere else).
   */
  const learn = (e: Pick<PullRequestEvent, 'provider' | 'repository' | 'webUrl'>) => {
    const forge = forges.get(e.provider);
    if (e.provider !== 'gitlab' || !forge || gitlabOrigin === null || !e.webUrl) return;
    if (!URL.canParse(e.webUrl)) return;
    const page = new URL(e.webUrl);
    const path = page.pathname.replace(/\/+$/, '');
    const project = `/${e.repository}`;
    if (page.origin !== gitlabOrigin || !path.toLowerCase().endsWith(project.toLowerCase())) return;
    const apiUrl = `${gitlabOrigin}${path.slice(0, -project.length)}/api/v4`;
    if (apiUrl === forge.target.apiUrl && e.repository === forge.target.repository) return;
    forge.target = { ...forge.target, repository: e.repository, apiUrl };
    forge.handler = handlerOf(forge.target);
    onTarget(e.provider, forge.target);
    logger.info(
      { provider: e.provider, repository: e.repository, apiUrl },
      'GitLab project and API as its events name them',
    );
  };
  const onEvent = async (e: PullRequestEvent) => {
    learn(e);
    const handler = forges.get(e.provider)?.handler;
    if (!handler) {
      logger.debug({ provider: e.provider }, 'no plan-comment handler for this provider: ignored');
      return;
    }
    await handler(e);
  };
  const recover: RecoverPlan = async (provider, number, environment, head) => {
    const forge = forges.get(provider);
    const unit = units.find((u) => u.name === environment);
    if (!forge || !unit) return null;
    const api = createPullRequestApi({ ...forge.target, number });
    let record: PlanRecord | null;
    let at: number | null = null;
    let changed: 'unsealed' | 'broken' | undefined;
    try {
      const own = await ownComments(api);
      const key = commentKey(source.path);
      const comment = own(commentMarker(key));
      record = comment ? planRecord(comment.body, environment) : null;
      at = comment?.updatedAt ?? null;
      // The plan comment and its held lists as this daemon sealed them, or edited since.
      const seal = seals[provider];
      const parts = Array.from({ length: HELD_LIST_COMMENTS }, (_, i) =>
        own(heldListMarker(key, i + 1)),
      );
      if (seal && comment) {
        const states = [comment, ...parts].flatMap((c) => (c ? [sealed(c.body, seal)] : []));
        changed = states.includes('broken')
          ? 'broken'
          : states.includes('unsealed')
            ? 'unsealed'
            : undefined;
      }
    } finally {
      await api.close();
    }
    if (record && changed) return { record, plan: null, at, changed };
    if (!record || record.commit !== head) return record && { record, plan: null, at };
    const outcome = await forge.handler.atCommit(
      number,
      head,
      async (dir) => (await planUnit(unit, dir, head, source.path)).outcome,
    );
    return { record, plan: outcome.kind === 'plan' ? outcome.plan : null, at };
  };
  return Object.assign(onEvent, { recover, forges, learn });
}

/** The unit's plan of the pull request's head, and that head's poolsync.yaml (null: not loaded). */
async function planUnit(
  unit: PlannedUnit,
  dir: string,
  commit: string,
  repoPath: string,
): Promise<{ outcome: EnvironmentOutcome; repo: RepoConfig | null }> {
  const { repository } = await followedRepository(unit.config.source);
  let repo: RepoConfig | null = null;
  const outcome = await planOutcome({
    dir,
    commit,
    repository,
    environment: unit.name ?? undefined,
    readLive: unit.readLive,
    repoPath,
    backend: unit.backend(),
    controlPlane: unit.identity(),
    baseRepository: await unit.mergeRepository(),
    // The pull request's head is no branch the daemon follows: data.poolsync.branch is null.
    policies: async (plan, desired) => {
      repo = desired.config;
      return unit.checkPolicies ? unit.checkPolicies(plan, desired, null) : null;
    },
  });
  return { outcome, repo };
}

/** Each unit's plan of the commit, recorded as posted with its held part (a section each). */
function unitsPlanner(
  provider: Provider,
  units: PlannedUnit[],
  posted: PostedPlans,
  repoPath: string,
): (dir: string, commit: string) => Promise<PublishOutcome> {
  return async (dir, commit) => {
    const sections = await Promise.all(
      units.map(async (u) => {
        const { outcome, repo } = await planUnit(u, dir, commit, repoPath);
        if (outcome.kind !== 'plan') return { name: u.name ?? '', outcome };
        posted.planned(provider, commit, outcome.plan, u.name ?? '', outcome.policies);
        const command = u.name === null ? 'poolsync apply' : `poolsync apply -e ${u.name}`;
        // Who may approve by comment: the followed branch's rule, never the pull request's.
        const rule = u.approvals?.ruleOf('approve');
        const approvers = rule && rule !== 'unread' ? rule : undefined;
        // What the merged run will hold by: the head's policy, or the last applied commit's.
        const held = withHeld(outcome, await u.mergePolicy(repo!), command, approvers);
        return { name: u.name ?? '', outcome: held };
      }),
    );
    if (units.length === 1 && units[0]!.name === null) return sections[0]!.outcome;
    return { kind: 'environments', environments: sections };
  };
}

/**
 * The policy, and under `safe` (or any policy a guardrail holds under, plan/guardrails.ts) what
 * the daemon will hold and how to approve it (vcs/comment.ts).
 */
function withHeld(
  outcome: Extract<EnvironmentOutcome, { kind: 'plan' }>,
  { policy, lastApplied }: MergePolicy,
  command: string,
  approvers: HeldNote['approvers'],
): EnvironmentOutcome {
  const { fingerprint, held } = splitHeld(outcome.plan);
  const guarded = guardrailHold(outcome.plan).rules.length > 0 && policy !== 'none';
  const shown = { ...outcome, policy, ...(lastApplied ? { policyLastApplied: lastApplied } : {}) };
  if ((policy !== 'safe' && !guarded) || fingerprint === null) return shown;
  const note = { fingerprint, changes: held, command, ...(approvers ? { approvers } : {}) };
  return { ...shown, held: note };
}

/*
 * Approval by pull-request comment (docs/daemon.md#approvals): a `poolsync apply` comment (its
 * whole first line, comment.ts) approves the held part of the plan poolsync's comment showed
 * when it was written, when
 * - it was just written (an edited comment or note never reaches here: webhooks.ts),
 * - the pull request is open (as the API reads it now, on both forges),
 * - the author may (GitHub: write permission or more; GitLab: Developer or more) and did not
 *   open the pull request (unless --allow-self-approval), and is one of the principals of the
 *   environment's `approvers:` rule in poolsync.yaml of the followed branch, when it has one,
 * - the plan comment was last changed before the comment was written (the forge's clock), so
 *   the plan it approves is the one on screen then, for the commit the pull request is at now,
 * - that comment listed every held change (else nobody saw what would be approved),
 * - the live state is still the one that plan was made against,
 * - poolsync's plan comment and held lists, re-read from the forge now, are still there, still
 *   poolsync's and unchanged since posted (an edit could hide a held change from reviewers),
 * - the reply that announces it lands (posted first: a reply the forge refused after the
 *   approval left it standing, silently).
 * Anything else, a check that fails included, is refused with the reason, in a reply on the
 * pull request and in /status.
 * The approval names the held changes' fingerprint the comment showed; the daemon applies them
 * only while they are exactly those changes (approvals.ts, stages/plan.ts).
 */
export type ApprovalUnit = Pick<Unit, 'name' | 'approvals' | 'readLive' | 'request'> &
  Partial<Pick<Unit, 'policyApprovals'>>;

export interface CommentApprovalOptions {
  posted: PostedPlans;
  /** With environments: another replica's plan, re-planned here; taken only if exactly it. */
  recover?: RecoverPlan;
  forges: Map<Provider, { repository: string; forge: ApprovalForge }>;
  units: readonly ApprovalUnit[];
  logger: Logger;
  allowSelfApproval?: boolean;
}

export function commentApprovalHandler(
  o: CommentApprovalOptions,
): (e: CommentEvent) => Promise<void> {
  return async (e) => {
    const target = o.forges.get(e.provider);
    const { provider, repository, number } = e;
    const log = { provider, repository, number, user: e.user.login };
    if (!target || target.repository.toLowerCase() !== e.repository.toLowerCase()) {
      o.logger.debug(log, 'poolsync apply comment for another repository: ignored');
      return;
    }
    const { forge } = target;
    const to = approvalTarget(o.units, e.environment, commentWords, commentWords.environmentNeeded);
    const env = typeof to === 'string' ? null : to.name;
    let fingerprint: string | null = null;
    const refuse = async (reason: string, rule?: string) => {
      if (typeof to !== 'string')
        to.approvals.refuse(
          { fingerprint: fingerprint ?? '-', approver: e.user.login, via: e.provider, rule },
          reason,
        );
      o.logger.warn({ ...log, fingerprint, reason }, 'approval by comment refused');
      await tell(commentWords.refused(e.user.login, reason));
    };
    const tell = (body: string) =>
      forge
        .reply(e.number, body)
        .catch((err: unknown) =>
          o.logger.warn({ ...log, err: messageOf(err) }, 'the reply could not be posted'),
        );
    const decide = async (): Promise<void> => {
      if (typeof to === 'string') return refuse(to);
      if (!e.open) return refuse(commentWords.notOpen);
      if (e.policies) return approvePolicies(e.policies, to);
      const check = await forge.permission(e.user);
      if (!check.allowed)
        return refuse(
          commentWords.mayNotApprove(e.user.login, e.provider === 'github', check.level),
        );
      const pr = await forge.pullRequest(e.number);
      if (!pr.open) return refuse(commentWords.notOpen);
      if (!o.allowSelfApproval && sameUser(pr.author, e.user))
        return refuse(commentWords.ownPullRequest(e.user.login));
      // poolsync.yaml `approvers:` of the followed branch narrows who may (docs/daemon.md#approvers).
      const rule = to.approvals.ruleOf('approve');
      if (rule === 'unread') return refuse(approverWords.unread('approve'));
      const actor = { kind: 'user', provider: e.provider, user: e.user } as const;
      const match = rule && (await actorMatches(forge, rule, actor));
      if (rule && match && !match.allowed) {
        const who = `@${e.user.login}`;
        return refuse(approverWords.notListed(who, 'approve', to.name, rule), rule.rule);
      }
      // The plan the comment approves (posted here, or recovered), and when it was put on screen.
      let posted = o.posted.get(e.provider, e.number, env ?? '');
      if (!posted && env !== null && o.recover) {
        const found = await o.recover(e.provider, e.number, env, pr.headSha);
        const reason = found && recoveredRefusal(found, pr.headSha);
        if (reason) return refuse(reason);
        if (found?.plan) {
          const { held } = found.record;
          const shown = held === '-' ? undefined : held;
          posted = { commit: pr.headSha, plan: found.plan, at: found.at, shown };
        }
      }
      if (!posted) return refuse(commentWords.notPosted(env));
      fingerprint = splitHeld(posted.plan).fingerprint;
      if (e.createdAt === null || posted.at === null || e.createdAt <= posted.at)
        return refuse(commentWords.writtenBefore(posted.commit, e.createdAt, posted.at));
      if (pr.headSha !== posted.commit)
        return refuse(commentWords.headMoved(posted.commit, pr.headSha));
      if (fingerprint !== null && posted.shown !== fingerprint)
        return refuse(commentWords.unlisted(splitHeld(posted.plan).held.length));
      const { stale } = await recheckPlan(posted.plan, to.readLive);
      if (stale) return refuse(commentWords.liveMoved);
      if (fingerprint === null) return tell(commentWords.nothingHeld(to.name));
      // The plan comment as it is now, not as it was posted: an edit or a delete grants nothing.
      if (posted.comments) {
        const change = shownChange(posted.comments, await forge.comments(e.number));
        if (change) return refuse(approverWords.commentChanged(change));
      }
      const held = splitHeld(posted.plan).held;
      const by = {
        user: e.user.login,
        level: match?.principal ? `${check.level}; ${match.principal}, ${match.rule}` : check.level,
      };
      try {
        await forge.reply(
          e.number,
          commentWords.approved(by, held, to.name, posted.commit, fingerprint),
        );
      } catch (err) {
        return refuse(commentWords.replyFailed(messageOf(err)));
      }
      const source = `${e.provider}:${e.repository}${e.provider === 'github' ? `#${e.number}` : `!${e.number}`}`;
      const granted = match?.principal ? { rule: match.rule, principal: match.principal } : {};
      const pullRequest = { provider: e.provider, number: e.number, head: posted.commit };
      const answer = to.approvals.approve(
        { fingerprint, approver: e.user.login, via: e.provider, source, pullRequest, ...granted },
        true,
      );
      if (!answer.ok) return refuse(answer.reason);
      o.logger.info({ ...log, fingerprint }, 'approval by comment accepted');
      // The approved changes may be held already: a run applies them.
      void to.request('manual');
    };
    /**
     * docs/policies.md, Owners: a listed owner, never the pull request's author (whatever
     * --allow-self-approval says), releases exactly the failures the plan comment showed before
     * the comment was written, for the commit the pull request is at now.
     */
    const approvePolicies = async (
      asked: { digest: string; why: string },
      unit: ApprovalUnit,
    ): Promise<void> => {
      const pr = await forge.pullRequest(e.number);
      if (!pr.open) return refuse(commentWords.notOpen);
      const posted = o.posted.get(e.provider, e.number, unit.name ?? '');
      if (!posted) return refuse(commentWords.notPosted(unit.name));
      if (e.createdAt === null || posted.at === null || e.createdAt <= posted.at)
        return refuse(commentWords.writtenBefore(posted.commit, e.createdAt, posted.at));
      if (pr.headSha !== posted.commit)
        return refuse(commentWords.headMoved(posted.commit, pr.headSha));
      const report = o.posted.policiesOf(posted.plan);
      const owner = report ? await isPolicyOwner(forge, report, e) : false;
      const answer = unit.policyApprovals
        ? unit.policyApprovals.approve(report, {
            by: e.user.login,
            why: asked.why,
            digest: asked.digest,
            author: pr.author?.login ?? null,
            at: new Date(),
            owner,
          })
        : { ok: false as const, reason: policyWords.noPolicies };
      if (!answer.ok) return refuse(answer.reason);
      o.logger.info({ ...log, ...answer.approval }, 'policy failures approved by comment');
      await tell(policyWords.approved(answer.approval, unit.name));
    };
    try {
      await decide();
    } catch (err) {
      // A check the forge or the control plane could not answer approves nothing, visibly; a
      // control plane's error stays in the log (the pull request is read by more people).
      o.logger.warn({ ...log, err: messageOf(err) }, 'approval by comment not checked');
      await refuse(commentWords.notChecked(err instanceof VcsApiError ? err.message : null));
    }
  };
}

const messageOf = (err: unknown) => (err instanceof Error ? err.message : String(err));

/** Why a plan found in another replica's comment is not the one to approve, or null. */
function recoveredRefusal(
  found: NonNullable<Awaited<ReturnType<RecoverPlan>>>,
  head: string,
): string | null {
  const { record, plan } = found;
  if (found.changed)
    return approverWords.commentChanged({
      kind: found.changed === 'broken' ? 'edited' : 'unsealed',
      at: found.at,
    });
  if (record.commit !== head) return commentWords.headMoved(record.commit, head);
  if (!plan) return commentWords.notReplanned(record.environment, head);
  if (record.held === 'unlisted') return commentWords.unlisted(splitHeld(plan).held.length);
  if (
    plan.desired_fingerprint !== record.desired ||
    (splitHeld(plan).fingerprint ?? '-') !== record.held
  )
    return commentWords.commentDiffers(record.environment, head);
  if (plan.live_fingerprint !== record.live) return commentWords.liveMoved;
  return null;
}

/**
 * The record of `environment` in poolsync's own plan comment (author and marker: anyone can write
 * a record into theirs) on pull request `number`, with its plan of `head` re-made here if the record is for `head` (null when invalid
 * or failing). Null without such a record.
 */
export type RecoverPlan = (
  provider: Provider,
  number: number,
  environment: string,
  head: string,
) => Promise<{
  record: PlanRecord;
  plan: Plan | null;
  at: number | null;
  /** The comment (or a held list) is not as this daemon sealed it: changed, or never sealed. */
  changed?: 'broken' | 'unsealed';
} | null>;

/**
 * What a `poolsync apply` comment approves: only the last plan posted on each pull request
 * counts, from when its comment showed it.
 */
export class PostedPlans {
  /** Per commit, the plan of each environment ('' without environments). */
  private readonly byCommit = new Map<string, Map<string, Plan>>();
  private readonly byNumber = new Map<
    string,
    { commit: string; plans: Map<string, Plan> } & Posted
  >();

  /** What the policies said of each plan posted (docs/policies.md), by plan. */
  private readonly policies = new WeakMap<Plan, PolicyReport>();

  planned(
    provider: Provider,
    commit: string,
    plan: Plan,
    environment = '',
    policies?: PolicyReport,
  ): void {
    const key = `${provider}:${commit}`;
    const plans = this.byCommit.get(key) ?? new Map<string, Plan>();
    plans.set(environment, plan);
    this.byCommit.set(key, plans);
    if (policies) this.policies.set(plan, policies);
  }

  /** The policy report posted with `plan`, if any. */
  policiesOf(plan: Plan): PolicyReport | undefined {
    return this.policies.get(plan);
  }

  settle(provider: Provider, number: number, commit: string, posted: Posted): void {
    const plans = this.byCommit.get(`${provider}:${commit}`);
    if (plans) this.byNumber.set(`${provider}#${number}`, { commit, plans, ...posted });
  }

  /** Its plan comment no longer shows a plan (the pull request merges into another branch). */
  forget(provider: Provider, number: number): void {
    this.byNumber.delete(`${provider}#${number}`);
  }

  get(provider: Provider, number: number, environment = ''): PostedPlan | null {
    const posted = this.byNumber.get(`${provider}#${number}`);
    const plan = posted?.plans.get(environment);
    if (!posted || !plan) return null;
    const shown = posted.shown.has(environment) ? posted.shown.get(environment)! : undefined;
    return { commit: posted.commit, plan, at: posted.at, shown, comments: posted.comments };
  }
}

interface PostedPlan {
  commit: string;
  plan: Plan;
  /** When the plan comment started showing it (the forge's clock, epoch ms). */
  at: number | null;
  /** The held fingerprint with every held change; null: too many to list; undefined: none. */
  shown: string | null | undefined;
  /** The comments that showed it, as posted (absent: a plan another replica posted). */
  comments?: ShownComment[];
}
