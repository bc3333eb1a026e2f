/** Words of why a queue change is blocked (Change.why of Queue; `reason` is this text). */
import type { ReasonParams } from '../../model/plan.js';
import { list, s, type WordsTable } from './params.js';

/**
 * Why a queue cannot be deleted: `settings` (the scopes whose run.default_queue names it once
 * the plan is applied), or none for the "default" queue (Q5).
 */
function undeletable(p: ReasonParams): string {
  const settings = list(p, 'settings');
  if (settings.length === 0) return 'the "default" queue is always active (Q5)';
  return (
    `it is the default queue of ${settings.join(', ')} (run.default_queue setting), and Union refuses to delete ` +
    `a queue a setting names (FAILED_PRECONDITION; draining it is allowed): point ${settings.length === 1 ? 'that setting' : 'those settings'} at another queue first`
  );
}

const DELETE_NO_DRAIN =
  `this control plane can delete queues (queue_delete) but not drain them (drain off), ` +
  `and poolsync deletes only drained queues so that no work is lost. Retire it with \`clusters: []\`, or enable drain.`;
const ABSENT_DEFAULT = 'listed absent in poolsync.yaml, but it cannot be deleted here: ';
const NOT_THIS_ONE = 'queues can be deleted (queue_delete), but not this one: ';

