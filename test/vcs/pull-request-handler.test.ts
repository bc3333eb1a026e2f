import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { EmbeddedControlPlane } from '../../src/controlplane/embedded/embedded.js';
import { readLiveState } from '../../src/controlplane/types.js';
import { commentMarker } from '../../src/vcs/comment.js';
import { planOutcome } from '../../src/vcs/publish.js';
import {
  createPullRequestHandler,
  pullRequestCheckout,
  type HandlerLogger,
  type PullRequestHandlerOptions,
} from '../../src/vcs/pull-request-handler.js';
import type { PullRequestEvent } from '../../src/vcs/types.js';
import { Redactor } from '../../src/util/redact.js';
import { until } from '../support/until.js';
import { fakeClock } from './fake-clock.js';
import { FakeForge } from '../support/fake-forge.js';

/** The origin is a folder: no credentials. */
const NO_AUTH = {
  token: null,
  username: 'x-access-token',
  sshKeyFile: null,
  sshKnownHostsFile: null,
};

const POOL = `apiVersion: poolsync/v1
kind: ClusterPool
metadata:
  name: prod
spec:
  object_store_ref:
    uri: s3://prod-bucket/meta
  secret_store:
    type: AWS_SECRETS_MANAGER
    locator: us-east-1
`;
const QUEUE = `apiVersion: poolsync/v1
kind: Queue
metadata:
  name: batch
spec:
  pool: prod
  run_concurrency: 5
  action_concurrency: 50
`;
const BROKEN_QUEUE = `apiVersion: poolsync/v1
kind: Queue
metadata:
  name: batch
spec:
  pool: nowhere
  run_concurrency: 5
  action_concurrency: 50
`;

const gitEnv = {
  ...process.env,
  GIT_AUTHOR_NAME: 't',
  GIT_AUTHOR_EMAIL: 't@example.com',
  GIT_COMMITTER_NAME: 't',
  GIT_COMMITTER_EMAIL: 't@example.com',
};
const git = (cwd: string, ...args: string[]) =>
  execFileSync('git', args, {
    cwd,
    encoding: 'utf8',
    env: gitEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  }).trim();

let root: string;
let origin: string;
let dev: string;
let forge: FakeForge;
let cp: EmbeddedControlPlane;
let logs: { level: string; msg: string; obj: object }[];

const logger: HandlerLogger = {
  info: (obj, msg) => logs.push({ level: 'info', msg, obj }),
  warn: (obj, msg) => logs.push({ level: 'warn', msg, obj }),
  debug: (obj, msg) => logs.push({ level: 'debug', msg, obj }),
};

/**
 * Commits the files on a PR branch and publishes it as the forge's pull request ref, which the
 * forge then names as the pull request's head.
 */
function pushPullRequest(ref: string, files: Record<string, string>, message: string): string {
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(dev, path, '..'), { recursive: true });
    writeFileSync(join(dev, path), text);
  }
  git(dev, 'add', '-A');
  git(dev, 'commit', '-q', '-m', message);
  const sha = git(dev, 'rev-parse', 'HEAD');
  git(dev, 'push', '-q', '--force', 'origin', `HEAD:${ref}`);
  const pr = /^refs\/(pull|merge-requests)\/(\d+)\/head$/.exec(ref);
  if (pr)
    forge.heads.set(
      `${pr[1] === 'pull' ? 'github' : 'gitlab'}:acme/cfg${pr[1] === 'pull' ? '#' : '!'}${pr[2]}`,
      sha,
    );
  return sha;
}

beforeEach(async () => {
  root = mkdtempSync(join(tmpdir(), 'poolsync-vcs-pr-'));
  origin = join(root, 'origin.git');
  dev = join(root, 'dev');
  git(root, 'init', '-q', '--bare', '-b', 'main', origin);
  git(root, 'clone', '-q', origin, dev);
  mkdirSync(join(dev, 'pools'));
  writeFileSync(join(dev, 'pools', 'prod.yaml'), POOL);
  writeFileSync(join(dev, 'README.md'), 'config\n');
  git(dev, 'add', '-A');
  git(dev, 'commit', '-q', '-m', 'base');
  git(dev, 'push', '-q', 'origin', 'HEAD:main');
  git(dev, 'checkout', '-q', '-b', 'feature');
  forge = await new FakeForge().start();
  cp = await EmbeddedControlPlane.open({ path: null });
  logs = [];
});

afterEach(async () => {
  await forge.stop();
  await cp.close();
  rmSync(root, { recursive: true, force: true });
});

