/**
 * The control planes the outside-observer property runs against, each started as a user starts
 * it, read and edited through its own API, never through poolsync's backends, planner or the
 * stand-in's rule engine:
 *  - `file`: the embedded control plane in a state file (`file:PATH?capabilities=…`), read and
 *    edited through the store's own calls (its API: there is no other);
 *  - `rest`: `poolsync control-plane serve --capabilities …` run in process, read and edited
 *    over its REST API (`/v1/...`, plain fetch);
 *  - `union`: the same command serving Union's API (`--oauth-client-file`), read and edited over
 *    Connect with the generated clients of src/gen (deleted objects included: `EXISTS
 *    deleted_at`), a token from its OAuth2 server by plain client credentials;
 *  - `flyteadmin`: the real flyteadmin (test/flyteadmin/real/), over its REST API.
 * A snapshot is every object by address, each a flat record of the fields its API shows
 * (observe), in the names the plan's diffs use.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { createClient, type Client, type Interceptor } from '@connectrpc/connect';
import { createConnectTransport } from '@connectrpc/connect-node';
import { create, type DescService } from '@bufbuild/protobuf';
import { main } from '../../../../src/cli/run.js';
import type { Io } from '../../../../src/cli/io.js';
import { EmbeddedControlPlane } from '../../../../src/controlplane/embedded/embedded.js';
import { UNION_CAPABILITIES } from '../../../../src/controlplane/union/union.js';
import { formatCapabilities, parseCapabilities } from '../../../../src/model/capabilities.js';
import { ClusterService } from '../../../../src/gen/cloudidl/cluster/cluster_pb.js';
import { ClusterState } from '../../../../src/gen/cloudidl/cluster/definition_pb.js';
import { ClusterPoolService } from '../../../../src/gen/cloudidl/clusterpool/clusterpool_pb.js';
import { SecretStore_SecretStoreType } from '../../../../src/gen/cloudidl/common/cluster_pb.js';
import {
  FairnessAlgorithm,
  Priority,
  QueueService,
  QueueState,
  SchedulingAlgorithm,
  type Queue as PbQueue,
} from '../../../../src/gen/cloudidl/queue/queue_pb.js';
import {
  GPUAccelerator_DeviceClass as DeviceClass,
  Resources_ResourceName as ResourceName,
} from '../../../../src/gen/flyteidl2/core/tasks_pb.js';
import { ProjectService } from '../../../../src/gen/flyteidl2/project/project_service_pb.js';
import {
  SettingState,
  SettingsSchema,
  type Settings,
} from '../../../../src/gen/flyteidl2/settings/settings_definition_pb.js';
import { SettingsService } from '../../../../src/gen/flyteidl2/settings/settings_service_pb.js';
import { serviceAccountOf, withServiceAccount } from '../../../support/union-settings.js';
import { contractOf } from './repository.js';
import { AcceleratorCapacitySchema } from '../../../../src/gen/cloudidl/cluster/accelerator_definition_pb.js';
import { canonicalDevice } from '../../../../src/gen/union/accelerators.js';
import {
  ACCELERATORS,
  CLUSTERS,
  DOMAINS,
  POOLS,
  PROJECTS,
  QUEUES,
  QUEUE_TARGETS,
  WORKFLOW,
  poolName,
  type BackendName,
  type CapabilityName,
  type Edit,
} from './world.js';

/** The wire an API answers errors on: Connect (Union), poolsync's REST API, flyteadmin's gateway. */
export type Refusal = 'connect' | 'rest' | 'flyteadmin';

/** A field of an object as its API shows it (flattened: `contract.secret_store.type`). */
export type Fields = Record<string, unknown>;
/** Every object of a control plane by address (`Queue/q0`); a soft-deleted one has `deleted: true`. */
export type Snapshot = Map<string, Fields>;

export interface Target {
  backend: BackendName;
  /** `--control-plane`. */
  url: string;
  /** What the CLI's environment adds (credentials). */
  env: Record<string, string>;
  /**
   * Where poolsync's calls go over HTTP, to put a proxy in front (cut.ts): the base URL, `url`
   * and `env` for another base, and how the API refuses a call it will not take. Absent: no
   * HTTP (the embedded store in a file).
   */
  http?: {
    base: string;
    via(base: string): { url: string; env: Record<string, string> };
    refusal: Refusal;
  };
  observe(): Promise<Snapshot>;
  /** Makes the call; throws what the control plane answered when it refuses. */
  edit(e: Edit): Promise<void>;
  close(): Promise<void>;
}

