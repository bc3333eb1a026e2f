/**
 * Approvers per environment and an approval checked against the pull request as it is when
 * granted (issue 74 items 3 and 4; docs/daemon.md#approvers). Against the local GitHub API held
 * to GitHub's OpenAPI description (team memberships included, every answer and request checked)
 * and the local GitLab API as GitLab documents it (group members, inherited ones included): the
 * plan is posted by the real publisher (src/vcs/publish.ts), the comment events are the
 * recorded deliveries, and `poolsync apply -e production` goes through the daemon's approval
 * handler, which asks the forges over real sockets.
 */
import { readFileSync } from 'node:fs';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EmbeddedControlPlane } from '../../src/controlplane/embedded/embedded.js';
import { readLiveState } from '../../src/controlplane/types.js';
import { Approvals } from '../../src/daemon/approvals.js';
import { commentApprovalHandler, PostedPlans } from '../../src/daemon/pull-requests.js';
import { handleGithubWebhook, handleGitlabWebhook } from '../../src/daemon/webhooks.js';
import type { ApproverRules } from '../../src/model/desired.js';
import type { LiveState } from '../../src/model/live.js';
import type { Plan } from '../../src/model/plan.js';
import { liveFingerprint } from '../../src/plan/fingerprint.js';
import { splitHeld } from '../../src/plan/hold.js';
import { createApprovalForge } from '../../src/vcs/forges.js';
import { publishPlan } from '../../src/vcs/publish.js';
import type { CommentEvent, Provider } from '../../src/vcs/types.js';
import { forgeProblems } from '../support/github-openapi.js';
import { FakeForge, type Account } from '../support/fake-forge.js';
import { makePlan } from '../vcs/plan-fixture.js';
import { issueCommentPayload, userId } from '../vcs/recorded.js';

const RULES: ApproverRules = {
  production: { approve: ['team:acme/sre', 'group:acme/platform'] },
};

let forge: FakeForge;
let cp: EmbeddedControlPlane;
let live: LiveState;
beforeEach(async () => {
  forge = await new FakeForge().start();
  cp = await EmbeddedControlPlane.open({ path: null });
  live = await readLiveState(cp);
});
afterEach(async () => {
  await forge.stop();
  await cp.close();
});

/** A plan of `head` deleting three clusters (all held under policy `safe`) against `live`. */
function threeDeletes(head: string): Plan {
  const plan = makePlan({});
  plan.commit = head;
  plan.live_fingerprint = liveFingerprint(live);
  for (const name of ['gpu-a', 'gpu-b', 'gpu-c'])
    plan.changes.push({
      address: `Cluster/${name}`,
      kind: 'Cluster',
      name,
      action: 'delete',
      before: { pool: 'prod' },
      after: null,
      diff: [],
      reason: null,
      destructive: true,
    });
  return plan;
}

/** One pull request with production's plan posted by the publisher, and the approval handler. */
async function setup(
  provider: Provider,
  repository: string,
  rules: ApproverRules | 'unread' = RULES,
) {
  const number = 7;
  const head = 'c'.repeat(40);
  forge.heads.set(key(provider, repository), head);
  const plan = threeDeletes(head);
  const posted = new PostedPlans();
  posted.planned(provider, head, plan, 'production');
  const { fingerprint, held } = splitHeld(plan);
  const command = 'poolsync apply -e production';
  const refusedBy: string[] = [];
  const approvals = new Approvals((result, _via, rule) => rule && refusedBy.push(rule), {
    environment: 'production',
    fromRepository: true,
  });
  if (rules !== 'unread') approvals.setApprovers(rules);
  // As the daemon's planner notes it (pull-requests.ts withHeld): who may approve.
  const rule = approvals.ruleOf('approve');
  const approvers = rule && rule !== 'unread' ? { approvers: rule } : {};
  await publishPlan({
    provider,
    apiUrl: forge.url,
    repository,
    token: forge.token,
    number,
    commit: head,
    outcome: {
      kind: 'environments',
      environments: [
        {
          name: 'production',
          outcome: {
            kind: 'plan',
            plan,
            held: { fingerprint: fingerprint!, changes: held, command, ...approvers },
          },
        },
      ],
    },
    onCommentPosted: (p) => posted.settle(provider, number, head, p),
  });
  const api = createApprovalForge({ provider, apiUrl: forge.url, repository, token: forge.token });
  const handler = commentApprovalHandler({
    posted,
    forges: new Map([[provider, { repository, forge: api }]]),
    units: [
      { name: 'production', approvals, readLive: async () => live, request: async () => {} },
      {
        name: 'staging',
        approvals: new Approvals(),
        readLive: async () => live,
        request: async () => {},
      },
    ],
    logger: pino({ level: 'silent' }),
  });
  return { handler, approvals, refusedBy, fingerprint: fingerprint!, close: () => api.close() };
}

