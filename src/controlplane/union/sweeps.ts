/**
 * Reading a whole list from Union: page after page until the token is empty (Union's tokens are
 * opaque: a page cannot be asked before the one before it answered), concurrent identical reads
 * sharing one sweep (readLiveState lists pools, clusters and queues in parallel, all from the
 * same ListClusters and ListQueues), and the objects as Union last sent them (`Latest`).
 */
import { ControlPlaneError } from '../errors.js';
import type { Call, RpcName } from './transport.js';

/** A list request: a page of `limit` from `token`, of the soft-deleted objects or the live ones. */
interface ListRequest {
  limit: number;
  token: string;
  filters: { function: 15; field: string }[];
}

/**
 * Every item of a paged list call `rpc` (`page(request)` answers the items and the next token): the
 * live objects, or (`deleted`) those with `deleted_at` (the filter `EXISTS deleted_at`, as
 * Union's client lists them).
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
 * starts from, so a write is one call (an update from the state already read: Union has no
 * version on queues and clusters, docs/union.md), and what a write whose answer is empty
 * (CreateCluster, UpdateCluster, ClusterPool Create and Update) returns from.
 */
export class Latest<T> {
  private readonly byName = new Map<string, T>();

  constructor(private readonly nameOf: (t: T) => string) {}

  /** A whole list read: it replaces what was known. */
  all(items: readonly T[]): T[] {
    this.byName.clear();
    for (const t of items) this.byName.set(this.nameOf(t), t);
    return [...items];
  }

  /** One object Union answered (undefined: nothing to keep). */
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
 * `write(current)` from the object as last read, and once more from a fresh `read()` when
 * Union refuses it (FAILED_PRECONDITION: the generation a state change carries is stale, as
 * Union's client's expected_generation is meant to catch, or a rule a fresh read shows): one
 * call when nothing changed since the object was read.
 */
export async function fromLatest<T, R>(
  latest: Latest<T>,
  name: string,
  read: () => Promise<T>,
  write: (current: T) => Promise<R>,
): Promise<R> {
  const known = latest.get(name);
  if (known === undefined) return write(await read());
  try {
    return await write(known);
  } catch (err) {
    if (!(err instanceof ControlPlaneError && err.code === 'FAILED_PRECONDITION')) throw err;
    return write(await read());
  }
}