/** Leaves of `value` under `prefix` (objects walked; arrays, scalars and null are leaves). */
export function flatten(value: unknown, prefix = '', out: Fields = {}): Fields {
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value)) flatten(v, prefix ? `${prefix}.${k}` : k, out);
  } else out[prefix] = value;
  return out;
}

const assignmentAddress = (
  kind: string,
  a: { project: string; domain: string; workflow?: string | null },
) => `${kind}/${a.project}/${a.domain}${a.workflow ? `/${a.workflow}` : ''}`;

const QUEUE_FIELDS = [
  'pool',
  'clusters',
  'run_concurrency',
  'action_concurrency',
  'depth',
  'priority',
  'fairness',
  'state',
] as const;

/** The shapes poolsync's REST API and the embedded store answer with (schemas/control-plane.openapi.yaml). */
interface RestLists {
  pools: { name: string; contract: unknown }[];
  clusters: { name: string; pool: string; enabled: boolean }[];
  queues: Record<string, unknown>[];
  deleted_queues?: Record<string, unknown>[];
  deleted_pools?: { name: string; contract: unknown }[];
  deleted_clusters?: { name: string; pool: string }[];
  assignments: { project: string; domain: string; workflow: string | null; pool: string }[];
  default_queues?: { project: string; domain: string; queue: string }[];
}

function restSnapshot(l: RestLists): Snapshot {
  const s: Snapshot = new Map();
  for (const p of l.pools) s.set(`ClusterPool/${p.name}`, flatten({ contract: p.contract }));
  for (const c of l.clusters) s.set(`Cluster/${c.name}`, { pool: c.pool, enabled: c.enabled });
  for (const p of l.deleted_pools ?? [])
    s.set(`ClusterPool/${p.name}`, { ...flatten({ contract: p.contract }), deleted: true });
  for (const c of l.deleted_clusters ?? [])
    s.set(`Cluster/${c.name}`, { pool: c.pool, enabled: null, deleted: true });
  const queue = (q: Record<string, unknown>, deleted: boolean) =>
    s.set(`Queue/${String(q.name)}`, {
      ...Object.fromEntries(QUEUE_FIELDS.map((f) => [f, q[f] ?? null])),
      ...(deleted ? { deleted: true, state: null } : {}),
    });
  for (const q of l.queues) queue(q, false);
  for (const q of l.deleted_queues ?? []) queue(q, true);
  for (const a of l.assignments)
    s.set(assignmentAddress('PoolAssignment', a), { ...a, workflow: a.workflow ?? null });
  for (const d of l.default_queues ?? []) s.set(`DefaultQueue/${d.project}/${d.domain}`, { ...d });
  return s;
}

// --- file: the embedded store.

async function fileTarget(caps: CapabilityName[]): Promise<Target> {
  const dir = await mkdtemp(join(tmpdir(), 'poolsync-outside-file-'));
  const path = join(dir, 'cp.json');
  const capabilities = capabilitiesOf(caps);
  // The organisation exists before anything is applied to it (its default pool and queue).
  await (await EmbeddedControlPlane.open({ path, capabilities })).close();
  const withStore = async <T>(fn: (cp: EmbeddedControlPlane) => Promise<T>, readOnly = false) => {
    const cp = await EmbeddedControlPlane.open({ path, readOnly });
    try {
      return await fn(cp);
    } finally {
      await cp.close();
    }
  };
  const restLike = (cp: EmbeddedControlPlane) => ({
    createPool: (name: string, contract: never) => cp.createPool(name, contract),
    updatePool: (name: string, contract: never) => cp.updatePool(name, contract),
    deletePool: (name: string) => cp.deletePool(name),
    registerCluster: (name: string, pool: string) => cp.registerCluster({ name, pool }),
    updateCluster: (name: string, enabled: boolean) => cp.updateCluster(name, { enabled }),
    moveCluster: (name: string, pool: string) => cp.moveCluster(name, pool),
    deleteCluster: (name: string) => cp.deleteCluster(name),
    createQueue: (q: never) => cp.createQueue(q),
    getQueue: async (name: string) =>
      (await cp.getQueue(name)) as unknown as Record<string, unknown>,
    updateQueue: (name: string, spec: never) => cp.updateQueue(name, spec),
    drainQueue: (name: string) => cp.drainQueue(name),
    activateQueue: (name: string) => cp.activateQueue(name),
    deleteQueue: (name: string) => cp.deleteQueue(name),
    undeleteQueue: (name: string) => cp.undeleteQueue(name),
    listClusters: () => cp.listClusters(),
    setActivity: (name: string, done: boolean) => cp.setQueueActivity(name, workOf(done)),
    setAssignment: (a: never) => cp.setAssignment(a),
    deleteAssignment: (k: never) => cp.deleteAssignment(k),
    setDefaultQueue: (p: string, d: string, q: string) => cp.setDefaultQueue(p, d, q),
    deleteDefaultQueue: (p: string, d: string) => cp.deleteDefaultQueue(p, d),
  });
  return {
    backend: 'file',
    url: `file:${path}?capabilities=${formatCapabilities(capabilities)}`,
    env: {},
    observe: () =>
      withStore(
        async (cp) =>
          restSnapshot({
            pools: await cp.listPools(),
            clusters: await cp.listClusters(),
            queues: (await cp.listQueues()) as never,
            deleted_queues: (await cp.listDeletedQueues()) as never,
            deleted_pools: await cp.listDeletedPools(),
            deleted_clusters: await cp.listDeletedClusters(),
            assignments: await cp.listAssignments(),
            default_queues: await cp.listDefaultQueues(),
          }),
        true,
      ),
    edit: (e) => withStore((cp) => restEdit(restLike(cp), e)),
    close: () => rm(dir, { recursive: true, force: true }),
  };
}

