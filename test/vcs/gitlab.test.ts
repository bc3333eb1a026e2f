import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { commentMarker } from '../../src/vcs/comment.js';
import { createPullRequestApi, normalizeGitLabApiUrl } from '../../src/vcs/forges.js';
import { publishPlan, publishStatus } from '../../src/vcs/publish.js';
import { VcsApiError, type PublishOutcome } from '../../src/vcs/types.js';
import { fakeClock } from './fake-clock.js';
import { FakeForge, type Account } from '../support/fake-forge.js';
import { makePlan } from './plan-fixture.js';

const SHA = 'c'.repeat(40);
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
    provider: 'gitlab',
    apiUrl: forge.url,
    repository: 'acme/infra/cfg',
    number: 12,
    commit: SHA,
    token: forge.token,
    outcome: planOutcome(),
    retry: FAST,
    ...over,
  });

describe('GitLab publishPlan', () => {
  it('creates one note and a success status, with the right paths, bodies and PRIVATE-TOKEN', async () => {
    const r = await publish();
    expect(r.comment).toBe('created');
    expect(r.commentUrl).toMatch(/\/acme\/infra\/cfg\/-\/merge_requests\/12#note_\d+$/);
    const notes = forge.list('gitlab:acme/infra/cfg!12');
    expect(notes).toHaveLength(1);
    expect(notes[0]!.body.startsWith(commentMarker())).toBe(true);
    expect(forge.requests.map((q) => `${q.method} ${q.url}`)).toEqual([
      'GET /api/v4/user',
      'GET /api/v4/projects/acme%2Finfra%2Fcfg/merge_requests/12/notes?per_page=100&sort=asc&order_by=created_at',
      'POST /api/v4/projects/acme%2Finfra%2Fcfg/merge_requests/12/notes',
      `POST /api/v4/projects/acme%2Finfra%2Fcfg/statuses/${SHA}`,
    ]);
    for (const q of forge.requests) {
      expect(q.headers['private-token']).toBe(forge.token);
      expect(q.headers.authorization).toBeUndefined();
    }
    expect(forge.statuses[0]).toEqual({
      sha: SHA,
      body: {
        state: 'success',
        name: 'poolsync/plan',
        description: 'Plan: 0 to create, 1 to update, 0 to replace, 0 to delete, 0 blocked.',
        target_url: r.commentUrl,
      },
    });
  });

  it('a second run edits the same note (X-Next-Page pagination, system notes skipped)', async () => {
    forge.pageSize = 20;
    forge.seed(
      'gitlab:acme/infra/cfg!12',
      Array.from({ length: 45 }, (_, i) => ({ body: `note ${i}`, system: i % 2 === 0 })),
    );
    await publish();
    await publish({ outcome: planOutcome(4) });
    const notes = forge.list('gitlab:acme/infra/cfg!12');
    expect(notes.filter((n) => n.body.startsWith(commentMarker()))).toHaveLength(1);
    expect(notes.at(-1)!.body).toContain('4 to update');
    expect(forge.requests.filter((q) => q.method === 'PUT')).toHaveLength(1);
    // 46 notes in pages of 20: three pages on the second run.
    const gets = forge.requests
      .filter((q) => q.method === 'GET' && q.url.includes('/notes'))
      .map((q) => q.url);
    expect(gets.slice(3)).toEqual([
      '/api/v4/projects/acme%2Finfra%2Fcfg/merge_requests/12/notes?per_page=100&sort=asc&order_by=created_at',
      '/api/v4/projects/acme%2Finfra%2Fcfg/merge_requests/12/notes?per_page=100&sort=asc&order_by=created_at&page=2',
      '/api/v4/projects/acme%2Finfra%2Fcfg/merge_requests/12/notes?per_page=100&sort=asc&order_by=created_at&page=3',
    ]);
  });

  it('maps statuses: failure → failed, pending → running; a repeated running is not an error', async () => {
    const base = {
      provider: 'gitlab' as const,
      apiUrl: forge.url,
      repository: '4242',
      number: 12,
      commit: SHA,
      token: forge.token,
      retry: FAST,
    };
    await publishStatus(base, 'pending', 'Planning…');
    await publishStatus(base, 'pending', 'Planning…');
    await publishPlan({
      ...base,
      outcome: { kind: 'invalid', errorsText: 'x.yaml:1:1: YAML bad', errorCount: 1 },
    });
    expect(forge.statuses.map((s) => s.body.state)).toEqual(['running', 'failed']);
    expect(forge.requests.some((q) => q.url.startsWith('/api/v4/projects/4242/'))).toBe(true);
    // A numeric project id: the status links to the note through the merge request's web_url.
    expect(forge.statuses.at(-1)!.body.target_url).toMatch(
      /^https:\/\/gitlab\.example\/group\/project-4242\/-\/merge_requests\/12#note_\d+$/,
    );
  });
});

describe("poolsync's own note (issue 47)", () => {
  const MALLORY: Account = { login: 'mallory', id: 666, type: 'User' };

  it('a note by another user carrying the marker is never edited (GitLab would refuse: 403) nor trusted', async () => {
    forge.seed('gitlab:acme/infra/cfg!12', [
      { body: `${commentMarker()}\nforged plan`, author: MALLORY },
    ]);
    const r = await publish();
    expect(r.comment).toBe('created');
    expect(forge.requests.filter((q) => q.method === 'PUT')).toEqual([]);
    const notes = forge.list('gitlab:acme/infra/cfg!12');
    expect(notes.map((n) => n.author.login)).toEqual(['mallory', 'poolsync-bot']);
    expect(notes[0]!.body).toBe(`${commentMarker()}\nforged plan`);
    expect(forge.statuses.at(-1)!.body.state).toBe('success');
  });

  it('the forge refuses to let anyone but the author edit a note', async () => {
    forge.seed('gitlab:acme/infra/cfg!12', [{ body: 'mine', author: MALLORY }]);
    const api = createPullRequestApi({
      provider: 'gitlab',
      apiUrl: forge.url,
      repository: 'acme/infra/cfg',
      number: 12,
      token: forge.token,
      retry: FAST,
    });
    const id = forge.list('gitlab:acme/infra/cfg!12')[0]!.id;
    await expect(api.updateComment(id, 'taken')).rejects.toMatchObject({ status: 403 });
    await api.close();
  });
});

describe('GitLab rate limits (issue 47)', () => {
  it('429 with Retry-After, or with RateLimit-Reset only, is waited as asked', async () => {
    const clock = fakeClock();
    forge.now = clock.now;
    const started = clock.now();
    const reset = Math.ceil((started + 90_000) / 1000);
    forge.faults.push(
      {
        match: /^GET .*\/notes$/,
        status: 429,
        headers: { 'retry-after': '30' },
        body: { message: 'Retry later' },
      },
      {
        match: /^POST .*\/notes$/,
        status: 429,
        headers: { 'ratelimit-remaining': '0', 'ratelimit-reset': String(reset) },
        body: { message: 'Retry later' },
      },
    );
    const r = await publish({ retry: { ...FAST, clock, deadlineMs: 600_000 } });
    expect(r.comment).toBe('created');
    // Retry-After in full; then until RateLimit-Reset (30 s of its 90 had passed).
    expect(clock.waits).toEqual([30_000, reset * 1000 - (started + 30_000)]);
  });
});

describe('GitLab API errors', () => {
  const failure = async (p: Promise<unknown>) => {
    const err = (await p.then(
      () => null,
      (e: unknown) => e,
    )) as VcsApiError;
    expect(err).toBeInstanceOf(VcsApiError);
    expect(err.message).not.toContain(forge.token);
    return err;
  };

  it('401 names GITLAB_TOKEN', async () => {
    const err = await failure(publish({ token: 'nope' }));
    expect(err.status).toBe(401);
    expect(err.message).toMatch(/rejected the token.*GITLAB_TOKEN/);
  });

  it('403 names the api scope and role', async () => {
    const err = await failure(publish({ repository: 'acme/readonly' }));
    expect(err.status).toBe(403);
    expect(err.message).toMatch(/`api` scope and at least the Reporter role/);
  });

  it('404 names the project and merge request', async () => {
    const err = await failure(publish({ repository: 'acme/private' }));
    expect(err.message).toMatch(/could not find acme\/private!12.*merge request iid/);
  });

  it('5xx on update is retried; persistent 5xx fails clearly', async () => {
    forge.seed('gitlab:acme/infra/cfg!12', [`${commentMarker()}\nold`]);
    forge.faults.push({ match: /^PUT /, status: 500, times: 1 });
    expect((await publish()).comment).toBe('updated');
    forge.faults.push({ match: /^POST .*\/statuses\//, status: 502, times: 10 });
    const err = await failure(publish({ outcome: planOutcome(2) }));
    expect(err.status).toBe(502);
    expect(err.message).toMatch(/set the poolsync\/plan status.*HTTP 502 after 3 attempts/);
  });

  it('a 502 on creating the note, which did not land: looked for, then created once', async () => {
    forge.faults.push({ match: /^POST .*\/notes$/, status: 502 });
    expect((await publish({ number: 13 })).comment).toBe('created');
    expect(forge.list('gitlab:acme/infra/cfg!13')).toHaveLength(1);
    expect(
      forge.requests.filter((q) => q.method === 'POST' && q.url.endsWith('/notes')),
    ).toHaveLength(2);
  });
});

describe('GitLab client configuration', () => {
  it('normalises --api-url for gitlab.com and self-managed hosts', () => {
    expect(normalizeGitLabApiUrl(undefined)).toBe('https://gitlab.com/api/v4');
    expect(normalizeGitLabApiUrl('https://git.acme.io')).toBe('https://git.acme.io/api/v4');
    expect(normalizeGitLabApiUrl('https://git.acme.io/api/v4/')).toBe('https://git.acme.io/api/v4');
  });

  it('accepts a project id or path, rejects anything else', () => {
    expect(() =>
      createPullRequestApi({ provider: 'gitlab', repository: 'cfg', number: 1, token: 't' }),
    ).toThrow(/project/);
    expect(() =>
      createPullRequestApi({ provider: 'gitlab', repository: '12', number: 1, token: 't' }),
    ).not.toThrow();
  });
});
