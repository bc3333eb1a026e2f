/**
 * `poolsync plan --at COMMIT` and `apply --at COMMIT` (issue 76 item 5; docs/plan.md#plan-an-
 * earlier-commit): the rollback of CI without a daemon. The repository as it was at COMMIT is
 * read from real Git into a temporary folder; the plan records COMMIT; the working tree and its
 * index are left as they were; a commit that is not there is one line.
 */
import { realpathSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/run.js';
import { EmbeddedControlPlane } from '../../src/controlplane/embedded/embedded.js';
import { cleanup } from '../support/cleanup.js';
import { exitOf, memoryIo } from '../support/memory-io.js';
import { tempFolder } from '../support/temp-folder.js';
import { manifests } from '../daemon/fixtures.js';
import { git, TestRepo } from '../daemon/helpers.js';
import { shellQuote } from '../../src/util/shell-quote.js';

const poolsync = async (...argv: string[]) => {
  const io = memoryIo({ ...process.env, NO_COLOR: '1' });
  const code = await exitOf(io, main(argv, io));
  return { code, out: io.out(), err: io.err() };
};

describe('plan --at COMMIT, apply --at COMMIT', () => {
  it('plans and applies the repository as it was at an earlier commit, leaving the checkout alone', async () => {
    const repo = new TestRepo(tempFolder('poolsync-at-'));
    cleanup.add(() => repo.cleanup());
    const cpPath = join(tempFolder('poolsync-at-cp-'), 'cp.json');
    const cp = ['--control-plane', `file:${cpPath}`];
    const a = repo.commit(manifests({ batchRunConcurrency: 50 }), 'A');
    expect((await poolsync('apply', repo.work, ...cp, '--auto-approve')).code).toBe(0);
    repo.commit(manifests({ batchRunConcurrency: 70 }), 'B');
    expect((await poolsync('apply', repo.work, ...cp, '--auto-approve')).code).toBe(0);
    // An edit not committed stays as it is.
    const { writeFileSync, readFileSync } = await import('node:fs');
    writeFileSync(join(repo.work, 'notes.txt'), 'local edit\n');
    const status = git(repo.work, 'status', '--porcelain');

    const planned = await poolsync('plan', repo.work, ...cp, '--at', a.slice(0, 10));
    expect(planned.err).toBe('');
    expect(planned.out).toMatch(/~ Queue\/batch\n\s+run_concurrency: 70 → 50/);
    expect(planned.out).toMatch(/Plan: 0 to create, 1 to update, 0 to replace, 0 to delete/);
    const json = await poolsync('plan', repo.work, ...cp, '--at', 'HEAD~1', '--output', 'json');
    expect(JSON.parse(json.out)).toMatchObject({ commit: a });

    const applied = await poolsync('apply', repo.work, ...cp, '--at', a, '--auto-approve');
    expect(applied.code).toBe(0);
    const state = await EmbeddedControlPlane.open({ path: cpPath });
    try {
      expect((await state.getQueue('batch')).run_concurrency).toBe(50);
    } finally {
      await state.close();
    }
    expect(git(repo.work, 'status', '--porcelain')).toBe(status);
    expect(readFileSync(join(repo.work, 'queues/batch.yaml'), 'utf8')).toContain(
      'run_concurrency: 70',
    );

    const missing = await poolsync('plan', repo.work, ...cp, '--at', 'no-such-tag');
    expect(missing.code).toBe(1);
    expect(missing.err).toMatch(
      /^Error: --at no-such-tag: no such commit in the repository at .* \(fetch it first: git fetch origin no-such-tag\)\n$/,
    );
    const both = await poolsync('plan', repo.work, ...cp, '--at', a, '--commit', a);
    expect(both.err).toMatch(/--at plans a commit's files: it cannot be combined with --commit/);
    const outside = await poolsync('plan', tempFolder('poolsync-no-git-'), ...cp, '--at', a);
    expect(outside.err).toMatch(/is not in a Git repository/);
    // A saved plan is already shaped: --at is refused as --target is, not looked for in Git
    // (it said the plan file "is not in a Git repository").
    const saved = join(repo.work, 'at2.json');
    expect((await poolsync('plan', repo.work, ...cp, '--out', saved)).code).toBe(0);
    const shaping = `--target, --replace, --accept-cascade and --at shape a plan: give them to \`poolsync plan … --out ${saved}\` (a saved plan is applied exactly as it is)\n`;
    for (const flag of [
      ['--at', 'HEAD~1'],
      ['--target', 'Queue/batch'],
    ])
      expect(await poolsync('apply', saved, ...cp, ...flag)).toEqual({
        code: 1,
        out: '',
        err: `Error: ${shaping}`,
      });
    // An option to git, not a commit: never passed on.
    const option = await poolsync('plan', repo.work, ...cp, '--at=--output=/tmp/x');
    expect(option.err).toBe(
      'Error: --at "--output=/tmp/x" is not a commit: name one as git does (a commit id, a tag, HEAD~1)\n',
    );
  });

  it("names the user's folder, never the temporary checkout (gone after the command): the render command, the files of errors", async () => {
    const repo = new TestRepo(tempFolder('poolsync-rollback-'));
    cleanup.add(() => repo.cleanup());
    const cp = ['--control-plane', `file:${join(tempFolder('poolsync-rollback-cp-'), 'cp.json')}`];
    const files = manifests();
    files['poolsync.yaml'] += 'render:\n  union-cluster-pools:\n    path: deploy/pools.yaml\n';
    const a = repo.commit(files, 'A');
    const b = repo.commit(manifests({ invalid: true }), 'B');
    repo.commit(manifests(), 'C');

    const planned = await poolsync('plan', repo.work, ...cp, '--at', a);
    expect(planned.code, planned.err).toBe(0);
    // It said `poolsync render union-cluster-pools /tmp/poolsync-at-…/tree`.
    expect(planned.out).toContain(
      `render the file (\`poolsync render union-cluster-pools ${shellQuote(repo.work)}\`, or let the daemon commit it)`,
    );
    expect(planned.out + planned.err).not.toContain('poolsync-at-');
    const invalid = await poolsync('plan', repo.work, ...cp, '--at', b);
    expect(invalid.code).toBe(1);
    expect(invalid.out).toContain(`${join(repo.work, 'queues/broken.yaml')}:`);
    expect(invalid.out + invalid.err).not.toContain('poolsync-at-');
  });

  it('a ref that does not resolve: fetch advice only for a name a remote may have (HEAD~9 of 2 commits, no remote)', async () => {
    const repo = new TestRepo(tempFolder('poolsync-at-'));
    cleanup.add(() => repo.cleanup());
    const cp = ['--control-plane', `file:${join(tempFolder('poolsync-at-cp-'), 'cp.json')}`];
    repo.commit(manifests({ batchRunConcurrency: 50 }), 'A');
    repo.commit(manifests({ batchRunConcurrency: 70 }), 'B');
    const top = realpathSync(repo.work);
    for (const [ref, base] of [
      ['HEAD~9', 'HEAD'],
      ['HEAD^^^', 'HEAD'],
      ['main~5', 'main'],
    ] as const) {
      const r = await poolsync('plan', repo.work, ...cp, '--at', ref);
      expect(r.code).toBe(1);
      expect(r.err).toBe(
        `Error: --at ${ref}: no such commit in the repository at ${top}: ${base}'s history does not reach back that far (\`git log --oneline ${base}\` lists it)\n`,
      );
    }
    // A name counted back from that is not here may be a remote's: fetch that name.
    const unknownBase = await poolsync('plan', repo.work, ...cp, '--at', 'v1.0~1');
    expect(unknownBase.err).toMatch(/\(fetch it first: git fetch origin v1\.0\)\n$/);
    git(repo.work, 'remote', 'remove', 'origin');
    const noRemote = await poolsync('plan', repo.work, ...cp, '--at', 'v1.0');
    expect(noRemote.err).toBe(
      `Error: --at v1.0: no such commit in the repository at ${top} (it has no remote to fetch it from)\n`,
    );
  });
});
