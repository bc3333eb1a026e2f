/** Plans built by hand for the comment tests (the planner is tested elsewhere). */
import type { Change, Plan } from '../../src/model/plan.js';
import { summarizeChanges } from '../../src/plan/forms.js';

export function makePlan(opts: {
  queueUpdates?: number;
  blocked?: number;
  warnings?: number;
  errors?: number;
  unmanaged?: number;
  /** Cluster deletes (destructive: what policy `safe` and a destroy budget hold). */
  deletes?: number;
}): Plan {
  const changes: Change[] = [];
  for (let i = 0; i < (opts.queueUpdates ?? 0); i++) {
    const name = `queue-${String(i).padStart(5, '0')}`;
    changes.push({
      address: `Queue/${name}`,
      kind: 'Queue',
      name,
      action: 'update',
      before: { run_concurrency: 50 },
      after: { run_concurrency: 75 },
      diff: [{ path: 'run_concurrency', before: 50, after: 75, forces_replacement: false }],
      reason: null,
      destructive: false,
    });
  }
  for (let i = 0; i < (opts.blocked ?? 0); i++) {
    const name = `moved-${i}`;
    changes.push({
      address: `Queue/${name}`,
      kind: 'Queue',
      name,
      action: 'blocked',
      before: { pool: 'a' },
      after: { pool: 'b' },
      diff: [{ path: 'pool', before: 'a', after: 'b', forces_replacement: true }],
      reason: 'Q3/Q6: a queue cannot change pool; create a new queue in pool b instead',
      destructive: false,
    });
  }
  for (let i = 0; i < (opts.deletes ?? 0); i++) {
    const name = `dev-${i}`;
    changes.push({
      address: `Cluster/${name}`,
      kind: 'Cluster',
      name,
      action: 'delete',
      before: { pool: 'dev' },
      after: null,
      diff: [],
      reason: null,
      destructive: true,
    });
  }
  for (let i = 0; i < (opts.unmanaged ?? 0); i++) {
    const name = `stray-${i}`;
    changes.push({
      address: `Cluster/${name}`,
      kind: 'Cluster',
      name,
      action: 'unmanaged',
      before: {},
      after: {},
      diff: [],
      reason: 'not in the repository (prune: false)',
      destructive: false,
    });
  }
  const summary = summarizeChanges(changes);
  return {
    format_version: '1',
    desired_fingerprint: 'sha256:d',
    live_fingerprint: 'sha256:l',
    commit: null,
    summary,
    changes,
    steps: [],
    warnings: Array.from({ length: opts.warnings ?? 0 }, (_, i) => ({
      code: 'QUEUE_ROUTES_NOWHERE',
      address: `Queue/idle-${i}`,
      message: `queue idle-${i} will route nowhere (C8)`,
    })),
    errors: Array.from({ length: opts.errors ?? 0 }, (_, i) => ({
      code: 'PREVENT_DESTROY',
      address: `ClusterPool/p${i}`,
      message: `ClusterPool/p${i} is annotated poolsync/prevent-destroy`,
      location: `pools/p${i}.yaml:4:5`,
    })),
  };
}
