/**
 * The step graph of a plan (plan.md, "Steps and order"), built from the per-object decisions:
 *  1. pools are created before anything that lives in them;
 *  2. clusters are registered after their pool exists, a replaced one after its old record is deleted;
 *  3. queues are created or updated after their pool and every cluster of their new selector exist;
 *  4. before a cluster delete: the queue updates that touch it, then wait_idle (Q7, C9);
 *  5. pools are deleted after their clusters; assignments naming a pool are removed before it
 *     is deleted and set after it is created (A3).
 */
import { address, type QueueSpec } from '../model/common.js';
import type { Step } from '../model/plan.js';
import { isWildcard, type PlanContext } from './context.js';
import { StepGraph } from './graph.js';
import { addDefaultQueueSteps } from './default-queues.js';
import { addLabelSteps } from './cluster-labels.js';

const key = {
  createPool: (n: string) => `create_pool:${n}`,
  deletePool: (n: string) => `delete_pool:${n}`,
  register: (n: string) => `register_cluster:${n}`,
  updateCluster: (n: string) => `update_cluster:${n}`,
  deleteCluster: (n: string) => `delete_cluster:${n}`,
  wait: (n: string) => `wait_idle:${n}`,
  queue: (n: string) => `queue:${n}`,
  queueFirst: (n: string) => `queue_first:${n}`,
  setAssignment: (k: string) => `set_assignment:${k}`,
  deleteAssignment: (k: string) => `delete_assignment:${k}`,
};

