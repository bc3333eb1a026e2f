/**
 * A merged commit neither loosens the `policy` that holds its own deletes nor names who approves
 * them (docs/daemon.md#a-merged-commit-does-not-loosen-its-own-rules): the last applied commit's
 * rules hold, read with Git from the run history's `appliedCommit`, also after a restart, and a pull
 * request's comment says so. In process: a real Git remote, the daemon's HTTP server, embedded
 * control planes, the local GitHub API.
 */
import { describe, expect, it, vi } from 'vitest';
import { EmbeddedControlPlane } from '../../src/controlplane/embedded/embedded.js';
import type { DaemonConfig } from '../../src/daemon/config.js';
import type { Source } from '../../src/daemon/git-source.js';
import { mergePolicy } from '../../src/daemon/stages/merged-rules.js';
import type { RepoConfig } from '../../src/model/desired.js';
import { loadDesired } from '../../src/ops/plan-run.js';
import { lastAppliedPolicy } from '../../src/render/daemon-words.js';
import type { RunningDaemon } from '../../src/daemon/daemon.js';
import type { DaemonStatus } from '../../src/daemon/status.js';
import { cluster, twoSafeEnvironments } from '../environments/helpers.js';
import { cleanup } from '../support/cleanup.js';
import { FakeForge } from '../support/fake-forge.js';
import { until } from '../support/until.js';
import { deliverGitHub, pullRequestPayload } from '../vcs/recorded.js';
import { manifests } from './fixtures.js';
import { startOwnTestDaemon, startTestDaemon, type TestDaemonOptions } from './harness.js';
import { TestRepo, git, tempDir } from './helpers.js';

const ADMIN = 'admin-token-merged-rules-0123456789';
const RECONCILE = 'reconcile-token-merged-rules-01234';
const TOKENS = { POOLSYNC_ADMIN_TOKEN: ADMIN, POOLSYNC_RECONCILE_TOKEN: RECONCILE };

