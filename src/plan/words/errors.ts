/** Words of the plan's errors (PlanError.params; `message` is this text). */
import { list, listAddresses, s, type WordsTable } from './params.js';

export const ERRORS: WordsTable = {
  /** C1, A1: a cluster (`cluster`, its address) or an assignment (`assignment`, its name) names a pool no one has. */
  UNKNOWN_POOL: (p) =>
    p.assignment !== null
      ? `assignment "${s(p, 'assignment')}" names pool "${s(p, 'pool')}", which neither the repository nor the control plane has (A1)`
      : `${s(p, 'cluster')} names pool "${s(p, 'pool')}", which neither the repository nor the control plane has (C1)`,
  /** `fields` forcing replacement with their `before` and `after` (JSON), or the replaced `caused_by`. */
  PREVENT_DESTROY: (p) => {
    const before = list(p, 'before');
    const after = list(p, 'after');
    const what = list(p, 'fields')
      .map((f, i) => `${f}: ${before[i] ?? ''} → ${after[i] ?? ''}`)
      .join(', ');
    const because = p.caused_by !== null ? ` (because ${s(p, 'caused_by')} is replaced)` : '';
    return (
      `${s(p, 'address')} is annotated poolsync/prevent-destroy: "true", but this plan would ${s(p, 'action')} it` +
      `${what ? ` (${what})` : because}. ` +
      `Revert the change, or remove the annotation in a separate commit to allow it.`
    );
  },
};

/** Errors, and reasons of blocked changes, of what a backend cannot do (src/plan/backend.ts). */
export const BACKEND_ERRORS: WordsTable = {
  /**
   * A PoolAssignment (`project`, `domain`, `workflow`, `pool`) on a backend whose API replaced
   * them by default-queue settings (replacedKinds): what to declare instead, naming the
   * repository's `queues` of that pool and the setting of project/domain it `declared` (or null).
   */
  ASSIGNMENT_REPLACED_BY_DEFAULT_QUEUE: (p) => {
    const queues = list(p, 'queues');
    const scope = `${s(p, 'project')}/${s(p, 'domain')}`;
    const aQueue =
      `a queue of pool "${s(p, 'pool')}"` +
      (queues.length > 0
        ? ` (${listAddresses(queues)})`
        : ` (the repository declares none: add a Queue with pool: ${s(p, 'pool')})`);
    const instead =
      p.workflow !== null
        ? `A workflow's queue is chosen in its code: set queue= on the TaskEnvironment of workflow ${s(p, 'workflow')} (or run it with flyte run --queue) naming ${aQueue}`
        : p.declared !== null
          ? `${s(p, 'declared')} already sets the default queue of ${scope}: check that it names ${aQueue}`
          : `Declare a DefaultQueue for ${scope} naming ${aQueue}`;
    return (
      `the ${s(p, 'backend')} backend has no pool assignments: a default queue per project/domain replaced them (run.default_queue). ` +
      `${instead}, then remove this PoolAssignment`
    );
  },
  /** `more`: how many more documents of the kind. */
  BACKEND_KIND: (p) =>
    `the ${s(p, 'backend')} backend cannot manage ${s(p, 'kind')}: ${s(p, 'address')} is declared at ${s(p, 'location')}` +
    `${p.more !== 0 ? ` (and ${s(p, 'more')} more)` : ''}. ` +
    `This backend manages ${list(p, 'accepted').join(', ')}; remove the ${s(p, 'kind')} documents or plan them against a control plane that has them`,
  MULTI_POOL_CLUSTER: (p) =>
    `${s(p, 'cluster')} is in pools ${list(p, 'pools').join(', ')}, but the ${s(p, 'backend')} backend registers a cluster in one pool (C7); ` +
    `a cluster in several pools belongs to Union self-managed's pool map (poolsync render union-cluster-pools): give it one pool, or plan against the flyteadmin backend`,
  QUEUE_CAPS: (p) =>
    `${s(p, 'queue')} (${s(p, 'location')}) sets ${list(p, 'fields').join(', ')}, ` +
    `but the ${s(p, 'backend')} backend has no queue caps or scheduling (Union's queues have them): remove them, or plan against a union+ control plane`,
};
