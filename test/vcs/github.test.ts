import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { commentMarker } from '../../src/vcs/comment.js';
import { createGitHubClient, normalizeGitHubApiUrl } from '../../src/vcs/github.js';
import { publishPlan } from '../../src/vcs/publish.js';
import { VcsApiError, VcsConfigError, type PublishOutcome } from '../../src/vcs/types.js';
import { FakeForge } from './fake-forge.js';
import { makePlan, markdownOf } from './plan-fixture.js';

const SHA = 'a'.repeat(40);
const FAST = { maxRetries: 2, minDelayMs: 5, maxDelayMs: 50 };
const planOutcome = (updates = 1): PublishOutcome => {
  const plan = makePlan({ queueUpdates: updates });
  return { kind: 'plan', plan, markdown: markdownOf(plan) };
};

let forge: FakeForge;
beforeEach(async () => {
  forge = await new FakeForge().start();
});
afterEach(async () => {
  await forge.stop();
});

const publish = (over: Partial<Parameters<typeof publishPlan>[0]> = {}) =>
  publishPlan({
    provider: 'github',
    apiUrl: forge.url,
    repository: 'acme/cfg',
    number: 7,
    commit: SHA,
    token: forge.token,
    outcome: planOutcome(),
    retry: FAST,
    ...over,
  });

describe('GitHub publishPlan', () => {
  it('creates one comment and a success status, with the right paths, bodies and auth', async () => {
    const r = await publish();
    expect(r.comment).toBe('created');
    const comments = forge.list('github:acme/cfg#7');
    expect(comments).toHaveLength(1);
    expect(comments[0]!.body.startsWith(commentMarker())).toBe(true);
    expect(comments[0]!.body).toContain(`\`${SHA}\``);
    expect(comments[0]!.body).toContain('Plan: 0 to create, 1 to update');

    const calls = forge.requests.map((q) => `${q.method} ${q.url}`);
    expect(calls).toEqual([
      // A bare host gets GitHub Enterprise's /api/v3 prefix.
      'GET /api/v3/repos/acme/cfg/issues/7/comments?per_page=100',
      'POST /api/v3/repos/acme/cfg/issues/7/comments',
      `POST /api/v3/repos/acme/cfg/statuses/${SHA}`,
    ]);
    for (const q of forge.requests) {
      expect(q.headers.authorization).toBe(`Bearer ${forge.token}`);
      expect(q.headers.accept).toBe('application/vnd.github+json');
      expect(q.headers['x-github-api-version']).toBe('2022-11-28');
    }
    expect(forge.statuses).toEqual([
      {
        sha: SHA,
        body: {
          state: 'success',
          context: 'poolsync/plan',
          description: 'Plan: 0 to create, 1 to update, 0 to replace, 0 to delete, 0 blocked.',
          target_url: expect.stringMatching(/issuecomment-\d+$/),
        },
      },
    ]);
  });

  it('a second run edits the same comment in place, never a second one', async () => {
    await publish();
    const r2 = await publish({ outcome: planOutcome(3), commit: 'b'.repeat(40) });
    expect(r2.comment).toBe('updated');
    const comments = forge.list('github:acme/cfg#7');
    expect(comments).toHaveLength(1);
    expect(comments[0]!.body).toContain('b'.repeat(40));
    expect(comments[0]!.body).toContain('3 to update');
    expect(forge.requests.filter((q) => q.method === 'PATCH')).toHaveLength(1);
    // The same content again changes nothing but the status.
    const r3 = await publish({ outcome: planOutcome(3), commit: 'b'.repeat(40) });
    expect(r3.comment).toBe('unchanged');
    expect(forge.requests.filter((q) => q.method === 'PATCH')).toHaveLength(1);
  });

  it('finds its comment on a later page of a long discussion (Link pagination)', async () => {
    forge.pageSize = 30;
    forge.seed(
      'github:acme/cfg#7',
      Array.from({ length: 65 }, (_, i) => `review note ${i}`),
    );
    forge.seed('github:acme/cfg#7', [`${commentMarker()}\nold plan`]);
    forge.seed('github:acme/cfg#7', ['later note quoting <!-- poolsync:plan -->']);
    const r = await publish();
    expect(r.comment).toBe('updated');
    const list = forge.list('github:acme/cfg#7');
    expect(list).toHaveLength(67);
    expect(list[65]!.body).toContain('1 to update');
    expect(list[66]!.body).toBe('later note quoting <!-- poolsync:plan -->');
    expect(forge.requests.filter((q) => q.method === 'GET').map((q) => q.url)).toEqual([
      '/api/v3/repos/acme/cfg/issues/7/comments?per_page=100',
      '/api/v3/repos/acme/cfg/issues/7/comments?per_page=30&page=2',
      '/api/v3/repos/acme/cfg/issues/7/comments?per_page=30&page=3',
    ]);
  });

  it('keys the marker by folder: two poolsync folders keep two comments', async () => {
    await publish({ key: 'teams/a' });
    await publish({ key: 'teams/b' });
    await publish({ key: 'teams/a', outcome: planOutcome(2) });
    const list = forge.list('github:acme/cfg#7');
    expect(list).toHaveLength(2);
    expect(list[0]!.body.startsWith(commentMarker('teams/a'))).toBe(true);
    expect(list[0]!.body).toContain('2 to update');
    expect(list[1]!.body.startsWith(commentMarker('teams/b'))).toBe(true);
  });

  it('an invalid repository posts the errors and a failure status', async () => {
    await publish({
      outcome: {
        kind: 'invalid',
        errorsText: 'queues/a.yaml:3:12: V3 Queue/a names unknown cluster x',
        errorCount: 1,
      },
    });
    expect(forge.list('github:acme/cfg#7')[0]!.body).toContain('queues/a.yaml:3:12: V3');
    expect(forge.statuses[0]!.body.state).toBe('failure');
    expect(forge.statuses[0]!.body.description).toBe(
      'Invalid configuration (1 error): nothing can be applied',
    );
  });

  it('a plan with errors (prevent-destroy) gives a failure status', async () => {
    const plan = makePlan({ errors: 1 });
    await publish({ outcome: { kind: 'plan', plan, markdown: markdownOf(plan) } });
    expect(forge.statuses[0]!.body.state).toBe('failure');
    expect(String(forge.statuses[0]!.body.description)).toMatch(/^Plan failed with 1 error/);
    expect(String(forge.statuses[0]!.body.description).length).toBeLessThanOrEqual(140);
  });
});

