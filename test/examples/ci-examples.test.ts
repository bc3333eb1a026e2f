/**
 * The CI examples run as written (issue 17): the GitHub Actions workflow's steps and the
 * GitLab CI job's script, with bash, in a temp dir, against a clone of this repository (the
 * poolsync source they build) and a Git repository of examples/config-repo (the config
 * repository they plan), posting to the local GitHub/GitLab API.
 *
 * What is emulated, and only this: `actions/checkout` (a local `git clone`), `actions/setup-node`
 * (this Node.js, after the checks its cache input makes on a real runner: `setupNodeRules`),
 * `actions/cache` (its key rules, always a miss), the `${{ … }}` expressions (looked up in the
 * context below), and `npm ci`, which would download every dependency: an `npm` shim on PATH
 * links this repository's node_modules instead and passes every other npm command to the real
 * npm. Everything else — the build, the CLI, the comment and the status — is real. The three
 * examples build the same source: the first `npm run build` of a tree is the real one, and the
 * shim gives a tree whose files are exactly those (node_modules, the same link, and .git aside)
 * the dist/ that build made (a build reads nothing else), so the file builds once, not three
 * times. A tree with any other file, or without node_modules (no `npm ci`), builds for real.
 */
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import {
  chmodSync,
  cpSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, resolve, sep } from 'node:path';
import { load } from 'js-yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeForge } from '../support/fake-forge.js';

const ROOT = resolve(import.meta.dirname, '../..');
const GIT_ENV = {
  GIT_AUTHOR_NAME: 't',
  GIT_AUTHOR_EMAIL: 't@e.x',
  GIT_COMMITTER_NAME: 't',
  GIT_COMMITTER_EMAIL: 't@e.x',
};

let tmp: string;
let forge: FakeForge;
let shimDir: string;
/** This repository's HEAD: the poolsync source the examples build. */
let sourceCommit: string;

function sh(cmd: string, args: string[], cwd: string, env: Record<string, string> = {}): string {
  return execFileSync(cmd, args, {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, ...GIT_ENV, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** A Git repository of examples/config-repo at `dir`; returns its HEAD. */
function configRepository(dir: string): string {
  cpSync(join(ROOT, 'examples/config-repo'), dir, { recursive: true });
  sh('git', ['init', '-q', '-b', 'main'], dir);
  sh('git', ['add', '.'], dir);
  sh('git', ['commit', '-q', '-m', 'pools'], dir);
  return sh('git', ['rev-parse', 'HEAD'], dir).trim();
}

/**
 * bash as the CI runners call it; output kept for the failure message. Asynchronous: the
 * local GitHub/GitLab API answers from this process.
 */
async function bash(script: string, cwd: string, env: Record<string, string>): Promise<string> {
  try {
    const { stdout } = await promisify(execFile)(
      'bash',
      ['--noprofile', '--norc', '-eo', 'pipefail', '-c', script],
      {
        cwd,
        encoding: 'utf8',
        env: {
          ...process.env,
          ...GIT_ENV,
          PATH: `${shimDir}:${dirname(process.execPath)}:${process.env.PATH ?? ''}`,
          ...env,
        },
      },
    );
    return stdout;
  } catch (err) {
    const e = err as { status: number; stdout: string; stderr: string };
    throw new Error(
      `step failed (exit ${e.status}):\n${script}\n--- stdout\n${e.stdout}\n--- stderr\n${e.stderr}`,
    );
  }
}

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'poolsync-ci-examples-'));
  forge = await new FakeForge().start();
  sourceCommit = sh('git', ['rev-parse', 'HEAD'], ROOT).trim();
  shimDir = join(tmp, 'shim');
  mkdirSync(shimDir);
  const realNpm = JSON.stringify(sh('bash', ['-c', 'command -v npm'], ROOT).trim());
  const builds = JSON.stringify(join(tmp, 'builds'));
  writeFileSync(
    join(shimDir, 'npm'),
    `#!/bin/bash
# Test shim: \`npm ci\` links the repository's node_modules instead of downloading them.
if [ "$1" = ci ]; then
  [ -f package-lock.json ] || { echo "npm ci: no package-lock.json in $PWD" >&2; exit 1; }
  ln -sfn ${JSON.stringify(join(ROOT, 'node_modules'))} node_modules
  echo "npm ci (test shim: linked the repository's node_modules)"
  exit 0
fi
# \`npm run build\` of files a real build here already built: that build's dist/ (the header).
if [ "$*" = "run build" ]; then
  [ -e node_modules ] || { echo "npm run build: no node_modules in $PWD (npm ci)" >&2; exit 1; }
  files=$(find . \\( -path ./.git -o -path ./node_modules \\) -prune -o -type f -print0 |
    LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum | cut -d ' ' -f 1)
  if [ -d ${builds}/$files ]; then
    cp -R ${builds}/$files/dist dist
    echo "npm run build (test shim: the dist/ a real build of the same files made)"
    exit 0
  fi
  ${realNpm} run build || exit
  mkdir -p ${builds}/$files && cp -R dist ${builds}/$files/
  exit 0
fi
exec ${realNpm} "$@"
`,
  );
  chmodSync(join(shimDir, 'npm'), 0o755);
}, 60_000);
afterAll(async () => {
  await forge.stop();
  rmSync(tmp, { recursive: true, force: true });
});

