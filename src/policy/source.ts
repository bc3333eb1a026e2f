/**
 * Which policies a plan is checked against (docs/policies.md, Where policies come from):
 * `--policies DIR`, else poolsync.yaml `policies.path`. In pull-request mode (ops/open-target.ts)
 * both the folder and the owners are the base commit's, as an environment's credentials are: a
 * pull request cannot change the policies it is checked by, nor who may approve their failures.
 * On a CI push, the set of the commit before it judges too, as the daemon's last applied commit's.
 */
import { realpath } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, posix, relative, resolve, sep } from 'node:path';
import { REPO_CONFIG_FILE } from '../manifests/walk.js';
import type { RepoConfig } from '../model/desired.js';
import {
  baseConfig,
  pullRequestBase,
  pushBefore,
  type Opening,
  type PushBefore,
} from '../ops/open-target.js';
import { CORE_SCHEMA, load } from '../util/js-yaml.js';
import { gitAnswer, runGit } from '../util/git.js';
import { UserError } from '../util/user-error.js';
import { sameFiles } from './both-sets.js';
import type { PolicySet } from './evaluate.js';

export interface PolicySource {
  /** `--policies`. */
  flag: string | undefined;
  /** The config folder (poolsync.yaml's). */
  dir: string;
  /** DIR as the user named it when DIR is a temporary copy (`--at`, promote): in its repository. */
  shown?: string;
  /** Its poolsync.yaml as this checkout has it (outside pull-request mode). */
  config: RepoConfig['policies'];
  opening: Opening;
}

/**
 * What judges a plan: `set`, and on a CI push (ops/open-target.ts pushBefore) `before`, the set of
 * the commit before the push (null: the same files, or the one `--policies` folder outside the
 * checkout) with its owners when they approve (null: `set`'s), or why none judges beside `set`.
 */
export interface PolicySets {
  set: PolicySet | null;
  before?: { commit: string; set: PolicySet | null; owners: string[] | null } | { alone: string };
}

/** The policy sets to evaluate; `set` null and no `before`: none is configured (no OPA needed). */
export async function policySetsOf(s: PolicySource): Promise<PolicySets> {
  const base = pullRequestBase(s.opening.vars, s.opening.commenting ?? false);
  if (base === null) {
    const path = s.flag ?? (s.config ? join(s.dir, s.config.path) : undefined);
    const source = s.flag ?? s.config?.path;
    // poolsync.yaml's path: every folder from the config folder down is checked (evaluate.ts).
    const root = s.flag === undefined ? { root: resolve(s.dir) } : {};
    const line = s.config?.line === undefined ? '' : `:${s.config.line}:`;
    const set: PolicySet | null =
      path === undefined || source === undefined
        ? null
        : {
            source,
            at: { kind: 'folder', dir: resolve(path), ...root },
            owners: s.config?.owners ?? [],
            origin: originOf(s, `${join(s.shown ?? s.dir, REPO_CONFIG_FILE)}${line}`, source),
          };
    const push = pushBefore(s.opening.vars);
    if (push === null) return { set };
    if (push.commit === null) return { set, before: { alone: push.from } };
    return { set, before: await setBefore(s, set, { ...push, commit: push.commit }) };
  }
  // The base commit is read with Git, in the user's folder: a temporary copy is no repository.
  const dir = s.shown ?? s.dir;
  const read = await baseConfig(dir, base);
  if (typeof read === 'string') {
    if (s.flag === undefined && s.config === undefined) return { set: null };
    throw new UserError(`the policies cannot be checked in pull-request mode: ${read}`);
  }
  return { set: await committedSet(s, readPolicies(read.doc), base.commit!, 'the base commit') };
}

/**
 * The set `configured` (or `--policies`) names on `commit`, read with Git when the folder is in
 * the checkout, where it is when outside (the operator's, a CI job's own).
 */
async function committedSet(
  s: PolicySource,
  configured: RepoConfig['policies'],
  commit: string,
  named: string,
): Promise<PolicySet | null> {
  const dir = s.shown ?? s.dir;
  const path = s.flag ?? (configured ? join(dir, configured.path) : undefined);
  if (path === undefined) return null;
  const owners = configured?.owners ?? [];
  const source = s.flag ?? configured!.path;
  const origin = originOf(s, `${named}'s ${REPO_CONFIG_FILE}`, source);
  const where = await inRepository(path, s.flag === undefined ? dir : undefined);
  if (where === null) return { source, at: { kind: 'folder', dir: resolve(path) }, owners, origin };
  return {
    source,
    at: { kind: 'commit', repo: where.root, commit, path: where.path },
    owners,
    origin,
  };
}

/**
 * The set of the commit before a push, as the daemon's last applied commit's judges its run. Not
 * in the clone (a shallow checkout): refused, saying how to check out, unless nothing here
 * configures policies (as in pull-request mode).
 */
