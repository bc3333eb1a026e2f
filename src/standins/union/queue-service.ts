/**
 * `cloudidl.queue.QueueService` of Union's API stand-in, over the embedded control plane (with
 * `drain`, `queue_delete` and `soft_delete`, as Union has them), as Union's client expects
 * (flyteplugins-union 0.19.1, remote/_queue.py; each rule cites its lines below): a deleted
 * queue is listed only with `EXISTS deleted_at`, read by GetQueue with state DELETED, and keeps
 * its name until undeleted; UpdateQueue replaces the whole spec, the caps and scheduling
 * included (QueueExtras, lifecycle.ts).
 */
import type { ConnectRouter, HandlerContext } from '@connectrpc/connect';
import type { LiveQueue } from '../../model/live.js';
import {
  type CreateQueueRequest,
  type DeleteQueueRequest,
  type GetQueueRequest,
  type ListQueuesRequest,
  QueueService,
  type QueueSpec,
  QueueState,
  type UndeleteQueueRequest,
  type UpdateQueueRequest,
  type UpdateQueueStateRequest,
  type WatchQueueMetricsRequest,
} from '../../gen/cloudidl/queue/queue_pb.js';
import type { EmbeddedControlPlane } from '../../controlplane/embedded/embedded.js';
import { ControlPlaneError } from '../../controlplane/errors.js';
import { type Lifecycle, listsDeleted, type QueueExtras } from './lifecycle.js';
import { byName } from '../../controlplane/embedded/state.js';
import { failedPrecondition, invalidArgument, page, queueToPb, unmodelled } from './pb-views.js';
import type { SettingsLevels } from './settings-service.js';
import { SYSTEM_CLOCK } from '../../util/clock.js';
import { managedFromPb } from '../../controlplane/union/mapping.js';
import { CANONICAL_ACCELERATORS, canonicalDevice } from '../../gen/union/accelerators.js';
import { ACCELERATOR_CLASSES } from '../../model/common.js';
import {
  GPUAccelerator_DeviceClass as DeviceClass,
  Resources_ResourceName as ResourceName,
} from '../../gen/flyteidl2/core/tasks_pb.js';

export interface ServiceContext {
  cp: EmbeddedControlPlane;
  org: string;
  max: number;
  extras: QueueExtras;
  life: Lifecycle;
  /** The settings of every scope: a queue a run.default_queue names is never deleted (remote/_queue.py:1011-1012). */
  settings: SettingsLevels;
  checkOrg: (given: string | undefined) => void;
  metricsIntervalMs: number;
}

const key = (name: string) => `Queue/${name}`;

/** The stand-in's view of a queue: its state generation, deletion and the fields beyond 7. */
function view(x: ServiceContext, q: LiveQueue, deleted = false) {
  const { org, extras, life } = x;
  const m = queueToPb(q, org, {
    generation: life.generation(key(q.name)),
    deleting: !deleted && life.deletingQueues.has(q.name),
    deletedAt: deleted
      ? (life.deletedTimestamp(key(q.name)) ?? { seconds: 0n, nanos: 0 })
      : undefined,
  });
  extras.attach(q.name, m.spec);
  return m;
}

async function deletedQueue(x: ServiceContext, name: string): Promise<LiveQueue | null> {
  return (await x.cp.listDeletedQueues()).find((q) => q.name === name) ?? null;
}

/** The name of the object `id` names, in the served organisation (PERMISSION_DENIED else). */
export function nameOf(x: ServiceContext, id: { organization: string; name: string } | undefined) {
  x.checkOrg(id?.organization);
  return id?.name ?? '';
}

export function queueRoutes(x: ServiceContext): (router: ConnectRouter) => void {
  // Each call first finishes the deletes whose queue has no work left (deletingQueues).
  const after =
    <R, A extends unknown[]>(f: (x: ServiceContext, ...a: A) => Promise<R>) =>
    async (...a: A) => {
      await finishQueueDeletes(x);
      return f(x, ...a);
    };
  return (router) =>
    router.service(QueueService, {
      listQueues: after(listQueues),
      getQueue: after(getQueue),
      createQueue: after(createQueue),
      updateQueue: after(updateQueue),
      updateQueueState: after(updateQueueState),
      deleteQueue: after(deleteQueue),
      undeleteQueue: after(undeleteQueue),
      watchQueueMetrics: (req, ctx) => watchQueueMetrics(x, req, ctx),
    });
}

/** A DELETING queue whose work is done is deleted (remote/_queue.py:994-996). */
async function finishQueueDeletes(x: ServiceContext): Promise<void> {
  for (const name of [...x.life.deletingQueues]) {
    const q = await x.cp.getQueue(name).catch(() => null);
    if (q && q.state !== 'drained') continue;
    if (!x.life.deletingQueues.delete(name) || !q) continue;
    await x.cp.deleteQueue(name);
    x.life.markDeleted(key(name));
  }
}

/**
 * "A ``deleting`` or ``deleted`` queue cannot be drained" (remote/_queue.py:938-939), activated
 * (remote/_queue.py:965), deleted again (remote/_queue.py:1002-1003) nor undeleted
 * (remote/_queue.py:1044-1045) until its deletion ends.
 */
