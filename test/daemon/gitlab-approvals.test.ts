/**
 * The daemon's GitLab side (issue 59): under a relative URL root (`https://host/gitlab`) it plans
 * and answers on the right project through the right API, learnt from GitLab's own events (its
 * documented `project.web_url` and `path_with_namespace`); an approval re-reads the merge
 * request's state, head and author from the API (docs/daemon.md#approvals), whatever the note
 * event says; its author may not approve it unless --allow-self-approval. Against the local
 * GitLab API (test/support/fake-forge.ts), GitLab's documented note event
 * (test/fixtures/gitlab-webhooks), the daemon's pull-request side in process.
 */
import { readFileSync } from 'node:fs';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Approvals } from '../../src/daemon/approvals.js';
import type { DaemonConfig } from '../../src/daemon/config.js';
import {
  commentApprovalHandler,
  PostedPlans,
  pullRequestSide,
} from '../../src/daemon/pull-requests.js';
import { createApprovalForge } from '../../src/vcs/forges.js';
import { makePlan } from '../vcs/plan-fixture.js';
import type { Unit } from '../../src/daemon/unit.js';
import { handleGitlabWebhook } from '../../src/daemon/webhooks.js';
import type { Plan } from '../../src/model/plan.js';
import type { CommentEvent, PullRequestEvent } from '../../src/vcs/types.js';
import { FakeForge } from '../support/fake-forge.js';
import { until } from '../support/until.js';
import { tempFolder } from '../support/temp-folder.js';

let forge: FakeForge;
beforeEach(async () => {
  forge = await new FakeForge().start();
  forge.gitlabRoot = '/gitlab';
  vi.stubEnv('GITLAB_TOKEN', forge.token);
  vi.stubEnv('GITLAB_API_URL', '');
  vi.stubEnv('POOLSYNC_COMMENT_REPOSITORY', '');
});
afterEach(async () => {
  vi.unstubAllEnvs();
  await forge.stop();
});

const KEY = 'gitlab:group/project!1';

/** The daemon's pull-request side for a clone URL under GitLab's relative URL root. */
function side(over: Partial<DaemonConfig> = {}) {
  const config = {
    source: {
      kind: 'git',
      repo: `${forge.url}/gitlab/group/project.git`,
      branch: 'main',
      path: '.',
      auth: { token: null, username: 'oauth2', sshKeyFile: null, sshKnownHostsFile: null },
    },
    githubWebhookSecret: null,
    gitlabWebhookToken: 'whtoken',
    // Posting keeps what it posted under the state folder: one of this test's own.
    stateDir: tempFolder('poolsync-gitlab-approvals-'),
    policy: 'safe',
    allowSelfApproval: false,
    ...over,
  } as DaemonConfig;
  const approvals = new Approvals();
  const unit = {
    name: null,
    config,
    approvals,
    readLive: () => Promise.reject(new Error('not read')),
    request: async () => {},
    backend: () => undefined,
    identity: () => undefined,
  } as unknown as Unit;
  const prs = pullRequestSide(config, [unit], pino({ level: 'silent' }), process.env);
  return { prs, approvals };
}

/** GitLab's documented note event, on this project under /gitlab, as a comment event. */
function note(body: string, over: { state?: string; userId?: number } = {}): CommentEvent {
  const n = JSON.parse(
    readFileSync('test/fixtures/gitlab-webhooks/note-merge-request.json', 'utf8'),
  ) as { headers: Record<string, string>; payload: Record<string, any> }; // eslint-disable-line @typescript-eslint/no-explicit-any
  n.payload.object_attributes.note = body;
  n.payload.project.path_with_namespace = 'group/project';
  n.payload.project.web_url = `${forge.url}/gitlab/group/project`;
  n.payload.merge_request.state = over.state ?? 'opened';
  if (over.userId !== undefined) n.payload.user.id = over.userId;
  const out = handleGitlabWebhook(
    { headers: { 'x-gitlab-token': 's' }, body: Buffer.from(JSON.stringify(n.payload)) },
    { secret: 's', branch: 'main' },
  );
  if (out.result !== 'comment') throw new Error(out.message);
  return out.event;
}

