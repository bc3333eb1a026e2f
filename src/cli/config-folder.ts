/**
 * The wrong folder (issues 35, 50): run in a home folder or a code project's root, validate or
 * plan read every YAML file under it (12-17 s and 8,266 errors in a home folder); an empty
 * folder planned "No changes". A config repository has poolsync.yaml, or poolsync manifests in
 * its top three levels; anything else gets one line, and a folder above config repositories
 * names them (issue 61).
 */
import { constants } from 'node:fs';
import { open, readdir, stat } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { DEFAULT_CONTROL_PLANE_URL, DEFAULT_STATE_FILE } from '../controlplane/default-url.js';
import { exists, gitWorkTreeOf } from '../util/safe-file.js';
import { refuseGitDirectoryFiles } from '../util/git.js';
import { UserError } from '../util/user-error.js';
import { shellQuote } from '../util/shell-quote.js';

/** Files or folders that only a code project has at its root, never a config repository. */
const CODE_PROJECT_MARKERS = [
  'package.json',
  'node_modules',
  'go.mod',
  'pyproject.toml',
  'setup.py',
  'Cargo.toml',
  'pom.xml',
  'build.gradle',
  'Gemfile',
] as const;

/** The command as run, up to its DIR (`plan`, `render flyte-core-values`): the way out names it. */
type Command = string;

const wayOut = (command: Command) =>
  `point poolsync at the config folder (e.g. \`poolsync ${command} examples/config-repo\`), or start one with \`poolsync init DIR\` (docs/getting-started.md)`;

export async function requireFolder(dir: string, command: Command): Promise<void> {
  const st = await stat(dir).catch((err: NodeJS.ErrnoException) => {
    throw new UserError(
      err.code === 'ENOENT'
        ? `folder ${dir} does not exist: ${wayOut(command)}`
        : `cannot read folder ${dir}: ${err.code ?? String(err)}; check its permissions, or ${wayOut(command)}`,
    );
  });
  if (!st.isDirectory()) throw new UserError(`${dir} is not a folder: ${wayOut(command)}`);
}

/** A UserError when DIR has no poolsync.yaml and holds what a code project has at its root. */
export async function refuseCodeProject(
  dir: string,
  shown = dir,
  command: Command = 'validate',
): Promise<void> {
  if (await exists(join(dir, 'poolsync.yaml'))) return;
  const found: string[] = [];
  for (const marker of CODE_PROJECT_MARKERS)
    if (await exists(join(dir, marker))) found.push(marker);
  if (found.length === 0) return;
  throw new UserError(
    `${shown} is not a poolsync config repository: it has no poolsync.yaml, and its ${found.slice(0, 2).join(' and ')} ${found.length === 1 ? 'says' : 'say'} it is a code project; ${wayOut(command)}.`,
  );
}

/**
 * A UserError unless DIR is a config repository; the line to print when defaults are in use. A
 * part of a repository (DIR without poolsync.yaml, an ancestor in its Git work tree with one) is
 * said to be one: read alone with a note, refused by `apply` (docs/getting-started.md).
 */
