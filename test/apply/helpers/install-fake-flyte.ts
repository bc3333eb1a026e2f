/** Writes an executable `flyte` into DIR that runs fake-flyte.ts with this Node and tsx. */
import { chmod, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const SCRIPT = join(dirname(fileURLToPath(import.meta.url)), 'fake-flyte.ts');
/** tsx by its absolute URL: the wrapper may run from any folder (a pasted runbook's). */
const TSX = import.meta.resolve('tsx');

export async function installFakeFlyte(dir: string): Promise<string> {
  const path = join(dir, 'flyte');
  const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  await writeFile(
    path,
    `#!/bin/sh\nexec ${q(process.execPath)} --import ${q(TSX)} ${q(SCRIPT)} "$@"\n`,
  );
  await chmod(path, 0o755);
  return path;
}
