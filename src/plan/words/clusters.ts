/** Words of why a cluster change is blocked (Change.why of Cluster), and DATA_PLANE_UNVERIFIED. */
import type { ReasonParams } from '../../model/plan.js';
import { list, s, type WordsTable } from './params.js';

/**
 * C4 mismatches, one per field: `<prefix>fields`, `<prefix>declared` and `<prefix>contract`
 * (the declared and the contract's value of each field), e.g. `object_store_uri is "s3://a",
 * the contract says "s3://b"`; `withContract` false leaves the contract's value out.
 */
function mismatches(p: ReasonParams, prefix = '', withContract = true): string[] {
  const declared = list(p, `${prefix}declared`);
  const contract = withContract ? list(p, `${prefix}contract`) : [];
  return list(p, `${prefix}fields`).map(
    (field, i) =>
      `${field} is ${JSON.stringify(declared[i] ?? null)}` +
      (withContract ? `, the contract says ${JSON.stringify(contract[i] ?? null)}` : ''),
  );
}

/** `it reports …` and `it declares …`, when each has a mismatch. */
function moveMismatches(p: ReasonParams): string {
  return (['reports', 'declares'] as const)
    .map((what) => [what, mismatches(p, `${what}_`)] as const)
    .filter(([, m]) => m.length > 0)
    .map(
      ([what, m]) =>
        `it ${what} a data plane that does not match the contract of ${s(p, 'pool')} (C4): ${m.join('; ')}`,
    )
    .join('; and ');
}

/** Why DATA_PLANE_UNVERIFIED could not read the cluster's report. */
function unreported(p: ReasonParams): string {
  if (p.data_plane_reported === false)
    return "the control plane does not report a cluster's data plane (only its health)";
  if (p.health === 'unknown')
    return 'the cluster has not reported its data plane yet (health unknown)';
  return `the contract of its current pool "${s(p, 'live_pool')}" is not known, so its report cannot be read`;
}

/** The destination's contract as DATA_PLANE_UNVERIFIED describes it. */
function contractWords(p: ReasonParams): string {
  if (p.contract_known !== true)
    return `the contract of ${s(p, 'pool_address')} (which poolsync does not know either: it is marked unknown)`;
  return (
    `the contract of ${s(p, 'pool_address')}: object store ${s(p, 'object_store')}, secret store ` +
    `${s(p, 'secret_type')} ${s(p, 'secret_locator')}, ` +
    (p.image_registry !== null ? `image registry ${s(p, 'image_registry')}` : 'no image registry')
  );
}

