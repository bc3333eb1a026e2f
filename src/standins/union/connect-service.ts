/**
 * Union's API (cloudidl.queue.QueueService, cloudidl.cluster.ClusterService,
 * flyteidl2.settings.SettingsService, flyteidl2.project.ProjectService; messages in src/gen/)
 * served over an embedded control plane, so the `union` backend is tested end to end through
 * the real client library and both wire protocols (Connect and gRPC). Calls need a token of the
 * stand-in OAuth2 server (standins/oauth/server.ts) in its discovered header, and must name its organisation.
 *
 * The embedded control plane has no project registry: ListProjects reports the project/domains
 * that have a default-queue setting. It keeps settings per project/domain only, and only
 * run.default_queue (docs/union.md).
 *
 * What each call does follows (real-apis.md §1, §4):
 *  - services, messages, field numbers: the descriptors Union publishes in its Terraform
 *    providers (unionai/terraform-provider-enterprise proto/union/queue/queue.pb.go and
 *    queueconnect/queue.connect.go; unionai/terraform-provider-unionai
 *    proto/union/cluster/{cluster,definition}.pb.go), settings and projects from
 *    @flyteorg/flyteidl2 (flyteidl2/settings/settings_service.proto, project/project_service.proto);
 *  - UpdateQueue replaces the whole spec, the fields beyond poolsync's 7 included (Union docs,
 *    "cluster workload management / resource caps and scheduling");
 *  - UpdateQueueState: draining `default` or a queue a run.default_queue setting names is
 *    FAILED_PRECONDITION; a drained queue may move to another pool (Union docs, queues page);
 *  - DeleteCluster takes the co-named queue with it (Union docs, clusters page);
 *  - the token in the discovered authorization_metadata_key header (terraform-provider-unionai
 *    internal/provider/oauth.go).
 */
import { create } from '@bufbuild/protobuf';
import { Code, ConnectError, type ConnectRouter, type Interceptor } from '@connectrpc/connect';
import {
  QUEUE_DEFAULTS,
  type Fairness,
  type Priority,
  type QueueSpec,
} from '../../model/common.js';
import type { LiveCluster, LiveQueue } from '../../model/live.js';
import { ClusterService } from '../../gen/cloudidl/cluster/cluster_pb.js';
import { ClusterSchema, State, Status_Health } from '../../gen/cloudidl/cluster/definition_pb.js';
import {
  FairnessAlgorithm,
  Priority as PbPriority,
  QueueService,
  QueueSchema,
  QueueState,
  type QueueSpec as PbQueueSpec,
} from '../../gen/cloudidl/queue/queue_pb.js';
import { ProjectService } from '../../gen/flyteidl2/project/project_service_pb.js';
import {
  ScopeLevel,
  SettingState,
  type Settings,
  type SettingsKey,
} from '../../gen/flyteidl2/settings/settings_definition_pb.js';
import {
  SettingsRecordSchema,
  SettingsService,
  type SettingsRecord,
} from '../../gen/flyteidl2/settings/settings_service_pb.js';
import { ControlPlaneError, type ControlPlaneErrorCode } from '../../controlplane/errors.js';
import type { EmbeddedControlPlane } from '../../controlplane/embedded/embedded.js';
import { QueueExtras } from './queue-extras.js';

export interface UnionServiceOptions {
  /** The store the services read and write (Union's state, as the embedded control plane keeps it). */
  controlPlane: EmbeddedControlPlane;
  org: string;
  /** Largest page served (ListQueues, ListClusters, ListProjects). */
  maxPageSize?: number;
  /** Interval of WatchQueueMetrics messages. */
  metricsIntervalMs?: number;
  /** Queue fields beyond the 7 of poolsync's QueueSpec (queue-extras.ts). */
  queueExtras?: QueueExtras;
}

const CODES: Record<ControlPlaneErrorCode, Code> = {
  INVALID_ARGUMENT: Code.InvalidArgument,
  NOT_FOUND: Code.NotFound,
  ALREADY_EXISTS: Code.AlreadyExists,
  FAILED_PRECONDITION: Code.FailedPrecondition,
  UNAUTHENTICATED: Code.Unauthenticated,
  UNAVAILABLE: Code.Unavailable,
};

/** ControlPlaneError → the gRPC status Union would answer, with the same message. */
export const errorInterceptor: Interceptor = (next) => async (req) => {
  try {
    return await next(req);
  } catch (err) {
    if (err instanceof ControlPlaneError) throw new ConnectError(err.message, CODES[err.code]);
    throw err;
  }
};

const PRIORITY: Record<Priority, PbPriority> = {
  min: PbPriority.MIN,
  medium: PbPriority.MEDIUM,
  max: PbPriority.MAX,
};
const FAIRNESS: Record<Fairness, FairnessAlgorithm> = {
  round_robin: FairnessAlgorithm.ROUND_ROBIN,
  shuffle_interleave: FairnessAlgorithm.SHUFFLE_INTERLEAVE,
};
const QUEUE_STATE = {
  active: QueueState.ACTIVE,
  draining: QueueState.DRAINING,
  drained: QueueState.DRAINED,
} as const;

