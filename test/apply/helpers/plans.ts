/** Hand-built plans for executor tests: steps with ids in order, changes derived from targets. */
import type { Change, ChangeAction, Plan, Step, StepOp } from '../../../src/model/plan.js';
import type { ObjectKind, PoolContract, QueueSpec } from '../../../src/model/common.js';
import { QUEUE_DEFAULTS } from '../../../src/model/common.js';
import { summarizeChanges } from '../../../src/plan/forms.js';
import { poolContract } from '../../support/builders.js';

/** A pool contract naming its own bucket (P3: a different bucket is a different contract). */
export const CONTRACT = (bucket: string): PoolContract => poolContract(`s3://${bucket}`);

export type StepSpec = StepOp & { id: string; depends_on?: string[]; target?: string } & Pick<
    Step,
    'completes_change'
  >;

const TARGET_KIND: Record<StepOp['op'], ObjectKind> = {
  create_pool: 'ClusterPool',
  delete_pool: 'ClusterPool',
  register_cluster: 'Cluster',
  update_cluster: 'Cluster',
  delete_cluster: 'Cluster',
  create_queue: 'Queue',
  update_queue: 'Queue',
  wait_idle: 'Cluster',
  set_assignment: 'PoolAssignment',
  delete_assignment: 'PoolAssignment',
  drain_queue: 'Queue',
  wait_drained: 'Cluster',
  activate_queue: 'Queue',
  delete_queue: 'Queue',
  undelete_queue: 'Queue',
  undelete_pool: 'ClusterPool',
  undelete_cluster: 'Cluster',
  move_cluster: 'Cluster',
  move_queue: 'Queue',
  update_pool: 'ClusterPool',
  set_default_queue: 'DefaultQueue',
  delete_default_queue: 'DefaultQueue',
  set_execution_cluster_label: 'ExecutionClusterLabel',
  delete_execution_cluster_label: 'ExecutionClusterLabel',
};

function defaultTarget(s: StepOp): string {
  const kind = TARGET_KIND[s.op];
  if (s.op === 'wait_idle') return `Cluster/${s.args.cluster}`;
  if (kind === 'PoolAssignment') {
    const a = s.args as { project: string; domain: string; workflow: string | null };
    return `PoolAssignment/${[a.project, a.domain, a.workflow].filter((x) => x !== null).join('/')}`;
  }
  return `${kind}/${(s.args as { name: string }).name}`;
}

export function makePlan(specs: StepSpec[], actions: Record<string, ChangeAction> = {}): Plan {
  const steps: Step[] = specs.map(
    (s) => ({ ...s, target: s.target ?? defaultTarget(s), depends_on: s.depends_on ?? [] }) as Step,
  );
  const changes: Change[] = Object.entries(actions).map(([address, action]) => {
    const [kind, name] = address.split(/\/(.*)/s) as [ObjectKind, string];
    return {
      address,
      kind,
      name,
      action,
      before: null,
      after: null,
      diff: [],
      reason: action === 'blocked' ? 'blocked for the test' : null,
      destructive: action === 'delete' || action === 'replace',
    };
  });
  const summary = summarizeChanges(changes);
  return {
    format_version: '1',
    desired_fingerprint: 'sha256:test',
    live_fingerprint: 'sha256:test',
    commit: null,
    summary,
    changes,
    steps,
    warnings: [],
    errors: [],
  };
}

export const pool = (id: string, name: string, deps: string[] = []): StepSpec => ({
  id,
  op: 'create_pool',
  args: { name, contract: CONTRACT(`${name}-bucket`) },
  depends_on: deps,
});

export const queueSpec = (
  pool: string,
  clusters: string[],
  extra: Partial<QueueSpec> = {},
): QueueSpec => ({
  ...QUEUE_DEFAULTS,
  pool,
  clusters,
  ...extra,
});
