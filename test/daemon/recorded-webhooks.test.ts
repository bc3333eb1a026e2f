/**
 * The webhook receivers against deliveries as the forges send them (issue 47): GitHub's recorded
 * payloads (npm @octokit/webhooks-examples) signed by GitHub's own code (@octokit/webhooks-methods),
 * and GitLab's documented payloads (test/fixtures/gitlab-webhooks/, each with its source). Where a
 * case needs a variant (a pull request's comment, an edited note, an update with `oldrev`), the
 * change to the recorded payload is spelled out here.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { sign } from '@octokit/webhooks-methods';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Approvals } from '../../src/daemon/approvals.js';
import { commentApprovalHandler, PostedPlans } from '../../src/daemon/pull-requests.js';
import {
  handleGithubWebhook,
  handleGitlabWebhook,
  type WebhookOutcome,
} from '../../src/daemon/webhooks.js';
import type { CommentEvent } from '../../src/vcs/types.js';
import { createApprovalForge } from '../../src/vcs/forges.js';
import { FakeForge } from '../support/fake-forge.js';
import {
  issueCommentPayload,
  pullRequestPayload,
  recordedPayloads,
  userId,
} from '../vcs/recorded.js';

const SECRET = 'recorded-webhooks-secret-0123456';

async function github(event: string, payload: unknown, branch = 'master') {
  const raw = JSON.stringify(payload);
  const headers = { 'x-github-event': event, 'x-hub-signature-256': await sign(SECRET, raw) };
  return handleGithubWebhook({ headers, body: Buffer.from(raw) }, { secret: SECRET, branch });
}

type Fixture = { source: string; headers: Record<string, string>; payload: Record<string, any> }; // eslint-disable-line @typescript-eslint/no-explicit-any
const fixture = (name: string): Fixture =>
  JSON.parse(
    readFileSync(join(import.meta.dirname, '../fixtures/gitlab-webhooks', `${name}.json`), 'utf8'),
  ) as Fixture;

function gitlab(f: Fixture, branch = 'master'): WebhookOutcome {
  const headers = { 'x-gitlab-token': SECRET, 'x-gitlab-event': f.headers['X-Gitlab-Event']! };
  return handleGitlabWebhook(
    { headers, body: Buffer.from(JSON.stringify(f.payload)) },
    { secret: SECRET, branch },
  );
}

describe("GitHub's recorded deliveries", () => {
  it('ping, and a push to the followed branch; a tag push and a branch deletion are ignored', async () => {
    expect(await github('ping', recordedPayloads('ping')[0])).toMatchObject({ status: 200 });
    const pushes = recordedPayloads('push');
    const branch = pushes.find((p) => p.ref === 'refs/heads/master')!;
    expect(await github('push', branch)).toMatchObject({
      result: 'push',
      commit: branch.after,
    });
    const tag = pushes.find((p) => p.ref === 'refs/tags/simple-tag' && p.deleted === false)!;
    expect(await github('push', tag, 'simple-tag')).toMatchObject({ result: 'ignored' });
    // The recorded deletion is of a tag; the same delivery for the followed branch.
    const deletion = { ...pushes.find((p) => p.deleted === true)!, ref: 'refs/heads/master' };
    expect(await github('push', deletion)).toMatchObject({
      result: 'ignored',
      message: expect.stringMatching(/deletes the followed branch/),
    });
  });

  it.each(['opened', 'synchronize', 'reopened', 'closed'] as const)(
    'pull_request %s: the pull request, its head and action',
    async (action) => {
      const p = recordedPayloads('pull_request', action)[0]!;
      const pr = p.pull_request as { number: number; head: { sha: string; ref: string } };
      expect(await github('pull_request', p)).toMatchObject({
        result: 'pull_request',
        event: {
          repository: 'Codertocat/Hello-World',
          number: pr.number,
          headSha: pr.head.sha,
          headRef: pr.head.ref,
          action,
        },
      });
    },
  );

  it('issue_comment: created on an issue is not a pull request comment; edited never approves', async () => {
    expect(
      await github('issue_comment', recordedPayloads('issue_comment', 'created')[0]),
    ).toMatchObject({ result: 'ignored', message: 'not a new pull request comment' });
    const on = {
      repository: 'Codertocat/Hello-World',
      number: 2,
      login: 'Codertocat',
      body: 'poolsync apply',
    };
    const at = '2019-05-15T15:20:21Z';
    expect(
      await github('issue_comment', issueCommentPayload({ ...on, createdAt: at })),
    ).toMatchObject({
      result: 'comment',
      event: {
        number: 2,
        user: { login: 'Codertocat', id: userId('Codertocat') },
        open: true,
        createdAt: Date.parse(at),
      },
    });
    expect(
      await github('issue_comment', issueCommentPayload({ ...on, action: 'edited' })),
    ).toMatchObject({ result: 'ignored' });
    expect(
      await github('issue_comment', issueCommentPayload({ ...on, state: 'closed' })),
    ).toMatchObject({ result: 'comment', event: { open: false } });
  });

  it('pull_request edited: a new base branch (a retarget) is taken with its base; another edit (a title) is ignored', async () => {
    const pr = { repository: 'a/b', number: 1, headSha: 'a'.repeat(40) } as const;
    const retarget = pullRequestPayload({ ...pr, action: 'edited', baseRef: 'release' });
    expect(await github('pull_request', retarget)).toMatchObject({ result: 'ignored' });
    retarget.changes = { base: { ref: { from: 'master' } } };
    expect(await github('pull_request', retarget)).toMatchObject({
      result: 'pull_request',
      event: { action: 'edited', baseRef: 'release' },
    });
  });

  it('a pull request payload signed by GitHub with another secret is refused', async () => {
    const raw = JSON.stringify(
      pullRequestPayload({
        action: 'opened',
        repository: 'a/b',
        number: 1,
        headSha: 'a'.repeat(40),
      }),
    );
    const out = handleGithubWebhook(
      {
        headers: {
          'x-github-event': 'pull_request',
          'x-hub-signature-256': await sign('other', raw),
        },
        body: Buffer.from(raw),
      },
      { secret: SECRET, branch: 'master' },
    );
    expect(out.status).toBe(401);
  });
});

describe("GitLab's documented deliveries", () => {
  it('push to the followed branch; a push deleting it is ignored', () => {
    const push = fixture('push');
    expect(gitlab(push)).toMatchObject({ result: 'push', commit: push.payload.after });
    // GitLab's deletion: the same event with `after` all zeros (and no checkout_sha).
    push.payload.after = '0'.repeat(40);
    push.payload.checkout_sha = null;
    expect(gitlab(push)).toMatchObject({ result: 'ignored' });
  });

  it('merge_request open plans; update with oldrev plans; update without oldrev (a label, a title) is ignored', () => {
    const mr = fixture('merge-request');
    expect(gitlab(mr)).toMatchObject({
      result: 'pull_request',
      event: {
        provider: 'gitlab',
        repository: 'gitlabhq/gitlab-test',
        number: 1,
        headSha: 'da1560886d4f094c3e6c9ef40349f7d38b5d27d7',
        headRef: 'ms-viewport',
        baseRef: 'master',
        action: 'open',
      },
    });
    mr.payload.object_attributes.action = 'update';
    expect(gitlab(mr)).toMatchObject({
      result: 'ignored',
      message: expect.stringMatching(/no oldrev/),
    });
    // A new target branch without new commits: taken, to plan or say it is not planned.
    mr.payload.changes.target_branch = { previous: 'master', current: 'release' };
    mr.payload.object_attributes.target_branch = 'release';
    expect(gitlab(mr)).toMatchObject({ result: 'pull_request', event: { baseRef: 'release' } });
    delete mr.payload.changes.target_branch;
    mr.payload.object_attributes.oldrev = '95790bf891e76fee5e1747ab589903a6a1f80f22';
    expect(gitlab(mr)).toMatchObject({ result: 'pull_request', event: { action: 'update' } });
  });

  it('note create on a merge request is a comment; note update (an edit, GitLab 16.11+) is ignored', () => {
    const note = fixture('note-merge-request');
    // As published the note is no command.
    expect(gitlab(note)).toMatchObject({
      result: 'ignored',
      message: 'comment is not a poolsync command',
    });
    note.payload.object_attributes.note = 'poolsync apply';
    expect(gitlab(note)).toMatchObject({
      result: 'comment',
      event: {
        repository: 'gitlab-org/gitlab-test',
        number: 1,
        user: { login: 'root', id: 1 },
        // GitLab's note events write `2015-05-17 18:21:36 UTC`.
        createdAt: Date.parse('2015-05-17T18:21:36Z'),
        open: true,
      },
    });
    note.payload.object_attributes.action = 'update';
    expect(gitlab(note)).toMatchObject({
      result: 'ignored',
      message: 'an edited note approves nothing',
    });
  });
});

describe('GitLab approvals by note approve nothing on a closed merge request or from a non-member', () => {
  let forge: FakeForge;
  beforeEach(async () => {
    forge = await new FakeForge().start();
  });
  afterEach(async () => {
    await forge.stop();
  });

  it('replies with the reason, records the refusal, approves nothing', async () => {
    const forgeApi = createApprovalForge({
      provider: 'gitlab',
      apiUrl: forge.url,
      repository: 'gitlab-org/gitlab-test',
      token: forge.token,
    });
    const approvals = new Approvals();
    const handle = commentApprovalHandler({
      posted: new PostedPlans(),
      forges: new Map([['gitlab', { repository: 'gitlab-org/gitlab-test', forge: forgeApi }]]),
      units: [
        {
          name: null,
          approvals,
          readLive: () => Promise.reject(new Error('not reached')),
          request: async () => {},
        },
      ],
      logger: pino({ level: 'silent' }),
    });
    const noteEvent = (state: string): CommentEvent => {
      const note = fixture('note-merge-request');
      note.payload.object_attributes.note = 'poolsync apply';
      note.payload.merge_request.state = state;
      const out = gitlab(note);
      if (out.result !== 'comment') throw new Error(out.message);
      return out.event;
    };
    try {
      await handle(noteEvent('closed'));
      await handle(noteEvent('merged'));
      await handle(noteEvent('opened')); // root is no member of the project here
      const replies = forge.list('gitlab:gitlab-org/gitlab-test!1').map((n) => n.body);
      expect(replies).toEqual([
        expect.stringMatching(/approval by @root refused: the pull request is not open/),
        expect.stringMatching(/approval by @root refused: the pull request is not open/),
        expect.stringMatching(
          /@root may not approve: .*Developer role .*\(has none \(not a member\)\)/,
        ),
      ]);
      expect(approvals.status()).toMatchObject({ granted: [], lastRefused: { approver: 'root' } });
    } finally {
      await forgeApi.close();
    }
  });
});
