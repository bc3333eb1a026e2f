import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { forgeTargetFromRemote } from '../../src/daemon/pull-requests.js';
import { commentMarker } from '../../src/vcs/comment.js';
import { createPullRequestApi, normalizeGitHubApiUrl } from '../../src/vcs/forges.js';
import { publishPlan } from '../../src/vcs/publish.js';
import { VcsApiError, VcsConfigError, type PublishOutcome } from '../../src/vcs/types.js';
import { fakeClock } from './fake-clock.js';
import { FakeForge, type Account } from '../support/fake-forge.js';
import { makePlan } from './plan-fixture.js';

const MALLORY: Account = { login: 'mallory', id: 666, type: 'User' };

const SHA = 'a'.repeat(40);
const FAST = { maxRetries: 2, minDelayMs: 5, maxDelayMs: 50 };
const planOutcome = (updates = 1): PublishOutcome => {
  const plan = makePlan({ queueUpdates: updates });
  return { kind: 'plan', plan };
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
      // A bare host gets GitHub Enterprise's /api/v3 prefix; who the token is, once per process.
      'GET /api/v3/user',
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
    // Who the token is was asked once in this process, not once per publish.
    expect(forge.requests.filter((q) => q.url === '/api/v3/user')).toHaveLength(1);
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
    // The pages GitHub's Link header names: /repositories/{id}/….
    expect(forge.requests.filter((q) => q.method === 'GET').map((q) => q.url)).toEqual([
      '/api/v3/user',
      '/api/v3/repos/acme/cfg/issues/7/comments?per_page=100',
      '/api/v3/repositories/100000/issues/7/comments?per_page=30&page=2',
      '/api/v3/repositories/100000/issues/7/comments?per_page=30&page=3',
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

  it("keys the status by folder: one folder's success never replaces another's failure", async () => {
    const invalid: PublishOutcome = { kind: 'invalid', errorsText: 'a.yaml:1:1: bad' };
    const r = await publish({ key: 'teams/a', outcome: invalid });
    await publish({ key: 'teams/b' });
    await publish({ key: '' });
    expect(forge.statuses.map((s) => [s.body.context, s.body.state])).toEqual([
      ['poolsync/plan: teams/a', 'failure'],
      ['poolsync/plan: teams/b', 'success'],
      ['poolsync/plan', 'success'],
    ]);
    expect(r.context).toBe('poolsync/plan: teams/a');
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
    await publish({ outcome: { kind: 'plan', plan } });
    expect(forge.statuses[0]!.body.state).toBe('failure');
    expect(String(forge.statuses[0]!.body.description)).toMatch(/^Plan failed with 1 error/);
    expect(String(forge.statuses[0]!.body.description).length).toBeLessThanOrEqual(140);
  });

  it('but not on a forge that let the call run out of time: the command ends within one deadline', async () => {
    forge.faults.push({
      match: /^GET .*\/issues\/7\/comments$/,
      status: 200,
      silent: true,
      times: 9,
    });
    const limits = {
      connectTimeoutMs: 5_000,
      readTimeoutMs: 300,
      callTimeoutMs: 60_000,
      maxResponseBytes: 1024 * 1024,
    };
    await expect(publish({ retry: { ...FAST, limits } })).rejects.toThrow(
      /GitHub API at .*, to .*: the answer's headers did not complete within 300ms \(env POOLSYNC_READ_TIMEOUT\): .*raise POOLSYNC_READ_TIMEOUT if it is only slow/,
    );
    expect(forge.requests.filter((q) => q.method === 'POST')).toEqual([]);
    expect(forge.statuses).toEqual([]);
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
    forge.faults.push({ match: /^GET .*\/comments$/, status: 502, times: 2 });
    const r = await publish();
    expect(r.comment).toBe('created');
    expect(forge.requests.filter((q) => q.url.includes('/comments?'))).toHaveLength(3);
  });

  it("a proxy's 502 page is said as a short line of its text, not its HTML", async () => {
    const page =
      '<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n';
    forge.faults.push({ match: /^GET .*\/comments$/, status: 502, raw: page, times: 100 });
    const err = await expectError(publish(), 502, /502 Bad Gateway 502 Bad Gateway nginx/);
    expect(err.message).not.toMatch(/<|\r|\n/);
  });

  it('5xx that persists gives a clear error after the retries, counted truly', async () => {
    forge.faults.push({ match: /^GET .*\/comments$/, status: 503, times: 100 });
    await expectError(publish(), 503, /HTTP 503 after 3 attempts.*try again later/);
    expect(forge.requests.filter((q) => q.url.includes('/comments?'))).toHaveLength(3);
    // A refusal is not retried, and its message claims no retries.
    forge.faults.length = 0;
    forge.faults.push({ match: /^POST .*\/comments$/, status: 403, times: 1 });
    const err = await expectError(publish(), 403, /refused to comment/);
    expect(err.message).not.toMatch(/attempt/);
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

  it('a create that failed (503, a dropped connection) and did not land is looked for, then made again', async () => {
    forge.faults.push({ match: /^POST .*\/comments$/, status: 503 });
    expect((await publish()).comment).toBe('created');
    forge.faults.push({ match: /^POST .*\/comments$/, status: 0, destroy: true });
    expect((await publish({ number: 8 })).comment).toBe('created');
    for (const n of [7, 8]) {
      expect(forge.list(`github:acme/cfg#${n}`)).toHaveLength(1);
      // Created, failed, looked for (not there), created again.
      expect(
        forge.requests.filter((q) => q.url.includes(`/issues/${n}/comments`)).map((q) => q.method),
      ).toEqual(['GET', 'POST', 'GET', 'POST']);
    }
    // Within the attempts of any call: a create that keeps failing stops, counting them.
    forge.faults.push({ match: /^POST .*\/comments$/, status: 503, times: 100 });
    await expectError(
      publish({ number: 9 }),
      503,
      /comment on pull request #9.*HTTP 503 after 3 attempts/,
    );
    expect(forge.list('github:acme/cfg#9')).toEqual([]);
  });

  it('a dropped connection on an idempotent call is retried', async () => {
    forge.faults.push({ match: /^PATCH /, status: 0, destroy: true });
    forge.seed('github:acme/cfg#7', [`${commentMarker()}\nold`]);
    expect((await publish()).comment).toBe('updated');
    expect(forge.requests.filter((q) => q.method === 'PATCH')).toHaveLength(2);
  });

  it('the call timeout bounds a call with its retries, and the error counts the attempts', async () => {
    forge.faults.push({ match: /./, status: 200, silent: true, times: 100 });
    const limits = {
      connectTimeoutMs: 5_000,
      readTimeoutMs: 1_000,
      callTimeoutMs: 2_500,
      maxResponseBytes: 1024 * 1024,
    };
    await expectError(
      publish({ retry: { maxRetries: 4, minDelayMs: 5, maxDelayMs: 50, limits } }),
      null,
      /to read who the token is: .*(within|fits in) 2\.5s, the deadline of one call with its retries \(env POOLSYNC_CALL_TIMEOUT\).* \(tried [23] times/,
    );
    // Not five attempts of a second each, each its own deadline: the count says it, as a bound on
    // the elapsed time would only on an idle machine.
    expect(forge.requests.length).toBeLessThanOrEqual(3);
  });

  it("a rate limit's wait is bounded by POOLSYNC_RATE_LIMIT_WAIT, not by the call timeout", async () => {
    forge.faults.push({ match: /^GET /, status: 429, headers: { 'retry-after': '1' } });
    const limits = {
      connectTimeoutMs: 5_000,
      readTimeoutMs: 300,
      callTimeoutMs: 700,
      maxResponseBytes: 1024 * 1024,
    };
    expect((await publish({ retry: { ...FAST, limits } })).comment).toBe('created');
  });

  it('an unreachable API gives a clear error', async () => {
    const url = forge.url;
    await forge.stop();
    await expectError(
      publish({ apiUrl: url }),
      null,
      /could not be reached to read who the token is \(tried 3 times\).*--api-url/,
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
    expect(() =>
      createPullRequestApi({ provider: 'github', repository: 'acme', number: 1, token: 't' }),
    ).toThrow(/owner\/name/);
    expect(() =>
      createPullRequestApi({ provider: 'github', repository: 'acme/cfg', number: 0, token: 't' }),
    ).toThrow(/--pr/);
  });

  it('never follows a pagination link to another host with the token', async () => {
    const api = createPullRequestApi({
      provider: 'github',
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

describe("poolsync's own comment (issue 47)", () => {
  it('a comment by another user that opens with the marker is never edited: poolsync posts its own', async () => {
    forge.seed('github:acme/cfg#7', [{ body: `${commentMarker()}\nforged plan`, author: MALLORY }]);
    const r = await publish();
    expect(r.comment).toBe('created');
    const list = forge.list('github:acme/cfg#7');
    expect(list.map((c) => [c.author.login, c.body.slice(-11)])).toEqual([
      ['mallory', 'forged plan'],
      ['poolsync-bot', expect.any(String)],
    ]);
    expect(forge.requests.filter((q) => q.method === 'PATCH')).toEqual([]);
    // The next push edits poolsync's own comment, still never mallory's.
    expect((await publish({ outcome: planOutcome(2) })).comment).toBe('updated');
    expect(list[0]!.body).toBe(`${commentMarker()}\nforged plan`);
    expect(list[1]!.body).toContain('2 to update');
  });

  it("a GitHub App's installation token finds its own comment without configuration: one comment, every run (issue 59)", async () => {
    const bot: Account = { login: 'acme-poolsync[bot]', id: 77, type: 'Bot', installation: true };
    const token = forge.tokenOf(bot);
    // Anyone may write the marker; only an app's bot posts through an app.
    forge.seed('github:acme/cfg#7', [
      { body: `${commentMarker()}\nnot poolsync's`, author: { login: 'eve', id: 5, type: 'User' } },
    ]);
    // Each run a new process (a CI job per push): an API spelling of its own, so nothing of
    // the identity is remembered from the run before. A wrong POOLSYNC_GITHUB_APP_SLUG (once
    // the way to name it) changes nothing.
    vi.stubEnv('POOLSYNC_GITHUB_APP_SLUG', 'other-app');
    try {
      const port = new URL(forge.url).port;
      const runs = [
        `http://127.0.0.1:${port}`,
        `http://localhost:${port}`,
        `http://127.0.0.1:${port}/`,
      ];
      const actions: string[] = [];
      for (const [i, apiUrl] of runs.entries())
        actions.push(
          (await publish({ token, apiUrl, outcome: planOutcome(i + 1), commit: `${i}`.repeat(40) }))
            .comment,
        );
      expect(actions).toEqual(['created', 'updated', 'updated']);
    } finally {
      vi.unstubAllEnvs();
    }
    const comments = forge.list('github:acme/cfg#7');
    expect(comments.map((c) => c.author.login)).toEqual(['eve', 'acme-poolsync[bot]']);
    expect(comments[0]!.body).toBe(`${commentMarker()}\nnot poolsync's`);
    expect(comments[1]!.body).toContain(`For commit \`${'2'.repeat(40)}\``);
  });

  it("an installation token that posted a comment knows itself from it: another app's comment is not its own", async () => {
    const bot: Account = { login: 'acme-poolsync[bot]', id: 78, type: 'Bot', installation: true };
    const other: Account = { login: 'other-app[bot]', id: 79, type: 'Bot', installation: true };
    const token = forge.tokenOf(bot);
    forge.seed('github:acme/cfg#8', [
      { body: `${commentMarker('a')}\nposted by poolsync`, author: bot },
    ]);
    // The first run edits its comment: an app's comment, found without knowing whose.
    expect((await publish({ token, number: 8, key: 'a' })).comment).toBe('updated');
    // A comment it creates names it: from then on only its own count.
    expect((await publish({ token, number: 8, key: 'b' })).comment).toBe('created');
    forge.seed('github:acme/cfg#8', [
      { body: `${commentMarker('c')}\nanother app's`, author: other },
    ]);
    expect((await publish({ token, number: 8, key: 'c' })).comment).toBe('created');
    expect(forge.list('github:acme/cfg#8').map((c) => c.author.login)).toEqual([
      'acme-poolsync[bot]',
      'acme-poolsync[bot]',
      'other-app[bot]',
      'acme-poolsync[bot]',
    ]);
  });
});

describe('a commit status always ends (issue 47)', () => {
  it('a comment that cannot be posted (a read-only token) leaves an error status with the reason', async () => {
    forge.faults.push({
      match: /^POST .*\/issues\/7\/comments$/,
      status: 403,
      body: { message: 'Resource not accessible by integration', documentation_url: 'x' },
    });
    await expect(publish()).rejects.toThrow(/refused to comment/);
    expect(forge.statuses).toEqual([
      {
        sha: SHA,
        body: expect.objectContaining({
          state: 'error',
          description: expect.stringMatching(
            /^Could not post the plan comment: GitHub refused to comment/,
          ),
        }),
      },
    ]);
    expect(String(forge.statuses[0]!.body.description).length).toBeLessThanOrEqual(140);
  });

  it('but not on a forge that let the call run out of time: the command ends within one deadline', async () => {
    forge.faults.push({
      match: /^GET .*\/issues\/7\/comments$/,
      status: 200,
      silent: true,
      times: 9,
    });
    const limits = {
      connectTimeoutMs: 5_000,
      readTimeoutMs: 300,
      callTimeoutMs: 60_000,
      maxResponseBytes: 1024 * 1024,
    };
    await expect(publish({ retry: { ...FAST, limits } })).rejects.toThrow(
      /GitHub API at .*, to .*: the answer's headers did not complete within 300ms \(env POOLSYNC_READ_TIMEOUT\): .*raise POOLSYNC_READ_TIMEOUT if it is only slow/,
    );
    expect(forge.requests.filter((q) => q.method === 'POST')).toEqual([]);
    expect(forge.statuses).toEqual([]);
  });
});

/** GitHub's answer to a secondary rate limit (docs.github.com, "Rate limits for the REST API"). */
const SECONDARY = {
  message:
    'You have exceeded a secondary rate limit. Please wait a few minutes before you try again.',
  documentation_url:
    'https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits',
};

describe("GitHub's rate-limit rules (issue 47; an injected clock, no real waits)", () => {
  const limited = (clock: ReturnType<typeof fakeClock>, deadlineMs = 10 * 60_000) => ({
    retry: { maxRetries: 4, minDelayMs: 5, maxDelayMs: 50, deadlineMs, clock },
  });

  it('a one-hour primary limit: stops at once saying when it resets, and sends nothing before the reset', async () => {
    const clock = fakeClock();
    forge.now = clock.now;
    const token = forge.tokenOf({ login: 'limited', id: 31, type: 'User' });
    const reset = clock.now() + 3_600_000;
    forge.exhaust(token, reset);
    const resetAt = new Date(reset).toISOString().replace(/\.\d+Z$/, 'Z');
    const first = await expectErrorOf(publish({ token, ...limited(clock) }));
    expect(first.message).toBe(
      `GitHub rate limit: no request may be sent until ${resetAt} (in 1h), longer than poolsync waits (10m, POOLSYNC_RATE_LIMIT_WAIT); stopped after 1 attempt to read who the token is. Try again after ${resetAt}.`,
    );
    expect(forge.requests).toHaveLength(1);
    // Another client of the same token in this process sends nothing at all.
    const second = await expectErrorOf(publish({ token, ...limited(clock) }));
    expect(second.message).toContain('stopped before sending a request');
    expect(forge.requests).toHaveLength(1);
    expect(clock.waits).toEqual([]);
    // With a deadline past the reset it waits for it, in full, then goes on.
    expect((await publish({ token, ...limited(clock, 2 * 3_600_000) })).comment).toBe('created');
    expect(clock.waits).toEqual([3_600_000]);
    expect(forge.requests.slice(1).every((q) => q.at >= reset)).toBe(true);
  });

  it('Retry-After is waited in full (60 s, never cut to 30 s)', async () => {
    const clock = fakeClock();
    forge.now = clock.now;
    forge.faults.push({
      match: /^GET .*\/comments$/,
      status: 403,
      headers: { 'retry-after': '60' },
      body: SECONDARY,
    });
    expect((await publish(limited(clock))).comment).toBe('created');
    expect(clock.waits).toEqual([60_000]);
  });

  it('a secondary limit without Retry-After: at least a minute, growing, and the message counts the attempts', async () => {
    const clock = fakeClock();
    forge.now = clock.now;
    forge.faults.push({
      match: /^POST .*\/comments$/,
      status: 403,
      times: 100,
      body: SECONDARY,
    });
    const err = await expectErrorOf(publish(limited(clock, 24 * 3_600_000)));
    expect(clock.waits).toEqual([60_000, 120_000, 240_000, 480_000]);
    expect(err.message).toMatch(
      /rate limit exceeded while trying to comment on pull request #7.*still after 5 attempts/,
    );
    expect(
      forge.requests.filter((q) => q.method === 'POST' && q.url.endsWith('/comments')),
    ).toHaveLength(5);
    // No request inside the window GitHub asks to wait, the error status neither (issue 59):
    // the daemon sets it when the window ends (pull-request-handler.test.ts).
    expect(forge.statuses).toEqual([]);
  });

  it('a wait past the deadline stops at once, saying until when', async () => {
    const clock = fakeClock();
    forge.now = clock.now;
    forge.faults.push({
      match: /^GET .*\/comments$/,
      status: 429,
      headers: { 'retry-after': '900' },
    });
    const err = await expectErrorOf(publish(limited(clock)));
    expect(err.message).toMatch(
      /until 2026-03-02T10:15:00Z \(in 15m\), longer than poolsync waits \(10m/,
    );
    expect(clock.waits).toEqual([]);
  });

  it('POOLSYNC_RATE_LIMIT_WAIT sets the deadline', async () => {
    const { rateLimitWait } = await import('../../src/vcs/http.js');
    expect(rateLimitWait({})).toBe(600_000);
    expect(rateLimitWait({ POOLSYNC_RATE_LIMIT_WAIT: '1h30m' })).toBe(5_400_000);
    expect(() => rateLimitWait({ POOLSYNC_RATE_LIMIT_WAIT: '90' })).toThrow(/not a duration/);
  });
});

async function expectErrorOf(p: Promise<unknown>): Promise<Error> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(Error);
  return err as Error;
}

describe('GitHub Enterprise Cloud with data residency (GHE.com)', () => {
  it('api.SUBDOMAIN.ghe.com has no /api/v3; a SUBDOMAIN.ghe.com remote maps to it', () => {
    expect(normalizeGitHubApiUrl('https://api.octocorp.ghe.com')).toBe(
      'https://api.octocorp.ghe.com',
    );
    expect(normalizeGitHubApiUrl('https://octocorp.ghe.com')).toBe('https://api.octocorp.ghe.com');
    expect(forgeTargetFromRemote('https://octocorp.ghe.com/acme/cfg.git', 'github')).toEqual({
      repository: 'acme/cfg',
      apiUrl: 'https://api.octocorp.ghe.com',
    });
    expect(forgeTargetFromRemote('git@octocorp.ghe.com:acme/cfg.git', 'github')).toEqual({
      repository: 'acme/cfg',
      apiUrl: 'https://api.octocorp.ghe.com',
    });
    // GitHub Enterprise Server stays at /api/v3.
    expect(forgeTargetFromRemote('git@ghe.acme.io:acme/cfg.git', 'github')?.apiUrl).toBe(
      'https://ghe.acme.io/api/v3',
    );
  });
});
