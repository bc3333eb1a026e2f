/**
 * The container image (Dockerfile; issue 61). No Docker engine runs here, so the Dockerfile's
 * instructions are read, and what the image runs is run on this host: the health check
 * against a real daemon, and the git configuration the image writes against a repository
 * owned by another uid (a mounted one). `poolsync` on the image's PATH is the package's bin
 * linked as `npm install -g` links it (test/cli/package.test.ts runs an installed one).
 */
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cleanCommit } from '../../src/ops/plan-run.js';
import { REPO_ROOT } from '../support/cli.js';
import { tempFolder } from '../support/temp-folder.js';
import { manifests } from '../daemon/fixtures.js';
import { startOwnTestDaemon, type OwnTestDaemon } from '../daemon/harness.js';
import { TestRepo } from '../daemon/helpers.js';

/** The Dockerfile as instructions: continuation lines joined, comments left out. */
function instructions(): { op: string; args: string; stage: number }[] {
  const text = readFileSync(join(REPO_ROOT, 'Dockerfile'), 'utf8')
    .split('\n')
    .filter((l) => !/^\s*#/.test(l))
    .join('\n')
    .replace(/\\\n/g, ' ');
  let stage = -1;
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => {
      const [op, ...rest] = l.trim().split(/\s+/);
      if (op === 'FROM') stage++;
      return { op: op!, args: rest.join(' '), stage };
    });
}

const runtime = () => {
  const all = instructions();
  const last = Math.max(...all.map((i) => i.stage));
  return all.filter((i) => i.stage === last);
};
const json = (args: string) => JSON.parse(args.replace(/^--\S+\s+/g, '')) as string[];

const started: OwnTestDaemon[] = [];
afterEach(async () => {
  for (const d of started.splice(0)) await d.stop();
});

describe('the image (Dockerfile)', () => {
  it('puts `poolsync` on the PATH, the package bin, and runs it under tini', () => {
    const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as {
      bin: Record<string, string>;
    };
    const run = runtime()
      .filter((i) => i.op === 'RUN')
      .map((i) => i.args);
    const bin = `/app/${pkg.bin.poolsync}`;
    expect(run).toContainEqual(
      expect.stringContaining(`chmod 0755 ${bin} && ln -s ${bin} /usr/local/bin/poolsync`),
    );
    // The bin runs as a program: node's shebang heads it (tsc and the bundle keep it).
    expect(readFileSync(join(REPO_ROOT, 'src/cli/main.ts'), 'utf8')).toMatch(
      /^#!\/usr\/bin\/env node\n/,
    );
    const entry = runtime().find((i) => i.op === 'ENTRYPOINT')!;
    expect(json(entry.args)).toEqual(['/usr/bin/tini', '--', 'poolsync']);
  });

  it('sends no audit or funding request: every npm install and prune says --no-audit --no-fund', () => {
    const npm = instructions()
      .filter((i) => i.op === 'RUN')
      .flatMap((i) => i.args.split(/&&|;/).map((c) => c.trim()))
      .filter((c) => /^npm (ci|install|i|prune)\b/.test(c));
    expect(npm.length).toBeGreaterThanOrEqual(2);
    for (const c of npm) {
      expect(c, c).toContain('--no-audit');
      expect(c, c).toContain('--no-fund');
    }
  });

  it('checks its health with scripts/healthcheck.mjs, which answers as the daemon does', async () => {
    const check = runtime().find((i) => i.op === 'HEALTHCHECK')!;
    expect(check.args).toMatch(/CMD \["node", "\/app\/healthcheck\.mjs"\]$/);
    const copy = runtime().find((i) => i.op === 'COPY' && i.args.includes('healthcheck'))!;
    expect(copy.args).toBe('scripts/healthcheck.mjs ./healthcheck.mjs');
    const listen = runtime().find((i) => i.op === 'ENV')!.args;
    expect(listen).toContain('POOLSYNC_LISTEN=0.0.0.0:8080');

    // Run on this host as the image runs it, with the daemon's POOLSYNC_LISTEN.
    const repo = new TestRepo();
    repo.commit(manifests());
    const d = await startOwnTestDaemon({ repo, logLevel: 'silent' });
    started.push(d);
    const port = new URL(d.daemon.url).port;
    // A child process: the daemon answers from this one meanwhile.
    const probe = () =>
      new Promise<number | null>((done) =>
        spawn(process.execPath, [join(REPO_ROOT, 'scripts/healthcheck.mjs')], {
          env: { PATH: process.env.PATH, POOLSYNC_LISTEN: `0.0.0.0:${port}` },
          stdio: 'ignore',
        }).on('close', done),
      );
    expect(await probe()).toBe(0);
    await d.stop();
    started.splice(0);
    expect(await probe()).toBe(1);
  });

  it.skipIf(process.getuid?.() !== 0)(
    'trusts a repository owned by another uid (a mounted one): git reads it, the plan records its commit',
    async () => {
      const setup = runtime()
        .filter((i) => i.op === 'RUN')
        .flatMap((i) => i.args.split('&&').map((c) => c.trim()))
        .find((c) => c.startsWith('git config --system'));
      expect(setup).toBe("git config --system --add safe.directory '*'");
      const repo = tempFolder('poolsync-mounted-');
      const git = (...args: string[]) =>
        execFileSync('git', args, { cwd: repo, encoding: 'utf8' }).trim();
      git('init', '-q', '-b', 'main');
      writeFileSync(join(repo, 'poolsync.yaml'), 'apiVersion: poolsync/v1\nkind: RepoConfig\n');
      git('add', '.');
      git('-c', 'user.name=a', '-c', 'user.email=a@b', 'commit', '-qm', 'init');
      const head = git('rev-parse', 'HEAD');
      execFileSync('chown', ['-R', '12345:12345', repo]);

      // The image's own command, writing where this host's git reads it for this test only.
      const folder = tempFolder('poolsync-gitconfig-');
      const system = join(folder, 'gitconfig');
      execFileSync('sh', ['-c', setup!], { env: { ...process.env, GIT_CONFIG_SYSTEM: system } });
      const saved = process.env.GIT_CONFIG_SYSTEM;
      try {
        process.env.GIT_CONFIG_SYSTEM = join(folder, 'none');
        expect(await cleanCommit(repo)).toBeNull(); // "dubious ownership"
        process.env.GIT_CONFIG_SYSTEM = system;
        expect(await cleanCommit(repo)).toBe(head);
      } finally {
        if (saved === undefined) delete process.env.GIT_CONFIG_SYSTEM;
        else process.env.GIT_CONFIG_SYSTEM = saved;
      }
    },
  );
});
