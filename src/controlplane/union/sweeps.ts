/** Reading whole lists from Union, and the objects as Union last sent them (`Latest`). */
import { ControlPlaneError } from '../errors.js';
import type { Call, RpcName } from './transport.js';

/** A list request: a page of `limit` from `token`, of the soft-deleted objects or the live ones. */
interface ListRequest {
  limit: number;
  token: string;
  filters: { function: 15; field: string }[];
}

/**
 * Every item of the paged list call `rpc`, page after page: Union's tokens are opaque, so a page
 * cannot be asked before the one before it answered. `deleted`: those with `deleted_at` (the
 * filter `EXISTS deleted_at`, as Union's client lists them).
 */
export async function sweep<T>(
  call: Call,
  rpc: RpcName,
  limit: number,
  deleted: boolean,
  page: (request: ListRequest) => Promise<{ items: T[]; token: string }>,
) {
  // Filter_Function.EXISTS, the same number in cloudidl's list.proto and flyteidl2's.
  const filters = deleted ? [{ function: 15 as const, field: 'deleted_at' }] : [];
  const out: T[] = [];
  let token = '';
  do {
    const res = await call(rpc, null, () => page({ limit, token, filters }));
    out.push(...res.items);
    token = res.token;
  } while (token !== '');
  return out;
}

/**
 * Each object as Union last sent it (a list, a get, a write's answer), by name: what a write
 * starts from, so a write is one call (Union has no version on queues and clusters,
 * docs/union.md), and what a write whose answer is empty returns from.
 */
export class Latest<T> {
  private readonly byName = new Map<string, T>();

  constructor(private readonly nameOf: (t: T) => string) {}

  /** A whole list: it replaces what was known. */
  all(items: readonly T[]): T[] {
    this.byName.clear();
    for (const t of items) this.byName.set(this.nameOf(t), t);
    return [...items];
  }

  one<U extends T | undefined>(t: U): U {
    if (t !== undefined) this.byName.set(this.nameOf(t), t);
    return t;
  }

  get(name: string): T | undefined {
    return this.byName.get(name);
  }

  forget(name: string): void {
    this.byName.delete(name);
  }

  values(): IterableIterator<T> {
    return this.byName.values();
  }
}

/**
 * `write` from the object as poolsync last read it (the plan's read, or its own last call's
 * answer), carrying that object's state generation as Union's client does (remote/_queue.py:
 * 636-640): "a delayed request cannot apply to a state the caller never saw". When Union refuses
 * it (FAILED_PRECONDITION) and a fresh read shows another generation, someone else changed the
 * object since: that is said, naming it, never hidden by a retry from the fresh read (issue 73
 * item 6). Otherwise Union's own refusal stands.
 */
export async function fromLatest<T, R>(
  latest: Latest<T>,
  name: string,
  read: () => Promise<T>,
  write: (current: T) => Promise<R>,
  changed: Changed<T>,
): Promise<R> {
  const known = latest.get(name) ?? (await read());
  try {
    return await write(known);
  } catch (err) {
    if (!(err instanceof ControlPlaneError && err.code === 'FAILED_PRECONDITION')) throw err;
    const now = await read().catch(() => null);
    if (now === null) throw err;
    expectUnchanged(changed, known, now);
    throw err;
  }
}

/** An object's address, and how to read its state generation and state. */
export interface Changed<T> {
  address: string;
  generation: (t: T) => bigint;
  state: (t: T) => string;
}

/** Throws when another client changed the object's state between poolsync's read and `now`. */
export function expectUnchanged<T>(changed: Changed<T>, known: T, now: T): void {
  const [was, is] = [changed.generation(known), changed.generation(now)];
  if (was === is) return;
  throw new ControlPlaneError(
    'FAILED_PRECONDITION',
    `${changed.address} changed state since poolsync read it (state generation ${was}, now ${is}: ${changed.state(now)}); ` +
      'another client changed it, so Union refused this change: plan again to see it as it is',
    changed.address,
  );
}