/** The backends' credentials the workflows pass, unset (secrets a repository has not defined are empty). */
const NO_CREDENTIALS = {
  secrets: { POOLSYNC_TOKEN: '', POOLSYNC_UNION_API_KEY: '', POOLSYNC_FLYTE_CLIENT_SECRET: '' },
  vars: { POOLSYNC_FLYTE_CLIENT_ID: '' },
};

/**
 * What actions/setup-node does with `cache:` before anything is installed, as its source says
 * (actions/setup-node src/cache-restore.ts `restoreCache`, and @actions/glob's `hashFiles`,
 * actions/toolkit packages/glob/src/internal-hash-files.ts): the lock file is
 * `cache-dependency-path` (patterns, one a line, from the workspace, where the action runs),
 * else the workspace root's; only files under GITHUB_WORKSPACE are hashed (`Ignore '…' since it
 * is not under GITHUB_WORKSPACE`), and with none the step fails. Literal paths only here: a
 * pattern with glob characters fails the test rather than be emulated wrongly.
 */
function setupNodeRules(w: Record<string, string>, workspace: string): void {
  expect(Number(w['node-version'])).toBeGreaterThanOrEqual(20);
  if (!w.cache) return;
  expect(w.cache).toBe('npm');
  const patterns = (w['cache-dependency-path'] ?? '')
    .split('\n')
    .map((p) => p.trim())
    .filter((p) => p !== '');
  if (patterns.length === 0) {
    if (!readdirSync(workspace).includes('package-lock.json'))
      throw new Error(`setup-node: Dependencies lock file is not found in ${workspace}.`);
    return;
  }
  const hashed = patterns.filter((pattern) => {
    if (/[*?[\]{}]/.test(pattern))
      throw new Error(`the test emulates literal paths only: ${pattern}`);
    const file = resolve(workspace, pattern);
    return (
      file.startsWith(`${workspace}${sep}`) && existsSync(file) && !statSync(file).isDirectory()
    );
  });
  if (hashed.length === 0)
    throw new Error(
      'setup-node: Some specified paths were not resolved, unable to cache dependencies.',
    );
}

/** actions/cache's checks of its inputs (actions/toolkit packages/cache/src/cache.ts `checkKey`, `checkPaths`). */
function cacheRules(w: Record<string, string>): void {
  expect(w.path?.trim()).toBeTruthy();
  expect(w.key).toMatch(/^[^,]{1,512}$/);
}