function capabilitiesOf(caps: CapabilityName[]) {
  const parsed = parseCapabilities(caps.join(',') || 'none');
  if (!parsed.ok) throw new Error(parsed.error);
  return parsed.capabilities;
}

/** A queue's work in flight as its clusters report it: some, or none once done. */
const workOf = (done: boolean) =>
  done ? { runs_in_flight: 0, actions_in_flight: 0 } : { runs_in_flight: 1, actions_in_flight: 2 };

/** The edits poolsync's own API takes (the embedded store's calls, or the REST API's). */
interface RestCalls {
  createPool(name: string, contract: never): Promise<unknown>;
  updatePool(name: string, contract: never): Promise<unknown>;
  deletePool(name: string): Promise<unknown>;
  registerCluster(name: string, pool: string): Promise<unknown>;
  updateCluster(name: string, enabled: boolean): Promise<unknown>;
  moveCluster(name: string, pool: string): Promise<unknown>;
  deleteCluster(name: string): Promise<unknown>;
  createQueue(q: never): Promise<unknown>;
  getQueue(name: string): Promise<Record<string, unknown>>;
  updateQueue(name: string, spec: never): Promise<unknown>;
  drainQueue(name: string): Promise<unknown>;
  activateQueue(name: string): Promise<unknown>;
  deleteQueue(name: string): Promise<unknown>;
  undeleteQueue?(name: string): Promise<unknown>;
  listClusters(): Promise<{ name: string; pool: string }[]>;
  /** Work in flight on a queue (the simulation: what its clusters report), or none (`done`). */
  setActivity(name: string, done: boolean): Promise<unknown>;
  setAssignment(a: never): Promise<unknown>;
  deleteAssignment(k: never): Promise<unknown>;
  setDefaultQueue?(project: string, domain: string, queue: string): Promise<unknown>;
  deleteDefaultQueue?(project: string, domain: string): Promise<unknown>;
}

const PRIORITY_NAMES = ['min', 'medium', 'max'];
const FAIRNESS_NAMES = ['round_robin', 'shuffle_interleave'];

/** The cluster names a selector picks among `pool`'s members now (wildcard: `*`). */
async function selectorOf(
  calls: { listClusters(): Promise<{ name: string; pool: string }[]> },
  pool: string,
  wildcard: boolean,
  pick: number[],
) {
  if (wildcard) return ['*'];
  const members = (await calls.listClusters())
    .filter((c) => c.pool === pool)
    .map((c) => c.name)
    .sort();
  return [...new Set(pick.map((i) => members[i % Math.max(1, members.length)]!))].filter(Boolean);
}

