/**
 * `poolsync promote FROM [DIR]` (docs/environments.md, Promotion): what promoting FROM's own
 * manifests to the next environment would plan there, before the change is made. An
 * environment's own folder (the one of its folders the next environment does not share) holds
 * what it runs on top of the shared base; promoting it makes the next environment's own folder
 * hold the same manifests (patch files are each environment's own values and are never
 * promoted). The folder is copied to a temporary one, the change made there, and that planned
 * against the next environment's control plane. `--write` then makes the change in DIR, for a
 * commit and a pull request (whose comment plans every environment). Exit 0, 1 on error, 2
 * with --detailed-exitcode when the plan has changes.
 */
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { readRepoConfig } from '../../manifests/config.js';
import { underFolder } from '../../manifests/environments.js';
import { LIMITS } from '../../manifests/limits.js';
import { findManifestFiles } from '../../manifests/walk.js';
import type { Environment } from '../../model/desired.js';
import { describeFailure, readRepoFile, writeRepoFile } from '../../util/safe-file.js';
import { UserError } from '../../util/user-error.js';
import { environmentTarget, inEnvironment } from '../options.js';
import type { PromoteArgs } from '../define.js';
import type { Io } from '../io.js';
import { requireFolder } from '../config-folder.js';
import { planFor } from './plan.js';
import { describePromotion } from '../../render/cli-output.js';
import { plural } from '../../render/index.js';

export async function promote(args: PromoteArgs, io: Io): Promise<number> {
  await requireFolder(args.dir);
  const { config, errors } = await readRepoConfig(args.dir);
  const envs = config.environments ?? [];
  if (errors.length > 0)
    throw new UserError(`poolsync.yaml in ${args.dir} is invalid: run \`poolsync validate\``);
  const names = envs.map((e) => e.name).join(', ');
  if (envs.length === 0)
    throw new UserError(
      `promote moves a change between environments, and poolsync.yaml in ${args.dir} declares none (docs/environments.md)`,
    );
  const from = envs.find((e) => e.name === args.from);
  if (!from)
    throw new UserError(
      `no environment '${args.from}' in poolsync.yaml; its environments: ${names}`,
    );
  const toName = args.to ?? from.promotesTo;
  if (toName === undefined)
    throw new UserError(
      `environment ${from.name} promotes to no environment: set its promotesTo in poolsync.yaml, or pass --to NAME`,
    );
  const to = envs.find((e) => e.name === toName);
  if (!to || to === from)
    throw new UserError(`--to ${toName}: not another environment of poolsync.yaml (${names})`);
  const fromFolder = ownFolder(from, to);
  const toFolder = ownFolder(to, from);
  const changes = await promotionChanges(args.dir, fromFolder, toFolder, config.ignore);
  io.stderr.write(describePromotion(from.name, to.name, changes));
  // The plan of `to` with the changes made in a copy of the folder.
  let code: number;
  const copy = await mkdtemp(join(tmpdir(), 'poolsync-promote-'));
  try {
    const folder = join(copy, basename(args.dir) || 'repo');
    // Manifests and poolsync.yaml only: dot-entries (.git, .poolsync state) are never read.
    await cp(args.dir, folder, {
      recursive: true,
      filter: (src) => !basename(src).startsWith('.') || src === args.dir,
    });
    await applyChanges(folder, changes);
    // The control plane and credentials are the real folder's (a file: path is relative to it).
    // A credential on the command line wins over the environment's, as for `plan --env`.
    const target = environmentTarget(args.dir, to, args, io.env);
    const planArgs = {
      ...args,
      dir: folder,
      env: to.name,
      'refresh-only': false,
      'lock-timeout': '0s',
    };
    code = await planFor(planArgs, target, io).catch(async (err: unknown) => {
      throw await inEnvironment(err, args.dir, target);
    });
  } finally {
    await rm(copy, { recursive: true, force: true });
  }
  if (args.write && code !== 1 && changes.length > 0) {
    await applyChanges(args.dir, changes);
    io.stderr.write(
      `Wrote the ${plural(changes.length, 'file change')} into ${toFolder}: commit them and open a pull request.\n`,
    );
  }
  return code;
}

async function applyChanges(dir: string, changes: FileChange[]): Promise<void> {
  for (const c of changes) {
    if (c.action === 'remove') await rm(join(dir, c.path), { force: true });
    else
      await writeRepoFile(dir, c.path, c.content!).catch((err: Error) => {
        throw new UserError(`cannot write ${c.path}: ${err.message}`);
      });
  }
}

interface FileChange {
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
function ownFolder(env: Environment, other: Environment): string {
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

/** What promoting fromFolder's manifests changes in toFolder, sorted by path. */
async function promotionChanges(
  dir: string,
  fromFolder: string,
  toFolder: string,
  ignore: readonly string[],
): Promise<FileChange[]> {
  const source = await manifestsIn(dir, fromFolder, ignore);
  const target = await manifestsIn(dir, toFolder, ignore);
  const changes: FileChange[] = [];
  for (const rel of [...new Set([...source.keys(), ...target.keys()])].sort()) {
    const [content, now] = [source.get(rel), target.get(rel)];
    const path = `${toFolder}/${rel}`;
    if (content === undefined) changes.push({ path, action: 'remove' });
    else if (content !== now)
      changes.push({ path, action: now === undefined ? 'add' : 'change', content });
  }
  return changes;
}
