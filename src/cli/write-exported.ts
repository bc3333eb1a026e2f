/**
 * How `export` and `import` write manifests under `--dir`: never outside it, whatever a live
 * object's name (docs/security.md, "What is written"). The paths come from names the control
 * plane gave; export leaves out names that are not valid (N1), and this refuses any path that
 * is not a plain relative path of file-name characters, and writes through no link.
 */
import { access } from 'node:fs/promises';
import { join } from 'node:path';
import type { ExportedFile } from '../controlplane/export.js';
import { relativeParts, writeRepoFile } from '../util/repo-file.js';
import { escapeTerminal } from '../util/terminal-text.js';
import { UserError } from '../util/user-error.js';

const SAFE_PATH = /^[A-Za-z0-9._/-]+$/;

/** Refuses a path that could leave `--dir` or carry control characters. */
export function checkExportedPath(path: string): void {
  if (relativeParts(path) === null || !SAFE_PATH.test(path))
    throw new UserError(
      `refusing to write ${escapeTerminal(JSON.stringify(path))}: not a plain file path inside --dir (a live object's name is not a valid manifest name)`,
    );
}

export async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

/** Writes `file` under `out` (checked first); returns its full path. */
export async function writeExported(out: string, file: ExportedFile): Promise<string> {
  checkExportedPath(file.path);
  try {
    await writeRepoFile(out, file.path, file.content);
  } catch (err) {
    throw new UserError(`${(err as Error).message} (under ${out})`);
  }
  return join(out, file.path);
}