export async function requireConfigFolder(
  dir: string,
  command: 'validate' | 'plan' | 'apply' | 'check' | 'import' = 'validate',
  /** DIR as the user named it when DIR is a temporary copy (options.ts Shown). */
  shown = dir,
): Promise<string | null> {
  // Import's DIR is its --dir.
  const way = command === 'import' ? 'import ADDRESS --dir' : command;
  await requireFolder(dir, way);
  // Said by validate too, which runs no git: the folder must not pass CI's first step.
  await refuseGitDirectoryFiles(shown);
  if (await exists(join(dir, 'poolsync.yaml'))) return null;
  await refuseCodeProject(dir, shown, way);
  for (const nearMiss of ['poolsync.yml', '.poolsync.yaml', 'Poolsync.yaml', 'poolsync.YAML'])
    if (await exists(join(dir, nearMiss)))
      throw new UserError(
        `${shown} has ${nearMiss} but no poolsync.yaml: poolsync reads its settings only from poolsync.yaml; rename it`,
      );
  const above = await repositoryAbove(dir);
  const partOf = above && partOfWords(shown, above);
  const runThere = (what: string) => `run ${what} there: \`${above!.cd}poolsync ${command}\``;
  if (partOf && command === 'apply')
    throw new UserError(
      `${shown} has no poolsync.yaml, but ${partOf}, and apply takes a whole one (its poolsync.yaml, every manifest, the .poolsync/ state of the folder it runs in); ${runThere('it')}. To apply ${shown} on its own, give it a poolsync.yaml (\`poolsync init ${shellQuote(shown)}\`).`,
    );
  const below = await lookBelow(dir);
  if (below.repositories.length > 0) {
    const named = below.repositories.map((r) => join(shown, relative(dir, r)));
    throw new UserError(
      `${shown} is not a poolsync config repository, but folders below it are: ${named.join(', ')}; point poolsync at one of them (e.g. \`poolsync ${way} ${shellQuote(named[0]!)}\`).`,
    );
  }
  if (!below.manifest)
    throw new UserError(
      partOf
        ? `${shown} is not a poolsync config repository: it has no poolsync.yaml and no poolsync manifest, but ${partOf}; ${runThere('poolsync')}.`
        : `${shown} is not a poolsync config repository: it has no poolsync.yaml and no poolsync manifest (apiVersion: poolsync/v1) in it or the two levels of folders below; ${wayOut(way)}.`,
    );
  if (partOf)
    return `Note: ${shown} has no poolsync.yaml, but ${partOf}, read here alone with the defaults (prune off, nothing ignored); ${runThere('poolsync')}.\n`;
  return `Note: ${shown} has no poolsync.yaml: the defaults are in use (prune off, no file ignored: every YAML file under it is read as a manifest); \`poolsync init ${shellQuote(shown)}\` writes one.\n`;
}

/**
 * `state list` of a part of a config repository that found no inventory: the default state is
 * the working folder's `.poolsync/`, the repository's is where poolsync runs for it. Null when
 * DIR has poolsync.yaml or is no such part.
 */
export async function stateAboveNote(dir: string): Promise<string | null> {
  if (await exists(join(dir, 'poolsync.yaml'))) return null;
  const above = await repositoryAbove(dir);
  if (above === null) return null;
  return `Note: ${dir} has no poolsync.yaml, but ${partOfWords(dir, above)}; its state is in the .poolsync/ of the folder poolsync runs in for it: \`${above.cd}poolsync state list\`.\n`;
}

/**
 * A plan or apply of DIR from another folder on the default control plane, whose state is the
 * working folder's (DEFAULT_CONTROL_PLANE_URL), while DIR keeps one of its own: named, with how
 * to use it, before a second, empty control plane is planned against (and made by apply).
 */
export async function stateInFolderNote(
  dir: string,
  url: string,
  command: 'plan' | 'apply',
): Promise<string | null> {
  if (url !== DEFAULT_CONTROL_PLANE_URL || resolve(dir) === process.cwd()) return null;
  const there = join(dir, DEFAULT_STATE_FILE);
  if ((await exists(DEFAULT_STATE_FILE)) || !(await exists(there))) return null;
  return `Note: ${there} exists, but no control plane was named, and the default is the working folder's ${DEFAULT_STATE_FILE}, which does not exist: run poolsync in ${dir} (\`cd ${shellQuote(dir)} && poolsync ${command}\`), or pass \`--control-plane ${shellQuote(`file:${there}`)}\`.\n`;
}

/**
 * The config repository DIR is a part of (a folder without poolsync.yaml below one with it, in one
 * Git work tree), as the user names it; null when DIR has poolsync.yaml or is no such part.
 */
