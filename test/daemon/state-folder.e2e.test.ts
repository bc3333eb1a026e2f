/**
 * The daemon's state folder (docs/daemon.md#one-daemon-per-state-folder): one daemon at a time
 * uses it, whatever process starts the second; a lock a killed daemon left does not block the
 * next start; every folder the daemon makes is 0700 (docs/security.md); a `--once` that failed
 * and wrote nothing leaves nothing it made.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/run.js';
import { cleanup } from '../support/cleanup.js';
import { memoryIo, runInProcess } from '../support/memory-io.js';
import { twoEnvironments } from '../environments/helpers.js';
import { startDaemonProcess } from './daemon-process.js';
import { manifests } from './fixtures.js';
import { startOwnTestDaemon } from './harness.js';
import { TestRepo, tempDir } from './helpers.js';

const modeOf = (path: string) => statSync(path).mode & 0o777;

describe('the state folder', () => {
  it('is used by one daemon at a time: a second is refused in one line and changes nothing; a killed one does not block the next', async () => {
    const repo = new TestRepo();
    cleanup.add(() => repo.cleanup());
    repo.commit(manifests());
    const state = tempDir();
    const first = await startDaemonProcess(repo.bare, state, 256);
    cleanup.add(first.kill);
    expect((await first.reconcile()).status).toBe(200);
    const history = readFileSync(join(state, 'daemon', 'history.json'), 'utf8');

    // Another process (this one) on the same folder, with a control plane of its own.
    const io = memoryIo({ PATH: process.env.PATH });
    const args = ['daemon', '--repo', repo.bare, '--state-dir', join(state, 'daemon')];
    const other = ['--control-plane', `file:${join(state, 'other.json')}`];
    expect(await main([...args, ...other, '--listen', '127.0.0.1:0'], io)).toBe(1);
    const refusal = (pid: number | undefined, where: string) =>
      new RegExp(
        `^another poolsync daemon \\(pid ${pid}${where}, since \\S+\\) uses state folder ${join(state, 'daemon')}: stop it, or give this one its own --state-dir$`,
      );
    expect(
      io
        .err()
        .replace(/^Error: /, '')
        .trimEnd(),
    ).toMatch(refusal(first.child.pid, ` on ${hostname()}`));
    expect(io.out()).toBe('');
    expect(existsSync(join(state, 'other.json'))).toBe(false);
    expect(readFileSync(join(state, 'daemon', 'history.json'), 'utf8')).toBe(history);

    // kill -9: its lock stays, naming a process that no longer runs; the next start takes it.
    first.child.kill('SIGKILL');
    await first.exited;
    expect(existsSync(join(state, 'daemon', 'daemon.lock'))).toBe(true);
    const next = await startOwnTestDaemon({ repo, state, logLevel: 'silent' });
    cleanup.add(next.stop);
    await next.daemon.firstRun;
    // A second in the same process is refused as well.
    await expect(startOwnTestDaemon({ repo, state, logLevel: 'silent' })).rejects.toThrow(
      refusal(process.pid, ', this process'),
    );
    expect(next.daemon.status().lastRun?.id).toBeGreaterThan(1);
    await next.daemon.stop();
    expect(existsSync(join(state, 'daemon', 'daemon.lock'))).toBe(false);
  }, 120_000);

  it('and every folder the daemon makes in it are 0700', async () => {
    const repo = new TestRepo();
    cleanup.add(() => repo.cleanup());
    repo.commit(manifests());
    const work = tempDir();
    const t = await startOwnTestDaemon({
      repo,
      state: work,
      flags: { 'state-dir': join(work, '.poolsync', 'daemon') },
      logLevel: 'silent',
    });
    cleanup.add(t.stop);
    await t.daemon.firstRun;
    expect(t.daemon.status().lastRun?.result).toBe('applied');
    for (const folder of ['.poolsync', '.poolsync/daemon', '.poolsync/daemon/checkout'])
      expect([folder, modeOf(join(work, folder))]).toEqual([folder, 0o700]);

    // With environments: each one's folder, its checkout and the folder of its state.
    const envRepo = new TestRepo();
    cleanup.add(() => envRepo.cleanup());
    envRepo.commit(twoEnvironments({ dev: 'file:states/dev.json', prod: 'file:states/prod.json' }));
    const envs = tempDir();
    const e = await startOwnTestDaemon({ repo: envRepo, state: envs, logLevel: 'silent' });
    cleanup.add(e.stop);
    await e.daemon.firstRun;
    for (const folder of [
      'daemon/environments',
      'daemon/environments/dev',
      'daemon/environments/dev/checkout',
      'daemon/states',
    ])
      expect([folder, modeOf(join(envs, folder))]).toEqual([folder, 0o700]);
  }, 120_000);

  it('is not left behind by a --once whose first fetch failed: nor the new embedded state, nor a word of a restart', async () => {
    const work = tempDir();
    const r = await runInProcess(
      ['daemon', '--once', '--repo', join(work, 'nonexistent'), '--listen', '127.0.0.1:0'],
      { PATH: process.env.PATH },
      work,
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error: GIT_FETCH: cannot fetch branch main of /);
    expect(readdirSync(work)).toEqual([]);
    expect(r.stdout).not.toContain('restart');
  }, 60_000);

  it('nor by a --once a signal stopped before it applied anything, which says so', async () => {
    const repo = new TestRepo();
    cleanup.add(() => repo.cleanup());
    repo.commit(manifests());
    const work = tempDir();
    const io = memoryIo({ PATH: process.env.PATH });
    // Ctrl-C as soon as it listens for one: while it starts.
    io.onSignal = (listener) => {
      setImmediate(() => listener('SIGINT'));
      return () => {};
    };
    const saved = process.cwd();
    process.chdir(work);
    const args = ['daemon', '--once', '--repo', repo.bare, '--policy', 'all'];
    const code = await main(
      [...args, '--listen', '127.0.0.1:0', '--log-level', 'warn'],
      io,
    ).finally(() => process.chdir(saved));
    expect(code).toBe(1);
    expect(io.err()).toMatch(
      /^poolsync daemon listening on \S+\nStopped \(SIGINT\): shutting down: nothing applied\n$/,
    );
    expect(readdirSync(work)).toEqual([]);
  }, 60_000);
});
