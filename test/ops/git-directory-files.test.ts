/**
 * A config folder that is a subfolder of its repository, where a pull request committed a Git
 * directory's files (HEAD, config, objects/, refs/): Git took the folder for the repository, so
 * `git show BASE:./poolsync.yaml` read the pull request's forged base and `git status` ran its
 * `core.fsmonitor` command (src/util/git.ts, docs/security.md). Real git, a CI clone, the CLI in
 * process; the listener is on this task's ports (47300-47349).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SAFE_GIT_ARGS } from '../../src/util/git.js';
import { runCli } from '../support/cli.js';
import { tempFolder } from '../support/temp-folder.js';
import { POOL } from '../environments/helpers.js';

const SECRET = 'SUPERSECRET-abc123';
const PORT = 47301;
const FORGED = `flyteadmin+http://127.0.0.1:${PORT}`;
const REFUSED =
  "holds a Git directory's files (HEAD, objects, refs), which Git would take for the repository: poolsync runs no Git command there";

let heard: string[] = [];
let listener: Server;

beforeAll(async () => {
  listener = createServer((req, res) => {
    heard.push(`${req.method} ${req.url}`);
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => listener.listen(PORT, '127.0.0.1', resolve));
});

afterAll(() => new Promise<void>((resolve) => listener.close(() => resolve())));

const git = (cwd: string, ...args: string[]) =>
  execFileSync('git', ['-c', 'user.email=t@e', '-c', 'user.name=t', ...args], {
    cwd,
    encoding: 'utf8',
  }).trim();

const config = (controlPlane: string) =>
  `apiVersion: poolsync/v1\nkind: RepoConfig\nenvironments:\n  flyte:\n    folders: [base]\n    controlPlane: ${controlPlane}\n`;

/**
 * A repository whose config folder is teams/a, a pull request branch `pr` on it (`evil` adds the
 * files, `gitConfig` is their `config`), and a CI clone of that branch: its teams/a and the base.
 */
function pullRequest(o: { evil: boolean; gitConfig?: string; controlPlane?: string }) {
  const root = tempFolder('poolsync-gitdoor-');
  const repo = join(root, 'repo');
  const dir = join(repo, 'teams', 'a');
  mkdirSync(join(dir, 'base'), { recursive: true });
  writeFileSync(
    join(dir, 'poolsync.yaml'),
    config(o.controlPlane ?? 'flyteadmin+http://127.0.0.1:9'),
  );
  writeFileSync(join(dir, 'base', 'pool.yaml'), POOL);
  git(repo, 'init', '-q', '-b', 'main');
  git(repo, 'add', '.');
  git(repo, 'commit', '-qm', 'base');
  const base = git(repo, 'rev-parse', 'HEAD');
  git(repo, 'checkout', '-qb', 'pr');
  if (o.evil) {
    // The forged base: a commit whose poolsync.yaml names the pull request's control plane.
    const forge = join(root, 'forge');
    git(root, 'init', '-q', '--bare', forge);
    const blob = execFileSync('git', ['--git-dir', forge, 'hash-object', '-w', '--stdin'], {
      input: config(FORGED),
      encoding: 'utf8',
    }).trim();
    const tree = execFileSync('git', ['--git-dir', forge, 'mktree'], {
      input: `100644 blob ${blob}\tpoolsync.yaml\n`,
      encoding: 'utf8',
    }).trim();
    const forged = git(root, '--git-dir', forge, 'commit-tree', tree, '-m', 'forged');
    cpSync(join(forge, 'objects'), join(dir, 'objects'), { recursive: true });
    mkdirSync(join(dir, 'refs', 'replace'), { recursive: true });
    mkdirSync(join(dir, 'refs', 'heads'), { recursive: true });
    writeFileSync(join(dir, 'refs', 'replace', base), `${forged}\n`);
    writeFileSync(join(dir, 'refs', 'heads', 'main'), `${forged}\n`);
    writeFileSync(join(dir, 'HEAD'), 'ref: refs/heads/main\n');
    writeFileSync(
      join(dir, 'config'),
      `[core]\n\trepositoryformatversion = 0\n\tbare = false\n\tworktree = .\n${o.gitConfig ?? ''}`,
    );
    writeFileSync(join(dir, 'poolsync.yaml'), config(o.controlPlane ?? FORGED));
  }
  git(repo, 'add', '-A');
  git(repo, 'commit', '-qm', 'pull request', '--allow-empty');
  git(root, 'clone', '-q', '-b', 'pr', repo, 'ci');
  const event = join(root, 'event.json');
  writeFileSync(event, JSON.stringify({ pull_request: { number: 7, base: { sha: base } } }));
  const pr = {
    GITHUB_ACTIONS: 'true',
    GITHUB_EVENT_NAME: 'pull_request',
    GITHUB_EVENT_PATH: event,
    POOLSYNC_FLYTE_CLIENT_ID: 'poolsync',
    POOLSYNC_FLYTE_CLIENT_SECRET: SECRET,
  };
  return { root, ci: join(root, 'ci', 'teams', 'a'), pr };
}