const replies = () => forge.list(KEY).map((c) => c.body);

/** GitLab's documented merge request event, on this project, into `target`, as the daemon parses it. */
function mergeRequest(target: string, retargetedFrom?: string): PullRequestEvent {
  const m = JSON.parse(
    readFileSync('test/fixtures/gitlab-webhooks/merge-request.json', 'utf8'),
  ) as { payload: Record<string, any> }; // eslint-disable-line @typescript-eslint/no-explicit-any
  if (retargetedFrom !== undefined) {
    // GitLab's `update` of a new target branch: no `oldrev` (no new commits), `changes` names it.
    m.payload.object_attributes.action = 'update';
    m.payload.changes = { target_branch: { previous: retargetedFrom, current: target } };
  }
  m.payload.object_attributes.target_branch = target;
  m.payload.object_attributes.iid = 1;
  m.payload.object_attributes.last_commit.id = 'a'.repeat(40);
  m.payload.project.path_with_namespace = 'group/project';
  m.payload.project.web_url = `${forge.url}/gitlab/group/project`;
  const out = handleGitlabWebhook(
    { headers: { 'x-gitlab-token': 's' }, body: Buffer.from(JSON.stringify(m.payload)) },
    { secret: 's', branch: 'main' },
  );
  if (out.result !== 'pull_request') throw new Error(out.message);
  return out.event;
}

describe('GitLab under a relative URL root (https://host/gitlab)', () => {
  it('a merge request event: the plan comment lands on the project, through ROOT/api/v4', async () => {
    const { prs } = side();
    const head = 'a'.repeat(40);
    forge.heads.set(KEY, head);
    const event: PullRequestEvent = {
      provider: 'gitlab',
      repository: 'group/project',
      webUrl: `${forge.url}/gitlab/group/project`,
      number: 1,
      headSha: head,
      headRef: 'feature',
      action: 'open',
    };
    // No Git server here: the plan fails to fetch, and says so in the comment.
    await prs.onPullRequest!(event).catch(() => undefined);
    await until('the plan comment', () => forge.list(KEY).length === 1);
    expect(forge.list(KEY)[0]!.body).toContain('poolsync could not plan this commit');
    expect(forge.statuses.map((s) => s.sha)).toContain(head);
    // Git's own requests (the fetch, answered 404 here) aside, every call went to the API.
    const paths = forge.requests
      .map((q) => new URL(q.url, forge.url).pathname)
      .filter((p) => !p.includes('.git/'));
    expect(paths.filter((p) => !p.startsWith('/gitlab/api/v4/'))).toEqual([]);
    expect(paths).toContain('/gitlab/api/v4/projects/group%2Fproject/merge_requests/1/notes');
    for (const f of prs.forges.values()) await f.forge.close();
  });

  it('a note: the approval reads the member, the merge request and answers on the project', async () => {
    const { prs, approvals } = side();
    forge.gitlabAccess.set(1, 30);
    await prs.onComment!(note('poolsync apply'));
    expect(replies()).toEqual([
      expect.stringMatching(
        /approval by @root refused: no plan of this pull request has been posted/,
      ),
    ]);
    expect(approvals.status().lastRefused).toMatchObject({ approver: 'root', via: 'gitlab' });
    const paths = forge.requests.map((q) => new URL(q.url, forge.url).pathname);
    expect(paths).toEqual([
      '/gitlab/api/v4/projects/group%2Fproject/members/all/1',
      '/gitlab/api/v4/projects/group%2Fproject/merge_requests/1',
      '/gitlab/api/v4/projects/group%2Fproject/merge_requests/1/notes',
    ]);
    for (const f of prs.forges.values()) await f.forge.close();
  });
});

