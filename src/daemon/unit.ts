/**
 * One reconciled control plane: its control-plane access, pipeline (apply lock, inventory),
 * approvals, reconciler, loop, retry and drift timers, and leadership. A daemon without
 * environments runs one unit; with `environments:` one per environment (environments.ts), each
 * on its own, so a failing environment never blocks the others (docs/environments.md).
 */
import type { Logger } from 'pino';
import type { KubeConfig } from '@kubernetes/client-node';
import type { HoldApplyLockOptions } from '../apply/lock.js';
import { backendInfo, type BackendInfo, type ControlPlane } from '../controlplane/types.js';
import { controlPlaneIdentity } from '../controlplane/identity.js';
import type { Plan, PlanControlPlane } from '../model/plan.js';
import type { NotifyEvent } from '../notify/types.js';
import { notifyingRun } from '../notify/daemon-hook.js';
import { backoffDelay } from '../util/backoff.js';
import type { Redactor } from '../util/redact.js';
import { Approvals } from './approvals.js';
import { paceLine } from '../util/pacer.js';
import type { DaemonConfig } from './config.js';
import { controlPlaneAccess } from './control-plane-access.js';
import type { Source } from './git-source.js';
import type { Candidacy } from '../lease/leader-elector.js';
import { electedLeadership, readiness, soleLeadership, type DaemonLeadership } from './leader.js';
import { ReconcileLoop, type TriggerReason } from './loop.js';
import type { DaemonMetrics } from './metrics.js';
import { Reconciler, type ControlPlaneAccess, type Pipeline } from './reconcile.js';
import type { ReconcilerOptions } from './stages/context.js';
import { readHistory, writeHistory } from './run-history.js';
import type { DaemonStatus } from './status.js';
import { OneShot, startTimer, type Trigger } from './triggers.js';
import { unitPipeline } from './unit-pipeline.js';

export interface UnitDeps {
  logger: Logger;
  /** A control plane to use instead of opening the unit's URL (tests, quickstart). */
  controlPlane?: ControlPlane;
  pipeline?: Partial<Pipeline>;
  onApplyPlan?: (plan: Plan) => void;
  retryBaseMs?: number;
  lockDir?: string;
  kubeConfig?: KubeConfig;
  lockTtlMs?: number;
  notifier?: { notify(event: NotifyEvent): void };
  /** With several Leases (environments): how their candidates take turns. */
  candidacy?: Candidacy;
}

/** What the daemon drives of one unit. */
export interface Unit {
  /** The environment's name; null without environments. */
  readonly name: string | null;
  readonly config: DaemonConfig;
  readonly source: Source;
  readonly metrics: DaemonMetrics;
  readonly leadership: DaemonLeadership;
  readonly approvals: Approvals;
  readonly controlPlane: ControlPlaneAccess;
  readonly pipeline: Pipeline;
  /** Known once the control plane was opened (at start, or by the first run that reached it). */
  backend(): BackendInfo | undefined;
  identity(): PlanControlPlane | undefined;
  /** The unit's /status section (`ready` included, `leader` when elected). */
  status(): DaemonStatus;
  ready(): boolean;
  /** Asks for a run (dropped while another replica leads the unit). */
  request(reason: TriggerReason): Promise<void>;
  /**
   * Starts the drift timer and the election (after `electAfterMs`: a replica's Leases are
   * tried one after the other), or requests the first run; resolves on the first run.
   */
  start(address: string | null, electAfterMs?: number): Promise<void>;
  readonly busy: boolean;
  /** Stops the timers and the loop; true when the running run finished in time. */
  stop(timeoutMs: number): Promise<boolean>;
  /** Gives the lease up and closes the control plane. */
  close(): Promise<void>;
}

export interface UnitOptions {
  name: string | null;
  config: DaemonConfig;
  source: Source;
  metrics: DaemonMetrics;
  redactor: Redactor;
  /** Open the control plane at start and fail there (no environments); else open it on the first run. */
  strictOpen: boolean;
}

