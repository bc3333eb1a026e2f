/**
 * The daemon's units, each one reconciled control plane with its modules, approvals,
 * reconciler, loop, timers and leadership. A daemon without environments runs one unit; with
 * `environments:` (docs/environments.md, "The daemon", read at start) one per environment, each
 * with its own credentials, lock, policy, history, metrics label, /status section, loop and
 * checkout, so a failing environment never blocks the others; with --leader-elect one Lease per
 * environment (`<lease>-<environment>`), so environments spread across replicas.
 */
import { unitPolicies } from './stages/policies.js';
import { lookupHost } from '../util/control-plane-endpoint.js';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import type { Logger } from 'pino';
import type { KubeConfig } from '@kubernetes/client-node';
import { executePlan } from '../apply/executor.js';
import { READ_PARALLELISM } from '../apply/types.js';
import { inventoryStore, readLiveWithInventory } from '../apply/inventory.js';
import { followedRepository } from '../ops/repository.js';
import { newStateUndo } from '../controlplane/embedded/store.js';
import { controlPlaneIdentity } from '../controlplane/identity.js';
import { openControlPlane, resolveToken } from '../controlplane/open.js';
import {
  backendInfo,
  type BackendInfo,
  type ControlPlane,
  type LiveLists,
} from '../controlplane/types.js';
import { cachesOff } from '../incremental/off.js';
import { AnalysisCache } from '../incremental/analysis-cache.js';
import { PlanReuse } from '../incremental/plan-reuse.js';
import { createEmbeddedStateCache } from '../incremental/state-cache.js';
import {
  type Candidacy,
  sharedCandidacy,
  type Term,
  termTimings,
} from '../lease/leader-elector.js';
import type { LiveState, SettingsNeed } from '../model/live.js';
import type { Plan, PlanControlPlane } from '../model/plan.js';
import { notifyingRun } from '../notify/daemon-hook.js';
import type { NotifyEvent } from '../notify/config.js';
import { loadDesired } from '../ops/plan-run.js';
import { backoffDelay } from '../util/backoff.js';
import { type Clock, SYSTEM_CLOCK } from '../util/clock.js';
import { paceLine } from '../util/pacer.js';
import { Redactor } from '../util/redact.js';
import { Approvals, UnitPolicyApprovals } from './approvals.js';
import { Freeze } from './freeze.js';
import { Rollback, type RollbackPin } from './rollback.js';
import { withSharedHistory } from './shared-history.js';
import { rollbackWords } from '../render/daemon-words.js';
import type { DaemonConfig } from './config.js';
import {
  cleanBeside,
  FolderSource,
  GitSource,
  type Source,
  type SourceSnapshot,
} from './git-source.js';
import { electedLeadership, followerOf, readiness, soleLeadership } from './leader.js';
import { leaderStatus } from './http.js';
import { DaemonMetrics } from './metrics.js';
import { reachedCommit, type RunResult } from './run-result.js';
import { Reconciler } from './reconcile.js';
import type { ControlPlaneAccess, Pipeline, ReconcilerOptions } from './stages/context.js';
import {
  type DaemonStatus,
  findKeptRun,
  initialStatus,
  keptHistory,
  listedProblems,
  missingRun,
  type RunRecord,
  type StatusError,
  totalOf,
} from './status.js';
import { OneShot, ReconcileLoop, startTimer, type Trigger, type TriggerReason } from './loop.js';
import { makeFolders } from '../util/safe-file.js';
import { readRepoConfig } from '../manifests/config.js';
import { mergePolicy, mergeRepository } from './stages/merged-rules.js';
import {
  environmentCredentials,
  namedSettings,
  settingPlaces,
  type SettingPlaces,
} from '../manifests/environments.js';
import type { DesiredState, Environment, RepoConfig } from '../model/desired.js';
import { UserError } from '../util/user-error.js';
import type { Env } from '../util/env.js';

