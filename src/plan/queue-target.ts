/**
 * What the repository wants for a queue (queues.ts): its Queue document, or the implicit spec
 * of a system queue (a co-named queue, C2; `default`, P1), with the caps it does not declare
 * kept as they are (queue-caps.ts).
 */
import {
  DEFAULT_POOL,
  DEFAULT_QUEUE,
  QUEUE_DEFAULTS,
  WILDCARD,
  type QueueSpec,
} from '../model/common.js';
import type { LiveQueue } from '../model/live.js';
import type { QueueFrame, QueueOwn } from './queue-frame.js';
import { inheritCaps } from './queue-caps.js';

function settingsOf(spec: Omit<QueueSpec, 'pool' | 'clusters'>) {
  return {
    run_concurrency: spec.run_concurrency,
    action_concurrency: spec.action_concurrency,
    depth: spec.depth,
    priority: spec.priority,
    fairness: spec.fairness,
  };
}

/**
 * What the repository wants for a queue, or null when it says nothing about it. A system
 * queue without a Queue document follows its owner: with prune on the repository is the
 * whole truth, so its settings are the defaults (C2); with prune off its live settings are
 * left as they are.
 */
export function targetSpec(f: QueueFrame, own: QueueOwn, l: LiveQueue | null): QueueSpec | null {
  // Caps a document does not declare (and a system queue's) are not managed: kept as they are.
  const t = declaredSpec(f, own, l);
  return t && inheritCaps(t, l);
}

function declaredSpec(f: QueueFrame, own: QueueOwn, l: LiveQueue | null): QueueSpec | null {
  const { name } = own;
  const doc = own.desired;
  if (doc) return doc.spec;
  // `default` listed absent (poolsync.yaml) is wanted gone: planned as a delete (or blocked).
  if (name === DEFAULT_QUEUE && f.ix.absentDefault) return null;
  // `default` undeclared is left as it is, prune or not: never an update of its settings.
  if (name === DEFAULT_QUEUE && l)
    return { pool: DEFAULT_POOL, clusters: [WILDCARD], ...settingsOf(l) };
  const settings = settingsOf(!f.ix.prunes('Queue', name) && l ? l : QUEUE_DEFAULTS);
  const ownerPool = f.ix.dClusters.get(name)?.pool;
  if (ownerPool !== undefined && f.pc.clusters.get(name)?.change.action !== 'blocked') {
    return { pool: ownerPool, clusters: [name], ...settings };
  }
  if (name === DEFAULT_QUEUE && l) return { pool: DEFAULT_POOL, clusters: [WILDCARD], ...settings };
  return null;
}
