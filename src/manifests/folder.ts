/**
 * The config folder itself: it must be a folder, and reaching it from the repository root
 * must not leave the repository (docs/security.md, "What is read"). A `--path` that is a
 * committed symbolic link, or sits under one, would make poolsync read (and quote in errors,
 * logs, /status and pull-request comments) files from anywhere on the machine.
 */
import { lstat, stat } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import type { ValidationError } from './types.js';

function folderError(message: string): ValidationError {
  return { code: 'IO', message, file: '.', line: 1, column: 1, address: null };
}

/**
 * The repository DIR is part of, by its path as written (links are not followed): the
 * nearest folder from DIR up that holds `.git`, else DIR itself.
 */
export async function repositoryRootOf(dir: string): Promise<string> {
  let at = resolve(dir);
  for (;;) {
    try {
      await lstat(join(at, '.git'));
      return at;
    } catch {
      // not here
    }
    const up = dirname(at);
    if (up === at) return resolve(dir);
    at = up;
  }
}

/**
 * Null when DIR is a folder reached from `root` (default: repositoryRootOf(DIR)) through real
 * folders only; else the error, at `.`.
 */
export async function checkFolder(dir: string, root?: string): Promise<ValidationError | null> {
  try {
    if (!(await stat(dir)).isDirectory()) return folderError(`${dir} is not a folder`);
  } catch (err) {
    return folderError(
      `cannot read folder ${dir}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`,
    );
  }
  const top = resolve(root ?? (await repositoryRootOf(dir)));
  const rel = relative(top, resolve(dir));
  if (rel === '') return null;
  if (rel.startsWith('..') || resolve(top, rel) !== resolve(dir))
    return folderError(`the folder ${dir} is outside the repository ${top}`);
  let at = top;
  for (const part of rel.split(sep)) {
    at = join(at, part);
    const st = await lstat(at).catch(() => null);
    if (st === null || !st.isDirectory()) {
      const what = st?.isSymbolicLink() ? 'a symbolic link' : 'not a folder';
      return folderError(
        `the folder ${relative(top, at) || '.'} of the repository is ${what}: poolsync reads nothing outside the repository, and a link could point anywhere; name the real folder instead`,
      );
    }
  }
  return null;
}
