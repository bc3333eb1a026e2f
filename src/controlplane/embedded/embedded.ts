/**
 * The embedded control plane: every rule of domain.md (state.ts) behind the ControlPlane
 * interface, in memory or persisted crash-safely (store.ts). Also the simulation hooks that
 * stand in for real clusters (C5 status reports, Q7 in-flight work).
 */
import { dirname } from 'node:path';
import { InventoryFile } from '../inventory-file.js';
import { type EmbeddedOptions, type QueueActivity, ReadOnlyState, StateStore } from './store.js';
import {
  address,
  type Assignment,
  type AssignmentKey,
  assignmentKeyString,
  type Capabilities,
  type ClusterDataPlane,
  DEFAULT_POOL,
  type ObjectKind,
  defaultQueueKeyString,
  type PoolContract,
  type QueueSpec,
} from '../../model/common.js';
import type {
  LiveAssignment,
  LiveCluster,
  LiveDefaultQueue,
  LivePool,
  LiveQueue,
} from '../../model/live.js';
import type {
  ApplyLockLease,
  ApplyLockProvider,
  ApplyLockRequest,
  AssignmentCalls,
  BackendProfile,
  CapabilityCalls,
  ClusterCalls,
  ControlPlane,
  CreateQueueRequest,
  DefaultQueueCalls,
  ExecutionClusterLabelCalls,
  InventoryCalls,
  LiveLists,
  PoolCalls,
  QueueCalls,
  RegisterClusterRequest,
} from '../types.js';
import { ControlPlaneError } from '../errors.js';
import * as core from './state.js';
import type { ExecutionClusterLabel } from '../../model/flyte.js';
import {
  validateActivity,
  validateAssignment,
  validateAssignmentKey,
  validateContract,
  validateDefaultQueueKey,
  validateExecutionClusterLabel,
  validateLabelKey,
  validateDataPlane,
  validateName,
  validateQueueSpec,
  validateQueueCreation,
  validateRegistration,
} from './validate.js';
import { deepFreeze } from '../../util/deep-freeze.js';
import { sameJson } from '../../util/same-json.js';

/** The ops that take a name only. */
type NamedOp =
  | 'delete_pool'
  | 'undelete_pool'
  | 'delete_cluster'
  | 'undelete_cluster'
  | 'drain_queue'
  | 'activate_queue'
  | 'undelete_queue';

export class EmbeddedControlPlane implements ControlPlane {
  readonly backend: BackendProfile = {
    name: 'embedded',
    // The labels' clusters are config only, so a Flyte OSS repository plans against it locally.
    configKinds: ['ExecutionCluster', 'ClusterLabel'],
  };
  // Every part: the stand-ins (src/standins/) serve default queues and labels from this store.
  readonly pools: PoolCalls = this;
  readonly clusters: ClusterCalls = this;
  readonly queues: QueueCalls = this;
  readonly assignments: AssignmentCalls = this;
  readonly defaultQueues: DefaultQueueCalls = this;
  readonly executionClusterLabels: ExecutionClusterLabelCalls = this;
  readonly capabilityCalls: CapabilityCalls = this;
  /** Served by `control-plane serve` so applies from several machines exclude each other. */
  readonly applyLock = new EmbeddedApplyLock(() => this.now());
  /** The inventory beside the state (PATH.inventory.json), in memory without a file. */
  readonly inventory: InventoryCalls = new InventoryFile(() =>
    this.path === null ? null : { root: dirname(this.path), path: `${this.path}.inventory.json` },
  );
  private closed = false;

  private constructor(
    private state: core.State,
    private readonly store: StateStore | null,
    private readonly now: () => number,
    /** Read-only (writes are refused): the state read, at open or lazily. */
    private readonly reader: ReadOnlyState | null = null,
    /** Reads shared through a state cache (EmbeddedOptions.stateCache): frozen list views. */
    private readonly shareReads = false,
  ) {}

