/**
 * `plan --refresh-only` (Terraform's -refresh-only): what changed on the control plane since the
 * last apply recorded it, settable fields only: health, members and the like are not drift.
 */
import { address, assignmentKeyString } from '../model/common.js';
import type { LiveState } from '../model/live.js';
import type { FieldDiff } from '../model/plan.js';
import { assignmentForm, clusterForm, diffForms, poolForm, queueForm, type Form } from './forms.js';
import { labelForm } from './cluster-labels.js';
import { indexBy, keyed } from './context.js';

interface DriftEntry {
  address: string;
  drift: 'changed' | 'appeared' | 'gone';
  diff: FieldDiff[];
}

export interface LastApplied {
  format_version: '1';
  /** When and from which commit the apply that recorded it ran. */
  applied_at: string;
  commit: string | null;
  live: LiveState;
}

export interface RefreshReport {
  format_version: '1';
  kind: 'refresh-only';
  last_applied: { applied_at: string; commit: string | null };
  drift: DriftEntry[];
}

export function driftSince(last: LastApplied, now: LiveState): RefreshReport {
  const drift: DriftEntry[] = [];
  const compare = <T>(
    kind: Parameters<typeof address>[0],
    before: readonly T[],
    after: readonly T[],
    key: (x: T) => string,
    form: (x: T) => Form,
  ) => {
    for (const [k, was, is] of keyed(indexBy(before, key), indexBy(after, key))) {
      const diff = diffForms(was ? form(was) : null, is ? form(is) : null);
      if (diff.length === 0) continue;
      drift.push({
        address: address(kind, k),
        drift: !was ? 'appeared' : !is ? 'gone' : 'changed',
        diff,
      });
    }
  };
  const name = (o: { name: string }) => o.name;
  const { live: was } = last;
  compare('ClusterPool', was.pools, now.pools, name, (p) => poolForm(p.contract));
  compare('Cluster', was.clusters, now.clusters, name, (c) => clusterForm(c.pool, c.enabled));
  compare('Queue', was.queues, now.queues, name, queueForm);
  compare('PoolAssignment', was.assignments, now.assignments, assignmentKeyString, assignmentForm);
  // flyteadmin's labels (flytectl update execution-cluster-label by hand) drift like the rest.
  const labels = (s: LiveState) => s.execution_cluster_labels ?? [];
  compare('ExecutionClusterLabel', labels(was), labels(now), assignmentKeyString, labelForm);
  return {
    format_version: '1',
    kind: 'refresh-only',
    last_applied: { applied_at: last.applied_at, commit: last.commit },
    drift,
  };
}
