/**
 * Promotion between environments (docs/environments.md, Promotion): an environment's own
 * folder (the one of its folders the next environment does not share) holds what it runs on
 * top of the shared base; promoting it makes the next environment's own folder hold the same
 * manifests. Patch files are each environment's own values and are never promoted. This module
 * finds the two folders and the file changes; the command plans them before they are made.
 */
import type { Environment } from '../model/desired.js';
import { findManifestFiles } from '../manifests/walk.js';
import { underFolder } from '../manifests/environments.js';
import { LIMITS } from '../manifests/limits.js';
import { readRepoFile, describeFailure } from '../util/repo-file.js';
import { UserError } from '../util/user-error.js';
import { plural } from '../render/index.js';

export interface FileChange {
  /** Path relative to the config folder, in the next environment's folder. */
  path: string;
  action: 'add' | 'change' | 'remove';
  /** The promoted content (absent for a remove). */
  content?: string;
}

/**
 * The folder promotion copies: the first of `env`'s folders that `other` does not read. Later
 * folders of its own (e.g. `clusters/production`) hold what only that environment has and are
 * never promoted; nor are patch files.
 */
export function ownFolder(env: Environment, other: Environment): string {
  const own = env.folders.filter((f) => !other.folders.includes(f));
  if (own.length > 0) return own[0]!;
  throw new UserError(
    `environment ${env.name} reads no folder that ${other.name} does not: promotion copies the first folder of its own to the other's first (docs/environments.md, Promotion)`,
  );
}

/** The manifests of `folder` (relative to it), without patch files, as the walk finds them. */
async function manifestsIn(
  dir: string,
  folder: string,
  skip: readonly string[],
): Promise<Map<string, string>> {
  const walk = await findManifestFiles(dir, skip);
  const out = new Map<string, string>();
  for (const file of walk.files) {
    if (!underFolder(file, folder)) continue;
    const read = await readRepoFile(dir, file, { maxBytes: LIMITS.maxFileBytes });
    if (!read.ok) throw new UserError(`${file}: ${describeFailure(read)}`);
    out.set(file.slice(folder.length + 1), read.bytes.toString('utf8'));
  }
  return out;
}

/** What promoting `from` to `to` changes in `to`'s own folder, sorted by path. */
export async function promotionChanges(
  dir: string,
  from: { env: Environment; folder: string },
  to: { env: Environment; folder: string },
  ignore: readonly string[],
): Promise<FileChange[]> {
  const source = await manifestsIn(dir, from.folder, ignore);
  const target = await manifestsIn(dir, to.folder, ignore);
  const changes: FileChange[] = [];
  for (const [rel, content] of source) {
    const now = target.get(rel);
    if (now === content) continue;
    changes.push({
      path: `${to.folder}/${rel}`,
      action: now === undefined ? 'add' : 'change',
      content,
    });
  }
  for (const rel of target.keys())
    if (!source.has(rel)) changes.push({ path: `${to.folder}/${rel}`, action: 'remove' });
  return changes.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

const SIGN = { add: '+', change: '~', remove: '-' } as const;

/** The file changes as lines for a person. */
export function describeChanges(from: string, to: string, changes: FileChange[]): string {
  if (changes.length === 0)
    return `Promoting ${from} to ${to} changes no file: ${to}'s own folder already holds ${from}'s manifests.\n`;
  const lines = changes.map((c) => `  ${SIGN[c.action]} ${c.path}`);
  return `Promoting ${from} to ${to} changes ${plural(changes.length, 'file')}:\n${lines.join('\n')}\n`;
}