  static async open(opts: EmbeddedOptions): Promise<EmbeddedControlPlane> {
    const contract = validateContract(
      opts.defaultPoolContract ?? core.DEFAULT_POOL_CONTRACT,
      address('ClusterPool', DEFAULT_POOL),
    );
    const init = () => core.initialState(contract, opts.capabilities ?? opts.newStateCapabilities);
    const now = opts.now ?? Date.now;
    if (opts.path === null) return new EmbeddedControlPlane(init(), null, now);
    const shareReads = opts.stateCache !== undefined;
    const accept = (state: core.State) =>
      core.checkCapabilities(opts.path!, opts.capabilities, state);
    if (opts.readOnly) {
      const reader = await ReadOnlyState.open(opts.path, init, { ...opts, accept });
      // Lazy: `init()` stands until the first read (read() below) replaces it.
      const state = opts.lazy ? init() : await reader.state();
      return new EmbeddedControlPlane(state, null, now, reader, shareReads);
    }
    const { store, state } = await StateStore.open(opts.path, init, opts);
    try {
      accept(state);
    } catch (err) {
      await store.close();
      throw err;
    }
    return new EmbeddedControlPlane(state, store, now, null, shareReads);
  }

  /** Changes the stored capabilities (journaled); turning drain off needs every queue active. */
  async setCapabilities(caps: Capabilities): Promise<Capabilities> {
    return this.write({ op: 'set_capabilities', capabilities: { ...caps } }, core.capabilities);
  }

  /** Where the state lives (null in memory). */
  get path(): string | null {
    return this.store?.path ?? this.reader?.path ?? null;
  }

  private check(): void {
    if (this.closed)
      throw new ControlPlaneError('UNAVAILABLE', 'the embedded control plane is closed');
  }

  /**
   * Applies `op` (all or nothing), takes the result view, then waits until the op is durable.
   * Not async, refusing with a rejected promise as it did: an async call's state and promise
   * were ~450 bytes of garbage a write, ~45 MB through an apply of 100,000 creates.
   */
  private write<T = void>(op: core.Op, view?: (state: core.State) => T): Promise<T> {
    let result: T;
    try {
      this.check();
      if (this.reader) {
        throw new ControlPlaneError(
          'FAILED_PRECONDITION',
          `control-plane state ${this.reader.path} was opened read-only (for a plan); open it for writing (apply) to ${op.op.replace(/_/g, ' ')}`,
        );
      }
      staleListViews(this.state, op);
      core.applyOp(this.state, op);
      result = view?.(this.state) as T;
    } catch (err) {
      return Promise.reject(err as Error);
    }
    return this.store ? this.store.append(op).then(() => result) : Promise.resolve(result);
  }

  private async read<T>(view: () => T): Promise<T> {
    this.check();
    if (this.reader) {
      const state = await this.reader.state();
      this.check(); // closed meanwhile: the state read is not taken back (close let it go)
      this.state = state;
    }
    return view();
  }

  /** One of state.ts's views (`make`), of the state as read now. */
  private view<A extends unknown[], T>(make: (state: core.State, ...args: A) => T) {
    return (...args: A): Promise<T> => this.read(() => make(this.state, ...args));
  }

  /** readLiveState's shared lists: with a state cache, frozen views, the same while the state is. */
  readonly sharedLists = this.view((s) => (this.shareReads ? sharedLists(s, this.now()) : null));

  /**
   * The same lists, whatever the open: a server answering them page by page (the Union
   * stand-in) makes them once per state written, so each page costs its size, not the state's.
   */
  readonly pagedLists = this.view((s) => sharedLists(s, this.now()));

