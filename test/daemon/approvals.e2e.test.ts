/**
 * Approvals under policy `safe`, end to end in process: a real bare Git repository with a
 * pull-request head ref, the daemon's real HTTP server and webhooks, the local GitHub API
 * (comments, collaborator permissions, pull requests), the in-memory embedded control plane.
 */
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { cleanup } from '../support/cleanup.js';
import type { RunningDaemon } from '../../src/daemon/daemon.js';
import type { DaemonStatus } from '../../src/daemon/status.js';
import { FakeForge } from '../support/fake-forge.js';
import { deliverGitHub, issueCommentPayload, pullRequestPayload, userId } from '../vcs/recorded.js';
import { runCli } from '../support/cli.js';
import { manifests } from './fixtures.js';
import { TestRepo, git } from './helpers.js';
import { until } from '../support/until.js';
import { startTestDaemon } from './harness.js';

const SECRET = 'gh-webhook-secret-approvals-0123';
const ADMIN = 'admin-token-approvals-0123456789';
const RECONCILE = 'reconcile-token-approvals-012345';

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

async function start(repo: TestRepo) {
  const { cp, daemon, logs, stop } = await startTestDaemon({
    repo,
    env: {
      POOLSYNC_GITHUB_WEBHOOK_SECRET: SECRET,
      POOLSYNC_ADMIN_TOKEN: ADMIN,
      POOLSYNC_RECONCILE_TOKEN: RECONCILE,
    },
    flags: { policy: 'safe' },
  });
  cleanup.add(stop);
  await daemon.firstRun;
  return { cp, daemon, logs };
}

const hook = (daemon: RunningDaemon, event: string, payload: unknown) =>
  deliverGitHub(`${daemon.url}/webhooks/github`, SECRET, event, payload);
const comment = (
  daemon: RunningDaemon,
  number: number,
  login: string,
  body = 'poolsync apply',
  over: { action?: 'edited'; state?: 'closed' } = {},
) =>
  hook(
    daemon,
    'issue_comment',
    issueCommentPayload({ repository: 'acme/cfg', number, login, body, ...over }),
  );
const status = async (daemon: RunningDaemon) =>
  (await (await fetch(`${daemon.url}/status`)).json()) as DaemonStatus;
const reconcile = (daemon: RunningDaemon) =>
  fetch(`${daemon.url}/reconcile?wait=1`, {
    method: 'POST',
    headers: { authorization: `Bearer ${RECONCILE}` },
  });

/** main at two clusters; pull request #N (pushed to its head ref) drops prod-2 and raises batch. */
function repoWithPullRequest(number: number) {
  const repo = new TestRepo();
  const base = repo.commit(manifests());
  const head = repo.commit(
    manifests({ clusters: ['prod-1'], batchRunConcurrency: 70 }),
    'drop prod-2',
    {
      replaceAll: true,
    },
  );
  git(repo.work, 'push', '--quiet', 'origin', `${head}:refs/pull/${number}/head`);
  git(repo.work, 'push', '--quiet', '--force', 'origin', `${base}:main`);
  return { repo, base, head };
}

async function postPlan(
  daemon: RunningDaemon,
  number: number,
  head: string,
): Promise<{ body: string }> {
  forge.heads.set(`github:acme/cfg#${number}`, head);
  const res = await hook(
    daemon,
    'pull_request',
    pullRequestPayload({ action: 'opened', repository: 'acme/cfg', number, headSha: head }),
  );
  expect(res.status).toBe(202);
  const posted = await until(
    'the plan comment',
    () =>
      forge.list(`github:acme/cfg#${number}`).find((c) => c.body.includes('Held for approval')) ??
      null,
  );
  // The daemon sends the commit status after it recorded the plan as posted: a comment on the
  // pull request before that could still race the daemon reading the forge's answer.
  await until('the commit status request', () =>
    forge.requests.some((r) => isFinalStatus(head, `${r.method} ${r.url}`, r.body)),
  );
  return posted;
}

/** The status the daemon sets on `head` once the plan is published (not the pending one). */
function isFinalStatus(head: string, route: string, body: unknown): boolean {
  return (
    route.startsWith('POST ') &&
    route.endsWith(`/repos/acme/cfg/statuses/${head}`) &&
    (body as { state?: string } | null)?.state !== 'pending'
  );
}

