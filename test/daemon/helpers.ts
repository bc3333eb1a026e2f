/** Test helpers: real Git repositories in temp dirs (a bare "remote" and a working clone that pushes to it). */
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { tempFolder } from '../support/temp-folder.js';

/** Removed after the test file (test/support/temp-folder.ts). */
export function tempDir(prefix = 'poolsync-daemon-'): string {
  return tempFolder(prefix);
}

const GIT_ENV = {
  ...process.env,
  GIT_AUTHOR_NAME: 'Test',
  GIT_AUTHOR_EMAIL: 'test@example.com',
  GIT_COMMITTER_NAME: 'Test',
  GIT_COMMITTER_EMAIL: 'test@example.com',
  GIT_CONFIG_NOSYSTEM: '1',
};

export function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, {
    cwd,
    env: GIT_ENV,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  }).trim();
}

export class TestRepo {
  readonly bare: string;
  readonly work: string;

  constructor(readonly root: string = tempDir('poolsync-repo-')) {
    this.bare = join(root, 'remote.git');
    this.work = join(root, 'work');
    git(root, 'init', '--quiet', '--bare', '--initial-branch=main', this.bare);
    git(root, 'init', '--quiet', '--initial-branch=main', this.work);
    git(this.work, 'remote', 'add', 'origin', this.bare);
  }

  /** Replaces the working tree's files with `files` (path → content), commits and pushes; returns the commit. */
  commit(
    files: Record<string, string | null>,
    message = 'change',
    options: { force?: boolean; replaceAll?: boolean } = {},
  ): string {
    if (options.replaceAll) {
      for (const entry of git(this.work, 'ls-files').split('\n').filter(Boolean))
        rmSync(join(this.work, entry));
    }
    for (const [path, content] of Object.entries(files)) {
      const full = join(this.work, path);
      if (content === null) rmSync(full, { force: true });
      else {
        mkdirSync(dirname(full), { recursive: true });
        writeFileSync(full, content);
      }
    }
    git(this.work, 'add', '-A');
    git(this.work, 'commit', '--quiet', '--allow-empty', '-m', message);
    git(this.work, 'push', '--quiet', ...(options.force ? ['--force'] : []), 'origin', 'HEAD:main');
    return git(this.work, 'rev-parse', 'HEAD');
  }

  /** Rewrites history: resets the work clone to `commit`, then the next commit is force-pushed. */
  resetTo(commit: string): void {
    git(this.work, 'reset', '--quiet', '--hard', commit);
  }

  cleanup(): void {
    rmSync(this.root, { recursive: true, force: true });
  }
}
