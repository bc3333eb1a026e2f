/**
 * One pull-request comment for every environment (docs/environments.md): `plan --env all
 * --comment` posts one sticky comment with a collapsible section per environment (its counts
 * in the summary line), and one commit status, the worst of the environments'. Real Git
 * checkout, the local forge over HTTP, the CLI as a child process, two `file:` control planes.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildComments } from '../../src/vcs/comment.js';
import { statusState } from '../../src/vcs/publish.js';
import type { PublishOutcome } from '../../src/vcs/types.js';
import { runCli } from '../support/cli.js';
import { git as gitIn } from '../daemon/helpers.js';
import { FakeForge } from '../support/fake-forge.js';
import { twoEnvironments, writeFiles } from './helpers.js';

let root: string;
let repo: string;
let forge: FakeForge;
let head: string;

const git = (...args: string[]): string => gitIn(repo, ...args);

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'poolsync-env-comment-'));
  repo = join(root, 'repo');
  await writeFiles(repo, {
    ...twoEnvironments({ dev: 'file:../state/dev.json', prod: 'file:../state/prod.json' }),
    '../state/.keep': '',
  });
  git('init', '-q', '-b', 'main');
  git('add', '.');
  git('commit', '-q', '-m', 'environments');
  head = git('rev-parse', 'HEAD');
  forge = await new FakeForge().start();
});
afterAll(async () => {
  await forge.stop();
  await rm(root, { recursive: true, force: true });
});

describe('a pull request with environments', () => {
  it('gets one comment, a section per environment with its counts, and one status', async () => {
    const args = ['plan', repo, '--env', 'all', '--comment', 'github', '--repo', 'acme/cfg'];
    const r = await runCli([...args, '--pr', '9', '--api-url', forge.url], {
      GITHUB_TOKEN: forge.token,
      // Pull-request mode: the environments' control planes and credentials are the base's.
      POOLSYNC_BASE_REF: head,
    });
    expect(r.code, r.stderr).toBe(0);
    const comments = forge.list('github:acme/cfg#9');
    expect(comments).toHaveLength(1);
    const body = comments[0]!.body;
    expect(body).toContain(head.slice(0, 7));
    expect(body).toMatch(/<details><summary><b>dev<\/b>: Plan: 3 to create, 0 to update/);
    expect(body).toMatch(/<details><summary><b>prod<\/b>: Plan: 3 to create, 0 to update/);
    const dev = body.slice(body.indexOf('<b>dev</b>'), body.indexOf('<b>prod</b>'));
    expect(dev).toContain('Cluster/c-dev');
    expect(dev).not.toContain('c-prod');
    expect(body.slice(body.indexOf('<b>prod</b>'))).toContain('Cluster/c-prod');
    expect(forge.statuses.at(-1)).toMatchObject({
      sha: head,
      body: { state: 'success', context: 'poolsync/plan' },
    });
    expect(String(forge.statuses.at(-1)!.body.description)).toMatch(
      /^dev: Plan: 3 to create.*; prod: Plan: 3 to create/,
    );

    // An environment made invalid: its section opens with the errors, the status fails,
    // and the same comment is edited in place.
    await writeFiles(repo, { 'prod/cluster.yaml': 'kind: Cluster\nmetadata: {name: c-prod}\n' });
    const again = await runCli([...args, '--pr', '9', '--api-url', forge.url], {
      GITHUB_TOKEN: forge.token,
      // Pull-request mode: the environments' control planes and credentials are the base's.
      POOLSYNC_BASE_REF: head,
    });
    expect(again.code).toBe(1);
    const edited = forge.list('github:acme/cfg#9');
    expect(edited).toHaveLength(1);
    expect(edited[0]!.body).toMatch(/<details open><summary><b>prod<\/b>: invalid \(\d+ errors?\)/);
    expect(edited[0]!.body).toMatch(/<details><summary><b>dev<\/b>: Plan: 3 to create/);
    expect(forge.statuses.at(-1)!.body).toMatchObject({ state: 'failure' });
  });

  it('a push run without --pr is refused once, before any environment is planned', async () => {
    const r = await runCli(['plan', repo, '--env', 'all', '--comment', 'github'], {
      GITHUB_TOKEN: forge.token,
      GITHUB_ACTIONS: 'true',
      GITHUB_EVENT_NAME: 'push',
      GITHUB_REPOSITORY: 'acme/cfg',
    });
    expect(r.code).toBe(1);
    expect(r.stdout + r.stderr).toMatch(
      /^Error: --comment github needs --pr, the pull request number \(a positive integer\): this run is not for a pull request \(it is for push\); run the job `on: pull_request`/m,
    );
    expect((r.stdout + r.stderr).match(/needs --pr/g)).toHaveLength(1);
    expect(r.stdout + r.stderr).not.toMatch(/environments failed|Environment: /);
  });

  it('shares the size limit: an environment too large is shortened on its own', () => {
    const big = 'x'.repeat(5000);
    const outcome: PublishOutcome = {
      kind: 'environments',
      environments: [
        { name: 'dev', outcome: { kind: 'error', message: 'short' } },
        {
          name: 'prod',
          outcome: { kind: 'invalid', errorsText: `${big}\n`.repeat(10), errorCount: 10 },
        },
      ],
    };
    const body = buildComments({ outcome, commit: 'abc1234', limit: 20_000 }).body;
    expect(body.length).toBeLessThanOrEqual(20_000);
    expect(body).toContain('<b>dev</b>: could not plan');
    expect(body).toMatch(/more lines? omitted/);
    expect(statusState(outcome)).toBe('error');
  });
});

describe('comment commands', () => {
  it('take an environment with -e or --env, as Atlantis takes -p', async () => {
    const { parseCommentCommand } = await import('../../src/vcs/comment.js');
    expect(parseCommentCommand('poolsync apply')).toEqual({ command: 'apply', environment: null });
    expect(parseCommentCommand('poolsync apply -e prod\nLGTM\n')).toEqual({
      command: 'apply',
      environment: 'prod',
    });
    expect(parseCommentCommand('poolsync apply --env=eu-west-1')!.environment).toBe('eu-west-1');
    expect(parseCommentCommand('poolsync apply -e Prod')).toBeNull();
    expect(parseCommentCommand('poolsync apply -e prod now')).toBeNull();
    expect(parseCommentCommand('please poolsync apply')).toBeNull();
  });

  it("read in any case (a phone's `Poolsync apply`); approve-policies with any digest, refused by the digest check and never ignored", async () => {
    const { parseCommentCommand, parsePolicyApproval } = await import('../../src/vcs/comment.js');
    expect(parseCommentCommand('Poolsync Apply -e prod')).toEqual({
      command: 'apply',
      environment: 'prod',
    });
    expect(parsePolicyApproval('Poolsync approve-policies sha256:08eb4328 ok')).toEqual({
      digest: 'sha256:08eb4328',
      why: 'ok',
      environment: null,
    });
    expect(parsePolicyApproval('poolsync approve-policies')!.digest).toBe('');
    expect(parsePolicyApproval('please poolsync approve-policies sha256:08eb4328')).toBeNull();
  });

  it('count only as the whole first line: never inside code, a quote or other text (issue 59)', async () => {
    const { parseCommentCommand } = await import('../../src/vcs/comment.js');
    for (const body of [
      'do not apply yet\n\n```\npoolsync apply\n```',
      'do not apply yet:\npoolsync apply',
      '> poolsync apply\n\nnot yet',
      '    poolsync apply',
      '\tpoolsync apply',
      '```\npoolsync apply\n```',
      '`poolsync apply`',
      '\npoolsync apply',
    ])
      expect(parseCommentCommand(body), JSON.stringify(body)).toBeNull();
    expect(parseCommentCommand('   poolsync apply  \r\nreviewed the held deletes')).toEqual({
      command: 'apply',
      environment: null,
    });
  });
});

describe('a signed comment webhook', () => {
  it('carries the environment of `poolsync apply -e NAME` to the approval handler', async () => {
    const { githubSignature, handleGithubWebhook } = await import('../../src/daemon/webhooks.js');
    const secret = 'webhook-secret-env';
    const deliver = (text: string) => {
      const body = Buffer.from(
        JSON.stringify({
          action: 'created',
          issue: { number: 4, pull_request: {} },
          comment: { body: text, user: { login: 'alice' } },
          repository: { full_name: 'acme/cfg' },
        }),
      );
      const headers = {
        'x-github-event': 'issue_comment',
        'x-hub-signature-256': githubSignature(secret, body),
      };
      return handleGithubWebhook({ headers, body }, { secret, branch: 'main' });
    };
    const withEnv = deliver('poolsync apply -e production');
    expect(withEnv).toMatchObject({ status: 202, result: 'comment' });
    expect((withEnv as { event: { environment?: string } }).event.environment).toBe('production');
    const plain = deliver('poolsync apply');
    expect((plain as { event: { environment?: string } }).event.environment).toBeUndefined();
    expect(deliver('poolsync apply -e Production')).toMatchObject({ result: 'ignored' });
  });
});
