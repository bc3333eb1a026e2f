/**
 * One control-plane call per step, made idempotent: a re-run after a crash (or after a
 * transient failure whose call did land) finds some work done and must neither do it twice nor
 * fail on it.
 */
import { partOf, type ControlPlane } from '../controlplane/types.js';
import { isControlPlaneError } from '../controlplane/errors.js';
import {
  at,
  type ClusterDataPlane,
  DATA_PLANE_FIELDS,
  type PoolContract,
  QUEUE_CAP_FIELDS,
  QUEUE_SPEC_FIELDS,
  type QueueSpec,
  pick,
  sameContract,
} from '../model/common.js';
import { reportedDataPlane } from '../model/capabilities.js';
import type { LiveCluster, LiveQueue } from '../model/live.js';
import { sameJson } from '../util/same-json.js';
import type { Change, Plan, Step } from '../model/plan.js';
import type { StepError } from './types.js';

/** A step's work was found already done; the note says how. */
export interface StepOutcome {
  note: string | null;
}

/** The live object is not what the step would have made: stop instead of guessing. */
export class StepConflictError extends Error {
  override readonly name = 'StepConflictError';
}

/**
 * The object a step writes is not the one the plan showed: another client's under the same name,
 * never poolsync's again (inventory.ts notOursBy).
 */
export class NotTheShownOneError extends StepConflictError {
  constructor(
    message: string,
    /** What makes it another object: a cluster's pool is fixed (C7), a queue's (Q3), a pool's contract (P4). */
    readonly rule: (typeof NOT_THE_SHOWN_ONE)[number],
  ) {
    super(message);
  }
}

/** The rules a NotTheShownOneError cites: with CONFLICT, they mark it in an apply's result. */
const NOT_THE_SHOWN_ONE = ['C7', 'Q3', 'P4'] as const;
const notShownRules: ReadonlySet<string | null> = new Set(NOT_THE_SHOWN_ONE);

/** Whether a step failed with a NotTheShownOneError (a create's CONFLICT has no rule). */
export const isNotTheShownOne = (error: StepError | null): boolean =>
  error?.code === 'CONFLICT' && notShownRules.has(error.rule);

const DONE: StepOutcome = { note: null };
const toDone = () => DONE;
// `then`, not async functions: a call's state and promise fewer for each of 100,000 steps.
const done = (call: Promise<unknown>): Promise<StepOutcome> => call.then(toDone);

// Queue writes are read-modify-writes of the plan's changes (queueWrites), not a call alone.
type CallStep = Exclude<Step, { op: 'wait_idle' | 'wait_drained' | QueueWrite['op'] }>;
type StepOf<K extends Step['op']> = Extract<Step, { op: K }>;
type QueueWrite = StepOf<'update_queue' | 'move_queue'>;
type Call<K extends CallStep['op']> = (cp: ControlPlane, step: StepOf<K>) => Promise<StepOutcome>;

/**
 * The step's call. Not async (a promise and a tick more for each of 100,000 steps): what a call
 * throws before it returns its promise (partOf, a part the backend lacks) the executor's try
 * takes as the step's failure all the same.
 */
export function runCallStep(cp: ControlPlane, step: CallStep): Promise<StepOutcome> {
  const call = Object.hasOwn(CALLS, step.op) ? (CALLS[step.op] as Call<CallStep['op']>) : null;
  if (!call)
    return Promise.reject(
      new StepConflictError(`unknown step op ${JSON.stringify((step as Step).op)}`),
    );
  return call(cp, step as never);
}

