/**
 * `poolsync plan --comment github|gitlab` end to end: the CLI in process, a real Git
 * checkout of the example repository, the embedded control plane on disk, and the local
 * GitHub/GitLab API. Run twice: the second run edits the one sticky comment.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runInProcess } from '../support/memory-io.js';
import { FakeForge } from '../support/fake-forge.js';

const ROOT = resolve(import.meta.dirname, '../..');
let dir: string;
let repo: string;
let head: string;
let forge: FakeForge;

function git(...args: string[]): string {
  return execFileSync('git', args, {
    cwd: repo,
    encoding: 'utf8',
    env: {
      ...process.env,
      GIT_AUTHOR_NAME: 't',
      GIT_AUTHOR_EMAIL: 't@e.x',
      GIT_COMMITTER_NAME: 't',
      GIT_COMMITTER_EMAIL: 't@e.x',
    },
  }).trim();
}

function plan(extra: string[], env: Record<string, string>) {
  const args = ['plan', repo, '--no-color', '--control-plane', `file:${join(dir, 'cp.json')}`];
  return runInProcess([...args, ...extra], { ...process.env, ...env });
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'poolsync-plan-comment-'));
  repo = join(dir, 'repo');
  cpSync(join(ROOT, 'examples/config-repo'), repo, { recursive: true });
  execFileSync('git', ['init', '-q', '-b', 'main', repo]);
  git('add', '.');
  git('commit', '-q', '-m', 'example');
  head = git('rev-parse', 'HEAD');
  forge = await new FakeForge().start();
});
afterAll(async () => {
  await forge.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('poolsync plan --comment', () => {
  it('posts one sticky GitHub comment and a status, and edits it on the next run', async () => {
    const args = ['--comment', 'github', '--repo', 'acme/cfg', '--pr', '7', '--api-url', forge.url];
    const env = { GITHUB_TOKEN: forge.token };
    const first = await plan(args, env);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stderr).toMatch(/Plan comment created/);
    expect(first.stdout + first.stderr).not.toContain(forge.token);
    const comments = forge.list('github:acme/cfg#7');
    expect(comments).toHaveLength(1);
    expect(comments[0]!.body).toContain('Plan: ');
    expect(comments[0]!.body).toContain(head.slice(0, 7));
    expect(forge.statuses.at(-1)).toMatchObject({
      sha: head,
      body: { state: 'success', context: 'poolsync/plan' },
    });
    const auth = forge.requests.find((r) => r.method === 'POST')!.headers.authorization;
    expect(auth).toMatch(/^(Bearer|token) test-token-s3cr3t-\d+$/);

    const second = await plan(args, env);
    expect(second.code, second.stderr).toBe(0);
    expect(forge.list('github:acme/cfg#7')).toHaveLength(1);
  });

  it("never edits another user's comment that carries the marker (issue 47)", async () => {
    const forged = '<!-- poolsync:plan -->\nPlan: 0 to create, 0 to update. Approve away.';
    forge.seed('github:acme/cfg#11', [
      { body: forged, author: { login: 'mallory', id: 666, type: 'User' } },
    ]);
    const args = [
      '--comment',
      'github',
      '--repo',
      'acme/cfg',
      '--pr',
      '11',
      '--api-url',
      forge.url,
    ];
    const r = await plan(args, { GITHUB_TOKEN: forge.token });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/Plan comment created/);
    const comments = forge.list('github:acme/cfg#11');
    expect(comments.map((c) => c.author.login)).toEqual(['mallory', 'poolsync-bot']);
    expect(comments[0]!.body).toBe(forged);
  });

  it('comments the validation errors of an invalid repository and fails the status (GitLab)', async () => {
    writeFileSync(
      join(repo, 'broken.yaml'),
      'apiVersion: poolsync/v1\nkind: Queue\nmetadata: {name: Bad_Name}\nspec: {}\n',
    );
    const r = await plan(
      [
        '--comment',
        'gitlab',
        '--repo',
        'group/proj',
        '--pr',
        '3',
        '--api-url',
        forge.url,
        '--commit',
        head,
      ],
      { GITLAB_TOKEN: forge.token },
    );
    // docs/pull-request-comments.md: `--output markdown` prints the comment's body.
    const markdown = await plan(['--output', 'markdown'], {});
    rmSync(join(repo, 'broken.yaml'));
    expect(r.code).toBe(1);
    const notes = forge.list('gitlab:group/proj!3');
    expect(notes).toHaveLength(1);
    expect(notes[0]!.body).toMatch(/broken\.yaml:3:\d+/);
    expect(markdown.code).toBe(1);
    expect(markdown.stdout).toMatch(/^\*\*The repository is invalid \(\d+ errors?\)/);
    expect(notes[0]!.body).toContain(markdown.stdout.trim());
    expect(forge.statuses.at(-1)!.sha).toBe(head);
    expect(JSON.stringify(forge.statuses.at(-1)!.body)).toMatch(/failed|failure/);
  });

  it("two folders of one repository get a status each: one's success never hides another's failure", async () => {
    const mono = join(dir, 'mono');
    for (const team of ['a', 'b'])
      cpSync(join(ROOT, 'examples/config-repo'), join(mono, 'teams', team), { recursive: true });
    writeFileSync(
      join(mono, 'teams/a/broken.yaml'),
      'apiVersion: poolsync/v1\nkind: Queue\nmetadata: {name: Bad_Name}\nspec: {}\n',
    );
    execFileSync('git', ['init', '-q', '-b', 'main', mono]);
    execFileSync('git', ['-C', mono, 'add', '.']);
    execFileSync('git', [
      '-C',
      mono,
      '-c',
      'user.name=t',
      '-c',
      'user.email=t@e.x',
      'commit',
      '-qm',
      'teams',
    ]);
    const plan = (team: string) =>
      runInProcess(
        [
          'plan',
          join(mono, 'teams', team),
          '--control-plane',
          `file:${join(dir, `${team}.json`)}`,
          ...['--comment', 'github', '--repo', 'acme/cfg', '--pr', '21', '--api-url', forge.url],
        ],
        { ...process.env, GITHUB_TOKEN: forge.token },
      );
    const before = forge.statuses.length;
    expect((await plan('a')).code).toBe(1);
    const b = await plan('b');
    expect(b.code, b.stderr).toBe(0);
    expect(b.stderr).toContain('status "poolsync/plan: teams/b": success');
    expect(forge.statuses.slice(before).map((s) => [s.body.context, s.body.state])).toEqual([
      ['poolsync/plan: teams/a', 'failure'],
      ['poolsync/plan: teams/b', 'success'],
    ]);
    expect(forge.list('github:acme/cfg#21')).toHaveLength(2);
  });

  it('refuses without a token, naming the environment variable', async () => {
    const r = await plan(
      ['--comment', 'github', '--repo', 'acme/cfg', '--pr', '7', '--api-url', forge.url],
      { GITHUB_TOKEN: '' },
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/GITHUB_TOKEN/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});

/** A real HTTP server answering `status` to every request, as a broken or wrong API does. */
async function answering(status: number): Promise<{ url: string; server: Server }> {
  const server = createServer((_req, res) => {
    res.writeHead(status, { 'content-type': 'application/json' }).end('{"message":"no"}');
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}
const close = (server: Server) => new Promise((done) => server.close(done));

describe('poolsync plan --comment, when the comment cannot be posted', () => {
  // No retry fits in a short call timeout's room: a 500 or a refused connection ends in a second.
  const env = (provider: string) => ({
    [provider === 'github' ? 'GITHUB_TOKEN' : 'GITLAB_TOKEN']: 'tok-s3cr3t',
    POOLSYNC_CALL_TIMEOUT: '1s',
  });
  const target = (provider: string, url: string) => [
    ...['--comment', provider, '--repo', 'acme/pools', '--pr', '7', '--api-url', url],
    ...['--commit', head, '--detailed-exitcode'],
  ];

  for (const provider of ['github', 'gitlab'])
    for (const status of [401, 403, 404, 500, 0])
      it(`${provider}, ${status || 'nothing listening'}: the plan is printed first, then one line, exit 1`, async () => {
        const api = await answering(status || 200);
        // 0: the port just freed, where nothing listens.
        if (!status) await close(api.server);
        try {
          const r = await plan(target(provider, api.url), env(provider));
          expect(r.stdout).toMatch(/^Plan: \d+ to create/m);
          expect(r.stdout).not.toContain('Plan comment');
          expect(r.stderr.trim().split('\n')).toHaveLength(1);
          expect(r.stdout + r.stderr).not.toContain('tok-s3cr3t');
          // Changes (2 with --detailed-exitcode) or not, a lost comment fails the job.
          expect(r.code, r.stderr).toBe(1);
        } finally {
          if (status) await close(api.server);
        }
      });

  it('a 404 from a call that names no repository says the API URL looks wrong, naming it', async () => {
    const api = await answering(404);
    try {
      for (const provider of ['github', 'gitlab']) {
        const r = await plan(target(provider, api.url), env(provider));
        const suffix = provider === 'github' ? 'v3' : 'v4';
        expect(r.stderr).toContain(`404 to GET ${api.url}/api/${suffix}/user`);
        expect(r.stderr).toMatch(
          /API URL looks wrong\. Check --api-url \(or (GITHUB_API_URL|CI_API_V4_URL)/,
        );
        expect(r.stderr).not.toMatch(/could not find|Check --repo/);
      }
    } finally {
      await close(api.server);
    }
  });

  it('a redirect is not followed: says where it leads (no credentials, no query) and the API URL to give if trusted', async () => {
    let status = 301;
    let location = (path: string) => `https://bob:l0cation-s3cret@forge.example${path}?sig=q5ecret`;
    const server = createServer((req, res) => {
      res.writeHead(status, { location: location(req.url!.split('?')[0]!) }).end();
    });
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      for (const [provider, api, setting] of [
        ['github', '/api/v3', '--api-url (or GITHUB_API_URL)'],
        [
          'gitlab',
          '/api/v4',
          '--api-url (or CI_API_V4_URL in GitLab CI, GITLAB_API_URL for the daemon)',
        ],
      ] as const) {
        const name = provider === 'github' ? 'GitHub' : 'GitLab';
        const said = (code: number) =>
          `Error: ${name} API answered HTTP ${code} to read who the token is, a redirect to https://forge.example${api}/user, which poolsync does not follow (the token would be sent to it)`;
        for (status of [301, 302, 307, 308]) {
          const r = await plan(target(provider, url), env(provider));
          expect(r.code).toBe(1);
          expect(r.stderr.trim()).toBe(
            `${said(status)}: if that address is trusted, correct ${setting} to https://forge.example${api}.`,
          );
          expect(r.stderr).not.toMatch(/s3cret|q5ecret/);
        }
        // Elsewhere in the same API: its URL is right, the repository moved.
        status = 301;
        location = (path) => `${url}${api}/moved${path.slice(api.length)}`;
        const r = await plan(target(provider, url), env(provider));
        expect(r.stderr.trim()).toBe(
          `Error: ${name} API answered HTTP 301 to read who the token is, a redirect to ${url}${api}/moved/user, which poolsync does not follow (the token would be sent to it): the ${provider === 'github' ? 'repository' : 'project'} may have been renamed or moved: check --repo.`,
        );
        location = (path) => `https://bob:l0cation-s3cret@forge.example${path}?sig=q5ecret`;
      }
    } finally {
      await close(server);
    }
  });
});
