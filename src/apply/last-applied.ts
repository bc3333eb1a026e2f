/**
 * The live state as the last successful apply left it, for `plan --refresh-only` (drift).
 * Written by `poolsync apply` after every successful run (also one with nothing to do):
 *   file:PATH control planes → `<PATH>.last-applied.json` beside the embedded state;
 *   any other URL            → `<state-dir>/last-applied/<sha256 of the URL>.json`
 * (the URL is hashed like the apply lock's: it may carry credentials and never appears).
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { embeddedStatePath } from '../controlplane/open.js';
import type { LiveState } from '../model/live.js';
import type { LastApplied } from '../plan/refresh.js';
import { UserError } from '../util/user-error.js';
import { DEFAULT_STATE_DIR } from './lock.js';

export function lastAppliedPathFor(url: string, stateDir: string = DEFAULT_STATE_DIR): string {
  if (url.startsWith('file:')) return `${embeddedStatePath(url)}.last-applied.json`;
  const normalized = url.trim().replace(/\/+$/, '');
  const digest = createHash('sha256').update(normalized).digest('hex');
  return join(resolve(stateDir), 'last-applied', `${digest}.json`);
}

export async function writeLastApplied(
  path: string,
  live: LiveState,
  commit: string | null,
  now: Date = new Date(),
): Promise<void> {
  const record: LastApplied = {
    format_version: '1',
    applied_at: now.toISOString(),
    commit,
    live,
  };
  await mkdir(dirname(path), { recursive: true });
  // Written whole then renamed: a reader never sees half a file.
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, JSON.stringify(record) + '\n');
  await rename(tmp, path);
}

export async function readLastApplied(path: string): Promise<LastApplied> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new UserError(
        `--refresh-only compares with the state the last \`poolsync apply\` left, recorded in ${path}, ` +
          `which does not exist: nothing was applied to this control plane from here yet (or with another --state-dir). Run \`poolsync apply\` first.`,
      );
    }
    throw new UserError(`cannot read ${path}: ${(err as Error).message}`);
  }
  let record: LastApplied;
  try {
    record = JSON.parse(text) as LastApplied;
  } catch {
    throw new UserError(
      `${path} is not JSON: delete it and run \`poolsync apply\` to record it again`,
    );
  }
  if (record?.format_version !== '1' || typeof record.live !== 'object' || record.live === null) {
    throw new UserError(
      `${path} is not a last-applied record of this poolsync version: delete it and run \`poolsync apply\` to record it again`,
    );
  }
  return record;
}
