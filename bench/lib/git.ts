/** Turns a folder into a Git repository with one commit (the daemon and `plan` read commits). */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

const IDENTITY = [
  '-c',
  'user.name=poolsync bench',
  '-c',
  'user.email=bench@poolsync.invalid',
  '-c',
  'commit.gpgsign=false',
  '-c',
  'init.defaultBranch=main',
];

/** `git init` + commit everything; returns the commit id. */
export async function commitAll(dir: string, message: string): Promise<string> {
  await run('git', [...IDENTITY, 'init', '-q', dir]);
  await run('git', [...IDENTITY, '-C', dir, 'add', '-A']);
  await run('git', [...IDENTITY, '-C', dir, 'commit', '-q', '-m', message]);
  const { stdout } = await run('git', ['-C', dir, 'rev-parse', 'HEAD']);
  return stdout.trim();
}
