/**
 * `plan --at COMMIT` and `apply --at COMMIT` (docs/plan.md#plan-an-earlier-commit): the
 * repository as it was at COMMIT, read from Git into a temporary folder (through a temporary
 * index, so the working tree and its index are left alone), planned as DIR would be there; the
 * plan records COMMIT. The CI path of a rollback without a daemon (docs/daemon.md#rollback).
 */
import { mkdtemp, realpath, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import type { Env } from '../util/env.js';
import { gitEnvironment } from '../util/git-env.js';
import { gitAnswer, runGit } from '../util/git.js';
import { UserError } from '../util/user-error.js';

const NO_AUTH = { token: null, username: '', sshKeyFile: null, sshKnownHostsFile: null };

/** `work` run on DIR as it was at `at` (its folder, the full commit id); the copy removed after. */
export async function atCommit<T>(
  dir: string,
  at: string,
  env: Env,
  work: (dir: string, commit: string) => Promise<T>,
): Promise<T> {
  // An empty --at is refused with every empty option (run.ts); `--at=-x` reaches here.
  if (at.startsWith('-'))
    throw new UserError(
      `--at ${JSON.stringify(at)} is not a commit: name one as git does (a commit id, a tag, HEAD~1)`,
    );
  const full = await realpath(dir).catch(() => {
    throw new UserError(`${dir} does not exist: --at reads the Git repository that holds DIR`);
  });
  // git's short allow-list of variables (util/git-env.ts): none of the host's GIT_*, EDITOR, PAGER.
  const vars = gitEnvironment('', NO_AUTH, env, full);
  // Spawned directly (runGit): simple-git waited 50 ms after read-tree and checkout-index.
  const git = (args: string[], more: Record<string, string> = {}) =>
    runGit(args, { cwd: full, env: { ...vars, ...more } });
  // The first git command: a folder Git must not read (util/git.ts) is refused, not "not in Git".
  const top = await gitAnswer(['rev-parse', '--show-toplevel'], { cwd: full, env: vars });
  if (top === null)
    throw new UserError(
      `--at ${at}: ${dir} is not in a Git repository (--at reads DIR as a commit had it)`,
    );
  // rev-parse --quiet says nothing of a name it does not know: an empty answer is that.
  const resolve = async (ref: string) =>
    (
      await git(['rev-parse', '--verify', '--quiet', '--end-of-options', `${ref}^{commit}`]).catch(
        () => '',
      )
    ).trim();
  const commit = await resolve(at);
  if (!/^[0-9a-f]{40}([0-9a-f]{24})?$/.test(commit))
    throw new UserError(
      `--at ${at}: no such commit in the repository at ${top.trim()}${await whyNot(at, resolve, git)}`,
    );
  const tmp = await mkdtemp(join(tmpdir(), 'poolsync-at-'));
  try {
    const tree = join(tmp, 'tree');
    // A temporary index: the repository's own index and working tree are not touched.
    const index = { GIT_INDEX_FILE: join(tmp, 'index') };
    await git(['read-tree', commit], index);
    await git(['checkout-index', '--all', '--force', `--prefix=${tree}/`], index);
    const atDir = join(tree, relative(top.trim(), full));
    if (!(await stat(atDir).catch(() => null))?.isDirectory())
      throw new UserError(`--at ${at}: ${dir} did not exist at commit ${commit.slice(0, 12)}`);
    return await work(atDir, commit);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

/**
 * Why `at` names no commit: a repository without commits has none; counted back (`HEAD~9`, `main^^`) from a commit that is here, the
 * history is too short, which no fetch changes; else the name may be a remote's, when there is one.
 */
async function whyNot(
  at: string,
  resolve: (ref: string) => Promise<string>,
  git: (args: string[]) => Promise<string>,
): Promise<string> {
  if ((await git(['rev-list', '--max-count=1', '--all']).catch(() => '')).trim() === '')
    return ': it has no commits yet (commit the folder first, or leave out --at to read its files as they are)';
  const base = at.split(/[~^]/, 1)[0]!;
  if (base !== at && base !== '' && (await resolve(base)) !== '')
    return `: ${base}'s history does not reach back that far (\`git log --oneline ${base}\` lists it)`;
  const remotes = (await git(['remote']).catch(() => '')).split('\n').filter(Boolean);
  if (remotes.length === 0) return ' (it has no remote to fetch it from)';
  const remote = remotes.includes('origin') ? 'origin' : remotes[0]!;
  return ` (fetch it first: git fetch ${remote} ${base === '' ? at : base})`;
}