export interface UnitDeps extends Pick<ReconcilerOptions, 'logger' | 'onApplyPlan'> {
  /** A control plane to use instead of opening the unit's URL (tests, quickstart). */
  controlPlane?: ControlPlane;
  /** Replace parts of the pipeline (tests); the rest are the real modules. */
  pipeline?: Partial<Pipeline>;
  /** First retry delay after a failed fetch or run (doubles up to the poll interval). */
  retryBaseMs?: number;
  /** Where the apply lock lives for http(s) control planes: the daemon's state dir's parent. */
  lockDir?: string;
  /** For --leader-elect / --lock (default: in-cluster or `env`'s KUBECONFIG). */
  kubeConfig?: KubeConfig;
  /** The CLI's `Io.env`: credentials, KUBECONFIG, POD_IP, forges' settings, POOLSYNC_CACHE_OFF. */
  env: Env;
  notifier?: { notify(event: NotifyEvent, term?: AbortSignal): void };
  /** After each run, with the unit's /status (the quickstart's terminal, src/daemon/terminal.ts). */
  onRun?: (status: DaemonStatus, environment: string | null) => void;
  /** With several Leases (environments): how their candidates take turns. */
  candidacy?: Candidacy;
  /** The retry timer's waits and the runs' times (default: the machine's). */
  clock?: Clock;
}

export type Unit = Awaited<ReturnType<typeof startUnit>>;

/**
 * The words of an environment unit's errors and logs: its settings named as the CLI names them
 * (`environments.NAME.controlPlane (poolsync.yaml:LINE)`), never the daemon's flags, which did
 * not give them; every error the daemon says goes through its redactor.
 */
class SettingsNamed extends Redactor {
  constructor(
    private readonly daemon: Redactor,
    private readonly places: SettingPlaces,
  ) {
    super([]);
  }

  override scrub(text: string): string {
    return namedSettings(this.daemon.scrub(text), this.places);
  }

  override scrubSecrets(text: string): string {
    return this.daemon.scrubSecrets(text);
  }
}

