/**
 * A delivery from a repository the daemon does not follow (an organisation's or group's webhook
 * sends every repository's events with one secret) is answered 202 `ignored`, naming it and the
 * followed one, logged at info, and starts no run (docs/daemon.md#webhooks). In process: the
 * daemon's HTTP server, a real Git repository, signed recorded deliveries.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cleanup } from '../support/cleanup.js';
import { forgePerTest } from '../support/fake-forge.js';
import {
  deliverGitHub,
  issueCommentPayload,
  pullRequestPayload,
  recordedPayloads,
} from '../vcs/recorded.js';
import { manifests } from './fixtures.js';
import { startTestDaemon } from './harness.js';
import { TestRepo, tempDir } from './helpers.js';

const GH_SECRET = 'gh-webhook-secret-repository-0123456789';
const GL_TOKEN = 'gl-webhook-token-repository-0123456789';
const RECONCILE_TOKEN = 'reconcile-token-repository-0123456789';

type Answer = { status: number; body: { result: string; message: string } };
const answer = async (res: Response): Promise<Answer> => ({
  status: res.status,
  body: (await res.json()) as Answer['body'],
});
const ignoredFrom = (other: string, followed: string): Answer => ({
  status: 202,
  body: {
    result: 'ignored',
    message: `delivery for ${other}; this daemon follows ${followed}: ignored`,
  },
});

/** The daemon's info lines of webhook answers. */
const webhookLines = (logs: string[]) =>
  logs
    .map((l) => JSON.parse(l) as { level: number; msg: string })
    .filter((l) => l.msg.startsWith('webhook: '))
    .map((l) => ({ level: l.level, msg: l.msg }));

/** A run asked for now, waited on: had a delivery queued one, it ran first or with this one. */
async function reconcileNow(url: string): Promise<{ id: number; trigger: string[] }> {
  const res = await fetch(`${url}/reconcile?wait=1`, {
    method: 'POST',
    headers: { authorization: `Bearer ${RECONCILE_TOKEN}` },
  });
  expect(res.status).toBe(200);
  return ((await res.json()) as { lastRun: { id: number; trigger: string[] } }).lastRun;
}

describe('a webhook delivery for another repository', { timeout: 60_000 }, () => {
  forgePerTest();

  it('GitHub, the comment repository followed: a comment, a pull request and a push of evil/other are ignored, said at info, and run nothing', async () => {
    const repo = new TestRepo();
    const head = repo.commit(manifests());
    const h = await startTestDaemon({
      repo,
      env: { POOLSYNC_GITHUB_WEBHOOK_SECRET: GH_SECRET, POOLSYNC_RECONCILE_TOKEN: RECONCILE_TOKEN },
    });
    cleanup.add(h.stop);
    await h.daemon.firstRun;
    const before = (await reconcileNow(h.daemon.url)).id;
    const url = `${h.daemon.url}/webhooks/github`;
    const other = 'evil/other';
    const comment = issueCommentPayload({
      repository: other,
      number: 7,
      login: 'mallory',
      body: 'poolsync apply',
    });
    const pr = pullRequestPayload({
      action: 'synchronize',
      repository: other,
      number: 7,
      headSha: head,
    });
    const recorded = recordedPayloads('push').find((p) => p.ref === 'refs/heads/master')!;
    const repository = { ...(recorded.repository as object), full_name: other };
    const pushed = { ...recorded, ref: 'refs/heads/main', after: head, repository };
    const ignored = ignoredFrom(other, 'acme/cfg');
    expect(await answer(await deliverGitHub(url, GH_SECRET, 'issue_comment', comment))).toEqual(
      ignored,
    );
    expect(await answer(await deliverGitHub(url, GH_SECRET, 'pull_request', pr))).toEqual(ignored);
    expect(await answer(await deliverGitHub(url, GH_SECRET, 'push', pushed))).toEqual(ignored);
    expect(webhookLines(h.logs)).toEqual(
      Array.from({ length: 3 }, () => ({ level: 30, msg: `webhook: ${ignored.body.message}` })),
    );
    expect(await reconcileNow(h.daemon.url)).toMatchObject({ id: before + 1, trigger: ['manual'] });

    // The followed repository's push, however its name is cased, is taken.
    const ours = { ...pushed, repository: { ...repository, full_name: 'Acme/CFG' } };
    expect(await answer(await deliverGitHub(url, GH_SECRET, 'push', ours))).toEqual({
      status: 202,
      body: { result: 'push', message: 'reconcile queued' },
    });
  });
});

describe('a GitLab delivery for another project', { timeout: 60_000 }, () => {
  it('the project of --repo (a GitLab under /gitlab, known by its clone URL): another one’s push and merge request are ignored and run nothing; its own push is taken', async () => {
    const repo = new TestRepo();
    const head = repo.commit(manifests());
    // Git fetches --repo's URL from the test's bare repository (the daemon's git reads HOME).
    const remote = 'https://gitlab.example/gitlab/group/cfg.git';
    const home = tempDir('poolsync-home-');
    cleanup.add(() => rmSync(home, { recursive: true, force: true }));
    writeFileSync(join(home, '.gitconfig'), `[url "${repo.bare}"]\n\tinsteadOf = ${remote}\n`);
    const h = await startTestDaemon({
      repo,
      flags: { repo: remote },
      env: {
        HOME: home,
        POOLSYNC_GITLAB_WEBHOOK_TOKEN: GL_TOKEN,
        POOLSYNC_RECONCILE_TOKEN: RECONCILE_TOKEN,
      },
    });
    cleanup.add(h.stop);
    await h.daemon.firstRun;
    const before = (await reconcileNow(h.daemon.url)).id;
    const fixture = (name: string) =>
      (
        JSON.parse(
          readFileSync(
            join(import.meta.dirname, `../fixtures/gitlab-webhooks/${name}.json`),
            'utf8',
          ),
        ) as { payload: Record<string, unknown> }
      ).payload;
    const deliver = (payload: Record<string, unknown>) =>
      fetch(`${h.daemon.url}/webhooks/gitlab`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-gitlab-token': GL_TOKEN },
        body: JSON.stringify(payload),
      }).then(answer);
    // The documented deliveries are of other projects on example.com.
    const push = { ...fixture('push'), ref: 'refs/heads/main', after: head };
    const followed = 'gitlab/group/cfg';
    expect(await deliver(push)).toEqual(ignoredFrom('mike/diaspora', followed));
    expect(await deliver(fixture('merge-request'))).toEqual(
      ignoredFrom('gitlabhq/gitlab-test', followed),
    );
    expect(await reconcileNow(h.daemon.url)).toMatchObject({ id: before + 1, trigger: ['manual'] });

    const project = {
      path_with_namespace: 'group/cfg',
      git_http_url: remote,
      git_ssh_url: 'git@gitlab.example:gitlab/group/cfg.git',
    };
    expect(await deliver({ ...push, project })).toEqual({
      status: 202,
      body: { result: 'push', message: 'reconcile queued' },
    });
  });
});
