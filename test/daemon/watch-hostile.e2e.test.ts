/**
 * Issue 23, item 8: `daemon --watch` survives what a folder on disk can hold: a file symbolic
 * link loop, a folder symbolic link loop and an unreadable folder or file; issue 38, item 8: 3,000
 * nested folders. Each gets a clear message,
 * never an uncaught watcher error; `--once` ends; a running daemon keeps seeing edits.
 * The CLI in a child process, as a user runs it.
 */
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cleanup } from '../support/cleanup.js';
import type { DaemonStatus } from '../../src/daemon/status.js';
import { MAX_FOLDER_DEPTH } from '../../src/manifests/walk.js';
import { manifests } from './fixtures.js';
import { tempDir } from './helpers.js';
import { nodeForUser } from '../support/node-for-user.js';
import { until } from '../support/until.js';
import { cliFromSource } from '../support/cli-from-source.js';
import { stopsWithThisProcess } from '../support/stops-with-this-process.js';

/** A work folder holding config/ (the manifests) that any user may use. */
function workFolder(): string {
  const work = tempDir();
  // Removed after the test, once the daemons using it are killed (added later, undone first).
  cleanup.add(() => {
    try {
      chmodSync(join(work, 'config', 'secret'), 0o755);
    } catch {
      // not there
    }
    rmSync(work, { recursive: true, force: true });
  });
  chmodSync(work, 0o777);
  for (const [path, content] of Object.entries(manifests())) {
    mkdirSync(join(work, 'config', path, '..'), { recursive: true });
    writeFileSync(join(work, 'config', path), content);
  }
  return work;
}