const CALLS: { [K in CallStep['op']]: Call<K> } = {
  create_pool: createPool,
  delete_pool: (cp, step) =>
    ignoreNotFound(() => partOf(cp, 'pools', step.target).deletePool(step.args.name)),
  register_cluster: registerCluster,
  update_cluster: (cp, { target, args: { name, enabled } }) =>
    done(partOf(cp, 'clusters', target).updateCluster(name, { enabled })),
  delete_cluster: (cp, step) =>
    ignoreNotFound(() => partOf(cp, 'clusters', step.target).deleteCluster(step.args.name)),
  create_queue: createQueue,
  // A1: an upsert, idempotent by nature.
  set_assignment: (cp, step) =>
    done(partOf(cp, 'assignments', step.target).setAssignment(step.args)),
  delete_assignment: (cp, { target, args: { project, domain, workflow } }) =>
    ignoreNotFound(() =>
      partOf(cp, 'assignments', target).deleteAssignment({ project, domain, workflow }),
    ),
  // Capability steps (domain.md, Capabilities): each is idempotent on the control plane.
  // Draining a drained queue changes nothing; a queue already deleted has nothing to drain.
  drain_queue: (cp, { target, args: { name } }) =>
    ignoreNotFound(async () => void (await partOf(cp, 'capabilityCalls', target).drainQueue(name))),
  activate_queue: (cp, step) =>
    done(partOf(cp, 'capabilityCalls', step.target).activateQueue(step.args.name)),
  undelete_queue: (cp, { target, args }) =>
    undelete(cp, target, 'queues', (part) => part.undeleteQueue?.(args.name)),
  undelete_pool: (cp, { target, args }) =>
    undelete(cp, target, 'pools', (part) => part.undeletePool?.(args.name)),
  undelete_cluster: (cp, { target, args }) =>
    undelete(cp, target, 'clusters', (part) => part.undeleteCluster?.(args.name)),
  delete_queue: (cp, step) =>
    ignoreNotFound(() => partOf(cp, 'capabilityCalls', step.target).deleteQueue(step.args.name)),
  move_cluster: (cp, { target, args: { name, pool } }) =>
    moved(target, partOf(cp, 'capabilityCalls', target).moveCluster(name, pool), pool),
  update_pool: (cp, step) =>
    done(partOf(cp, 'capabilityCalls', step.target).updatePool(step.args.name, step.args.contract)),
  // An upsert, like an assignment.
  set_default_queue: (cp, { target, args: { project, domain, queue } }) =>
    done(partOf(cp, 'defaultQueues', target).setDefaultQueue(project, domain, queue)),
  delete_default_queue: (cp, { target, args: { project, domain } }) =>
    ignoreNotFound(() => partOf(cp, 'defaultQueues', target).deleteDefaultQueue(project, domain)),
  // An upsert (flyteadmin's Update*Attributes), idempotent by nature.
  set_execution_cluster_label: (cp, step) =>
    done(partOf(cp, 'executionClusterLabels', step.target).setExecutionClusterLabel(step.args)),
  delete_execution_cluster_label: (cp, { target, args }) =>
    ignoreNotFound(() =>
      partOf(cp, 'executionClusterLabels', target).deleteExecutionClusterLabel(args),
    ),
};

function createPool(cp: ControlPlane, step: StepOf<'create_pool'>): Promise<StepOutcome> {
  const { name, contract } = step.args;
  const part = partOf(cp, 'pools', step.target);
  return part.createPool(name, contract).then(toDone, (err: unknown) =>
    existing(step, err, {
      read: () => part.getPool(name),
      deleted: part.listDeletedPools?.bind(part),
      note: 'already exists',
      // P3: what the create sends is its contract.
      differs: (live) => (sameContract(live.contract, contract) ? [] : ['contract']),
    }),
  );
}

function registerCluster(cp: ControlPlane, step: StepOf<'register_cluster'>) {
  const { name, pool, data_plane } = step.args;
  const part = partOf(cp, 'clusters', step.target);
  return part.registerCluster(step.args).then(toDone, (err: unknown) =>
    existing(step, err, {
      read: () => part.getCluster(name),
      deleted: part.listDeletedClusters?.bind(part),
      note: 'already registered',
      differs: async (live) => {
        const differing = live.pool === pool ? [] : [`pool ("${live.pool}", not "${pool}", C7)`];
        // C6: a registration makes the cluster enabled (a declared disable is a later step).
        if (!live.enabled)
          differing.push('enabled (false; a cluster this registration makes is enabled, C6)');
        return [...differing, ...(await dataPlaneDiff(cp, step.target, live, data_plane))];
      },
    }),
  );
}