async function restEdit(c: RestCalls, e: Edit): Promise<void> {
  const key = (x: { project: number; domain: number; workflow: boolean }) => ({
    project: PROJECTS[x.project]!,
    domain: DOMAINS[x.domain]!,
    workflow: x.workflow ? WORKFLOW : null,
  });
  switch (e.op) {
    case 'create_pool':
      await c.createPool(POOLS[e.pool]!, contractOf(POOLS[e.pool]!, e.version) as never);
      return;
    case 'update_pool':
      await c.updatePool(poolName(e.pool), contractOf(poolName(e.pool), e.version) as never);
      return;
    case 'delete_pool':
      await c.deletePool(poolName(e.pool));
      return;
    case 'register':
      await c.registerCluster(CLUSTERS[e.cluster]!, poolName(e.pool));
      return;
    case 'enable':
      await c.updateCluster(CLUSTERS[e.cluster]!, e.enabled);
      return;
    case 'move':
      await c.moveCluster(CLUSTERS[e.cluster]!, poolName(e.pool));
      return;
    case 'delete_cluster':
      await c.deleteCluster(CLUSTERS[e.cluster]!);
      return;
    case 'create_queue': {
      const pool = poolName(e.pool);
      await c.createQueue({
        name: QUEUES[e.queue]!,
        pool,
        clusters: await selectorOf(c, pool, e.wildcard, e.pick),
        run_concurrency: e.run,
        action_concurrency: e.run * 10,
      } as never);
      return;
    }
    case 'update_queue': {
      const name = QUEUE_TARGETS[e.queue]!;
      const q = await c.getQueue(name);
      const pool = e.pool === null ? (q.pool as string) : poolName(e.pool);
      const spec = {
        pool,
        clusters: e.selector
          ? await selectorOf(c, pool, e.selector.wildcard, e.selector.pick)
          : q.clusters,
        run_concurrency: e.run,
        action_concurrency: e.run * 10,
        depth: e.depth ? 500 : q.depth,
        priority: PRIORITY_NAMES[e.priority],
        fairness: FAIRNESS_NAMES[e.fairness],
      };
      await c.updateQueue(name, spec as never);
      return;
    }
    case 'drain':
      await c.drainQueue(QUEUE_TARGETS[e.queue]!);
      return;
    case 'work':
      await c.setActivity(QUEUE_TARGETS[e.queue]!, e.done === true);
      return;
    case 'activate':
      await c.activateQueue(QUEUE_TARGETS[e.queue]!);
      return;
    case 'delete_queue':
      await c.deleteQueue(QUEUE_TARGETS[e.queue]!);
      return;
    case 'undelete_queue':
      if (!c.undeleteQueue) throw new Error('no undelete in this API');
      await c.undeleteQueue(QUEUE_TARGETS[e.queue]!);
      return;
    case 'assign':
      await c.setAssignment({ ...key(e), pool: poolName(e.pool) } as never);
      return;
    case 'unassign':
      await c.deleteAssignment(key(e) as never);
      return;
    case 'setting': {
      if (e.scope !== 'project' || !c.setDefaultQueue || !c.deleteDefaultQueue)
        throw new Error('no such setting in this API');
      const [project, domain] = [PROJECTS[e.project]!, DOMAINS[e.domain]!];
      if (e.queue === null) await c.deleteDefaultQueue(project, domain);
      else await c.setDefaultQueue(project, domain, QUEUE_TARGETS[e.queue]!);
      return;
    }
    default:
      throw new Error(`no ${e.op} in this API`);
  }
}

// --- `poolsync control-plane serve`, in process.

interface Served {
  url: string;
  stop(): Promise<void>;
}

/** Runs `poolsync control-plane serve ARGS` in this process until stop(). */
async function serve(args: string[]): Promise<Served> {
  let stopListening: ((signal: NodeJS.Signals) => void) | null = null;
  let out = '';
  let err = '';
  let listening!: (url: string) => void;
  const url = new Promise<string>((resolve) => (listening = resolve));
  const io: Io = {
    stdout: {
      write: (t: string) => {
        out += t;
        const m = /listening on (http:\/\/\S+)/.exec(out);
        if (m) listening(m[1]!);
        return true;
      },
    },
    stderr: { write: (t: string) => ((err += t), true) },
    stdin: Readable.from([]),
    env: process.env,
    onSignal: (listener) => {
      stopListening = listener;
      return () => (stopListening = null);
    },
  };
  const done = main(
    ['control-plane', 'serve', '--listen', '127.0.0.1:0', '--log-level', 'error', ...args],
    io,
  );
  const first = await Promise.race([url, done.then((code) => `exit ${code}: ${err}`)]);
  if (!first.startsWith('http')) throw new Error(`control-plane serve: ${first}`);
  return {
    url: first,
    async stop() {
      (stopListening as ((s: NodeJS.Signals) => void) | null)?.('SIGTERM');
      await done;
    },
  };
}