function refuseDeleting(x: ServiceContext, name: string): void {
  if (x.life.deletingQueues.has(name))
    throw failedPrecondition(`queue "${name}" is deleting: wait until its deletion finishes`);
}

async function listQueues(x: ServiceContext, req: ListQueuesRequest) {
  const { cp } = x;
  x.checkOrg(req.organization);
  const f = listsDeleted(req.request?.filters ?? []);
  const all = f.deleted
    ? (await cp.listDeletedQueues()).sort(byName)
    : (await cp.pagedLists()).queues;
  // A state filter names Union's enum (QUEUE_STATE_DRAINED); a deleted queue's state is DELETED.
  const stateOf = (q: LiveQueue) =>
    f.deleted
      ? 'DELETED'
      : x.life.deletingQueues.has(q.name)
        ? 'DELETING'
        : (q.state ?? 'active').toUpperCase();
  const wanted = f.state
    ? all.filter((q) => stateOf(q) === f.state?.replace(/^QUEUE_STATE_/, ''))
    : all;
  // Paged first, then viewed: an answer costs its page, not the organisation (the lists are
  // made once per state written: EmbeddedControlPlane.pagedLists).
  const p = page(wanted, (q) => q.name, req.request, x.max);
  return { queues: p.items.map((q) => view(x, q, f.deleted)), token: p.token };
}

async function getQueue(x: ServiceContext, req: GetQueueRequest) {
  const name = nameOf(x, req.id);
  try {
    return { queue: view(x, await x.cp.getQueue(name)) };
  } catch (err) {
    const gone = err instanceof ControlPlaneError && err.code === 'NOT_FOUND';
    const deleted = gone ? await deletedQueue(x, name) : null;
    if (!deleted) throw err;
    return { queue: view(x, deleted, true) };
  }
}

async function createQueue(x: ServiceContext, req: CreateQueueRequest) {
  const name = nameOf(x, req.id);
  // "only organization-scoped queues can be created" (remote/_queue.py:783-784).
  if (req.id?.project || req.id?.domain)
    throw invalidArgument(
      'only organization-scoped queues can be created (no project or domain in the id)',
    );
  checkQueueCaps(req.spec);
  const q = await x.cp.createdQueue({ name, ...managedFromPb(req.spec) });
  x.extras.replace(q.name, req.spec);
  return { queue: view(x, q) };
}

async function updateQueue(x: ServiceContext, req: UpdateQueueRequest) {
  const name = nameOf(x, req.id);
  // "A soft-deleted queue cannot be updated at all" (remote/_queue.py:873).
  if (await deletedQueue(x, name))
    throw failedPrecondition(`queue "${name}" is deleted: undelete it first`);
  checkQueueCaps(req.spec);
  // "The server requires an explicit cluster pool on every UpdateQueue call" (remote/_queue.py:859-860).
  if (!req.spec?.clusterPoolName)
    throw invalidArgument('UpdateQueue replaces the whole spec: cluster_pool_name is required');
  const q = await x.cp.updateQueue(name, managedFromPb(req.spec));
  x.extras.replace(q.name, req.spec);
  return { queue: view(x, q) };
}

async function updateQueueState(x: ServiceContext, req: UpdateQueueStateRequest) {
  const { cp, life } = x;
  const name = nameOf(x, req.id);
  refuseDeleting(x, name);
  life.expect(key(name), req.expectedStateGeneration);
  const q =
    req.state === QueueState.DRAINING
      ? await cp.drainQueue(name)
      : req.state === QueueState.ACTIVE
        ? await cp.activateQueue(name)
        : null;
  if (!q) throw unmodelled('UpdateQueueState to a state other than DRAINING or ACTIVE');
  life.bump(key(name));
  return { queue: view(x, q) };
}

async function deleteQueue(x: ServiceContext, req: DeleteQueueRequest) {
  const name = nameOf(x, req.id);
  // "``deleting`` or ``deleted``: rejected" (remote/_queue.py:1002-1003).
  if (await deletedQueue(x, name)) throw failedPrecondition(`queue "${name}" is already deleted`);
  refuseDeleting(x, name);
  x.life.expect(key(name), req.expectedStateGeneration);
  x.settings.refuseDelete(name);
  // ``draining``: "it comes back ``deleting``" until its work is done (remote/_queue.py:994-996).
  const live = await x.cp.getQueue(name);
  if (live.state === 'draining') {
    x.life.deletingQueues.add(name);
    x.life.bump(key(name));
    return { queue: view(x, live) };
  }
  await x.cp.deleteQueue(name);
  x.life.markDeleted(key(name));
  // Without soft_delete nothing keeps the deleted queue: it is answered as it was.
  return { queue: view(x, (await deletedQueue(x, name)) ?? live, true) };
}

async function undeleteQueue(x: ServiceContext, req: UndeleteQueueRequest) {
  const name = nameOf(x, req.id);
  refuseDeleting(x, name);
  const q = await x.cp.undeleteQueue(name);
  x.life.undeleted(key(name));
  return { queue: view(x, q) };
}

