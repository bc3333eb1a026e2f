/** Words of why a pool change is blocked (Change.why of ClusterPool; `reason` is this text). */
import { CONTRACT_ANNOTATION, CONTRACT_UNKNOWN } from '../../model/desired.js';
import { isAre, itThem, list, listAddresses, s, type WordsTable } from './params.js';

export const POOL_REASONS: WordsTable = {
  /** poolsync.yaml lists ClusterPool/default absent on a control plane that never deletes it (P5). */
  DEFAULT_POOL_ABSENT_NO_DELETE: () =>
    'listed absent in poolsync.yaml, but this control plane never deletes the "default" pool (P5; Union does, default_delete)',
  /** A note (Change.note): a pool's contract updated in place. */
  POOL_UPDATED_IN_PLACE: () =>
    'updated in place (pool_update): no delete and re-create, so its clusters, queues and assignments stay; ' +
    'every member cluster that has reported its data plane matches the new contract (C4)',
  /** A note (Change.note): a soft-deleted pool undeleted; `updated`: then its contract is updated in place. */
  POOL_UNDELETED: (p) =>
    `a pool named "${s(p, 'name')}" was deleted and its name stays reserved (soft_delete): undeleted, it comes back ` +
    `with the contract it had` +
    (p.updated === true ? ', then its contract is updated in place (pool_update)' : ''),
  /** P5: an undeclared pool that is still referenced (`refs`: the addresses). */
  POOL_REFERENCED: (p) =>
    `${s(p, 'pool')} is not in the repository, but a pool cannot be deleted while anything references it (P5): ` +
    `${listAddresses(list(p, 'refs'))}. Queues can never be deleted (Q6), so this pool stays; declare it again to stop this report.`,
  DEFAULT_POOL_CONTRACT_FIXED: () =>
    'the contract of the "default" pool is set when the control plane is provisioned and cannot change ' +
    '(P1, P4), and the pool can never be deleted (P5): make ClusterPool/default match the live contract',
  POOL_REPLACE_REFERENCED: (p) =>
    `a pool's contract cannot change in place (P4), and replacing the pool needs a delete, which is rejected ` +
    `while anything references it (P5): ${listAddresses(list(p, 'refs'))}. Queues can never be deleted (Q6), so declare a ` +
    `new pool with the new contract and register new clusters there.`,
  /** A3: `assignments` name the pool and prune may not touch them. */
  POOL_REPLACE_UNMANAGED_ASSIGNMENTS: (p) => {
    const n = list(p, 'assignments').length;
    return (
      `replacing the pool (P4) removes and sets again the assignments that name it (A3), but ` +
      `${listAddresses(list(p, 'assignments'))} ${isAre(n)} ` +
      `not in the repository and outside what prune may delete: declare ${itThem(n)} or remove ${itThem(n)} first`
    );
  },
  /**
   * pool_update: `clusters` report data planes the new contract does not match: the `fields`
   * (with the `declared` values) that differ, `counts` of them per cluster.
   */
  POOL_UPDATE_MISMATCH: (p) => {
    // `counts[i]` of the `fields` (with their `declared` values), in order, are `clusters[i]`'s.
    const counts = list(p, 'counts').map(Number);
    const fields = list(p, 'fields');
    const declared = list(p, 'declared');
    let at = 0;
    const members = list(p, 'clusters').map((c, i) => {
      const mine = fields.slice(at, at + (counts[i] ?? 0));
      const shown = mine.map((f, j) => `${f} ${JSON.stringify(declared[at + j] ?? null)}`);
      at += mine.length;
      return `${c} (${shown.join(', ')})`;
    });
    return (
      `the contract can be updated in place (pool_update), but member clusters report a data plane that would ` +
      `not match it (C4): ${listAddresses(members)}. Redeploy them with the new values (or move them out) first.`
    );
  },
  /** P5: `queues` whose move to another pool is blocked keep it. */
  POOL_KEPT_BY_REFUSED_MOVES: (p) => {
    const n = list(p, 'queues').length;
    return (
      `${listAddresses(list(p, 'queues'))} stay in this pool: moving ${itThem(n)} ` +
      `to another pool is blocked (see ${n === 1 ? 'that change' : 'those changes'}), so the pool cannot be deleted (P5)`
    );
  },
  /** Also the error POOL_CONTRACT_UNKNOWN. */
  POOL_CONTRACT_UNKNOWN: (p) =>
    `${s(p, 'pool')} is marked \`${CONTRACT_ANNOTATION}: ${CONTRACT_UNKNOWN}\` but does not exist on the control plane, and a ` +
    `pool is created with its contract (P2): write its object_store_ref, secret_store (and image_registry) in ` +
    `spec and remove the annotation`,
  /** soft_delete without pool_update: the deleted pool comes back with its old contract. */
  POOL_UNDELETE_CONTRACT_DIFFERS: (p) =>
    `the name "${s(p, 'name')}" belongs to a deleted pool, which can only be undeleted (its name stays reserved), and it ` +
    `comes back with the contract it had; this control plane cannot change a contract in place (pool_update ` +
    `off, P4): declare ${s(p, 'pool')} with that contract, or use another pool name`,
};