export async function startUnit(o: UnitOptions, deps: UnitDeps): Promise<Unit> {
  const { config, metrics, redactor } = o;
  const logger = o.name === null ? deps.logger : deps.logger.child({ environment: o.name });
  // A server that throttles: logged as the apply prints it (util/pacer.ts).
  const controlPlane = controlPlaneAccess(config, deps.controlPlane, (e) =>
    logger[e.throttled ? 'warn' : 'info']({ pace: e }, paceLine(e)),
  );
  let known: Known | null = null;
  const learn = (cp: ControlPlane) =>
    (known ??= {
      backend: backendInfo(cp),
      identity: {
        ...(o.name !== null ? { environment: o.name } : {}),
        ...controlPlaneIdentity(config.controlPlane.url, cp),
      },
    });
  await openAtStart(o, controlPlane, learn, logger);
  const leadership = unitLeadership(o, deps, logger);
  const k8sLock = await k8sLockOf(config, deps);
  const pipeline = unitPipeline(o, deps, logger, learn, k8sLock);
  let loop: ReconcileLoop | null = null;
  const retry = new OneShot(() => void loop?.request('retry'));
  const retryBase = deps.retryBaseMs ?? 5000;
  const backoff = (failures: number) => {
    const delay = backoffDelay(failures, retryBase, Math.max(retryBase, config.pollIntervalMs));
    retry.schedule(delay);
    return new Date(Date.now() + delay);
  };
  const approvals = new Approvals((result, via) => metrics.approvals.inc({ result, via }));
  const history = await keptHistory(config.stateDir, logger);
  const options = reconcilerOptions(o, deps, {
    history,
    approvals,
    leadership,
    controlPlane,
    pipeline,
    logger,
    backoff,
    retry,
    known: () => known,
  });
  const reconciler = new Reconciler(options);
  const run = notifyingRun(
    reconciler.run,
    () => reconciler.status(),
    deps.notifier && o.name !== null ? environmentNotifier(deps.notifier, o.name) : deps.notifier,
  );
  loop = new ReconcileLoop(run, (err) =>
    logger.error({ err: redactor.errorMessage(err) }, 'reconcile run crashed'),
  );
  return unitOf(o, {
    logger,
    leadership,
    approvals,
    controlPlane,
    pipeline,
    known: () => known,
    reconciler,
    loop,
    retry,
  });
}

/** One replica or the elected leader (--leader-elect); a sole replica is the leader. */
function unitLeadership(o: UnitOptions, deps: UnitDeps, logger: Logger): DaemonLeadership {
  const { config, metrics } = o;
  const leadership: DaemonLeadership = config.leaderElection
    ? electedLeadership(config.leaderElection, {
        logger,
        metrics,
        ...(deps.kubeConfig ? { kubeConfig: deps.kubeConfig } : {}),
        ...(deps.candidacy ? { candidacy: deps.candidacy } : {}),
      })
    : soleLeadership();
  if (!config.leaderElection) metrics.leader.set(1);
  return leadership;
}

/** The Kubernetes apply lock of --lock, or null. */
async function k8sLockOf(
  config: DaemonConfig,
  deps: UnitDeps,
): Promise<HoldApplyLockOptions['k8s']> {
  return config.lock
    ? {
        ref: config.lock,
        kubeConfig: deps.kubeConfig ?? (await import('../lease/k8s-lease.js')).loadKubeConfig(),
      }
    : null;
}

/** The reconciler's options: the unit's parts, its config, and how failures back off. */
function reconcilerOptions(
  o: UnitOptions,
  deps: UnitDeps,
  p: {
    approvals: Approvals;
    leadership: DaemonLeadership;
    controlPlane: ControlPlaneAccess;
    pipeline: Pipeline;
    logger: Logger;
    backoff: (failures: number) => Date;
    retry: OneShot;
    known: () => Known | null;
    history: ReconcilerOptions['history'];
  },
): ReconcilerOptions {
  const { config, metrics, redactor } = o;
  const options: ReconcilerOptions = {
    source: o.source,
    approvals: p.approvals,
    leadership: p.leadership,
    controlPlane: p.controlPlane,
    pipeline: p.pipeline,
    policy: config.policy,
    parallelism: config.parallelism,
    waitTimeoutMs: config.waitTimeoutMs,
    ...(config.commitRendered ? { commitRendered: true } : {}),
    repoPath: config.source.kind === 'git' ? config.source.path : '.',
    metrics,
    logger: p.logger,
    redactor,
    ...(deps.onApplyPlan ? { onApplyPlan: deps.onApplyPlan } : {}),
    controlPlaneUrl: config.controlPlane.url,
    onFetchFailure: p.backoff,
    // A control plane failing past the client's retries: back off and resume, capped like fetches.
    onRunFailure: p.backoff,
    onRunRecovered: () => p.retry.cancel(),
    history: p.history,
  };
  // The control plane every plan names: known at start, or from the first run that opened it.
  Object.defineProperty(options, 'planControlPlane', {
    get: () => p.known()?.identity,
    enumerable: true,
  });
  return options;
}