describe("a GitLab approval takes the merge request's state and author from the API", () => {
  it('open in the note event, closed as the API reads it: refused', async () => {
    const { prs, approvals } = side();
    forge.gitlabAccess.set(1, 30);
    forge.closed.add(KEY);
    await prs.onComment!(note('poolsync apply', { state: 'opened' }));
    expect(replies()).toEqual([
      expect.stringMatching(/approval by @root refused: the pull request is not open/),
    ]);
    expect(approvals.status().granted).toEqual([]);
    for (const f of prs.forges.values()) await f.forge.close();
  });

  it('the merge request’s author may not approve it; --allow-self-approval lets her', async () => {
    forge.gitlabAccess.set(1, 40);
    forge.authors.set(KEY, { login: 'root', id: 1, type: 'User' });
    const strict = side();
    await strict.prs.onComment!(note('poolsync apply'));
    expect(replies()).toEqual([
      expect.stringMatching(
        /approval by @root refused: @root opened this pull request, and its author may not approve it/,
      ),
    ]);
    for (const f of strict.prs.forges.values()) await f.forge.close();
    // Allowed: past the author, to the next check (no plan was posted by this daemon).
    const lenient = side({ allowSelfApproval: true });
    await lenient.prs.onComment!(note('poolsync apply'));
    expect(replies()[1]).toMatch(/refused: no plan of this pull request has been posted/);
    for (const f of lenient.prs.forges.values()) await f.forge.close();
  });
});

describe('held changes too many to list on the merge request', () => {
  it('no comment approves them: nobody could see them all', async () => {
    forge.gitlabRoot = '';
    forge.gitlabAccess.set(1, 30);
    const head = 'c'.repeat(40);
    forge.heads.set('gitlab:gitlab-org/gitlab-test!1', head);
    const plan = heldPlan(head);
    const posted = new PostedPlans();
    posted.planned('gitlab', head, plan);
    const e = gitlabNote();
    // Shown a minute before the note was written, but not listed (buildComments' `shown`: null).
    posted.settle('gitlab', 1, head, { at: e.createdAt! - 60_000, shown: new Map([['', null]]) });
    const approvals = new Approvals();
    const forgeApi = createApprovalForge({
      provider: 'gitlab',
      apiUrl: forge.url,
      repository: 'gitlab-org/gitlab-test',
      token: forge.token,
    });
    try {
      await commentApprovalHandler({
        posted,
        forges: new Map([['gitlab', { repository: 'gitlab-org/gitlab-test', forge: forgeApi }]]),
        units: [
          {
            name: null,
            approvals,
            readLive: () => Promise.reject(new Error('not read: refused before')),
            request: async () => {},
          },
        ],
        logger: pino({ level: 'silent' }),
      })(e);
    } finally {
      await forgeApi.close();
    }
    expect(forge.list('gitlab:gitlab-org/gitlab-test!1').map((c) => c.body)).toEqual([
      expect.stringMatching(
        /refused: the 1 held change of this plan are more than the pull request's comments can list, so no comment approves them/,
      ),
    ]);
    expect(approvals.status().granted).toEqual([]);
  });
});

/** A plan of commit `head` deleting one cluster (held under policy safe). */
function heldPlan(head: string): Plan {
  const plan = makePlan({});
  plan.commit = head;
  plan.changes.push({
    address: 'Cluster/old',
    kind: 'Cluster',
    name: 'old',
    action: 'delete',
    before: { pool: 'prod' },
    after: null,
    diff: [],
    reason: null,
    destructive: true,
  });
  return plan;
}

/** GitLab's documented note event, as published, commanding `poolsync apply`. */
function gitlabNote(): CommentEvent {
  const n = JSON.parse(
    readFileSync('test/fixtures/gitlab-webhooks/note-merge-request.json', 'utf8'),
  ) as { payload: Record<string, any> }; // eslint-disable-line @typescript-eslint/no-explicit-any
  n.payload.object_attributes.note = 'poolsync apply';
  const out = handleGitlabWebhook(
    { headers: { 'x-gitlab-token': 's' }, body: Buffer.from(JSON.stringify(n.payload)) },
    { secret: 's', branch: 'main' },
  );
  if (out.result !== 'comment') throw new Error(out.message);
  return out.event;
}

