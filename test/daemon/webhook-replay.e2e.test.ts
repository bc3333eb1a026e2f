/**
 * Replay protection of the webhook receivers (docs/daemon.md#webhooks, src/daemon/deliveries.ts):
 * a delivery the daemon accepted, sent again, is answered 200 `duplicate` and queues nothing.
 * GitHub's by its X-GitHub-Delivery, GitLab's by Idempotency-Key (GitLab 17.4 and later), else
 * X-Gitlab-Event-UUID. A delivery refused for its signature or token is not remembered: the
 * genuine one with that id goes through. In process: the daemon's HTTP server, a real Git repository, recorded deliveries
 * (GitHub's from @octokit/webhooks-examples signed by GitHub's own code, GitLab's documented one).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cleanup } from '../support/cleanup.js';
import { deliverGitHub, recordedPayloads } from '../vcs/recorded.js';
import { manifests } from './fixtures.js';
import { startTestDaemon } from './harness.js';
import { TestRepo } from './helpers.js';

const GH_SECRET = 'gh-webhook-secret-replay-0123456789';
const GL_TOKEN = 'gl-webhook-token-replay-0123456789';

async function start() {
  const repo = new TestRepo();
  repo.commit(manifests());
  const h = await startTestDaemon({
    repo,
    env: { POOLSYNC_GITHUB_WEBHOOK_SECRET: GH_SECRET, POOLSYNC_GITLAB_WEBHOOK_TOKEN: GL_TOKEN },
    logLevel: 'silent',
  });
  cleanup.add(h.stop);
  await h.daemon.firstRun;
  return { ...h, repo };
}

type Answer = { status: number; body: { result: string; message: string } };
const answer = async (res: Response): Promise<Answer> => ({
  status: res.status,
  body: (await res.json()) as Answer['body'],
});

/** GitHub's recorded push, to `main` at `commit`. */
function githubPush(commit: string): Record<string, unknown> {
  const push = recordedPayloads('push').find((p) => p.ref === 'refs/heads/master')!;
  return { ...push, ref: 'refs/heads/main', after: commit };
}

/** GitLab's documented push, to `main` at `commit`, with `headers` (its delivery ids). */
function gitlabPush(
  url: string,
  commit: string,
  headers: Record<string, string>,
  token = GL_TOKEN,
) {
  const fixture = JSON.parse(
    readFileSync(join(import.meta.dirname, '../fixtures/gitlab-webhooks/push.json'), 'utf8'),
  ) as { headers: Record<string, string>; payload: Record<string, unknown> };
  return fetch(`${url}/webhooks/gitlab`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-gitlab-event': fixture.headers['X-Gitlab-Event']!,
      'x-gitlab-token': token,
      ...headers,
    },
    body: JSON.stringify({ ...fixture.payload, ref: 'refs/heads/main', after: commit }),
  });
}

const metric = async (url: string, provider: string, result: string): Promise<number> => {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = new RegExp(
    `^poolsync_webhook_deliveries_total\\{provider="${provider}",result="${result}"\\} (\\d+)$`,
    'm',
  ).exec(text);
  return Number(line?.[1] ?? 0);
};