/** The run history kept in the unit's state folder (run-history.ts); a bad file is said, then replaced. */
async function keptHistory(
  stateDir: string,
  logger: Logger,
): Promise<ReconcilerOptions['history']> {
  let kept = null;
  try {
    kept = await readHistory(stateDir);
  } catch (err) {
    logger.warn(
      { err: (err as Error).message },
      'the run history is not readable: starting a new one',
    );
  }
  return { kept, save: (history) => writeHistory(stateDir, history) };
}

interface Known {
  backend: BackendInfo;
  identity: PlanControlPlane;
}

/** Fail at start, not on the first run, for a bad URL or an embedded state held by another process. */
async function openAtStart(
  o: UnitOptions,
  controlPlane: ControlPlaneAccess,
  learn: (cp: ControlPlane) => unknown,
  logger: Logger,
): Promise<void> {
  if (o.strictOpen) {
    await controlPlane.use(async (cp) => learn(cp));
    return;
  }
  await controlPlane
    .use(async (cp) => learn(cp))
    .catch((err: unknown) =>
      logger.error(
        { err: o.redactor.errorMessage(err) },
        'cannot open the control plane: this environment retries on its own, the others go on',
      ),
    );
}

/** The unit the daemon drives, over its parts. */
function unitOf(
  o: UnitOptions,
  p: {
    logger: Logger;
    leadership: DaemonLeadership;
    approvals: Approvals;
    controlPlane: ControlPlaneAccess;
    pipeline: Pipeline;
    known: () => Known | null;
    reconciler: Reconciler;
    loop: ReconcileLoop;
    retry: OneShot;
  },
): Unit {
  const { config, metrics, redactor } = o;
  const { logger, leadership, controlPlane, reconciler, loop: runLoop } = p;
  const ready = readiness(leadership, () => reconciler.ready);
  const triggers: Trigger[] = [p.retry];
  // Only the leader runs the loop; a follower's triggers are dropped (the leader has its own).
  const request = (reason: TriggerReason): Promise<void> =>
    leadership.isLeader() ? runLoop.request(reason) : Promise.resolve();
  return {
    name: o.name,
    config,
    source: o.source,
    metrics,
    leadership,
    approvals: p.approvals,
    controlPlane,
    pipeline: p.pipeline,
    backend: () => p.known()?.backend,
    identity: () => p.known()?.identity,
    ready,
    status: () => {
      const st = { ...reconciler.status(), ready: ready() };
      const leader = leadership.status();
      return leader ? { ...st, leader } : st;
    },
    request,
    start: (address, electAfterMs = 0) =>
      startUnitRuns({ config, leadership, runLoop, request, triggers }, address, electAfterMs),
    get busy() {
      return runLoop.busy;
    },
    stop: async (timeoutMs) => {
      await Promise.all(triggers.map((t) => t.stop()));
      return runLoop.stop(timeoutMs);
    },
    close: async () => {
      // A leader gives the lease up so another replica takes over at once.
      await leadership
        .stop()
        .catch((err: unknown) =>
          logger.warn({ err: redactor.errorMessage(err) }, 'could not release the leader lease'),
        );
      await controlPlane.close().catch(() => {});
    },
  };
}

/**
 * Unit.start: the drift timer, and the first run (at once, or with --leader-elect the one a
 * replica makes when it becomes leader); resolves when that run is done.
 */
function startUnitRuns(
  u: {
    config: DaemonConfig;
    leadership: DaemonLeadership;
    runLoop: ReconcileLoop;
    request: (reason: TriggerReason) => Promise<void>;
    triggers: Trigger[];
  },
  address: Parameters<Unit['start']>[0],
  electAfterMs: number,
): Promise<void> {
  const { config, leadership, runLoop, request, triggers } = u;
  triggers.push(startTimer(config.driftIntervalMs, () => void request('drift')));
  // With --leader-elect the first run is the one a replica makes when it becomes leader.
  let firstRunDone!: () => void;
  const firstRun = leadership.elected
    ? new Promise<void>((resolve) => (firstRunDone = resolve))
    : request('startup');
  const elect = () =>
    leadership.start(() => void runLoop.request('leader').then(() => firstRunDone?.()), address);
  if (electAfterMs > 0) {
    const timer = setTimeout(elect, electAfterMs);
    triggers.push({ stop: async () => clearTimeout(timer) });
  } else elect();
  return firstRun;
}

/** Events of an environment's runs name it (`[production] …`, and `environment`). */
function environmentNotifier(
  notifier: { notify(event: NotifyEvent): void },
  name: string,
): { notify(event: NotifyEvent): void } {
  return {
    notify: (event) =>
      notifier.notify({
        ...event,
        message: `[${name}] ${event.message}`,
        source: { ...event.source, environment: name },
      }),
  };
}