/** C4/C5: the declared data-plane fields the live cluster reports otherwise (none reported: none). */
async function dataPlaneDiff(
  cp: ControlPlane,
  target: string,
  live: LiveCluster,
  declared: ClusterDataPlane | null | undefined,
): Promise<string[]> {
  if (!declared || live.health === 'unknown' || live.data_plane_reported === false) return [];
  const pool = await partOf(cp, 'pools', target).getPool(live.pool);
  if (pool.contract_known === false) return [];
  const reported = reportedDataPlane(pool.contract, live);
  return DATA_PLANE_FIELDS.filter(
    (f) => at(declared, f) !== undefined && at(declared, f) !== at(reported, f),
  ).map((f) => `data_plane.${f} (reported ${JSON.stringify(at(reported, f) ?? '')})`);
}

function createQueue(cp: ControlPlane, step: StepOf<'create_queue'>): Promise<StepOutcome> {
  const part = partOf(cp, 'queues', step.target);
  return part.createQueue(step.args).then(toDone, (err: unknown) => {
    // Split here, not for every create (a copy of each queue's spec, issue 63).
    const { name, ...sent } = step.args;
    const spec = part.createdSpec?.(step.args) ?? sent;
    return existing(step, err, {
      read: () => part.getQueue(name),
      deleted: part.listDeletedQueues?.bind(part),
      note: 'already exists',
      differs: (live) => {
        const differing = [
          ...queueSpecDiff(live, spec),
          ...QUEUE_CAP_FIELDS.filter((f) => !sameJson(live[f] ?? null, spec[f] ?? null)),
        ];
        if (live.state !== undefined && live.state !== 'active')
          differing.push(`state (${live.state}; a queue this create makes is active)`);
        // C2: a cluster's co-named queue is the cluster's, never one this create makes.
        if (live.cluster_managed)
          differing.push('cluster_managed (the co-named queue of a live cluster, C2)');
        return differing;
      },
    });
  });
}

interface Existing<T> {
  read: () => Promise<T>;
  /** soft_delete: the deleted objects of the kind, whose names stay reserved; Union's DELETING too. */
  deleted: (() => Promise<{ name: string; deleting?: true }[]>) | undefined;
  /** The step's note when the live object is what the create would have made. */
  note: string;
  differs: (live: T) => string[] | Promise<string[]>;
}

/**
 * A create that met ALREADY_EXISTS (P3, C7, Q2). Only what it would have made is its own (a retry
 * whose first answer was lost): every field it sends, and state. Anything else another client
 * made: CONFLICT naming the difference, and not recorded as poolsync's (inventory.ts notOursBy).
 * No live object (a name another kind holds, as a cluster's for a queue, Q2): the create's error.
 */
async function existing<T>(
  step: StepOf<'create_pool' | 'register_cluster' | 'create_queue'>,
  err: unknown,
  how: Existing<T>,
): Promise<StepOutcome> {
  if (!isControlPlaneError(err, 'ALREADY_EXISTS')) throw err;
  const live = await how.read().catch(async (readErr: unknown) => {
    if (!isControlPlaneError(readErr, 'NOT_FOUND')) throw readErr;
    const deleted = (await how.deleted?.())?.find((d) => d.name === step.args.name);
    if (!deleted) throw err;
    return deleted.deleting ? 'deleting' : 'deleted';
  });
  const differing =
    live === 'deleting'
      ? ['state (deleting: Union is deleting it; this create makes a live one)']
      : live === 'deleted'
        ? ['state (deleted, its name kept by soft_delete; this create makes a live one)']
        : await how.differs(live);
  if (differing.length === 0) return { note: how.note };
  throw new StepConflictError(
    `${step.target} already exists, made by another client, with a different ${differing.join(', ')}: nothing was changed and poolsync does not record it as its own; run \`poolsync plan\` again`,
  );
}