describe('a webhook delivery sent again', { timeout: 60_000 }, () => {
  it('GitHub: the same delivery (its X-GitHub-Delivery) is a duplicate and queues nothing; a forged one is not remembered', async () => {
    const h = await start();
    const url = `${h.daemon.url}/webhooks/github`;
    const c2 = h.repo.commit(manifests({ batchRunConcurrency: 75 }));
    const delivery = '72d3162e-cc78-11e3-81ab-4c9367dc0958';
    const payload = githubPush(c2);
    expect(await answer(await deliverGitHub(url, GH_SECRET, 'push', payload, delivery))).toEqual({
      status: 202,
      body: { result: 'push', message: 'reconcile queued' },
    });
    // The run the delivery asked for, then a manual one: each its own.
    await h.daemon.reconcile('manual');
    expect((await h.cp.getQueue('batch')).run_concurrency).toBe(75);
    const before = h.daemon.status().lastRun!.id;

    const again = await answer(await deliverGitHub(url, GH_SECRET, 'push', payload, delivery));
    expect(again.status).toBe(200);
    expect(again.body.result).toBe('duplicate');
    expect(again.body.message).toMatch(
      new RegExp(
        `^delivery ${delivery} was received already, at \\d{4}-.*: nothing is done again$`,
      ),
    );
    // Nothing was queued: the next run is the manual one alone.
    await h.daemon.reconcile('manual');
    expect(h.daemon.status().lastRun).toMatchObject({ id: before + 1, trigger: ['manual'] });
    expect(await metric(h.daemon.url, 'github', 'duplicate')).toBe(1);
    expect(await metric(h.daemon.url, 'github', 'push')).toBe(1);

    // A forged delivery under a new id is refused and not remembered: the genuine one goes through.
    const c3 = h.repo.commit(manifests({ batchRunConcurrency: 80 }));
    const next = 'a1b2c3d4-0000-4000-8000-000000000003';
    const forged = await deliverGitHub(url, 'not-the-secret', 'push', githubPush(c3), next);
    expect(forged.status).toBe(401);
    const genuine = await answer(await deliverGitHub(url, GH_SECRET, 'push', githubPush(c3), next));
    expect(genuine).toMatchObject({ status: 202, body: { result: 'push' } });
    await h.daemon.reconcile('manual');
    expect((await h.cp.getQueue('batch')).run_concurrency).toBe(80);
  });

  it('GitLab: by Idempotency-Key when it sends one, else by X-Gitlab-Event-UUID; a wrong token is not remembered', async () => {
    const h = await start();
    const c2 = h.repo.commit(manifests({ batchRunConcurrency: 75 }));
    const uuid = { 'x-gitlab-event-uuid': '13792a34-cac6-4fda-95a8-c58e00a3954e' };
    expect((await answer(await gitlabPush(h.daemon.url, c2, uuid))).body.result).toBe('push');
    await h.daemon.reconcile('manual');
    const before = h.daemon.status().lastRun!.id;
    const again = await answer(await gitlabPush(h.daemon.url, c2, uuid));
    expect(again).toEqual({
      status: 200,
      body: {
        result: 'duplicate',
        message: expect.stringMatching(
          /^delivery 13792a34-cac6-4fda-95a8-c58e00a3954e was received already, at /,
        ),
      },
    });
    await h.daemon.reconcile('manual');
    expect(h.daemon.status().lastRun).toMatchObject({ id: before + 1, trigger: ['manual'] });

    // GitLab 17.4 and later: Idempotency-Key stays the same across retries, the event UUID need not.
    const key = 'c4fd4f1a-55ba-4f8d-9b0e-3d5a5b4c2a11';
    const first = await gitlabPush(h.daemon.url, c2, {
      'idempotency-key': key,
      'x-gitlab-event-uuid': 'e0000000-0000-4000-8000-000000000001',
    });
    expect((await answer(first)).body.result).toBe('push');
    const retry = await gitlabPush(h.daemon.url, c2, {
      'idempotency-key': key,
      'x-gitlab-event-uuid': 'e0000000-0000-4000-8000-000000000002',
    });
    expect((await answer(retry)).body.result).toBe('duplicate');
    // Another id is another delivery, whatever its body (GitLab's Test button can send one
    // sample body more than once).
    const test = await gitlabPush(h.daemon.url, c2, { 'idempotency-key': crypto.randomUUID() });
    expect((await answer(test)).body.result).toBe('push');

    // A wrong token is 401 and leaves no trace of its id.
    const fresh = { 'idempotency-key': '9d0c6a3e-3f4b-4a8e-9a4e-6b7c8d9e0f10' };
    expect((await gitlabPush(h.daemon.url, c2, fresh, 'wrong-token')).status).toBe(401);
    expect((await answer(await gitlabPush(h.daemon.url, c2, fresh))).body.result).toBe('push');
    expect(await metric(h.daemon.url, 'gitlab', 'duplicate')).toBe(2);
    expect(await metric(h.daemon.url, 'gitlab', 'push')).toBe(4);
  });
});
