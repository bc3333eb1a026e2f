/**
 * `poolsync --version` names the commit of the checkout it runs from (`0.1.0 (abc1234)`), read
 * from .git as Git keeps it (a branch loose or packed, a detached HEAD, a worktree's `gitdir:`
 * file), never by running git; outside a checkout (an installed package) nothing more.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkoutCommit } from '../../src/util/package-version.js';
import { tempFolder } from '../support/temp-folder.js';

const git = (cwd: string, ...args: string[]) =>
  execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.com', ...args], {
    cwd,
    encoding: 'utf8',
  }).trim();

describe('the commit --version names', () => {
  it('is HEAD as Git keeps it: a branch loose or packed, a worktree, a detached HEAD; none outside a checkout', () => {
    const repo = tempFolder('poolsync-version-');
    git(repo, 'init', '-q', '-b', 'main');
    writeFileSync(join(repo, 'a'), 'a\n');
    git(repo, 'add', '.');
    git(repo, 'commit', '-qm', 'one');
    const head = git(repo, 'rev-parse', 'HEAD');
    expect(checkoutCommit(join(repo, '.git'))).toBe(head);
    git(repo, 'pack-refs', '--all');
    expect(checkoutCommit(join(repo, '.git'))).toBe(head);

    const tree = join(tempFolder('poolsync-version-tree-'), 'tree');
    git(repo, 'worktree', 'add', '-q', '-b', 'other', tree);
    writeFileSync(join(tree, 'b'), 'b\n');
    git(tree, 'add', '.');
    git(tree, 'commit', '-qm', 'two');
    expect(checkoutCommit(join(tree, '.git'))).toBe(git(tree, 'rev-parse', 'HEAD'));

    git(repo, 'checkout', '-q', '--detach');
    expect(checkoutCommit(join(repo, '.git'))).toBe(head);
    expect(checkoutCommit(join(tempFolder('poolsync-version-none-'), '.git'))).toBeNull();
  });
});