const post = (d: RunningDaemon, path: string, token: string, body: unknown = {}) =>
  fetch(`${d.url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
const status = async (d: RunningDaemon) =>
  (await (await fetch(`${d.url}/status`)).json()) as DaemonStatus;

async function clusters(path: string): Promise<string[]> {
  const cp = await EmbeddedControlPlane.open({ path });
  try {
    return (await cp.listClusters()).map((c) => c.name).sort();
  } finally {
    await cp.close();
  }
}

describe("a merged commit's policy", () => {
  it("that turns `safe` into `all` beside a delete is held by the last applied commit's `safe`, after a restart too; the commit after it goes by `all`", async () => {
    const state = tempDir();
    const repo = new TestRepo();
    cleanup.add(() => repo.cleanup());
    const files: Record<string, string> = {
      ...twoSafeEnvironments(state),
      'prod/extra.yaml': cluster('c-extra'),
    };
    const applied = repo.commit(files);
    const start = async () => {
      const started = await startOwnTestDaemon({
        state,
        env: TOKENS,
        flags: { repo: repo.bare, 'control-plane': `file:${state}/unused.json` },
        deps: { retryBaseMs: 3_600_000 },
      });
      cleanup.add(() => started.stop());
      await started.daemon.firstRun;
      return started;
    };
    let started = await start();
    expect(await clusters(`${state}/prod.json`)).toEqual(['c-extra', 'c-prod', 'c-shared']);

    const loosened = files['poolsync.yaml']!.replace(
      /(prod\.json\n\s+folders: \[base, prod\]\n\s+policy: )safe/,
      '$1all',
    );
    expect(loosened).not.toBe(files['poolsync.yaml']);
    const merged = repo.commit({ 'poolsync.yaml': loosened, 'prod/extra.yaml': null });
    expect((await post(started.daemon, '/reconcile?wait=1', RECONCILE)).status).toBe(200);
    const said = `policy safe (as the last applied commit ${applied.slice(0, 12)} sets it)`;
    const held = async (d: RunningDaemon) => {
      const prod = (await status(d)).environments!.prod!;
      expect(prod).toMatchObject({
        outcome: 'waiting_for_approval',
        commit: merged,
        appliedCommit: applied,
        policy: 'safe',
        policyLastApplied: { commit: applied, policy: 'safe' },
      });
      expect(prod.lastRun!.message).toContain(said);
      expect(await clusters(`${state}/prod.json`)).toEqual(['c-extra', 'c-prod', 'c-shared']);
      return prod.approval!.pending!.fingerprint;
    };
    await held(started.daemon);

    // The daemon reads `policy: all` at its start now: the history still holds the delete.
    await started.stop();
    started = await start();
    const fingerprint = await held(started.daemon);

    const ok = await post(started.daemon, '/approve', ADMIN, {
      fingerprint,
      approver: 'ana',
      environment: 'prod',
    });
    expect(ok.status).toBe(200);
    expect((await post(started.daemon, '/reconcile?wait=1', RECONCILE)).status).toBe(200);
    expect(await clusters(`${state}/prod.json`)).toEqual(['c-prod', 'c-shared']);
    expect((await status(started.daemon)).environments!.prod!.appliedCommit).toBe(merged);

    // Applied, `all` judges the commits after it: this delete goes unasked.
    const next = repo.commit({ 'base/shared.yaml': null });
    expect((await post(started.daemon, '/reconcile?wait=1', RECONCILE)).status).toBe(200);
    const prod = (await status(started.daemon)).environments!.prod!;
    expect(prod).toMatchObject({
      outcome: 'applied',
      appliedCommit: next,
      policy: 'all',
      policyLastApplied: null,
    });
    expect(await clusters(`${state}/prod.json`)).toEqual(['c-prod']);
  });
});

describe("a pull request's comment", () => {
  it("on a branch whose merged commit turned `safe` into `all` holds its deletes by the last applied commit's `safe`, naming that commit", async () => {
    const forge = await new FakeForge().start();
    cleanup.add(() => forge.stop());
    cleanup.add(() => vi.unstubAllEnvs());
    vi.stubEnv('GITHUB_TOKEN', forge.token);
    vi.stubEnv('GITHUB_API_URL', forge.url);
    vi.stubEnv('POOLSYNC_COMMENT_REPOSITORY', 'acme/cfg');
    const state = tempDir();
    const repo = new TestRepo();
    cleanup.add(() => repo.cleanup());
    const files: Record<string, string> = {
      ...twoSafeEnvironments(state),
      'prod/extra.yaml': cluster('c-extra'),
    };
    const applied = repo.commit(files);
    const secret = 'gh-webhook-secret-merged-rules-01';
    const { daemon, stop } = await startOwnTestDaemon({
      state,
      env: { ...TOKENS, POOLSYNC_GITHUB_WEBHOOK_SECRET: secret },
      flags: { repo: repo.bare, 'control-plane': `file:${state}/unused.json` },
      deps: { retryBaseMs: 3_600_000 },
    });
    cleanup.add(stop);
    await daemon.firstRun;

    // Merged: prod's `policy: all` beside a delete, which the last applied commit's `safe` holds.
    const loose = files['poolsync.yaml']!.replace(
      /(folders: \[base, prod\]\n\s+policy: )safe/,
      '$1all',
    );
    expect(loose).not.toBe(files['poolsync.yaml']);
    const merged = repo.commit({ 'poolsync.yaml': loose, 'prod/extra.yaml': null });
    expect((await post(daemon, '/reconcile?wait=1', RECONCILE)).status).toBe(200);
    expect((await status(daemon)).environments!.prod!.policyLastApplied).toEqual({
      commit: applied,
      policy: 'safe',
    });

    // Pull request 9 keeps `policy: all` and deletes one more of prod's clusters for another.
    const head = repo.commit({ 'prod/cluster.yaml': cluster('c-prod-2') });
    git(repo.work, 'push', '--quiet', 'origin', `${head}:refs/pull/9/head`);
    git(repo.work, 'push', '--quiet', '--force', 'origin', `${merged}:main`);
    forge.heads.set('github:acme/cfg#9', head);
    const opened = pullRequestPayload({
      action: 'opened',
      repository: 'acme/cfg',
      number: 9,
      headSha: head,
    });
    const hook = await deliverGitHub(
      `${daemon.url}/webhooks/github`,
      secret,
      'pull_request',
      opened,
    );
    expect(hook.status).toBe(202);
    const plan = await until(
      'the plan comment',
      () =>
        forge.list('github:acme/cfg#9').find((c) => c.body.includes('Held for approval')) ?? null,
    );
    expect(plan.body).toContain(
      `**Held for approval** (policy \`safe\` (as the last applied commit ${applied.slice(0, 12)} sets it)):`,
    );
  });
});

