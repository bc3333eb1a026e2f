/**
 * One reconciled control plane: how it is reached, the real modules a run drives (its apply
 * lock and inventory), its approvals, reconciler, loop, retry and drift timers, and its
 * leadership. A daemon without environments runs one unit; with `environments:` one per
 * environment (environments.ts), each on its own, so a failing environment never blocks the
 * others (docs/environments.md).
 */
import { dirname } from 'node:path';
import type { Logger } from 'pino';
import type { KubeConfig } from '@kubernetes/client-node';
import { executePlan } from '../apply/executor.js';
import { inventoryStore, readLiveWithInventory } from '../apply/inventory.js';
import { controlPlaneIdentity } from '../controlplane/identity.js';
import { openControlPlane, resolveToken } from '../controlplane/open.js';
import {
  backendInfo,
  type BackendInfo,
  type ControlPlane,
  type LiveLists,
} from '../controlplane/types.js';
import { off } from '../incremental/off.js';
import { AnalysisCache } from '../incremental/analysis-cache.js';
import { PlanReuse } from '../incremental/plan-reuse.js';
import { createEmbeddedStateCache } from '../incremental/state-cache.js';
import type { Candidacy } from '../lease/leader-elector.js';
import type { LiveState, SettingsNeed } from '../model/live.js';
import type { Plan, PlanControlPlane } from '../model/plan.js';
import { notifyingRun } from '../notify/daemon-hook.js';
import type { NotifyEvent } from '../notify/config.js';
import { loadDesired } from '../ops/plan-run.js';
import { backoffDelay } from '../util/backoff.js';
import { SYSTEM_CLOCK, type Clock } from '../util/clock.js';
import { paceLine } from '../util/pacer.js';
import type { Redactor } from '../util/redact.js';
import { Approvals } from './approvals.js';
import type { DaemonConfig } from './config.js';
import type { Source } from './git-source.js';
import { electedLeadership, readiness, soleLeadership, type DaemonLeadership } from './leader.js';
import { ReconcileLoop, type TriggerReason } from './loop.js';
import type { DaemonMetrics } from './metrics.js';
import {
  Reconciler,
  type ControlPlaneAccess,
  type Pipeline,
  type ReconcilerOptions,
} from './reconcile.js';
import { readHistory, writeHistory } from './run-history.js';
import type { DaemonStatus } from './status.js';
import { OneShot, startTimer, type Trigger } from './triggers.js';

export interface UnitDeps {
  logger: Logger;
  /** A control plane to use instead of opening the unit's URL (tests, quickstart). */
  controlPlane?: ControlPlane;
  /** Replace parts of the pipeline (tests); the rest are the real modules. */
  pipeline?: Partial<Pipeline>;
  /** Called with each plan that is about to be applied (quickstart prints it). */
  onApplyPlan?: (plan: Plan) => void;
  /** First retry delay after a failed fetch or run (doubles up to the poll interval). */
  retryBaseMs?: number;
  /** Where the apply lock lives for http(s) control planes (default: the state dir's parent). */
  lockDir?: string;
  /** Kubernetes API access for --leader-elect / --lock (default: in-cluster or KUBECONFIG). */
  kubeConfig?: KubeConfig;
  /** TTL of the apply lock's lease on the control plane (default 30 s; renewed every third). */
  lockTtlMs?: number;
  /** Told the outcome of every run (src/notify: Slack / JSON webhooks). */
  notifier?: { notify(event: NotifyEvent): void };
  /** With several Leases (environments): how their candidates take turns. */
  candidacy?: Candidacy;
  /** The retry timer's waits and the runs' times (default: the machine's). */
  clock?: Clock;
}

