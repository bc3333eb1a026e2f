/**
 * Wires the daemon together: source + loop + triggers + reconciler + HTTP server.
 * `startDaemon` returns once the server listens and the first run has been requested;
 * `stop()` is the SIGTERM path: triggers off, no new steps, running steps finish (bounded).
 */
import { dirname, join } from 'node:path';
import type { Logger } from 'pino';
import { acquireApplyLock, executePlan, lockPathFor } from '../apply/index.js';
import { openControlPlane } from '../controlplane/open.js';
import { readLiveState, type ControlPlane } from '../controlplane/types.js';
import { loadRepository } from '../manifests/index.js';
import type { Plan } from '../model/plan.js';
import { planForBackend } from '../plan/backend.js';
import type { DaemonConfig } from './config.js';
import { FolderSource, GitSource, type Source } from './git-source.js';
import { startStatusServer, type StatusServer } from './http.js';
import { ReconcileLoop, type TriggerReason } from './loop.js';
import { DaemonMetrics } from './metrics.js';
import { Reconciler, type ControlPlaneAccess, type Pipeline } from './reconcile.js';
import { Redactor } from './redact.js';
import type { DaemonStatus } from './status.js';
import { backoffDelay } from '../util/backoff.js';
import { OneShot, startTimer, watchFolder, type Trigger } from './triggers.js';
import type { PullRequestEvent } from './webhooks.js';
import { pullRequestHandlerForDaemon } from '../vcs/daemon-wiring.js';

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
  const backend = await controlPlane.use(async (cp) => cp.backend);
  const lockPath = lockPathFor(config.controlPlane.url, deps.lockDir ?? dirname(config.stateDir));
  const pipeline: Pipeline = {
    loadRepository: (dir, o) => loadRepository(dir, o),
    readLiveState,
    computePlan: (desired, live, o) => planForBackend(desired, live, o.backend, o),
    executePlan,
    acquireLock: async () => {
      const lock = await acquireApplyLock(lockPath);
      return () => lock.release();
    },
    ...deps.pipeline,
  };

  let loop: ReconcileLoop | null = null;
  const retry = new OneShot(() => void loop?.request('retry'));
  const retryBase = deps.retryBaseMs ?? 5000;
  const reconciler = new Reconciler({
    source,
    controlPlane,
    pipeline,
    policy: config.policy,
    parallelism: config.parallelism,
    waitTimeoutMs: config.waitTimeoutMs,
    repoPath: config.source.kind === 'git' ? config.source.path : '.',
    metrics,
    logger,
    redactor,
    ...(deps.onApplyPlan ? { onApplyPlan: deps.onApplyPlan } : {}),
    onFetchFailure: (failures) => {
      const delay = backoffDelay(failures, retryBase, Math.max(retryBase, config.pollIntervalMs));
      retry.schedule(delay);
      return new Date(Date.now() + delay);
    },
  });
  loop = new ReconcileLoop(reconciler.run, (err) =>
    logger.error({ err: redactor.errorMessage(err) }, 'reconcile run crashed'),
  );
  const theLoop = loop;

  const onPullRequest =
    deps.onPullRequest ??
    pullRequestHandlerForDaemon({
      config,
      readLiveState: () => controlPlane.use(readLiveState),
      backend,
      logger,
    });

  let server: StatusServer;
  try {
    server = await startStatusServer(config.listen, {
      status: () => reconciler.status(),
      ready: () => reconciler.ready,
      metrics,
      requestReconcile: (reason) => theLoop.request(reason),
      githubWebhookSecret: config.githubWebhookSecret,
      gitlabWebhookToken: config.gitlabWebhookToken,
      reconcileToken: config.reconcileToken,
      branch: config.source.kind === 'git' ? config.source.branch : null,
      ...(onPullRequest ? { onPullRequest } : {}),
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
      await watchFolder(config.source.dir, config.watchDebounceMs, (paths) => {
        logger.debug({ changed: paths.length }, 'files changed');
        void theLoop.request('watch');
      }),
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
    `poolsync daemon listening on ${server.url}`,
  );
  const firstRun = theLoop.request('startup');

  let stopping: Promise<boolean> | null = null;
  return {
    url: server.url,
    status: () => reconciler.status(),
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
        await server.close();
        await controlPlane.close().catch(() => {});
        logger.info({ finished }, 'poolsync daemon stopped');
        return finished;
      })();
      return stopping;
    },
  };
}

/**
 * An injected control plane (tests) or a remote API is opened once and kept; an embedded
 * state file (`file:`) is opened per run so `poolsync apply` can use it between runs.
 */
function controlPlaneAccess(
  config: DaemonConfig,
  injected: ControlPlane | undefined,
): ControlPlaneAccess {
  if (injected) {
    return { use: (fn) => fn(injected), close: async () => {} };
  }
  const open = () =>
    openControlPlane(config.controlPlane.url, {
      ...(config.controlPlane.token ? { token: config.controlPlane.token } : {}),
    });
  if (config.controlPlane.url.startsWith('file:')) {
    return {
      use: async (fn) => {
        const cp = await open();
        try {
          return await fn(cp);
        } finally {
          await cp.close();
        }
      },
      close: async () => {},
    };
  }
  let shared: Promise<ControlPlane> | null = null;
  return {
    use: async (fn) => {
      shared ??= open().catch((err: unknown) => {
        shared = null;
        throw err;
      });
      return fn(await shared);
    },
    close: async () => {
      if (shared) await (await shared.catch(() => null))?.close();
      shared = null;
    },
  };
}