async function* watchQueueMetrics(
  x: ServiceContext,
  req: WatchQueueMetricsRequest,
  ctx: HandlerContext,
) {
  const { cp, org } = x;
  x.checkOrg(req.poolId?.organization);
  const pool = req.poolId?.name ?? '';
  for (;;) {
    const queues = (await cp.listQueues()).filter(
      (q) =>
        q.pool === pool &&
        (req.queueNames.length > 0 ? req.queueNames.includes(q.name) : q.state !== 'drained'),
    );
    const metrics = await Promise.all(
      queues.map(async (q) => {
        const m = await cp.queueMetrics(q.name);
        return {
          id: { organization: org, name: q.name },
          runsInFlight: m.runs_in_flight,
          actionsInFlight: m.actions_in_flight,
          currentDepth: m.depth,
          observedAt: { seconds: BigInt(Math.floor(Date.now() / 1000)) },
        };
      }),
    );
    yield { metrics };
    await SYSTEM_CLOCK.sleep(x.metricsIntervalMs, ctx.signal);
    if (ctx.signal.aborted) return;
  }
}

/**
 * Union's rules for a queue's caps, which its client mirrors before sending (flyteplugins-union
 * 0.19.1, remote/_queue.py: "Mirrors the server's rules so a bad cap fails here instead of on
 * the wire"; the cluster service's `queueMaxResourceNames`, `validateQueueMaxAccelerators`), each
 * cited below; canonical devices and their spellings: remote/_queue.py:254-279, 295-346, 378-401.
 * CreateQueue and UpdateQueue answer INVALID_ARGUMENT otherwise.
 */
const CAPPED = new Set([ResourceName.CPU, ResourceName.MEMORY, ResourceName.EPHEMERAL_STORAGE]);
/** k8s.io/apimachinery resource.ParseQuantity's grammar, as the client checks it (_QUANTITY_RE). */
const QUANTITY = /^[+-]?(\d+|\d*\.\d+|\d+\.\d*)([eE][+-]?\d+|[KMGTPE]i|[numkMGTPE])?$/;

export function checkQueueCaps(spec: QueueSpec | undefined): void {
  if (!spec) return;
  const seen = new Set<ResourceName>();
  for (const e of spec.maxResources) {
    const label = ResourceName[e.name] ?? String(e.name);
    // "not an enforceable queue resource" (remote/_queue.py:117-121).
    if (!CAPPED.has(e.name))
      throw invalidArgument(
        `max_resources: ${label} is not an enforceable queue resource (cpu, memory, ephemeral_storage)`,
      );
    // "is named more than once" (remote/_queue.py:153-154).
    if (seen.has(e.name)) throw invalidArgument(`max_resources: ${label} is named more than once`);
    seen.add(e.name);
    const m = QUANTITY.exec(e.value);
    // A Kubernetes quantity, "must not be negative" (remote/_queue.py:128-135).
    if (!m || (e.value.startsWith('-') && Number(m[1]) !== 0))
      throw invalidArgument(
        `max_resources ${label}: "${e.value}" is not a non-negative Kubernetes quantity`,
      );
  }
  const selectors = new Set<string>();
  for (const c of spec.maxAccelerators) {
    const a = c.accelerator;
    // "requires every cap to declare its partitioning" (remote/_queue.py:322-323).
    if (!a || a.partitionSizeValue.case === undefined)
      throw invalidArgument(
        'max_accelerators: every cap must declare its partitioning (unpartitioned or partition_size)',
      );
    // "count must be a positive number of devices" (remote/_queue.py:373-374).
    if (c.count <= 0n)
      throw invalidArgument(
        `max_accelerators: count must be a positive number of devices, got ${c.count}`,
      );
    // "a cap without a device is supported for NVIDIA GPUs only" (remote/_queue.py:320-321).
    if (!a.device && a.deviceClass !== DeviceClass.NVIDIA_GPU)
      throw invalidArgument(
        'max_accelerators: a cap without a device is supported for NVIDIA GPUs only',
      );
    const device = a.device ? canonicalDevice(a.device) : '';
    // "is not a canonical accelerator or a spelling of one" (remote/_queue.py:332-333).
    if (device === null)
      throw invalidArgument(`max_accelerators: "${a.device}" is not a canonical accelerator`);
    const cls = ACCELERATOR_CLASSES[a.deviceClass];
    // "<device> is a <class> device, not <class>" (remote/_queue.py:335-336).
    if (device && CANONICAL_ACCELERATORS[device] !== cls)
      throw invalidArgument(
        `max_accelerators: ${device} is a ${CANONICAL_ACCELERATORS[device]} device, not ${cls}`,
      );
    const key = `${a.deviceClass}/${device}/${a.partitionSizeValue.case === 'partitionSize' ? a.partitionSizeValue.value : ''}`;
    // "name the same accelerator" (remote/_queue.py:392-395).
    if (selectors.has(key))
      throw invalidArgument('max_accelerators: two caps name the same accelerator');
    selectors.add(key);
  }
}
