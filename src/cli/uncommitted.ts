/**
 * `poolsync render` into the repository rewrites a tracked file: never over edits nobody has
 * committed (they would be lost without a trace). Git is asked whether the file differs from
 * HEAD; outside a repository, or without git, nothing is refused.
 */
import { execFile } from 'node:child_process';
import { dirname, basename } from 'node:path';

/**
 * True when `file` is tracked and has staged or unstaged changes (`git status --porcelain`
 * says so); an untracked file (a render not committed yet) is not an edit.
 */
export function hasUncommittedEdits(file: string): Promise<boolean> {
  return new Promise((done) => {
    execFile(
      'git',
      ['-c', 'core.fsmonitor=false', 'status', '--porcelain', '--', basename(file)],
      { cwd: dirname(file), env: { ...process.env, GIT_OPTIONAL_LOCKS: '0' } },
      (err, stdout) =>
        done(err === null && stdout.split('\n').some((l) => l !== '' && !l.startsWith('??'))),
    );
  });
}