async function restTarget(caps: CapabilityName[]): Promise<Target> {
  const dir = await mkdtemp(join(tmpdir(), 'poolsync-outside-rest-'));
  const capabilities = formatCapabilities(capabilitiesOf(caps));
  const served = await serve([
    '--state',
    join(dir, 'cp.json'),
    '--capabilities',
    capabilities,
    // The simulation's work in flight (Edit `work`).
    '--simulate',
  ]);
  const base = served.url;
  const call = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
    return text ? (JSON.parse(text) as unknown) : null;
  };
  const list = async <T>(path: string): Promise<T[]> => {
    const items: T[] = [];
    let token: string | null = null;
    do {
      const q: string = token ? `&page_token=${token}` : '';
      const page = (await call('GET', `${path}?limit=1000${q}`)) as {
        items: T[];
        next_page_token: string | null;
      };
      items.push(...page.items);
      token = page.next_page_token;
    } while (token);
    return items;
  };
  // Soft-deleted objects, where the API lists them (404: an API without them).
  const deletedList = <T>(kind: string) =>
    list<T>(`/v1/deleted/${kind}`).catch((e: Error) =>
      / 404 /.test(e.message) ? [] : Promise.reject(e),
    );
  const calls: RestCalls = {
    createPool: (name, contract) => call('POST', '/v1/pools', { name, contract }),
    updatePool: (name, contract) => call('PUT', `/v1/pools/${name}`, { contract }),
    deletePool: (name) => call('DELETE', `/v1/pools/${name}`),
    registerCluster: (name, pool) => call('POST', '/v1/clusters', { name, pool }),
    updateCluster: (name, enabled) => call('PATCH', `/v1/clusters/${name}`, { enabled }),
    moveCluster: (name, pool) => call('POST', `/v1/clusters/${name}/move`, { pool }),
    deleteCluster: (name) => call('DELETE', `/v1/clusters/${name}`),
    createQueue: (q) => call('POST', '/v1/queues', q),
    getQueue: async (name) => (await call('GET', `/v1/queues/${name}`)) as Record<string, unknown>,
    updateQueue: (name, spec) => call('PUT', `/v1/queues/${name}`, spec),
    drainQueue: (name) => call('POST', `/v1/queues/${name}/drain`),
    activateQueue: (name) => call('POST', `/v1/queues/${name}/activate`),
    deleteQueue: (name) => call('DELETE', `/v1/queues/${name}`),
    undeleteQueue: (name) => call('POST', `/v1/queues/${name}/undelete`),
    listClusters: () => list('/v1/clusters'),
    setActivity: (name, done) => call('POST', `/v1/sim/queues/${name}/activity`, workOf(done)),
    setAssignment: (a) => call('PUT', '/v1/assignments', a),
    deleteAssignment: (k: { project: string; domain: string; workflow: string | null }) =>
      call(
        'DELETE',
        `/v1/assignments?project=${k.project}&domain=${k.domain}${k.workflow ? `&workflow=${k.workflow}` : ''}`,
      ),
  };
  return {
    backend: 'rest',
    url: base,
    env: {},
    http: { base, via: (b) => ({ url: b, env: {} }), refusal: 'rest' },
    observe: async () =>
      restSnapshot({
        pools: await list('/v1/pools'),
        clusters: await list('/v1/clusters'),
        queues: await list('/v1/queues'),
        deleted_queues: await deletedList<Record<string, unknown>>('queues'),
        deleted_pools: await deletedList<{ name: string; contract: unknown }>('pools'),
        deleted_clusters: await deletedList<{ name: string; pool: string }>('clusters'),
        assignments: await list('/v1/assignments'),
      }),
    edit: (e) => restEdit(calls, e),
    async close() {
      await served.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

// --- Union's API (the stand-in served by `control-plane serve --oauth-client-file`).

const ORG = 'acme';
const CLIENT_ID = 'outside-observer';
const CLIENT_SECRET = 'outside-observer-secret';

/** A token from the server's OAuth2 endpoint (client credentials, client_secret_basic). */
async function token(base: string): Promise<string> {
  const meta = (await (await fetch(`${base}/.well-known/oauth-authorization-server`)).json()) as {
    token_endpoint: string;
  };
  const res = await fetch(meta.token_endpoint, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`${CLIENT_ID}:${CLIENT_SECRET}`).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: 'grant_type=client_credentials',
  });
  if (!res.ok) throw new Error(`token: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { access_token: string }).access_token;
}

const lower = (name: string | undefined) => (name ?? '').toLowerCase();
const DELETED = [{ function: 15, field: 'deleted_at', values: [] }];

function unionQueue(q: PbQueue): Fields {
  const spec = q.spec!;
  const deleted = q.deletedAt !== undefined;
  return flatten({
    pool: spec.clusterPoolName,
    clusters: [...spec.clusters],
    run_concurrency: spec.runConcurrency,
    action_concurrency: spec.actionConcurrency,
    depth: spec.depth,
    priority: lower(Priority[spec.priority]),
    fairness: lower(FairnessAlgorithm[spec.fairness]),
    max_resources: Object.fromEntries(
      spec.maxResources.map((e) => [lower(ResourceName[e.name]), e.value]),
    ),
    max_accelerators: Object.fromEntries(
      spec.maxAccelerators.map((c) => {
        const a = c.accelerator!;
        const partition =
          a.partitionSizeValue.case === 'partitionSize' ? `/${a.partitionSizeValue.value}` : '';
        return [
          `${lower(DeviceClass[a.deviceClass])}${a.device ? `/${a.device}` : ''}${partition}`,
          Number(c.count),
        ];
      }),
    ),
    scheduling: lower(SchedulingAlgorithm[spec.scheduling]),
    state: deleted ? null : lower(QueueState[q.status?.state ?? 0]),
    generation: Number(q.status?.stateGeneration ?? 0),
    ...(deleted ? { deleted: true } : {}),
  });
}

async function unionTarget(): Promise<Target> {
  const dir = await mkdtemp(join(tmpdir(), 'poolsync-outside-union-'));
  const client = join(dir, 'client.yaml');
  await writeFile(
    client,
    `client_id: ${CLIENT_ID}\nclient_secret: ${CLIENT_SECRET}\norg: ${ORG}\n`,
  );
  const served = await serve([
    '--state',
    join(dir, 'cp.json'),
    '--capabilities',
    formatCapabilities(UNION_CAPABILITIES),
    '--oauth-client-file',
    client,
    ...PROJECTS.flatMap((p) => ['--flyte-project', p]),
    // The simulation's work in flight (Edit `work`), on the REST side of the same port.
    '--simulate',
  ]);
  const base = served.url;
  const bearer = await token(base);
  const auth: Interceptor = (next) => (req) => {
    req.header.set('authorization', `Bearer ${bearer}`);
    return next(req);
  };
  const transport = createConnectTransport({
    baseUrl: base,
    httpVersion: '1.1',
    useBinaryFormat: true,
    interceptors: [auth],
  });
  const c = <S extends DescService>(s: S): Client<S> => createClient(s, transport);
  const queues = c(QueueService);
  const clusters = c(ClusterService);
  const pools = c(ClusterPoolService);
  const settings = c(SettingsService);
  const projects = c(ProjectService);
  const id = (name: string) => ({ organization: ORG, name });
  const listedClusters = async () =>
    (await clusters.listClusters({ organization: ORG, request: { limit: 1000 } })).clusters.map(
      (x) => ({
        name: x.spec!.id!.name,
        pool: x.pool?.name ?? '',
      }),
    );

  const observe = async (): Promise<Snapshot> => {
    const s: Snapshot = new Map();
    for (const deleted of [false, true]) {
      const request = { limit: 1000, filters: deleted ? DELETED : [] };
      for (const p of (await pools.list({ organization: ORG, request })).clusterPools) {
        const cfg = p.config!;
        s.set(`ClusterPool/${p.id!.name}`, {
          ...flatten({
            contract: {
              object_store_ref: {
                uri: cfg.objectStoreRef?.uri ?? '',
                endpoint: cfg.objectStoreRef?.endpoint ?? '',
              },
              secret_store: {
                type: SecretStore_SecretStoreType[cfg.secretStore?.type ?? 0],
                locator: cfg.secretStore?.locator ?? '',
              },
              image_registry: cfg.imageRegistry?.locator
                ? { locator: cfg.imageRegistry.locator }
                : null,
            },
          }),
          ...(deleted ? { deleted: true } : {}),
        });
      }
      for (const cl of (await clusters.listClusters({ organization: ORG, request })).clusters) {
        const state = cl.drainStatus?.overallState ?? ClusterState.UNSPECIFIED;
        s.set(`Cluster/${cl.spec!.id!.name}`, {
          pool: cl.pool?.name ?? '',
          enabled: deleted
            ? null
            : state === ClusterState.ACTIVE || state === ClusterState.UNSPECIFIED,
          generation: Number(cl.drainStatus?.generation ?? 0),
          // DELETING: a delete under way (the drain state is poolsync's `enabled`).
          ...(state === ClusterState.DELETING ? { deleting: true } : {}),
          ...(deleted ? { deleted: true } : {}),
        });
      }
      for (const q of (await queues.listQueues({ organization: ORG, request })).queues)
        s.set(`Queue/${q.id!.name}`, unionQueue(q));
    }
    // Every settings level of every project/domain Union lists, and the broader ones.
    const listed = (await projects.listProjects({ org: ORG, limit: 100 })).projects?.projects ?? [];
    const levels = new Map<string, Settings | undefined>();
    for (const p of listed)
      for (const d of p.domains) {
        const res = await settings.getSettingsForEdit({
          key: { org: ORG, domain: d.id, project: p.id },
        });
        for (const l of res.levels)
          levels.set(`${l.key?.domain ?? ''}/${l.key?.project ?? ''}`, l.settings);
      }
    if (listed.length === 0) {
      const res = await settings.getSettingsForEdit({ key: { org: ORG } });
      for (const l of res.levels) levels.set('/', l.settings);
    }
    // A project/domain's run.default_queue is poolsync's DefaultQueue; the rest of every level
    // (the broader levels' default queue, every level's service account) is not: it never changes.
    for (const [key, st] of levels) {
      const [domain, project] = key.split('/') as [string, string];
      const dq = st?.run?.defaultQueue;
      const queue = dq?.state === SettingState.VALUE ? dq.stringValue : null;
      const scope =
        project !== ''
          ? `project/${project}/${domain}`
          : domain !== ''
            ? `domain/${domain}`
            : 'org';
      if (project !== '' && queue !== null)
        s.set(`DefaultQueue/${project}/${domain}`, { project, domain, queue });
      const rest = { ...(project === '' ? { queue } : {}), service_account: serviceAccountOf(st) };
      // A level with nothing set is no record of its own (its version alone changes).
      if (Object.values(rest).some((v) => v !== null)) s.set(`Settings/${scope}`, rest);
    }
    return s;
  };

  const queueNamed = async (name: string) => (await queues.getQueue({ id: id(name) })).queue!;
  const edit = async (e: Edit): Promise<void> => {
    switch (e.op) {
      case 'create_pool':
      case 'update_pool': {
        const name = e.op === 'create_pool' ? POOLS[e.pool]! : poolName(e.pool);
        const k = contractOf(name, e.version);
        const clusterPool = {
          id: id(name),
          config: {
            objectStoreRef: { uri: k.object_store_ref.uri },
            secretStore: {
              type: SecretStore_SecretStoreType.AWS_SECRETS_MANAGER,
              locator: k.secret_store.locator,
            },
          },
        };
        if (e.op === 'create_pool') await pools.create({ clusterPool });
        else await pools.update({ clusterPool });
        return;
      }
      case 'delete_pool':
        await pools.delete({ id: id(poolName(e.pool)) });
        return;
      case 'undelete_pool':
        await pools.undelete({ id: id(poolName(e.pool)) });
        return;
      case 'register':
        await clusters.createCluster({
          clusterId: id(CLUSTERS[e.cluster]!),
          clusterPoolName: poolName(e.pool),
        });
        return;
      case 'enable':
      case 'delete_cluster': {
        // As Union's client does: the generation read first (remote/_cluster.py:380-387).
        const clusterId = id(CLUSTERS[e.cluster]!);
        const now = (await clusters.getCluster({ clusterId, includeDeleted: true })).cluster;
        const expectedGeneration = now?.drainStatus?.generation ?? 0n;
        if (e.op === 'delete_cluster')
          await clusters.deleteCluster({ clusterId, expectedGeneration });
        else
          await clusters.updateClusterState({
            clusterId,
            state: e.enabled ? ClusterState.ACTIVE : ClusterState.DRAINING,
            expectedGeneration,
          });
        return;
      }
      case 'move':
        await clusters.updateCluster({
          clusterId: id(CLUSTERS[e.cluster]!),
          clusterPoolName: poolName(e.pool),
        });
        return;
      case 'undelete_cluster':
        await clusters.undeleteCluster({ clusterId: id(CLUSTERS[e.cluster]!) });
        return;
      case 'create_queue': {
        const pool = poolName(e.pool);
        await queues.createQueue({
          id: id(QUEUES[e.queue]!),
          spec: {
            clusterPoolName: pool,
            clusters: await selectorOf({ listClusters: listedClusters }, pool, e.wildcard, e.pick),
            runConcurrency: e.run,
            actionConcurrency: e.run * 10,
            depth: 10000,
            priority: Priority.MEDIUM,
            fairness: FairnessAlgorithm.ROUND_ROBIN,
            scheduling: SchedulingAlgorithm.STRICT_FIFO,
          },
          state: QueueState.ACTIVE,
        });
        return;
      }
      case 'update_queue': {
        // Union's client: read, change the fields given, send the whole spec (remote/_queue.py:884-919).
        const q = await queueNamed(QUEUE_TARGETS[e.queue]!);
        const spec = q.spec!;
        spec.runConcurrency = e.run;
        spec.actionConcurrency = e.run * 10;
        spec.priority = [Priority.MIN, Priority.MEDIUM, Priority.MAX][e.priority]!;
        spec.fairness = [FairnessAlgorithm.ROUND_ROBIN, FairnessAlgorithm.SHUFFLE_INTERLEAVE][
          e.fairness
        ]!;
        if (e.depth) spec.depth = 500;
        if (e.pool !== null) spec.clusterPoolName = poolName(e.pool);
        if (e.selector)
          spec.clusters = await selectorOf(
            { listClusters: listedClusters },
            spec.clusterPoolName,
            e.selector.wildcard,
            e.selector.pick,
          );
        if (e.caps) {
          // As Union's client writes `--max-accelerators SELECTOR=2 --scheduling POLICY`.
          const [cls, device] = ACCELERATORS[e.caps.accelerator]!.split('/') as [string, string?];
          spec.maxAccelerators = [
            create(AcceleratorCapacitySchema, {
              accelerator: {
                deviceClass: DeviceClass[
                  cls.toUpperCase() as keyof typeof DeviceClass
                ] as DeviceClass,
                device: device ? (canonicalDevice(device) ?? device) : '',
                partitionSizeValue: { case: 'unpartitioned', value: true },
              },
              count: 2n,
            }),
          ];
          spec.scheduling = [SchedulingAlgorithm.STRICT_FIFO, SchedulingAlgorithm.GREEDY_CAPACITY][
            e.caps.scheduling
          ]!;
        }
        await queues.updateQueue({ id: q.id, spec });
        return;
      }
      case 'drain':
      case 'activate':
      case 'delete_queue': {
        const q = await queueNamed(QUEUE_TARGETS[e.queue]!);
        const expectedStateGeneration = q.status?.stateGeneration ?? 0n;
        if (e.op === 'delete_queue')
          await queues.deleteQueue({ id: q.id, expectedStateGeneration });
        else
          await queues.updateQueueState({
            id: q.id,
            state: e.op === 'drain' ? QueueState.DRAINING : QueueState.ACTIVE,
            expectedStateGeneration,
          });
        return;
      }
      case 'undelete_queue':
        await queues.undeleteQueue({ id: id(QUEUE_TARGETS[e.queue]!) });
        return;
      case 'work': {
        // What the queue's clusters report, not a client's call: the simulation's endpoint.
        const res = await fetch(`${base}/v1/sim/queues/${QUEUE_TARGETS[e.queue]!}/activity`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(workOf(e.done === true)),
        });
        if (!res.ok) throw new Error(`work: ${res.status} ${await res.text()}`);
        return;
      }
      case 'setting': {
        // As Union's client edits a level: read it for edit, write it whole with its version.
        const key = {
          org: ORG,
          domain: e.scope === 'org' ? '' : DOMAINS[e.domain]!,
          project: e.scope === 'project' ? PROJECTS[e.project]! : '',
        };
        const res = await settings.getSettingsForEdit({ key });
        const own = res.levels.find(
          (l) => l.key?.domain === key.domain && l.key?.project === key.project,
        );
        const next = create(SettingsSchema, {
          ...(e.queue === null
            ? {}
            : {
                run: {
                  defaultQueue: { state: SettingState.VALUE, stringValue: QUEUE_TARGETS[e.queue]! },
                },
              }),
        });
        if (e.account) withServiceAccount(next, `${key.project || key.domain || 'org'}-sa`);
        if (own) await settings.updateSettings({ key, settings: next, version: own.version });
        else await settings.createSettings({ key, settings: next });
        return;
      }
      default:
        throw new Error(`no ${e.op} in Union's API`);
    }
  };
  const via = (b: string) => ({
    url: `union+${b}`,
    env: {
      POOLSYNC_UNION_API_KEY: Buffer.from(
        `${new URL(b).host}:${CLIENT_ID}:${CLIENT_SECRET}:${ORG}`,
      ).toString('base64'),
    },
  });
  return {
    backend: 'union',
    ...via(base),
    http: { base, via, refusal: 'connect' },
    observe,
    edit,
    async close() {
      await served.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export async function startTarget(backend: BackendName, caps: CapabilityName[]): Promise<Target> {
  switch (backend) {
    case 'file':
      return fileTarget(caps);
    case 'rest':
      return restTarget(caps);
    case 'union':
      return unionTarget();
    case 'flyteadmin':
      throw new Error('flyteadmin: flyteadminTarget (flyteadmin.ts)');
  }
}