export async function containingRepository(dir: string): Promise<string | null> {
  if (await exists(join(dir, 'poolsync.yaml'))) return null;
  return (await repositoryAbove(dir))?.shown ?? null;
}

/** The config repository DIR is a part of, as the user names it, and the `cd` to run there. */
interface Above {
  /** Relative to the working folder when DIR is relative (`..`, `.`), else absolute. */
  shown: string;
  /** `cd .. && ` (empty when it is the working folder). */
  cd: string;
}

function partOfWords(dir: string, above: Above): string {
  const file = above.shown === '.' ? 'poolsync.yaml' : join(above.shown, 'poolsync.yaml');
  return `${file} exists: ${dir} is a part of the config repository ${above.shown}`;
}

/**
 * The nearest folder above DIR with a poolsync.yaml, when DIR and it are in one Git work tree
 * (no `.git` between them, one at it or above); null otherwise: outside Git, a poolsync.yaml in
 * a home folder says nothing about the folders below it.
 */
async function repositoryAbove(dir: string): Promise<Above | null> {
  const top = await gitWorkTreeOf(dir);
  // From DIR up to its work tree's top, not beyond: DIR at the top is a repository of its own.
  for (let folder = resolve(dir); top !== null && folder !== top;) {
    folder = dirname(folder);
    if (await exists(join(folder, 'poolsync.yaml'))) {
      const here = process.cwd();
      const shown = isAbsolute(dir) ? folder : relative(here, folder) || '.';
      return { shown, cd: folder === here ? '' : `cd ${shellQuote(shown)} && ` };
    }
  }
  return null;
}

const MANIFEST_KIND =
  /^kind:[ \t]*["']?(ClusterPool|Cluster|Queue|PoolAssignment|DefaultQueue|ExecutionCluster|ClusterLabel|ExecutionClusterLabel)["']?[ \t]*(#.*)?$/m;
const POOLSYNC_API = /^apiVersion:[ \t]*["']?poolsync\//m;
/** Bounds of the look: a home folder must get its answer at once. */
const MAX_FOLDERS = 400;
const MAX_FILES = 400;
const HEAD_BYTES = 4096;

/** In DIR and two levels below: a manifest, and folders with a poolsync.yaml (named, not read). */
async function lookBelow(dir: string): Promise<{ manifest: boolean; repositories: string[] }> {
  let level = [dir];
  let folders = 0;
  let files = 0;
  let manifest = false;
  const repositories: string[] = [];
  for (let depth = 0; depth <= 2 && level.length > 0; depth++) {
    const next: string[] = [];
    for (const folder of level) {
      if (++folders > MAX_FOLDERS) return { manifest, repositories };
      const entries = await readdir(folder, { withFileTypes: true }).catch(() => []);
      if (depth > 0 && entries.some((e) => e.name === 'poolsync.yaml' && e.isFile())) {
        repositories.push(folder);
        continue;
      }
      for (const e of entries) {
        if (e.name.startsWith('.') || e.name === 'node_modules') continue;
        if (e.isDirectory()) next.push(join(folder, e.name));
        else if (!manifest && e.isFile() && /\.ya?ml$/.test(e.name) && ++files <= MAX_FILES)
          manifest = await isManifest(join(folder, e.name));
      }
    }
    level = next;
  }
  return { manifest, repositories: repositories.sort() };
}

async function isManifest(path: string): Promise<boolean> {
  // Non-blocking and never through a link: a FIFO or a link put there meanwhile is no manifest.
  const fh = await open(
    path,
    constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW,
  ).catch(() => null);
  if (fh === null) return false;
  try {
    const { buffer, bytesRead } = await fh.read(Buffer.alloc(HEAD_BYTES), 0, HEAD_BYTES, 0);
    const head = buffer.subarray(0, bytesRead).toString('utf8');
    return POOLSYNC_API.test(head) && MANIFEST_KIND.test(head);
  } finally {
    await fh.close();
  }
}
