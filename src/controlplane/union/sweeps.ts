/**
 * Reading a whole list from Union: page after page until the token is empty, and concurrent
 * identical reads sharing one sweep (readLiveState lists pools, clusters and queues in
 * parallel, all from the same ListClusters and ListQueues).
 */

/** Every item of a paged list call (`page(token)` answers the items and the next token). */
export async function sweep<T>(page: (token: string) => Promise<{ items: T[]; token: string }>) {
  const out: T[] = [];
  let token = '';
  do {
    const res = await page(token);
    out.push(...res.items);
    token = res.token;
  } while (token !== '');
  return out;
}

/** Reads in flight, by key: a read asked for while the same one runs shares its result. */
export class SharedReads {
  private readonly inflight = new Map<string, Promise<unknown>>();

  get<T>(key: string, read: () => Promise<T>): Promise<T> {
    const running = this.inflight.get(key) as Promise<T> | undefined;
    if (running) return running;
    const p = read().finally(() => this.inflight.delete(key));
    this.inflight.set(key, p);
    return p;
  }
}
