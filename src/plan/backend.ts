/**
 * What a backend can manage (BackendInfo.kinds, configKinds) applied to a desired state before
 * planning. Pure. A repository declaring a kind the backend cannot manage fails the plan with
 * one BACKEND_KIND error per kind, naming the backend, the kind and where it is declared;
 * kinds the backend takes as configuration only (rendered by `poolsync render`, no API) are
 * left out of the plan instead, and those its API replaced by another (replacedKinds) are
 * planned blocked, saying what to declare instead.
 */
import {
  QUEUE_CAP_FIELDS,
  address,
  assignmentKeyString,
  defaultQueueKeyString,
  type ObjectKind,
} from '../model/common.js';
import type { DesiredState, SourceLocation } from '../model/desired.js';
import type { LiveState } from '../model/live.js';
import type { Change, Plan, PlanError } from '../model/plan.js';
import type { BackendInfo } from '../model/backend.js';
import { computePlan, type PlanOptions } from './index.js';
import { locationOf } from './context.js';
import { planError, reasonOf } from './reasons.js';
import { makeChange } from './change.js';
import { assignmentForm, diffForms } from './forms.js';
import { declaresCaps } from './queue-caps.js';

type Declared = { address: string; source: SourceLocation }[];

/** The objects of each kind in a desired state, with their addresses. */
function declaredByKind(desired: DesiredState): [ObjectKind, Declared][] {
  const named = (kind: ObjectKind, list: { name: string; source: SourceLocation }[] | undefined) =>
    (list ?? []).map((o) => ({ address: address(kind, o.name), source: o.source }));
  return [
    ['ClusterPool', named('ClusterPool', desired.pools)],
    ['Cluster', named('Cluster', desired.clusters)],
    ['Queue', named('Queue', desired.queues)],
    [
      'PoolAssignment',
      desired.assignments.map((a) => ({
        address: address('PoolAssignment', assignmentKeyString(a)),
        source: a.source,
      })),
    ],
    [
      'DefaultQueue',
      (desired.default_queues ?? []).map((d) => ({
        address: address('DefaultQueue', defaultQueueKeyString(d)),
        source: d.source,
      })),
    ],
    ['ExecutionCluster', named('ExecutionCluster', desired.execution_clusters)],
    ['ClusterLabel', named('ClusterLabel', desired.cluster_labels)],
    [
      'ExecutionClusterLabel',
      (desired.execution_cluster_labels ?? []).map((l) => ({
        address: address('ExecutionClusterLabel', assignmentKeyString(l)),
        source: l.source,
      })),
    ],
  ];
}

/**
 * BACKEND_KIND: one error per declared kind the backend neither manages, takes as config, nor
 * knows as replaced.
 */
export function backendKindErrors(desired: DesiredState, backend: BackendInfo): PlanError[] {
  const accepted = new Set<ObjectKind>([...backend.kinds, ...(backend.configKinds ?? [])]);
  const out: PlanError[] = [];
  for (const [kind, objects] of declaredByKind(desired)) {
    if (objects.length === 0 || accepted.has(kind) || kind in (backend.replacedKinds ?? {}))
      continue;
    const first = objects[0]!;
    const location = locationOf(first.source);
    out.push(
      planError(
        'BACKEND_KIND',
        first.address,
        {
          backend: backend.name,
          kind,
          address: first.address,
          location,
          more: objects.length - 1,
          accepted: [...accepted],
        },
        location,
      ),
    );
  }
  return out;
}

/**
 * The desired state the planner compares with the backend: only the kinds it manages. Config-only
 * kinds are rendered instead; kinds it cannot manage at all are BACKEND_KIND errors, and are
 * kept out of the plan too, so it shows no steps or blocked changes for them.
 */
export function plannableState(
  desired: DesiredState,
  backend: BackendInfo,
): { desired: DesiredState; configOnlyPools: string[] } {
  const managed = new Set(backend.kinds);
  const keep = <T>(kind: ObjectKind, list: T[]): T[] => (managed.has(kind) ? list : []);
  const view: DesiredState = {
    ...desired,
    pools: keep('ClusterPool', desired.pools),
    clusters: keep('Cluster', desired.clusters),
    queues: keep('Queue', desired.queues),
    assignments: keep('PoolAssignment', desired.assignments),
    execution_cluster_labels: keep('ExecutionClusterLabel', desired.execution_cluster_labels ?? []),
    default_queues: keep('DefaultQueue', desired.default_queues ?? []),
  };
  // The pools Union (not the API) keeps, which assignments may name: the declared ones and `default` (P1).
  const configOnlyPools = (backend.configKinds ?? []).includes('ClusterPool')
    ? ['default', ...desired.pools.map((p) => p.name)]
    : [];
  return { desired: view, configOnlyPools };
}

