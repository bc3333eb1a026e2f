/**
 * The flyteadmin backend (`flyteadmin+https://HOST`): poolsync's ControlPlane over flyteadmin's
 * REST gateway (real-apis.md §2). flyteadmin keeps matchable attributes, not pools, clusters
 * or queues, so:
 *  - PoolAssignment ↔ CLUSTER_ASSIGNMENT (`cluster_assignment.cluster_pool_name`, Union
 *    self-managed's `uctl update cluster-pool-attributes`);
 *  - ExecutionClusterLabel ↔ EXECUTION_CLUSTER_LABEL (`flytectl update execution-cluster-label`);
 *  - both read and written by attributes.ts: every row is read, the project/domain and
 *    workflow levels are managed, the others (project-wide, launch plan) reported;
 *  - flyteadminState() adds what the planner needs beyond them (FlyteadminLive): those other
 *    rows, the registered projects and domains (projects.ts), and the labelClusterMap
 *    flyteadmin runs with (deployed-config.ts);
 *  - it has no pool, cluster, queue or capability calls (flyteadmin has none of them), so a
 *    live state read from it has none. ExecutionCluster, ClusterLabel, ClusterPool and Cluster
 *    are configuration (Helm values, Union's pool mapping): the plan leaves them out and
 *    `poolsync render` writes them.
 * Only project-domain and project-domain-workflow attributes are written: project-wide, global
 * and launch-plan attributes are not poolsync's to manage and are left alone (but a delete may
 * take them along, which the plan shows: plan/flyteadmin.ts).
 */
import type { KubeConfig } from '@kubernetes/client-node';
import {
  address,
  assignmentKeyString,
  type Assignment,
  type AssignmentKey,
} from '../../model/common.js';
import {
  attributeRowKey,
  type AttributeRow,
  type ExecutionClusterLabel,
  type FlyteadminLive,
} from '../../model/flyte.js';
import type { LiveAssignment } from '../../model/live.js';
import { Reach } from '../../util/reach.js';
import { ControlPlaneError, type ControlPlaneErrorCode } from '../errors.js';
import { JsonHttp, type ErrorBody } from '../json-http.js';
import { retryPolicy, type ClientTuning } from '../opener.js';
import type {
  AssignmentCalls,
  BackendProfile,
  ControlPlane,
  ExecutionClusterLabelCalls,
} from '../types.js';
import { FlyteadminAttributes } from './attributes.js';
import { flyteTokenSource, type ClientCredentials } from './auth.js';
import { readDeployedConfig, type ConfigMapRef } from './deployed-config.js';
import { listDomains, listProjects } from './projects.js';

export interface FlyteadminOptions extends ClientTuning {
  /** OAuth2 client credentials; null or absent: no auth (flyteadmin with useAuth off). */
  credentials?: ClientCredentials | null | undefined;
  /** flyteidl's `org`, sent on every call and matched on every row read ('' or absent: none). */
  org?: string | undefined;
  /** Where flyteadmin's cluster configuration is read from (null or absent: not read). */
  clustersConfigMap?: ConfigMapRef | null | undefined;
  /** The Kubernetes credentials for it (default: in-cluster service account or KUBECONFIG). */
  kubeConfig?: (() => Promise<KubeConfig>) | undefined;
}

/** gRPC status code (grpc-gateway's error body `code`) → ControlPlaneError code. */
const GRPC_CODES: Record<number, ControlPlaneErrorCode> = {
  3: 'INVALID_ARGUMENT',
  5: 'NOT_FOUND',
  6: 'ALREADY_EXISTS',
  7: 'UNAUTHENTICATED',
  9: 'FAILED_PRECONDITION',
  14: 'UNAVAILABLE',
  16: 'UNAUTHENTICATED',
};

export class FlyteadminControlPlane implements ControlPlane {
  readonly backend: BackendProfile = {
    name: 'flyteadmin',
    configKinds: ['ExecutionCluster', 'ClusterLabel', 'ClusterPool', 'Cluster'],
  };
  // flyteadmin keeps matchable attributes only: no pools, clusters, queues or capabilities.
  readonly assignments: AssignmentCalls = this;
  readonly executionClusterLabels: ExecutionClusterLabelCalls = this;
  private readonly http: JsonHttp;
  private readonly attributes: FlyteadminAttributes;
  private readonly org: string;
  private readonly clustersConfigMap: ConfigMapRef | null;
  private readonly kubeConfig: () => Promise<KubeConfig>;
  private kube: Promise<KubeConfig> | null = null;

