/**
 * `poolsync plan --at COMMIT` and `apply --at COMMIT` (issue 76 item 5; docs/plan.md#plan-an-
 * earlier-commit): the rollback of CI without a daemon. The repository as it was at COMMIT is
 * read from real Git into a temporary folder; the plan records COMMIT; the working tree and its
 * index are left as they were; a commit that is not there is one line.
 */
import { mkdirSync, realpathSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/run.js';
import { EmbeddedControlPlane } from '../../src/controlplane/embedded/embedded.js';
import { cleanup } from '../support/cleanup.js';
import { exitOf, memoryIo } from '../support/memory-io.js';
import { servedControlPlane } from '../support/served-control-plane.js';
import { FakeForge } from '../support/fake-forge.js';
import { commentMarker } from '../../src/vcs/comment.js';
import { tempFolder } from '../support/temp-folder.js';
import { manifests } from '../daemon/fixtures.js';
import { git, TestRepo } from '../daemon/helpers.js';
import { shellQuote } from '../../src/util/shell-quote.js';

const poolsyncWith = async (env: NodeJS.ProcessEnv, ...argv: string[]) => {
  const io = memoryIo({ ...process.env, NO_COLOR: '1', ...env });
  const code = await exitOf(io, main(argv, io));
  return { code, out: io.out(), err: io.err() };
};
const poolsync = (...argv: string[]) => poolsyncWith({}, ...argv);

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
    // apply --at named /tmp/poolsync-at-…/tree/queues/broken.yaml.
    const refused = await poolsync('apply', repo.work, ...cp, '--at', b, '--auto-approve');
    expect(refused.code).toBe(1);
    expect(refused.err).toContain(`${join(repo.work, 'queues/broken.yaml')}:`);
    expect(refused.out + refused.err).not.toContain('poolsync-at-');
    // A commit without poolsync.yaml: the note names the folder and the `init` to run there.
    const bare = repo.commit({ 'poolsync.yaml': null }, 'D');
    for (const command of [['plan'], ['apply', '--auto-approve']]) {
      const r = await poolsync(...command, repo.work, ...cp, '--at', bare);
      expect(r.err).toContain(`Note: ${repo.work} has no poolsync.yaml`);
      expect(r.out + r.err).not.toContain('poolsync-at-');
    }
  });

  it("an environment's relative file: state and token file are the user's folder's: untracked, they are not in the checkout", async () => {
    const repo = new TestRepo(tempFolder('poolsync-at-env-'));
    cleanup.add(() => repo.cleanup());
    const served = await servedControlPlane({ token: 'at-token' });
    const files = manifests();
    files['.gitignore'] = '.poolsync/\nsecrets/\n';
    files['poolsync.yaml'] +=
      'environments:\n' +
      '  local:\n    controlPlane: file:.poolsync/local.json\n    folders: [.]\n' +
      `  remote:\n    controlPlane: ${served.url}\n    tokenFile: secrets/token\n    folders: [.]\n`;
    repo.commit(files, 'A');
    mkdirSync(join(repo.work, 'secrets'));
    writeFileSync(join(repo.work, 'secrets/token'), `endpoint: ${served.url}\ntoken: at-token\n`);
    const state = join(repo.work, '.poolsync/local.json');

    // It applied into /tmp/poolsync-at-…/tree/.poolsync/local.json, removed after the command.
    const applied = await poolsync(
      'apply',
      repo.work,
      '-e',
      'local',
      '--at',
      'HEAD',
      '--auto-approve',
    );
    expect(applied.err).toBe('');
    expect(applied.code).toBe(0);
    const cp = await EmbeddedControlPlane.open({ path: state });
    try {
      expect((await cp.getQueue('batch')).run_concurrency).toBe(50);
    } finally {
      await cp.close();
    }
    const planned = await poolsync('plan', repo.work, '-e', 'local', '--at', 'HEAD');
    expect(planned.out).toContain(`Control plane: embedded file:${state}\n`);
    expect(planned.out).toContain('No changes.');
    // It said the token file /tmp/poolsync-at-…/tree/secrets/token does not exist.
    const remote = await poolsync('plan', repo.work, '-e', 'remote', '--at', 'HEAD');
    expect(remote.err).toBe('');
    expect(remote.out).toContain('+ Queue/batch');
    // Without --env, the message names the folder.
    const unnamed = await poolsync('apply', repo.work, '--at', 'HEAD', '--auto-approve');
    expect(unnamed.err).toContain(`poolsync.yaml in ${repo.work} declares environments`);
  });

  it("in pull-request mode the base branch is read with Git in the user's folder, not in the checkout (no repository)", async () => {
    const repo = new TestRepo(tempFolder('poolsync-at-pr-'));
    cleanup.add(() => repo.cleanup());
    const cp = ['--control-plane', `file:${join(tempFolder('poolsync-at-pr-cp-'), 'cp.json')}`];
    // Applied before any budget: the inventory records none, so only the base branch bounds.
    repo.commit(manifests(), 'A');
    expect((await poolsync('apply', repo.work, ...cp, '--auto-approve')).code).toBe(0);
    const budget = manifests();
    budget['poolsync.yaml'] += 'guardrails:\n  max_destroy: 0\n';
    const base = repo.commit(budget, 'a destroy budget');
    const removes = repo.commit({ ...manifests(), 'clusters/prod-2.yaml': null }, 'one less');
    // It planned the delete: the base branch's budget was not read, silently.
    const pr = { POOLSYNC_BASE_REF: base };
    for (const command of [['plan'], ['apply', '--auto-approve']]) {
      const r = await poolsyncWith(pr, ...command, repo.work, ...cp, '--at', removes);
      expect(r.code).toBe(1);
      expect(r.out + r.err).toContain('max_destroy');
    }
    // It said the base's poolsync.yaml cannot be read with Git in /tmp/poolsync-at-…/tree.
    const policies = manifests();
    policies['poolsync.yaml'] += 'policies:\n  path: policies\n';
    policies['policies/main.rego'] = 'package main\n';
    const withPolicies = repo.commit(policies, 'policies');
    const opa = { POOLSYNC_BASE_REF: withPolicies, POOLSYNC_OPA: '/no/such/opa' };
    const checked = await poolsyncWith(opa, 'plan', repo.work, ...cp, '--at', withPolicies);
    expect(checked.err).toContain('POOLSYNC_OPA /no/such/opa: not an executable file');
    expect(checked.out + checked.err).not.toContain('poolsync-at-');
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

  it('a repository without commits says so, not that a commit is missing', async () => {
    const work = tempFolder('poolsync-at-empty-');
    git(work, 'init', '-q');
    writeFileSync(join(work, 'poolsync.yaml'), 'apiVersion: poolsync/v1\nkind: RepoConfig\n');
    const r = await poolsync('validate', work, '--at', 'HEAD');
    expect(r.err).toBe(
      `Error: --at HEAD: no such commit in the repository at ${realpathSync(work)}: it has no commits yet (commit the folder first, or leave out --at to read its files as they are)\n`,
    );
  });

  it("an invalid poolsync.yaml at the commit: the advice validates that commit's files (validate --at)", async () => {
    const repo = new TestRepo(tempFolder('poolsync-at-invalid-'));
    cleanup.add(() => repo.cleanup());
    const files = manifests();
    files['poolsync.yaml'] +=
      'environments:\n  local:\n    controlPlane: file:.poolsync/local.json\n    folders: [.]\n';
    const bad = repo.commit(
      { ...files, 'poolsync.yaml': files['poolsync.yaml']!.replace('prune: true', 'prune: maybe') },
      'A',
    );
    repo.commit(files, 'B');
    const short = bad.slice(0, 12);
    for (const command of [['plan'], ['apply', '--auto-approve']]) {
      const r = await poolsync(...command, repo.work, '-e', 'local', '--at', bad);
      expect(r.err).toBe(
        `Error: --env local: poolsync.yaml in ${repo.work} at commit ${short} is not valid, so environment local is not known: poolsync.yaml:3:8: prune must be true or false, got 'maybe'; \`poolsync validate ${shellQuote(repo.work)} --at ${short}\` lists every error\n`,
      );
    }
    // It said `poolsync validate DIR`, which reads the working tree: valid there.
    expect((await poolsync('validate', repo.work)).code).toBe(0);
    const validated = await poolsync('validate', repo.work, '--at', short);
    expect(validated.out).toBe(
      `${repo.work}/poolsync.yaml:3:8: SCHEMA prune must be true or false, got 'maybe'\n1 error in 1 file.\n`,
    );
    expect(validated.code).toBe(1);
  });

  it("plan --at --comment: the comment and status are the user's folder's (its place in the repository), not the checkout's", async () => {
    const repo = new TestRepo(tempFolder('poolsync-at-comment-'));
    cleanup.add(() => repo.cleanup());
    const forge = await new FakeForge().start();
    cleanup.add(() => forge.stop());
    const files = Object.entries(manifests()).map(([path, text]) => [`infra/${path}`, text]);
    const a = repo.commit(Object.fromEntries(files), 'A');
    repo.commit({ 'infra/queues/batch.yaml': null }, 'B');
    const cp = [
      '--control-plane',
      `file:${join(tempFolder('poolsync-at-comment-cp-'), 'cp.json')}`,
    ];
    const comment = ['--comment', 'github', '--repo', 'acme/cfg', '--pr', '7'];
    const r = await poolsyncWith(
      { GITHUB_TOKEN: forge.token },
      'plan',
      join(repo.work, 'infra'),
      ...cp,
      '--at',
      a,
      ...comment,
      '--api-url',
      forge.url,
    );
    expect(r.code, r.err).toBe(0);
    // It was the repository root's ('poolsync/plan'): the checkout is in no repository.
    expect(forge.statuses.at(-1)).toMatchObject({
      sha: a,
      body: { context: 'poolsync/plan: infra' },
    });
    expect(forge.list('github:acme/cfg#7')[0]!.body.startsWith(commentMarker('infra'))).toBe(true);
  });
});
