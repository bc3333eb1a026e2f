/**
 * Wires the daemon together: source + units + the pull-request side + HTTP server.
 * `startDaemon` listens first (the start's fetch may stall), and returns once the units serve
 * it and the first run has been requested.
 */
import { LiveRedactor } from '../util/redact.js';
import {
  approvalWords,
  approverWords,
  rollbackWords,
  shutdownWords,
} from '../render/daemon-words.js';
import type { ApproverAction } from '../model/desired.js';
import { listedByName } from '../vcs/principals.js';
import { approvalTarget } from './approvals.js';
import type { DaemonConfig } from './config.js';
import { dashboardHandler } from './dashboard/page.js';
import {
  HTTP_SECRETS,
  leaderStatus,
  startStatusServer,
  type FreezeBefore,
  type StatusServer,
} from './http.js';
import { advertiseAddress, followerOf } from './leader.js';
import { DaemonMetrics } from './metrics.js';
import { followedByWebhooks, pullRequestSide } from './pull-requests.js';
import { initialStatus, type DaemonStatus, type RunMade } from './status.js';
import { startTimer, watchFolder, type Trigger, type TriggerReason } from './loop.js';
import {
  environmentsStatus,
  sectionsFromLeaders,
  sourceOf,
  startUnits,
  type Unit,
  type UnitDeps,
} from './unit.js';
import type { PullRequestEvent } from '../vcs/types.js';
import { listenRefusal } from '../util/reach.js';
import { acquireLockFile } from '../util/lock-file.js';
import { outermostMissing, removeMadeFolder } from '../util/safe-file.js';
import { UserError } from '../util/user-error.js';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { rm } from 'node:fs/promises';

export interface DaemonDeps extends Omit<UnitDeps, 'candidacy'> {
  /** Replaces src/vcs's plan comments (which need a webhook secret and the forge's token). */
  onPullRequest?: (event: PullRequestEvent) => Promise<void>;
  /** Serve the embedded control plane's REST API beside /status, for the admin (quickstart). */
  serveControlPlane?: boolean;
  /** Where the admin token came from when a file the daemon made (the quickstart's): a 401 names it. */
  adminTokenFile?: string;
  /**
   * A shutdown asked while it starts (SIGTERM): the start's fetch is stopped, not waited for
   * (--git-timeout); `stop` then ends the daemon as any shutdown.
   */
  stopped?: AbortSignal;
}

export type RunningDaemon = Awaited<ReturnType<typeof startDaemon>>;

/** `u`'s policy failures when their digest is `digest` (none or one), as the words name them. */
function policiesOf(u: Unit, digest: string) {
  const report = u.status().policies;
  return report?.failures === digest ? [{ environment: u.name, owners: report.owners }] : [];
}

/** Why `u`'s policy failures take no approval now (approved already, or applied on one); null: none. */
function approvedPolicies(u: Unit): string | null {
  const report = u.status().policies;
  if (!report) return null;
  const unused = u.policyApprovals.of(report);
  if (unused) return approvalWords.policiesApproved(unused, u.name);
  return report.approval ? approvalWords.policiesApplied(report.approval, u.name) : null;
}

/**
 * One daemon per state folder (docs/daemon.md#one-daemon-per-state-folder): a second one would
 * interleave its runs, history, suspension and checkout with the first's. Taken before anything
 * is made in it; the folders it makes (the state folder and its missing parents) are 0700, the
 * outermost one ignored by Git (safe-file.ts ownFolders). `discard` removes the state folder
 * again when this start made it (a failed `--once` that wrote nothing), then lets go.
 */
