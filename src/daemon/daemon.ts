/**
 * Wires the daemon together: source + loop + triggers + reconciler + HTTP server.
 * `startDaemon` returns once the server listens and the first run has been requested;
 * `stop()` is the SIGTERM path: triggers off, no new steps, running steps finish (bounded).
 */
import { dirname, join } from 'node:path';
import type { Logger } from 'pino';
import type { KubeConfig } from '@kubernetes/client-node';
import type { ControlPlane } from '../controlplane/types.js';
import type { Plan } from '../model/plan.js';
import { advertiseAddress, followerOf } from './leader.js';
import type { DaemonConfig } from './config.js';
import { FolderSource, GitSource, type Source } from './git-source.js';
import { startStatusServer, type StatusServer } from './http.js';
import { dashboardHandler } from './dashboard/handler.js';
import type { TriggerReason } from './loop.js';
import { DaemonMetrics } from './metrics.js';
import type { Pipeline } from './reconcile.js';
import { Redactor } from '../util/redact.js';
import type { DaemonStatus } from './status.js';
import { leaderStatus } from './forward.js';
import { startTimer, watchFolder, type Trigger } from './triggers.js';
import type { PullRequestEvent } from './webhooks.js';
import type { NotifyEvent } from '../notify/types.js';
import { startUnit, type Unit } from './unit.js';
import {
  approvalTarget,
  discoverEnvironments,
  environmentDaemonConfig,
  environmentsStatus,
  environmentsStatusFromLeaders,
} from './environments.js';
import { pullRequestWiring } from './pull-request-wiring.js';
import { sharedCandidacy } from '../lease/leader-elector.js';

export interface DaemonDeps {
  logger: Logger;
  /** A control plane to use instead of opening `config.controlPlane.url` (tests, quickstart). */
  controlPlane?: ControlPlane;
  /** Replace parts of the pipeline (tests); the rest are the real modules. */
  pipeline?: Partial<Pipeline>;
  onApplyPlan?: (plan: Plan) => void;
  /**
   * Plan comments for pull/merge requests; by default src/vcs's handler when a webhook secret
   * and the provider's token are configured (otherwise those events get 202, ignored).
   */
  onPullRequest?: (event: PullRequestEvent) => Promise<void>;
  /** First retry delay after a failed fetch (doubles up to the poll interval). */
  retryBaseMs?: number;
  /** Where the apply lock lives for http(s) control planes (default: the state dir's parent). */
  lockDir?: string;
  /** Kubernetes API access for --leader-elect / --lock (default: in-cluster or KUBECONFIG). */
  kubeConfig?: KubeConfig;
  /** TTL of the apply lock's lease on the control plane (default 30 s; renewed every third). */
  lockTtlMs?: number;
  /** Told the outcome of every run (src/notify: Slack / JSON webhooks). */
  notifier?: { notify(event: NotifyEvent): void };
}

export interface RunningDaemon {
  /** `http://host:port` of the status server. */
  url: string;
  status(): DaemonStatus;
  metrics: DaemonMetrics;
  /** Requests a run and resolves when it finished. */
  reconcile(reason?: TriggerReason): Promise<void>;
  /** The first run (requested at start). */
  firstRun: Promise<void>;
  /** SIGTERM path. Resolves true when the running run finished within the shutdown timeout. */
  stop(): Promise<boolean>;
}

export async function startDaemon(config: DaemonConfig, deps: DaemonDeps): Promise<RunningDaemon> {
  const { logger } = deps;
  const redactor = new Redactor([
    config.controlPlane.token,
    config.source.kind === 'git' ? config.source.auth.token : null,
    config.githubWebhookSecret,
    config.gitlabWebhookToken,
    config.reconcileToken,
    config.adminToken,
  ]);
  const metrics = new DaemonMetrics();
  const source = sourceOf(config, join(config.stateDir, 'checkout'));
  // poolsync.yaml `environments:`: one unit per environment (environments.ts); else one.
  const found = await discoverEnvironments(source, logger);
  const units = await startUnits(config, deps, { source, metrics, redactor, found });
  const single = found === null ? units[0]! : null;
  const requestAll = async (reason: TriggerReason): Promise<void> => {
    await Promise.all(units.map((u) => u.request(reason)));
  };
  const wiring = pullRequestWiring(config, deps, units, requestAll);
  const ready = () => units.every((u) => u.ready());
  metrics.readyFrom(ready);
  const daemonStatus = (): DaemonStatus =>
    single ? single.status() : environmentsStatus(units, source.describe(), config);
  const server = await listen(config, deps, {
    units,
    single,
    source,
    metrics,
    ready,
    daemonStatus,
    requestAll,
    wiring,
  });
  const triggers = await startTriggers(config, logger, requestAll);
  logListening(config, logger, source, server.url);
  const address = advertiseAddress(config.leaderElection, server.url);
  const election = config.leaderElection;
  // A replica tries its Leases one after the other (with the candidate delay: they spread).
  const firstRun = Promise.all(
    units.map((u, i) => u.start(address, single ? 0 : i * (election?.retryPeriodMs ?? 0))),
  ).then(() => {});
  return {
    url: server.url,
    status: () => daemonStatus(),
    metrics,
    reconcile: (reason = 'manual') => requestAll(reason),
    firstRun,
    stop: stopper(config, logger, { units, triggers, server, forges: wiring.forges }),
  };
}

