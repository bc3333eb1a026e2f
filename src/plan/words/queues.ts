/** Words of why a queue change is blocked (Change.why; `reason` is this text). */
import { s, type WordsTable } from './params.js';

export const QUEUE_REASONS: WordsTable = {
  CONAMED_QUEUE_POOL_FIXED: (p) =>
    `${s(p, 'queue')} is the co-named queue of cluster "${s(p, 'cluster')}" and stays in pool "${s(p, 'pool')}": ` +
    `a queue's pool can never change (Q3, Q4). Re-registering a cluster under the same name leaves this queue ` +
    `behind (C7); use a new cluster name.`,
};
