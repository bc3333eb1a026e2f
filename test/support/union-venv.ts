/**
 * Union's own client, installed by scripts/install-union-venv.sh (flyte and flyteplugins-union,
 * pinned) in a virtual environment outside the repository. Tests that use it skip, with one
 * clear line, when it is not there.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface UnionVenv {
  dir: string;
  python: string;
  flyte: string;
}

export function unionVenvDir(): string {
  return (
    process.env.POOLSYNC_UNION_VENV ??
    join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'poolsync', 'union-venv')
  );
}

/** The venv, or the one line that says why the tests using it skip. */
export function findUnionVenv(): UnionVenv | string {
  const dir = unionVenvDir();
  const python = join(dir, 'bin', 'python');
  const flyte = join(dir, 'bin', 'flyte');
  if (!existsSync(python) || !existsSync(flyte) || !existsSync(join(dir, '.poolsync-stamp')))
    return `skipped: Union's client (flyte, flyteplugins-union) is not installed in ${dir}; run scripts/install-union-venv.sh (needs python3 >= 3.10)`;
  return { dir, python, flyte };
}

/** Runs the venv's python on `code` with `args`; its stdout. */
export async function python(venv: UnionVenv, code: string, args: string[] = []): Promise<string> {
  const { stdout } = await run(venv.python, ['-c', code, ...args], {
    maxBuffer: 64 * 1024 * 1024,
    env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' },
  });
  return stdout;
}