/** The daemon's first log line: what it follows, how, and where it answers. */
function logListening(config: DaemonConfig, logger: Logger, source: Source, url: string): void {
  logger.info(
    {
      source: source.describe(),
      policy: config.policy,
      url,
      pollInterval: config.source.kind === 'git' ? config.pollIntervalMs : null,
      driftInterval: config.driftIntervalMs,
      webhooks: {
        github: config.githubWebhookSecret !== null,
        gitlab: config.gitlabWebhookToken !== null,
      },
    },
    `poolsync daemon listening on ${url}${config.dashboard ? `; dashboard at ${url}/` : ''}`,
  );
}

/** The one unit of a daemon without environments, or one per environment (environments.ts). */
async function startUnits(
  config: DaemonConfig,
  deps: DaemonDeps,
  shared: {
    source: Source;
    metrics: DaemonMetrics;
    redactor: Redactor;
    found: Awaited<ReturnType<typeof discoverEnvironments>>;
  },
): Promise<Unit[]> {
  const { source, metrics, redactor, found } = shared;
  const units: Unit[] = [];
  const election = config.leaderElection;
  const leading = () => units.filter((u) => u.leadership.isLeader()).length;
  const candidacy =
    found !== null && election ? sharedCandidacy(leading, election.leaseDurationMs) : null;
  try {
    if (found === null) {
      units.push(
        await startUnit(
          { name: null, config, source, metrics, redactor, strictOpen: true },
          { ...deps, lockDir: deps.lockDir ?? dirname(config.stateDir) },
        ),
      );
      return units;
    }
    for (const env of found.environments) {
      const envConfig = environmentDaemonConfig(config, found.snapshot.dir, env);
      const envMetrics = new DaemonMetrics({ processMetrics: false, environment: env.name });
      const unit = await startUnit(
        {
          name: env.name,
          config: envConfig,
          source: sourceOf(envConfig, join(envConfig.stateDir, 'checkout')),
          metrics: envMetrics,
          redactor,
          strictOpen: false,
        },
        {
          // Each environment opens its own control plane: an injected one is never shared.
          ...withoutControlPlane(deps),
          lockDir: deps.lockDir ?? dirname(config.stateDir),
          // A replica leading some environments leaves a free Lease to one leading fewer.
          ...(candidacy ? { candidacy } : {}),
        },
      );
      envMetrics.readyFrom(unit.ready);
      units.push(unit);
    }
    metrics.withEnvironments(units.map((u) => u.metrics));
    deps.logger.info(
      { environments: units.map((u) => u.name) },
      `reconciling ${units.length} environments`,
    );
    return units;
  } catch (err) {
    for (const u of units) await u.close();
    throw err;
  }
}

interface Served {
  units: Unit[];
  single: Unit | null;
  source: Source;
  metrics: DaemonMetrics;
  ready: () => boolean;
  daemonStatus: () => DaemonStatus;
  requestAll: (reason: TriggerReason) => Promise<void>;
  wiring: ReturnType<typeof pullRequestWiring>;
}

