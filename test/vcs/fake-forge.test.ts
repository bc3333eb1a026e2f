/**
 * The test forge answers as GitHub does (issue 47): every GitHub answer it sends, success or
 * error, is validated against the response schema GitHub's OpenAPI description gives for that
 * operation and status, and every request poolsync sends it against the request body
 * (test/support/github-openapi.ts). The answers come from
 * driving every endpoint poolsync calls through poolsync's own clients, and each of those
 * operations must have been seen.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApprovalForge } from '../../src/vcs/forges.js';
import { createPullRequestApi } from '../../src/vcs/forges.js';
import { publishPlan } from '../../src/vcs/publish.js';
import { fakeClock } from './fake-clock.js';
import { FakeForge } from '../support/fake-forge.js';
import { operationOf, problems, requestProblems } from '../support/github-openapi.js';
import { makePlan } from './plan-fixture.js';

let forge: FakeForge;
const SHA = 'd'.repeat(40);

beforeAll(async () => {
  forge = await new FakeForge().start();
  forge.pageSize = 2;
  forge.githubPermissions.set('alice', 'write');
  forge.heads.set('github:acme/cfg#7', SHA);
  forge.seed('github:acme/cfg#7', [
    'one',
    'two',
    { body: 'three', author: { login: 'eve', id: 5, type: 'User' } },
  ]);
  const plan = makePlan({ queueUpdates: 1 });
  const base = {
    provider: 'github' as const,
    apiUrl: forge.url,
    repository: 'acme/cfg',
    number: 7,
    commit: SHA,
    token: forge.token,
  };
  const fast = { maxRetries: 0, minDelayMs: 1, maxDelayMs: 1 };
  // Success: GET /user, the comments' pages (via /repositories/{id}), create, update, status.
  await publishPlan({
    ...base,
    outcome: { kind: 'plan', plan },
    retry: fast,
  });
  await publishPlan({
    ...base,
    outcome: { kind: 'invalid', errorsText: 'x.yaml:1:1: bad', errorCount: 1 },
    retry: fast,
  });
  // Errors: a body too long (422), an invalid status (422), not found (404), bad credentials (401).
  const api = createPullRequestApi({ ...base, retry: fast });
  await api.createComment('x'.repeat(70_000)).catch(() => undefined);
  await api
    .setStatus(SHA, { context: 'poolsync/plan', state: 'bogus' as 'error', description: 'x' })
    .catch(() => undefined);
  await api.updateComment(1, 'nothing here').catch(() => undefined);
  await api.deleteComment((await api.createComment('to delete')).id);
  // A commit's statuses, newest first, over two pages (pageSize 2): publishPlan's two and one more.
  await api.setStatus(SHA, { context: 'other', state: 'success', description: 'x' });
  expect((await api.statuses(SHA)).map((s) => s.context)).toEqual([
    'other',
    'poolsync/plan',
    'poolsync/plan',
  ]);
  await api.deleteComment(1).catch(() => undefined);
  await api.close();
  await publishPlan({
    ...base,
    repository: 'acme/private',
    outcome: { kind: 'error', message: 'x' },
    retry: fast,
  }).catch(() => undefined);
  await publishPlan({
    ...base,
    token: 'wrong',
    outcome: { kind: 'error', message: 'x' },
    retry: fast,
  }).catch(() => undefined);
  // The approvers' calls: a pull request (200, 404), a collaborator's permission (200, 404).
  const approvers = createApprovalForge({
    provider: 'github',
    apiUrl: forge.url,
    repository: 'acme/cfg',
    token: forge.token,
    retry: fast,
  });
  await approvers.pullRequest(7);
  forge.authors.set('github:acme/cfg#7', { login: 'alice', id: 3, type: 'User' });
  await approvers.pullRequest(7);
  await approvers.pullRequest(8).catch(() => undefined);
  await approvers.permission({ login: 'alice', id: null });
  await approvers.permission({ login: 'mallory', id: null });
  await approvers.close();
  // An installation token reading /user (403), and a used-up primary limit (403).
  const app = forge.tokenOf({
    login: 'github-actions[bot]',
    id: 41898282,
    type: 'Bot',
    installation: true,
  });
  const clock = fakeClock();
  forge.now = clock.now;
  const limited = forge.tokenOf({ login: 'limited', id: 31, type: 'User' });
  forge.exhaust(limited, clock.now() + 3_600_000);
  for (const token of [app, limited]) {
    await publishPlan({
      ...base,
      token,
      outcome: { kind: 'error', message: 'x' },
      retry: { ...fast, clock },
    }).catch(() => undefined);
  }
}, 60_000);
afterAll(async () => {
  await forge.stop();
});

describe('the test forge answers as GitHub documents (@octokit/openapi)', () => {
  it('every GitHub answer it sent is valid against its operation’s response schema', () => {
    expect(forge.githubAnswers.length).toBeGreaterThan(20);
    expect(forge.githubAnswers.flatMap(problems)).toEqual([]);
  });

  it('every request poolsync sent it is valid against its operation’s request body', () => {
    // But the one sent invalid on purpose, for the 422 above.
    expect(forge.requests.flatMap(requestProblems)).toEqual([
      expect.stringMatching(/create-commit-status request\): \/state must be equal to one of/),
    ]);
    const create = forge.requests.find((q) => q.method === 'POST' && q.url.endsWith('/comments'))!;
    expect(requestProblems({ ...create, body: { text: 'x' } }).join('\n')).toMatch(
      /required property 'body'/,
    );
  });

  it('every operation poolsync calls was answered, with its errors', () => {
    const seen = new Set(
      forge.githubAnswers.map((a) => `${operationOf(a).op.operationId} ${a.status}`),
    );
    for (const want of [
      'users/get-authenticated 200',
      'users/get-authenticated 403',
      'users/get-authenticated 401',
      'issues/list-comments 200',
      'issues/list-comments 404',
      'issues/create-comment 201',
      'issues/create-comment 422',
      'issues/update-comment 200',
      'issues/update-comment 404',
      'issues/delete-comment 204',
      'issues/delete-comment 404',
      'repos/create-commit-status 201',
      'repos/create-commit-status 422',
      'repos/list-commit-statuses-for-ref 200',
      'pulls/get 200',
      'pulls/get 404',
      'repos/get-collaborator-permission-level 200',
      'repos/get-collaborator-permission-level 404',
    ])
      expect(seen, want).toContain(want);
    // Pages past the first were read where GitHub's Link header points.
    expect(forge.githubAnswers.some((a) => a.path.startsWith('/api/v3/repositories/'))).toBe(true);
  });

  it('the check has teeth: an answer missing a required field fails it', () => {
    const comment = forge.githubAnswers.find(
      (a) => a.method === 'POST' && a.status === 201 && a.path.endsWith('/comments'),
    )!;
    const { user: _user, ...withoutUser } = comment.json as Record<string, unknown>;
    expect(problems({ ...comment, json: withoutUser })).toEqual([
      expect.stringMatching(/must have required property 'user'/),
    ]);
    // A comment posted through an app names it (performed_via_github_app), as GitHub's do.
    const viaApp = forge.githubAnswers.find(
      (a) =>
        a.status === 201 &&
        (a.json as { performed_via_github_app?: unknown }).performed_via_github_app,
    )!;
    expect(problems(viaApp)).toEqual([]);
    const app = (viaApp.json as { performed_via_github_app: Record<string, unknown> })
      .performed_via_github_app;
    const { owner: _owner, ...withoutOwner } = app;
    expect(
      problems({
        ...viaApp,
        json: { ...(viaApp.json as object), performed_via_github_app: withoutOwner },
      }).join('\n'),
    ).toMatch(/required property 'owner'/);
    const pr = forge.githubAnswers.find((a) => a.path.includes('/pulls/') && a.status === 200)!;
    const { head: _head, ...withoutHead } = pr.json as Record<string, unknown>;
    expect(problems({ ...pr, json: withoutHead }).join('\n')).toMatch(/required property 'head'/);
  });

  it('carries the rate-limit headers GitHub sends on every answer', async () => {
    const res = await fetch(`${forge.url}/user`, {
      headers: { authorization: `Bearer ${forge.token}` },
    });
    const named = ['limit', 'remaining', 'reset', 'used', 'resource'].map((n) => [
      `x-ratelimit-${n}`,
      res.headers.get(`x-ratelimit-${n}`),
    ]);
    expect(Object.fromEntries(named)).toEqual({
      'x-ratelimit-limit': '5000',
      'x-ratelimit-remaining': expect.stringMatching(/^\d+$/),
      'x-ratelimit-reset': expect.stringMatching(/^\d{10}$/),
      'x-ratelimit-used': expect.stringMatching(/^\d+$/),
      'x-ratelimit-resource': 'core',
    });
  });
});