async function setBefore(
  s: PolicySource,
  own: PolicySet | null,
  push: PushBefore & { commit: string },
): Promise<PolicySets['before']> {
  const dir = s.shown ?? s.dir;
  const at = (await gitAnswer(['rev-parse', '--show-toplevel', '--show-prefix'], { cwd: dir }))
    ?.split('\n')
    .map((l) => l.trim());
  const read = at
    ? await committedPolicies(at[0]!, at[1]!.replace(/\/$/, ''), push.commit)
    : `${dir} is not in a Git repository`;
  if (typeof read === 'string') {
    if (own === null) return undefined;
    throw new UserError(
      `the policies cannot be checked on this push: the commit before it, ${push.commit.slice(0, 12)} (${push.from}), cannot be read: ${read}; ${push.depth}, so that the clone holds it`,
    );
  }
  const set = await committedSet(s, read, push.commit, 'the commit before this push');
  // Its owners, when poolsync.yaml names them: with --policies, none listed there is none.
  const owners = read?.owners ?? (s.flag !== undefined ? [] : null);
  const earlier = set?.at.kind === 'commit' && !(await sameAsChecked(own, set.at)) ? set : null;
  return { commit: push.commit, set: earlier, owners };
}

/** Whether the checkout's policy folder is the commit's, unchanged since HEAD: evaluated once. */
async function sameAsChecked(
  own: PolicySet | null,
  at: { repo: string; commit: string; path: string },
): Promise<boolean> {
  if (own?.at.kind !== 'folder') return false;
  const head = { ...at, commit: 'HEAD' };
  const path = at.path === '' ? '.' : at.path;
  const where = await inRepository(own.at.dir);
  const changed = await gitAnswer(
    ['status', '--porcelain', '--ignored', '--untracked-files=all', '--', path],
    { cwd: at.repo },
  );
  return where?.path === at.path && changed === '' && (await sameFiles(head, at));
}

/**
 * `policies:` of the poolsync.yaml of `commit` in the clone `repo` (config folder `configPath`
 * there, '' at its root), read with Git as a pull request's base is; undefined when it configures
 * none; a string: why it cannot be read.
 */
export async function committedPolicies(
  repo: string,
  configPath: string,
  commit: string,
): Promise<RepoConfig['policies'] | string> {
  const read = await committedConfig(repo, configPath, commit);
  return typeof read === 'string' ? read : readPolicies(read.doc);
}

/**
 * The poolsync.yaml of `commit` in the clone `repo` as unchecked YAML (`doc` null: none, or not YAML),
 * read with Git; a string: why it cannot be read. The daemon reads the last applied commit's
 * rules with it (policies, approvers, an environment's policy).
 */
export async function committedConfig(
  repo: string,
  configPath: string,
  commit: string,
): Promise<{ doc: unknown } | string> {
  const file = posix.join(configPath, REPO_CONFIG_FILE);
  const git = (args: string[]) => runGit(args, { cwd: repo, maxOutput: 4 * 1024 * 1024 });
  let text: string;
  try {
    if ((await git(['ls-tree', commit, '--', file])).trim() === '') return { doc: null };
    text = await git(['show', `${commit}:${file}`]);
  } catch (err) {
    if (err instanceof UserError) throw err;
    const said = (err as Error).message.trim().split('\n')[0] ?? '';
    return `${file} of commit ${commit.slice(0, 12)} cannot be read with Git in ${repo}${said ? ` (${said})` : ''}`;
  }
  try {
    return { doc: load(text, { schema: CORE_SCHEMA }) };
  } catch {
    // A commit the daemon applied had a valid poolsync.yaml: none configured, as for the base's.
    return { doc: null };
  }
}

/** What configured the policies, named when OPA is missing (findOpa). */
const originOf = (s: PolicySource, file: string, path: string) =>
  s.flag !== undefined ? '--policies' : `${file} policies.path '${path}'`;

/** `policies:` of a poolsync.yaml as read from Git (unchecked YAML: only well-formed values). */
function readPolicies(doc: unknown): RepoConfig['policies'] {
  const p = (doc as { policies?: { path?: unknown; owners?: unknown } } | null)?.policies;
  if (!p || typeof p.path !== 'string') return undefined;
  const owners = Array.isArray(p.owners) ? p.owners.filter((o) => typeof o === 'string') : [];
  return { path: p.path, owners: owners as string[] };
}

/**
 * PATH's repository root and its path there (forward slashes), or null outside any. `configDir`:
 * PATH is poolsync.yaml's `policies.path` there, taken as written below the config folder's real
 * path, so a link the pull request puts on the way cannot lead out of the repository.
 */
async function inRepository(
  path: string,
  configDir?: string,
): Promise<{ root: string; path: string } | null> {
  // The folder itself may not exist in the pull request (deleted there): Git runs in its parent
  // (or the config folder), both real paths (a temporary folder may be behind a link).
  const abs = resolve(path);
  const start = await realpath(configDir ?? dirname(abs)).catch(() => null);
  if (start === null) return null;
  const parent =
    configDir === undefined ? start : join(start, relative(resolve(configDir), dirname(abs)));
  const top = await gitAnswer(['rev-parse', '--show-toplevel'], { cwd: start });
  const root = top === null ? null : await realpath(top.trim()).catch(() => null);
  if (root === null) return null;
  const rel = relative(root, join(parent, basename(abs)));
  if (rel === '' || rel.startsWith('..') || isAbsolute(rel)) return null;
  return { root, path: rel.split(sep).join('/') };
}
