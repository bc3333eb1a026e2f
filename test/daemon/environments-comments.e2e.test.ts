/**
 * Pull requests to a repository with environments, through the daemon and the local GitHub
 * API (docs/environments.md): one plan comment with a section per environment, and
 * `poolsync apply -e NAME` approving what that environment's plan holds; after the merge each
 * environment applies its own part, production the approved delete.
 */
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { cleanup } from '../support/cleanup.js';
import { EmbeddedControlPlane } from '../../src/controlplane/embedded/embedded.js';
import type { RunningDaemon } from '../../src/daemon/daemon.js';
import type { DaemonStatus } from '../../src/daemon/status.js';
import { FakeForge, POOLSYNC } from '../support/fake-forge.js';
import { deliverGitHub, issueCommentPayload, pullRequestPayload } from '../vcs/recorded.js';
import { cluster, twoEnvironments } from '../environments/helpers.js';
import { startOwnTestDaemon } from './harness.js';
import { TestRepo, git, tempDir } from './helpers.js';
import { until } from '../support/until.js';

const SECRET = 'gh-webhook-secret-environments-01';
const RECONCILE = 'reconcile-token-environments-0123';

let forge: FakeForge;
beforeEach(async () => {
  forge = await new FakeForge().start();
  // Undone last, as before: what the test started stops before the forge does.
  cleanup.add(() => forge.stop());
  cleanup.add(() => vi.unstubAllEnvs());
  vi.stubEnv('GITHUB_TOKEN', forge.token);
  vi.stubEnv('GITHUB_API_URL', forge.url);
  vi.stubEnv('POOLSYNC_COMMENT_REPOSITORY', 'acme/cfg');
});

const hook = (daemon: RunningDaemon, event: string, payload: unknown) =>
  deliverGitHub(`${daemon.url}/webhooks/github`, SECRET, event, payload);
const comment = (daemon: RunningDaemon, body: string) =>
  hook(
    daemon,
    'issue_comment',
    issueCommentPayload({ repository: 'acme/cfg', number: 9, login: 'alice', body }),
  );
const replies = () =>
  forge.list('github:acme/cfg#9').filter((c) => c.body.startsWith('**poolsync**'));
const clusters = async (path: string) => {
  const cp = await EmbeddedControlPlane.open({ path });
  try {
    return (await cp.listClusters()).map((c) => c.name).sort();
  } finally {
    await cp.close();
  }
};

/** A daemon on `repo` with the two environments' control planes in `state` (its own state dir). */
const start = async (repo: TestRepo, state: string, name: string) => {
  const started = await startOwnTestDaemon({
    state,
    env: { POOLSYNC_GITHUB_WEBHOOK_SECRET: SECRET, POOLSYNC_RECONCILE_TOKEN: RECONCILE },
    flags: {
      repo: repo.bare,
      'control-plane': `file:${state}/unused.json`,
      'state-dir': `${state}/${name}`,
    },
  });
  cleanup.add(() => started.stop());
  await started.daemon.firstRun;
  return started.daemon;
};

/**
 * Pull request 9 on a repository of two environments with their control planes in `state`:
 * prod drops a cluster (held: policy safe), dev gains one (applied).
 */
function pullRequest(state: string): { repo: TestRepo; head: string } {
  const repo = new TestRepo();
  cleanup.add(() => repo.cleanup());
  const files = twoEnvironments(
    { dev: `file:${state}/dev.json`, prod: `file:${state}/prod.json` },
    '    prune: true\n',
  );
  const base = repo.commit({ ...files, 'prod/other.yaml': cluster('c-prod-2') });
  const head = repo.commit({ 'prod/other.yaml': null, 'dev/more.yaml': cluster('c-dev-2') });
  git(repo.work, 'push', '--quiet', 'origin', `${head}:refs/pull/9/head`);
  git(repo.work, 'push', '--quiet', '--force', 'origin', `${base}:main`);
  return { repo, head };
}

