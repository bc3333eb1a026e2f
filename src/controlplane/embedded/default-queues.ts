/**
 * Union v2's project/domain → default queue settings in the embedded control plane. Kept
 * apart from state.ts's pool/cluster/queue rules: a setting names a queue that must exist,
 * and a queue a setting names cannot go away (see `defaultQueueTargets`).
 */
import { address, defaultQueueKeyString } from '../../model/common.js';
import type { LiveDefaultQueue } from '../../model/live.js';
import { ControlPlaneError } from '../errors.js';

/** What state.ts's State holds for these settings: keyed by `project/domain`. */
export interface DefaultQueueState {
  queues: ReadonlyMap<string, unknown>;
  default_queues: Map<string, LiveDefaultQueue>;
}

export type DefaultQueueOp =
  | { op: 'set_default_queue'; project: string; domain: string; queue: string }
  | { op: 'delete_default_queue'; project: string; domain: string };

export function applyDefaultQueueOp(state: DefaultQueueState, op: DefaultQueueOp): void {
  const key = defaultQueueKeyString(op);
  const addr = address('DefaultQueue', key);
  if (op.op === 'set_default_queue') {
    if (!state.queues.has(op.queue)) {
      throw new ControlPlaneError(
        'NOT_FOUND',
        `${addr}: queue "${op.queue}" does not exist; create it first`,
        addr,
        null,
      );
    }
    state.default_queues.set(key, { project: op.project, domain: op.domain, queue: op.queue });
    return;
  }
  if (!state.default_queues.delete(key)) {
    throw new ControlPlaneError(
      'NOT_FOUND',
      `default-queue setting "${key}" does not exist`,
      addr,
      null,
    );
  }
}

export function listDefaultQueues(state: DefaultQueueState): LiveDefaultQueue[] {
  return [...state.default_queues.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([, d]) => ({ ...d }));
}

/**
 * The `project/domain` keys of the settings that name `queue`, sorted; empty when none.
 * A queue named by a setting cannot be deleted (it can be drained, remote/_queue.py:934-938): callers
 * reject with `defaultQueueInUse` when this is not empty.
 */
export function defaultQueueTargets(state: DefaultQueueState, queue: string): string[] {
  const keys: string[] = [];
  for (const [key, d] of state.default_queues) if (d.queue === queue) keys.push(key);
  return keys.sort();
}

/** True when some project/domain setting names `queue`. */
export function isDefaultQueueTarget(state: DefaultQueueState, queue: string): boolean {
  for (const d of state.default_queues.values()) if (d.queue === queue) return true;
  return false;
}

/** The FAILED_PRECONDITION a queue drain or delete answers while settings name the queue. */
export function defaultQueueInUse(
  state: DefaultQueueState,
  queue: string,
  action: 'deleted',
): ControlPlaneError | null {
  const keys = defaultQueueTargets(state, queue);
  if (keys.length === 0) return null;
  const shown =
    keys.slice(0, 5).join(', ') + (keys.length > 5 ? ` and ${keys.length - 5} more` : '');
  const addr = address('Queue', queue);
  return new ControlPlaneError(
    'FAILED_PRECONDITION',
    `queue "${queue}" is the default queue of ${shown}; it cannot be ${action} until those settings name another queue or are deleted`,
    addr,
    null,
  );
}

/** A setting's key as the calls receive it: non-empty strings without spaces or "/". */
export function validateDefaultQueueKey(
  project: unknown,
  domain: unknown,
): { project: string; domain: string } {
  const shown = [project, domain].filter((v) => typeof v === 'string' && v !== '').join('/');
  const addr = address('DefaultQueue', shown || '?');
  const part = (what: string, v: unknown): string => {
    if (typeof v === 'string' && v !== '' && !/[\s/]/.test(v)) return v;
    throw new ControlPlaneError(
      'INVALID_ARGUMENT',
      `default-queue ${what} must be a non-empty string without spaces or "/", got ${JSON.stringify(v) ?? 'nothing'}`,
      addr,
      null,
    );
  };
  return { project: part('project', project), domain: part('domain', domain) };
}