type QueueSpecField = keyof QueueSpec;
const QUEUE_WRITTEN_FIELDS: ReadonlySet<string> = new Set([
  ...QUEUE_SPEC_FIELDS,
  ...QUEUE_CAP_FIELDS,
]);

/**
 * The spec fields each queue change shows changing: its diff paths' top-level fields (a cap's
 * entries are written whole). A change's drain state is no spec field.
 */
function indexShownFields(plan: Plan): Map<string, QueueSpecField[]> {
  const out = new Map<string, QueueSpecField[]>();
  for (const s of plan.steps)
    if (s.op === 'update_queue' || s.op === 'move_queue') out.set(s.target, []);
  for (const c of plan.changes) {
    // Only the written queues' diffs are read: a create's is made where it is read (issue 63).
    const fields = out.get(c.address);
    if (!fields) continue;
    for (const d of c.diff) {
      const field = d.path.split('.', 1)[0]!;
      if (QUEUE_WRITTEN_FIELDS.has(field) && !fields.includes(field as QueueSpecField))
        fields.push(field as QueueSpecField);
    }
  }
  return out;
}

/** `live`'s spec with `fields` set from `spec`; an undeclared cap left out (written back as read). */
function withFields(live: QueueSpec, spec: QueueSpec, fields: QueueSpecField[]): QueueSpec {
  const out: Record<string, unknown> = pick(live, QUEUE_SPEC_FIELDS);
  for (const f of fields) if (spec[f] !== undefined) out[f] = spec[f];
  return out as QueueSpec;
}

/** A move is done when the object the control plane answers is in the pool moved to. */
async function moved(target: string, call: Promise<{ pool: string }>, pool: string) {
  const live = await call;
  if (live.pool === pool) return DONE;
  throw new StepConflictError(
    `${target} is in pool "${live.pool}" after the move to "${pool}"; run \`poolsync plan\` again`,
  );
}

/** Cluster names by pool. */
function namesByPool(clusters: readonly LiveCluster[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const c of clusters) (out.get(c.pool) ?? out.set(c.pool, []).get(c.pool)!).push(c.name);
  return out;
}

/** Queue names by what their selector routes to: clusters it names, pools whose `*` it is. */
interface Routing {
  byCluster: Map<string, Set<string>>;
  byPool: Map<unknown, Set<string>>;
}

function addRoute(routing: Routing, queue: string, form: unknown): void {
  const f = form as { pool?: unknown; clusters?: unknown } | null | undefined;
  if (!f || !Array.isArray(f.clusters)) return;
  const add = <K>(map: Map<K, Set<string>>, key: K) => {
    const names = map.get(key) ?? map.set(key, new Set()).get(key)!;
    names.add(queue);
  };
  for (const cluster of f.clusters) add(routing.byCluster, String(cluster));
  if (f.clusters[0] === '*') add(routing.byPool, f.pool);
}

/** The queues routing to a cluster of `pool`: naming it, or `*` in its pool. */
function routedTo(routing: Routing, cluster: string, pool: unknown): string[] {
  return [...(routing.byCluster.get(cluster) ?? []), ...(routing.byPool.get(pool) ?? [])];
}

const newRouting = (): Routing => ({ byCluster: new Map(), byPool: new Map() });

/**
 * A read shared by every caller that asked before it began: each caller gets a read begun after
 * it asked, as fresh as its own, and callers at the same moment share one (one ListQueues for a
 * wave of cluster deletes, not one each: 2,000 deletes of a 10,000-object organisation read its
 * 8,500 queues 2,000 times, 35 s).
 */
export function freshSharedRead<T>(read: () => Promise<T>): () => Promise<T> {
  let running: Promise<unknown> = Promise.resolve();
  let next: Promise<T> | null = null;
  // Begun on a later microtask: every caller until then joins it; one after waits for the next.
  const begin = () => {
    next = null;
    const p = read();
    running = p.catch(() => undefined);
    return p;
  };
  return () => (next ??= running.then(begin, begin));
}