  readonly capabilities = this.view(core.capabilities);
  readonly listPools = this.view(core.listPools);
  readonly getPool = this.view(core.getPool);
  readonly listClusters = this.view(core.listClusters);
  readonly getCluster = this.view(core.getCluster);
  readonly listQueues = this.view((s) => core.listQueues(s, this.now()));
  readonly getQueue = this.view((s, name: string) => core.getQueue(s, name, this.now()));
  readonly queueMetrics = this.view((s, name: string) => core.queueMetrics(s, name, this.now()));
  /** Capability `soft_delete`: the deleted queues, pools and clusters (names stay reserved). */
  readonly listDeletedQueues = this.view(core.listDeletedQueues);
  readonly listDeletedPools = this.view(core.listDeletedPools);
  readonly listDeletedClusters = this.view(core.listDeletedClusters);
  readonly listAssignments = this.view((s) => core.byKey(s.assignments));
  readonly listDefaultQueues = this.view((s) => core.byKey(s.default_queues));
  readonly listExecutionClusterLabels = this.view((s) => core.byKey(s.execution_cluster_labels));

  private readonly queueAt = (s: core.State, name: string) => core.getQueue(s, name, this.now());

  /** A write of one object, by name (N1 checked first); answers with `view` of it, if given. */
  private named<T = void>(
    kind: ObjectKind,
    op: NamedOp,
    view?: (state: core.State, name: string) => T,
  ) {
    return (name: string): Promise<T> =>
      this.write({ op, name: validateName(kind, name) }, view && ((s) => view(s, name)));
  }

  readonly deletePool = this.named('ClusterPool', 'delete_pool');
  readonly undeletePool = this.named('ClusterPool', 'undelete_pool', core.getPool);
  readonly deleteCluster = this.named('Cluster', 'delete_cluster');
  readonly undeleteCluster = this.named('Cluster', 'undelete_cluster', core.getCluster);
  readonly drainQueue = this.named('Queue', 'drain_queue', this.queueAt);
  readonly activateQueue = this.named('Queue', 'activate_queue', this.queueAt);
  readonly undeleteQueue = this.named('Queue', 'undelete_queue', this.queueAt);

  async createPool(name: string, contract: PoolContract): Promise<LivePool> {
    const op: core.Op = {
      op: 'create_pool',
      name: validateName('ClusterPool', name),
      contract: validateContract(contract, address('ClusterPool', String(name))),
    };
    return this.write(op, (s) => core.getPool(s, name));
  }

  /**
   * Answers nothing (ClusterCalls.registerCluster): an apply registering 20,000 clusters made
   * a view of each for nothing. Alternated pairs, 100,000 creates: CPU 0.96–0.97× (issue 79).
   */
  async registerCluster(request: RegisterClusterRequest): Promise<void> {
    await this.write(validateRegistration(request));
  }

  /** registerCluster answering the cluster as registered: the REST API's answer. */
  async registeredCluster(request: RegisterClusterRequest): Promise<LiveCluster> {
    const op = validateRegistration(request);
    return this.write(op, (s) => core.getCluster(s, op.name));
  }

  async updateCluster(name: string, update: { enabled: boolean }): Promise<LiveCluster> {
    validateName('Cluster', name);
    if (typeof update?.enabled !== 'boolean') {
      throw new ControlPlaneError(
        'INVALID_ARGUMENT',
        `only "enabled" (true or false) can be updated on a cluster (C6), got ${JSON.stringify(update)}`,
        address('Cluster', name),
        'C6',
      );
    }
    return this.write({ op: 'update_cluster', name, enabled: update.enabled }, (s) =>
      core.getCluster(s, name),
    );
  }

  /**
   * Answers nothing (QueueCalls.createQueue): a view of each of an apply's 70,000 created
   * queues, kept until its journal line was durable, cost 3–5 % of its CPU (issue 79).
   */
  async createQueue(request: CreateQueueRequest): Promise<void> {
    await this.write(validateQueueCreation(request));
  }

  /** createQueue answering the queue as created: the REST API's and Union's CreateQueue answer. */
  async createdQueue(request: CreateQueueRequest): Promise<LiveQueue> {
    const op = validateQueueCreation(request);
    return this.write(op, (s) => this.queueAt(s, op.name));
  }

