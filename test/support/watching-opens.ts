/**
 * Which files under a path (an embedded state's snapshot, journal, inventory …) the code opens
 * through `node:fs/promises` while `fn` runs (every read of a state goes through its `open`:
 * util/safe-file.ts). The real module's `open` is wrapped for the call and restored after;
 * syncBuiltinESMExports makes ES modules that imported it see the wrapper.
 */
import type { PathLike } from 'node:fs';
import type * as FsPromises from 'node:fs/promises';
import { createRequire, syncBuiltinESMExports } from 'node:module';

export async function watchingOpens<T>(
  path: string,
  fn: () => Promise<T>,
): Promise<{ value: T; opened: string[] }> {
  const fsp = createRequire(import.meta.url)('node:fs/promises') as typeof FsPromises;
  const original = fsp.open;
  const opened: string[] = [];
  fsp.open = ((file: PathLike, ...rest: unknown[]) => {
    if (String(file).startsWith(path)) opened.push(String(file));
    return (original as (...a: unknown[]) => unknown)(file, ...rest);
  }) as typeof fsp.open;
  syncBuiltinESMExports();
  try {
    return { value: await fn(), opened };
  } finally {
    fsp.open = original;
    syncBuiltinESMExports();
  }
}