describe("a pull request's comment says what its merge will hold", () => {
  const secret = 'gh-webhook-secret-merged-rules-02';
  /** prod's `policy:` set to `policy` in poolsync.yaml `yaml`. */
  const prodPolicy = (yaml: string, policy: string) => {
    const set = yaml.replace(/(folders: \[base, prod\]\n\s+policy: )\w+/, `$1${policy}`);
    expect(set).toContain(`prod.json\n    folders: [base, prod]\n    policy: ${policy}`);
    return set;
  };

  async function withForge() {
    const forge = await new FakeForge().start();
    cleanup.add(() => forge.stop());
    cleanup.add(() => vi.unstubAllEnvs());
    vi.stubEnv('GITHUB_TOKEN', forge.token);
    vi.stubEnv('GITHUB_API_URL', forge.url);
    vi.stubEnv('POOLSYNC_COMMENT_REPOSITORY', 'acme/cfg');
    return forge;
  }

  async function start(state: string, repo: TestRepo, deps: TestDaemonOptions<never>['deps'] = {}) {
    const started = await startOwnTestDaemon({
      state,
      env: { ...TOKENS, POOLSYNC_GITHUB_WEBHOOK_SECRET: secret },
      flags: { repo: repo.bare, 'control-plane': `file:${state}/unused.json` },
      deps: { retryBaseMs: 3_600_000, ...deps },
      logLevel: 'silent',
    });
    cleanup.add(() => started.stop());
    return started;
  }

  /** Pull request `number` at a commit of `files` on top of main, main left where it was; its plan comment. */
  async function planComment(
    d: RunningDaemon,
    forge: FakeForge,
    repo: TestRepo,
    number: number,
    files: Record<string, string | null>,
  ) {
    const main = git(repo.work, 'rev-parse', 'HEAD').trim();
    const head = repo.commit(files);
    git(repo.work, 'push', '--quiet', 'origin', `${head}:refs/pull/${number}/head`);
    git(repo.work, 'push', '--quiet', '--force', 'origin', `${main}:main`);
    forge.heads.set(`github:acme/cfg#${number}`, head);
    const opened = pullRequestPayload({
      action: 'opened',
      repository: 'acme/cfg',
      number,
      headSha: head,
    });
    const hook = await deliverGitHub(`${d.url}/webhooks/github`, secret, 'pull_request', opened);
    expect(hook.status).toBe(202);
    const comment = await until(
      'the plan comment',
      () => forge.list(`github:acme/cfg#${number}`).find((c) => c.body.includes('prod')) ?? null,
    );
    return comment.body;
  }

  it("that turns prod's `all` into `safe` beside a delete holds the delete by its own `safe`", async () => {
    const forge = await withForge();
    const state = tempDir();
    const repo = new TestRepo();
    cleanup.add(() => repo.cleanup());
    const files = twoSafeEnvironments(state);
    const all = prodPolicy(files['poolsync.yaml']!, 'all');
    repo.commit({ ...files, 'poolsync.yaml': all, 'prod/extra.yaml': cluster('c-extra') });
    const { daemon } = await start(state, repo);
    await daemon.firstRun;
    expect((await status(daemon)).environments!.prod!.policy).toBe('all');

    const body = await planComment(daemon, forge, repo, 11, {
      'poolsync.yaml': prodPolicy(all, 'safe'),
      'prod/extra.yaml': null,
    });
    expect(body).toContain('**Held for approval** (policy `safe`): after merge');
    expect(body).toContain('- `delete Cluster/c-extra`');
  });

  it("that turns prod's `safe` into `all` beside a delete says the last applied commit's `safe` holds it", async () => {
    const forge = await withForge();
    const state = tempDir();
    const repo = new TestRepo();
    cleanup.add(() => repo.cleanup());
    const files = twoSafeEnvironments(state);
    const applied = repo.commit({ ...files, 'prod/extra.yaml': cluster('c-extra') });
    const { daemon } = await start(state, repo);
    await daemon.firstRun;

    const body = await planComment(daemon, forge, repo, 12, {
      'poolsync.yaml': prodPolicy(files['poolsync.yaml']!, 'all'),
      'prod/extra.yaml': null,
    });
    expect(body).toContain(
      `**Held for approval** (policy \`safe\` (as the last applied commit ${applied.slice(0, 12)} sets it)): after merge`,
    );
    expect(body).toContain('- `delete Cluster/c-extra`');
  });

  it('just after a restart, before any run, holds as the run will: by the last applied commit read with Git', async () => {
    const forge = await withForge();
    const state = tempDir();
    const repo = new TestRepo();
    cleanup.add(() => repo.cleanup());
    // prod alone: every load the test holds back is prod's.
    const yaml = `apiVersion: poolsync/v1\nkind: RepoConfig\nprune: true\nenvironments:\n  prod:\n    controlPlane: file:${state}/prod.json\n    folders: [base, prod]\n    policy: safe\n`;
    const files = twoSafeEnvironments(state);
    const applied = repo.commit({
      'poolsync.yaml': yaml,
      'base/pool.yaml': files['base/pool.yaml']!,
      'base/shared.yaml': files['base/shared.yaml']!,
      'prod/cluster.yaml': files['prod/cluster.yaml']!,
      'prod/extra.yaml': cluster('c-extra'),
    });
    let started = await start(state, repo);
    await started.daemon.firstRun;
    // Merged: prod's `policy: all` beside a delete, held; the daemon reads `all` at its next start.
    repo.commit({ 'poolsync.yaml': prodPolicy(yaml, 'all'), 'prod/extra.yaml': null });
    expect((await post(started.daemon, '/reconcile?wait=1', RECONCILE)).status).toBe(200);
    expect((await status(started.daemon)).environments!.prod!.policyLastApplied).toEqual({
      commit: applied,
      policy: 'safe',
    });
    await started.stop();

    // The first run after the restart waits in its load until the comment is posted.
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    started = await start(state, repo, {
      pipeline: {
        loadRepository: async (dir, o) => (
          await gate,
          loadDesired(dir, { ...o, environment: 'prod' })
        ),
      },
    });
    // Undone first: a stop waits for the run in its load.
    cleanup.add(() => release());
    expect((await status(started.daemon)).environments!.prod!).toMatchObject({
      policy: 'all',
      policyLastApplied: null,
    });
    const body = await planComment(started.daemon, forge, repo, 13, {
      'prod/cluster.yaml': cluster('c-prod-2'),
    });
    expect(body).toContain(
      `**Held for approval** (policy \`safe\` (as the last applied commit ${applied.slice(0, 12)} sets it)): after merge`,
    );
    expect(body).toContain('- `delete Cluster/c-extra`');
    release();
    await started.daemon.firstRun;
  });
});