/** The daemon; as an unprivileged user when the suite runs as root (root reads any folder). */
function daemon(
  work: string,
  extra: string[],
  opts: { unprivileged?: boolean; nodeOptions?: string } = {},
) {
  const asNobody = opts.unprivileged === true && process.getuid?.() === 0;
  const child = spawn(
    asNobody ? nodeForUser(65534, work) : process.execPath,
    cliFromSource(
      'daemon',
      '--watch',
      join(work, 'config'),
      '--control-plane',
      `file:${join(work, 'cp.json')}`,
      '--state-dir',
      join(work, 'state'),
      '--policy',
      'all',
      '--listen',
      '127.0.0.1:0',
      '--log-format',
      'json',
      '--watch-debounce',
      '100ms',
      ...extra,
    ),
    {
      cwd: work,
      env: {
        ...process.env,
        HOME: work,
        POOLSYNC_REPO: '',
        POOLSYNC_WATCH: '',
        ...(opts.nodeOptions ? { NODE_OPTIONS: opts.nodeOptions } : {}),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(asNobody ? { uid: 65534, gid: 65534 } : {}),
    },
  );
  stopsWithThisProcess(child, 'SIGKILL');
  cleanup.add(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  let out = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
  const exit = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  return { exit, out: () => out };
}

const UNCAUGHT = /ELOOP|Internal error|\n\s+at |uncaught/i;

describe('--watch on a hostile folder', () => {
  it('--once ends, applied, beside a file link loop and a folder link loop', async () => {
    const work = workFolder();
    // Named as no manifest: one named *.yaml is an IO error of the commit (docs/manifests.md).
    symlinkSync('loop', join(work, 'config', 'loop'));
    symlinkSync('.', join(work, 'config', 'dirloop'));
    const d = daemon(work, ['--once']);
    expect(await d.exit).toBe(0);
    expect(d.out()).not.toMatch(UNCAUGHT);
    expect(d.out()).toMatch(/"result":"applied"/);
  }, 60_000);

  it('a running daemon keeps seeing edits beside both loops', async () => {
    const work = workFolder();
    symlinkSync('loop', join(work, 'config', 'loop'));
    symlinkSync('.', join(work, 'config', 'dirloop'));
    const d = daemon(work, []);
    const url = await until(
      'listening',
      async () => /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(d.out())?.[1],
      { retryErrors: true, detail: d.out },
    );
    const status = async () => (await (await fetch(`${url}/status`)).json()) as DaemonStatus;
    // The first run applies; a run the watcher may start right after finds it in sync.
    await until(
      'first apply',
      async () => ['applied', 'in_sync'].includes((await status()).outcome ?? ''),
      { retryErrors: true, detail: d.out },
    );
    writeFileSync(
      join(work, 'config', 'queues/batch.yaml'),
      manifests({ batchRunConcurrency: 77 })['queues/batch.yaml']!,
    );
    // A run of the edit applied it (the watcher may start one more, in sync, right after).
    await until(
      'the edit applied',
      async () =>
        (await status()).runs.some((r) => r.result === 'applied' && r.applied.update === 1),
      { retryErrors: true, detail: d.out },
    );
    expect(d.out()).not.toMatch(UNCAUGHT);
  });

  it('an unreadable folder: a warning from the watcher, the run reports it at the folder, --once ends', async () => {
    const work = workFolder();
    mkdirSync(join(work, 'config', 'secret'));
    writeFileSync(join(work, 'config', 'secret', 'a.yaml'), 'kind: Secret\n');
    chmodSync(join(work, 'config', 'secret'), 0o000);
    const d = daemon(work, ['--once'], { unprivileged: true });
    expect(await d.exit).toBe(1);
    expect(d.out()).not.toMatch(UNCAUGHT);
    expect(d.out()).toContain(
      'cannot watch secret: EACCES (not readable: its changes are not seen, and every run reports it until it is)',
    );
    expect(d.out()).toContain(
      'secret:1:1: IO: cannot read folder: EACCES (permission denied): make it readable by the user poolsync runs as, or list it under ignore in poolsync.yaml',
    );
  }, 60_000);

  it('an unreadable file: the run reports it at the file with what to do, as a folder', async () => {
    const work = workFolder();
    writeFileSync(join(work, 'config', 'queues', 'secret.yaml'), 'kind: Queue\n');
    chmodSync(join(work, 'config', 'queues', 'secret.yaml'), 0o000);
    const d = daemon(work, ['--once'], { unprivileged: true });
    expect(await d.exit).toBe(1);
    expect(d.out()).not.toMatch(UNCAUGHT);
    expect(d.out()).toContain(
      'queues/secret.yaml:1:1: IO: cannot read file: EACCES (permission denied): make it readable by the user poolsync runs as, or list it under ignore in poolsync.yaml',
    );
  }, 60_000);
});

describe('--watch bounds folder depth as the loader does (issue 38, item 8)', () => {
  it('3,000 nested folders: a 256 MB daemon --once ends, naming the first folder too deep', async () => {
    const work = workFolder();
    // Two steps of 1,500: one absolute path of 6,000 bytes is past PATH_MAX.
    const half = Array.from({ length: 1500 }, () => 'd').join('/');
    const middle = join(work, 'config', half);
    mkdirSync(middle, { recursive: true });
    execFileSync('mkdir', ['-p', half], { cwd: middle });
    const d = daemon(work, ['--once'], { nodeOptions: '--max-old-space-size=256' });
    const code = await d.exit;
    // rmSync recurses once per level: past the stack at 3,000.
    execFileSync('rm', ['-rf', join(work, 'config', 'd')]);
    expect(code).toBe(1);
    expect(d.out()).not.toMatch(UNCAUGHT);
    expect(d.out()).not.toMatch(/heap out of memory|ENAMETOOLONG/);
    const tooDeep = Array.from({ length: MAX_FOLDER_DEPTH + 1 }, () => 'd').join('/');
    expect(d.out()).toContain(
      `${tooDeep}:1:1: IO: folder nested more than ${MAX_FOLDER_DEPTH} levels below the config folder: not read`,
    );
  }, 120_000);
});
