/**
 * An approval approves exactly what the approver saw (issue 59 item 2), end to end in process:
 * a real bare Git repository with pull-request head refs, the daemon's real HTTP server and
 * webhooks (GitHub's recorded payloads), the local GitHub API, whose every request and answer is
 * checked against GitHub's OpenAPI description (test/support/github-openapi.ts), and the
 * in-memory embedded control plane. The forge's clock is the test's: comments carry the
 * `created_at` the test gives them.
 */
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { cleanup } from '../support/cleanup.js';
import type { RunningDaemon } from '../../src/daemon/daemon.js';
import type { DaemonStatus } from '../../src/daemon/status.js';
import { codePointLength, commentMarker, heldListMarker } from '../../src/vcs/comment.js';
import { FakeForge } from '../support/fake-forge.js';
import { forgeProblems } from '../support/github-openapi.js';
import { deliverGitHub, issueCommentPayload, pullRequestPayload, userId } from '../vcs/recorded.js';
import { manifests } from './fixtures.js';
import { TestRepo, git } from './helpers.js';
import { until } from '../support/until.js';
import { startTestDaemon } from './harness.js';
import { EmbeddedControlPlane } from '../../src/controlplane/embedded/embedded.js';

const SECRET = 'gh-webhook-secret-shown-012345678';
const GITHUB_LIMIT = 65_536;

let forge: FakeForge;
/** The forge's clock (epoch ms): it stamps comments; the test moves it. */
let now: number;
beforeEach(async () => {
  forge = await new FakeForge().start();
  now = Date.parse('2026-05-04T09:00:00Z');
  forge.now = () => now;
  cleanup.add(() => forge.stop());
  cleanup.add(() => vi.unstubAllEnvs());
  vi.stubEnv('GITHUB_TOKEN', forge.token);
  vi.stubEnv('GITHUB_API_URL', forge.url);
  vi.stubEnv('POOLSYNC_COMMENT_REPOSITORY', 'acme/cfg');
  forge.githubPermissions.set('alice', 'write');
  forge.githubPermissions.set('carol', 'write');
});

async function start(repo: TestRepo, controlPlane?: EmbeddedControlPlane) {
  const { cp, daemon, stop } = await startTestDaemon({
    repo,
    cp: controlPlane,
    env: { POOLSYNC_GITHUB_WEBHOOK_SECRET: SECRET },
    flags: { policy: 'safe' },
  });
  cleanup.add(stop);
  await daemon.firstRun;
  return { cp, daemon };
}

const hook = (daemon: RunningDaemon, event: string, payload: unknown) =>
  deliverGitHub(`${daemon.url}/webhooks/github`, SECRET, event, payload);
/** A comment by `login`, written at `written` (the forge's clock), delivered now. */
const comment = (
  daemon: RunningDaemon,
  number: number,
  login: string,
  body: string,
  written = now,
) =>
  hook(
    daemon,
    'issue_comment',
    issueCommentPayload({
      repository: 'acme/cfg',
      number,
      login,
      body,
      createdAt: new Date(written).toISOString(),
    }),
  );
const status = async (daemon: RunningDaemon) =>
  (await (await fetch(`${daemon.url}/status`)).json()) as DaemonStatus;
const comments = (number: number) => forge.list(`github:acme/cfg#${number}`);
const replies = (number: number) =>
  comments(number).filter((c) => c.body.startsWith('**poolsync**'));
const planComment = (number: number) =>
  comments(number).find((c) => c.body.startsWith(commentMarker()));
const FINGERPRINT = /holds these \d+ changes?, fingerprint `(sha256:[0-9a-f]{64})`/;

/** Pushes `head` as pull request NUMBER's head and waits for its plan and final status. */
async function pushPlan(daemon: RunningDaemon, repo: TestRepo, number: number, head: string) {
  git(repo.work, 'push', '--quiet', '--force', 'origin', `${head}:refs/pull/${number}/head`);
  forge.heads.set(`github:acme/cfg#${number}`, head);
  const res = await hook(
    daemon,
    'pull_request',
    pullRequestPayload({ action: 'synchronize', repository: 'acme/cfg', number, headSha: head }),
  );
  expect(res.status).toBe(202);
  await until('the plan comment and the commit status of the head', () =>
    forge.statuses.some((s) => s.sha === head && s.body.state !== 'pending'),
  );
  return planComment(number)!.body;
}

