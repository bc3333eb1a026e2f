import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import yargs from 'yargs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { UserError } from '../../src/util/user-error.js';
import { commentMarker } from '../../src/vcs/comment.js';
import {
  describePublish,
  publishFromCliArgs,
  resolveCommentTarget,
} from '../../src/vcs/cli-options.js';
import { pullRequestCommentOptions } from '../../src/vcs/comment-options.js';
import { FakeForge } from '../support/fake-forge.js';
import { makePlan } from './plan-fixture.js';

let root: string;
let repo: string;
let head: string;

function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, {
    cwd,
    encoding: 'utf8',
    env: {
      ...process.env,
      GIT_AUTHOR_NAME: 't',
      GIT_AUTHOR_EMAIL: 't@example.com',
      GIT_COMMITTER_NAME: 't',
      GIT_COMMITTER_EMAIL: 't@example.com',
    },
  }).trim();
}

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'poolsync-vcs-cli-'));
  repo = join(root, 'repo');
  mkdirSync(join(repo, 'teams', 'a'), { recursive: true });
  writeFileSync(join(repo, 'teams', 'a', 'pools.yaml'), 'x: 1\n');
  git(repo, 'init', '-q', '-b', 'main');
  git(repo, 'add', '.');
  git(repo, 'commit', '-q', '-m', 'init');
  head = git(repo, 'rev-parse', 'HEAD');
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('resolveCommentTarget', () => {
  it('needs the token from the environment, never a flag', async () => {
    await expect(
      resolveCommentTarget({ comment: 'github', repo: 'a/b', pr: 1, dir: repo }, {}),
    ).rejects.toThrow(/GITHUB_TOKEN environment variable/);
    await expect(
      resolveCommentTarget({ comment: 'gitlab', repo: 'a/b', pr: 1, dir: repo }, {}),
    ).rejects.toThrow(/GITLAB_TOKEN/);
  });

  it('says what is missing: --repo, --pr', async () => {
    const env = { GITHUB_TOKEN: 'forge-token-1' };
    await expect(
      resolveCommentTarget({ comment: 'github', pr: 1, dir: repo }, env),
    ).rejects.toThrow(/needs --repo/);
    await expect(
      resolveCommentTarget({ comment: 'github', repo: 'a/b', dir: repo }, env),
    ).rejects.toThrow(UserError);
    await expect(
      resolveCommentTarget({ comment: 'github', repo: 'a/b', pr: -2, dir: repo }, env),
    ).rejects.toThrow(/needs --pr.*got -2/);
    // As CI gave it: GitLab's variable is text (it said "got NaN").
    const ci = { GITLAB_TOKEN: 'forge-token-1', GITLAB_CI: 'true', CI_MERGE_REQUEST_IID: 'abc' };
    await expect(
      resolveCommentTarget({ comment: 'gitlab', repo: 'g/p', dir: repo }, ci),
    ).rejects.toThrow(/needs --pr, the merge request iid \(a positive integer\), got abc\./);
  });

  it('in CI, says the job runs for something else than a pull request', async () => {
    const github = {
      GITHUB_TOKEN: 'forge-token-1',
      GITHUB_ACTIONS: 'true',
      GITHUB_EVENT_NAME: 'push',
    };
    await expect(
      resolveCommentTarget(
        { comment: 'github', dir: repo },
        { ...github, GITHUB_REPOSITORY: 'a/b' },
      ),
    ).rejects.toThrow(
      /needs --pr, the pull request number \(a positive integer\): this run is not for a pull request \(it is for push\); run the job `on: pull_request`/,
    );
    await expect(resolveCommentTarget({ comment: 'github', dir: repo }, github)).rejects.toThrow(
      /needs --repo \(owner\/name\); GitHub Actions gives it \(GITHUB_REPOSITORY\)/,
    );
    const gitlab = { GITLAB_TOKEN: 'forge-token-1', GITLAB_CI: 'true', CI_PROJECT_ID: '7' };
    await expect(resolveCommentTarget({ comment: 'gitlab', dir: repo }, gitlab)).rejects.toThrow(
      /: this pipeline is not for a merge request \(CI_MERGE_REQUEST_IID is unset\); run the job in merge request pipelines/,
    );
    // Outside CI, only the flag is named.
    await expect(
      resolveCommentTarget(
        { comment: 'gitlab', repo: 'g/p', dir: repo },
        { GITLAB_TOKEN: 'forge-token-1' },
      ),
    ).rejects.toThrow(/needs --pr, the merge request iid \(a positive integer\)\.$/);
  });

  it("a pull request's run whose event file cannot be read says so, and how to pass it in", async () => {
    const malformed = join(root, 'event.json');
    writeFileSync(malformed, '{"pull_request": ');
    const env = {
      GITHUB_TOKEN: 'forge-token-1',
      GITHUB_ACTIONS: 'true',
      GITHUB_EVENT_NAME: 'pull_request',
      GITHUB_REPOSITORY: 'a/b',
    };
    const fix =
      ', so this run\'s pull request is unknown; in a container, pass the file in (-e GITHUB_EVENT_PATH -v "$GITHUB_EVENT_PATH:$GITHUB_EVENT_PATH"), or pass --pr N.';
    for (const [path, why] of [
      [undefined, 'GITHUB_EVENT_PATH is not set'],
      [
        join(root, 'absent.json'),
        `the event file ${join(root, 'absent.json')} (GITHUB_EVENT_PATH) does not exist`,
      ],
      [root, `the event file ${root} (GITHUB_EVENT_PATH) cannot be read (EISDIR)`],
      [malformed, `the event file ${malformed} (GITHUB_EVENT_PATH) is not a JSON object`],
    ]) {
      const err = await resolveCommentTarget(
        { comment: 'github', dir: repo },
        { ...env, GITHUB_EVENT_PATH: path },
      ).catch((e: unknown) => e as Error);
      expect((err as Error).message).toBe(
        `--comment github needs --pr, the pull request number (a positive integer): ${why}${fix}`,
      );
    }
  });

  it('defaults the commit to HEAD of DIR and keys the comment by the folder inside the repository', async () => {
    const t = await resolveCommentTarget(
      { comment: 'github', repo: 'a/b', pr: 3, dir: join(repo, 'teams', 'a') },
      { GITHUB_TOKEN: 'forge-token-1' },
    );
    expect(t).toMatchObject({
      provider: 'github',
      repository: 'a/b',
      number: 3,
      commit: head,
      key: 'teams/a',
    });
    const rootTarget = await resolveCommentTarget(
      { comment: 'github', repo: 'a/b', pr: 3, dir: repo },
      { GITHUB_TOKEN: 'forge-token-1' },
    );
    expect(rootTarget.key).toBe('');
  });

  it('outside a Git repository, --commit is required and must be a SHA', async () => {
    const plain = mkdtempSync(join(tmpdir(), 'poolsync-vcs-nogit-'));
    try {
      await expect(
        resolveCommentTarget(
          { comment: 'github', repo: 'a/b', pr: 3, dir: plain },
          { GITHUB_TOKEN: 'forge-token-1' },
        ),
      ).rejects.toThrow(/not inside a Git repository, so pass --commit/);
      await expect(
        resolveCommentTarget(
          { comment: 'github', repo: 'a/b', pr: 3, dir: plain, commit: 'main' },
          { GITHUB_TOKEN: 'forge-token-1' },
        ),
      ).rejects.toThrow(/--commit must be a commit SHA/);
    } finally {
      rmSync(plain, { recursive: true, force: true });
    }
  });

  it('GitHub Actions: repository, number, API URL and the head (not merge) commit come from the event', async () => {
    const eventPath = join(root, 'event.json');
    writeFileSync(
      eventPath,
      JSON.stringify({ number: 9, pull_request: { number: 9, head: { sha: 'f'.repeat(40) } } }),
    );
    const t = await resolveCommentTarget(
      { comment: 'github', dir: repo },
      {
        GITHUB_TOKEN: 'forge-token-1',
        GITHUB_ACTIONS: 'true',
        GITHUB_REPOSITORY: 'acme/cfg',
        GITHUB_API_URL: 'https://ghe.acme.io/api/v3',
        GITHUB_EVENT_PATH: eventPath,
      },
    );
    expect(t).toMatchObject({
      repository: 'acme/cfg',
      number: 9,
      apiUrl: 'https://ghe.acme.io/api/v3',
      commit: 'f'.repeat(40),
    });
  });

  it('GitLab CI: project, iid, API URL and the source-branch head; flags win over CI values', async () => {
    const env = {
      GITLAB_TOKEN: 'forge-token-1',
      GITLAB_CI: 'true',
      CI_PROJECT_ID: '77',
      CI_API_V4_URL: 'https://git.acme.io/api/v4',
      CI_MERGE_REQUEST_IID: '5',
      CI_MERGE_REQUEST_SOURCE_BRANCH_SHA: 'e'.repeat(40),
      CI_COMMIT_SHA: 'd'.repeat(40),
    };
    expect(await resolveCommentTarget({ comment: 'gitlab', dir: repo }, env)).toMatchObject({
      repository: '77',
      number: 5,
      apiUrl: 'https://git.acme.io/api/v4',
      commit: 'e'.repeat(40),
    });
    expect(
      await resolveCommentTarget(
        { comment: 'gitlab', dir: repo, pr: 6, repo: 'g/p', commit: 'abcdef1' },
        env,
      ),
    ).toMatchObject({ repository: 'g/p', number: 6, commit: 'abcdef1' });
  });
});

