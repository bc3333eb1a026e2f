/**
 * Which repository a plan is made from (src/ops/repository.ts, docs/plan.md, Prune scope): one
 * name for a user's clone, a CI checkout and the daemon's own checkout of the same repository
 * and folder, whatever the spelling of the remote; two folders of one repository are two; a
 * folder outside Git is named by its path; poolsync.yaml `repository:` wins.
 */
import { hostname } from 'node:os';
import { execFileSync } from 'node:child_process';
import { mkdirSync, realpathSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  folderRepository,
  followedRepository,
  normalizeRemote,
  repositoryNames,
  repositoryOf,
} from '../../src/ops/repository.js';
import { tempFolder } from '../support/temp-folder.js';

/** A clone whose origin is `url`, with the folder `deploy/flyte` in it. */
function clone(url: string): string {
  const dir = tempFolder('poolsync-repository-');
  execFileSync('git', ['init', '-q', dir]);
  execFileSync('git', ['-C', dir, 'remote', 'add', 'origin', url]);
  mkdirSync(join(dir, 'deploy', 'flyte'), { recursive: true });
  return dir;
}

describe('the repository a plan is made from', () => {
  it('is the same for every spelling of one remote: scheme, credentials, port, .git and case left out', () => {
    const names = [
      'git@github.com:Acme/Pools.git',
      'https://github.com/acme/pools',
      'https://x-access-token:ghs_secret@github.com/acme/pools.git/',
      'ssh://git@github.com:22/acme/pools.git',
      'https://github.com/acme/pools.git?private_token=glpat-secret',
    ].map((u) => normalizeRemote(u));
    expect(new Set(names)).toEqual(new Set(['github.com/acme/pools']));
    expect(normalizeRemote('file:///srv/git/pools.git')).toBe('/srv/git/pools');
    expect(normalizeRemote('../pools.git', '/home/me/clone')).toBe('/home/me/pools');
  });

  it("a user's clone and the daemon's checkout of one repository and folder name it alike; another folder is another", async () => {
    const user = clone('git@github.com:Acme/Pools.git');
    const named = await repositoryOf(join(user, 'deploy', 'flyte'));
    expect(named).toBe('github.com/acme/pools//deploy/flyte');
    const daemon = await followedRepository({
      kind: 'git',
      repo: 'https://token@github.com/acme/pools.git',
      branch: 'alt',
      path: 'deploy/flyte',
    });
    // Its branch and machine name it as an applier (docs/daemon.md, Two poolsyncs on one control plane).
    expect(daemon).toEqual({ repository: named, applier: { branch: 'alt', host: hostname() } });
    // Watched where it is, it also names its path: its name before the remote (docs/plan.md, Prune scope).
    const folder = join(user, 'deploy', 'flyte');
    expect(await followedRepository({ kind: 'watch', dir: folder })).toMatchObject({
      repository: named,
      folder: realpathSync(folder),
    });
    // Its checkout, as the daemon's pull-request plans read it.
    const checkout = clone('https://token@github.com/acme/pools.git');
    expect(await repositoryOf(join(checkout, 'deploy', 'flyte'))).toBe(named);
    expect(await repositoryOf(join(user, 'deploy'))).toBe('github.com/acme/pools//deploy');
    expect(await repositoryOf(user)).toBe('github.com/acme/pools');
    // A branch checked out names its applier; a detached HEAD (a CI job's checkout) names none.
    const git = (...args: string[]) => execFileSync('git', args, { cwd: user, stdio: 'ignore' });
    git('-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-q', '--allow-empty', '-m', 'one');
    git('checkout', '-q', '-b', 'alt');
    expect((await repositoryNames(user)).applier).toEqual({ branch: 'alt', host: hostname() });
    git('checkout', '-q', '--detach');
    expect(await repositoryNames(user)).not.toHaveProperty('applier');
  });

  it('outside Git, the folder by its real path; poolsync.yaml repository: names it instead', async () => {
    const dir = tempFolder('poolsync-repository-');
    expect(await repositoryOf(dir)).toBe(realpathSync(dir));
    expect(await followedRepository({ kind: 'watch', dir })).toEqual({
      repository: realpathSync(dir),
      folder: realpathSync(dir),
    });
    writeFileSync(
      join(dir, 'poolsync.yaml'),
      'apiVersion: poolsync/v1\nkind: RepoConfig\nrepository: github.com/acme/pools//deploy\n',
    );
    expect(await folderRepository(dir)).toBe('github.com/acme/pools//deploy');
  });
});
