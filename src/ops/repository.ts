/**
 * Which repository a plan is made from (docs/plan.md, Prune scope): the name its objects are
 * recorded under in the inventory, so that prune deletes only what this repository applied, as
 * Argo CD tracks each resource's application and Terraform keeps a state per configuration. The
 * same for a user's clone, a CI checkout and the daemon's own checkout of one repository and
 * folder: poolsync.yaml `repository:`, else the Git remote's URL, normalized, and the folder's
 * path in the repository after `//` (Terraform's module-source spelling of a subfolder); outside
 * Git, or without a remote, the folder's absolute path on this machine, whose records become the
 * remote's name's once one is added (plan/inventory.ts, withFolderRecords).
 */
import { realpath } from 'node:fs/promises';
import { hostname } from 'node:os';
import { isAbsolute, posix, resolve } from 'node:path';
import { readRepoConfig } from '../manifests/config.js';
import { gitAnswer } from '../util/git.js';
import type { ApplierSource } from '../model/appliers.js';

/**
 * A remote's URL as a name: no scheme, credentials, port nor `.git`, lowercased (GitHub and
 * GitLab route paths without case); a local path made absolute from `base`.
 */
export function normalizeRemote(url: string, base = '.'): string {
  // A query or fragment may carry a token: never part of the name.
  const u = url
    .trim()
    .replace(/[?#].*$/, '')
    .replace(/\/+$/, '');
  const withScheme = /^([a-z][a-z0-9+.-]*):\/\/([^/]*)(.*)$/i.exec(u);
  // Git reads `host:path` as scp-like when the colon comes before any slash.
  const scp = withScheme ? null : /^(?:[^@/:]*@)?([^/:]+):(.*)$/.exec(u);
  if (withScheme?.[1]!.toLowerCase() === 'file' || (!withScheme && !scp))
    return resolve(base, withScheme ? withScheme[3]! : u).replace(/\.git$/, '');
  const host = withScheme ? withScheme[2]!.replace(/^.*@/, '').replace(/:\d*$/, '') : scp![1]!;
  const path = posix.normalize(`/${withScheme ? withScheme[3]! : scp![2]!}`);
  return `${host}${path}`
    .replace(/\/+$/, '')
    .replace(/\.git$/, '')
    .toLowerCase();
}

/** `remote//folder`, or `remote` for the repository's root folder. */
export function repositoryName(remote: string, folder: string): string {
  const inside = posix.normalize(folder.replace(/\\/g, '/')).replace(/^\.?\/*|\/+$/g, '');
  return inside === '' || inside === '.' ? remote : `${remote}//${inside}`;
}

const git = (dir: string, args: string[]) => gitAnswer(args, { cwd: dir });

/**
 * The repository `dir` is a folder of, by Git's remote (origin, else the only one), else its path;
 * `folder` is the path: with a remote, the name it had before the remote was added, whose records
 * are this repository's (docs/plan.md, Prune scope).
 */
export async function repositoryNames(dir: string): Promise<RepositoryNames> {
  const [prefix, remotes, branch] = await Promise.all([
    git(dir, ['rev-parse', '--show-prefix']),
    git(dir, ['config', '--get-regexp', '^remote\\..*\\.url$']),
    git(dir, ['symbolic-ref', '--short', '-q', 'HEAD']),
  ]);
  // A detached HEAD (a CI checkout of a commit) names no branch: its applies cannot be told
  // apart, so none is recorded as a poolsync (model/appliers.ts).
  const named = branch?.trim();
  const applier = named ? { applier: { branch: named, host: hostname() } } : {};
  const urls = new Map(
    (remotes ?? '')
      .split('\n')
      .map((l) => /^remote\.(.+)\.url (.+)$/.exec(l))
      .filter((m) => m !== null)
      .map((m) => [m[1]!, m[2]!]),
  );
  const url = urls.get('origin') ?? (urls.size === 1 ? [...urls.values()][0]! : null);
  const path = await realpath(dir).catch(() => resolve(dir));
  if (prefix === null || url === null) return { repository: path, folder: path, ...applier };
  // A relative local remote is named from the repository's top folder, as Git reads it.
  const relative = !isAbsolute(url) && !url.includes(':');
  const top = relative ? ((await git(dir, ['rev-parse', '--show-toplevel']))?.trim() ?? '.') : '.';
  const repository = repositoryName(normalizeRemote(url, top), prefix.trim());
  return { repository, folder: path, ...applier };
}

/** A repository's name, and its folder's path: the same when no Git remote names it (absent: no folder). */
export interface RepositoryNames {
  repository: string;
  folder?: string;
  /** Where a plan or apply of it runs: its branch and this machine (model/appliers.ts); absent: a detached HEAD. */
  applier?: ApplierSource;
}

/** The repository `dir` is a folder of (repositoryNames). */
export async function repositoryOf(dir: string): Promise<string> {
  return (await repositoryNames(dir)).repository;
}

/** The repository a plan of `dir` is made from: poolsync.yaml `repository:`, else repositoryOf. */
export async function folderRepository(dir: string): Promise<string> {
  return (await readRepoConfig(dir)).config.repository ?? (await repositoryOf(dir));
}

/** The repository a daemon follows: `--repo` and `--path`, as a clone of it is named, or `--watch`'s folder. */
export function followedRepository(
  source:
    { kind: 'git'; repo: string; branch?: string; path: string } | { kind: 'watch'; dir: string },
): Promise<RepositoryNames> {
  return source.kind === 'git'
    ? Promise.resolve({
        repository: repositoryName(normalizeRemote(source.repo), source.path),
        applier: { branch: source.branch ?? null, host: hostname() },
      })
    : repositoryNames(source.dir);
}
