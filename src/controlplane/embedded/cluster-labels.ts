/**
 * The embedded control plane's flyteadmin EXECUTION_CLUSTER_LABEL attributes: journaled ops,
 * their application and read view, kept apart from state.ts's pool/cluster/queue rules.
 * Like flyteadmin, the label value is not checked against labelClusterMap (a config file the
 * control plane reads at execution time); poolsync's V11 checks it before anything is sent.
 */
import { address, assignmentKeyString, type AssignmentKey } from '../../model/common.js';
import type { ExecutionClusterLabel } from '../../model/flyte.js';
import { ControlPlaneError } from '../errors.js';

export type ClusterLabelOp =
  | { op: 'set_execution_cluster_label'; label: ExecutionClusterLabel }
  | { op: 'delete_execution_cluster_label'; key: AssignmentKey };

interface WithLabels {
  execution_cluster_labels?: Map<string, ExecutionClusterLabel>;
}

export function isClusterLabelOp(op: { op: string }): op is ClusterLabelOp {
  return op.op === 'set_execution_cluster_label' || op.op === 'delete_execution_cluster_label';
}

function labels(state: WithLabels): Map<string, ExecutionClusterLabel> {
  return (state.execution_cluster_labels ??= new Map());
}

export function applyClusterLabelOp(state: WithLabels, op: ClusterLabelOp): void {
  if (op.op === 'set_execution_cluster_label') {
    const { project, domain, workflow, label } = op.label;
    labels(state).set(assignmentKeyString(op.label), { project, domain, workflow, label });
    return;
  }
  const key = assignmentKeyString(op.key);
  if (!labels(state).delete(key)) {
    throw new ControlPlaneError(
      'NOT_FOUND',
      `no execution cluster label is set for ${key}`,
      address('ExecutionClusterLabel', key),
    );
  }
}

export function getExecutionClusterLabel(
  state: WithLabels,
  key: AssignmentKey,
): ExecutionClusterLabel | null {
  const found = state.execution_cluster_labels?.get(assignmentKeyString(key));
  return found ? { ...found } : null;
}

/** Sorted by key string. */
export function listExecutionClusterLabels(state: WithLabels): ExecutionClusterLabel[] {
  return [...(state.execution_cluster_labels?.entries() ?? [])]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([, l]) => ({ ...l }));
}

export function clusterLabelsToJson(state: WithLabels): {
  execution_cluster_labels?: ExecutionClusterLabel[];
} {
  const list = listExecutionClusterLabels(state);
  return list.length > 0 ? { execution_cluster_labels: list } : {};
}

export function clusterLabelsFromJson(list: ExecutionClusterLabel[] | undefined): WithLabels {
  return list && list.length > 0
    ? { execution_cluster_labels: new Map(list.map((l) => [assignmentKeyString(l), { ...l }])) }
    : {};
}

const LABEL_PATTERN = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;

/** A label write as the store accepts it: a valid key and a non-empty label value. */
export function validateExecutionClusterLabel(
  value: unknown,
  key: AssignmentKey,
): ExecutionClusterLabel {
  const v = (typeof value === 'object' && value !== null ? value : {}) as Record<string, unknown>;
  const unknown = Object.keys(v).filter(
    (k) => !['project', 'domain', 'workflow', 'label'].includes(k),
  );
  const addr = address('ExecutionClusterLabel', assignmentKeyString(key));
  if (unknown.length > 0) {
    throw new ControlPlaneError(
      'INVALID_ARGUMENT',
      `an execution cluster label takes project, domain, workflow and label; unknown: ${unknown.join(', ')}`,
      addr,
    );
  }
  const label = v['label'];
  if (typeof label !== 'string' || !LABEL_PATTERN.test(label) || label.length > 63) {
    throw new ControlPlaneError(
      'INVALID_ARGUMENT',
      `execution cluster label value must be a label name (letters, digits, '-', '_', '.'), got ${JSON.stringify(label)}`,
      addr,
    );
  }
  return { ...key, label };
}