function specFromPb(s: PbQueueSpec | undefined, requirePool: boolean): QueueSpec {
  if (requirePool && !s?.clusterPoolName)
    throw new ConnectError(
      'UpdateQueue replaces the whole spec: cluster_pool_name is required',
      Code.InvalidArgument,
    );
  const priority = (Object.keys(PRIORITY) as Priority[]).find((k) => PRIORITY[k] === s?.priority);
  const fairness = (Object.keys(FAIRNESS) as Fairness[]).find((k) => FAIRNESS[k] === s?.fairness);
  return {
    pool: s?.clusterPoolName || 'default',
    clusters: [...(s?.clusters ?? [])],
    run_concurrency: s?.runConcurrency ?? 0,
    action_concurrency: s?.actionConcurrency ?? 0,
    depth: s?.depth ?? 0,
    priority: priority ?? QUEUE_DEFAULTS.priority,
    fairness: fairness ?? QUEUE_DEFAULTS.fairness,
  };
}

function queueToPb(q: LiveQueue, org: string) {
  return create(QueueSchema, {
    id: { organization: org, name: q.name },
    spec: {
      runConcurrency: q.run_concurrency,
      actionConcurrency: q.action_concurrency,
      depth: q.depth,
      priority: PRIORITY[q.priority],
      fairness: FAIRNESS[q.fairness],
      clusters: q.clusters,
      clusterPoolName: q.pool,
    },
    status: {
      state: QUEUE_STATE[q.state ?? 'active'],
      availableClusters: q.available_clusters.map((name) => ({ organization: org, name })),
    },
  });
}

function clusterToPb(c: LiveCluster, org: string) {
  const state = c.enabled ? State.ENABLED : State.DISABLED;
  return create(ClusterSchema, {
    spec: { id: { organization: org, name: c.name }, state },
    status: {
      health:
        c.health === 'healthy'
          ? Status_Health.HEALTHY
          : c.health === 'unhealthy'
            ? Status_Health.UNHEALTHY
            : Status_Health.UNKNOWN,
      state,
      unhealthyReasons: c.unhealthy_reasons,
    },
    pool: { organization: org, name: c.pool },
  });
}

/** Page after `token` (the last name of the previous page). */
function page<T>(items: T[], nameOf: (t: T) => string, limit: number, token: string, max: number) {
  const size = Math.min(limit > 0 ? limit : 100, max);
  const start = token === '' ? 0 : items.findIndex((i) => nameOf(i) > token);
  const from = start < 0 ? items.length : start;
  const slice = items.slice(from, from + size);
  const more = from + size < items.length;
  return { items: slice, token: more ? nameOf(slice[slice.length - 1]!) : '' };
}

const byName = <T extends { name: string }>(a: T, b: T) => (a.name < b.name ? -1 : 1);