describe('GitHub API errors', () => {
  const expectError = async (p: Promise<unknown>, status: number | null, pattern: RegExp) => {
    const err = await p.then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(VcsApiError);
    expect((err as VcsApiError).status).toBe(status);
    expect((err as Error).message).toMatch(pattern);
    expect((err as Error).message).not.toContain(forge.token);
    expect((err as Error).stack ?? '').not.toContain(forge.token);
    return err as VcsApiError;
  };

  it('401: bad token, named as such, token never echoed', async () => {
    await expectError(
      publish({ token: 'wrong-token-xyz' }),
      401,
      /rejected the token.*GITHUB_TOKEN/,
    );
  });

  it('403: names the permission needed', async () => {
    await expectError(
      publish({ repository: 'acme/readonly' }),
      403,
      /refused to comment on pull request #7.*pull-requests: write/,
    );
  });

  it('404: repository or pull request not found', async () => {
    await expectError(
      publish({ repository: 'acme/private' }),
      404,
      /could not find acme\/private#7.*--repo and --pr/,
    );
  });

  it('422: validation errors carry the server message', async () => {
    forge.faults.push({
      match: /^POST .*\/statuses\//,
      status: 422,
      body: {
        message: 'Validation Failed',
        errors: [{ resource: 'Status', field: 'sha', code: 'invalid' }],
      },
    });
    await expectError(
      publish(),
      422,
      /422 validation failed: Validation Failed; Status sha invalid/,
    );
  });

  it('5xx is retried, then succeeds', async () => {
    forge.faults.push({ match: /^GET /, status: 502, times: 2 });
    const r = await publish();
    expect(r.comment).toBe('created');
    expect(forge.requests.filter((q) => q.method === 'GET')).toHaveLength(3);
  });

  it('5xx that persists gives a clear error after the retries', async () => {
    forge.faults.push({ match: /^GET /, status: 503, times: 100 });
    await expectError(publish(), 503, /HTTP 503 after 3 attempts.*try again later/);
    expect(forge.requests).toHaveLength(3);
  });

  it('429 honours Retry-After', async () => {
    forge.faults.push({ match: /^GET /, status: 429, headers: { 'retry-after': '1' } });
    const started = Date.now();
    await publish({ retry: { maxRetries: 2, minDelayMs: 1, maxDelayMs: 5000 } });
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    expect(forge.requests.filter((q) => q.method === 'GET')).toHaveLength(2);
  });

  it('a 403 secondary rate limit with Retry-After is retried', async () => {
    forge.faults.push({
      match: /^GET /,
      status: 403,
      headers: { 'retry-after': '0' },
      body: { message: 'You have exceeded a secondary rate limit' },
    });
    expect((await publish()).comment).toBe('created');
  });

  it('a create whose response was lost (500 after the write) is found again, never duplicated', async () => {
    forge.faults.push({ match: /^POST .*\/comments$/, status: 500, afterEffect: true });
    const r = await publish();
    expect(r.comment).toBe('created');
    expect(forge.list('github:acme/cfg#7')).toHaveLength(1);
    // The create itself is not blindly retried on 5xx.
    expect(
      forge.requests.filter((q) => q.method === 'POST' && q.url.endsWith('/comments')),
    ).toHaveLength(1);
  });

  it('a dropped connection on an idempotent call is retried', async () => {
    forge.faults.push({ match: /^PATCH /, status: 0, destroy: true });
    forge.seed('github:acme/cfg#7', [`${commentMarker()}\nold`]);
    expect((await publish()).comment).toBe('updated');
    expect(forge.requests.filter((q) => q.method === 'PATCH')).toHaveLength(2);
  });

  it('an unreachable API gives a clear error', async () => {
    const url = forge.url;
    await forge.stop();
    await expectError(
      publish({ apiUrl: url }),
      null,
      /could not be reached to list the comments.*tried up to 3 times.*--api-url/,
    );
  });
});

