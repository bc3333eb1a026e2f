/**
 * `plan --refresh-only` (Terraform's -refresh-only): what changed on the control plane since the
 * last apply recorded it, settable fields only: health, members and the like are not drift.
 */
import { address, assignmentKeyString } from '../model/common.js';
import { QUEUE_CAP_FIELDS } from '../model/common.js';
import type { LiveQueue, LiveState } from '../model/live.js';
import type { FieldDiff } from '../model/plan.js';
import { clusterForm, diffForms, poolForm, queueForm, specForm, type Form } from './forms.js';
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
  /** An apply from here that began after the record and did not finish: some drift may be its. */
  unfinished_apply?: { started_at: string; commit: string | null };
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
  compare('Cluster', was.clusters, now.clusters, name, clusterForm);
  compareQueues(drift, was.queues, now.queues);
  compare('PoolAssignment', was.assignments, now.assignments, assignmentKeyString, (a) =>
    specForm('PoolAssignment', a),
  );
  // flyteadmin's labels (flytectl update execution-cluster-label by hand) drift like the rest.
  const labels = (s: LiveState) => s.execution_cluster_labels ?? [];
  compare('ExecutionClusterLabel', labels(was), labels(now), assignmentKeyString, (l) =>
    specForm('ExecutionClusterLabel', l),
  );
  return {
    format_version: '1',
    kind: 'refresh-only',
    last_applied: { applied_at: last.applied_at, commit: last.commit },
    drift,
  };
}

/**
 * Queues: their form, and their drain state (issue 73 item 2: a queue another client drained is
 * the drift that stops every run; DRAINING and DRAINED both take no work, one drift). A cap the
 * record does not hold is not compared: the control plane chose it (Union creates a queue
 * strict_fifo, remote/_queue.py:746, 799) and poolsync did not read it before recording.
 */
function compareQueues(drift: DriftEntry[], before: LiveQueue[], after: LiveQueue[]): void {
  for (const [k, was, is] of keyed(indexBy(before, nameOf), indexBy(after, nameOf))) {
    const diff = diffForms(
      was ? queueForm(was) : null,
      is ? queueForm(was ? known(is, was) : is) : null,
    );
    const from = was?.state ?? 'active';
    const to = is?.state ?? 'active';
    if (was && is && serving(from) !== serving(to))
      diff.push({ path: 'state', before: from, after: to, forces_replacement: false });
    if (diff.length === 0) continue;
    const what = !was ? 'appeared' : !is ? 'gone' : 'changed';
    drift.push({ address: address('Queue', k), drift: what, diff });
  }
}

const nameOf = (o: { name: string }) => o.name;
const serving = (s: string) => (s === 'draining' ? 'drained' : s);

/** `is` without the caps `was` does not hold. */
function known(is: LiveQueue, was: LiveQueue): LiveQueue {
  let out: LiveQueue | null = null;
  for (const f of QUEUE_CAP_FIELDS)
    if (was[f] === undefined && is[f] !== undefined) {
      out ??= { ...is };
      delete out[f];
    }
  return out ?? is;
}