  async updateQueue(name: string, spec: QueueSpec): Promise<LiveQueue> {
    const valid = validateQueueSpec(spec, validateName('Queue', name), true);
    return this.write({ op: 'update_queue', name, spec: valid, at: this.now() }, (s) =>
      this.queueAt(s, name),
    );
  }

  async deleteQueue(name: string): Promise<void> {
    await this.write({ op: 'delete_queue', name: validateName('Queue', name), at: this.now() });
  }

  async moveCluster(name: string, pool: string): Promise<LiveCluster> {
    const op: core.Op = {
      op: 'move_cluster',
      name: validateName('Cluster', name),
      pool: validateName('ClusterPool', pool),
      at: this.now(),
    };
    return this.write(op, (s) => core.getCluster(s, name));
  }

  async updatePool(name: string, contract: PoolContract): Promise<LivePool> {
    validateName('ClusterPool', name);
    const valid = validateContract(contract, address('ClusterPool', String(name)));
    return this.write({ op: 'update_pool', name, contract: valid }, (s) => core.getPool(s, name));
  }

  async setAssignment(assignment: Assignment): Promise<LiveAssignment> {
    const valid = validateAssignment(assignment);
    return this.write({ op: 'set_assignment', assignment: valid }, () => ({ ...valid }));
  }

  async deleteAssignment(key: AssignmentKey): Promise<void> {
    await this.write({ op: 'delete_assignment', key: validateAssignmentKey(key) });
  }

  async setDefaultQueue(project: string, domain: string, queue: string): Promise<LiveDefaultQueue> {
    const key = validateDefaultQueueKey(project, domain);
    const name = validateName('Queue', queue);
    return this.write({ op: 'set_default_queue', ...key, queue: name }, () => ({
      ...key,
      queue: name,
    }));
  }

  async deleteDefaultQueue(project: string, domain: string): Promise<void> {
    const key = validateDefaultQueueKey(project, domain);
    await this.write({ op: 'delete_default_queue', ...key });
  }

  async setExecutionClusterLabel(label: ExecutionClusterLabel): Promise<ExecutionClusterLabel> {
    const key = validateLabelKey(label);
    const valid = validateExecutionClusterLabel(label, key);
    return this.write({ op: 'set_execution_cluster_label', label: valid }, () => ({ ...valid }));
  }

  async deleteExecutionClusterLabel(key: AssignmentKey): Promise<void> {
    await this.write({ op: 'delete_execution_cluster_label', key: validateLabelKey(key) });
  }

  // ------------------------------------------------------------ simulation (not in ControlPlane)

  /** C5: a cluster reports the data plane it really runs with. */
  async reportClusterStatus(name: string, report: ClusterDataPlane): Promise<LiveCluster> {
    const valid = validateDataPlane(report, address('Cluster', validateName('Cluster', name)));
    return this.write({ op: 'report_cluster_status', name, report: valid }, (s) =>
      core.getCluster(s, name),
    );
  }

  /** Q7: sets a queue's in-flight work, optionally finishing linearly over `finish_over_ms`. */
  async setQueueActivity(name: string, activity: QueueActivity): Promise<void> {
    const a = validateActivity(activity, address('Queue', validateName('Queue', name)));
    await this.write({ op: 'set_queue_activity', name, ...a, at: this.now() });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.reader?.release();
    await this.store?.close();
    this.state = core.initialState(core.DEFAULT_POOL_CONTRACT); // its memory goes now
  }
}

/**
 * The lists of a state as readLiveState reads them, made once and kept until the state is
 * written: every read of an unchanged state (a daemon's drift check) gets the same frozen objects,
 * so nothing is copied per run and a caller tells an unchanged object by identity
 * (incremental/plan-reuse.ts sameObjects). After a write, a view equal to the last one under its
 * name is that same object: one queue updated is one new object, not 10,000. A write that
 * changes one object's view only (staleListViews) has that view alone made again (issue 79).
 */
