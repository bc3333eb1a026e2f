/** Words of the causes: what another object's step does to this one (Change.cause, with caused_by). */
import type { ReasonParams } from '../../model/plan.js';
import { s, type WordsTable } from './params.js';

export const CAUSES: WordsTable = {
  CREATED_BY_REGISTRATION: (p) => `created by registering ${s(p, 'by')} (C2)`,
  RECREATED_BY_REGISTRATION: (p) => `recreated by registering ${s(p, 'by')} (C3)`,
  MOVES_WITH_CLUSTER: (p) =>
    `the co-named queue moves with ${s(p, 'by')} to pool "${s(p, 'pool')}" (cluster_move)`,
  LEAVES_MOVED_CLUSTER: (p) =>
    `${s(p, 'by')} moves to pool "${s(p, 'pool')}" (cluster_move): its name leaves the selector (Q1)`,
  CLUSTER_DELETED: (p) => `${s(p, 'by')} is deleted: its name leaves the selector (C8)`,
  CONAMED_LEFT_BEHIND: (p) =>
    `${s(p, 'by')} is deleted and registered again in pool "${s(p, 'to')}" (C7): this co-named queue ` +
    `stays in pool "${s(p, 'pool')}" and its name leaves the selector (C8)`,
  DELETED_WITH_CLUSTER: (p) =>
    `deleted with ${s(p, 'by')} (queue_delete: a cluster delete takes its co-named queue with it)`,
  REPLACED_WITH_CLUSTER: (p) =>
    `deleted with ${s(p, 'by')} (queue_delete) and created again by its registration (C2), with the pool and ` +
    `selector of the cluster: nothing is left behind in pool "${s(p, 'pool')}"`,
  DELETED_WITH_BROADER_ROW: (p) =>
    `deleted along with ${s(p, 'by')} (flyteadmin deletes the narrower rows of its project/domain)` +
    (p.set_again === true ? ' and set again after it' : ''),
  SET_AGAIN_AROUND_REPLACE: (p) =>
    `removed and set again around the replacement of ${s(p, 'by')} (A3)`,
  CAUSED_BY: (p: ReasonParams) => `caused by ${s(p, 'by')}`,
};
