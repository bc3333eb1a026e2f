/**
 * An instrumented wrapper around any ControlPlane: records every call with its start and
 * end time, can add latency, and can fail chosen calls. The tests read the record to check
 * ordering (what finished before what started) and real parallelism (overlaps).
 */
import type { ControlPlane } from '../../../src/controlplane/types.js';
import type { CoreCalls } from '../../controlplane/core-calls.js';
import { ControlPlaneError } from '../../../src/controlplane/errors.js';

export interface CallRecord {
  method: string;
  /** The object the call is about: its name, or the assignment key `project/domain[/workflow]`. */
  subject: string;
  args: unknown[];
  start: number;
  end: number;
  ok: boolean;
  code: string | null;
}

export type Injected = (method: string, subject: string) => ControlPlaneError | null;

export interface RecordingControlPlane extends CoreCalls {
  calls: CallRecord[];
  /** Extra time every mutating call takes (ms). */
  latencyMs: number;
  /** Called before every mutating call; a returned error is thrown instead of calling. */
  inject: Injected | null;
  /** Called before every mutating call; a returned promise holds it until settled (released). */
  gate: ((method: string, subject: string) => Promise<void> | null) | null;
  /** Highest number of mutating calls in flight at once. */
  maxConcurrent(): number;
  mutations(): CallRecord[];
}

const MUTATING = new Set([
  'createPool',
  'deletePool',
  'registerCluster',
  'updateCluster',
  'deleteCluster',
  'createQueue',
  'updateQueue',
  'drainQueue',
  'activateQueue',
  'deleteQueue',
  'moveCluster',
  'updatePool',
  'setAssignment',
  'deleteAssignment',
]);

function subjectOf(method: string, args: unknown[]): string {
  const a = args[0];
  if (typeof a === 'string') return a;
  if (a && typeof a === 'object') {
    const o = a as Record<string, unknown>;
    if (method.endsWith('Assignment')) {
      return [o.project, o.domain, o.workflow].filter((x) => typeof x === 'string').join('/');
    }
    if (typeof o.name === 'string') return o.name;
  }
  return '';
}

export function recording(
  inner: ControlPlane,
  opts: { latencyMs?: number } = {},
): RecordingControlPlane {
  const calls: CallRecord[] = [];
  const t0 = performance.now();
  const rec = {
    calls,
    latencyMs: opts.latencyMs ?? 0,
    inject: null as Injected | null,
    gate: null as ((method: string, subject: string) => Promise<void> | null) | null,
    maxConcurrent() {
      const events = calls
        .filter((c) => MUTATING.has(c.method))
        .flatMap((c) => [
          [c.start, 1],
          [c.end, -1],
        ])
        // Ends before starts at the same instant: touching intervals do not overlap.
        .sort((x, y) => x[0]! - y[0]! || x[1]! - y[1]!);
      let cur = 0;
      let max = 0;
      for (const [, d] of events) {
        cur += d!;
        max = Math.max(max, cur);
      }
      return max;
    },
    mutations() {
      return calls.filter((c) => MUTATING.has(c.method));
    },
  };
  return new Proxy(inner, {
    set(target, prop, value) {
      if (prop in rec) {
        (rec as Record<string | symbol, unknown>)[prop] = value;
        return true;
      }
      return Reflect.set(target, prop, value);
    },
    get(target, prop, receiver) {
      if (prop in rec) return (rec as Record<string | symbol, unknown>)[prop];
      const value = Reflect.get(target, prop, receiver) as unknown;
      // A part the control plane serves flat (`pools = this`): its calls are recorded too.
      if (value === target) return receiver;
      if (typeof value !== 'function' || typeof prop !== 'string' || prop === 'close') {
        return typeof value === 'function' ? value.bind(target) : value;
      }
      return async (...args: unknown[]) => {
        const subject = subjectOf(prop, args);
        const record: CallRecord = {
          method: prop,
          subject,
          args,
          start: performance.now() - t0,
          end: 0,
          ok: true,
          code: null,
        };
        calls.push(record);
        try {
          if (MUTATING.has(prop)) {
            const injected = rec.inject?.(prop, subject);
            const gate = rec.gate?.(prop, subject);
            if (gate) await gate;
            if (rec.latencyMs > 0) await new Promise((r) => setTimeout(r, rec.latencyMs));
            if (injected) throw injected;
          }
          return await (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
        } catch (err) {
          record.ok = false;
          record.code = err instanceof ControlPlaneError ? err.code : 'ERROR';
          throw err;
        } finally {
          record.end = performance.now() - t0;
        }
      };
    },
  }) as RecordingControlPlane;
}