describe("a pull request's merge before the daemon's first fetch", () => {
  it("holds a head's `all` as `safe` would, saying the last applied commit's rules are not read yet; a head's `safe` needs no read", async () => {
    const o = {
      config: { controlPlane: { environment: 'prod' }, policy: 'all' } as DaemonConfig,
      source: { last: null } as Source,
      redactor: null as never,
      logger: null as never,
    };
    const head = (policy: 'all' | 'safe') =>
      ({ environments: [{ name: 'prod', policy }] }) as unknown as RepoConfig;
    const applied = 'a'.repeat(40);
    const all = await mergePolicy(o, head('all'), applied);
    expect(all).toEqual({ policy: 'safe', lastApplied: { commit: applied, policy: null } });
    expect(lastAppliedPolicy(all.lastApplied)).toBe(
      ' (as the last applied commit aaaaaaaaaaaa may set it: the daemon has not read its rules yet)',
    );
    expect(await mergePolicy(o, head('safe'), applied)).toEqual({
      policy: 'safe',
      lastApplied: null,
    });
    expect(await mergePolicy(o, head('all'), null)).toEqual({ policy: 'all', lastApplied: null });
  });
});

describe("a merged commit's approvers", () => {
  const approvers = (list: string) => `approvers:\n  '*':\n    approve: [${list}]\n`;

  async function heldAfter(list: string) {
    const repo = new TestRepo();
    cleanup.add(() => repo.cleanup());
    const files = manifests();
    files['poolsync.yaml'] += approvers('alice');
    const applied = repo.commit(files);
    const { daemon, stop } = await startTestDaemon({
      repo,
      env: TOKENS,
      flags: { policy: 'safe' },
      logLevel: 'silent',
    });
    cleanup.add(stop);
    await daemon.firstRun;
    const dropped = manifests({ clusters: ['prod-1'] });
    dropped['poolsync.yaml'] += approvers(list);
    repo.commit(dropped, 'drop prod-2', { replaceAll: true });
    expect((await post(daemon, '/reconcile?wait=1', RECONCILE)).status).toBe(200);
    const st = await status(daemon);
    expect(st.outcome).toBe('waiting_for_approval');
    return { daemon, applied, st, fingerprint: st.approval!.pending!.fingerprint };
  }

  it('that adds token:admin beside a delete does not let the admin token approve it: the last applied commit names who may', async () => {
    const { daemon, applied, st, fingerprint } = await heldAfter('alice, token:admin');
    expect(st.approval!.approvers).toEqual({
      rule: 'approvers.*.approve',
      principals: ['alice'],
      lastApplied: applied,
    });
    const approve = await post(daemon, '/approve', ADMIN, { fingerprint, approver: 'mallory' });
    expect(approve.status).toBe(403);
    expect(await approve.json()).toEqual({
      approved: false,
      reason: `token:admin may not approve held changes: approvers.*.approve (poolsync.yaml of the last applied commit ${applied.slice(0, 12)}, as the loaded commit's names more) names alice, and token:admin is none of them: add token:admin to the rule, or start the daemon with --admin-token-bypasses-approvers`,
    });
    expect((await status(daemon)).outcome).toBe('waiting_for_approval');
  });

  it('that narrows the list judges its own commit: a rule naming fewer holds at once', async () => {
    const { st } = await heldAfter('');
    expect(st.approval!.approvers).toEqual({ rule: 'approvers.*.approve', principals: [] });
  });
});
