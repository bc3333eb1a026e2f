/** Words of the warnings (PlanWarning.params; `message` is this text). */
import type { ReasonParams } from '../../model/plan.js';
import { list, s, type WordsTable } from './params.js';

/** How a cluster is registered again (`from`: its live pool, null when it is not live). */
function reRegistered(p: ReasonParams): string {
  // A forced replace (--replace) keeps the pool: the cluster is re-registered where it is.
  if (p.from === null || p.from === undefined) return 'is registered again (C7)';
  return p.from === p.to
    ? `is deleted and registered again in pool "${s(p, 'to')}" (C7)`
    : `moves from pool "${s(p, 'from')}" to "${s(p, 'to')}" by delete and re-register (C7)`;
}

export const WARNINGS: WordsTable = {
  CONAMED_QUEUE_ORPHANED: (p) =>
    `${s(p, 'cluster')} ${reRegistered(p)}, but its co-named ${s(p, 'queue')} stays in pool "${s(p, 'pool')}" with an ` +
    `empty selector (C8) and registration does not create another (C2): everything that targets queue ` +
    `"${s(p, 'name')}" will route nowhere. Register the cluster under a new name instead (rename it in the repository).`,
  QUEUE_ROUTES_NOWHERE: (p) =>
    `${s(p, 'queue')} will route nowhere: ${s(p, 'cause')}. Work submitted to it waits until it is pointed at a ` +
    `cluster of pool "${s(p, 'pool')}"; if that is intended (a retired queue), no action is needed.`,
  QUEUE_NO_HEALTHY_CLUSTER: (p) =>
    `${s(p, 'queue')} has no enabled, healthy cluster to route to (Q8): ${s(p, 'why')}. ` +
    `Enable a cluster, fix its data plane (see its health in \`poolsync export\`), or point the queue elsewhere.`,
};

/**
 * Why a queue routes nowhere or to no healthy cluster: the `cause` and `why` parameters of
 * QUEUE_ROUTES_NOWHERE and QUEUE_NO_HEALTHY_CLUSTER (words in the JSON, as they always were).
 */
export const ROUTING_CAUSES: WordsTable = {
  ROUTES_NOWHERE_BLOCKED: () => 'the change the repository asks for is blocked (see Blocked)',
  ROUTES_NOWHERE_EMPTY_SELECTOR: () => 'its selector is empty (`clusters: []`)',
  /** `why`: the words of the cause; `settings`: the scopes whose run.default_queue names it. */
  ROUTES_NOWHERE_DEFAULT_OF: (p) =>
    `${s(p, 'why')}, and it is the default queue of ${list(p, 'settings').join(', ')} (run.default_queue): their runs wait there`,
  ROUTES_NOWHERE_EMPTY_POOL: (p) => `pool "${s(p, 'pool')}" has no cluster (register one in it)`,
  /** The first clusters (`clusters`), each `disabled` or `unhealthy` (`states`), `more` left out. */
  NO_ROUTE: (p) => {
    const states = list(p, 'states');
    const shown = list(p, 'clusters')
      .map((c, i) => `${c} is ${states[i]}`)
      .join(', ');
    const more = p.more as number;
    return more > 0 ? `${shown} and ${more} more` : shown;
  },
};