const replies = (number: number) =>
  forge.list(`github:acme/cfg#${number}`).filter((c) => c.body.startsWith('**poolsync**'));

describe('approval by pull-request comment', () => {
  it('a user without write permission is refused; a collaborator with write approves exactly the posted plan; after merge it is applied', async () => {
    const { repo, head } = repoWithPullRequest(7);
    const { cp, daemon, logs } = await start(repo);
    forge.githubPermissions.set('alice', 'write');
    forge.githubPermissions.set('bob', 'read');
    const plan = await postPlan(daemon, 7, head);
    expect(plan.body).toContain('`delete Cluster/prod-2`');
    const fingerprint = /fingerprint `(sha256:[0-9a-f]{64})`/.exec(plan.body)![1]!;

    expect((await comment(daemon, 7, 'bob')).status).toBe(202);
    await until('a refusal reply', () => replies(7).length === 1);
    expect(replies(7)[0]!.body).toMatch(
      /approval by @bob refused: @bob may not approve: approving needs write permission on the repository \(has read\)/,
    );
    expect((await status(daemon)).approval!.lastRefused).toMatchObject({
      approver: 'bob',
      via: 'github',
    });
    // Someone not a collaborator at all.
    await comment(daemon, 7, 'mallory');
    await until('a second refusal', () => replies(7).length === 2);
    expect(replies(7)[1]!.body).toMatch(/has none \(not a collaborator\)/);

    // An edit of a comment approves nothing (GitHub sends it as `edited`): no reply, no grant.
    const edited = await comment(daemon, 7, 'alice', 'poolsync apply', { action: 'edited' });
    expect(await edited.json()).toMatchObject({ result: 'ignored' });
    // Nor a comment on a closed pull request.
    await comment(daemon, 7, 'alice', 'poolsync apply', { state: 'closed' });
    await until('a third refusal', () => replies(7).length === 3);
    expect(replies(7)[2]!.body).toMatch(/approval by @alice refused: the pull request is not open/);
    expect((await status(daemon)).approval!.granted).toEqual([]);
    // Closed after the comment was written: the pull request as the API reads it now.
    forge.closed.add('github:acme/cfg#7');
    await comment(daemon, 7, 'alice');
    await until('a fourth refusal', () => replies(7).length === 4);
    expect(replies(7)[3]!.body).toMatch(/refused: the pull request is not open/);
    forge.closed.delete('github:acme/cfg#7');

    await comment(daemon, 7, 'alice');
    await until('an approval reply', () => replies(7).length === 5);
    expect(replies(7)[4]!.body).toContain(`approved by @alice (write)`);
    expect(replies(7)[4]!.body).toContain(fingerprint);
    expect((await status(daemon)).approval!.granted).toEqual([
      expect.objectContaining({
        fingerprint,
        approver: 'alice',
        via: 'github',
        source: 'github:acme/cfg#7',
      }),
    ]);
    // Nothing applied before the merge.
    expect((await cp.listClusters()).map((c) => c.name).sort()).toEqual(['prod-1', 'prod-2']);

    // Merge (fast-forward main to the pull request's head): the approved changes are exactly the held ones.
    git(repo.work, 'push', '--quiet', '--force', 'origin', `${head}:main`);
    await reconcile(daemon);
    const st = await status(daemon);
    // The run the approval asked for may fetch the merge before this one (a busy machine):
    // exactly one of them applied it, with the approval.
    const approved = st.runs.filter((r) => r.message.includes('approved by alice'));
    expect(approved.map((r) => r.result)).toEqual(['applied']);
    expect((await cp.listClusters()).map((c) => c.name)).toEqual(['prod-1']);
    expect((await cp.getQueue('batch')).run_concurrency).toBe(70);
    expect(st.approval!.lastApplied).toMatchObject({
      fingerprint,
      approver: 'alice',
      commit: head,
    });
    expect(st.approval!.granted).toEqual([]);
    const metrics = await (await fetch(`${daemon.url}/metrics`)).text();
    expect(metrics).toMatch(/poolsync_approvals_total\{result="applied",via="github"\} 1/);
    expect(metrics).toMatch(/poolsync_approvals_total\{result="refused",via="github"\} 4/);
    const runLine = logs
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .find((l) => 'approval' in l && 'run' in l);
    expect(runLine!.approval).toMatchObject({ fingerprint, approver: 'alice', via: 'github' });
  }, 60_000);

  it('a `poolsync apply` comment while the commit status is still being set approves the plan whose comment is posted (issue 23)', async () => {
    const { repo, head } = repoWithPullRequest(9);
    const { daemon } = await start(repo);
    forge.githubPermissions.set('alice', 'write');
    const release = forge.hold((route, body) => isFinalStatus(head, route, body));
    try {
      const plan = await postPlan(daemon, 9, head);
      const fingerprint = /fingerprint `(sha256:[0-9a-f]{64})`/.exec(plan.body)![1]!;
      // postPlan saw the comment and the status request, which the forge holds unanswered.
      await comment(daemon, 9, 'alice');
      await until('a reply', () => replies(9).length === 1);
      expect(replies(9)[0]!.body).toContain('approved by @alice (write)');
      expect(replies(9)[0]!.body).toContain(fingerprint);
    } finally {
      release();
    }
  }, 60_000);

  it('retargeted to another branch than the followed one, its plan comment says it is not planned, and a `poolsync apply` comment approves nothing (it approved the plan shown before)', async () => {
    const { repo, head } = repoWithPullRequest(10);
    const { daemon } = await start(repo);
    forge.githubPermissions.set('alice', 'write');
    await postPlan(daemon, 10, head);
    const retarget = { repository: 'acme/cfg', number: 10, headSha: head, baseFrom: 'main' };
    const edited = pullRequestPayload({ ...retarget, action: 'edited', baseRef: 'release' });
    expect((await hook(daemon, 'pull_request', edited)).status).toBe(202);
    await until('the not-planned comment', () =>
      forge.list('github:acme/cfg#10').some((c) => c.body.includes('**Not planned')),
    );
    expect(forge.list('github:acme/cfg#10')).toHaveLength(1);
    await comment(daemon, 10, 'alice');
    await until('a reply', () => replies(10).length === 1);
    expect(replies(10)[0]!.body).toMatch(
      /approval by @alice refused: no plan of this pull request has been posted/,
    );
    expect((await status(daemon)).approval!.granted).toEqual([]);
  }, 60_000);

  it('a stale plan is refused with the reason: the pull request moved, or the control plane changed', async () => {
    const { repo, head } = repoWithPullRequest(8);
    const { cp, daemon } = await start(repo);
    forge.githubPermissions.set('alice', 'admin');
    await postPlan(daemon, 8, head);

    forge.heads.set('github:acme/cfg#8', 'f'.repeat(40)); // a push the daemon has not planned yet
    await comment(daemon, 8, 'alice');
    await until('a refusal', () => replies(8).length === 1);
    expect(replies(8)[0]!.body).toMatch(
      new RegExp(
        `stale: the plan was posted for commit ${head.slice(0, 12)}, the pull request is now at ffffffffffff`,
      ),
    );

    forge.heads.set('github:acme/cfg#8', head);
    await cp.updateCluster('prod-1', { enabled: false }); // someone changed the control plane
    await comment(daemon, 8, 'alice');
    await until('a second refusal', () => replies(8).length === 2);
    expect(replies(8)[1]!.body).toMatch(
      /stale: the control plane changed since the plan was posted/,
    );
    expect((await status(daemon)).approval).toMatchObject({
      granted: [],
      lastRefused: {
        approver: 'alice',
        reason: expect.stringMatching(/^stale: the control plane changed/),
      },
    });
  }, 60_000);
});