/**
 * The writes checked at the moment they act, for one apply of `plan`: every step writing an
 * object the plan showed first reads that object (a delete's C9 reads more), and what the plan
 * shows is indexed once, at the first step that needs it (a plan of 20,000 cluster deletes
 * searched its changes once per delete).
 */
export function checkedWrites(
  cp: ControlPlane,
  plan: Plan,
  /** Whether the plan's step at this index is done (its write landed). */
  done: (step: number) => boolean = () => false,
) {
  let clusterIndex: ReturnType<typeof indexClusterDeletes> | null = null;
  const liveQueues = freshSharedRead(() => partOf(cp, 'queues').listQueues());
  const liveRouting = new WeakMap<LiveQueue[], Routing & { byName: Map<string, LiveQueue> }>();
  const routingOf = (live: LiveQueue[]) => {
    let routing = liveRouting.get(live);
    if (!routing) {
      routing = { ...newRouting(), byName: new Map(live.map((q) => [q.name, q])) };
      for (const q of live) addRoute(routing, q.name, q);
      liveRouting.set(live, routing);
    }
    return routing;
  };
  const liveClusters = freshSharedRead(() => partOf(cp, 'clusters').listClusters());
  const liveByPool = new WeakMap<LiveCluster[], Map<string, string[]>>();
  let causedBy: Map<string, Set<string>> | null = null;
  let shown: Map<string, Change> | null = null;
  let shownFields: Map<string, QueueSpecField[]> | null = null;
  /** The plan's change of `target`: indexed once, at the first step that asks. */
  const shownChange = (target: string) =>
    (shown ??= new Map(plan.changes.map((c) => [c.address, c]))).get(target);

  /**
   * A plan is a promise: the object a step writes is the one the plan showed, in the pool its
   * `before` holds (or its `after`: a step after its move). One another client deleted and made
   * again elsewhere since is theirs: no backend exposes an id or create time to tell it apart
   * otherwise. Made by this plan, or gone now (`live` undefined): the call itself finds it so.
   */
  function isTheShownOne(target: string, verb: string, live: { pool: string } | undefined): void {
    const change = shownChange(target);
    const was = change?.before?.pool;
    if (typeof was !== 'string' || live === undefined) return;
    if (live.pool === was || live.pool === change?.after?.pool) return;
    throw new NotTheShownOneError(
      `${target} is now in pool ${live.pool}; the plan showed it in ${was}: changed by another client since the plan ` +
        `(deleted and made again, or moved); nothing was ${verb}. Run \`poolsync plan\` again`,
      target.startsWith('Cluster/') ? 'C7' : 'Q3',
    );
  }

  /** isTheShownOne of what `read` reads, read only for an object the plan showed before it. */
  async function theShownOne(
    target: string,
    verb: string,
    read: () => Promise<{ pool: string }>,
  ): Promise<void> {
    if (typeof shownChange(target)?.before?.pool !== 'string') return;
    isTheShownOne(target, verb, await unlessGone(read()));
  }
  const cluster = (target: string, name: string) => () =>
    partOf(cp, 'clusters', target).getCluster(name);
  const queue = (target: string, name: string) => () => partOf(cp, 'queues', target).getQueue(name);

  /**
   * A pool the plan showed whose contract is now neither its `before` nor its `after` was made
   * again (or changed) by another client (P2, P4); a hidden one (Union) cannot be told apart.
   */
  async function theShownPool(target: string, name: string, verb: string): Promise<void> {
    const change = shownChange(target);
    const was = change?.before?.contract as PoolContract | undefined;
    if (!was) return;
    const live = await unlessGone(partOf(cp, 'pools', target).getPool(name));
    const is = change?.after?.contract as PoolContract | undefined;
    if (!live || live.contract_known === false || sameContract(live.contract, was)) return;
    if (is && sameContract(live.contract, is)) return;
    throw new NotTheShownOneError(
      `${target} now has another contract than the plan showed: changed by another client since the plan ` +
        `(deleted and made again, or changed in place); nothing was ${verb}. Run \`poolsync plan\` again`,
      'P4',
    );
  }

  return {
    /** update_cluster: a disable before a delete (or any enable or disable) sends nothing to another client's cluster. */
    async updateCluster(step: StepOf<'update_cluster'>): Promise<StepOutcome> {
      await theShownOne(step.target, 'changed', cluster(step.target, step.args.name));
      return CALLS.update_cluster(cp, step);
    },

    /** move_cluster, activate_queue and update_pool write an object the plan showed, not another's. */
    async write(step: StepOf<'move_cluster' | 'activate_queue' | 'update_pool'>) {
      if (step.op === 'update_pool') {
        await theShownPool(step.target, step.args.name, 'updated');
        return CALLS.update_pool(cp, step);
      }
      if (step.op === 'move_cluster') {
        await theShownOne(step.target, 'moved', cluster(step.target, step.args.name));
        return CALLS.move_cluster(cp, step);
      }
      await theShownOne(step.target, 'activated', queue(step.target, step.args.name));
      return CALLS.activate_queue(cp, step);
    },

    /**
     * The queue writes (update_queue, and queue_move's update naming the new pool), each a
     * read-modify-write at the moment it acts: the queue is read again (its one read also holds
     * it to the one the plan showed), the fields its change shows changing are set from the step
     * and every other is sent back as read now, so a field another client changed since the plan,
     * which the plan did not show changing, stays theirs (an update replaces the whole spec, Q3).
     * A field both changed ends as the plan's `after`: that was shown and approved
     * (docs/apply.md). A re-run after a crash sets the same fields again: nothing changes.
     */
    queueWrite(step: QueueWrite): Promise<StepOutcome> {
      const { name, ...spec } = step.args;
      const part = partOf(cp, 'queues', step.target);
      shownFields ??= indexShownFields(plan);
      const fields = shownFields.get(step.target);
      const moving = step.op === 'move_queue';
      const write = part.getQueue(name).then((live) => {
        isTheShownOne(step.target, moving ? 'moved' : 'updated', live);
        // A plan showing no field of it changing (hand-made): the step's spec as written.
        return part.updateQueue(name, fields?.length ? withFields(live, spec, fields) : spec);
      });
      return moving ? moved(step.target, write, spec.pool) : write.then(toDone);
    },

    /** drain_queue and delete_queue: a queue made again in another pool is another client's. */
    async queue(step: StepOf<'drain_queue' | 'delete_queue'>): Promise<StepOutcome> {
      const verb = step.op === 'drain_queue' ? 'drained' : 'deleted';
      await theShownOne(step.target, verb, queue(step.target, step.args.name));
      return step.op === 'drain_queue' ? CALLS.drain_queue(cp, step) : CALLS.delete_queue(cp, step);
    },

    /** delete_pool: a pool made again by another client since the plan has its own contract. */
    async pool(step: StepOf<'delete_pool'>): Promise<StepOutcome> {
      await theShownPool(step.target, step.args.name, 'deleted');
      return CALLS.delete_pool(cp, step);
    },

    /**
     * C9 at the moment it acts: before a cluster is deleted it (theShownOne) and its queues are
     * read again. One
     * routing to it now (naming it, or `*` in its pool) that the plan did not leave routing to
     * it was made or repointed since the plan; one now routing only to clusters the plan takes
     * away that no wait of this cluster watched was narrowed since (a `*` queue: its pool cut
     * down by another client to leaving clusters where the plan kept others). Either's work
     * would be lost, unwatched: refused.
     */
    async cluster(step: StepOf<'delete_cluster'>): Promise<StepOutcome> {
      const { name } = step.args;
      partOf(cp, 'queues', step.target);
      clusterIndex ??= indexClusterDeletes(plan);
      const { shown, until, watched, leaving, poolOf, kept } = clusterIndex;
      const pool = poolOf.get(step.target);
      const left = new Set(routedTo(shown, name, pool));
      // A queue routes as it was until the step setting its selector is done (one not ordered
      // before this delete, as a `*` queue's, may not have run yet).
      for (const q of routedTo(until.routing, name, pool))
        if (!until.steps.get(q)!.every(done)) left.add(q);
      const waited = watched.get(name);
      await theShownOne(step.target, 'deleted', cluster(step.target, name));
      const routing = routingOf(await liveQueues());
      const isLeaving = (cluster: string) => leaving.has(cluster);
      const unshown: string[] = [];
      // `*` queues that its pool's members now decide: one read of the clusters for them all.
      const byMembers: LiveQueue[] = [];
      for (const q of new Set(routedTo(routing, name, pool))) {
        const live = routing.byName.get(q)!;
        if (waited?.has(q)) continue;
        if (!left.has(q)) unshown.push(`Queue/${q}`);
        else if (live.clusters[0] !== '*') {
          if (live.clusters.length > 0 && live.clusters.every(isLeaving))
            unshown.push(`Queue/${q}`);
        } else {
          // A pool the plan empties was shown so; one still routing to a cluster the plan keeps
          // is as shown. Otherwise its pool's members decide (health aside, as the plan's waits).
          const keeps = kept.get(live.pool);
          if (keeps && !live.available_clusters.some((c) => keeps.has(c))) byMembers.push(live);
        }
      }
      if (byMembers.length > 0) {
        const clusters = await liveClusters();
        let byPool = liveByPool.get(clusters);
        if (!byPool) liveByPool.set(clusters, (byPool = namesByPool(clusters)));
        for (const q of byMembers)
          if ((byPool.get(q.pool) ?? []).every(isLeaving)) unshown.push(`Queue/${q.name}`);
      }
      unshown.sort();
      if (unshown.length > 0)
        throw new StepConflictError(
          `${step.target}: ${unshown.join(', ')} ${unshown.length === 1 ? 'routes' : 'route'} to it now and the plan did not show ${unshown.length === 1 ? 'it' : 'them'} ` +
            '(changed since the plan, C9: its work would be lost); nothing was deleted. Run `poolsync plan` again',
        );
      return CALLS.delete_cluster(cp, step);
    },

    /**
     * What a flyteadmin delete takes along (docs/flyte-oss.md, "What a delete takes along") at
     * the moment it acts: the narrower rows are read again, and one the plan did not show going
     * with it (`caused_by`) was made since the plan, perhaps by hand: poolsync would destroy what
     * it does not manage. Refused; other backends take nothing along (no `…DeletedWith`).
     */
    attribute(
      step: StepOf<'delete_assignment' | 'delete_execution_cluster_label'>,
    ): Promise<StepOutcome> {
      const { target, args } = step;
      const [kind, along] =
        step.op === 'delete_assignment'
          ? ['PoolAssignment', partOf(cp, 'assignments', target).assignmentsDeletedWith?.(args)]
          : [
              'ExecutionClusterLabel',
              partOf(cp, 'executionClusterLabels', target).labelsDeletedWith?.(args),
            ];
      const call = () =>
        step.op === 'delete_assignment'
          ? CALLS.delete_assignment(cp, step)
          : CALLS.delete_execution_cluster_label(cp, step);
      if (!along) return call();
      return along.then((names) => {
        // The plan's changes are indexed only when a delete takes a row (100,000 deletes).
        if (names.length === 0) return call();
        causedBy ??= indexCausedBy(plan);
        const shown = causedBy.get(target);
        const unshown = names.map((n) => `${kind}/${n}`).filter((a) => !shown?.has(a));
        if (unshown.length === 0) return call();
        throw new StepConflictError(
          `${target}: flyteadmin's delete of it would also delete ${unshown.join(', ')}, which the plan did not show ` +
            '(made since the plan; flyteadmin deletes the narrower rows of its type with it); nothing was deleted. ' +
            'Run `poolsync plan` again to see what the delete takes along',
        );
      });
    },
  };
}