interface Views {
  lists: Map<string, readonly object[]>;
  /**
   * The state was written since these lists were made: each is made again when next read,
   * whole ('all') or only the views of the names listed.
   */
  stale: Map<string, 'all' | Set<string>>;
}

const views = new WeakMap<core.State, Views>();

function shared<T extends object>(
  state: core.State,
  kind: string,
  keyOf: (item: T) => string,
  make: () => T[],
  makeOne?: (key: string) => T,
): readonly T[] {
  let v = views.get(state);
  if (!v) views.set(state, (v = { lists: new Map(), stale: new Map() }));
  const old = v.lists.get(kind) as readonly T[] | undefined;
  const stale = v.stale.get(kind);
  if (old && stale === undefined) return old;
  const list =
    (old && stale instanceof Set && makeOne ? someAgain(old, keyOf, stale, makeOne) : null) ??
    keptWhereSame(make(), keyOf, old);
  v.lists.set(kind, Object.freeze(list));
  v.stale.delete(kind);
  return list;
}

/** `list`, each view equal to the last one under its key replaced by that same object. */
function keptWhereSame<T extends object>(
  list: T[],
  keyOf: (item: T) => string,
  old: readonly T[] | undefined,
): T[] {
  const before = new Map((old ?? []).map((item) => [keyOf(item), item]));
  for (let i = 0; i < list.length; i++) {
    const was = before.get(keyOf(list[i]!));
    list[i] = was !== undefined && sameJson(was, list[i]) ? was : deepFreeze(list[i]!);
  }
  return list;
}

/** `old` with the views of `keys` made again; null when one of them is not in it (made whole). */
function someAgain<T extends object>(
  old: readonly T[],
  keyOf: (item: T) => string,
  keys: ReadonlySet<string>,
  makeOne: (key: string) => T,
): T[] | null {
  const list = old.slice();
  let found = 0;
  for (let i = 0; i < list.length; i++) {
    const key = keyOf(list[i]!);
    if (!keys.has(key)) continue;
    found++;
    const fresh = makeOne(key);
    if (!sameJson(list[i], fresh)) list[i] = deepFreeze(fresh);
  }
  return found === keys.size ? list : null;
}

const byName = (o: { name: string }) => o.name;

export function sharedLists(state: core.State, now: number): LiveLists {
  // A draining queue's state changes with time alone: those views are made anew every time.
  const timeless = !state.capabilities.drain || state.draining.size === 0;
  return {
    pools: shared(state, 'pools', byName, () => core.listPools(state)),
    clusters: shared(state, 'clusters', byName, () => core.listClusters(state)),
    queues: timeless
      ? shared(
          state,
          'queues',
          byName,
          () => core.listQueues(state, now),
          (name) => core.getQueue(state, name, now),
        )
      : core.listQueues(state, now),
    assignments: shared(state, 'assignments', assignmentKeyString, () =>
      core.byKey(state.assignments),
    ),
    defaultQueues: shared(state, 'default_queues', defaultQueueKeyString, () =>
      core.byKey(state.default_queues),
    ),
    labels: shared(state, 'labels', assignmentKeyString, () =>
      core.byKey(state.execution_cluster_labels),
    ),
    // soft_delete: without them a daemon would plan a create of a reserved name, refused forever.
    deletedQueues: shared(state, 'deleted_queues', byName, () => core.listDeletedQueues(state)),
    deletedPools: shared(state, 'deleted_pools', byName, () => core.listDeletedPools(state)),
    deletedClusters: shared(state, 'deleted_clusters', byName, () =>
      core.listDeletedClusters(state),
    ),
  };
}

/**
 * Before every write `op` to `state`: its lists are made again on the next read. A queue's
 * update keeping its pool and selector changes that queue's view alone (a cluster's
 * bound_queues and a pool's members come from selectors and pools; state.ts queueView): only it
 * is made again, the other 10,000 views kept. Any other write makes every list again.
 */
