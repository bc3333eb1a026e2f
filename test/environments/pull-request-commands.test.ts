/**
 * Pull-request mode holds for every command that opens a control plane (issue 59 item 1), not
 * only `plan`: a pull request whose poolsync.yaml points environment prod (a flyteadmin) at a
 * catcher on 127.0.0.1, run by each command in a GitHub pull_request run, a GitLab
 * merge-request pipeline, with POOLSYNC_BASE_REF, and in a shallow clone (no base to read).
 * POOLSYNC_FLYTE_CLIENT_SECRET is in the environment, unbound, as the example workflows had it:
 * the catcher records every request and must hear none. A real Git repository; the commands
 * run in process.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';
import { tempFolder } from '../support/temp-folder.js';
import { catcher, oauthCatcher, twoEnvironments, writeFiles } from './helpers.js';

const SECRET = 'flyte-client-secret-issue59-0123456789';
const FLYTE = 'flyteadmin+http://127.0.0.1:9';

let root: string;
let repo: string;
let shallow: string;
let base: string;
let caught: Awaited<ReturnType<typeof catcher>>;

const git = (cwd: string, ...args: string[]) =>
  execFileSync('git', args, { cwd, encoding: 'utf8', stdio: 'pipe' }).trim();
const commit = (cwd: string, message: string) =>
  git(cwd, '-c', 'user.email=t@example.com', '-c', 'user.name=t', 'commit', '-qam', message);

beforeAll(async () => {
  root = tempFolder('poolsync-pr-commands-');
  repo = join(root, 'repo');
  caught = await catcher(oauthCatcher);
  const files = twoEnvironments({ dev: 'file:dev.json', prod: FLYTE });
  await writeFiles(repo, files);
  git(repo, 'init', '-q', '-b', 'main');
  git(repo, 'add', '.');
  commit(repo, 'base');
  base = git(repo, 'rev-parse', 'HEAD');
  // The pull request: prod's control plane is the catcher, and dev has a change to promote.
  const hostile = files['poolsync.yaml']!.replace(FLYTE, `flyteadmin+${caught.url}`);
  writeFileSync(join(repo, 'poolsync.yaml'), hostile);
  writeFileSync(
    join(repo, 'dev/queue.yaml'),
    files['base/queue.yaml']!.replace('training', 'dev-only'),
  );
  git(repo, 'checkout', '-q', '-b', 'pr');
  git(repo, 'add', '.');
  commit(repo, 'point prod elsewhere');
  // A CI checkout of the pull request's head alone (actions/checkout's default depth 1).
  shallow = join(root, 'shallow');
  git(root, 'clone', '-q', '--depth', '1', '--branch', 'pr', `file://${repo}`, shallow);
});

afterAll(() => {
  caught.server.close();
});

const event = () => {
  const path = join(root, 'event.json');
  writeFileSync(path, JSON.stringify({ pull_request: { number: 7, base: { sha: base } } }));
  return path;
};

/** Pull-request mode as each CI flow says it: the base commit, and where it came from. */
const MODES = {
  'a GitHub pull_request run': () => ({
    GITHUB_ACTIONS: 'true',
    GITHUB_EVENT_NAME: 'pull_request',
    GITHUB_EVENT_PATH: event(),
  }),
  'a GitHub pull_request_target run': () => ({
    GITHUB_ACTIONS: 'true',
    GITHUB_EVENT_NAME: 'pull_request_target',
    GITHUB_EVENT_PATH: event(),
  }),
  'a GitLab merge-request pipeline': () => ({
    GITLAB_CI: 'true',
    CI_MERGE_REQUEST_IID: '7',
    CI_MERGE_REQUEST_DIFF_BASE_SHA: base,
  }),
  POOLSYNC_BASE_REF: () => ({ POOLSYNC_BASE_REF: base }),
} as const;

/** Every command that opens an environment's control plane, run in folder DIR. */
const COMMANDS: Record<string, (dir: string) => string[]> = {
  'plan --env prod': (dir) => ['plan', dir, '--env', 'prod'],
  'plan --env all': (dir) => ['plan', dir, '--env', 'all'],
  promote: (dir) => ['promote', 'dev', dir],
  'promote --write': (dir) => ['promote', 'dev', dir, '--write'],
  'export --env': (dir) => [
    'export',
    '--env',
    'prod',
    '--config-dir',
    dir,
    '--dir',
    join(root, 'out'),
  ],
  'state list --env': (dir) => ['state', 'list', dir, '--env', 'prod'],
  'state show --env': (dir) => ['state', 'show', 'Queue/training', dir, '--env', 'prod'],
  'state forget --env': (dir) => ['state', 'forget', 'Queue/training', dir, '--env', 'prod'],
  'apply --env': (dir) => ['apply', dir, '--env', 'prod', '--auto-approve'],
  'import --env': (dir) => ['import', 'Queue/legacy', '--dir', dir, '--env', 'prod'],
};