/** The status server: /status, /metrics, /approve, webhooks and the dashboard. */
async function listen(config: DaemonConfig, deps: DaemonDeps, d: Served): Promise<StatusServer> {
  const { units, single, source, daemonStatus } = d;
  const election = config.leaderElection;
  // With environments each replica answers itself: the leaders of its environments are several.
  const follower = () => (single ? followerOf(single.leadership, config.leaderElection) : null);
  // With environments and several replicas: each environment as its leader says.
  const fullStatus =
    single || !election
      ? null
      : () => environmentsStatusFromLeaders(units, source.describe(), config, 5_000);
  const { onPullRequest, onComment } = d.wiring;
  try {
    return await startStatusServer(config.listen, {
      status: () => daemonStatus(),
      ...(fullStatus ? { fullStatus } : {}),
      ready: d.ready,
      metrics: d.metrics,
      adminToken: config.adminToken,
      approve: (r) => {
        if (single && r.environment !== undefined)
          return {
            ok: false,
            reason: `"environment": ${r.environment}: this daemon reconciles one control plane without environments; leave it out`,
          };
        const target = single ?? approvalTarget(units, r);
        if (typeof target === 'string') return { ok: false, reason: target };
        return target.approvals.approve({ ...r, via: 'api' });
      },
      follower,
      ...(config.leaderElection ? { replica: config.leaderElection.identity } : {}),
      requestReconcile: d.requestAll,
      githubWebhookSecret: config.githubWebhookSecret,
      gitlabWebhookToken: config.gitlabWebhookToken,
      reconcileToken: config.reconcileToken,
      branch: config.source.kind === 'git' ? config.source.branch : null,
      ...(onPullRequest ? { onPullRequest } : {}),
      ...(onComment ? { onComment } : {}),
      ...(config.dashboard
        ? {
            dashboard: dashboardHandler({
              status: () => daemonStatus(),
              leaderStatus: async () =>
                single
                  ? leaderStatus<DaemonStatus>(follower(), 5_000)
                  : fullStatus && { status: await fullStatus(), relayedBy: '' },
              approvals: config.adminToken !== null,
            }),
          }
        : {}),
      logger: deps.logger,
    });
  } catch (err) {
    for (const u of units) await u.close();
    const code = (err as NodeJS.ErrnoException).code;
    throw new Error(
      `cannot listen on ${config.listen.host}:${config.listen.port}: ${code === 'EADDRINUSE' ? 'the address is in use (another daemon? choose another --listen)' : (err as Error).message}`,
    );
  }
}

/** What starts a run besides webhooks: the poll timer (Git), or the folder's watcher. */
async function startTriggers(
  config: DaemonConfig,
  logger: Logger,
  requestAll: (reason: TriggerReason) => Promise<void>,
): Promise<Trigger[]> {
  if (config.source.kind === 'git')
    return [startTimer(config.pollIntervalMs, () => void requestAll('poll'))];
  return [
    await watchFolder(
      config.source.dir,
      config.watchDebounceMs,
      (paths) => {
        logger.debug({ changed: paths.length }, 'files changed');
        void requestAll('watch');
      },
      (message) => logger.warn(message),
    ),
  ];
}

/** The SIGTERM path, once: triggers off, running steps finish (bounded), Leases given up. */
function stopper(
  config: DaemonConfig,
  logger: Logger,
  d: {
    units: Unit[];
    triggers: Trigger[];
    server: StatusServer;
    forges: ReturnType<typeof pullRequestWiring>['forges'];
  },
): () => Promise<boolean> {
  let stopping: Promise<boolean> | null = null;
  return () => {
    stopping ??= (async () => {
      await Promise.all(d.triggers.map((t) => t.stop()));
      if (d.units.some((u) => u.busy))
        logger.info(
          { timeoutMs: config.shutdownTimeoutMs },
          'shutting down: letting running steps finish',
        );
      const done = await Promise.all(d.units.map((u) => u.stop(config.shutdownTimeoutMs)));
      const finished = done.every(Boolean);
      if (!finished) logger.warn('shutdown timeout: steps were still running');
      // A leader gives the lease up so another replica takes over at once.
      await Promise.all(d.units.map((u) => u.close()));
      await d.server.close();
      for (const f of d.forges.values()) await f.forge.close().catch(() => {});
      logger.info({ finished }, 'poolsync daemon stopped');
      return finished;
    })();
    return stopping;
  };
}

function sourceOf(config: DaemonConfig, checkoutDir: string): Source {
  return config.source.kind === 'git'
    ? new GitSource({
        repo: config.source.repo,
        branch: config.source.branch,
        path: config.source.path,
        auth: config.source.auth,
        checkoutDir,
      })
    : new FolderSource(config.source.dir);
}

function withoutControlPlane(deps: DaemonDeps): Omit<DaemonDeps, 'controlPlane'> {
  const { controlPlane: _injected, ...rest } = deps;
  return rest;
}