/** computePlan for one backend: its kind errors, and config-only kinds kept out of the plan. */
export function planForBackend(
  desired: DesiredState,
  live: LiveState,
  backend: BackendInfo | undefined,
  opts: PlanOptions = {},
): Plan {
  if (!backend) return computePlan(desired, live, opts);
  const view = plannableState(desired, backend);
  const plan = computePlan(view.desired, live, {
    ...opts,
    configOnlyPools: view.configOnlyPools,
  });
  const replaced = replacedAssignments(desired, backend);
  if (replaced.length > 0) {
    // Changes are sorted by kind: assignments come before the settings and labels.
    const at = plan.changes.findIndex(
      (c) => c.kind === 'DefaultQueue' || c.kind === 'ExecutionClusterLabel',
    );
    plan.changes.splice(at < 0 ? plan.changes.length : at, 0, ...replaced);
    plan.summary.blocked += replaced.length;
  }
  plan.errors.push(
    ...backendKindErrors(desired, backend),
    ...multiPoolErrors(desired, backend),
    ...queueCapsErrors(desired, backend),
  );
  return plan;
}

/**
 * PoolAssignments against a backend whose API replaced them by DefaultQueue settings (Union v2,
 * replacedKinds): each is blocked, naming the setting to declare and the repository's queues in
 * its pool. Nothing is sent for them.
 */
function replacedAssignments(desired: DesiredState, backend: BackendInfo): Change[] {
  if (backend.replacedKinds?.PoolAssignment !== 'DefaultQueue') return [];
  const queuesOf = new Map<string, string[]>();
  for (const q of desired.queues)
    (queuesOf.get(q.spec.pool) ?? queuesOf.set(q.spec.pool, []).get(q.spec.pool)!).push(q.name);
  const settings = new Set((desired.default_queues ?? []).map(defaultQueueKeyString));
  return desired.assignments.map((a) => {
    const after = assignmentForm(a);
    const setting = defaultQueueKeyString(a);
    const why = reasonOf('ASSIGNMENT_REPLACED_BY_DEFAULT_QUEUE', {
      backend: backend.name,
      project: a.project,
      domain: a.domain,
      workflow: a.workflow,
      pool: a.pool,
      queues: queuesOf.get(a.pool) ?? [],
      declared: settings.has(setting) ? address('DefaultQueue', setting) : null,
    });
    const key = assignmentKeyString(a);
    return makeChange('PoolAssignment', key, 'blocked', null, after, diffForms(null, after), why);
  });
}

/**
 * A cluster in several pools (`spec.pools`) exists only in Union self-managed's pool map,
 * which the flyteadmin backend takes as configuration; a backend that registers clusters keeps
 * one pool per cluster record (C7).
 */
export function multiPoolErrors(desired: DesiredState, backend: BackendInfo): PlanError[] {
  if (!backend.kinds.includes('Cluster')) return [];
  return desired.clusters
    .filter((c) => (c.pools?.length ?? 0) > 1)
    .map((c) => {
      const cluster = address('Cluster', c.name);
      return planError(
        'MULTI_POOL_CLUSTER',
        cluster,
        { cluster, pools: [...c.pools!], backend: backend.name },
        locationOf(c.source),
      );
    });
}

/**
 * Union's queue caps and scheduling (manifests.md, Queue) exist only on a backend that reads and
 * writes them (`queueCaps`); elsewhere they would never apply, so the plan fails, naming where.
 */
export function queueCapsErrors(desired: DesiredState, backend: BackendInfo): PlanError[] {
  if (backend.queueCaps || !backend.kinds.includes('Queue')) return [];
  return desired.queues
    .filter((q) => declaresCaps(q.spec))
    .map((q) => {
      const queue = address('Queue', q.name);
      const location = locationOf(q.source);
      const fields = QUEUE_CAP_FIELDS.filter((f) => q.spec[f] !== undefined);
      return planError(
        'QUEUE_CAPS',
        queue,
        { queue, location, fields, backend: backend.name },
        location,
      );
    });
}
