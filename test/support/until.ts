/**
 * The one `until` of the tests: polls `probe` until it returns something truthy (which `until`
 * returns), or fails after `timeoutMs` with `timed out waiting for WHAT` (and `detail()`, e.g.
 * what a child process wrote). The deadline is a bound on a stuck wait, never a margin a
 * passing test depends on.
 */
export interface UntilOptions {
  /** Default 90 s: a bound on a stuck wait on a loaded machine, under the suite's 120 s test limit. */
  timeoutMs?: number;
  /** Between probes; default 50 ms. */
  intervalMs?: number;
  /** A probe that throws counts as "not yet" (a server still starting) instead of failing. */
  retryErrors?: boolean;
  /** Appended to the timeout message after a colon and a new line. */
  detail?: () => string;
}

export async function until<T>(
  what: string,
  probe: () => Promise<T | null | undefined | false> | T | null | undefined | false,
  opts: UntilOptions | number = {},
): Promise<T> {
  const o = typeof opts === 'number' ? { timeoutMs: opts } : opts;
  const deadline = Date.now() + (o.timeoutMs ?? 90_000);
  for (;;) {
    const v = o.retryErrors ? await (async () => probe())().catch(() => null) : await probe();
    if (v) return v;
    if (Date.now() > deadline) {
      const detail = o.detail ? `:\n${o.detail()}` : '';
      throw new Error(`timed out waiting for ${what}${detail}`);
    }
    await new Promise((r) => setTimeout(r, o.intervalMs ?? 50));
  }
}