describe('GitHub client configuration', () => {
  it('normalises --api-url: public API, Enterprise host, explicit path', () => {
    expect(normalizeGitHubApiUrl(undefined)).toBe('https://api.github.com');
    expect(normalizeGitHubApiUrl('https://ghe.acme.io')).toBe('https://ghe.acme.io/api/v3');
    expect(normalizeGitHubApiUrl('https://ghe.acme.io/api/v3/')).toBe('https://ghe.acme.io/api/v3');
    expect(() => normalizeGitHubApiUrl('not a url')).toThrow(VcsConfigError);
  });

  it('rejects a malformed repository or number before any request', () => {
    expect(() => createGitHubClient({ repository: 'acme', number: 1, token: 't' })).toThrow(
      /owner\/name/,
    );
    expect(() => createGitHubClient({ repository: 'acme/cfg', number: 0, token: 't' })).toThrow(
      /--pr/,
    );
  });

  it('never follows a pagination link to another host with the token', async () => {
    const api = createGitHubClient({
      apiUrl: forge.url,
      repository: 'acme/cfg',
      number: 7,
      token: forge.token,
      retry: FAST,
    });
    forge.faults.push({
      match: /^GET /,
      status: 200,
      body: [],
      headers: { link: '<https://evil.example/steal?page=2>; rel="next"' },
    });
    await expect(api.listComments()).rejects.toThrow(/another host.*refusing/);
    await api.close();
  });
});

describe('GitHub rate limits', () => {
  it('a primary rate limit that outlasts the retries says so (not "permissions")', async () => {
    const forge = await new FakeForge().start();
    try {
      forge.faults.push({
        match: /^GET /,
        status: 403,
        times: 10,
        headers: { 'x-ratelimit-remaining': '0' },
        body: { message: 'API rate limit exceeded for installation ID 1.' },
      });
      const err = await publishPlan({
        provider: 'github',
        apiUrl: forge.url,
        repository: 'acme/cfg',
        number: 1,
        commit: SHA,
        token: forge.token,
        outcome: planOutcome(),
        retry: FAST,
      }).catch((e: unknown) => e);
      expect((err as Error).message).toMatch(
        /rate limit exceeded.*after 3 attempts.*Try again later/,
      );
      expect(forge.requests).toHaveLength(3);
    } finally {
      await forge.stop();
    }
  });
});
