/**
 * A full garbage collection on demand, for a long-running process between two units of work.
 *
 * A daemon's reconcile allocates the live state and a plan (tens of MB at 10,000 objects) that
 * live long enough to be promoted to V8's old generation; V8 then lets that generation grow to
 * several times what is in use before its next full collection, so the resident set climbs by
 * ~15 MB per reconcile and falls back only every few runs (issue 23, item 11: 172 → 255 MB over
 * 7 runs, with 44 MB in use after each full collection). Collecting once after each run, when the
 * run's garbage is all dead, keeps the heap at what the daemon really holds.
 *
 * Node exposes `gc` only with --expose-gc, which a CLI cannot pass to its own process; the
 * flag set at run time plus a fresh context gives the same function (documented V8 behaviour:
 * `%CollectGarbage` through the `gc` extension, installed in contexts created after the flag).
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

type Gc = () => void;
let collector: Gc | null | undefined;

function gcFunction(): Gc | null {
  if (collector !== undefined) return collector;
  const global = (globalThis as { gc?: unknown }).gc;
  if (typeof global === 'function') return (collector = global as Gc);
  try {
    setFlagsFromString('--expose-gc');
    const found: unknown = runInNewContext('gc');
    collector = typeof found === 'function' ? (found as Gc) : null;
  } catch {
    collector = null;
  }
  return collector;
}

/** A full (major) collection now; false when this V8 offers none (nothing happens then). */
export function collectGarbage(): boolean {
  const gc = gcFunction();
  if (gc === null) return false;
  gc();
  return true;
}