async function lockStateFolder(stateDir: string) {
  const dir = resolve(stateDir);
  const made = await outermostMissing(dir);
  const path = join(dir, 'daemon.lock');
  const below = relative(process.cwd(), dir);
  const shown = below.startsWith('..') || isAbsolute(below) ? dir : below || '.';
  const lock = await acquireLockFile(path, {
    root: made ?? dir,
    mode: 0o600,
    refuse: (r) =>
      new UserError(
        r.kind === 'unreadable'
          ? `cannot tell whether another poolsync daemon uses state folder ${shown}: ${path} is unreadable; remove it if no poolsync daemon runs there`
          : `another poolsync daemon (pid ${r.holder.pid}${r.kind === 'this-process' ? ', this process' : ` on ${r.holder.host}`}, since ${r.holder.since}) uses state folder ${shown}: stop it, or give this one its own --state-dir`,
      ),
  });
  return {
    release: () => lock.release(),
    discard: async () => {
      if (made !== null) {
        await rm(dir, { recursive: true, force: true }).catch(() => {});
        for (let at = dirname(dir); at.length >= made.length; at = dirname(at))
          await removeMadeFolder(at);
      }
      await lock.release();
    },
  };
}

export async function startDaemon(config: DaemonConfig, deps: DaemonDeps) {
  const stateFolder = await lockStateFolder(config.stateDir);
  try {
    return await startLocked(config, deps, stateFolder);
  } catch (err) {
    await stateFolder.discard();
    throw err;
  }
}