/**
 * What the plan leaves routing to each cluster (a queue change's after; its before where no step
 * of the plan sets its selector: a C8 side effect routes there until the delete itself); where a
 * step sets it, the before until that step is done (`until`); the queues each cluster's wait_idle
 * watched; the clusters the plan takes away.
 */
function indexClusterDeletes(plan: Plan) {
  // One pass over the steps: what sets a queue's selector, what each wait watched, what leaves.
  const setsSelector = new Map<string, number[]>();
  const watched = new Map<string, Set<string>>();
  const leaving = new Set<string>();
  plan.steps.forEach((s, i) => {
    if (s.op === 'update_queue' || s.op === 'create_queue' || s.op === 'move_queue')
      (setsSelector.get(s.target) ?? setsSelector.set(s.target, []).get(s.target)!).push(i);
    else if (s.op === 'wait_idle') {
      const queues =
        watched.get(s.args.cluster) ?? watched.set(s.args.cluster, new Set()).get(s.args.cluster)!;
      for (const q of s.args.queues) queues.add(q);
    } else if (s.op === 'delete_cluster' || s.op === 'move_cluster') leaving.add(s.args.name);
  });
  const shown = newRouting();
  const until = { routing: newRouting(), steps: new Map<string, number[]>() };
  const poolOf = new Map<string, unknown>();
  // The clusters the plan leaves in their pool, untouched by a delete or move, by pool.
  const kept = new Map<string, Set<string>>();
  for (const c of plan.changes) {
    if (c.kind === 'Queue') {
      const steps = setsSelector.get(c.address);
      for (const f of steps ? [c.after, c.caused_after] : [c.before]) addRoute(shown, c.name, f);
      if (steps) {
        addRoute(until.routing, c.name, c.before);
        until.steps.set(c.name, steps);
      }
    } else if (c.kind === 'Cluster') {
      const was = c.before?.pool;
      poolOf.set(c.address, was);
      if (typeof was === 'string' && c.after?.pool === was && !leaving.has(c.name))
        (kept.get(was) ?? kept.set(was, new Set()).get(was)!).add(c.name);
    }
  }
  return { shown, until, watched, leaving, poolOf, kept };
}