export function buildSteps(ctx: PlanContext): Step[] {
  const g = new StepGraph();
  const replaced = (c: string) => {
    const d = ctx.clusters.get(c);
    return d !== undefined && d.registers && d.deletes;
  };

  // Nodes, in the order a reader expects when nothing forces another.
  for (const [name, d] of ctx.pools) {
    if (d.creates)
      g.add(
        key.createPool(name),
        { op: 'create_pool', args: { name, contract: d.finalContract! } },
        address('ClusterPool', name),
      );
  }
  for (const [name, d] of ctx.clusters) {
    const dc = ctx.dClusters.get(name);
    if (d.registers && dc) {
      const args = { name, pool: dc.pool, ...(dc.data_plane ? { data_plane: dc.data_plane } : {}) };
      g.add(key.register(name), { op: 'register_cluster', args }, address('Cluster', name));
      // C6: a registration enables the cluster; disabling is a second call.
      if (!dc.enabled)
        g.add(
          key.updateCluster(name),
          { op: 'update_cluster', args: { name, enabled: false } },
          address('Cluster', name),
        );
    } else if (d.change.action === 'update' && dc) {
      g.add(
        key.updateCluster(name),
        { op: 'update_cluster', args: { name, enabled: dc.enabled } },
        address('Cluster', name),
      );
    }
  }
  /** Queue step that takes deleted clusters out of the selector (rule 4). */
  const removalStep = new Map<string, string>();
  for (const [name, q] of ctx.queues) {
    if (!q.call) continue;
    const target = address('Queue', name);
    const spec = q.call.spec;
    const k = g.add(key.queue(name), { op: q.call.op, args: { name, ...spec } }, target);
    removalStep.set(name, k);
    const removes = q.live !== null && q.live.clusters.some((c) => ctx.deletedClusters.has(c));
    if (removes && spec.clusters.some(replaced)) {
      // The new selector names a cluster that is re-registered only after some delete, while
      // the old one names a cluster to delete: repoint in two calls so neither waits on the other.
      const first: QueueSpec = { ...spec, clusters: spec.clusters.filter((c) => !replaced(c)) };
      removalStep.set(
        name,
        g.add(key.queueFirst(name), { op: 'update_queue', args: { name, ...first } }, target),
      );
    }
  }
  const waitFor = waitSets(ctx);
  for (const name of [...ctx.deletedClusters].sort()) {
    const queues = waitFor.get(name);
    if (queues && queues.length > 0) {
      g.add(
        key.wait(name),
        { op: 'wait_idle', args: { queues, cluster: name } },
        address('Cluster', name),
      );
    }
    g.add(
      key.deleteCluster(name),
      { op: 'delete_cluster', args: { name } },
      address('Cluster', name),
    );
  }
  for (const [k, a] of ctx.assignments) {
    const l = ctx.lAssignments.get(k);
    const d = ctx.dAssignments.get(k);
    const id = (l ?? d)!;
    const akey = { project: id.project, domain: id.domain, workflow: id.workflow };
    if (a.remove)
      g.add(
        key.deleteAssignment(k),
        { op: 'delete_assignment', args: akey },
        address('PoolAssignment', k),
      );
    if (a.set)
      g.add(
        key.setAssignment(k),
        { op: 'set_assignment', args: { ...akey, pool: a.finalPool! } },
        address('PoolAssignment', k),
      );
  }
  addLabelSteps(g, ctx);
  for (const [name, d] of ctx.pools) {
    if (d.deletes)
      g.add(
        key.deletePool(name),
        { op: 'delete_pool', args: { name } },
        address('ClusterPool', name),
      );
  }

  // Edges.
  for (const [name, d] of ctx.pools) {
    g.order(key.deletePool(name), key.createPool(name));
    if (d.deletes) {
      for (const c of ctx.lClustersByPool.get(name) ?? [])
        g.order(key.deleteCluster(c), key.deletePool(name));
    }
  }
  for (const [name, d] of ctx.clusters) {
    const dc = ctx.dClusters.get(name);
    if (!d.registers || !dc) continue;
    g.order(key.createPool(dc.pool), key.register(name));
    g.order(key.deleteCluster(name), key.register(name));
    g.order(key.register(name), key.updateCluster(name));
  }
  const firstRegistration = [...ctx.clusters.entries()].find(([, d]) => d.registers)?.[0];
  for (const [name, q] of ctx.queues) {
    if (!q.call) continue;
    const k = key.queue(name);
    const spec = q.call.spec;
    g.order(key.createPool(spec.pool), k);
    for (const c of spec.clusters) g.order(key.register(c), k);
    if (q.createdBy === 'register') g.order(key.register(name), k);
    if (q.createdBy === 'C3' && firstRegistration) g.order(key.register(firstRegistration), k);
    const removal = removalStep.get(name)!;
    if (removal !== k) {
      g.order(removal, k);
      for (const c of spec.clusters) if (!replaced(c)) g.order(key.register(c), removal);
    }
    for (const c of q.live?.clusters ?? []) {
      if (!ctx.deletedClusters.has(c)) continue;
      g.order(removal, g.has(key.wait(c)) ? key.wait(c) : key.deleteCluster(c));
    }
  }
  for (const c of ctx.deletedClusters) g.order(key.wait(c), key.deleteCluster(c));
  for (const [k, a] of ctx.assignments) {
    g.order(key.deleteAssignment(k), key.setAssignment(k));
    if (a.finalPool) g.order(key.createPool(a.finalPool), key.setAssignment(k));
    if (a.livePool && ctx.pools.get(a.livePool)?.deletes) {
      g.order(key.deleteAssignment(k), key.deletePool(a.livePool));
      if (a.finalPool !== a.livePool) g.order(key.setAssignment(k), key.deletePool(a.livePool));
    }
  }
  addDefaultQueueSteps(ctx, g, { queue: key.queue, register: key.register });
  return g.finalize();
}

/**
 * Rule 4 / C9: before deleting cluster c, wait on every live queue whose work can only be
 * running on clusters this plan deletes: an explicit selector made only of deleted clusters
 * that names c, or `*` in c's pool when every member of that pool is deleted.
 */
function waitSets(ctx: PlanContext): Map<string, string[]> {
  const out = new Map<string, string[]>();
  const poolEmptied = new Map<string, boolean>();
  for (const c of ctx.deletedClusters) {
    const queues: string[] = [];
    for (const q of ctx.lQueuesByCluster.get(c) ?? []) {
      const live = ctx.lQueues.get(q)!;
      if (live.clusters.every((n) => ctx.deletedClusters.has(n))) queues.push(q);
    }
    const pool = ctx.lClusters.get(c)?.pool;
    if (pool !== undefined) {
      let emptied = poolEmptied.get(pool);
      if (emptied === undefined) {
        emptied = (ctx.lClustersByPool.get(pool) ?? []).every((n) => ctx.deletedClusters.has(n));
        poolEmptied.set(pool, emptied);
      }
      if (emptied) {
        for (const q of ctx.lWildcardQueuesByPool.get(pool) ?? []) {
          if (isWildcard(ctx.lQueues.get(q)!.clusters)) queues.push(q);
        }
      }
    }
    out.set(c, [...new Set(queues)].sort());
  }
  return out;
}