export const QUEUE_REASONS: WordsTable = {
  /**
   * A note (Change.note): the spec fields of `numbers` (field numbers of Union's QueueSpec) not
   * declared, kept by the read-modify-write (Q3); `names`: poolsync's name of each ('' when the
   * field is not in poolsync's definition).
   */
  QUEUE_FIELDS_WRITTEN_BACK: (p) => {
    const numbers = list(p, 'numbers');
    const names = list(p, 'names');
    const one = numbers.length === 1;
    const fields = numbers.map((n, i) => names[i] || `field ${n}, not in poolsync's definition`);
    const listed = one
      ? numbers[0]
      : `${numbers.slice(0, -1).join(', ')} and ${numbers[numbers.length - 1]}`;
    return (
      `the update replaces the whole queue spec, so poolsync reads the queue first and sets only the fields the ` +
      `repository manages: spec ${one ? 'field' : 'fields'} ${listed} (${fields.join(', ')}), which ` +
      `${one ? 'is' : 'are'} not declared, ${one ? 'is' : 'are'} written back unchanged`
    );
  },
  /** A note (Change.note): moved `from` a pool `to` another by queue_move; `activates`: re-activated there. */
  QUEUE_MOVED_IN_PLACE: (p) =>
    `moved in place from pool "${s(p, 'from')}" to "${s(p, 'to')}" (queue_move): drained (no new work), waited for ` +
    `until DRAINED (nothing in flight, so no work is lost), moved with its settings and name (what targets ` +
    `${s(p, 'queue')} keeps working), then ` +
    (p.activates === true
      ? 're-activated'
      : `left drained: it routes to no cluster of pool "${s(p, 'to')}" yet`),
  /** A note (Change.note): an undeclared queue deleted (queue_delete). */
  QUEUE_DELETED_DRAINED: () =>
    'not in the repository: drained (no new work), waited for until DRAINED (nothing in flight), then deleted (queue_delete)',
  /** A note (Change.note): replaced `from` a pool `to` another (drain, queue_delete). */
  QUEUE_REPLACED_DRAINED: (p) =>
    `replaced (drain, queue_delete): drained in pool "${s(p, 'from')}" (no new work), deleted once DRAINED ` +
    `(nothing in flight, so no work is lost), then created in pool "${s(p, 'to')}"`,
  /** A note (Change.note): re-activated; `drained_by`: the clusters it waits for (null: it was left `state`). */
  QUEUE_REACTIVATED: (p) => {
    if (p.drained_by === null)
      return `left ${s(p, 'state')} (drain): re-activated, since it routes to clusters again`;
    const by = list(p, 'drained_by');
    return (
      `drained (no new work) until ${by.join(', ')} ` +
      `${by.length === 1 ? 'has' : 'have'} left with nothing in flight, then re-activated`
    );
  },
  /** A note (Change.note): a soft-deleted queue undeleted. */
  QUEUE_UNDELETED: (p) =>
    `a queue named "${s(p, 'name')}" was deleted and its name stays reserved (soft_delete): undeleted (it comes back DRAINED ` +
    `with its old spec), updated to the repository's spec, then activated`,
  CONAMED_QUEUE_POOL_FIXED: (p) =>
    `${s(p, 'queue')} is the co-named queue of cluster "${s(p, 'cluster')}" and stays in pool "${s(p, 'pool')}": ` +
    `a queue's pool can never change (Q3, Q4). Re-registering a cluster under the same name leaves this queue ` +
    `behind (C7); use a new cluster name.`,
  /** The words alone of why a queue cannot be drained (also inside the codes below). */
  // Q1: the selector against the clusters the plan leaves in the pool.
  QUEUE_POOL_MISSING: (p) =>
    `its pool "${s(p, 'pool')}" will not exist (Q1): declare ${s(p, 'pool_address')}`,
  QUEUE_SELECTS_BLOCKED_CLUSTER: (p) =>
    `it selects ${s(p, 'cluster')}, whose registration is blocked (see that change)`,
  QUEUE_SELECTS_NON_MEMBER: (p) =>
    `it selects ${s(p, 'cluster')}, which will not be a member of pool "${s(p, 'pool')}" (Q1)`,

  // A queue the repository no longer has (Q6, queue_delete).
  QUEUE_NOT_DELETABLE: () =>
    `not in the repository, but queues cannot be deleted (Q6). To retire it, declare it with \`clusters: []\` ` +
    `(it then routes nowhere; an idle queue costs nothing).`,
  QUEUE_DELETE_UNDELETABLE: (p) => `not in the repository; ${NOT_THIS_ONE}${undeletable(p)}`,
  QUEUE_DELETE_NO_DRAIN: () => `not in the repository; ${DELETE_NO_DRAIN}`,
  DEFAULT_QUEUE_ABSENT_UNDELETABLE: (p) => `${ABSENT_DEFAULT}${NOT_THIS_ONE}${undeletable(p)}`,
  DEFAULT_QUEUE_ABSENT_NO_DRAIN: () => `${ABSENT_DEFAULT}${DELETE_NO_DRAIN}`,
  DEFAULT_QUEUE_ABSENT_NO_DELETE: () =>
    `${ABSENT_DEFAULT}this control plane deletes no queues (queue_delete off, Q6)`,

  // A queue's pool (Q3) and selector (Q4, Q5).
  QUEUE_POOL_CHANGE_UNDELETABLE: (p) =>
    `a queue's pool can change here only by drain, delete and create (drain, queue_delete), and this one cannot be deleted: ${undeletable(p)}`,
  QUEUE_POOL_CHANGE_NAME_RESERVED: (p) =>
    `a queue's pool can change only by moving it (queue_move, off here) or by delete and create, and a deleted ` +
    `queue keeps its name reserved (soft delete): the create in pool "${s(p, 'pool')}" would be refused. Declare a new ` +
    `queue (another name) there and retire this one with \`pool: ${s(p, 'live_pool')}\` and \`clusters: []\``,
  /** `missing`: the capability of drain and queue_delete this control plane lacks, when it has the other. */
  QUEUE_POOL_FIXED: (p) => {
    const missing = list(p, 'missing');
    return (
      `a queue's pool can never change (Q3) and queues cannot be deleted (Q6): declare a new queue (another name) ` +
      `in pool "${s(p, 'pool')}" and retire this one with \`pool: ${s(p, 'live_pool')}\` and \`clusters: []\`.` +
      (p.hint === true
        ? ` (With both drain and queue_delete this would be a drain → delete → create; this control plane lacks ${missing.join(' and ')}.)`
        : '')
    );
  },
  DEFAULT_QUEUE_SELECTOR_FIXED: () => 'the selector of the "default" queue cannot change (Q5)',
  CONAMED_SELECTOR_FIXED: (p) =>
    `the selector of a co-named queue is managed by its cluster and cannot be set (Q4)` +
    (p.emptied === true
      ? `; this one was emptied when cluster "${s(p, 'name')}" was deleted (C8) and a new registration does not restore it (C7): use a new cluster name`
      : ''),
  CREATED_QUEUE_SELECTOR_FIXED: (p) =>
    `this queue was created by cluster "${s(p, 'name')}" (C2), so its selector cannot be set (Q4); it stays ` +
    `${JSON.stringify(list(p, 'clusters'))}`,
  CONAMED_QUEUE_FOLLOWS_CLUSTER: (p) =>
    `the pool and selector of a co-named queue follow its cluster (Q4): pool "${s(p, 'pool')}", clusters ["${s(p, 'name')}"]`,
  /** Q2: the name is a live cluster's. */
  QUEUE_NAME_TAKEN: (p) =>
    `the name "${s(p, 'name')}" is taken by ${s(p, 'cluster')}: clusters and queues share one namespace (Q2)`,
  /** A DefaultQueue setting naming a queue the plan leaves absent. */
  DEFAULT_QUEUE_TARGET_MISSING: (p) =>
    `its queue "${s(p, 'queue')}" will not exist once the plan is applied: see ${s(p, 'queue_address')}`,
  DEFAULT_QUEUE_MISSING: () =>
    'the "default" queue is missing and its name is reserved (Q2): the next cluster registration recreates it (C3)',

  // queue_move and soft_delete.
  QUEUE_MOVE_NO_DRAIN: (p) =>
    `this control plane can move a queue to another pool (queue_move) but not drain it (drain off), and ` +
    `poolsync moves only drained queues so that no work is lost: enable drain, or declare a new queue in pool "${s(p, 'pool')}"`,
  QUEUE_UNDELETE_CONAMED: (p) =>
    `the name "${s(p, 'name')}" belongs to the deleted co-named queue of cluster "${s(p, 'name')}": it comes back only with its cluster; declare the cluster, or use another queue name`,
  QUEUE_UNDELETE_POOL_GONE: (p) =>
    `the name "${s(p, 'name')}" belongs to a deleted queue of pool "${s(p, 'pool')}", which no longer exists: it cannot be undeleted (and its name stays reserved); use another queue name`,
  QUEUE_UNDELETE_CLUSTER_GONE: (p) =>
    `the name "${s(p, 'name')}" belongs to a deleted queue that names ${s(p, 'cluster')}, which is not live in pool "${s(p, 'pool')}": it cannot be undeleted; use another queue name`,
  QUEUE_UNDELETE_NO_MOVE: (p) =>
    `the deleted queue "${s(p, 'name')}" was in pool "${s(p, 'from')}": undeleted, it comes back there, and this control plane cannot move a queue to pool "${s(p, 'to')}" (queue_move off); use another queue name`,
};