/** The addresses the plan shows going with each delete (`caused_by`). */
function indexCausedBy(plan: Plan): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const c of plan.changes)
    if (c.caused_by)
      (out.get(c.caused_by) ?? out.set(c.caused_by, new Set()).get(c.caused_by)!).add(c.address);
  return out;
}

/** Every delete: a call that finds the object already gone is done ("already deleted"). */
/** What `read` answers; undefined once the object is gone (NOT_FOUND: the call then finds it so). */
function unlessGone<T>(read: Promise<T>): Promise<T | undefined> {
  return read.catch((err: unknown) => {
    if (isControlPlaneError(err, 'NOT_FOUND')) return undefined;
    throw err;
  });
}

async function ignoreNotFound(call: () => Promise<void>): Promise<StepOutcome> {
  try {
    await call();
    return DONE;
  } catch (err) {
    if (isControlPlaneError(err, 'NOT_FOUND')) return { note: 'already deleted' };
    throw err;
  }
}

/** The fields where the live queue differs; the selector compared as a set. */
export function queueSpecDiff(live: QueueSpec, want: QueueSpec): string[] {
  const out: string[] = [];
  for (const field of QUEUE_SPEC_FIELDS) {
    if (field !== 'clusters' && live[field] !== want[field]) out.push(field);
  }
  const a = [...live.clusters].sort();
  const b = [...want.clusters].sort();
  if (a.length !== b.length || a.some((c, i) => c !== b[i])) out.push('clusters');
  return out;
}

/** `call` returns undefined where the control plane keeps no soft-deleted `what`. */
async function undelete<P extends 'queues' | 'pools' | 'clusters'>(
  cp: ControlPlane,
  target: string,
  what: P,
  call: (part: NonNullable<ControlPlane[P]>) => Promise<unknown> | undefined,
): Promise<StepOutcome> {
  const undone = call(partOf(cp, what, target));
  if (undone) return done(undone);
  throw new StepConflictError(
    `${target}: the ${cp.backend.name} control plane has no soft-deleted ${what}; run \`poolsync plan\` again`,
  );
}