const key = (provider: Provider, repository: string) =>
  provider === 'github' ? `github:${repository}#7` : `gitlab:${repository}!7`;
const replies = (provider: Provider, repository: string) =>
  forge
    .list(key(provider, repository))
    .filter((c) => c.body.startsWith('**poolsync**'))
    .map((c) => c.body);

/** GitHub's recorded `issue_comment` delivery by `login`, as the daemon parses it. */
function githubComment(login: string, body = 'poolsync apply -e production'): CommentEvent {
  const payload = issueCommentPayload({ repository: 'acme/cfg', number: 7, login, body });
  const out = handleGithubWebhook(
    {
      headers: { 'x-github-event': 'issue_comment', 'content-type': 'application/json' },
      body: Buffer.from(JSON.stringify(payload)),
    },
    { secret: 's', branch: 'main', verified: true },
  );
  if (out.result !== 'comment') throw new Error(out.message);
  return out.event;
}

/** GitLab's documented note event by user `id`, a second after everything posted so far. */
function gitlabNote(id: number, body = 'poolsync apply -e production'): CommentEvent {
  const n = JSON.parse(
    readFileSync('test/fixtures/gitlab-webhooks/note-merge-request.json', 'utf8'),
  ) as { payload: Record<string, any> }; // eslint-disable-line @typescript-eslint/no-explicit-any
  n.payload.object_attributes.note = body;
  n.payload.object_attributes.created_at = new Date(Math.ceil((Date.now() + 1) / 1000) * 1000)
    .toISOString()
    .replace(/\.\d+Z$/, 'Z');
  n.payload.project.path_with_namespace = 'acme/cfg';
  n.payload.merge_request.iid = 7;
  n.payload.user.id = id;
  n.payload.user.username = `user${id}`;
  const out = handleGitlabWebhook(
    { headers: { 'x-gitlab-token': 's' }, body: Buffer.from(JSON.stringify(n.payload)) },
    { secret: 's', branch: 'main' },
  );
  if (out.result !== 'comment') throw new Error(out.message);
  return out.event;
}

/** poolsync's plan comment edited by `account` through the GitHub API, as a writer can. */
async function editAs(account: Account, id: number, body: string): Promise<void> {
  const res = await fetch(`${forge.url}/repos/acme/cfg/issues/comments/${id}`, {
    method: 'PATCH',
    headers: {
      authorization: `Bearer ${forge.tokenOf(account)}`,
      'content-type': 'application/json',
    },
    body: JSON.stringify({ body }),
  });
  expect(res.status).toBe(200);
}