describe('pull requests with environments', () => {
  it('one comment, a section per environment; `poolsync apply -e prod` approves prod’s held delete, applied after merge', async () => {
    const state = tempDir();
    const { repo, head } = pullRequest(state);

    const daemon = await start(repo, state, 'daemon');
    expect(await clusters(`${state}/prod.json`)).toEqual(['c-prod', 'c-prod-2']);
    forge.githubPermissions.set('alice', 'write');
    forge.heads.set('github:acme/cfg#9', head);

    expect(
      (
        await hook(
          daemon,
          'pull_request',
          pullRequestPayload({
            action: 'opened',
            repository: 'acme/cfg',
            number: 9,
            headSha: head,
          }),
        )
      ).status,
    ).toBe(202);
    const plan = await until(
      'the plan comment',
      () => forge.list('github:acme/cfg#9').find((c) => c.body.includes('2 environments')) ?? null,
    );
    expect(plan.body).toMatch(/<summary><b>dev<\/b>: Plan: 1 to create/);
    expect(plan.body).toMatch(
      /<summary><b>prod<\/b>: Plan: 0 to create, \d+ to update, 0 to replace, 1 to delete/,
    );
    expect(plan.body).toContain('`poolsync apply -e prod`');
    expect(plan.body).not.toContain('`poolsync apply -e dev`');
    await until('the commit status', () =>
      forge.requests.some(
        (r) =>
          r.method === 'POST' &&
          r.url.endsWith(`/statuses/${head}`) &&
          (r.body as { state?: string }).state !== 'pending',
      ),
    );

    await comment(daemon, 'poolsync apply');
    await until('a refusal', () => replies().length === 1);
    expect(replies()[0]!.body).toMatch(
      /several environments \(dev, prod\): name the one to approve/,
    );
    await comment(daemon, 'poolsync apply -e prod');
    await until('the approval', () => replies().length === 2);
    expect(replies()[1]!.body).toMatch(
      /approved by @alice \(write\): the \d+ held changes? of the plan of environment prod/,
    );
    const st = (await (await fetch(`${daemon.url}/status`)).json()) as DaemonStatus;
    expect(st.environments!.prod!.approval!.granted).toHaveLength(1);
    expect(st.environments!.dev!.approval!.granted).toHaveLength(0);

    git(repo.work, 'push', '--quiet', '--force', 'origin', `${head}:main`);
    await fetch(`${daemon.url}/reconcile?wait=1`, {
      method: 'POST',
      headers: { authorization: `Bearer ${RECONCILE}` },
    });
    expect(await clusters(`${state}/prod.json`)).toEqual(['c-prod']);
    expect(await clusters(`${state}/dev.json`)).toEqual(['c-dev', 'c-dev-2']);
    const after = (await (await fetch(`${daemon.url}/status`)).json()) as DaemonStatus;
    expect(after.environments!.prod!.approval!.lastApplied).toMatchObject({ approver: 'alice' });
  });

  it('a replica that did not post the comment approves `-e prod` by re-planning, only while the plan is the one the comment records', async () => {
    const state = tempDir();
    const { repo, head } = pullRequest(state);
    // Two replicas of one deployment: A posts the plan comment, B is asked to approve.
    const a = await start(repo, state, 'a');
    const b = await start(repo, state, 'b');
    forge.githubPermissions.set('alice', 'write');
    forge.heads.set('github:acme/cfg#9', head);
    await hook(
      a,
      'pull_request',
      pullRequestPayload({ action: 'opened', repository: 'acme/cfg', number: 9, headSha: head }),
    );
    const plan = await until(
      'the plan comment',
      () => forge.list('github:acme/cfg#9').find((c) => c.body.includes('2 environments')) ?? null,
    );
    const record = /<!-- poolsync:environment name="prod" ([^>]*)-->/.exec(plan.body)![1]!;
    expect(record).toContain(`commit="${head}"`);
    expect(record).toMatch(
      /desired="sha256:[0-9a-f]{64}" live="sha256:[0-9a-f]{64}" held="sha256:[0-9a-f]{64}"/,
    );
    const posted = plan.body;

    // The comment edited: its held fingerprint is not the plan's any more. A posted it, sealed
    // with the webhook secret both replicas hold (issue 74 item 4): B tells the edit.
    expect(posted).toMatch(/\n<!-- poolsync:seal v1 [0-9a-f]{64} -->$/);
    plan.body = posted.replace(
      /(name="prod"[^>]*held="sha256:)[0-9a-f]/,
      (_m, p: string) => `${p}x`,
    );
    await comment(b, 'poolsync apply -e prod');
    await until('a refusal', () => replies().length === 1);
    expect(replies()[0]!.body).toMatch(
      /refused: poolsync's plan comment was edited at .* after poolsync posted it, so the plan on the pull request may not be the one poolsync posted, and nothing is approved/,
    );
    // Only its text edited (a held delete hidden), the record as posted: refused the same way.
    expect(posted).toContain('`delete Cluster/c-prod-2`');
    plan.body = posted.replace(/- `delete Cluster\/c-prod-2`\n/, '');
    await comment(b, 'poolsync apply -e prod');
    await until('a second refusal', () => replies().length === 2);
    expect(replies()[1]!.body).toMatch(/refused: poolsync's plan comment was edited/);
    // Without the seal (an earlier version posted it): B cannot tell it unchanged.
    plan.body = posted.replace(/\n<!-- poolsync:seal v1 [0-9a-f]{64} -->$/, '');
    await comment(b, 'poolsync apply -e prod');
    await until('an unsealed refusal', () => replies().length === 3);
    expect(replies()[2]!.body).toMatch(/refused: poolsync's plan comment carries no seal/);
    let st = (await (await fetch(`${b.url}/status`)).json()) as DaemonStatus;
    expect(st.environments!.prod!.approval!.granted).toHaveLength(0);

    // The same text under another author (anyone can write the marker and a record): never
    // trusted; B finds no comment of poolsync's.
    plan.body = posted;
    plan.author = { login: 'mallory', id: 666, type: 'User' };
    await comment(b, 'poolsync apply -e prod');
    await until('a third refusal', () => replies().length === 4);
    expect(replies()[3]!.body).toMatch(/refused: no plan of environment prod of this pull request/);
    plan.author = POOLSYNC;

    // The comment as A posted it: B re-plans prod, finds exactly that plan, accepts.
    await comment(b, 'poolsync apply -e prod');
    await until('the approval', () => replies().length === 5);
    expect(replies()[4]!.body).toMatch(
      /approved by @alice \(write\): the \d+ held changes? of the plan of environment prod/,
    );
    st = (await (await fetch(`${b.url}/status`)).json()) as DaemonStatus;
    expect(st.environments!.prod!.approval!.granted).toHaveLength(1);
  });
});