export function staleListViews(state: core.State, op: core.Op): void {
  const v = views.get(state);
  if (!v) return;
  const was = op.op === 'update_queue' ? state.queues.get(op.name) : undefined;
  const one =
    op.op === 'update_queue' &&
    was !== undefined &&
    was.spec.pool === op.spec.pool &&
    sameJson(was.spec.clusters, op.spec.clusters);
  for (const kind of v.lists.keys()) {
    if (!one || kind !== 'queues') {
      if (!one) v.stale.set(kind, 'all');
      continue;
    }
    const names = v.stale.get(kind);
    if (names === 'all') continue;
    v.stale.set(kind, (names ?? new Set()).add(op.name));
  }
}

/**
 * The embedded control plane's apply lock (ApplyLockProvider): one lease, kept in memory by the
 * process serving the control plane, so every `poolsync apply` and daemon talking to one
 * `poolsync control-plane serve` sees the same lock. Not persisted: after a restart of the
 * server the lock is free and a holder's next renewal is refused, which stops its apply from
 * starting new steps (the holder treats a refused renewal as a lost lock).
 */
const MAX_TTL_SECONDS = 3600;

export class EmbeddedApplyLock implements ApplyLockProvider {
  private held: { id: string; lease: ApplyLockLease } | null = null;

  /** The plane's clock (EmbeddedOptions.now), so a test moves a lease past its expiry. */
  constructor(private readonly now: () => number = Date.now) {}

  acquireApplyLock(request: ApplyLockRequest): Promise<ApplyLockLease> {
    const { id, holder, ttl_seconds: ttl } = request;
    const invalid = (message: string) => new ControlPlaneError('INVALID_ARGUMENT', message);
    if (typeof id !== 'string' || !/^[A-Za-z0-9_-]{16,128}$/.test(id))
      throw invalid('id must be 16 to 128 characters of A-Z, a-z, 0-9, _ or -');
    if (typeof holder !== 'string' || holder.trim() === '' || holder.length > 256)
      throw invalid('holder must be a non-empty string of at most 256 characters');
    if (!Number.isInteger(ttl) || ttl < 1 || ttl > MAX_TTL_SECONDS)
      throw invalid(`ttl_seconds must be a whole number from 1 to ${MAX_TTL_SECONDS}`);
    const now = this.now();
    const iso = (ms: number) => new Date(ms).toISOString();
    const current = this.held?.lease ?? null;
    const mine = this.held?.id === id;
    const expired = current !== null && Date.parse(current.expires_at) <= now;
    if (current !== null && !mine && !expired) {
      throw new ControlPlaneError(
        'FAILED_PRECONDITION',
        `the apply lock is held by ${current.holder} since ${current.acquired_at} (lease until ${current.expires_at}, renewed while it applies); wait for it to finish`,
      );
    }
    // The same id from another holder is the next apply of the same machine and state dir
    // taking over from a killed one (src/apply/lock.ts): a takeover, not a renewal.
    const sameHolder = mine && current?.holder === holder;
    const renewing = current !== null && sameHolder && !expired;
    const lease: ApplyLockLease = {
      holder,
      acquired_at: renewing ? current.acquired_at : iso(now),
      renewed_at: iso(now),
      expires_at: iso(now + ttl * 1000),
      taken_over_from: renewing
        ? current.taken_over_from
        : current !== null && !sameHolder
          ? current.holder
          : null,
    };
    this.held = { id, lease };
    return Promise.resolve({ ...lease });
  }

  releaseApplyLock(id: string): Promise<void> {
    if (this.held?.id === id) this.held = null;
    return Promise.resolve();
  }

  getApplyLock(): Promise<ApplyLockLease | null> {
    const lease = this.held?.lease;
    if (!lease || Date.parse(lease.expires_at) <= this.now()) return Promise.resolve(null);
    return Promise.resolve({ ...lease });
  }
}
