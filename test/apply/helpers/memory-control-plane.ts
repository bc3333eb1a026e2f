/**
 * A small in-memory control plane that enforces the domain rules the executor's ordering
 * depends on (P3, P5, C1, C2, C7, C8, Q1, Q2, A1, A3), with settable queue metrics (Q7).
 * It lets the executor tests run without the embedded store; integration tests use that.
 */
import type {
  AssignmentCalls,
  BackendProfile,
  CapabilityCalls,
  ClusterCalls,
  ControlPlane,
  CreateQueueRequest,
  PoolCalls,
  QueueCalls,
  RegisterClusterRequest,
} from '../../../src/controlplane/types.js';
import { ControlPlaneError, capabilityOff } from '../../../src/controlplane/errors.js';
import {
  BASELINE_CAPABILITIES,
  QUEUE_DEFAULTS,
  assignmentKeyString,
  type Assignment,
  type AssignmentKey,
  type Capabilities,
  type PoolContract,
  type QueueSpec,
} from '../../../src/model/common.js';
import type { LiveCluster, LivePool, LiveQueue, QueueMetrics } from '../../../src/model/live.js';

interface Cluster {
  name: string;
  pool: string;
  enabled: boolean;
}
interface Queue extends QueueSpec {
  name: string;
  cluster_managed: boolean;
}

export const CONTRACT = (bucket: string): PoolContract => ({
  object_store_ref: { uri: `s3://${bucket}`, endpoint: '' },
  secret_store: { type: 'AWS_SECRETS_MANAGER', locator: 'us-east-1' },
  image_registry: null,
});

export class MemoryControlPlane implements ControlPlane {
  readonly backend: BackendProfile = { name: 'memory (tests)' };
  readonly pools: PoolCalls = this;
  readonly clusters: ClusterCalls = this;
  readonly queues: QueueCalls = this;
  readonly assignments: AssignmentCalls = this;
  readonly capabilityCalls: CapabilityCalls = this;
  poolMap = new Map<string, PoolContract>([['default', CONTRACT('default-bucket')]]);
  clusterMap = new Map<string, Cluster>();
  queueMap = new Map<string, Queue>([
    [
      'default',
      {
        name: 'default',
        pool: 'default',
        clusters: ['*'],
        cluster_managed: false,
        ...QUEUE_DEFAULTS,
      },
    ],
  ]);
  assignmentMap = new Map<string, Assignment>();
  metrics = new Map<string, QueueMetrics>();

  /** Capabilities (domain.md): off unless a test turns them on. */
  caps: Capabilities = { ...BASELINE_CAPABILITIES };
  /** drain: queues drained (DRAINED once their metrics show nothing in flight). */
  draining = new Set<string>();

