/**
 * Issue 23, items 1 and 2, in the daemon: a commit whose poolsync.yaml is a link to a secret
 * outside the repository or to /dev/zero, or whose --path folder is a link, is refused at
 * validation (`file:1:1`), the secret appears nowhere (/status, log), the daemon keeps serving
 * the last good state, and the next good commit is applied. Real bare Git repository, the
 * daemon's real HTTP server. And the places an error of a --path folder names, from the
 * repository's root as its own (as `validate` words them); an emptied poolsync.yaml is an invalid
 * commit too, never the defaults.
 */
import { rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cleanup } from '../support/cleanup.js';
import type { DaemonStatus } from '../../src/daemon/status.js';
import { manifests } from './fixtures.js';
import { startOwnTestDaemon } from './harness.js';
import { TestRepo, git, tempDir } from './helpers.js';

const SECRET = 'ghp_DAEMONSECRET0123456789abcdef';
/** Replaces `path` in the work tree with a link to `target`, commits and pushes. */
function commitLink(repo: TestRepo, path: string, target: string): string {
  rmSync(join(repo.work, path), { recursive: true, force: true });
  symlinkSync(target, join(repo.work, path));
  git(repo.work, 'add', '-A');
  git(repo.work, 'commit', '--quiet', '-m', `link ${path}`);
  git(repo.work, 'push', '--quiet', 'origin', 'HEAD:main');
  return git(repo.work, 'rev-parse', 'HEAD');
}

async function statusOf(url: string): Promise<DaemonStatus> {
  return (await (await fetch(`${url}/status`)).json()) as DaemonStatus;
}

async function daemonFor(repo: TestRepo, path: string) {
  const d = await startOwnTestDaemon({ repo, flags: { path }, logLevel: 'info' });
  cleanup.add(d.stop);
  await d.daemon.firstRun;
  return { daemon: d.daemon, log: () => d.logs.join('') };
}

