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
 *  - pools, clusters and queues list as empty (flyteadmin has none), and every other call is
 *    refused with FAILED_PRECONDITION naming the backend. ExecutionCluster, ClusterLabel,
 *    ClusterPool and Cluster are configuration (Helm values, Union's pool mapping): the plan
 *    leaves them out and `poolsync render` writes them.
 * Only project-domain and project-domain-workflow attributes are written: project-wide, global
 * and launch-plan attributes are not poolsync's to manage and are left alone (but a delete may
 * take them along, which the plan shows: plan/cascade.ts).
 */
import type { KubeConfig } from '@kubernetes/client-node';
import {
  BASELINE_CAPABILITIES,
  address,
  assignmentKeyString,
  type Assignment,
  type AssignmentKey,
  type Capabilities,
  type PoolContract,
  type QueueSpec,
} from '../../model/common.js';
import {
  attributeRowKey,
  type AttributeRow,
  type ExecutionClusterLabel,
  type FlyteadminLive,
} from '../../model/flyte.js';
import type {
  LiveAssignment,
  LiveCluster,
  LiveDefaultQueue,
  LivePool,
  LiveQueue,
  QueueMetrics,
} from '../../model/live.js';
import { ControlPlaneError, kindUnsupported } from '../errors.js';
import type {
  BackendInfo,
  ControlPlane,
  CreateQueueRequest,
  RegisterClusterRequest,
} from '../types.js';
import { FlyteadminAttributes } from './attributes.js';
import { readDeployedConfig, type ConfigMapRef } from './deployed-config.js';
import { listDomains, listProjects } from './projects.js';
import { FlyteadminTransport, type TransportOptions } from './transport.js';

export interface FlyteadminOptions extends TransportOptions {
  /** flyteidl's `org`, sent on every call and matched on every row read ('' or absent: none). */
  org?: string;
  /** Where flyteadmin's cluster configuration is read from (null or absent: not read). */
  clustersConfigMap?: ConfigMapRef | null;
  /** The Kubernetes credentials for it (default: in-cluster service account or KUBECONFIG). */
  kubeConfig?: () => Promise<KubeConfig>;
}

const BACKEND = 'flyteadmin';

export function unsupported(what: string, objectAddress: string | null = null): ControlPlaneError {
  return new ControlPlaneError(
    'FAILED_PRECONDITION',
    `the ${BACKEND} backend cannot ${what}: flyteadmin has no API for it (pools and clusters are configuration: see \`poolsync render\`)`,
    objectAddress,
  );
}

export class FlyteadminControlPlane implements ControlPlane {
  readonly backend: BackendInfo = {
    name: BACKEND,
    kinds: ['PoolAssignment', 'ExecutionClusterLabel'],
    configKinds: ['ExecutionCluster', 'ClusterLabel', 'ClusterPool', 'Cluster'],
  };
  private readonly transport: FlyteadminTransport;
  private readonly attributes: FlyteadminAttributes;
  private readonly org: string;
  private readonly clustersConfigMap: ConfigMapRef | null;
  private readonly kubeConfig: () => Promise<KubeConfig>;
  private kube: Promise<KubeConfig> | null = null;

  /** `baseUrl` is the http(s) URL of flyteadmin (without the `flyteadmin+` prefix or a query). */
  constructor(baseUrl: string, opts: FlyteadminOptions = {}) {
    this.transport = new FlyteadminTransport(baseUrl, opts);
    this.org = opts.org ?? '';
    this.attributes = new FlyteadminAttributes(this.transport, this.org);
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
    return `flyteadmin+${this.transport.origin}${this.transport.basePath}${q ? `?${q}` : ''}`;
  }