describe('publishFromCliArgs', () => {
  let forge: FakeForge;
  beforeAll(async () => {
    forge = await new FakeForge().start();
  });
  afterAll(async () => {
    await forge.stop();
  });
  afterEach(() => {
    forge.faults.length = 0;
  });

  it('does nothing without --comment', async () => {
    const plan = makePlan({});
    expect(await publishFromCliArgs({ dir: repo }, { kind: 'plan', plan }, {})).toBeNull();
  });

  it('parses the options with yargs and posts the plan', async () => {
    const argv = await yargs([
      '--comment',
      'github',
      '--pr',
      '4',
      '--repo',
      'acme/cfg',
      '--api-url',
      forge.url,
    ])
      .options(pullRequestCommentOptions)
      .strict()
      .parseAsync();
    const plan = makePlan({ queueUpdates: 2 });
    const r = await publishFromCliArgs(
      { ...argv, dir: join(repo, 'teams', 'a') },
      { kind: 'plan', plan },
      { GITHUB_TOKEN: forge.token },
    );
    expect(r?.comment).toBe('created');
    const c = forge.list('github:acme/cfg#4');
    expect(c).toHaveLength(1);
    expect(c[0]!.body.startsWith(commentMarker('teams/a'))).toBe(true);
    expect(forge.statuses.at(-1)!.sha).toBe(head);
    expect(describePublish(r!)).toMatch(
      /^Plan comment created: https:\/\/.*; status "poolsync\/plan: teams\/a": success \(Plan: /,
    );
  });

  it('API failures become UserErrors without the token', async () => {
    const plan = makePlan({});
    const err = await publishFromCliArgs(
      { comment: 'github', pr: 4, repo: 'acme/cfg', 'api-url': forge.url, dir: repo },
      { kind: 'plan', plan },
      { GITHUB_TOKEN: 'wrong-s3cret-value' },
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as Error).message).toMatch(/401/);
    expect((err as Error).message).not.toContain('wrong-s3cret-value');
  });
});