/** A unit of an environment opens its control plane on its first run; the one unit at start, failing there. */
async function startUnit(
  name: string | null,
  config: DaemonConfig,
  source: Source,
  metrics: DaemonMetrics,
  daemonRedactor: Redactor,
  deps: UnitDeps,
) {
  const { settings } = config.controlPlane;
  const redactor = settings ? new SettingsNamed(daemonRedactor, settings) : daemonRedactor;
  const logger = name === null ? deps.logger : deps.logger.child({ environment: name });
  const clock = deps.clock ?? SYSTEM_CLOCK;
  // Aborted by a shutdown that finds no apply running: every control-plane call ends at once.
  const shutdown = new AbortController();
  const controlPlane = controlPlaneAccess(
    config,
    // A server that throttles: logged as the apply prints it (util/pacer.ts).
    (e) => logger[e.throttled ? 'warn' : 'info']({ pace: e }, paceLine(e)),
    deps.controlPlane,
    deps.env,
    shutdown.signal,
  );
  // Known at start, or from the first run that opened the control plane.
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
  if (name === null) await opened;
  else
    await opened.catch((err: unknown) =>
      logger.error(
        { err: redactor.errorMessage(err) },
        'cannot open the control plane: this environment retries on its own, the others go on',
      ),
    );
  const leadership = config.leaderElection
    ? electedLeadership(config.leaderElection, { ...deps, logger, metrics, limits: config.limits })
    : soleLeadership();
  if (!config.leaderElection) metrics.leader.set(1);
  const pipeline = await unitPipeline(name, config, deps, logger, learn, shutdown.signal);
  const approvals = new Approvals(
    (result, via, rule) => {
      metrics.approvals.inc({ result, via });
      if (rule) metrics.approverRefusals.inc({ action: 'approve', rule });
    },
    {
      environment: name,
      fromRepository: true,
    },
  );
  // docs/policies.md: checked for the unit's runs and its pull requests' plans alike.
  const policies = unitPolicies(config, deps.env, source);
  const policyApprovals = new UnitPolicyApprovals();
  const freeze = await Freeze.open(config.syncWindows, clock, config.stateDir, (err) =>
    logger.warn({ err }, 'the suspension did not read: applies stay suspended until resumed'),
  );
  metrics.frozenProbe = () => freeze.why() !== null;
  // With a Lease, beside it (`<lease>-rollback`, `<lease>-history`), so a replica that takes
  // over holds the rollback and the run history too.
  const lease = config.leaderElection?.lease ?? config.lock;
  const beside =
    lease &&
    (await import('../lease/k8s-lease.js').then(
      ({ ConfigMapValue, loadKubeConfig }) =>
        (suffix: string, key: string, what: string) =>
          new ConfigMapValue(
            deps.kubeConfig ?? loadKubeConfig(deps.env, config.limits),
            { namespace: lease.namespace, name: `${lease.name}-${suffix}` },
            key,
            what,
            clock,
          ),
    ));
  const shared =
    beside &&
    beside(
      'rollback',
      'rollback.json',
      'the rollback in force of a poolsync daemon, read by every replica (docs/daemon.md#rollback)',
    );
  const { rollback, unread, unshared } = await Rollback.open(clock, config.stateDir, shared);
  if (unshared !== null)
    logger.warn({ err: unshared }, 'cannot read the shared rollback: each run tries again');
  metrics.rolledBackProbe = () => rollback.current !== null;
  if (unread !== null) {
    // What it held may have been a rollback: the branch head is not applied until a person says.
    logger.warn({ err: unread }, 'the rollback did not read: applies stay suspended until resumed');
    await freeze.suspend('poolsync', 'rollback.json could not be read');
  }
  // What a stopped process or an earlier build left beside the checkout (docs/daemon.md).
  await cleanBeside(source, logger, redactor);
  // A failed fetch, or a run failing past the client's retries: back off and resume, capped like fetches.
  const retry = new OneShot(clock, () => void loop.request('retry'));
  const retryBase = deps.retryBaseMs ?? 5000;
  const reconciler = new Reconciler({
    config,
    source,
    approvals,
    leadership,
    controlPlane,
    pipeline,
    metrics,
    logger,
    redactor,
    onApplyPlan: deps.onApplyPlan,
    planControlPlane: () => known?.identity,
    policies,
    policyApprovals,
    retry: {
      schedule: (failures) => {
        const delay = backoffDelay(failures, retryBase, Math.max(retryBase, config.pollIntervalMs));
        retry.schedule(delay);
        return new Date(clock.now() + delay);
      },
      cancel: () => retry.cancel(),
    },
    history: await keptHistory(config.stateDir, (err) =>
      logger.warn({ err }, 'the run history is not readable: starting a new one'),
    ).then((local) =>
      beside
        ? withSharedHistory(
            local,
            beside(
              'history',
              'history.json',
              'the run history of a poolsync daemon, compact, merged by each new leader (docs/daemon.md#rollback)',
            ),
            config.historyLimit,
            () => ({ maxAgeMs: config.historyMaxAgeMs ?? 0, now: clock.now() }),
          )
        : local,
    ),
    freeze,
    rollback,
    clock,
  });
  // What the kept runs held (oldest first): approving one of those is stale, not a typo.
  approvals.rememberHeld(
    reconciler
      .status()
      .runs.flatMap((r) => r.heldFingerprint ?? [])
      .reverse(),
  );
  const notified = notifyingRun(reconciler.run, () => reconciler.runView(), deps.notifier, name);
  const ready = readiness(leadership, () => reconciler.ready);
  const status = (): DaemonStatus => {
    const pin = rollback.current;
    const st = {
      ...reconciler.status(),
      ready: ready(),
      freeze: freeze.status(),
      rollback: pin && { ...pin, why: rollbackWords.holding(pin) },
    };
    const leader = leadership.status();
    return leader ? { ...st, leader } : st;
  };
  const loop = new ReconcileLoop(
    // A run asked for in a term that has ended since is not made: it could write nothing. A
    // new term's first run waits the takeover wait (termTimings).
    async (reasons, signal, requestedAt) => {
      const term = leadership.term;
      await term.writable;
      if (term.signal.aborted) return;
      await notified(term.signal, reasons, signal, requestedAt);
      deps.onRun?.(status(), name);
    },
    (err) => logger.error({ err: redactor.errorMessage(err) }, 'reconcile run crashed'),
  );
  const triggers: Trigger[] = [retry];
  // Only the leader runs the loop; a follower's triggers are dropped (the leader has its own).
  // One that may bring a new head stops an apply of an older one that it supersedes.
  const heard = (reason: TriggerReason): Promise<void> => {
    if (NEW_HEAD.has(reason)) void reconciler.supersede();
    return loop.request(reason);
  };
  const request = (reason: TriggerReason): Promise<void> =>
    leadership.isLeader() ? heard(reason) : Promise.resolve();
  // `request`, resolving to the run it made: null when none was (a follower, a term that ended).
  const requestRun = async (reason: TriggerReason): Promise<RunRecord | null> => {
    if (!leadership.isLeader()) return null;
    // Each run replaces the record: the same one after the wait is no new run.
    const before = reconciler.lastRun;
    await heard(reason);
    const after = reconciler.lastRun;
    return after !== before ? after : null;
  };
  return {
    name,
    config,
    metrics,
    leadership,
    approvals,
    policyApprovals,
    /**
     * A pull request's plan checked by the followed branch's policies and the last applied
     * commit's, as its merged run will be (stages/policies.ts).
     */
    checkPolicies: (plan: Plan, desired: DesiredState, head: string | null) =>
      policies.pullRequest(plan, desired, head, reconciler.status().appliedCommit),
    /** The policy a merge of a pull request whose poolsync.yaml is `repo`'s will hold by. */
    mergePolicy: (repo: RepoConfig) =>
      mergePolicy({ config, source, redactor, logger }, repo, reconciler.status().appliedCommit),
    /** The repository identity a pull request's plan keeps: the followed branch's, as last applied. */
    mergeRepository: () =>
      mergeRepository({ config, source, redactor, logger }, reconciler.status().appliedCommit),
    freeze,
    backend: () => known?.backend,
    identity: () => known?.identity,
    /** A call on the control plane between (or after) the runs' own: for writing, or reading. */
    controlPlaneCall: <T>(write: boolean, fn: (cp: ControlPlane) => Promise<T>): Promise<T> =>
      write ? controlPlane.use(fn) : controlPlane.read(fn),
    /** Read as a run reads it (pull-request plans, approvals). */
    readLive: (need?: SettingsNeed): Promise<LiveState> =>
      controlPlane.read((cp) => pipeline.readLiveState(cp, need)),
    ready,
    objects: () => reconciler.objects,
    rollback,
    /**
     * Plans and applies the commit of kept run `run` (as any run: policy, approvals, freeze) and
     * keeps doing so until the branch moves or `poolsync resume`; `done`: that first run ended,
     * with why it refused the rollback (its plan had errors: reconcile.ts), else null.
     */
    rollbackTo: async (
      run: number,
      by: string,
      reason: string | null,
    ): Promise<{ pin: RollbackPin; done: Promise<string | null> } | string> => {
      const { runs, lastRun } = reconciler.status();
      const kept = findKeptRun(runs, run);
      if (!source.at || !source.reach) return rollbackWords.watchedFolder;
      if (!kept) return rollbackWords.noRun(run, missingRun(runs, run, lastRun?.id));
      if (!reachedCommit(kept.result)) return rollbackWords.notDeployed(run, kept.result);
      if (kept.commit === null || !/^[0-9a-f]{40}([0-9a-f]{24})?$/.test(kept.commit))
        return rollbackWords.noCommit(run);
      // A commit the clone lacks and the remote no longer serves is refused before anything
      // holds; it is checked out by the run (one at a time), never under a run reading it.
      const readable = await source.reach(kept.commit).then(
        () => null,
        (err: unknown) => redactor.errorMessage(err),
      );
      if (readable !== null) return readable;
      // Not kept (the state folder, the shared ConfigMap refused it): nothing holds, say why.
      const pin = await rollback
        .hold({ run, commit: kept.commit, branchHead: null, by, reason })
        .catch((err: unknown) => redactor.errorMessage(err));
      if (typeof pin === 'string') return pin;
      // The branch head is not known before its first run fetches, which logs it (fetchStage).
      const { branchHead: _unknown, ...held } = pin;
      logger.warn({ rollback: held }, rollbackWords.held(run));
      return { pin, done: request('rollback').then(() => rollback.refusalOf(pin)) };
    },
    status,
    request,
    requestRun,
    /**
     * Starts the drift timer and the election (after `electAfterMs`: a replica's Leases are tried
     * one after the other); resolves on the first run (with --leader-elect: once leading).
     */
    start: (address: string | null, electAfterMs = 0): Promise<void> => {
      triggers.push(startTimer(config.driftIntervalMs, () => void request('drift')));
      let firstRunDone = () => {};
      const firstRun = config.leaderElection
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
    /** Null when the running run finished in time, else the phase it was cut off in. */
    stop: async (timeoutMs: number): Promise<string | null> => {
      await Promise.all(triggers.map((t) => t.stop()));
      const stopped = loop.stop(timeoutMs);
      // Before its apply a run's calls and retries end now; an apply's running steps finish
      // (docs/daemon.md#shutdown).
      if (!reconciler.applying) shutdown.abort(new Error('the daemon is shutting down'));
      if (await stopped) return null;
      return reconciler.status().running?.phase ?? 'record';
    },
    close: async () => {
      // A leader gives the lease up so another replica takes over at once.
      await leadership
        .stop()
        .catch((err: unknown) =>
          logger.warn({ err: redactor.errorMessage(err) }, 'could not release the leader lease'),
        );
      await controlPlane.close().catch(() => {});
      // A run cut off at stop may still read them: the next start removes them then.
      if (!loop.busy) await cleanBeside(source, logger, redactor);
    },
  };
}

/**
 * A remote API is opened once, and once per leadership term (closed when it ends); an embedded
 * state per run (ControlPlaneAccess); an injected control plane is used as is, never closed here.
 */
function controlPlaneAccess(
  config: DaemonConfig,
  onPace: (e: Parameters<typeof paceLine>[0]) => void,
  injected: ControlPlane | undefined,
  env: Env,
  shutdown: AbortSignal,
): ControlPlaneAccess {
  if (injected) {
    const given = <T>(fn: (cp: ControlPlane) => Promise<T>, term?: Term) => {
      term?.signal.throwIfAborted();
      return fn(injected);
    };
    return { use: given, read: given, separateReads: false, close: async () => {} };
  }
  const { url, token, tokenFile, tokenFileSetting, apiKeyFile, environment } = config.controlPlane;
  // Opened for every run: an unchanged state is neither read again nor copied.
  const stateCache = cachesOff(env)('state-cache') ? undefined : createEmbeddedStateCache();
  const open = async (readOnly: boolean, signal?: AbortSignal) =>
    openControlPlane(url, {
      // An environment's token file is read again at every open (a rotated token is used from
      // the next run); it must name this control plane (resolveToken, docs/security.md).
      token: tokenFile
        ? await resolveToken(tokenFile, url, environment ?? null, env, tokenFileSetting)
        : (token ?? undefined),
      apiKeyFile,
      env,
      // Reads at read width, the steps --parallelism at a time, as `apply` sizes its pool.
      http: {
        connections: Math.max(config.parallelism, READ_PARALLELISM),
        maxRetries: config.maxRetries,
        limits: config.limits,
        onPace,
        signal,
      },
      readOnly,
      stateCache,
    });
  if (url.startsWith('file:')) {
    const opened =
      (readOnly: boolean) =>
      async <T>(fn: (cp: ControlPlane) => Promise<T>, term?: Term): Promise<T> => {
        term?.signal.throwIfAborted();
        const cp = await open(readOnly);
        try {
          return await fn(cp);
        } finally {
          await cp.close();
        }
      };
    // One writer at a time in this process too (the runs', and calls beside them): the state's
    // lock refuses a second holder in the same process rather than waiting.
    let writing: Promise<unknown> = Promise.resolve();
    const use = <T>(fn: (cp: ControlPlane) => Promise<T>, term?: Term): Promise<T> => {
      const next = writing.then(() => opened(false)(fn, term));
      writing = next.catch(() => {});
      return next;
    };
    return { use, read: opened(true), separateReads: true, close: async () => {} };
  }
  // One client outside terms (pull-request plans, approvals; a daemon without election), and
  // one per term until it ends.
  const clients = new Map<string | null, Promise<ControlPlane>>();
  const closeClient = async (id: string | null) => {
    const cp = clients.get(id);
    clients.delete(id);
    await (await cp?.catch(() => null))?.close();
  };
  const use = async <T>(fn: (cp: ControlPlane) => Promise<T>, term?: Term) => {
    term?.signal.throwIfAborted();
    const id = term?.id ?? null;
    // Refused credentials are sent no more by that client: a new one reads the key again and
    // asks again, so one refusal does not fail every later run (docs/union.md).
    const held = clients.get(id);
    if ((await held?.catch(() => null))?.credentialsRefused?.() && clients.get(id) === held)
      void closeClient(id);
    term?.signal.throwIfAborted();
    let cp = clients.get(id);
    if (!cp) {
      cp = open(false, id === null ? shutdown : AbortSignal.any([term!.signal, shutdown]));
      clients.set(id, cp);
      cp.catch(() => clients.delete(id));
      if (id !== null) term!.signal.addEventListener('abort', () => void closeClient(id));
    }
    return fn(await cp);
  };
  return {
    use,
    read: use,
    separateReads: false,
    close: async () => {
      await Promise.all([...clients.keys()].map(closeClient));
    },
  };
}

/** The real modules a run drives, wired to the unit's control plane, lock, inventory, caches. */
async function unitPipeline(
  environment: string | null,
  config: DaemonConfig,
  deps: UnitDeps,
  logger: Logger,
  learn: (cp: ControlPlane) => void,
  shutdown: AbortSignal,
): Promise<Pipeline> {
  const lockDir = deps.lockDir ?? dirname(config.stateDir);
  const election = config.leaderElection;
  const timings = election && termTimings(election);
  const k8s = config.lock && {
    ref: config.lock,
    kubeConfig:
      deps.kubeConfig ??
      (await import('../lease/k8s-lease.js')).loadKubeConfig(deps.env, config.limits),
  };
  // The inventory of what poolsync applied (src/apply/inventory.ts): the control plane's own
  // when it keeps one, else the ConfigMap of --inventory (by default beside the Lease), else the
  // state folder apply shares (where the locks are).
  const shared = config.inventory && { place: config.inventory, kubeConfig: deps.kubeConfig };
  const inventoryOf = (cp: ControlPlane, signal?: AbortSignal) =>
    inventoryStore(cp, config.controlPlane.url, {
      stateDir: lockDir,
      shared,
      env: deps.env,
      signal,
      limits: config.limits,
    });
  let warnedLock = false;
  const off = cachesOff(deps.env);
  const analyses = off('analysis') ? undefined : new AnalysisCache(!off('folder'), !off('recheck'));
  // Environments reaching one control plane under two names are refused (manifests/environments.ts).
  const resolveHost = environment !== null ? lookupHost() : undefined;
  return {
    ...(await followedRepository(config.source)),
    loadRepository: async (dir, opts) => {
      const loaded = await loadDesired(dir, {
        ...opts,
        environment: environment ?? undefined,
        analyses,
        resolveHost,
      });
      if (environment !== null || loaded.valid) return loaded;
      // Started while the repository could not be read (discoverEnvironments): say what to do.
      const errors = loaded.errors.map((e) =>
        /declares environments/.test(e.message)
          ? {
              ...e,
              message: `${e.message}; this daemon started before it could read them: restart it to reconcile each environment`,
            }
          : e,
      );
      return { ...loaded, errors };
    },
    plans: off('plan-reuse') ? undefined : new PlanReuse({ slices: !off('plan-slice') }),
    reloadEveryRun: off('loaded'),
    readLiveState: (cp, need, before) => {
      learn(cp);
      const lists = off('shared-lists') ? undefined : sharedListsOf(cp);
      return readLiveWithInventory(cp, inventoryOf(cp, shutdown), need, lists, before);
    },
    inventoryOf,
    executePlan,
    applyLock: {
      url: config.controlPlane.url,
      stateDir: lockDir,
      k8s,
      who: `poolsync daemon${election ? ` ${election.identity}` : ''}`,
      // A term's lock lapses within the longest call, before the next term can start (without
      // election: the lock's default TTL, 30 s, renewed every third).
      ttlMs: timings && 'longestCallMs' in timings ? timings.longestCallMs : undefined,
      warn: (message) => {
        if (!warnedLock) logger.warn(message);
        warnedLock = true;
      },
    },
    ...deps.pipeline,
  };
}

/**
 * The frozen lists of an embedded state the state cache shares from run to run (readLiveState's
 * `shared`). Imported only for an embedded state: another backend never pays for its modules.
 */
export function sharedListsOf(cp: ControlPlane): (() => Promise<LiveLists | null>) | undefined {
  if (cp.backend.name !== 'embedded') return undefined;
  return async () => {
    const { EmbeddedControlPlane } = await import('../controlplane/embedded/embedded.js');
    return cp instanceof EmbeddedControlPlane ? cp.sharedLists() : null;
  };
}

/**
 * The repository's environments, read at start; null without `environments:` (or unreadable
 * yet: the daemon then runs one control plane, whose first run takes this failure; under
 * --once that run is all there is, so nothing is said of a restart). A fetch a shutdown
 * stopped (`stopped`) failed no read: nothing is said.
 */
async function discoverEnvironments(
  source: Source,
  logger: Logger,
  once: boolean,
  stopped: AbortSignal | undefined,
): Promise<{ snapshot: SourceSnapshot; environments: Environment[] } | null> {
  const snapshot = await source.sync('start').catch((err: unknown) => {
    if (stopped?.aborted) return null;
    const restart = once
      ? ''
      : ': reconciling it as one control plane (a repository with environments: needs a restart once it can be read)';
    logger.warn(
      { err: err instanceof Error ? err.message : String(err) },
      `cannot read the repository at start${restart}`,
    );
    return null;
  });
  if (snapshot === null) return null;
  const read = await readRepoConfig(snapshot.dir).catch(() => null);
  const environments = read?.errors.length === 0 ? read.config.environments : undefined;
  return environments ? { snapshot, environments } : null;
}

/**
 * The configuration as one environment sees it. A relative `file:` control plane is kept in the
 * watched folder (as the CLI keeps it), or the state folder with Git (fetches clean a checkout).
 * `undoNewStates` gains what removes that state again if it is new (newStateUndo).
 */
export async function environmentDaemonConfig(
  config: DaemonConfig,
  dir: string,
  env: Environment,
  vars: Env,
  undoNewStates: (() => Promise<void>)[],
): Promise<DaemonConfig> {
  const credentials = environmentCredentials(dir, env, vars);
  const { from, tokenFile } = credentials;
  const settings = await settingPlaces(dir, env.name, { from, tokenFile });
  if (config.commitRendered)
    throw new UserError(
      '--commit-rendered commits the files of one control plane; with environments: in poolsync.yaml leave it off (render each environment with `poolsync render --env NAME`)',
    );
  const m = /^file:([^?]*)(\?.*)?$/.exec(env.controlPlane);
  const filesDir = config.source.kind === 'watch' ? dir : config.stateDir;
  const path = m ? (isAbsolute(m[1]!) ? m[1]! : resolve(filesDir, m[1]!)) : null;
  // Taken before its folder or state is made: a start that fails leaves neither.
  if (path !== null) undoNewStates.push(await newStateUndo(path));
  // The daemon's own state folder: its folders are the daemon's to make, 0700 as the state folder.
  const stateDir = join(config.stateDir, 'environments', env.name);
  await makeFolders(stateDir, 0o700).catch((err: unknown) => {
    throw new UserError(
      `environment ${env.name}: cannot make its folder ${stateDir} (${(err as Error).message}): remove what is in the way, or give the daemon another --state-dir`,
    );
  });
  if (path !== null && !isAbsolute(m![1]!) && filesDir === config.stateDir)
    await makeFolders(dirname(path), 0o700).catch((err: unknown) => {
      throw new UserError(
        `environment ${env.name}: cannot make the folder of its control-plane state ${path} (${(err as Error).message}): remove what is in the way, or name another path in poolsync.yaml`,
      );
    });
  const url = path !== null ? `file:${path}${m![2] ?? ''}` : env.controlPlane;
  const suffixed = <T extends { name: string }>(lease: T): T => ({
    ...lease,
    name: `${lease.name}-${env.name}`,
  });
  return {
    ...config,
    controlPlane: {
      url,
      environment: env.name,
      // Only the environment's own credentials: a daemon-wide token never goes to another host.
      token: null,
      tokenFile: credentials.tokenFile,
      apiKeyFile: credentials.apiKeyFile,
      settings,
    },
    policy: env.policy ?? config.policy,
    defaultPolicy: config.policy,
    driftIntervalMs: env.driftIntervalMs ?? config.driftIntervalMs,
    stateDir,
    lock: config.lock ? suffixed(config.lock) : null,
    leaderElection: config.leaderElection
      ? { ...config.leaderElection, lease: suffixed(config.leaderElection.lease) }
      : null,
  };
}

/** The triggers that may bring a new head of the branch (docs/daemon.md#triggers). */
const NEW_HEAD: ReadonlySet<TriggerReason> = new Set(['poll', 'webhook', 'manual', 'override']);

const WORST_FIRST: RunResult[] = [
  'failed',
  'invalid',
  'waiting_for_approval',
  'frozen',
  'stopped',
  'superseded',
  'planned',
  'left_unpruned',
  'applied',
  'in_sync',
  'unchanged',
];

/**
 * Each environment's /status section as the replica leading it says (its `/status?local=1`, no
 * credential sent), so any replica shows every environment's runs; else as seen here.
 */
export async function sectionsFromLeaders(
  units: readonly Unit[],
  timeoutMs: number,
): Promise<Record<string, DaemonStatus>> {
  const sections = await Promise.all(
    units.map(async (u): Promise<[string, DaemonStatus]> => {
      const own = u.status();
      const follower = followerOf(u.leadership, u.config);
      const leader = await leaderStatus<DaemonStatus>(follower, timeoutMs, '/status?local=1');
      const section = leader?.status.environments?.[u.name!];
      return [u.name!, section?.leader?.isLeader ? section : own];
    }),
  );
  return Object.fromEntries(sections);
}

/**
 * /status with environments: each one's document under `environments`, and at the top what
 * holds for all: ready when every one is, the worst outcome, the newest run, every error.
 */
export function environmentsStatus(
  units: readonly Unit[],
  source: Record<string, string>,
  config: DaemonConfig,
  environments = Object.fromEntries(units.map((u) => [u.name!, u.status()])),
): DaemonStatus {
  const all = Object.values(environments);
  const outcomes = all.map((s) => s.outcome).filter((o): o is RunResult => o !== null);
  const worst = WORST_FIRST.find((r) => outcomes.includes(r)) ?? null;
  // By finish time, shown only: the environments' histories and terms share no order.
  const newest = all
    .map((s) => s.lastRun)
    .filter((r) => r !== null)
    .sort((a, b) => b.finishedAt.localeCompare(a.finishedAt))[0];
  const errors: StatusError[] = Object.entries(environments).flatMap(([name, s]) =>
    s.errors.map((e) => ({ ...e, environment: name })),
  );
  const errorsTotal = all.reduce((n, s) => n + totalOf(s.errors, s.errorsTotal), 0);
  const successes = all.map((s) => s.lastSuccessAt);
  const commits = new Set(all.map((s) => s.commit));
  const failing = all.find((s) => s.git.lastError !== null);
  const frozen = Object.entries(environments).filter(([, s]) => s.freeze.frozen);
  return {
    ...initialStatus(source, config.policy),
    ready: all.every((s) => s.ready),
    commit: commits.size === 1 ? (all[0]?.commit ?? null) : null,
    lastRun: newest ?? null,
    outcome: worst,
    lastSuccessAt: successes.includes(null) ? null : (successes.sort()[0] ?? null),
    git: failing?.git ?? all[0]!.git,
    ...listedProblems({ errors, errorsTotal }),
    // Frozen when every environment is; `why` names each one that is.
    freeze: {
      frozen: frozen.length === all.length,
      why: frozen.length === 0 ? null : frozen.map(([n, s]) => `${n}: ${s.freeze.why}`).join('; '),
      suspended: null,
      windows: all[0]?.freeze.windows ?? [],
    },
    environments,
  };
}

/**
 * A start that fails removes the environments' embedded states it made. `stopped`: a shutdown
 * asked while starting (daemon.ts).
 */
export async function startUnits(
  config: DaemonConfig,
  source: Source,
  deps: UnitDeps,
  metrics: DaemonMetrics,
  redactor: Redactor,
  stopped?: AbortSignal,
): Promise<Unit[]> {
  const found = await discoverEnvironments(source, deps.logger, config.once, stopped);
  const lockDir = deps.lockDir ?? dirname(config.stateDir);
  if (found === null) {
    const unit = await startUnit(null, config, source, metrics, redactor, { ...deps, lockDir });
    // The one control plane's new state is the command's to undo (newStateUndo in its start).
    return [unit];
  }
  // Each environment has checkouts of its own: what a start without environments left goes.
  await cleanBeside(source, deps.logger, redactor);
  const units: Unit[] = [];
  // A start that fails (an environment refused) leaves no embedded state it made.
  const undos: (() => Promise<void>)[] = [];
  // The last made first: a folder made for the first state holds the later ones until then.
  const undoNewStates = async () => {
    for (const undo of undos.splice(0).reverse()) await undo();
  };
  const election = config.leaderElection;
  // A replica leading some environments leaves a free Lease to one leading fewer.
  const leading = () => units.filter((u) => u.leadership.isLeader()).length;
  const candidacy = election ? sharedCandidacy(leading, election.leaseDurationMs) : undefined;
  try {
    for (const env of found.environments) {
      const envConfig = await environmentDaemonConfig(
        config,
        found.snapshot.dir,
        env,
        deps.env,
        undos,
      );
      const envMetrics = new DaemonMetrics({ processMetrics: false, environment: env.name });
      // Each environment opens its own control plane: an injected one is never shared.
      const unitDeps = { ...deps, controlPlane: undefined, lockDir, candidacy };
      // One fetch for every environment of the repository: each reads its own worktree.
      const envSource =
        source instanceof GitSource
          ? source.environment(join(envConfig.stateDir, 'checkout'))
          : sourceOf(envConfig, deps.env);
      const unit = await startUnit(env.name, envConfig, envSource, envMetrics, redactor, unitDeps);
      envMetrics.readyProbe = unit.ready;
      units.push(unit);
    }
  } catch (err) {
    for (const u of units) await u.close();
    await undoNewStates();
    throw err;
  }
  metrics.environments = units.map((u) => u.metrics);
  deps.logger.info(
    { environments: units.map((u) => u.name) },
    `reconciling ${units.length} environments`,
  );
  return units;
}

export function sourceOf(config: DaemonConfig, env: Env): Source {
  const checkoutDir = join(config.stateDir, 'checkout');
  return config.source.kind === 'git'
    ? new GitSource({ ...config.source, checkoutDir, env })
    : new FolderSource(config.source.dir);
}