/**
 * main at three clusters; pull request #7, by mallory, drops prod-3 (`head`); `more` is a later
 * push to it (`moreClusters`, batch at `moreBatch`); `direct` drops prod-3 on main, not through
 * the pull request. bob and carol approve the plan of `head` by comment.
 */
async function approvedPullRequest(more: { clusters: string[]; batch?: number }) {
  const repo = new TestRepo();
  const base = repo.commit(manifests({ clusters: ['prod-1', 'prod-2', 'prod-3'] }));
  const dropped = manifests({ clusters: ['prod-1', 'prod-2'] });
  const head = repo.commit(dropped, 'drop prod-3', { replaceAll: true });
  const shape = { clusters: more.clusters, batchRunConcurrency: more.batch };
  const later = repo.commit(manifests(shape), 'more', { replaceAll: true });
  repo.resetTo(base);
  const direct = repo.commit(dropped, 'docs: typo fix', { replaceAll: true, force: true });
  git(repo.work, 'push', '--quiet', 'origin', `${head}:refs/pull/7/head`);
  git(repo.work, 'push', '--quiet', '--force', 'origin', `${base}:main`);
  const { cp, daemon } = await start(repo);
  forge.authors.set(PR7, { login: 'mallory', id: userId('mallory'), type: 'User' });
  forge.githubPermissions.set('bob', 'write');
  forge.githubPermissions.set('carol', 'write');
  const plan = await postPlan(daemon, 7, head);
  expect(plan.body).toContain('`delete Cluster/prod-3`');
  const fingerprint = /fingerprint `(sha256:[0-9a-f]{64})`/.exec(plan.body)![1]!;
  for (const [i, who] of ['bob', 'carol'].entries()) {
    await comment(daemon, 7, who);
    await until(`${who}'s approval`, () => replies(7).length === i + 1);
    expect(replies(7)[i]!.body).toContain(`approved by @${who} (write)`);
  }
  expect(replies(7)[1]!.body).toContain(
    `once this pull request is merged at ${head.slice(0, 12)} and they are exactly the changes it holds`,
  );
  // carol's approval is recorded after her reply and requests a run (pull-requests.ts): that run
  // ends before a test moves main, or it would apply the new commit before the test's own run.
  await until('carol recorded', async () =>
    (await status(daemon)).approval!.granted.some((g) => g.approver === 'carol'),
  );
  await reconcile(daemon);
  /** main moved to `commit`, and the run that plans it. */
  const runAt = async (commit: string) => {
    git(repo.work, 'push', '--quiet', '--force', 'origin', `${commit}:main`);
    await reconcile(daemon);
    const st = await status(daemon);
    return { st, run: st.runs.find((r) => r.commit === commit)! };
  };
  return { repo, cp, daemon, base, head, later, direct, fingerprint, runAt };
}

