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
