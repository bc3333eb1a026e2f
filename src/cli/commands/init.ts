/**
 * `poolsync init [DIR] [--from-live]`: the first step of docs/getting-started.md. Writes a
 * poolsync.yaml whose comments say what each setting does (prune off: nothing is ever deleted
 * until the repository says so), and with --from-live exports the live state beside it.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { UserError } from '../../util/user-error.js';
import { exists, refuseCodeProject } from '../config-folder.js';
import { exportTo, writeExported } from './export.js';
import type { InitArgs } from '../define.js';
import type { Io } from '../io.js';

export const REPO_CONFIG_TEMPLATE = `# poolsync configuration of this config repository (docs/manifests.md).
# Every other YAML file under this folder is a manifest: ClusterPool, Cluster, Queue,
# PoolAssignment, DefaultQueue (examples/config-repo has one of each).
# Its schema: schemas/repo-config.schema.json of the poolsync package.
apiVersion: poolsync/v1
kind: RepoConfig

# false: live objects the repository does not declare are listed as unmanaged, never deleted.
# true: they are deleted, for the kinds in the prune scope (manage:, else the declared kinds).
prune: false

# The kinds this repository owns, hence the kinds prune may delete (docs/plan.md, Prune scope).
# manage: [ClusterPool, Cluster, Queue, PoolAssignment]

# Files to skip (globs relative to this folder): drafts, CI files, anything not a manifest.
ignore:
  - drafts/**
  - .github/**
  - .gitlab-ci.yml
`;

export async function init(args: InitArgs, io: Io): Promise<number> {
  const dir = resolve(args.dir);
  if (await exists(join(dir, 'poolsync.yaml')))
    throw new UserError(
      `${join(dir, 'poolsync.yaml')} already exists: this is a config repository already (\`poolsync validate ${args.dir}\` checks it)`,
    );
  try {
    await refuseCodeProject(dir);
  } catch {
    throw new UserError(
      `${dir} is a code project's root (package.json, go.mod, …): start the config repository in a folder of its own, e.g. \`poolsync init ${join(args.dir, 'pools')}\``,
    );
  }
  await mkdir(dir, { recursive: true });
  await writeExported(dir, { path: 'poolsync.yaml', content: REPO_CONFIG_TEMPLATE });
  io.stdout.write(`Wrote ${join(dir, 'poolsync.yaml')}\n`);
  if (await ignoreStateFolder(dir))
    io.stdout.write(
      `Added .poolsync/ to ${join(dir, '.gitignore')}: poolsync's state, never part of a commit.\n`,
    );
  if (args['from-live']) await exportTo({ ...args, dir, force: false, 'config-dir': '.' }, io);
  io.stdout.write(
    `Next: \`poolsync validate ${args.dir}\`, then \`poolsync plan ${args.dir}\` (docs/getting-started.md).\n`,
  );
  return 0;
}

/** `.poolsync/` in DIR's .gitignore (made or appended to), so `git add .` never commits the state. */
async function ignoreStateFolder(dir: string): Promise<boolean> {
  const path = join(dir, '.gitignore');
  const text = await readFile(path, 'utf8').catch(() => '');
  if (/^\/?\.poolsync(\/|\/\*\*)?[ \t]*$/m.test(text)) return false;
  const sep = text === '' || text.endsWith('\n') ? '' : '\n';
  await writeFile(
    path,
    `${text}${sep}# poolsync's state: the embedded control plane, locks, records\n.poolsync/\n`,
  );
  return true;
}