  /** `baseUrl` is the http(s) URL of flyteadmin (without the `flyteadmin+` prefix or a query). */
  constructor(baseUrl: string, opts: FlyteadminOptions = {}) {
    const requestTimeoutMs = opts.requestTimeoutMs ?? 30_000;
    const reach = new Reach();
    // Each OAuth2 request is tried once: the call's retry loop retries what is transient (no
    // answer, 5xx, a body cut off) with this client's policy, as for its own calls.
    const tokens = opts.credentials
      ? flyteTokenSource(new URL(baseUrl).origin, opts.credentials, {
          timeoutMs: requestTimeoutMs,
          retry: { maxRetries: 0, minDelayMs: 0, maxDelayMs: 0 },
          reach,
        })
      : null;
    this.http = new JsonHttp(baseUrl, {
      service: 'flyteadmin',
      label: (method, path) => `flyteadmin ${method} ${path}`,
      apiError: (method, path, status, body) => apiError(method, path, status, body, !!tokens),
      // flyteadmin's HTTP gateway reads `Authorization: Bearer` in every configuration
      // (auth/handlers.go); a refused token is fetched anew once.
      auth: tokens
        ? {
            header: async () => `Bearer ${await tokens.token()}`,
            refused: () => tokens.invalidate(),
          }
        : undefined,
      retry: retryPolicy(opts, { maxRetries: 6, minDelayMs: 100, maxDelayMs: 10_000 }),
      requestTimeoutMs,
      connectTimeoutMs: opts.connectTimeoutMs,
      connections: opts.connections ?? 32,
      onPace: opts.onPace,
      clock: opts.clock,
      reach,
    });
    this.org = opts.org ?? '';
    this.attributes = new FlyteadminAttributes(this.http, this.org);
    this.clustersConfigMap = opts.clustersConfigMap ?? null;
    this.kubeConfig =
      opts.kubeConfig ?? (async () => (await import('../../lease/k8s-lease.js')).loadKubeConfig());
  }

  get url(): string {
    const query = new URLSearchParams();
    if (this.org !== '') query.set('org', this.org);
    if (this.clustersConfigMap)
      query.set(
        'clusters-configmap',
        `${this.clustersConfigMap.namespace}/${this.clustersConfigMap.name}`,
      );
    const q = query.toString();
    return `flyteadmin+${this.http.url}${q ? `?${q}` : ''}`;
  }

  /** What the planner needs beyond the managed rows (docs/flyte-oss.md). */
  async flyteadminState(): Promise<FlyteadminLive> {
    const [labels, assignments, listed, domains, deployed] = await Promise.all([
      this.attributes.others('EXECUTION_CLUSTER_LABEL'),
      this.attributes.others('CLUSTER_ASSIGNMENT'),
      listProjects(this.http, this.org),
      listDomains(this.http),
      readDeployedConfig(this.clustersConfigMap, () => (this.kube ??= this.kubeConfig())),
    ]);
    const projects = listed.projects;
    const key = (r: AttributeRow) => `${r.resource_type}\u0000${attributeRowKey(r)}`;
    const other_rows = [...labels, ...assignments].sort((a, b) =>
      key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0,
    );
    // Before flyteadmin v1.13.0 there is no GetDomains: the projects carry the same list.
    return { other_rows, projects, domains: domains ?? listed.domains, deployed };
  }

  async listAssignments(): Promise<LiveAssignment[]> {
    return (await this.attributes.managed('CLUSTER_ASSIGNMENT')).map(({ value, ...key }) => ({
      ...key,
      pool: value,
    }));
  }

  async setAssignment(assignment: Assignment): Promise<LiveAssignment> {
    await this.attributes.put(assignment, {
      cluster_assignment: { cluster_pool_name: assignment.pool },
    });
    return { ...assignment };
  }

  async deleteAssignment(key: AssignmentKey): Promise<void> {
    await this.attributes.remove(key, 'CLUSTER_ASSIGNMENT');
  }

  async listExecutionClusterLabels(): Promise<ExecutionClusterLabel[]> {
    return (await this.attributes.managed('EXECUTION_CLUSTER_LABEL')).map(({ value, ...key }) => ({
      ...key,
      label: value,
    }));
  }

  async setExecutionClusterLabel(label: ExecutionClusterLabel): Promise<ExecutionClusterLabel> {
    await this.attributes.put(label, { execution_cluster_label: { value: label.label } });
    return { ...label };
  }

  async deleteExecutionClusterLabel(key: AssignmentKey): Promise<void> {
    try {
      await this.attributes.remove(key, 'EXECUTION_CLUSTER_LABEL');
    } catch (err) {
      if (err instanceof ControlPlaneError && err.address === null) {
        throw new ControlPlaneError(
          err.code,
          err.message,
          address('ExecutionClusterLabel', assignmentKeyString(key)),
          err.rule,
        );
      }
      throw err;
    }
  }

  async close(): Promise<void> {
    await this.http.close();
  }
}

/** grpc-gateway's `{code, message}` error as a ControlPlaneError, with what to do about auth. */
function apiError(method: string, path: string, status: number, payload: ErrorBody, auth: boolean) {
  const code =
    (typeof payload.code === 'number' ? GRPC_CODES[payload.code] : undefined) ??
    (status === 401 || status === 403
      ? 'UNAUTHENTICATED'
      : status === 404
        ? 'NOT_FOUND'
        : status >= 500
          ? 'UNAVAILABLE'
          : 'INVALID_ARGUMENT');
  const detail = typeof payload.message === 'string' ? payload.message : `HTTP ${status}`;
  const hint =
    code !== 'UNAUTHENTICATED'
      ? ''
      : auth
        ? ' (the token was refused: check the client id and secret and their scopes)'
        : ' (flyteadmin requires authentication: set POOLSYNC_FLYTE_CLIENT_ID and POOLSYNC_FLYTE_CLIENT_SECRET_FILE)';
  return new ControlPlaneError(code, `flyteadmin ${method} ${path}: ${detail}${hint}`);
}
