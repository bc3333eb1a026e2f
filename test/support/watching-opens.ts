/**
 * Which files under a path (an embedded state's snapshot, journal, inventory …) the code opens
 * while `fn` runs, through `node:fs/promises`' `open` or `node:fs`'s `openSync` (every read of
 * a state goes through one of them: util/safe-file.ts). The real modules' functions are wrapped
 * for the call and restored after; syncBuiltinESMExports makes ES modules that imported them
 * see the wrappers.
 */
import type * as Fs from 'node:fs';
import type * as FsPromises from 'node:fs/promises';
import { createRequire, syncBuiltinESMExports } from 'node:module';

export async function watchingOpens<T>(
  path: string,
  fn: () => Promise<T>,
): Promise<{ value: T; opened: string[] }> {
  const require = createRequire(import.meta.url);
  const fsp = require('node:fs/promises') as typeof FsPromises;
  const fs = require('node:fs') as typeof Fs;
  const originals = { open: fsp.open, openSync: fs.openSync };
  const opened: string[] = [];
  const watching =
    (original: (...a: unknown[]) => unknown) =>
    (file: Fs.PathLike, ...rest: unknown[]) => {
      if (String(file).startsWith(path)) opened.push(String(file));
      return original(file, ...rest);
    };
  fsp.open = watching(originals.open as never) as typeof fsp.open;
  fs.openSync = watching(originals.openSync as never) as typeof fs.openSync;
  syncBuiltinESMExports();
  try {
    return { value: await fn(), opened };
  } finally {
    fsp.open = originals.open;
    fs.openSync = originals.openSync;
    syncBuiltinESMExports();
  }
}