export function unionRoutes(opts: UnionServiceOptions): (router: ConnectRouter) => void {
  const cp = opts.controlPlane;
  const org = opts.org;
  const max = opts.maxPageSize ?? 1000;
  const interval = opts.metricsIntervalMs ?? 1000;
  const extras = opts.queueExtras ?? new QueueExtras();
  /** A queue as Union sends it: the 7 fields, plus the fields beyond them it keeps. */
  const queuePb = (q: LiveQueue) => {
    const m = queueToPb(q, org);
    extras.attach(q.name, m.spec);
    return m;
  };
  const checkOrg = (given: string | undefined) => {
    if (given !== org)
      throw new ConnectError(
        `organization "${given ?? ''}" is not served here (the API key's organization must be "${org}")`,
        Code.PermissionDenied,
      );
  };
  const projectKey = (key: SettingsKey | undefined) => {
    checkOrg(key?.org);
    if (!key?.project || !key.domain)
      throw new ConnectError(
        'the embedded control plane keeps settings per project and domain only (org, domain and project in the key)',
        Code.InvalidArgument,
      );
    return { project: key.project, domain: key.domain };
  };
  /** Versions of project/domain settings levels, for optimistic locking (in memory). */
  const versions = new Map<string, bigint>();
  const record = async (key: SettingsKey): Promise<SettingsRecord> => {
    const { project, domain } = projectKey(key);
    const dq = (await cp.listDefaultQueues()).find(
      (d) => d.project === project && d.domain === domain,
    );
    const id = `${project}/${domain}`;
    if (dq && !versions.has(id)) versions.set(id, 1n);
    return create(SettingsRecordSchema, {
      key: { org, project, domain },
      settings: dq
        ? {
            run: {
              defaultQueue: {
                state: SettingState.VALUE,
                stringValue: dq.queue,
                scopeLevel: ScopeLevel.PROJECT,
              },
            },
          }
        : {},
      version: dq ? versions.get(id)! : 0n,
    });
  };
  const apply = async (key: SettingsKey, settings: Settings | undefined) => {
    const { project, domain } = projectKey(key);
    const dq = settings?.run?.defaultQueue;
    if (dq?.state === SettingState.VALUE) await cp.setDefaultQueue(project, domain, dq.stringValue);
    else await cp.deleteDefaultQueue(project, domain);
    const id = `${project}/${domain}`;
    versions.set(id, (versions.get(id) ?? 0n) + 1n);
    return record(key);
  };

  return (router) => {
    router.service(QueueService, {
      async listQueues(req) {
        checkOrg(req.organization);
        const all = (await cp.listQueues()).sort(byName);
        const p = page(all, (q) => q.name, req.request?.limit ?? 0, req.request?.token ?? '', max);
        return { queues: p.items.map(queuePb), token: p.token };
      },
      async getQueue(req) {
        checkOrg(req.id?.organization);
        return { queue: queuePb(await cp.getQueue(req.id?.name ?? '')) };
      },
      async createQueue(req) {
        checkOrg(req.id?.organization);
        const spec = specFromPb(req.spec, false);
        const q = await cp.createQueue({ name: req.id?.name ?? '', ...spec });
        extras.replace(q.name, req.spec);
        return { queue: queuePb(q) };
      },
      async updateQueue(req) {
        checkOrg(req.id?.organization);
        // Union replaces the whole spec: the fields beyond 7 become exactly what was sent.
        const q = await cp.updateQueue(req.id?.name ?? '', specFromPb(req.spec, true));
        extras.replace(q.name, req.spec);
        return { queue: queuePb(q) };
      },
      async updateQueueState(req) {
        checkOrg(req.id?.organization);
        const name = req.id?.name ?? '';
        const q =
          req.state === QueueState.DRAINING
            ? await cp.drainQueue(name)
            : req.state === QueueState.ACTIVE
              ? await cp.activateQueue(name)
              : null;
        if (!q)
          throw new ConnectError(
            'state must be QUEUE_STATE_DRAINING or QUEUE_STATE_ACTIVE',
            Code.InvalidArgument,
          );
        return { queue: queuePb(q) };
      },
      async *watchQueueMetrics(req, ctx) {
        checkOrg(req.poolId?.organization);
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
          await new Promise<void>((resolve) => {
            const t = setTimeout(resolve, interval);
            ctx.signal.addEventListener('abort', () => (clearTimeout(t), resolve()), {
              once: true,
            });
          });
          if (ctx.signal.aborted) return;
        }
      },
    });
    router.service(ClusterService, {
      async listClusters(req) {
        checkOrg(req.organization);
        const all = (await cp.listClusters()).sort(byName);
        const p = page(all, (c) => c.name, req.request?.limit ?? 0, req.request?.token ?? '', max);
        return { clusters: p.items.map((c) => clusterToPb(c, org)), token: p.token };
      },
      async getCluster(req) {
        checkOrg(req.clusterId?.organization);
        return { cluster: clusterToPb(await cp.getCluster(req.clusterId?.name ?? ''), org) };
      },
      async deleteCluster(req) {
        checkOrg(req.clusterId?.organization);
        const name = req.clusterId?.name ?? '';
        await cp.deleteCluster(name);
        // Union today: the co-named queue went with the cluster (queue_delete); so do its extras.
        await cp.getQueue(name).catch((err: unknown) => {
          if (err instanceof ControlPlaneError && err.code === 'NOT_FOUND') extras.forget(name);
        });
        return {};
      },
    });
    router.service(ProjectService, {
      async listProjects(req) {
        checkOrg(req.org);
        const domains = new Map<string, Set<string>>();
        for (const d of await cp.listDefaultQueues()) {
          domains.set(d.project, (domains.get(d.project) ?? new Set()).add(d.domain));
        }
        const all = [...domains.entries()]
          .map(([id, ds]) => ({
            id,
            name: id,
            org,
            domains: [...ds].sort().map((d) => ({ id: d, name: d })),
          }))
          .sort((a, b) => (a.id < b.id ? -1 : 1));
        const p = page(all, (x) => x.id, req.limit, req.token, max);
        return { projects: { projects: p.items, token: p.token } };
      },
    });
    router.service(SettingsService, {
      async getSettings(req) {
        return { settingsRecord: await record(req.key!) };
      },
      async getSettingsForEdit(req) {
        const level = await record(req.key!);
        return { requestedKey: req.key, levels: level.version > 0n ? [level] : [] };
      },
      async createSettings(req) {
        const current = await record(req.key!);
        if (current.version > 0n)
          throw new ConnectError(
            'settings exist at this level: use UpdateSettings',
            Code.AlreadyExists,
          );
        return { settingsRecord: await apply(req.key!, req.settings) };
      },
      async updateSettings(req) {
        const current = await record(req.key!);
        if (current.version !== req.version)
          throw new ConnectError(
            `version ${req.version} is not the current version ${current.version} of these settings: read them again`,
            Code.Aborted,
          );
        return { settingsRecord: await apply(req.key!, req.settings) };
      },
    });
  };
}