  async drainQueue(name: string): Promise<LiveQueue> {
    if (!this.caps.drain) throw capabilityOff('drain', `Queue/${name}`);
    const q = this.queueMap.get(name);
    if (!q) throw notFound('Queue', name);
    if (name === 'default') throw precondition('the default queue cannot be drained', 'Q5');
    this.draining.add(name);
    return this.liveQueue(q);
  }
  async activateQueue(name: string): Promise<LiveQueue> {
    if (!this.caps.drain) throw capabilityOff('drain', `Queue/${name}`);
    const q = this.queueMap.get(name);
    if (!q) throw notFound('Queue', name);
    this.draining.delete(name);
    return this.liveQueue(q);
  }
  async deleteQueue(name: string): Promise<void> {
    if (!this.caps.queue_delete) throw capabilityOff('queue_delete', `Queue/${name}`);
    const q = this.queueMap.get(name);
    if (!q) throw notFound('Queue', name);
    if (name === 'default') throw precondition('the default queue cannot be deleted', 'P1');
    if (this.caps.drain && this.stateOf(name) !== 'drained')
      throw precondition(`queue ${name} is not drained`, 'Q6');
    if (!this.caps.drain && this.busy(name)) throw precondition(`queue ${name} is busy`, 'Q6');
    this.queueMap.delete(name);
    this.draining.delete(name);
  }
  async moveCluster(name: string, pool: string): Promise<LiveCluster> {
    if (!this.caps.cluster_move) throw capabilityOff('cluster_move', `Cluster/${name}`);
    const c = this.clusterMap.get(name);
    if (!c) throw notFound('Cluster', name);
    if (!this.poolMap.has(pool)) throw notFound('ClusterPool', pool);
    if (c.pool === pool) return this.liveCluster(c);
    for (const q of this.queueMap.values()) {
      if (q.clusters.length !== 1 || q.clusters[0] !== name) continue;
      const settled = this.caps.drain ? this.stateOf(q.name) === 'drained' : !this.busy(q.name);
      if (!settled)
        throw precondition(`queue ${q.name} routes only to ${name} and is not drained`, 'C7');
    }
    c.pool = pool;
    for (const q of this.queueMap.values()) {
      if (q.cluster_managed && q.name === name) q.pool = pool;
      else if (q.clusters.includes(name)) q.clusters = q.clusters.filter((x) => x !== name);
    }
    return this.liveCluster(c);
  }
  async updatePool(name: string, contract: PoolContract): Promise<LivePool> {
    if (!this.caps.pool_update) throw capabilityOff('pool_update', `ClusterPool/${name}`);
    if (!this.poolMap.has(name)) throw notFound('ClusterPool', name);
    this.poolMap.set(name, structuredClone(contract));
    return this.livePool(name);
  }
  private busy(name: string): boolean {
    const m = this.metrics.get(name);
    return m !== undefined && m.runs_in_flight + m.actions_in_flight > 0;
  }
  private stateOf(name: string): 'active' | 'draining' | 'drained' {
    if (!this.draining.has(name)) return 'active';
    return this.busy(name) ? 'draining' : 'drained';
  }
  async capabilities() {
    return { ...this.caps };
  }
  async listPools() {
    return [...this.poolMap.keys()].map((n) => this.livePool(n));
  }
  async getPool(name: string) {
    if (!this.poolMap.has(name)) throw notFound('ClusterPool', name);
    return this.livePool(name);
  }
  async listClusters() {
    return [...this.clusterMap.values()].map((c) => this.liveCluster(c));
  }
  async getCluster(name: string) {
    const c = this.clusterMap.get(name);
    if (!c) throw notFound('Cluster', name);
    return this.liveCluster(c);
  }
  async listQueues() {
    return [...this.queueMap.values()].map((q) => this.liveQueue(q));
  }
  async getQueue(name: string) {
    const q = this.queueMap.get(name);
    if (!q) throw notFound('Queue', name);
    return this.liveQueue(q);
  }
  async listAssignments() {
    return [...this.assignmentMap.values()].map((a) => ({ ...a }));
  }
  async queueMetrics(name: string) {
    if (!this.queueMap.has(name)) throw notFound('Queue', name);
    return { ...(this.metrics.get(name) ?? { runs_in_flight: 0, actions_in_flight: 0, depth: 0 }) };
  }

