/**
 * Union's API (cloudidl.queue.QueueService, cloudidl.cluster.ClusterService,
 * flyteidl2.settings.SettingsService, flyteidl2.project.ProjectService; messages in src/gen/)
 * served over an embedded control plane, so the `union` backend is tested end to end through
 * the real client library and both wire protocols (Connect and gRPC). Calls need a token of the
 * stand-in OAuth2 server (standins/oauth/server.ts) in its discovered header, and must name its organisation.
 *
 * The embedded control plane has no project registry: ListProjects reports the project/domains
 * that have a project/domain default-queue setting. Settings: settings-service.ts (run.default_queue
 * only, at organisation, domain and project/domain scope; docs/union.md).
 *
 * Queues: queue-service.ts; clusters and cluster pools: cluster-service.ts; what the stand-in
 * keeps beside the embedded store (generations, soft-deleted clusters and pools): lifecycle.ts.
 * Definitions: proto/, from Union's own client (flyteplugins-union 0.19.1), whose behaviour the
 * stand-in follows and is tested against (test/controlplane/union/flyte-cli.e2e.test.ts).
 * Settings and projects from flyteidl2 (settings_service.proto, project_service.proto); the token
 * in the discovered authorization_metadata_key header (terraform-provider-unionai
 * internal/provider/oauth.go).
 */
import { Code, ConnectError, type ConnectRouter, type Interceptor } from '@connectrpc/connect';
import { ProjectService } from '../../gen/flyteidl2/project/project_service_pb.js';
import { ControlPlaneError, type ControlPlaneErrorCode } from '../../controlplane/errors.js';
import type { EmbeddedControlPlane } from '../../controlplane/embedded/embedded.js';
import { QueueExtras } from './queue-extras.js';
import { Lifecycle } from './lifecycle.js';
import { page } from './pb-views.js';
import { queueRoutes, type ServiceContext } from './queue-service.js';
import { clusterRoutes } from './cluster-service.js';
import { BroadScopeSettings, settingsRoutes } from './settings-service.js';

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
  /** Generations and soft-deleted clusters and pools (lifecycle.ts). */
  lifecycle?: Lifecycle;
  /** How long DeleteCluster leaves an active cluster DELETING (lifecycle.ts; default 0). */
  deletingMs?: number;
  /** `run.default_queue` at organisation and domain scope (settings-service.ts). */
  broadScopeSettings?: BroadScopeSettings;
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

export function unionRoutes(opts: UnionServiceOptions): (router: ConnectRouter) => void {
  const cp = opts.controlPlane;
  const org = opts.org;
  const max = opts.maxPageSize ?? 1000;
  const extras = opts.queueExtras ?? new QueueExtras();
  const checkOrg = (given: string | undefined) => {
    if (given !== org)
      throw new ConnectError(
        `organization "${given ?? ''}" is not served here (the API key's organization must be "${org}")`,
        Code.PermissionDenied,
      );
  };
  const broad = opts.broadScopeSettings ?? new BroadScopeSettings();
  const services: ServiceContext = {
    cp,
    org,
    max,
    extras,
    life: opts.lifecycle ?? new Lifecycle(opts.deletingMs ?? 0),
    broad,
    checkOrg,
    metricsIntervalMs: opts.metricsIntervalMs ?? 1000,
  };
  return (router) => {
    queueRoutes(services)(router);
    clusterRoutes(services)(router);
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
    settingsRoutes({ cp, org, broad, checkOrg })(router);
  };
}