describe('a GitLab approval is of its merge request, merged (docs/daemon.md#approvals)', () => {
  const FP = `sha256:${'e'.repeat(64)}`;
  const head = 'a'.repeat(40);
  /** GitLab's documented merge request event, as `action` on !1 at `sha`. */
  function mergeRequest(action: string, sha: string, oldrev?: string): PullRequestEvent {
    const m = JSON.parse(readFileSync('test/fixtures/gitlab-webhooks/merge-request.json', 'utf8'))
      .payload as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
    m.project.path_with_namespace = 'group/project';
    m.project.web_url = `${forge.url}/gitlab/group/project`;
    Object.assign(m.object_attributes, { action, iid: 1, oldrev });
    m.object_attributes.last_commit.id = sha;
    const out = handleGitlabWebhook(
      { headers: { 'x-gitlab-token': 's' }, body: Buffer.from(JSON.stringify(m)) },
      { secret: 's', branch: 'main' },
    );
    if (out.result !== 'pull_request') throw new Error(out.message);
    return out.event;
  }
  function granted() {
    const { prs, approvals } = side();
    const pullRequest = { provider: 'gitlab' as const, number: 1, head };
    const source = 'gitlab:group/project!1';
    approvals.approve(
      { fingerprint: FP, approver: 'carol', via: 'gitlab', source, pullRequest },
      true,
    );
    // Nothing planned here: the plan handler's own work (a fetch) is not this test's.
    const event = (e: PullRequestEvent) => prs.onPullRequest!(e).catch(() => undefined);
    return { approvals, event };
  }

  it('new commits (`update` with oldrev) or a close without merge withdraw it, said once in a reply; a merge keeps it', async () => {
    const replies = () =>
      forge
        .list(KEY)
        .map((n) => n.body)
        .filter((b) => b.startsWith('**poolsync**'));
    let { approvals, event } = granted();
    forge.heads.set(KEY, 'b'.repeat(40));
    const update = mergeRequest('update', 'b'.repeat(40), head);
    await event(update);
    expect(approvals.status().granted).toEqual([]);
    expect(replies()).toEqual([
      '**poolsync**: the approval by @carol was withdrawn: the pull request got new commits (now at bbbbbbbbbbbb), so nothing approved before is applied. To apply the held changes, wait for the plan comment of the new commit, review it, then comment `poolsync apply` to approve the new plan.',
    ]);
    // Redelivered: nothing is left to withdraw, nothing is said again.
    await event(update);
    expect(replies()).toHaveLength(1);
    ({ approvals, event } = granted());
    await event(mergeRequest('close', head));
    expect(approvals.status().granted).toEqual([]);
    expect(replies()[1]).toBe(
      '**poolsync**: the approval by @carol was withdrawn: the pull request was closed without merge, so nothing approved before is applied. To apply the held changes, reopen it (or open another), review its plan comment, then comment `poolsync apply` to approve the new plan.',
    );
    ({ approvals, event } = granted());
    await event(mergeRequest('merge', head));
    expect(approvals.status().granted).toMatchObject([{ approver: 'carol' }]);
    expect(replies()).toHaveLength(2);
  });

  it('a run reads the merge request when it would use the approval: new commits or a close no event told this replica of (another replica took it, or it was lost) withdraw it, said once in a reply', async () => {
    const replies = () =>
      forge
        .list(KEY)
        .map((n) => n.body)
        .filter((b) => b.startsWith('**poolsync**'));
    let { approvals, event } = granted();
    forge.heads.set(KEY, head);
    // An event shows the daemon the URL root it reads the API at; none withdraws anything.
    await event(mergeRequest('approved', head));
    const main = 'c'.repeat(40);
    // The run's commit contains the approved head: only the forge's answer keeps it unused.
    const contains = () => Promise.resolve(true);
    forge.heads.set(KEY, 'b'.repeat(40));
    const withdrawn = `carol's approval on gitlab:group/project!1 was withdrawn: the pull request got new commits (now at bbbbbbbbbbbb); approve the changes held now (a \`poolsync apply\` comment on the pull request that makes them, or \`poolsync approve\`)`;
    expect(await approvals.take(FP, main, contains)).toEqual({ approval: null, why: [withdrawn] });
    expect(approvals.status().granted).toEqual([]);
    const moved =
      '**poolsync**: the approval by @carol was withdrawn: the pull request got new commits (now at bbbbbbbbbbbb), so nothing approved before is applied. To apply the held changes, wait for the plan comment of the new commit, review it, then comment `poolsync apply` to approve the new plan.';
    await until('the withdrawal reply', () => replies().length === 1);
    expect(replies()).toEqual([moved]);
    // The next run, and the event arriving late, say nothing more on the merge request.
    expect((await approvals.take(FP, main, contains)).why).toEqual([withdrawn]);
    await event(mergeRequest('update', 'b'.repeat(40), head));

    ({ approvals, event } = granted());
    forge.heads.set(KEY, head);
    await event(mergeRequest('approved', head));
    forge.closed.add(KEY);
    expect((await approvals.take(FP, main, contains)).why).toEqual([
      `carol's approval on gitlab:group/project!1 was withdrawn: the pull request was closed without merge; approve the changes held now (a \`poolsync apply\` comment on the pull request that makes them, or \`poolsync approve\`)`,
    ]);
    await until('the second withdrawal reply', () => replies().length === 2);
    expect(replies()).toEqual([
      moved,
      '**poolsync**: the approval by @carol was withdrawn: the pull request was closed without merge, so nothing approved before is applied. To apply the held changes, reopen it (or open another), review its plan comment, then comment `poolsync apply` to approve the new plan.',
    ]);
    // Reopened at the approved head: withdrawn stays withdrawn (approve again).
    forge.closed.delete(KEY);
    expect((await approvals.take(FP, main, contains)).approval).toBeNull();
  });

  it('a late or redelivered `update` of an older commit withdraws nothing granted at the head the merge request is at', async () => {
    const { approvals, event } = granted();
    forge.heads.set(KEY, head);
    await event(mergeRequest('update', 'c'.repeat(40), 'd'.repeat(40)));
    expect(approvals.status().granted).toMatchObject([{ approver: 'carol' }]);
  });

  it('squashed: the run whose commit contains the merge commit GitLab reports applies it, no other', async () => {
    const { approvals, event } = granted();
    forge.heads.set(KEY, head);
    // An event (a reviewer's approval on GitLab) shows the daemon the URL root it reads the API at.
    await event(mergeRequest('approved', head));
    const main = 'c'.repeat(40);
    const squash = 'd'.repeat(40);
    // The run's commit contains `squash` (and not the approved head: it was squashed).
    const contains = (ancestor: string) => Promise.resolve(ancestor === squash);
    const open = await approvals.take(FP, main, contains);
    expect(open.approval).toBeNull();
    expect(open.why).toEqual([
      `carol's approval on gitlab:group/project!1 approves that pull request merged, and commit ${main.slice(0, 12)} does not contain its approved commit ${head.slice(0, 12)}, nor is it merged: merge it, or approve the changes held now (a \`poolsync apply\` comment on the pull request that makes them, or \`poolsync approve\`)`,
    ]);
    forge.merged.set(KEY, squash);
    const merged = await approvals.take(FP, main, contains);
    expect(merged.approval).toMatchObject({ approver: 'carol', source: 'gitlab:group/project!1' });
  });
});

describe('a merge request into another branch than the followed one', () => {
  it('is not planned: its note says so, no status, no fetch (it was planned, with a status promising an apply on merge)', async () => {
    const { prs } = side();
    forge.heads.set(KEY, 'a'.repeat(40));
    await prs.onPullRequest!(mergeRequest('release'));
    expect(replies()).toEqual([
      expect.stringContaining(
        '**Not planned: this pull request merges into `release`, and this daemon follows `main`.** Merging it applies nothing.',
      ),
    ]);
    expect(forge.statuses).toEqual([]);
    expect(forge.requests.filter((q) => q.url.includes('.git/'))).toEqual([]);
    // Retargeted (an update naming a new target branch, no new commits): taken, not dropped.
    expect(mergeRequest('main', 'release')).toMatchObject({ action: 'update', baseRef: 'main' });
    for (const f of prs.forges.values()) await f.forge.close();
  });
});