export const CLUSTER_REASONS: WordsTable = {
  /** A note (Change.note): moved `from` one pool to another by cluster_move; `drain`: queues drain first. */
  CLUSTER_MOVED_IN_PLACE: (p) =>
    `moved in place from pool "${s(p, 'from')}" to "${s(p, 'pool')}" (cluster_move) after the queues that route only to it ` +
    `are ${p.drain === true ? 'drained' : 'idle'}: no delete and re-register, so its co-named ${s(p, 'queue')} ` +
    `moves with it and nothing is orphaned (no C7 trap)`,
  /** A note (Change.note): a soft-deleted cluster undeleted in pool `from`; `to`: then moved (else null). */
  CLUSTER_UNDELETED: (p) =>
    `a cluster named "${s(p, 'name')}" was deleted and its name stays reserved (soft_delete): undeleted (it comes back ` +
    `DRAINED in pool "${s(p, 'from')}", its co-named queue with it)` +
    (p.to !== null ? `, moved to pool "${s(p, 'to')}" (cluster_move)` : '') +
    (p.enabled === true ? ', then activated' : '; it stays drained (enabled: false)'),
  /** A note (Change.note): the co-named queue back with its `cluster`; `updated`: then set to the repository's spec. */
  CONAMED_QUEUE_UNDELETED: (p) =>
    `the deleted co-named queue comes back with ${s(p, 'cluster')}'s undelete (DRAINED, with its old ` +
    `settings)${p.updated === true ? ", is updated to the repository's spec" : ''}, and is activated with its cluster`,
  CLUSTER_MOVE_DATA_PLANE_MISMATCH: (p) =>
    `the cluster can move in place (cluster_move), but ${moveMismatches(p)}. Redeploy it with the destination pool's values first.`,
  /**
   * N2: the name is a queue's (`queue` its address, `pool` its pool); `reserved`: a deleted queue
   * keeps its name (soft deletes), so deleting that queue would not free it either.
   */
  CLUSTER_NAME_TAKEN: (p) =>
    `the name "${s(p, 'name')}" is taken by ${s(p, 'queue')} (pool "${s(p, 'pool')}"): clusters and queues share ` +
    `one namespace (N2, remote/_cluster.py:289-291) and ` +
    (p.reserved === true
      ? 'a deleted queue keeps its name reserved (soft delete), so deleting it would not free the name'
      : 'queues cannot be deleted (Q6)') +
    ', so register the cluster under another name',
  /**
   * unpin_first: `action` (drain, move, delete) refused while `queues` pin the cluster;
   * `unmanaged`: those the repository does not declare.
   */
  CLUSTER_PINNED: (p) => {
    const queues = list(p, 'queues');
    const unmanaged = list(p, 'unmanaged');
    const one = queues.length === 1;
    return (
      `Union refuses to ${s(p, 'action')} a cluster another live queue pins (remote/_cluster.py): ` +
      `${queues.join(', ')} ${one ? 'pins' : 'pin'} it. Unpin it first: take it out of ${one ? 'that' : 'those'} ` +
      `queue${one ? "'s" : "s'"} \`clusters\`` +
      (unmanaged.length > 0
        ? ` (${unmanaged.join(', ')} ${unmanaged.length === 1 ? 'is' : 'are'} not managed here: declare ${unmanaged.length === 1 ? 'it' : 'them'}, or change ${unmanaged.length === 1 ? 'it' : 'them'} with \`flyte update queue NAME --clusters …\`)`
        : '')
    );
  },
  /** A note (Change.note): a drain on Union, which no read can show is refused for apps. */
  CLUSTER_DRAIN_APPS: () =>
    'Union refuses to drain a cluster while apps are assigned to it (remote/_cluster.py:361), and no call poolsync ' +
    'makes shows app assignments: if this drain is refused, move the apps off the cluster and apply again (only ' +
    'the steps that depend on it wait)',
  /** queue_delete: the co-named queue a cluster delete takes along is one `settings` name. */
  CLUSTER_CONAMED_UNDELETABLE: (p) =>
    `its co-named queue "${s(p, 'name')}" goes with it, and is the default queue of ${list(p, 'settings').join(', ')} ` +
    `(run.default_queue), which Union never deletes: point ${list(p, 'settings').length === 1 ? 'that setting' : 'those settings'} at another queue first`,
  /** Soft deletes: the name is a deleted queue's, reserved until it is undeleted (`pool` its pool). */
  CLUSTER_NAME_RESERVED: (p) =>
    `the name "${s(p, 'name')}" belongs to a deleted queue of pool "${s(p, 'pool')}", and a deleted queue keeps its name ` +
    `reserved (remote/_queue.py:1006-1008) while no cluster may take a queue's name (remote/_cluster.py:289-291): ` +
    `register the cluster under another name`,
  REGISTRATION_DATA_PLANE_MISMATCH: (p) =>
    `the registration declares a data plane that does not match the contract ${s(p, 'pool')} ` +
    `will have (C4): ${mismatches(p).join('; ')}. The pool's contract change is blocked; see ${s(p, 'pool')}.`,
  // soft_delete: why a deleted cluster cannot come back as the repository declares it.
  CLUSTER_UNDELETE_DELETING: (p) =>
    `the cluster "${s(p, 'name')}" is being deleted (DELETING: Union is moving its work off) and can be undeleted only ` +
    `once that finishes (remote/_cluster.py); plan again when \`flyte get cluster --deleted\` lists it`,
  CLUSTER_UNDELETE_POOL_DELETED: (p) =>
    `the name "${s(p, 'name')}" belongs to a deleted cluster of pool "${s(p, 'pool')}", which is deleted too (or gone): ` +
    `a cluster is undeleted only into a live pool (remote/_cluster.py); declare ${s(p, 'pool_address')} ` +
    `so that it is undeleted first, or register the cluster under another name`,
  CLUSTER_UNDELETE_NO_MOVE: (p) =>
    `the deleted cluster "${s(p, 'name')}" comes back in its old pool "${s(p, 'from')}", and this control plane cannot ` +
    `move a cluster to pool "${s(p, 'to')}" (cluster_move off): declare it in pool "${s(p, 'from')}"`,
  CLUSTER_UNDELETE_POOL_MISSING: (p) =>
    `its pool "${s(p, 'pool')}" will not exist: declare ${s(p, 'pool_address')}`,
  CLUSTER_UNDELETE_DATA_PLANE: (p) =>
    `it declares a data plane that does not match the contract of ${s(p, 'pool_address')} (C4): ` +
    mismatches(p, '', false).join('; '),
};

export const CLUSTER_WARNINGS: WordsTable = {
  DATA_PLANE_UNVERIFIED: (p) =>
    `${s(p, 'cluster')} moves to pool "${s(p, 'pool')}" (cluster_move), but ${unreported(p)}: ` +
    `poolsync could not verify that it is deployed with ${contractWords(p)}.` +
    (p.declared === true
      ? ' Its declared data_plane matches that contract (V6), but that is what the repository says, not what the cluster runs.'
      : '') +
    ` Before applying, check the cluster's data-plane deployment (its object store bucket, ` +
    `secret manager and image registry settings) uses these values; after the move, check that the control plane ` +
    `reports it healthy: a cluster whose data plane does not match its pool is marked unhealthy and gets no work (C4, C5).`,
};