const PR7 = 'github:acme/cfg#7';
const clusters = async (cp: { listClusters(): Promise<{ name: string }[]> }) =>
  (await cp.listClusters()).map((c) => c.name).sort();
const pullRequestEvent = (
  daemon: RunningDaemon,
  action: 'synchronize' | 'closed',
  headSha: string,
  merged = false,
) =>
  hook(
    daemon,
    'pull_request',
    pullRequestPayload({ action, repository: 'acme/cfg', number: 7, headSha, merged }),
  );
/** A push to pull request #7 (its head ref, the forge and the event), planned by the daemon. */
async function pushTo7(daemon: RunningDaemon, repo: TestRepo, commit: string) {
  git(repo.work, 'push', '--quiet', '--force', 'origin', `${commit}:refs/pull/7/head`);
  forge.heads.set(PR7, commit);
  expect((await pullRequestEvent(daemon, 'synchronize', commit)).status).toBe(202);
  await until('the plan of the new head', () =>
    forge.requests.some((r) => isFinalStatus(commit, `${r.method} ${r.url}`, r.body)),
  );
}

describe('an approval by comment is of its pull request, merged', () => {
  it("the hand-tester's finding: approved, pushed to, closed unmerged, then the same delete pushed to main is held, saying why", async () => {
    const { repo, cp, daemon, later, direct, runAt } = await approvedPullRequest({
      clusters: ['prod-1'],
    });
    await pushTo7(daemon, repo, later);
    expect((await status(daemon)).approval!.granted).toEqual([]);
    await until('the withdrawal reply', () => replies(7).length === 3);
    forge.closed.add(PR7);
    expect((await pullRequestEvent(daemon, 'closed', later)).status).toBe(202);
    await comment(daemon, 7, 'carol');
    await until('a refusal', () => replies(7).length === 4);
    expect(replies(7)[3]!.body).toMatch(/refused: the pull request is not open/);

    const { st, run } = await runAt(direct);
    expect(run.result).toBe('waiting_for_approval');
    expect(run.message).toContain(
      `carol's approval on ${PR7} was withdrawn: the pull request got new commits (now at ${later.slice(0, 12)}); approve the changes held now`,
    );
    expect(st.approval!.lastApplied).toBeNull();
    expect(await clusters(cp)).toEqual(['prod-1', 'prod-2', 'prod-3']);
  }, 90_000);

  it('a commit on main that does not contain the approved head is held while the pull request is open; squash-merged as that commit, the approval applies it', async () => {
    const { cp, daemon, direct, fingerprint, runAt } = await approvedPullRequest({
      clusters: ['prod-1'],
    });
    const held = await runAt(direct);
    expect(held.run.result).toBe('waiting_for_approval');
    const { head } = (await status(daemon)).approval!.granted[0]!.pullRequest!;
    expect(held.run.message).toContain(
      `carol's approval on ${PR7} approves that pull request merged, and commit ${direct.slice(0, 12)} does not contain its approved commit ${head.slice(0, 12)}, nor is it merged: merge it, or approve`,
    );
    expect(await clusters(cp)).toEqual(['prod-1', 'prod-2', 'prod-3']);

    // The forge squash-merged #7 as that very commit: a merged close keeps the approval.
    forge.merged.set(PR7, direct);
    expect((await pullRequestEvent(daemon, 'closed', head, true)).status).toBe(202);
    await reconcile(daemon);
    const st = await status(daemon);
    expect(st.approval!.lastApplied).toMatchObject({
      fingerprint,
      approver: 'carol',
      source: PR7,
      commit: direct,
    });
    expect(await clusters(cp)).toEqual(['prod-1', 'prod-2']);
  }, 90_000);

  it('merged by a merge commit, the approval applies it', async () => {
    const { repo, cp, base, head, fingerprint, runAt } = await approvedPullRequest({
      clusters: ['prod-1'],
    });
    git(repo.work, 'checkout', '--quiet', '--detach', base);
    git(repo.work, 'merge', '--quiet', '--no-ff', '-m', 'Merge pull request #7', head);
    const merge = git(repo.work, 'rev-parse', 'HEAD');
    const { st, run } = await runAt(merge);
    expect(run.result).toBe('applied');
    expect(run.message).toContain('approved by carol');
    expect(st.approval!.lastApplied).toMatchObject({
      fingerprint,
      approver: 'carol',
      commit: merge,
    });
    expect(await clusters(cp)).toEqual(['prod-1', 'prod-2']);
  }, 90_000);

  it('new commits on the pull request withdraw it, even when they hold nothing more and are merged', async () => {
    const { cp, daemon, repo, later, runAt } = await approvedPullRequest({
      clusters: ['prod-1', 'prod-2'],
      batch: 70,
    });
    await pushTo7(daemon, repo, later);
    expect((await status(daemon)).approval!.granted).toEqual([]);
    // Said on the pull request, once: bob's approval was replaced by carol's of the same plan.
    await until('the withdrawal reply', () => replies(7).length === 3);
    expect(replies(7)[2]!.body).toBe(
      `**poolsync**: the approval by @carol was withdrawn: the pull request got new commits (now at ${later.slice(0, 12)}), so nothing approved before is applied. To apply the held changes, wait for the plan comment of the new commit, review it, then comment \`poolsync apply\` to approve the new plan.`,
    );
    // `later` contains the approved head: only the withdrawal keeps the delete held.
    const { run } = await runAt(later);
    expect(run.result).toBe('waiting_for_approval');
    expect(run.message).toMatch(
      /^applied: .*; carol's approval on github:acme\/cfg#7 was withdrawn: the pull request got new commits/,
    );
    expect((await cp.getQueue('batch')).run_concurrency).toBe(70);
    expect(await clusters(cp)).toEqual(['prod-1', 'prod-2', 'prod-3']);
  }, 90_000);

  it('new commits whose event never reached this replica (another one took it, or it was lost) withdraw it when a run reads the head from the forge, said once on the pull request', async () => {
    const { cp, daemon, repo, later, runAt } = await approvedPullRequest({
      clusters: ['prod-1', 'prod-2'],
      batch: 70,
    });
    // Pushed to #7, and no synchronize event delivered here: the approval still stands.
    git(repo.work, 'push', '--quiet', '--force', 'origin', `${later}:refs/pull/7/head`);
    forge.heads.set(PR7, later);
    expect((await status(daemon)).approval!.granted).toMatchObject([{ approver: 'carol' }]);
    // `later` contains the approved head: only the forge's head keeps the delete held.
    const { st, run } = await runAt(later);
    expect(run.result).toBe('waiting_for_approval');
    const why = `carol's approval on ${PR7} was withdrawn: the pull request got new commits (now at ${later.slice(0, 12)}); approve the changes held now`;
    expect(run.message).toContain(why);
    expect(st.approval!.lastApplied).toBeNull();
    expect(st.approval!.granted).toEqual([]);
    expect((await cp.getQueue('batch')).run_concurrency).toBe(70);
    expect(await clusters(cp)).toEqual(['prod-1', 'prod-2', 'prod-3']);
    const withdrawn = `**poolsync**: the approval by @carol was withdrawn: the pull request got new commits (now at ${later.slice(0, 12)}), so nothing approved before is applied. To apply the held changes, wait for the plan comment of the new commit, review it, then comment \`poolsync apply\` to approve the new plan.`;
    await until('the withdrawal reply', () => replies(7).length === 3);
    expect(replies(7)[2]!.body).toBe(withdrawn);
    // Once per approval: the next run says why again, and the late event, on the pull request neither.
    await reconcile(daemon);
    expect((await status(daemon)).runs[0]!.message).toContain(why);
    await pushTo7(daemon, repo, later);
    expect(replies(7).map((r) => r.body)).toEqual([
      expect.stringContaining('approved by @bob'),
      expect.stringContaining('approved by @carol'),
      withdrawn,
    ]);
  }, 90_000);

  it('closed without merge withdraws it, even when its head reaches main afterwards', async () => {
    const { cp, daemon, head, runAt } = await approvedPullRequest({ clusters: ['prod-1'] });
    forge.closed.add(PR7);
    expect((await pullRequestEvent(daemon, 'closed', head)).status).toBe(202);
    expect((await status(daemon)).approval!.granted).toEqual([]);
    await until('the withdrawal reply', () => replies(7).length === 3);
    expect(replies(7)[2]!.body).toMatch(
      /^\*\*poolsync\*\*: the approval by @carol was withdrawn: the pull request was closed without merge, .* reopen it/,
    );
    const { run } = await runAt(head);
    expect(run.result).toBe('waiting_for_approval');
    expect(run.message).toContain(
      `carol's approval on ${PR7} was withdrawn: the pull request was closed without merge`,
    );
    expect(await clusters(cp)).toEqual(['prod-1', 'prod-2', 'prod-3']);
  }, 90_000);
});