  async createPool(name: string, contract: PoolContract) {
    if (this.poolMap.has(name))
      throw new ControlPlaneError(
        'ALREADY_EXISTS',
        `pool ${name} exists`,
        `ClusterPool/${name}`,
        'P3',
      );
    this.poolMap.set(name, structuredClone(contract));
    return this.livePool(name);
  }
  async deletePool(name: string) {
    if (!this.poolMap.has(name)) throw notFound('ClusterPool', name);
    if (name === 'default') throw precondition(`pool default cannot be deleted`, 'P5');
    const users = [
      ...[...this.clusterMap.values()]
        .filter((c) => c.pool === name)
        .map((c) => `Cluster/${c.name}`),
      ...[...this.queueMap.values()].filter((q) => q.pool === name).map((q) => `Queue/${q.name}`),
    ];
    if (users.length) throw precondition(`pool ${name} is referenced by ${users.join(', ')}`, 'P5');
    const assigned = [...this.assignmentMap.values()].filter((a) => a.pool === name);
    if (assigned.length) throw precondition(`pool ${name} is named by an assignment`, 'A3');
    this.poolMap.delete(name);
  }
  async registerCluster(req: RegisterClusterRequest) {
    const pool = req.pool ?? 'default';
    if (req.name === 'default')
      throw new ControlPlaneError('INVALID_ARGUMENT', 'reserved name', null, 'C1');
    if (!this.poolMap.has(pool)) throw notFound('ClusterPool', pool);
    const existing = this.clusterMap.get(req.name);
    if (existing) {
      if (existing.pool !== pool)
        throw precondition(`cluster ${req.name} is in pool ${existing.pool}`, 'C7');
      throw new ControlPlaneError(
        'ALREADY_EXISTS',
        `cluster ${req.name} exists`,
        `Cluster/${req.name}`,
        'C7',
      );
    }
    const cluster = { name: req.name, pool, enabled: true };
    this.clusterMap.set(req.name, cluster);
    if (!this.queueMap.has(req.name)) {
      this.queueMap.set(req.name, {
        name: req.name,
        pool,
        clusters: [req.name],
        cluster_managed: true,
        ...QUEUE_DEFAULTS,
      }); // C2
    }
    return this.liveCluster(cluster);
  }
  async updateCluster(name: string, update: { enabled: boolean }) {
    const c = this.clusterMap.get(name);
    if (!c) throw notFound('Cluster', name);
    c.enabled = update.enabled;
    return this.liveCluster(c);
  }
  async deleteCluster(name: string) {
    if (!this.clusterMap.delete(name)) throw notFound('Cluster', name);
    for (const q of this.queueMap.values()) q.clusters = q.clusters.filter((c) => c !== name); // C8
  }
  async createQueue(req: CreateQueueRequest) {
    if (this.queueMap.has(req.name) || this.clusterMap.has(req.name)) {
      throw new ControlPlaneError(
        'ALREADY_EXISTS',
        `queue ${req.name} exists`,
        `Queue/${req.name}`,
        'Q2',
      );
    }
    const spec: QueueSpec = { ...QUEUE_DEFAULTS, pool: 'default', clusters: ['*'], ...req };
    this.checkSelector(spec);
    this.queueMap.set(req.name, {
      name: req.name,
      cluster_managed: false,
      ...spec,
      clusters: [...spec.clusters],
    });
    return this.liveQueue(this.queueMap.get(req.name)!);
  }
  async updateQueue(name: string, spec: QueueSpec) {
    const q = this.queueMap.get(name);
    if (!q) throw notFound('Queue', name);
    if (q.pool !== spec.pool) throw precondition(`queue ${name} cannot change pool`, 'Q3');
    this.checkSelector(spec);
    Object.assign(q, spec, { clusters: [...spec.clusters] });
    return this.liveQueue(q);
  }
  async setAssignment(a: Assignment) {
    if (!this.poolMap.has(a.pool)) throw notFound('ClusterPool', a.pool);
    this.assignmentMap.set(assignmentKeyString(a), { ...a });
    return { ...a };
  }
  async deleteAssignment(key: AssignmentKey) {
    if (!this.assignmentMap.delete(assignmentKeyString(key)))
      throw notFound('PoolAssignment', assignmentKeyString(key));
  }
  async close() {}

  private checkSelector(spec: QueueSpec) {
    if (!this.poolMap.has(spec.pool)) throw notFound('ClusterPool', spec.pool);
    for (const c of spec.clusters) {
      if (c === '*') continue;
      if (this.clusterMap.get(c)?.pool !== spec.pool)
        throw precondition(`cluster ${c} is not in pool ${spec.pool}`, 'Q1');
    }
  }
  private livePool(name: string): LivePool {
    const members = [...this.clusterMap.values()]
      .filter((c) => c.pool === name)
      .map((c) => c.name)
      .sort();
    return { name, contract: structuredClone(this.poolMap.get(name)!), member_clusters: members };
  }
  private liveCluster(c: Cluster): LiveCluster {
    const bound = [...this.queueMap.values()]
      .filter((q) => q.clusters.includes(c.name))
      .map((q) => q.name)
      .sort();
    return {
      ...c,
      health: 'unknown',
      unhealthy_reasons: [],
      config_drift: [],
      bound_queues: bound,
    };
  }
  private liveQueue(q: Queue): LiveQueue {
    const state = this.caps.drain ? { state: this.stateOf(q.name) } : {};
    return { ...q, clusters: [...q.clusters], available_clusters: [], ...state };
  }
}

function notFound(kind: string, name: string) {
  return new ControlPlaneError('NOT_FOUND', `${kind} ${name} not found`, `${kind}/${name}`, null);
}
function precondition(message: string, rule: string) {
  return new ControlPlaneError('FAILED_PRECONDITION', message, null, rule);
}
