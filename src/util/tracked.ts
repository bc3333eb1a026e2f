/**
 * poolsync never takes its state from a commit (docs/security.md, "Files poolsync keeps"): in CI
 * its state folder sits in a pull request's checkout, where a committed journal, lock or record
 * is hostile input. Git is asked once per existing state file under a `.git` (`git ls-files`, as
 * util/git.ts runs it: no hooks, ownership not held against it, as CI containers run as other users).
 * When Git cannot answer, nothing is refused: the safe-file layer still refuses links.
 */
import { relative, sep } from 'node:path';
import { gitAnswer } from './git.js';
import { exists, gitWorkTreeOf } from './safe-file.js';
import { UserError } from './user-error.js';

const answers = new Map<string, Promise<boolean>>();

/** Throws a UserError naming the first of `paths` (files inside `root`) that Git tracks. */
export async function refuseTrackedFiles(
  root: string,
  paths: readonly string[],
  what: string,
): Promise<void> {
  // The work tree is looked for once per call, not once per file (issue 79 item 4: a daemon
  // reads each environment's state every run).
  const existing = [];
  for (const path of paths) if (await exists(path)) existing.push(path);
  if (existing.length === 0 || (await gitWorkTreeOf(root)) === null) return;
  for (const path of existing) {
    if (!(await trackedByGit(root, path))) continue;
    throw new UserError(
      `${path} is tracked by Git: poolsync never takes its ${what} from a commit (in CI that is the pull request's code). ` +
        `Remove it from the repository (git rm -r --cached ${relative(process.cwd(), root) || '.'}) and list the folder in .gitignore, ` +
        `or keep poolsync's state elsewhere (--state-dir, --control-plane file:PATH)`,
    );
  }
}

/** Whether Git tracks `path` (an existing file inside `root`, in a work tree); false when Git cannot say. */
function trackedByGit(root: string, path: string): Promise<boolean> {
  let answer = answers.get(path);
  if (answer === undefined) answers.set(path, (answer = isTracked(root, path)));
  return answer;
}

async function isTracked(root: string, path: string): Promise<boolean> {
  const rel = relative(root, path).split(sep).join('/');
  const listed = await gitAnswer(
    ['-c', 'safe.directory=*', 'ls-files', '-z', '--', `:(literal)${rel}`],
    {
      cwd: root,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', LC_ALL: 'C' },
      timeoutMs: 30_000,
      maxOutput: 1 << 16,
    },
  );
  return listed !== null && listed.length > 0;
}