describe('POST /approve (the daemon admin token)', () => {
  it('approves exactly the held fingerprint; a stale or unknown one is refused with the reason', async () => {
    const repo = new TestRepo();
    repo.commit(manifests());
    const { cp, daemon, logs } = await start(repo);
    repo.commit(manifests({ clusters: ['prod-1'] }), 'drop prod-2', { replaceAll: true });
    await reconcile(daemon);
    let st = await status(daemon);
    expect(st.outcome).toBe('waiting_for_approval');
    const held = st.approval!.pending!.fingerprint;
    // Another run holding the same changes keeps when they were first held (the dashboard's
    // "held since").
    const since = st.approval!.pending!.since;
    await reconcile(daemon);
    st = await status(daemon);
    expect(st.approval!.pending).toMatchObject({ fingerprint: held, since });
    const approve = (body: unknown, token = ADMIN) =>
      fetch(`${daemon.url}/approve`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    expect((await approve({ fingerprint: held, approver: 'ops' }, 'wrong')).status).toBe(401);
    const unknown = await approve({ fingerprint: `sha256:${'0'.repeat(64)}`, approver: 'ops' });
    expect(unknown.status).toBe(409);
    expect(((await unknown.json()) as { reason: string }).reason).toMatch(
      new RegExp(
        `^no plan with fingerprint sha256:0{64}: not the changes waiting for approval \\(${held}, `,
      ),
    );
    // Issue 23: an approver that is the admin token (pasted in the wrong field) is refused and
    // never recorded, so /status and the log never show it.
    for (const approver of [ADMIN, `Bearer ${ADMIN}`, `ops ${RECONCILE}`]) {
      const leak = await approve({ fingerprint: held, approver });
      expect(leak.status).toBe(400);
      expect(((await leak.json()) as { error: string }).error).toMatch(/^"approver" holds a token/);
    }
    expect(JSON.stringify(await status(daemon))).not.toContain(ADMIN);
    const ok = await approve({ fingerprint: held, approver: 'ops' });
    expect(ok.status).toBe(200);
    await until('applied', async () => (await status(daemon)).outcome === 'applied');
    expect((await cp.listClusters()).map((c) => c.name)).toEqual(['prod-1']);
    st = await status(daemon);
    expect(st.approval!.lastApplied).toMatchObject({
      fingerprint: held,
      approver: 'ops',
      via: 'api',
    });
    // Nothing is held any more: a replayed approval is refused.
    const again = await approve({ fingerprint: held, approver: 'ops' });
    expect(again.status).toBe(409);
    expect(((await again.json()) as { reason: string }).reason).toBe(
      'nothing is waiting for approval',
    );
    expect(logs.join('')).not.toContain(ADMIN);
  }, 60_000);
});

describe('poolsync approve', () => {
  it('shows what is held and the command; approves that fingerprint with the admin token; refuses a stale one, and a typo as no plan with the one meant', async () => {
    const repo = new TestRepo();
    repo.commit(manifests({ clusters: ['prod-1', 'prod-2', 'prod-3'] }));
    const { cp, daemon } = await start(repo);
    // An earlier plan held, then the commit moved: its fingerprint is stale.
    repo.commit(manifests({ clusters: ['prod-1', 'prod-2'] }), 'drop prod-3', { replaceAll: true });
    await reconcile(daemon);
    const earlier = (await status(daemon)).approval!.pending!.fingerprint;
    repo.commit(manifests({ clusters: ['prod-1'] }), 'drop prod-2', { replaceAll: true });
    await reconcile(daemon);
    const held = (await status(daemon)).approval!.pending!.fingerprint;
    expect(held).not.toBe(earlier);
    const shown = await runCli(['approve', '--daemon', daemon.url]);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toContain('delete Cluster/prod-2');
    expect(shown.stdout).toContain(`poolsync approve ${held} --daemon ${daemon.url}`);

    const noToken = await runCli(['approve', held, '--daemon', daemon.url]);
    expect(noToken.code).toBe(1);
    expect(noToken.stderr).toContain('set POOLSYNC_ADMIN_TOKEN or pass --admin-token-file');
    const asAdmin = { POOLSYNC_ADMIN_TOKEN: ADMIN };
    const stale = await runCli(['approve', earlier, '--daemon', daemon.url], asAdmin);
    expect(stale.code).toBe(1);
    expect(stale.stderr).toContain(
      `Approval refused: stale: the changes waiting for approval are now ${held} (commit `,
    );
    expect(stale.stderr).toContain(`, not ${earlier}: the live state or the commit moved`);
    // One character wrong: no plan has it (it said stale), and the held one is named.
    const last = held.at(-1) === '0' ? '1' : '0';
    const typo = `${held.slice(0, -1)}${last}`;
    const mistyped = await runCli(['approve', typo, '--daemon', daemon.url], asAdmin);
    expect(mistyped.code).toBe(1);
    expect(mistyped.stderr).toBe(
      `Error: Approval refused: no plan with fingerprint ${typo} (did you mean ${held}?): not the changes waiting for approval (${held}, commit ${(await status(daemon)).commit!.slice(0, 12)}) nor any this daemon held before. Review the current plan (GET /status, \`poolsync approve\`) and approve its fingerprint\n`,
    );
    const unknown = await runCli(
      ['approve', `sha256:${'1'.repeat(64)}`, '--daemon', daemon.url],
      asAdmin,
    );
    expect(unknown.stderr).toMatch(
      /^Error: Approval refused: no plan with fingerprint sha256:1{64}: not/,
    );
    // A character short: not a fingerprint, and which one was meant.
    const short = await runCli(['approve', held.slice(0, -1), '--daemon', daemon.url], asAdmin);
    expect(short.stderr).toContain(
      `is not a plan fingerprint (sha256:<64 hex digits>) (did you mean ${held}?)`,
    );
    // The hex digits alone are the fingerprint they can only be.
    const bare = held.slice('sha256:'.length);
    const ok = await runCli(['approve', bare, '--daemon', daemon.url, '--as', 'carol'], asAdmin);
    expect(ok.stdout).toMatch(new RegExp(`^Approved ${held} as carol; `));
    expect(ok.stderr).toBe('');
    expect(ok.code).toBe(0);
    await until('applied', async () => (await status(daemon)).outcome === 'applied');
    expect((await cp.listClusters()).map((c) => c.name)).toEqual(['prod-1']);
    expect((await status(daemon)).approval!.lastApplied).toMatchObject({
      approver: 'carol',
      via: 'api',
    });
  }, 90_000);
});