describe('GitHub: approvers of production are a team', () => {
  it('a writer outside the team is refused naming the rule; an active member is granted; a pending one is not', async () => {
    const s = await setup('github', 'acme/cfg');
    try {
      for (const login of ['bob', 'carol', 'dave']) forge.githubPermissions.set(login, 'write');
      forge.githubTeams.set(
        'acme/sre',
        new Map([
          ['carol', 'active'],
          ['dave', 'pending'],
        ]),
      );

      // The plan comment says who may.
      expect(forge.list('github:acme/cfg#7')[0]!.body).toContain(
        'A user with write permission who is one of `team:acme/sre`, `group:acme/platform` (`approvers.production.approve` in poolsync.yaml) approves exactly them by commenting `poolsync apply -e production`',
      );
      await s.handler(githubComment('bob'));
      expect(replies('github', 'acme/cfg')).toEqual([
        '**poolsync**: approval by @bob refused: @bob may not approve held changes in environment production: approvers.production.approve (poolsync.yaml of the followed branch) names team:acme/sre, group:acme/platform, and @bob is none of them',
      ]);
      await s.handler(githubComment('dave'));
      expect(replies('github', 'acme/cfg')[1]).toMatch(/@dave may not approve held changes/);
      expect(s.approvals.status().granted).toEqual([]);
      expect(s.approvals.status().lastRefused).toMatchObject({
        approver: 'dave',
        rule: 'approvers.production.approve',
      });
      expect(s.refusedBy).toEqual(['approvers.production.approve', 'approvers.production.approve']);

      await s.handler(githubComment('carol'));
      expect(replies('github', 'acme/cfg')[2]).toContain(
        '**poolsync**: approved by @carol (write; team:acme/sre, approvers.production.approve): the 3 held changes of the plan of environment production',
      );
      expect(s.approvals.status().granted).toEqual([
        expect.objectContaining({
          fingerprint: s.fingerprint,
          approver: 'carol',
          rule: 'approvers.production.approve',
          principal: 'team:acme/sre',
        }),
      ]);
      // Who may approve, as /status and the dashboard show it.
      expect(s.approvals.status().approvers).toEqual({
        rule: 'approvers.production.approve',
        principals: ['team:acme/sre', 'group:acme/platform'],
      });
      // The team membership API asked as GitHub documents it, every answer as it describes.
      const asked = forge.requests.map((q) => `${q.method} ${q.url}`);
      expect(asked).toContain('GET /api/v3/orgs/acme/teams/sre/memberships/carol');
      expect(asked).toContain('GET /api/v3/orgs/acme/teams/sre/memberships/bob');
      // A group is GitLab's: never asked of GitHub.
      expect(asked.filter((a) => a.includes('/groups/'))).toEqual([]);
      expect(forgeProblems(forge)).toEqual([]);
    } finally {
      await s.close();
    }
  });

  it("the PR's author edits the plan comment to hide one of three held deletes; another writer's approval grants nothing", async () => {
    const s = await setup('github', 'acme/cfg');
    try {
      forge.githubPermissions.set('carol', 'write');
      forge.githubTeams.set('acme/sre', new Map([['carol', 'active']]));
      const author: Account = { login: 'mallory', id: userId('mallory'), type: 'User' };
      forge.githubPermissions.set('mallory', 'write');
      const plan = forge.list('github:acme/cfg#7')[0]!;
      expect(plan.body).toContain('`delete Cluster/gpu-c`');
      await editAs(author, plan.id, plan.body.replace('- `delete Cluster/gpu-c`\n', ''));

      await s.handler(githubComment('carol'));
      expect(replies('github', 'acme/cfg')).toEqual([
        expect.stringMatching(
          /^\*\*poolsync\*\*: approval by @carol refused: poolsync's plan comment was edited at .* after poolsync posted it, so the plan on the pull request may not be the one poolsync posted, and nothing is approved/,
        ),
      ]);
      expect(s.approvals.status().granted).toEqual([]);
      expect(forgeProblems(forge)).toEqual([]);
    } finally {
      await s.close();
    }
  });

  it('the plan comment deleted before the approval: nothing is granted, and the reply says why', async () => {
    const s = await setup('github', 'acme/cfg');
    try {
      forge.githubPermissions.set('carol', 'write');
      forge.githubTeams.set('acme/sre', new Map([['carol', 'active']]));
      const plan = forge.list('github:acme/cfg#7')[0]!;
      const res = await fetch(`${forge.url}/repos/acme/cfg/issues/comments/${plan.id}`, {
        method: 'DELETE',
        headers: { authorization: `Bearer ${forge.token}` },
      });
      expect(res.status).toBe(204);
      await s.handler(githubComment('carol'));
      expect(replies('github', 'acme/cfg')).toEqual([
        expect.stringMatching(/refused: poolsync's plan comment was deleted, so the plan/),
      ]);
      expect(s.approvals.status().granted).toEqual([]);
    } finally {
      await s.close();
    }
  });

  it('a token that may not read the teams: nothing is approved, and the reply names the permission', async () => {
    const s = await setup('github', 'acme/cfg');
    try {
      forge.githubPermissions.set('carol', 'write');
      forge.faults.push({
        match: /^GET \/api\/v3\/orgs\/acme\/teams\/sre\/memberships\/carol$/,
        status: 403,
        body: {
          message: 'Resource not accessible by integration',
          documentation_url: 'https://docs.github.com/rest',
          status: '403',
        },
      });
      await s.handler(githubComment('carol'));
      expect(replies('github', 'acme/cfg')).toEqual([
        "**poolsync**: approval by @carol refused: it could not be checked (GitHub refused to read whether carol is in team:acme/sre (403): the token needs to read the organization's teams (classic token: read:org; fine-grained token or GitHub App: organization Members: read)), and an unchecked comment approves nothing. Comment again.",
      ]);
      expect(s.approvals.status().granted).toEqual([]);
      expect(forgeProblems(forge)).toEqual([]);
    } finally {
      await s.close();
    }
  });

  it('without a rule for the environment, a writer approves as before', async () => {
    const s = await setup('github', 'acme/cfg', { staging: ['nobody'] });
    try {
      forge.githubPermissions.set('bob', 'write');
      await s.handler(githubComment('bob'));
      expect(replies('github', 'acme/cfg')[0]).toContain('approved by @bob (write)');
      expect(s.approvals.status().approvers).toBeNull();
    } finally {
      await s.close();
    }
  });
});

describe('GitLab: approvers of production are a group', () => {
  it('a member through a parent group (inherited) is granted; a Developer outside it is refused', async () => {
    const s = await setup('gitlab', 'acme/cfg');
    try {
      forge.gitlabAccess.set(7, 30);
      forge.gitlabAccess.set(8, 40);
      // User 7 is a Developer of `acme`, hence of acme/platform (members/all: inherited).
      forge.gitlabGroups.set('acme', new Map([[7, 30]]));

      await s.handler(gitlabNote(8));
      expect(replies('gitlab', 'acme/cfg')).toEqual([
        '**poolsync**: approval by @user8 refused: @user8 may not approve held changes in environment production: approvers.production.approve (poolsync.yaml of the followed branch) names team:acme/sre, group:acme/platform, and @user8 is none of them',
      ]);
      await s.handler(gitlabNote(7));
      expect(replies('gitlab', 'acme/cfg')[1]).toContain(
        'approved by @user7 (developer (30); group:acme/platform, approvers.production.approve)',
      );
      const asked = forge.requests.map((q) => new URL(q.url, forge.url).pathname);
      expect(asked).toContain('/api/v4/groups/acme%2Fplatform/members/all/7');
      expect(asked.filter((a) => a.includes('/orgs/'))).toEqual([]);
    } finally {
      await s.close();
    }
  });

  it('poolsync’s note edited (its own token: a maintainer) before the approval: nothing is granted', async () => {
    const s = await setup('gitlab', 'acme/cfg');
    try {
      forge.gitlabAccess.set(7, 30);
      forge.gitlabGroups.set('acme/platform', new Map([[7, 30]]));
      const plan = forge.list('gitlab:acme/cfg!7')[0]!;
      const res = await fetch(
        `${forge.url}/api/v4/projects/acme%2Fcfg/merge_requests/7/notes/${plan.id}`,
        {
          method: 'PUT',
          headers: { 'private-token': forge.token, 'content-type': 'application/json' },
          body: JSON.stringify({ body: plan.body.replace('- `delete Cluster/gpu-c`\n', '') }),
        },
      );
      expect(res.status).toBe(200);
      await s.handler(gitlabNote(7));
      expect(replies('gitlab', 'acme/cfg')).toEqual([
        expect.stringMatching(/refused: poolsync's plan comment was edited/),
      ]);
      expect(s.approvals.status().granted).toEqual([]);
    } finally {
      await s.close();
    }
  });
});

describe('GitLab: the plan note deleted before the approval', () => {
  it('(a maintainer may delete any note) nothing is granted, and the reply says why', async () => {
    const s = await setup('gitlab', 'acme/cfg');
    try {
      forge.gitlabAccess.set(7, 30);
      forge.gitlabGroups.set('acme/platform', new Map([[7, 30]]));
      const plan = forge.list('gitlab:acme/cfg!7')[0]!;
      const res = await fetch(
        `${forge.url}/api/v4/projects/acme%2Fcfg/merge_requests/7/notes/${plan.id}`,
        { method: 'DELETE', headers: { 'private-token': forge.token } },
      );
      expect(res.status).toBe(204);
      await s.handler(gitlabNote(7));
      expect(replies('gitlab', 'acme/cfg')).toEqual([
        expect.stringMatching(/refused: poolsync's plan comment was deleted/),
      ]);
      expect(s.approvals.status().granted).toEqual([]);
    } finally {
      await s.close();
    }
  });
});

describe('before the followed branch is loaded', () => {
  it('who may approve is unknown: a comment approves nothing, and says so', async () => {
    const s = await setup('github', 'acme/cfg', 'unread');
    try {
      forge.githubPermissions.set('carol', 'write');
      await s.handler(githubComment('carol'));
      expect(replies('github', 'acme/cfg')).toEqual([
        expect.stringMatching(
          /refused: who may approve held changes is not known yet: the daemon has not loaded a valid commit/,
        ),
      ]);
      expect(s.approvals.status().granted).toEqual([]);
      expect(s.approvals.status()).not.toHaveProperty('approvers');
    } finally {
      await s.close();
    }
  });
});
