/** cleanCommit: the commit `plan DIR` and `apply DIR` record in their plans. */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openControlPlane } from '../../src/controlplane/open.js';
import { cleanCommit, planRepository } from '../../src/ops/plan-run.js';

const tmp = mkdtempSync(join(tmpdir(), 'poolsync-pipeline-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const git = (cwd: string, ...args: string[]) =>
  execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.com', ...args], {
    cwd,
    encoding: 'utf8',
  }).trim();

describe('cleanCommit', () => {
  it('is HEAD for a clean work tree, null once DIR has local changes; changes elsewhere do not count', async () => {
    const repo = join(tmp, 'repo');
    const dir = join(repo, 'teams');
    mkdirSync(repo);
    cpSync('examples/config-repo', dir, { recursive: true });
    writeFileSync(join(repo, 'README.md'), 'x\n');
    git(repo, 'init', '-q');
    git(repo, 'add', '.');
    git(repo, 'commit', '-q', '-m', 'initial');
    const head = git(repo, 'rev-parse', 'HEAD');

    expect(await cleanCommit(dir)).toBe(head);
    const cp = await openControlPlane(`file:${join(tmp, 'cp.json')}`);
    try {
      const result = await planRepository(dir, cp, { commit: await cleanCommit(dir) });
      expect(result.ok && result.plan.commit).toBe(head);
    } finally {
      await cp.close();
    }

    writeFileSync(join(repo, 'README.md'), 'changed outside DIR\n');
    expect(await cleanCommit(dir)).toBe(head);
    writeFileSync(join(dir, 'untracked.yaml'), '# new\n');
    expect(await cleanCommit(dir)).toBeNull();
    rmSync(join(dir, 'untracked.yaml'));
    expect(await cleanCommit(dir)).toBe(head);
    writeFileSync(join(dir, 'poolsync.yaml'), '# edited\n', { flag: 'a' });
    expect(await cleanCommit(dir)).toBeNull();
  });

  it('is null in a repository without commits', async () => {
    const empty = join(tmp, 'empty');
    mkdirSync(empty);
    git(empty, 'init', '-q');
    expect(await cleanCommit(empty)).toBeNull();
  });

  it('is null outside a Git work tree', async () => {
    const plain = join(tmp, 'plain');
    mkdirSync(plain);
    expect(await cleanCommit(plain)).toBeNull();
  });
});