/** What the daemon drives of one unit. */
export interface Unit {
  /** The environment's name; null without environments. */
  readonly name: string | null;
  readonly config: DaemonConfig;
  readonly metrics: DaemonMetrics;
  readonly leadership: DaemonLeadership;
  readonly approvals: Approvals;
  /** Known once the control plane was opened (at start, or by the first run that reached it). */
  backend(): BackendInfo | undefined;
  identity(): PlanControlPlane | undefined;
  /** The control plane's live state, read as a run reads it (pull-request plans, approvals). */
  readLive(need?: SettingsNeed): Promise<LiveState>;
  /** The unit's /status section (`ready` included, `leader` when elected). */
  status(): DaemonStatus;
  ready(): boolean;
  /** Asks for a run (dropped while another replica leads the unit). */
  request(reason: TriggerReason): Promise<void>;
  /**
   * Starts the drift timer and the election (after `electAfterMs`: a replica's Leases are
   * tried one after the other), or requests the first run; resolves on the first run (with
   * --leader-elect the one a replica makes when it becomes leader).
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
  const { name, config, metrics, redactor } = o;
  const logger = name === null ? deps.logger : deps.logger.child({ environment: name });
  const clock = deps.clock ?? SYSTEM_CLOCK;
  // A server that throttles: logged as the apply prints it (util/pacer.ts).
  const controlPlane = deps.controlPlane
    ? injectedAccess(deps.controlPlane)
    : controlPlaneAccess(config, (e) =>
        logger[e.throttled ? 'warn' : 'info']({ pace: e }, paceLine(e)),
      );
  // The backend and the control plane every plan names: known at start, or from the first run
  // that opened it.
  let known: { backend: BackendInfo; identity: PlanControlPlane } | null = null;
  const learn = (cp: ControlPlane): void => {
    if (known) return;
    const identity = controlPlaneIdentity(config.controlPlane.url, cp);
    known = {
      backend: backendInfo(cp),
      identity: name === null ? identity : { environment: name, ...identity },
    };
  };
  // Fail at start, not on the first run, for a bad URL or an embedded state held by another process.
  const opened = controlPlane.use(async (cp) => learn(cp));
  if (o.strictOpen) await opened;
  else
    await opened.catch((err: unknown) =>
      logger.error(
        { err: redactor.errorMessage(err) },
        'cannot open the control plane: this environment retries on its own, the others go on',
      ),
    );
  // One replica or the elected leader (--leader-elect); a sole replica is the leader.
  const leadership = config.leaderElection
    ? electedLeadership(config.leaderElection, {
        logger,
        metrics,
        kubeConfig: deps.kubeConfig,
        candidacy: deps.candidacy,
      })
    : soleLeadership();
  if (!config.leaderElection) metrics.leader.set(1);
  const pipeline = await unitPipeline(name, config, deps, logger, learn);
  const approvals = new Approvals((result, via) => metrics.approvals.inc({ result, via }));
  // A failed fetch, or a run failing past the client's retries: back off and resume, capped like fetches.
  const retry = new OneShot(clock, () => void loop.request('retry'));
  const retryBase = deps.retryBaseMs ?? 5000;
  const reconciler = new Reconciler({
    config,
    source: o.source,
    approvals,
    leadership,
    controlPlane,
    pipeline,
    metrics,
    logger,
    redactor,
    onApplyPlan: deps.onApplyPlan,
    planControlPlane: () => known?.identity,
    retry: {
      schedule: (failures) => {
        const delay = backoffDelay(failures, retryBase, Math.max(retryBase, config.pollIntervalMs));
        retry.schedule(delay);
        return new Date(clock.now() + delay);
      },
      cancel: () => retry.cancel(),
    },
    history: await keptHistory(config.stateDir, logger),
    clock,
  });
  const loop = new ReconcileLoop(
    notifyingRun(reconciler.run, () => reconciler.status(), deps.notifier, name),
    (err) => logger.error({ err: redactor.errorMessage(err) }, 'reconcile run crashed'),
  );
  const ready = readiness(leadership, () => reconciler.ready);
  const triggers: Trigger[] = [retry];
  // Only the leader runs the loop; a follower's triggers are dropped (the leader has its own).
  const request = (reason: TriggerReason): Promise<void> =>
    leadership.isLeader() ? loop.request(reason) : Promise.resolve();
  return {
    name,
    config,
    metrics,
    leadership,
    approvals,
    backend: () => known?.backend,
    identity: () => known?.identity,
    readLive: (need) => controlPlane.read((cp) => pipeline.readLiveState(cp, need)),
    ready,
    status: () => {
      const st = { ...reconciler.status(), ready: ready() };
      const leader = leadership.status();
      return leader ? { ...st, leader } : st;
    },
    request,
    start: (address, electAfterMs = 0) => {
      triggers.push(startTimer(config.driftIntervalMs, () => void request('drift')));
      let firstRunDone = () => {};
      const firstRun = leadership.elected
        ? new Promise<void>((resolve) => (firstRunDone = resolve))
        : request('startup');
      const elect = () =>
        leadership.start(() => void loop.request('leader').then(firstRunDone), address);
      if (electAfterMs > 0) {
        const timer = setTimeout(elect, electAfterMs);
        triggers.push({ stop: async () => clearTimeout(timer) });
      } else elect();
      return firstRun;
    },
    get busy() {
      return loop.busy;
    },
    stop: async (timeoutMs) => {
      await Promise.all(triggers.map((t) => t.stop()));
      return loop.stop(timeoutMs);
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

/** An injected control plane (tests, quickstart): used as it is, never closed here. */
function injectedAccess(cp: ControlPlane): ControlPlaneAccess {
  return { use: (fn) => fn(cp), read: (fn) => fn(cp), separateReads: false, close: async () => {} };
}

/**
 * A remote API is opened once and kept; an embedded state file (`file:`) is opened per run so
 * `poolsync apply` can use it between runs.
 */
function controlPlaneAccess(
  config: DaemonConfig,
  onPace: (e: Parameters<typeof paceLine>[0]) => void,
): ControlPlaneAccess {
  const { url, token, tokenFile, apiKeyFile, environment } = config.controlPlane;
  // Opened for every run: an unchanged state is neither read again nor copied.
  const stateCache = off('state-cache') ? undefined : createEmbeddedStateCache();
  const open = async (readOnly: boolean) =>
    openControlPlane(url, {
      // An environment's token file is read again at every open (a rotated token is used from
      // the next run); it must name this control plane (resolveToken, docs/security.md).
      token: tokenFile
        ? await resolveToken(tokenFile, url, environment ?? null)
        : (token ?? undefined),
      apiKeyFile,
      // One connection per step in flight, as `apply` sizes its pool.
      http: {
        connections: Math.max(config.parallelism, 8),
        maxRetries: config.maxRetries,
        onPace,
      },
      readOnly,
      stateCache,
    });
  if (url.startsWith('file:')) {
    const opened =
      (readOnly: boolean) =>
      async <T>(fn: (cp: ControlPlane) => Promise<T>): Promise<T> => {
        const cp = await open(readOnly);
        try {
          return await fn(cp);
        } finally {
          await cp.close();
        }
      };
    return { use: opened(false), read: opened(true), separateReads: true, close: async () => {} };
  }
  let shared: Promise<ControlPlane> | null = null;
  const use = async <T>(fn: (cp: ControlPlane) => Promise<T>): Promise<T> => {
    shared ??= open(false).catch((err: unknown) => {
      shared = null;
      throw err;
    });
    return fn(await shared);
  };
  return {
    use,
    read: use,
    separateReads: false,
    close: async () => {
      if (shared) await (await shared.catch(() => null))?.close();
      shared = null;
    },
  };
}

/**
 * The real modules a run drives, wired to the unit's control plane, apply lock, inventory and
 * caches (each unit its own: the analyses and folder results of its loads, its plans).
 */
async function unitPipeline(
  environment: string | null,
  config: DaemonConfig,
  deps: UnitDeps,
  logger: Logger,
  learn: (cp: ControlPlane) => void,
): Promise<Pipeline> {
  const lockDir = deps.lockDir ?? dirname(config.stateDir);
  const election = config.leaderElection;
  // --lock: a Kubernetes Lease as the apply lock.
  const k8s = config.lock && {
    ref: config.lock,
    kubeConfig: deps.kubeConfig ?? (await import('../lease/k8s-lease.js')).loadKubeConfig(),
  };
  // The inventory of what poolsync applied (src/apply/inventory.ts): the control plane's own
  // when it keeps one, else the ConfigMap of --inventory (by default beside the Lease), else the
  // state folder apply shares (where the locks are).
  const sharedInventory = config.inventory && {
    place: config.inventory,
    kubeConfig: deps.kubeConfig,
  };
  const inventoryOf = (cp: ControlPlane) =>
    inventoryStore(cp, config.controlPlane.url, lockDir, sharedInventory);
  let warnedLock = false;
  return {
    loadRepository: repositoryLoader(
      environment,
      off('analysis') ? undefined : new AnalysisCache(),
    ),
    plans: off('plan-reuse') ? undefined : new PlanReuse(),
    readLiveState: (cp, need) => {
      learn(cp);
      return readLiveWithInventory(cp, inventoryOf(cp), need, sharedListsOf(cp));
    },
    inventoryOf,
    executePlan,
    applyLock: {
      url: config.controlPlane.url,
      stateDir: lockDir,
      k8s,
      who: `poolsync daemon${election ? ` ${election.identity}` : ''}`,
      shareWith: election
        ? `leader Lease ${election.lease.namespace}/${election.lease.name}`
        : undefined,
      ttlMs: deps.lockTtlMs || undefined,
      warn: (message) => {
        if (!warnedLock) logger.warn(message);
        warnedLock = true;
      },
    },
    ...deps.pipeline,
  };
}

/** Loads the repository (its environment's part); names the restart a new `environments:` needs. */
function repositoryLoader(
  environment: string | null,
  analyses: AnalysisCache | undefined,
): Pipeline['loadRepository'] {
  return async (dir, opts) => {
    const loaded = await loadDesired(dir, {
      ...opts,
      environment: environment ?? undefined,
      analyses,
    });
    if (environment !== null || loaded.valid) return loaded;
    // Started while the repository could not be read (environments.ts): say what to do.
    const errors = loaded.errors.map((e) =>
      /declares environments/.test(e.message)
        ? {
            ...e,
            message: `${e.message}; this daemon started before it could read them: restart it to reconcile each environment`,
          }
        : e,
    );
    return { ...loaded, errors };
  };
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

/**
 * The frozen lists of an embedded state the daemon's state cache shares from run to run
 * (the unit hands the cache to every open): readLiveState's `shared`. The embedded control
 * plane is loaded only for an embedded state, as openControlPlane loads it: a daemon of
 * another backend never pays for its modules.
 */
export function sharedListsOf(cp: ControlPlane): (() => Promise<LiveLists | null>) | undefined {
  if (cp.backend.name !== 'embedded' || off('shared-lists')) return undefined;
  return async () => {
    const { EmbeddedControlPlane } = await import('../controlplane/embedded/embedded.js');
    return cp instanceof EmbeddedControlPlane ? cp.sharedLists() : null;
  };
}