function handlerFor(over: Partial<PullRequestHandlerOptions> = {}) {
  return createPullRequestHandler({
    provider: 'github',
    apiUrl: forge.url,
    repository: 'acme/cfg',
    token: forge.token,
    git: { repo: origin, auth: NO_AUTH, workDir: join(root, 'pr-work'), env: process.env },
    path: 'pools',
    plan: (dir, commit) =>
      planOutcome({ dir, commit, readLive: () => readLiveState(cp), repoPath: 'pools' }),
    logger,
    retry: { maxRetries: 1, minDelayMs: 5, maxDelayMs: 20 },
    ...over,
  });
}

const event = (over: Partial<PullRequestEvent>): PullRequestEvent => ({
  provider: 'github',
  repository: 'acme/cfg',
  number: 7,
  headSha: '',
  headRef: 'feature',
  action: 'opened',
  ...over,
});

describe('pull-request handler (daemon path), end to end with a real Git repository', () => {
  it('plans the head commit against live state, posts one comment and a status, applies nothing', async () => {
    const sha1 = pushPullRequest('refs/pull/7/head', { 'pools/batch.yaml': QUEUE }, 'add queue');
    const handle = handlerFor();
    await handle(event({ headSha: sha1 }));

    const comments = forge.list('github:acme/cfg#7');
    expect(comments).toHaveLength(1);
    const body = comments[0]!.body;
    expect(body.startsWith(commentMarker('pools'))).toBe(true);
    expect(body).toContain(sha1);
    expect(body).toMatch(/Plan: [1-9]\d* to create/);
    expect(body).toContain('ClusterPool/prod');
    expect(body).toContain('Queue/batch');
    // The folder's status, as the CLI names it from the folder's Git prefix.
    expect(forge.statuses.map((s) => [s.sha, s.body.context, s.body.state])).toEqual([
      [sha1, 'poolsync/plan: pools', 'pending'],
      [sha1, 'poolsync/plan: pools', 'success'],
    ]);
    // Never applies anything from a pull request.
    expect((await cp.listPools()).map((p) => p.name)).toEqual(['default']);
    expect((await cp.listQueues()).map((q) => q.name)).toEqual(['default']);

    // A new push: the same comment is edited, now showing the validation error (V2) with its location.
    const sha2 = pushPullRequest(
      'refs/pull/7/head',
      { 'pools/batch.yaml': BROKEN_QUEUE },
      'break it',
    );
    await handle(event({ headSha: sha2, action: 'synchronize' }));
    const after = forge.list('github:acme/cfg#7');
    expect(after).toHaveLength(1);
    expect(after[0]!.body).toContain(sha2);
    expect(after[0]!.body).toMatch(/pools\/batch\.yaml:\d+:\d+: V2/);
    expect(forge.statuses.at(-1)).toMatchObject({ sha: sha2, body: { state: 'failure' } });
  });

  it('ignores other repositories, other providers and actions that do not move the head', async () => {
    const sha = pushPullRequest('refs/pull/7/head', { 'pools/batch.yaml': QUEUE }, 'q');
    const handle = handlerFor();
    await handle(event({ headSha: sha, repository: 'acme/other' }));
    await handle(event({ headSha: sha, action: 'closed' }));
    await handle(event({ headSha: sha, action: 'labeled' }));
    await handle(event({ headSha: sha, provider: 'gitlab' }));
    expect(forge.requests).toHaveLength(0);
  });

  it('a newer push supersedes events still waiting; duplicates are dropped', async () => {
    const sha1 = pushPullRequest('refs/heads/feature', { 'pools/batch.yaml': QUEUE }, 'one');
    const sha2 = pushPullRequest('refs/heads/feature', { 'pools/a.yaml': '# a\n' }, 'two');
    const sha3 = pushPullRequest('refs/pull/7/head', { 'pools/b.yaml': '# b\n' }, 'three');
    const handle = handlerFor();
    await Promise.all([
      handle(event({ headSha: sha1 })),
      handle(event({ headSha: sha2, action: 'synchronize' })),
      handle(event({ headSha: sha3, action: 'synchronize' })),
      handle(event({ headSha: sha3, action: 'synchronize' })),
    ]);
    await handle.idle();
    expect(new Set(forge.statuses.map((s) => s.sha))).toEqual(new Set([sha3]));
    expect(forge.list('github:acme/cfg#7')).toHaveLength(1);
    expect(logs.filter((l) => /superseded/.test(l.msg))).toHaveLength(2);
  });

  for (const provider of ['github', 'gitlab'] as const) {
    it(`${provider}: a late or redelivered event of an older commit never puts its plan back; the head is planned`, async () => {
      const gitlab = provider === 'gitlab';
      const ref = gitlab ? 'refs/merge-requests/2/head' : 'refs/pull/2/head';
      const key = gitlab ? 'gitlab:acme/cfg!2' : 'github:acme/cfg#2';
      const moved = gitlab ? 'update' : 'synchronize';
      const at = (headSha: string, action: string) =>
        event({ provider, number: 2, headSha, action });
      const older = pushPullRequest(ref, { 'pools/batch.yaml': QUEUE }, 'older');
      const handle = handlerFor({ provider });
      await handle(at(older, gitlab ? 'open' : 'opened'));
      const head = pushPullRequest(ref, { 'pools/a.yaml': '# a\n' }, 'head');
      await handle(at(head, moved));
      const statuses = forge.statuses.length;

      // The forge redelivers the older commit's event: nothing is planned, posted or set.
      await handle(at(older, moved));
      expect(forge.list(key)).toHaveLength(1);
      expect(forge.list(key)[0]!.body).toContain(`For commit \`${head}\``);
      expect(forge.statuses).toHaveLength(statuses);
      expect(logs.at(-1)!.msg).toMatch(/superseded: the pull request is at [0-9a-f]{12}/);

      // A daemon that never saw the head's event (lost, or a restart): the older event plans the head.
      const fresh = handlerFor({ provider });
      await fresh(at(older, moved));
      expect(forge.list(key)[0]!.body).toContain(`For commit \`${head}\``);
      expect(forge.statuses.slice(statuses).map((s) => s.sha)).toEqual([head, head]);
      expect(logs.some((l) => /no longer the head: planning the head/.test(l.msg))).toBe(true);
    });
  }

  it('a head that cannot be fetched gives an error comment and status, without credentials', async () => {
    const handle = handlerFor({
      git: { repo: origin, auth: NO_AUTH, workDir: join(root, 'pr-work'), env: process.env },
    });
    forge.heads.set('github:acme/cfg#7', 'f'.repeat(40));
    await handle(event({ headSha: 'f'.repeat(40) }));
    const c = forge.list('github:acme/cfg#7')[0]!;
    expect(c.body).toContain('poolsync could not plan this commit');
    expect(c.body).toContain(`cannot fetch commit ${'f'.repeat(40)}`);
    expect(forge.statuses.at(-1)!.body.state).toBe('error');
    expect(JSON.stringify(logs)).not.toContain(forge.token);
  });

  it('GitLab: fetches refs/merge-requests/N/head and posts a note', async () => {
    const sha = pushPullRequest('refs/merge-requests/3/head', { 'pools/batch.yaml': QUEUE }, 'mr');
    const handle = handlerFor({ provider: 'gitlab', repository: 'acme/cfg', path: './pools/' });
    await handle(event({ provider: 'gitlab', number: 3, headSha: sha, action: 'open' }));
    const notes = forge.list('gitlab:acme/cfg!3');
    expect(notes).toHaveLength(1);
    expect(notes[0]!.body.startsWith(commentMarker('pools'))).toBe(true);
    expect(forge.statuses.map((s) => [s.body.name, s.body.state])).toEqual([
      ['poolsync/plan: pools', 'running'],
      ['poolsync/plan: pools', 'success'],
    ]);
  });

  it('a folder named .config: plans that folder, with the marker the CLI gives it (its Git prefix)', async () => {
    const files = { '.config/prod.yaml': POOL, '.config/batch.yaml': QUEUE };
    const sha = pushPullRequest('refs/pull/7/head', files, 'dot folder');
    const handle = handlerFor({ path: '.config' });
    await handle(event({ headSha: sha }));
    const [comment] = forge.list('github:acme/cfg#7');
    expect(comment!.body.startsWith(commentMarker('.config/'))).toBe(true);
    expect(comment!.body.startsWith('<!-- poolsync:plan path=".config" -->')).toBe(true);
    expect(comment!.body).toContain('Queue/batch');
    expect(forge.statuses.at(-1)!.body.state).toBe('success');
  });
});