const NO_CI = { GITHUB_ACTIONS: undefined, GITLAB_CI: undefined, POOLSYNC_BASE_REF: undefined };

async function run(args: string[], vars: Record<string, string | undefined>) {
  // In the test's folder: a command that keeps state keeps it under ./.poolsync.
  const r = await runCli(
    args,
    {
      ...NO_CI,
      POOLSYNC_FLYTE_CLIENT_ID: 'poolsync',
      POOLSYNC_FLYTE_CLIENT_SECRET: SECRET,
      ...vars,
    },
    root,
  );
  expect(r.stdout + r.stderr).not.toContain(SECRET);
  return r;
}

describe.each(Object.entries(MODES))('in %s', (_mode, vars) => {
  it.each(Object.keys(COMMANDS))(
    '%s refuses prod, whose controlPlane the pull request moved: no credential leaves',
    async (name) => {
      const r = await run(COMMANDS[name]!(repo), vars());
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(
        `environment prod is refused in pull-request mode: no credential was read and nothing was sent: environments.prod.controlPlane is "flyteadmin+${caught.url}" in this pull request and "${FLYTE}" on the base branch`,
      );
      expect(caught.heard).toEqual([]);
      // promote --write changes nothing when the plan is refused.
      expect(readFileSync(join(repo, 'prod/cluster.yaml'), 'utf8')).not.toContain('dev');
      expect(existsSync(join(repo, 'prod/queue.yaml'))).toBe(false);
    },
  );
});

describe('in a shallow clone of the pull request (the base commit is not there)', () => {
  it.each(Object.keys(COMMANDS))('%s refuses prod, saying how to fetch the base', async (name) => {
    const r = await run(COMMANDS[name]!(shallow), MODES['a GitHub pull_request run']());
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      `environment prod is refused in pull-request mode: no credential was read and nothing was sent. In pull-request mode an environment's controlPlane, tokenFile and apiKeyFile must be the base branch's, and poolsync.yaml of the base commit ${base} (the GitHub pull_request event) cannot be read with Git`,
    );
    expect(r.stderr).toContain('fetch-depth: 0');
    expect(caught.heard).toEqual([]);
  });
});

describe('outside pull-request mode', () => {
  it('an unbound POOLSYNC_FLYTE_CLIENT_SECRET goes where poolsync.yaml says (the case pull-request mode and binding close)', async () => {
    await run(COMMANDS['state list --env']!(repo), {});
    const sent = caught.heard
      .map((h) => h.authorization ?? '')
      .filter((a) => a.startsWith('Basic '));
    expect(sent.length).toBeGreaterThan(0);
    // client_secret_basic: `id:secret`, each form-encoded (RFC 6749 §2.3.1).
    const [id, secret] = Buffer.from(sent[0]!.slice(6), 'base64').toString().split(':');
    expect([id, decodeURIComponent(secret!)]).toEqual(['poolsync', SECRET]);
    caught.heard.length = 0;
  });

  it('a POOLSYNC_FLYTE_CLIENT_SECRET that names its flyteadmin is refused for any other, before a request', async () => {
    const bound = `endpoint: ${FLYTE}\nsecret: ${SECRET}`;
    for (const name of ['state list --env', 'export --env', 'apply --env', 'promote']) {
      const r = await run(COMMANDS[name]!(repo), { POOLSYNC_FLYTE_CLIENT_SECRET: bound });
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(
        `POOLSYNC_FLYTE_CLIENT_SECRET is for the control plane ${FLYTE}, not flyteadmin+${caught.url}: nothing was sent`,
      );
    }
    expect(caught.heard).toEqual([]);
  });

  it('a POOLSYNC_TOKEN that names its control plane is refused for any other', async () => {
    const plain = join(root, 'plain');
    await writeFiles(plain, {
      'queue.yaml': twoEnvironments({ dev: '', prod: '' })['base/queue.yaml']!,
    });
    const r = await runCli(
      ['state', 'list', plain, '--control-plane', caught.url],
      { ...NO_CI, POOLSYNC_TOKEN: `endpoint: https://cp.example.com\ntoken: ${SECRET}` },
      root,
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      `POOLSYNC_TOKEN is for the control plane https://cp.example.com, not ${caught.url}: nothing was sent`,
    );
    expect(r.stdout + r.stderr).not.toContain(SECRET);
    expect(caught.heard).toEqual([]);
  });
});