  /** What the planner needs beyond the managed rows (docs/flyte-oss.md). */
  async flyteadminState(): Promise<FlyteadminLive> {
    const [labels, assignments, projects, domains, deployed] = await Promise.all([
      this.attributes.others('EXECUTION_CLUSTER_LABEL'),
      this.attributes.others('CLUSTER_ASSIGNMENT'),
      listProjects(this.transport, this.org),
      listDomains(this.transport),
      readDeployedConfig(this.clustersConfigMap, () => (this.kube ??= this.kubeConfig())),
    ]);
    const key = (r: AttributeRow) => `${r.resource_type}\u0000${attributeRowKey(r)}`;
    const other_rows = [...labels, ...assignments].sort((a, b) =>
      key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0,
    );
    return { other_rows, projects, domains, deployed };
  }

  capabilities(): Promise<Capabilities> {
    return Promise.resolve({ ...BASELINE_CAPABILITIES });
  }

  // flyteadmin knows no pools, clusters or queues: nothing live to compare with.
  async listPools(): Promise<LivePool[]> {
    return [];
  }
  async getPool(name: string): Promise<LivePool> {
    throw unsupported('read pools', address('ClusterPool', name));
  }
  async listClusters(): Promise<LiveCluster[]> {
    return [];
  }
  async getCluster(name: string): Promise<LiveCluster> {
    throw unsupported('read clusters', address('Cluster', name));
  }
  async listQueues(): Promise<LiveQueue[]> {
    return [];
  }
  async getQueue(name: string): Promise<LiveQueue> {
    throw unsupported('read queues', address('Queue', name));
  }
  async queueMetrics(name: string): Promise<QueueMetrics> {
    throw unsupported('read queue metrics', address('Queue', name));
  }
  async createPool(name: string, _contract: PoolContract): Promise<LivePool> {
    throw unsupported('create pools', address('ClusterPool', name));
  }
  async deletePool(name: string): Promise<void> {
    throw unsupported('delete pools', address('ClusterPool', name));
  }
  async registerCluster(request: RegisterClusterRequest): Promise<LiveCluster> {
    throw unsupported('register clusters', address('Cluster', request.name));
  }
  async updateCluster(name: string, _update: { enabled: boolean }): Promise<LiveCluster> {
    throw unsupported('update clusters', address('Cluster', name));
  }
  async deleteCluster(name: string): Promise<void> {
    throw unsupported('delete clusters', address('Cluster', name));
  }
  async createQueue(request: CreateQueueRequest): Promise<LiveQueue> {
    throw unsupported('create queues', address('Queue', request.name));
  }
  async updateQueue(name: string, _spec: QueueSpec): Promise<LiveQueue> {
    throw unsupported('update queues', address('Queue', name));
  }
  async drainQueue(name: string): Promise<LiveQueue> {
    throw unsupported('drain queues', address('Queue', name));
  }
  async activateQueue(name: string): Promise<LiveQueue> {
    throw unsupported('activate queues', address('Queue', name));
  }
  async deleteQueue(name: string): Promise<void> {
    throw unsupported('delete queues', address('Queue', name));
  }
  async moveCluster(name: string, _pool: string): Promise<LiveCluster> {
    throw unsupported('move clusters', address('Cluster', name));
  }
  async updatePool(name: string, _contract: PoolContract): Promise<LivePool> {
    throw unsupported('update pools', address('ClusterPool', name));
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

  // Default-queue settings are Union v2's; flyteadmin routes by label and cluster assignment.
  async listDefaultQueues(): Promise<LiveDefaultQueue[]> {
    throw kindUnsupported(this.backend.name, 'DefaultQueue', null);
  }

  async setDefaultQueue(
    project: string,
    domain: string,
    _queue: string,
  ): Promise<LiveDefaultQueue> {
    throw kindUnsupported(this.backend.name, 'DefaultQueue', `DefaultQueue/${project}/${domain}`);
  }

  async deleteDefaultQueue(project: string, domain: string): Promise<void> {
    throw kindUnsupported(this.backend.name, 'DefaultQueue', `DefaultQueue/${project}/${domain}`);
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
    await this.transport.close();
  }
}