describe('every failure after pending ends in a final status (issue 47)', () => {
  it("a comment the token may not post (a fork's read-only token): pending, then error with the reason", async () => {
    const sha = pushPullRequest('refs/pull/7/head', { 'pools/batch.yaml': QUEUE }, 'fork');
    forge.faults.push({
      match: /^POST .*\/issues\/7\/comments$/,
      status: 403,
      body: { message: 'Resource not accessible by integration', documentation_url: 'x' },
    });
    const handle = handlerFor();
    await expect(handle(event({ headSha: sha }))).rejects.toThrow(/refused to comment/);
    expect(forge.statuses.map((s) => [s.sha, s.body.state])).toEqual([
      [sha, 'pending'],
      [sha, 'error'],
    ]);
    expect(forge.statuses[1]!.body.description).toMatch(
      /^Could not post the plan comment: GitHub refused/,
    );
  });

  it('GitLab: a foreign note with the marker is left alone; poolsync posts its own and the status succeeds', async () => {
    const sha = pushPullRequest('refs/merge-requests/3/head', { 'pools/batch.yaml': QUEUE }, 'mr');
    forge.seed('gitlab:acme/cfg!3', [
      {
        body: `${commentMarker('pools')}\nnot poolsync's`,
        author: { login: 'eve', id: 5, type: 'User' },
      },
    ]);
    const handle = handlerFor({ provider: 'gitlab' });
    await handle(event({ provider: 'gitlab', number: 3, headSha: sha, action: 'open' }));
    expect(forge.list('gitlab:acme/cfg!3').map((n) => n.author.login)).toEqual([
      'eve',
      'poolsync-bot',
    ]);
    expect(forge.statuses.map((s) => s.body.state)).toEqual(['running', 'success']);
  });

  it('a primary limit used up by the pending status: no request before its reset, then the status ends with error', async () => {
    const sha = pushPullRequest('refs/pull/7/head', { 'pools/batch.yaml': QUEUE }, 'limited');
    const clock = fakeClock();
    forge.now = clock.now;
    const reset = clock.now() + 3_600_000;
    // The pull request's head, GET /user and the pending status.
    forge.rateLimits.set(forge.token, { remaining: 3, reset });
    const handle = handlerFor({ retry: { maxRetries: 1, minDelayMs: 5, maxDelayMs: 20, clock } });
    await expect(handle(event({ headSha: sha }))).rejects.toThrow(
      /rate limit: no request may be sent until/,
    );
    await until('the final status', () => forge.statuses.length === 2);
    expect(forge.statuses.map((s) => s.body.state)).toEqual(['pending', 'error']);
    expect(forge.statuses[1]!.body.description).toMatch(
      /^Could not post the plan comment: GitHub rate limit/,
    );
    const last = forge.requests.at(-1)!;
    expect(last.at).toBeGreaterThanOrEqual(reset);
    // Between the pending status and the reset, nothing was sent.
    expect(forge.requests.filter((q) => q.at < reset)).toHaveLength(3);
  });

  it('a secondary limit it will not wait for: no request inside the window GitHub names, then the status ends with error (issue 59)', async () => {
    const sha = pushPullRequest('refs/pull/7/head', { 'pools/batch.yaml': QUEUE }, 'secondary');
    const clock = fakeClock();
    forge.now = clock.now;
    forge.faults.push({
      match: /^POST .*\/issues\/7\/comments$/,
      status: 403,
      headers: { 'retry-after': '3600' },
      body: {
        message:
          'You have exceeded a secondary rate limit. Please wait a few minutes before you try again.',
        documentation_url: 'https://docs.github.com/rest/overview/rate-limits-for-the-rest-api',
      },
    });
    const handle = handlerFor({ retry: { maxRetries: 1, minDelayMs: 5, maxDelayMs: 20, clock } });
    await expect(handle(event({ headSha: sha }))).rejects.toThrow(
      /rate limit: no request may be sent until/,
    );
    const limited = forge.requests.find((q) => q.method === 'POST' && q.url.endsWith('/comments'))!;
    const window = limited.at + 3_600_000;
    await until('the final status', () => forge.statuses.length === 2);
    expect(forge.statuses.map((s) => s.body.state)).toEqual(['pending', 'error']);
    // Inside the window nothing after the limited request; the error status once it ended.
    const after = forge.requests.slice(forge.requests.indexOf(limited) + 1);
    expect(after.length).toBeGreaterThan(0);
    expect(after.filter((q) => q.at < window).map((q) => `${q.method} ${q.url}`)).toEqual([]);
  });
});