describe('daemon: nothing outside the repository is read (issue 23)', () => {
  it('poolsync.yaml linked to a secret, then to /dev/zero: refused at poolsync.yaml:1:1, last good state served, next good commit applied', async () => {
    const outside = tempDir('poolsync-outside-');
    cleanup.add(() => rmSync(outside, { recursive: true, force: true }));
    writeFileSync(join(outside, 'token'), `${SECRET}\n`);
    const repo = new TestRepo();
    cleanup.add(() => repo.cleanup());
    const good = repo.commit(manifests());
    const { daemon, log } = await daemonFor(repo, '.');
    expect(daemon.status()).toMatchObject({ outcome: 'applied', appliedCommit: good });

    for (const target of [join(outside, 'token'), '/dev/zero']) {
      const bad = commitLink(repo, 'poolsync.yaml', target);
      await daemon.reconcile('manual');
      const st = await statusOf(daemon.url);
      expect(st).toMatchObject({ outcome: 'invalid', commit: bad, appliedCommit: good });
      expect(st.errors).toEqual([
        {
          code: 'IO',
          message: expect.stringMatching(
            /^not read: it is a symbolic link, and poolsync reads only regular files/,
          ),
          location: 'poolsync.yaml:1:1',
          address: null,
        },
      ]);
      expect(JSON.stringify(st)).not.toContain(SECRET);
    }
    expect(log()).not.toContain(SECRET);
    expect(log()).toContain('poolsync.yaml:1:1');

    rmSync(join(repo.work, 'poolsync.yaml'));
    const fixed = repo.commit(manifests({ batchRunConcurrency: 7 }));
    await daemon.reconcile('manual');
    expect(daemon.status()).toMatchObject({ outcome: 'applied', appliedCommit: fixed });
  }, 60_000);

  it('a manifest turned into a link (prune: true) is an invalid commit naming it: nothing of it deleted, the last good state stays', async () => {
    const repo = new TestRepo();
    cleanup.add(() => repo.cleanup());
    const good = repo.commit(manifests());
    const { daemon } = await daemonFor(repo, '.');
    expect(daemon.status()).toMatchObject({ outcome: 'applied', appliedCommit: good });

    // Never followed: where it points (here nowhere) does not matter.
    const bad = commitLink(repo, 'queues/batch.yaml', '../../common/batch.yaml');
    await daemon.reconcile('manual');
    const st = await statusOf(daemon.url);
    expect(st).toMatchObject({ outcome: 'invalid', commit: bad, appliedCommit: good });
    expect(st.errors).toEqual([
      {
        code: 'IO',
        message: expect.stringMatching(
          /^not read: it is a symbolic link, .*: replace it with the file itself, or list it under ignore in poolsync\.yaml$/,
        ),
        location: 'queues/batch.yaml:1:1',
        address: null,
      },
    ]);
    expect(st.lastRun).toMatchObject({ result: 'invalid', applied: { delete: 0 }, changed: [] });
  }, 60_000);

  it('an emptied poolsync.yaml is an invalid commit at poolsync.yaml:1:1: what its ignore: kept out is not read, the last good state stays', async () => {
    const repo = new TestRepo();
    cleanup.add(() => repo.cleanup());
    const files = manifests();
    files['poolsync.yaml'] += 'ignore: [drafts/**]\n';
    files['drafts/gpu.yaml'] = files['pools/prod.yaml']!.replace('name: prod', 'name: gpu');
    const good = repo.commit(files);
    const { daemon } = await daemonFor(repo, '.');
    expect(daemon.status()).toMatchObject({ outcome: 'applied', appliedCommit: good });

    const bad = repo.commit({ 'poolsync.yaml': '# emptied by mistake\n' });
    await daemon.reconcile('manual');
    const st = await statusOf(daemon.url);
    expect(st).toMatchObject({ outcome: 'invalid', commit: bad, appliedCommit: good });
    expect(st.errors).toEqual([
      {
        code: 'SCHEMA',
        message: expect.stringMatching(
          /^poolsync\.yaml is empty .*needs apiVersion: poolsync\/v1 and kind: RepoConfig .*remove the file to use the defaults$/,
        ),
        location: 'poolsync.yaml:1:1',
        address: null,
      },
    ]);
  }, 60_000);

  it('a --path folder replaced by a link to a folder outside is refused at the folder; nothing of it is read', async () => {
    const outside = tempDir('poolsync-outside-');
    cleanup.add(() => rmSync(outside, { recursive: true, force: true }));
    writeFileSync(join(outside, 'token.yaml'), `kind: ${SECRET}\n`);
    const repo = new TestRepo();
    cleanup.add(() => repo.cleanup());
    const files = Object.fromEntries(Object.entries(manifests()).map(([k, v]) => [`conf/${k}`, v]));
    const good = repo.commit(files);
    const { daemon, log } = await daemonFor(repo, 'conf');
    expect(daemon.status()).toMatchObject({ outcome: 'applied', appliedCommit: good });

    const bad = commitLink(repo, 'conf', outside);
    await daemon.reconcile('manual');
    const st = await statusOf(daemon.url);
    expect(st).toMatchObject({ outcome: 'invalid', commit: bad, appliedCommit: good });
    expect(st.errors).toEqual([
      {
        code: 'IO',
        message:
          'the folder conf of the repository is a symbolic link: poolsync reads nothing outside the repository, and a link could point anywhere; name the real folder instead',
        location: 'conf:1:1',
        address: null,
      },
    ]);
    expect(JSON.stringify(st) + log()).not.toContain(SECRET);
  }, 60_000);

  it("a --path folder's error names the other place as it names its own: from the repository's root, in /status and the log", async () => {
    const repo = new TestRepo();
    cleanup.add(() => repo.cleanup());
    const files = manifests();
    files['pools/copy.yaml'] = files['pools/prod.yaml']!;
    repo.commit(Object.fromEntries(Object.entries(files).map(([k, v]) => [`conf/${k}`, v])));
    const { daemon, log } = await daemonFor(repo, 'conf');
    const st = await statusOf(daemon.url);
    expect(st.outcome).toBe('invalid');
    expect(st.errors.map((e) => [e.location, e.message])).toEqual([
      [
        'conf/pools/copy.yaml:4:9',
        "duplicate ClusterPool 'prod': also declared at conf/pools/prod.yaml:4:9",
      ],
      [
        'conf/pools/prod.yaml:4:9',
        "duplicate ClusterPool 'prod': also declared at conf/pools/copy.yaml:4:9",
      ],
    ]);
    expect(log()).toContain('also declared at conf/pools/prod.yaml:4:9');
    expect(log()).not.toMatch(/also declared at pools\//);
  }, 60_000);
});
