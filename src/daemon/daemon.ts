/**
 * Wires the daemon together: source + loop + triggers + reconciler + HTTP server.
 * `startDaemon` returns once the server listens and the first run has been requested;
 * `stop()` is the SIGTERM path: triggers off, no new steps, running steps finish (bounded).
 */
import { dirname, join } from 'node:path';
import type { Logger } from 'pino';
import { executePlan } from '../apply/index.js';
import { holdApplyLock } from '../apply/lock.js';
import type { KubeConfig } from '@kubernetes/client-node';
import { controlPlaneAccess } from './control-plane-access.js';
import { backendInfo, type ControlPlane } from '../controlplane/types.js';
import { controlPlaneIdentity } from '../controlplane/identity.js';
import { inventoryStore, readLiveWithInventory, recordInventory } from '../apply/inventory.js';
import type { Plan } from '../model/plan.js';
import { loadDesired } from '../plan/pipeline.js';
import { Approvals } from './approvals.js';
import {
  advertiseAddress,
  electedLeadership,
  followerOf,
  readiness,
  soleLeadership,
  type DaemonLeadership,
} from './leader.js';
import type { DaemonConfig } from './config.js';
import { FolderSource, GitSource, type Source } from './git-source.js';
import { startStatusServer, type StatusServer } from './http.js';
import { dashboardHandler } from './dashboard/handler.js';
import { ReconcileLoop, type TriggerReason } from './loop.js';
import { DaemonMetrics } from './metrics.js';
import { Reconciler, type Pipeline } from './reconcile.js';
import { Redactor } from '../util/redact.js';
import type { DaemonStatus } from './status.js';
import { leaderStatus } from './forward.js';
import { backoffDelay } from '../util/backoff.js';
import { OneShot, startTimer, watchFolder, type Trigger } from './triggers.js';
import type { PullRequestEvent } from './webhooks.js';
import { forgeTargets, PostedPlans, pullRequestHandlerForDaemon } from './pull-requests.js';
import { commentApprovalHandler } from './comment-approvals.js';
import { createApprovalForge } from '../vcs/approvers.js';
import { notifyingRun } from '../notify/daemon-hook.js';
import type { NotifyEvent } from '../notify/types.js';

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

  const source: Source =
    config.source.kind === 'git'
      ? new GitSource({
          repo: config.source.repo,
          branch: config.source.branch,
          path: config.source.path,
          auth: config.source.auth,
          checkoutDir: join(config.stateDir, 'checkout'),
        })
      : new FolderSource(config.source.dir);

  const controlPlane = controlPlaneAccess(config, deps.controlPlane);
  // Fail at start, not on the first run, for a bad URL or an embedded state held by another process.
  const { backend, identity } = await controlPlane.use(async (cp) => ({
    backend: backendInfo(cp),
    identity: controlPlaneIdentity(config.controlPlane.url, cp),
  }));
  const leadership: DaemonLeadership = config.leaderElection
    ? electedLeadership(config.leaderElection, {
        logger,
        metrics,
        ...(deps.kubeConfig ? { kubeConfig: deps.kubeConfig } : {}),
      })
    : soleLeadership();
  if (!config.leaderElection) metrics.leader.set(1);
  const k8sLock = config.lock
    ? {
        ref: config.lock,
        kubeConfig: deps.kubeConfig ?? (await import('../lease/k8s-lease.js')).loadKubeConfig(),
      }
    : null;
  let warnedLock = false;
  const who = `poolsync daemon${config.leaderElection ? ` ${config.leaderElection.identity}` : ''}`;
  // The inventory of what poolsync applied (src/apply/inventory.ts): the control plane's own
  // when it keeps one, else the ConfigMap of --inventory (by default beside the Lease), else the
  // state folder apply shares (where the locks are).
  const sharedInventory = config.inventory
    ? { place: config.inventory, ...(deps.kubeConfig ? { kubeConfig: deps.kubeConfig } : {}) }
    : null;
  const inventoryOf = (cp: ControlPlane) =>
    inventoryStore(
      cp,
      config.controlPlane.url,
      deps.lockDir ?? dirname(config.stateDir),
      sharedInventory,
    );
  const pipeline: Pipeline = {
    loadRepository: (dir, o) => loadDesired(dir, o),
    readLiveState: (cp) => readLiveWithInventory(cp, inventoryOf(cp)),
    recordInventory: async (cp, plan, deleted) => {
      const written = await recordInventory(inventoryOf(cp), plan, deleted);
      if (written) logger.info({ objects: written.length }, 'inventory recorded');
    },
    executePlan,
    acquireLock: (cp) =>
      holdApplyLock({
        cp,
        url: config.controlPlane.url,
        stateDir: deps.lockDir ?? dirname(config.stateDir),
        k8s: k8sLock,
        who,
        ...(config.leaderElection
          ? {
              shareWith: `leader Lease ${config.leaderElection.lease.namespace}/${config.leaderElection.lease.name}`,
            }
          : {}),
        ...(deps.lockTtlMs ? { ttlMs: deps.lockTtlMs } : {}),
        warn: (message) => {
          if (!warnedLock) logger.warn(message);
          warnedLock = true;
        },
      }),
    ...deps.pipeline,
  };

  let loop: ReconcileLoop | null = null;
  const retry = new OneShot(() => void loop?.request('retry'));
  const retryBase = deps.retryBaseMs ?? 5000;
  const approvals = new Approvals((result, via) => metrics.approvals.inc({ result, via }));
  const reconciler = new Reconciler({
    source,
    approvals,
    leadership,
    controlPlane,
    pipeline,
    policy: config.policy,
    parallelism: config.parallelism,
    waitTimeoutMs: config.waitTimeoutMs,
    ...(config.commitRendered ? { commitRendered: true } : {}),
    repoPath: config.source.kind === 'git' ? config.source.path : '.',
    metrics,
    logger,
    redactor,
    ...(deps.onApplyPlan ? { onApplyPlan: deps.onApplyPlan } : {}),
    controlPlaneUrl: config.controlPlane.url,
    planControlPlane: identity,
    onFetchFailure: (failures) => {
      const delay = backoffDelay(failures, retryBase, Math.max(retryBase, config.pollIntervalMs));
      retry.schedule(delay);
      return new Date(Date.now() + delay);
    },
    // A control plane failing past the client's retries: back off and resume, capped like fetches.
    onRunFailure: (failures) => {
      const delay = backoffDelay(failures, retryBase, Math.max(retryBase, config.pollIntervalMs));
      retry.schedule(delay);
      return new Date(Date.now() + delay);
    },
    onRunRecovered: () => retry.cancel(),
  });
  const run = notifyingRun(reconciler.run, () => reconciler.status(), deps.notifier);
  loop = new ReconcileLoop(run, (err) =>
    logger.error({ err: redactor.errorMessage(err) }, 'reconcile run crashed'),
  );
  const runLoop = loop;
  // Only the leader runs the loop; a follower's triggers are dropped (the leader has its own).
  const theLoop = {
    request: (reason: TriggerReason): Promise<void> =>
      leadership.isLeader() ? runLoop.request(reason) : Promise.resolve(),
    get busy() {
      return runLoop.busy;
    },
    stop: (timeoutMs: number) => runLoop.stop(timeoutMs),
  };

  const posted = new PostedPlans();
  const onPullRequest =
    deps.onPullRequest ??
    pullRequestHandlerForDaemon({
      config,
      readLiveState: () => controlPlane.read((cp) => pipeline.readLiveState(cp)),
      backend,
      controlPlane: identity,
      logger,
      posted,
    });
  // Approval by `poolsync apply` comments: on where plan comments are (their token and repository).
  const forges = new Map(
    [...forgeTargets(config)].map(([provider, t]) => [
      provider,
      {
        repository: t.repository,
        forge: createApprovalForge({
          provider,
          repository: t.repository,
          token: t.token,
          ...(t.apiUrl ? { apiUrl: t.apiUrl } : {}),
        }),
      },
    ]),
  );
  const onComment =
    forges.size > 0 && !deps.onPullRequest
      ? commentApprovalHandler({
          approvals,
          posted,
          forges,
          readLiveState: () => controlPlane.read((cp) => pipeline.readLiveState(cp)),
          requestReconcile: () => void theLoop.request('manual'),
          logger,
        })
      : undefined;

  const ready = readiness(leadership, () => reconciler.ready);
  metrics.readyFrom(ready);
  const daemonStatus = () => {
    const st = { ...reconciler.status(), ready: ready() };
    const leader = leadership.status();
    return leader ? { ...st, leader } : st;
  };

  let server: StatusServer;
  try {
    server = await startStatusServer(config.listen, {
      status: () => daemonStatus(),
      ready,
      metrics,
      adminToken: config.adminToken,
      approve: (r) => approvals.approve({ ...r, via: 'api' }),
      follower: () => followerOf(leadership, config.leaderElection),
      ...(config.leaderElection ? { replica: config.leaderElection.identity } : {}),
      requestReconcile: (reason) => theLoop.request(reason),
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
              leaderStatus: () =>
                leaderStatus<DaemonStatus>(followerOf(leadership, config.leaderElection), 5_000),
              approvals: config.adminToken !== null,
            }),
          }
        : {}),
      logger,
    });
  } catch (err) {
    await controlPlane.close();
    const code = (err as NodeJS.ErrnoException).code;
    throw new Error(
      `cannot listen on ${config.listen.host}:${config.listen.port}: ${code === 'EADDRINUSE' ? 'the address is in use (another daemon? choose another --listen)' : (err as Error).message}`,
    );
  }

  const triggers: Trigger[] = [retry];
  if (config.source.kind === 'git') {
    triggers.push(startTimer(config.pollIntervalMs, () => void theLoop.request('poll')));
  } else {
    triggers.push(
      await watchFolder(
        config.source.dir,
        config.watchDebounceMs,
        (paths) => {
          logger.debug({ changed: paths.length }, 'files changed');
          void theLoop.request('watch');
        },
        (message) => logger.warn(message),
      ),
    );
  }
  triggers.push(startTimer(config.driftIntervalMs, () => void theLoop.request('drift')));

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
  // With --leader-elect the first run is the one a replica makes when it becomes leader.
  let firstRunDone!: () => void;
  const firstRun = leadership.elected
    ? new Promise<void>((resolve) => (firstRunDone = resolve))
    : theLoop.request('startup');
  leadership.start(
    () => void runLoop.request('leader').then(() => firstRunDone?.()),
    advertiseAddress(config.leaderElection, server.url),
  );

  let stopping: Promise<boolean> | null = null;
  return {
    url: server.url,
    status: () => daemonStatus(),
    metrics,
    reconcile: (reason = 'manual') => theLoop.request(reason),
    firstRun,
    stop: () => {
      stopping ??= (async () => {
        await Promise.all(triggers.map((t) => t.stop()));
        const busy = theLoop.busy;
        if (busy)
          logger.info(
            { timeoutMs: config.shutdownTimeoutMs },
            'shutting down: letting running steps finish',
          );
        const finished = await theLoop.stop(config.shutdownTimeoutMs);
        if (!finished) logger.warn('shutdown timeout: steps were still running');
        // A leader gives the lease up so another replica takes over at once.
        await leadership
          .stop()
          .catch((err: unknown) =>
            logger.warn({ err: redactor.errorMessage(err) }, 'could not release the leader lease'),
          );
        await server.close();
        for (const f of forges.values()) await f.forge.close().catch(() => {});
        await controlPlane.close().catch(() => {});
        logger.info({ finished }, 'poolsync daemon stopped');
        return finished;
      })();
      return stopping;
    },
  };
}