describe('the pull request checkout (issue 79 item 2)', () => {
  it('fetches and checks out a head with no timer: no git command is followed by a wait', async () => {
    // simple-git waited 50 ms after each command that printed nothing (the quiet fetch, the
    // checkout, the clean). With the clock frozen such a wait never ends.
    const checkedOut = pullRequestCheckout(
      { repo: origin, auth: NO_AUTH, workDir: join(root, 'pr-work'), env: process.env },
      'pools',
      new Redactor([]),
    );
    const first = pushPullRequest('refs/pull/7/head', { 'pools/a.yaml': 'a: 1\n' }, 'first');
    // The clone set up (simple-git, once) before the clock stops.
    await checkedOut({ provider: 'github', number: 7, headSha: first });
    const head = pushPullRequest('refs/pull/7/head', { 'pools/a.yaml': 'a: 2\n' }, 'second');
    vi.useFakeTimers();
    try {
      const dir = await checkedOut({ provider: 'github', number: 7, headSha: head });
      expect(readFileSync(join(dir, 'a.yaml'), 'utf8')).toBe('a: 2\n');
      // A commit the clone has already: no fetch, checked out again.
      const back = await checkedOut({ provider: 'github', number: 7, headSha: first });
      expect(readFileSync(join(back, 'a.yaml'), 'utf8')).toBe('a: 1\n');
    } finally {
      vi.useRealTimers();
    }
  });
});
