/**
 * What a test must undo (servers, processes, control planes, repositories, folders):
 * `cleanup.add(fn)` while the test runs, and test/setup/cleanup.ts runs them after it, last
 * added first (what was started last may depend on what was started before it), each awaited.
 * For what a whole file shares, afterAll stays the file's own.
 */
const pending: (() => unknown)[] = [];

export const cleanup = {
  add(undo: () => unknown): void {
    pending.push(undo);
  },
  /** Runs and forgets every undo added so far, last added first. */
  async run(): Promise<void> {
    for (const undo of pending.splice(0).reverse()) await undo();
  },
};