describe('a config folder holding a Git directory’s files', () => {
  it('a pull request that forges its base branch there is refused: nothing reaches its control plane', async () => {
    heard = [];
    const { ci, pr } = pullRequest({ evil: true });
    const r = await runCli(['plan', ci, '--env', 'flyte', '--no-color'], pr);
    expect(heard).toEqual([]);
    expect(r.stdout + r.stderr).not.toContain(SECRET);
    expect(r.stderr).toContain(`${ci} ${REFUSED}`);
    expect(r.stderr).toContain('remove them');
    expect(r.code).toBe(1);
  });

  it('their `core.fsmonitor` command never runs, in any mode; validate refuses the folder too', async () => {
    const outside = tempFolder('poolsync-gitdoor-outside-');
    const marker = join(outside, 'PWNED');
    const { ci } = pullRequest({
      evil: true,
      gitConfig: `\tfsmonitor = "touch ${marker}; echo"\n`,
      controlPlane: `file:${join(outside, 'cp.json')}`,
    });
    const vars = { GITHUB_ACTIONS: undefined, GITLAB_CI: undefined, POOLSYNC_BASE_REF: undefined };
    const plan = await runCli(['plan', ci, '--env', 'flyte', '--no-color'], vars);
    expect(existsSync(marker)).toBe(false);
    expect(plan.stderr).toContain(`${ci} ${REFUSED}`);
    expect(plan.code).toBe(1);
    const validate = await runCli(['validate', ci], vars);
    expect(validate.stderr).toContain(`${ci} ${REFUSED}`);
    expect(validate.code).toBe(1);
  });

  it('a subfolder config without them plans in pull-request mode, its base read with Git', async () => {
    const { ci, pr } = pullRequest({
      evil: false,
      controlPlane: `file:${tempFolder('poolsync-gitdoor-cp-')}/cp.json`,
    });
    const r = await runCli(['plan', ci, '--env', 'flyte', '--no-color'], pr);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Environment: flyte');
  });

  // Older Git ignores safe.bareRepository: the refusal above is what holds there.
  const [major, minor] = execFileSync('git', ['--version'], { encoding: 'utf8' })
    .match(/(\d+)\.(\d+)/)!
    .slice(1)
    .map(Number) as [number, number];
  it.skipIf(major < 2 || (major === 2 && minor < 38))(
    'each git command’s settings make Git ≥ 2.38 refuse the folder rather than read it',
    () => {
      const { root } = pullRequest({ evil: true });
      const dir = join(root, 'repo', 'teams', 'a');
      const gitDir = (...settings: string[]) =>
        spawnSync('git', [...settings, 'rev-parse', '--absolute-git-dir'], {
          cwd: dir,
          encoding: 'utf8',
        });
      // Without them Git reads the committed files as the repository (the hole itself).
      expect(gitDir().stdout.trim()).toBe(dir);
      const refused = gitDir(...SAFE_GIT_ARGS);
      expect(refused.status).not.toBe(0);
      expect(refused.stderr).toContain('cannot use bare repository');
    },
  );
});