type Step = {
  name?: string;
  uses?: string;
  with?: Record<string, string>;
  run?: string;
  env?: Record<string, string>;
  'working-directory'?: string;
};

/** `${{ a.b.c }}` looked up in `context`; an expression the context lacks fails the test. */
function expand(text: string, context: Record<string, unknown>): string {
  return text.replace(/\$\{\{\s*([\w.-]+)\s*\}\}/g, (_m, path: string) => {
    const value = path
      .split('.')
      .reduce<unknown>((o, k) => (o as Record<string, unknown> | undefined)?.[k], context);
    if (value === undefined) throw new Error(`the test's context has no ${path}`);
    return String(value);
  });
}

describe('examples/github-actions/poolsync-plan.yml', () => {
  it('runs as written: builds poolsync from source, plans, comments and sets the status', async () => {
    const ws = join(tmp, 'github');
    mkdirSync(ws);
    const workflow = load(
      readFileSync(join(ROOT, 'examples/github-actions/poolsync-plan.yml'), 'utf8'),
    ) as { jobs: Record<string, { steps: Step[] }> };
    const steps = workflow.jobs.plan!.steps;
    const configDir = join(tmp, 'config-origin');
    const head = configRepository(configDir);
    const context = {
      github: {
        event: { pull_request: { number: 7, head: { sha: head } } },
        repository: 'acme/cfg',
        api_url: forge.url,
      },
      secrets: {
        GITHUB_TOKEN: forge.token,
        POOLSYNC_PLAN_KEY: 'plan-key-of-the-ci-examples-test',
        ...NO_CREDENTIALS.secrets,
      },
      vars: {
        POOLSYNC_SOURCE: 'acme/poolsync',
        POOLSYNC_REF: sourceCommit,
        POOLSYNC_CONTROL_PLANE: `file:${join(tmp, 'github-cp.json')}`,
        ...NO_CREDENTIALS.vars,
      },
    };
    const ran: string[] = [];
    for (const step of steps) {
      const w = Object.fromEntries(
        Object.entries(step.with ?? {}).map(([k, v]) => [k, expand(String(v), context)]),
      );
      if (step.uses?.startsWith('actions/checkout@')) {
        const dest = join(ws, w.path ?? '.');
        const from = w.repository === 'acme/poolsync' ? ROOT : configDir;
        if (w.repository && w.repository !== 'acme/poolsync')
          throw new Error(`unexpected repository ${w.repository}`);
        sh('git', ['clone', '-q', '--no-checkout', from, dest], tmp);
        sh('git', ['checkout', '-q', '--detach', w.ref ?? 'HEAD'], dest);
        ran.push(`checkout ${w.path}`);
      } else if (step.uses?.startsWith('actions/setup-node@')) {
        setupNodeRules(w, ws);
        ran.push('setup-node');
      } else if (step.run !== undefined) {
        const env = Object.fromEntries(
          Object.entries(step.env ?? {}).map(([k, v]) => [k, expand(String(v), context)]),
        );
        await bash(expand(step.run, context), join(ws, step['working-directory'] ?? '.'), {
          GITHUB_ACTIONS: 'true',
          GITHUB_WORKSPACE: ws,
          CI: 'true',
          ...env,
        });
        ran.push(step.name ?? 'run');
      } else throw new Error(`step not understood: ${JSON.stringify(step)}`);
    }
    expect(ran).toEqual([
      'checkout config',
      'checkout poolsync',
      'setup-node',
      'Build poolsync',
      'Plan and comment',
    ]);
    const comments = forge.list('github:acme/cfg#7');
    expect(comments).toHaveLength(1);
    expect(comments[0]!.body).toContain('Plan: ');
    expect(comments[0]!.body).toContain(`For commit \`${head}\``);

    // The merge: poolsync-apply.yml on the same runner. Its build step is the plan workflow's,
    // word for word, so the tree built above stands for it (a runner's cache); the rest runs.
    const apply = load(
      readFileSync(join(ROOT, 'examples/github-actions/poolsync-apply.yml'), 'utf8'),
    ) as { jobs: Record<string, { steps: Step[] }> };
    const applyWs = join(tmp, 'github-apply');
    mkdirSync(applyWs);
    const applied: string[] = [];
    for (const step of apply.jobs.apply!.steps) {
      const w = Object.fromEntries(
        Object.entries(step.with ?? {}).map(([k, v]) => [k, expand(String(v), context)]),
      );
      if (step.uses?.startsWith('actions/checkout@') && w.repository === 'acme/poolsync') {
        symlinkSync(join(ws, 'poolsync'), join(applyWs, 'poolsync'));
      } else if (step.uses?.startsWith('actions/checkout@')) {
        sh('git', ['clone', '-q', configDir, join(applyWs, w.path ?? '.')], tmp);
      } else if (step.uses?.startsWith('actions/setup-node@')) {
        setupNodeRules(w, applyWs);
      } else if (step.name === 'Build poolsync') {
        expect(step.run).toBe(steps.find((s) => s.name === 'Build poolsync')!.run);
      } else if (step.run !== undefined) {
        const env = Object.fromEntries(
          Object.entries(step.env ?? {}).map(([k, v]) => [k, expand(String(v), context)]),
        );
        applied.push(
          await bash(expand(step.run, context), join(applyWs, step['working-directory'] ?? '.'), {
            GITHUB_ACTIONS: 'true',
            CI: 'true',
            ...env,
          }),
        );
      }
    }
    expect(applied.join('')).toMatch(/Apply complete: \d+ created/);
    expect(comments[0]!.body).toContain(`<sub>commit \`${head.slice(0, 12)}\``);
    expect(forge.statuses.at(-1)).toMatchObject({ sha: head, body: { state: 'success' } });

    // The built tree is what `npm publish` would ship: the bin, no sources or tests.
    const packed = JSON.parse(
      await bash(
        'npm pack --dry-run --json --ignore-scripts 2>/dev/null',
        join(ws, 'poolsync'),
        {},
      ),
    ) as { files: { path: string }[] }[];
    const files = packed[0]!.files.map((f) => f.path);
    expect(files).toContain('dist/cli/main.js');
    expect(files).toContain('schemas/plan.schema.json');
    expect(files.filter((f) => /^(src|test|bench)\//.test(f))).toEqual([]);
    const pkg = JSON.parse(readFileSync(join(ws, 'poolsync/package.json'), 'utf8')) as {
      bin: Record<string, string>;
      scripts: Record<string, string>;
    };
    expect(files).toContain(pkg.bin.poolsync!.replace(/^\.\//, ''));
    expect(pkg.scripts.prepack).toMatch(/build/);
    expect(readFileSync(join(ws, 'poolsync/dist/cli/main.js'), 'utf8')).toMatch(
      /^#!\/usr\/bin\/env node/,
    );
  }, 240_000);
});

type Job = { image: string; variables?: Record<string, string>; script: string[] };

describe('examples/gitlab-ci/.gitlab-ci.yml', () => {
  it('runs as written: builds poolsync from source, plans, comments and sets the status', async () => {
    const ws = join(tmp, 'gitlab');
    mkdirSync(ws);
    const doc = load(readFileSync(join(ROOT, 'examples/gitlab-ci/.gitlab-ci.yml'), 'utf8')) as {
      'poolsync-plan': Job;
    };
    const job = doc['poolsync-plan'];
    expect(job.image).toMatch(/^node:(2[0-9])/);
    const project = join(ws, 'config');
    const head = configRepository(project);
    // A mirror of this repository; POOLSYNC_REF pins a commit by its full SHA, as a user pins it.
    const mirror = join(tmp, 'poolsync-mirror.git');
    sh('git', ['clone', '-q', '--bare', ROOT, mirror], tmp);
    const env: Record<string, string> = {
      GITLAB_CI: 'true',
      CI: 'true',
      CI_PIPELINE_SOURCE: 'merge_request_event',
      CI_PROJECT_DIR: project,
      CI_BUILDS_DIR: ws,
      CI_JOB_ID: '42',
      CI_PROJECT_ID: '1234',
      CI_MERGE_REQUEST_IID: '3',
      CI_COMMIT_SHA: head,
      CI_API_V4_URL: forge.url,
      GITLAB_TOKEN: forge.token,
      POOLSYNC_CONTROL_PLANE: `file:${join(tmp, 'gitlab-cp.json')}`,
      POOLSYNC_GIT_URL: `file://${mirror}`,
      POOLSYNC_REF: sourceCommit,
    };
    // GitLab expands $VARS in `variables:` values.
    for (const [k, v] of Object.entries(job.variables ?? {}))
      env[k] = v.replace(/\$(\w+)/g, (_m, name: string) => env[name] ?? '');
    for (const line of job.script) await bash(line, project, env);
    const notes = forge.list('gitlab:1234!3');
    expect(notes).toHaveLength(1);
    expect(notes[0]!.body).toContain('Plan: ');
    expect(notes[0]!.body).toContain(`<sub>commit \`${head.slice(0, 12)}\``);
    expect(forge.statuses.at(-1)!.sha).toBe(head);
  }, 240_000);
});

interface CompositeAction {
  name: string;
  description: string;
  inputs: Record<string, { description: string; default?: string }>;
  outputs: Record<string, { description: string; value: string }>;
  runs: { using: string; steps: (Step & { shell?: string; id?: string })[] };
}

/** The lines `name=value` a step appended to its $GITHUB_OUTPUT file. */
function outputsOf(file: string): Record<string, string> {
  return Object.fromEntries(
    readFileSync(file, 'utf8')
      .split('\n')
      .filter((l) => l.includes('='))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
}

describe('action.yml, as examples/github-actions/poolsync-plan-action.yml uses it', () => {
  it('runs as written: the composite action builds poolsync and plans, comments and sets the status', async () => {
    const ws = join(tmp, 'github-action');
    mkdirSync(ws);
    const workflow = load(
      readFileSync(join(ROOT, 'examples/github-actions/poolsync-plan-action.yml'), 'utf8'),
    ) as { jobs: Record<string, { steps: (Step & { id?: string })[] }> };
    const configDir = join(tmp, 'config-origin-action');
    const head = configRepository(configDir);
    const context: Record<string, unknown> & { steps: Record<string, unknown> } = {
      github: {
        event: { pull_request: { number: 8, head: { sha: head }, base: { sha: head } } },
        repository: 'acme/cfg',
        api_url: forge.url,
      },
      secrets: { GITHUB_TOKEN: forge.token, ...NO_CREDENTIALS.secrets },
      vars: {
        POOLSYNC_CONTROL_PLANE: `file:${join(tmp, 'action-cp.json')}`,
        ...NO_CREDENTIALS.vars,
      },
      steps: {},
    };
    // The runner's default variables (docs.github.com "Variables"): what --comment github reads.
    const eventPath = join(tmp, 'action-event.json');
    writeFileSync(eventPath, JSON.stringify({ pull_request: { number: 8, head: { sha: head } } }));
    const runner = {
      GITHUB_ACTIONS: 'true',
      GITHUB_WORKSPACE: ws,
      GITHUB_REPOSITORY: 'acme/cfg',
      GITHUB_API_URL: forge.url,
      GITHUB_EVENT_PATH: eventPath,
      CI: 'true',
    };
    const ran: string[] = [];
    for (const step of workflow.jobs.plan!.steps) {
      const w = Object.fromEntries(
        Object.entries(step.with ?? {}).map(([k, v]) => [k, expand(String(v), context)]),
      );
      const env = Object.fromEntries(
        Object.entries(step.env ?? {}).map(([k, v]) => [k, expand(String(v), context)]),
      );
      if (step.uses?.startsWith('actions/checkout@')) {
        const dest = join(ws, w.path ?? '.');
        sh('git', ['clone', '-q', '--no-checkout', configDir, dest], tmp);
        sh('git', ['checkout', '-q', '--detach', w.ref ?? 'HEAD'], dest);
        ran.push(`checkout ${w.path}`);
      } else if (/^[\w-]+\/poolsync@/.test(step.uses ?? '')) {
        // The runner downloads the action's repository at the ref: here, this repository's HEAD.
        const actionPath = join(tmp, '_actions', 'acme', 'poolsync', step.uses!.split('@')[1]!);
        sh('git', ['clone', '-q', '--no-checkout', ROOT, actionPath], tmp);
        sh('git', ['checkout', '-q', '--detach', sourceCommit], actionPath);
        const action = load(
          readFileSync(join(actionPath, 'action.yml'), 'utf8'),
        ) as CompositeAction;
        expect(action.runs.using).toBe('composite');
        expect(action.name).toBe('poolsync');
        for (const key of Object.keys(w)) expect(Object.keys(action.inputs)).toContain(key);
        const inputs = Object.fromEntries(
          Object.entries(action.inputs).map(([k, v]) => [k, w[k] ?? v.default ?? '']),
        );
        const inner = {
          ...context,
          runner: { os: 'Linux' },
          inputs,
          github: { ...(context.github as object), action_path: actionPath },
          steps: {} as Record<string, { outputs: Record<string, string> }>,
        };
        for (const [i, s] of action.runs.steps.entries()) {
          const sw = Object.fromEntries(
            Object.entries(s.with ?? {}).map(([k, v]) => [k, expand(String(v), inner)]),
          );
          if (s.uses?.startsWith('actions/setup-node@')) {
            setupNodeRules(sw, ws);
            continue;
          }
          if (s.uses?.startsWith('actions/cache@')) {
            cacheRules(sw);
            continue;
          }
          expect(s.shell).toBe('bash');
          const output = join(tmp, `action-output-${i}`);
          writeFileSync(output, '');
          const wd = expand(s['working-directory'] ?? '.', inner);
          await bash(expand(s.run!, inner), wd.startsWith('/') ? wd : join(ws, wd), {
            ...runner,
            GITHUB_ACTION_PATH: actionPath,
            GITHUB_OUTPUT: output,
            ...env,
            ...Object.fromEntries(
              Object.entries(s.env ?? {}).map(([k, v]) => [k, expand(String(v), inner)]),
            ),
          });
          if (s.id) inner.steps[s.id] = { outputs: outputsOf(output) };
        }
        const outputs = Object.fromEntries(
          Object.entries(action.outputs).map(([k, v]) => [k, expand(v.value, inner)]),
        );
        if (step.id) context.steps[step.id] = { outputs };
        ran.push('poolsync action');
      } else if (step.run !== undefined) {
        const out = await bash(
          expand(step.run, context),
          join(ws, step['working-directory'] ?? '.'),
          { ...runner, ...env },
        );
        ran.push(out.trim());
      } else throw new Error(`step not understood: ${JSON.stringify(step)}`);
    }
    // A new organisation: the plan has changes, so --detailed-exitcode gives 2 and the step passes.
    expect(ran).toEqual([
      'checkout config',
      'poolsync action',
      'poolsync plan exit code 2 (2 = changes)',
    ]);
    const comments = forge.list('github:acme/cfg#8');
    expect(comments).toHaveLength(1);
    expect(comments[0]!.body).toContain('Plan: ');
    expect(forge.statuses.at(-1)).toMatchObject({ sha: head, body: { state: 'success' } });
  }, 240_000);
});