async function startLocked(
  config: DaemonConfig,
  deps: DaemonDeps,
  stateFolder: Awaited<ReturnType<typeof lockStateFolder>>,
) {
  const { logger } = deps;
  const redactor = new LiveRedactor([
    config.controlPlane.token,
    config.source.kind === 'git' ? config.source.auth.token : null,
    ...HTTP_SECRETS.map((name) => config[name]),
  ]);
  const metrics = new DaemonMetrics();
  // Every string it shows without a secret (an approver's name, a server's message).
  const shown = <T>(value: T): T => JSON.parse(redactor.scrubSecrets(JSON.stringify(value))) as T;
  const { onRun, stopped } = deps;
  const source = sourceOf(config, deps.env);
  // Only the start's: once started, `stop` stops the source in its turn.
  const stopFetch = () => source.stop?.();
  if (stopped?.aborted) stopFetch();
  stopped?.addEventListener('abort', stopFetch);
  const election = config.leaderElection;
  const allowedHosts = [
    ...config.externalHosts,
    ...[election?.advertiseAddress, `http://${config.listen.host}`].flatMap((u) =>
      u && URL.canParse(u) ? [new URL(u).hostname.replace(/^\[|\]$/g, '')] : [],
    ),
  ];
  // Listening before the first fetch: a probe sees the daemon alive while a remote stalls it.
  const since = new Date().toISOString();
  const initial = initialStatus(source.describe(), config.policy);
  const git = config.source.kind === 'git' ? config.source : null;
  const starting = git ? { ...initial, git: { ...initial.git, fetchingSince: since } } : initial;
  const doing = `starting: ${git ? `fetching branch ${git.branch} of ${source.describe().repository}` : 'reading the watched folder'} since ${since}`;
  let server: StatusServer;
  try {
    server = await startStatusServer(config.listen, {
      status: () => starting,
      doing: () => doing,
      metrics,
      logger,
      allowedHosts,
      adminToken: config.adminToken,
      adminTokenFile: deps.adminTokenFile,
      replica: election?.identity,
    });
  } catch (err) {
    const address = `${config.listen.host}:${config.listen.port}`;
    const refusal = listenRefusal(address, err);
    throw new Error(refusal ?? `cannot listen on ${address}: ${(err as Error).message}`);
  }
  // Its address, not its URL: a URL logged says the daemon serves every endpoint (below).
  const listening = new URL(server.url).host;
  if (git)
    logger.info({ address: listening }, `${doing}; /healthz and /status answer at ${listening}`);
  const units = await startUnits(
    config,
    source,
    { ...deps, onRun: onRun && ((st, environment) => onRun(shown(st), environment)) },
    metrics,
    redactor,
    stopped,
  ).catch(async (err: unknown) => {
    await server.close();
    throw err;
  });
  stopped?.removeEventListener('abort', stopFetch);
  const single = units.length === 1 && units[0]!.name === null ? units[0]! : null;
  const requestAll = (reason: TriggerReason): Promise<void> =>
    Promise.all(units.map((u) => u.request(reason))).then(() => {});
  const runsMade = async (asked: readonly Unit[], reason: TriggerReason): Promise<RunMade[]> =>
    (await Promise.all(asked.map((u) => u.requestRun(reason)))).flatMap((run, i) =>
      run ? [{ environment: asked[i]!.name, run: shown(run) }] : [],
    );
  const prs = pullRequestSide(config, units, logger, deps.env, deps.onPullRequest);
  const ready = () => units.every((u) => u.ready());
  metrics.readyProbe = ready;
  const environments = (sections?: Record<string, DaemonStatus>) =>
    shown(environmentsStatus(units, source.describe(), config, sections));
  const status = (): DaemonStatus => (single ? shown(single.status()) : environments());
  // Every environment's status made, scrubbed and parsed for one field was most of a 10-environment
  // manual reconcile's answer (issue 79 item 4): the newest run is found first, then scrubbed.
  const lastRun = () =>
    shown(
      (single ? single.status() : environmentsStatus(units, source.describe(), config)).lastRun,
    );
  // With environments each replica answers itself: the leaders of its environments are several.
  const follower = () => (single ? followerOf(single.leadership, config) : null);
  // With environments and several replicas: each environment as its leader says.
  const fullStatus =
    single || !election
      ? undefined
      : async () => environments(await sectionsFromLeaders(units, 5_000));
  /**
   * Why poolsync.yaml `approvers:` refuses a request carrying `token` the `action` in unit `u`
   * (docs/daemon.md#approvers), or null: the token is one more principal (`token:admin`), unless
   * --admin-token-bypasses-approvers. Before a commit is loaded there is no rule to keep: a
   * freeze must stay possible while the followed branch is invalid.
   */
  const tokenRefusal = (
    u: (typeof units)[number],
    action: ApproverAction,
    token: 'admin' | 'reconcile',
  ): string | null => {
    if (token === 'admin' && config.adminTokenBypassesApprovers) return null;
    const rule = u.approvals.ruleOf(action);
    if (rule === 'unread' || rule === null) return null;
    if (listedByName(rule, { kind: 'token', token }) !== null) return null;
    u.metrics.approverRefusals.inc({ action, rule: rule.rule });
    const who = `token:${token}`;
    const refusal = approverWords.notListed(who, action, u.name, rule);
    return token === 'admin' ? approverWords.adminToken(refusal) : refusal;
  };
  // The configuration's secrets the HTTP side checks (HTTP_SECRETS), not the rest of it (the
  // control plane's token among them), and what only the daemon knows.
  server.serve({
    githubWebhookSecret: config.githubWebhookSecret,
    gitlabWebhookToken: config.gitlabWebhookToken,
    reconcileToken: config.reconcileToken,
    adminToken: config.adminToken,
    adminTokenFile: deps.adminTokenFile,
    status,
    lastRun,
    fullStatus,
    ready,
    metrics,
    approve: (r) => {
      const holding = units.filter(
        (u) => u.approvals.status().pending?.fingerprint === r.fingerprint,
      );
      // A policy failures' digest given as held changes' fingerprint: the command that approves it.
      const asked =
        r.environment === undefined ? units : units.filter((u) => u.name === r.environment);
      const failing = asked.flatMap((u) => policiesOf(u, r.fingerprint));
      if (failing.length > 0 && !asked.some((u) => holding.includes(u)))
        return { ok: false, reason: approvalWords.policyDigest(r.fingerprint, failing) };
      // Without a name, the environment holding changes with the fingerprint, never the first of
      // several; else the one that held it, or holds one it is a typo of, to say so.
      const target = approvalTarget(units, r.environment, approvalWords, (names) => {
        if (holding.length > 1)
          return approvalWords.heldBySeveral(
            r.fingerprint,
            holding.map((u) => u.name!),
          );
        return (
          holding[0] ??
          units.find((u) => u.approvals.concerns(r.fingerprint)) ??
          approvalWords.noEnvironmentHolds(r.fingerprint, names)
        );
      });
      if (typeof target === 'string') return { ok: false, reason: target };
      const refusal = tokenRefusal(target, 'approve', 'admin');
      const environment = target.name ?? undefined;
      if (refusal === null) {
        const frozen = target.freeze.why();
        return { ...target.approvals.approve({ ...r, via: 'api' }), environment, frozen };
      }
      target.approvals.refuse(
        { fingerprint: r.fingerprint, approver: r.approver, via: 'api' },
        refusal,
      );
      return { ok: false, reason: refusal, forbidden: true };
    },
    mayAct: (action, token, environment) => {
      const target =
        environment === undefined
          ? units
          : approvalTarget(units, environment, approvalWords, () => units[0]!);
      // No such environment: the request itself answers why.
      if (typeof target === 'string') return null;
      for (const u of Array.isArray(target) ? target : [target]) {
        const refusal = tokenRefusal(u, action, token);
        if (refusal !== null) return refusal;
      }
      return null;
    },
    approvePolicies: (r) => {
      const digest = r.failures;
      // Without a name, the environment whose failures with that digest wait for an owner, never
      // the first of several.
      const target = approvalTarget(units, r.environment, approvalWords, (names) => {
        const having = units.filter((u) => policiesOf(u, digest).length > 0);
        const waiting = having.filter((u) => !approvedPolicies(u));
        const found = waiting.length > 0 ? waiting : having;
        if (found.length > 1)
          return approvalWords.failingInSeveral(
            digest,
            found.flatMap((u) => policiesOf(u, digest)),
          );
        return found[0] ?? approvalWords.noEnvironmentFails(digest, names);
      });
      if (typeof target === 'string') return { ok: false, reason: target };
      const environment = target.name ?? undefined;
      const report = target.status().policies;
      // Only the failures held now (another digest: decideApproval says which): one approved
      // already keeps its who and why.
      const refusal = !report?.failures
        ? approvalWords.noPolicyFailure(digest, target.name)
        : report.failures === digest && approvedPolicies(target);
      if (refusal) return { ok: false, reason: refusal, environment };
      const { approver: by, reason: why } = r;
      const answer = target.policyApprovals.approve(report, { by, why, digest, at: new Date() });
      return { ...answer, environment };
    },
    freeze: async (r) => {
      const target =
        r.environment === undefined
          ? units
          : approvalTarget(units, r.environment, approvalWords, () => '');
      if (typeof target === 'string') return { ok: false, reason: target };
      // Resuming lifts a suspension, the rollback holding (its commit is applied once applies
      // may go); with none, it lifts the rollback: the branch head is applied again
      // (docs/daemon.md#rollback).
      const before: FreezeBefore[] = [];
      for (const u of Array.isArray(target) ? target : [target]) {
        const environment = u.name;
        if (r.suspend)
          before.push({ environment, suspended: await u.freeze.suspend(r.by, r.reason) });
        else {
          const suspended = await u.freeze.resume();
          const rollback = suspended === null ? await u.rollback.lift() : null;
          const holds = suspended === null ? null : u.rollback.current;
          // A sync window still freezing applies is said with when it ends: resume does not lift it.
          const opensAt = u.freeze.windowsOpenAt();
          const until = opensAt ? new Date(opensAt).toISOString() : null;
          const window = opensAt === undefined ? {} : { window: { why: u.freeze.why()!, until } };
          before.push({ environment, suspended, rollback, ...(holds ? { holds } : {}), ...window });
        }
      }
      return { ok: true, freeze: status().freeze, before };
    },
    rollback: async (r) => {
      const target = approvalTarget(units, r.environment, approvalWords, (names) =>
        rollbackWords.nameEnvironment(names),
      );
      if (typeof target === 'string') return { ok: false, reason: target };
      const held = await target.rollbackTo(r.run, r.by, r.reason);
      if (typeof held === 'string') return { ok: false, reason: held };
      return { ok: true, rollback: held.pin, done: held.done };
    },
    follower,
    replica: election?.identity,
    requestReconcile: (reason, environment) => {
      const target =
        environment === undefined
          ? units
          : approvalTarget(units, environment, approvalWords, () => units[0]!);
      return typeof target === 'string' ? target : runsMade([target].flat(), reason);
    },
    branch: config.source.kind === 'git' ? config.source.branch : null,
    followed: followedByWebhooks(config.source, deps.env),
    onPullRequest: prs.onPullRequest,
    onComment: prs.onComment,
    dashboard: config.dashboard
      ? dashboardHandler({
          status,
          leaderStatus: async () =>
            single
              ? shown(await leaderStatus<DaemonStatus>(follower(), 5_000))
              : fullStatus
                ? { status: await fullStatus(), relayedBy: '' }
                : null,
          approvals: config.adminToken !== null,
          objects: (environment) => units.find((u) => u.name === environment)?.objects() ?? null,
        })
      : undefined,
    controlPlaneApi:
      deps.serveControlPlane && single
        ? async (call, res) => {
            const { answerCall } = await import('../controlplane/embedded/server.js');
            // A write waits for the run applying (one writer: the state's lock).
            const write = call.method !== 'GET' && call.method !== 'HEAD';
            await single.controlPlaneCall(write, (cp) => answerCall(cp, call, res, logger));
          }
        : undefined,
    logger,
    allowedHosts,
  });
  const triggers: Trigger[] = [
    config.source.kind === 'git'
      ? startTimer(config.pollIntervalMs, () => void requestAll('poll'))
      : await watchFolder(
          config.source.dir,
          config.watchDebounceMs,
          (paths) => {
            logger.debug({ changed: paths.length }, 'files changed');
            void requestAll('watch');
          },
          (message) => logger.warn(message),
        ),
  ];
  logger.info(
    {
      source: source.describe(),
      policy: config.policy,
      url: server.url,
      pollInterval: config.source.kind === 'git' ? config.pollIntervalMs : null,
      driftInterval: config.driftIntervalMs,
      webhooks: {
        github: config.githubWebhookSecret !== null,
        gitlab: config.gitlabWebhookToken !== null,
      },
    },
    `poolsync daemon listening on ${server.url}${config.dashboard ? `; dashboard at ${server.url}/` : ''}`,
  );
  const address = advertiseAddress(election, server.url, deps.env);
  // A replica tries its Leases one after the other (with the candidate delay: they spread).
  const firstRun = Promise.all(
    units.map((u, i) => u.start(address, single ? 0 : i * (election?.retryPeriodMs ?? 0))),
  ).then(() => {});
  let stopping: Promise<boolean> | null = null;
  return {
    url: server.url,
    status,
    metrics,
    reconcile: (reason: TriggerReason = 'manual') => requestAll(reason),
    firstRun,
    /**
     * SIGTERM (once): triggers off, running steps finish, Leases given up; false: steps cut off.
     * `discard`, asked once the runs stopped: the state folder goes too when this start made it
     * (lockStateFolder).
     */
    stop: (discard: () => boolean = () => false): Promise<boolean> =>
      (stopping ??= (async () => {
        await Promise.all(triggers.map((t) => t.stop()));
        source.stop?.();
        if (units.some((u) => u.busy))
          logger.info(
            { timeoutMs: config.shutdownTimeoutMs },
            'shutting down: letting running steps finish',
          );
        const cut = await Promise.all(units.map((u) => u.stop(config.shutdownTimeoutMs)));
        const cutOff = cut.filter((phase) => phase !== null);
        const finished = cutOff.length === 0;
        if (!finished) logger.warn(shutdownWords.cutOff(cutOff, config.shutdownTimeoutMs));
        await Promise.all(units.map((u) => u.close()));
        await server.close();
        for (const f of prs.forges.values()) await f.forge.close().catch(() => {});
        await (discard() ? stateFolder.discard() : stateFolder.release());
        logger.info({ finished }, 'poolsync daemon stopped');
        // Only steps cut off leave the control plane part-way through a plan: exit 1.
        return !cutOff.includes('apply');
      })()),
  };
}