describe('an approval approves exactly what the approver saw (issue 59)', () => {
  it('1,500 held deletes: the comment shows their count and fingerprint and where they are; the comments after it list all; the approval reply lands', async () => {
    const gpus = Array.from({ length: 1500 }, (_, i) => `gpu-${String(i).padStart(4, '0')}`);
    const repo = new TestRepo();
    const base = repo.commit(manifests({ clusters: ['keep-1', ...gpus] }));
    const head = repo.commit(manifests({ clusters: ['keep-1'] }), 'drop the gpus', {
      replaceAll: true,
    });
    git(repo.work, 'push', '--quiet', '--force', 'origin', `${base}:main`);
    const { cp, daemon } = await start(repo);
    expect(await cp.listClusters()).toHaveLength(1501);

    const body = await pushPlan(daemon, repo, 7, head);
    expect(codePointLength(body)).toBeLessThanOrEqual(GITHUB_LIMIT);
    const fingerprint = FINGERPRINT.exec(body)![1]!;
    // Each delete, and the update of the queue it leaves empty (a held cluster's consequence).
    expect(body).toContain('holds these 3000 changes');
    expect(body).toContain('all 3000 are listed in the comments after it');
    const lists = comments(7).filter((c) => c.body.startsWith('<!-- poolsync:held'));
    expect(lists.map((c) => c.body.split('\n', 1)[0])).toEqual([
      heldListMarker('', 1),
      heldListMarker('', 2),
    ]);
    for (const list of lists) expect(codePointLength(list.body)).toBeLessThanOrEqual(GITHUB_LIMIT);
    const listed = lists.map((c) => c.body).join('\n');
    expect(listed).toContain(`3000 changes, fingerprint \`${fingerprint}\``);
    for (const g of gpus) expect(listed).toContain(`- \`delete Cluster/${g}\`\n`);

    now += 60_000;
    await comment(daemon, 7, 'alice', 'poolsync apply');
    await until('the reply', () => replies(7).length === 1);
    // The reply to 1,500 held changes (70,980 characters before) fits the limit and lands.
    const reply = replies(7)[0]!.body;
    expect(codePointLength(reply)).toBeLessThanOrEqual(GITHUB_LIMIT);
    expect(reply).toContain('approved by @alice (write): the 3000 held changes');
    expect(reply).toContain(`fingerprint \`${fingerprint}\``);
    expect((await status(daemon)).approval!.granted.map((g) => g.fingerprint)).toEqual([
      fingerprint,
    ]);
    // A plan that no longer needs the second comment removes it.
    const small = repo.commit(manifests({ clusters: ['keep-1', ...gpus.slice(3)] }), 'drop 3', {
      replaceAll: true,
    });
    now += 60_000;
    const smaller = await pushPlan(daemon, repo, 7, small);
    expect(smaller).toContain('holds these 6 changes');
    expect(comments(7).some((c) => c.body.startsWith('<!-- poolsync:held'))).toBe(false);
    expect(forgeProblems(forge)).toEqual([]);
  }, 120_000);

  it('a command in code or a quote, the author’s own approval and a comment written on an older plan approve nothing', async () => {
    const repo = new TestRepo();
    const all = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'].map((c) => `prod-${c}`);
    const base = repo.commit(manifests({ clusters: all }));
    const three = repo.commit(manifests({ clusters: all.slice(3) }), 'drop 3', {
      replaceAll: true,
    });
    const seven = repo.commit(manifests({ clusters: all.slice(7) }), 'drop 7', {
      replaceAll: true,
    });
    git(repo.work, 'push', '--quiet', '--force', 'origin', `${base}:main`);
    const { daemon } = await start(repo);
    forge.authors.set('github:acme/cfg#8', { login: 'carol', id: userId('carol'), type: 'User' });

    const first = await pushPlan(daemon, repo, 8, three);
    const threeHeld = FINGERPRINT.exec(first)![1]!;
    expect(first).toContain('holds these 6 changes'); // 3 deletes, 3 queues left empty
    now += 60_000;

    // Inside code or a quote, or below other words: no command at all (no reply either).
    for (const body of [
      'do not apply yet\n\n```\npoolsync apply\n```',
      '> poolsync apply\n\nnot before Monday',
      'not yet\npoolsync apply',
    ]) {
      const res = await comment(daemon, 8, 'alice', body);
      expect(await res.json()).toMatchObject({ result: 'ignored' });
    }
    // The pull request's author, with write permission, may not approve it.
    await comment(daemon, 8, 'carol', 'poolsync apply');
    await until('the refusal of the author', () => replies(8).length === 1);
    expect(replies(8)[0]!.body).toContain(
      'approval by @carol refused: @carol opened this pull request, and its author may not approve it',
    );

    // Alice writes `poolsync apply` while the 3-delete plan is on screen; before it is
    // delivered, a push's plan (7 deletes) replaces it.
    const written = now;
    now += 60_000;
    const second = await pushPlan(daemon, repo, 8, seven);
    const sevenHeld = FINGERPRINT.exec(second)![1]!;
    expect(second).toContain('holds these 14 changes');
    await comment(daemon, 8, 'alice', 'poolsync apply', written);
    await until('the refusal of the older plan', () => replies(8).length === 2);
    expect(replies(8)[1]!.body).toMatch(
      /approval by @alice refused: the comment was written at 2026-05-04 09:01:00 UTC, and the plan comment has shown the plan for commit [0-9a-f]{12} only since 2026-05-04 09:02:00 UTC/,
    );
    let st = await status(daemon);
    expect(st.approval!.granted).toEqual([]);
    expect(st.approval!.lastRefused).toMatchObject({ approver: 'alice', fingerprint: sevenHeld });

    // Written once the 7-delete plan is on screen: it approves exactly that one.
    now += 60_000;
    await comment(daemon, 8, 'alice', 'poolsync apply\n\nreviewed all seven');
    await until('the approval', () => replies(8).length === 3);
    expect(replies(8)[2]!.body).toContain(`fingerprint \`${sevenHeld}\``);
    st = await status(daemon);
    expect(st.approval!.granted.map((g) => g.fingerprint)).toEqual([sevenHeld]);
    expect(sevenHeld).not.toBe(threeHeld);
    expect(forgeProblems(forge)).toEqual([]);
  }, 120_000);

  it('a reply the forge does not take grants nothing, and a check the forge or the control plane cannot answer approves nothing: each says so', async () => {
    const repo = new TestRepo();
    const all = ['a', 'b', 'c', 'd'].map((c) => `prod-${c}`);
    const base = repo.commit(manifests({ clusters: all }));
    const head = repo.commit(manifests({ clusters: all.slice(1) }), 'drop 1', {
      replaceAll: true,
    });
    git(repo.work, 'push', '--quiet', '--force', 'origin', `${base}:main`);
    // A control plane whose cluster list fails while `unreadable` (part of the live state).
    const embedded = await EmbeddedControlPlane.open({ path: null });
    cleanup.add(() => embedded.close());
    let unreadable = false;
    const bound = <T extends object>(target: T, key: string | symbol): unknown => {
      const value: unknown = Reflect.get(target, key);
      return typeof value === 'function' ? (value as () => unknown).bind(target) : value;
    };
    const clusters = new Proxy(embedded.clusters!, {
      get: (target, key) =>
        unreadable && key === 'listClusters'
          ? () => Promise.reject(new Error('connect ECONNREFUSED 10.20.30.40:443'))
          : bound(target, key),
    });
    const cp = new Proxy(embedded, {
      get: (target, key) => (key === 'clusters' ? clusters : bound(target, key)),
    });
    const { daemon } = await start(repo, cp);
    const fingerprint = FINGERPRINT.exec(await pushPlan(daemon, repo, 9, head))![1]!;
    now += 60_000;

    // GitHub refuses the approving reply (its answer for a body it will not take).
    forge.faults.push({
      match: /^POST .*\/repos\/acme\/cfg\/issues\/9\/comments$/,
      status: 422,
      body: {
        message: 'Validation Failed',
        errors: [
          { resource: 'IssueComment', code: 'custom', field: 'body', message: 'body is too long' },
        ],
        documentation_url: 'https://docs.github.com/rest/issues/comments#create-an-issue-comment',
      },
    });
    await comment(daemon, 9, 'alice', 'poolsync apply');
    await until('the refusal', () => replies(9).length === 1);
    expect(replies(9)[0]!.body).toMatch(
      /^\*\*poolsync\*\*: approval by @alice refused: the forge did not take the reply that announces it \(GitHub answered HTTP 422 [^)]*Validation Failed[^)]*\), and an approval nobody is told of is not granted/,
    );
    let st = await status(daemon);
    expect(st.approval!.granted).toEqual([]);
    expect(st.approval!.lastRefused).toMatchObject({ approver: 'alice', fingerprint });

    // The pull request cannot be read: refused, not left unanswered.
    forge.faults.push({ match: /^GET .*\/repos\/acme\/cfg\/pulls\/9$/, status: 404 });
    now += 60_000;
    await comment(daemon, 9, 'alice', 'poolsync apply');
    await until('the second refusal', () => replies(9).length === 2);
    expect(replies(9)[1]!.body).toMatch(
      /approval by @alice refused: it could not be checked \(GitHub answered HTTP 404 [^)]*\), and an unchecked comment approves nothing/,
    );
    expect((await status(daemon)).approval!.granted).toEqual([]);

    // The control plane cannot be read to check the plan is current: refused, its error only
    // in the log (the pull request is read by more people than the daemon's operators).
    unreadable = true;
    now += 60_000;
    await comment(daemon, 9, 'alice', 'poolsync apply');
    await until('the third refusal', () => replies(9).length === 3);
    unreadable = false;
    expect(replies(9)[2]!.body).toContain(
      "refused: it could not be checked (the control plane could not be read: the daemon's log says why)",
    );
    expect(replies(9)[2]!.body).not.toContain('10.20.30.40');
    expect((await status(daemon)).approval!.granted).toEqual([]);

    // Once the forge answers, the same comment approves, and the reply says so.
    now += 60_000;
    await comment(daemon, 9, 'alice', 'poolsync apply');
    await until('the approval', () => replies(9).length === 4);
    expect(replies(9)[3]!.body).toContain(`approved by @alice (write)`);
    st = await status(daemon);
    expect(st.approval!.granted.map((g) => g.fingerprint)).toEqual([fingerprint]);
    expect(forgeProblems(forge)).toEqual([]);
  }, 120_000);
});
