import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readdir, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { acquireApplyLock, lockPathFor, LockHeldError } from '../../src/apply/lock.js';
import { raceChildren } from '../util/child-race.js';
import { registerTempFolder } from '../support/temp-folder.js';
import { until } from '../support/until.js';

/** Removed after the file (test/support/temp-folder.ts). */
const tempDir = async () => registerTempFolder(await mkdtemp(join(tmpdir(), 'poolsync-lock-')));
const LOCK_CHILD = join(dirname(fileURLToPath(import.meta.url)), 'helpers', 'lock-child.ts');

/** Runs acquireApplyLock in `n` other processes at the same moment. */
const lockRace = (path: string, n: number) => raceChildren(LOCK_CHILD, [path], n);

/** The pid of a process that has already exited. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
  return Number(child.stdout.toString());
}

describe('apply lock', () => {
  it('is exclusive and names the holder (pid, host, since); released, it can be taken again', async () => {
    const dir = await tempDir();
    const path = join(dir, 'cp.json.apply.lock');
    const first = await acquireApplyLock(path);
    const content = JSON.parse(await readFile(path, 'utf8'));
    expect(content).toMatchObject({ pid: process.pid, host: hostname() });
    expect(Number.isNaN(Date.parse(content.since))).toBe(false);

    const err = await acquireApplyLock(path).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LockHeldError);
    expect((err as Error).message).toContain(
      `pid ${process.pid} on ${hostname()} since ${content.since}`,
    );
    expect((err as Error).message).toContain(path);

    await first.release();
    const second = await acquireApplyLock(path);
    await second.release();
    expect(await readdir(dir)).toEqual([]);
  });

  it('of many processes trying at once, exactly one wins; a second attempt in the same process is refused', async () => {
    const path = join(await tempDir(), 'x.lock');
    const outcomes = await lockRace(path, 8);
    expect(outcomes.filter((o) => o === 'won')).toHaveLength(1);
    expect(outcomes.filter((o) => o.startsWith('refused: another apply is running'))).toHaveLength(
      7,
    );

    const held = await acquireApplyLock(path);
    const both = await Promise.allSettled([acquireApplyLock(path), acquireApplyLock(path)]);
    expect(both.every((o) => o.status === 'rejected' && o.reason instanceof LockHeldError)).toBe(
      true,
    );
    await held.release();
  });

  it('takes over a lock left by a process of this host that is no longer running', async () => {
    const path = join(await tempDir(), 'x.lock');
    const pid = deadPid();
    await writeFile(
      path,
      JSON.stringify({ pid, host: hostname(), since: '2020-01-01T00:00:00.000Z' }),
    );
    const lock = await acquireApplyLock(path);
    expect(JSON.parse(await readFile(path, 'utf8')).pid).toBe(process.pid);
    await lock.release();
  });

  it('when several processes race to take over a dead lock, one wins', async () => {
    const path = join(await tempDir(), 'x.lock');
    await writeFile(
      path,
      JSON.stringify({ pid: deadPid(), host: hostname(), since: '2020-01-01T00:00:00.000Z' }),
    );
    const outcomes = await lockRace(path, 8);
    expect(outcomes.filter((o) => o === 'won')).toHaveLength(1);
  });

  it('takes over a lock naming our own pid that this process does not hold (a restarted container is pid 1 again)', async () => {
    const path = join(await tempDir(), 'x.lock');
    await writeFile(
      path,
      JSON.stringify({ pid: process.pid, host: hostname(), since: '2020-01-01T00:00:00.000Z' }),
    );
    const lock = await acquireApplyLock(path);
    expect(JSON.parse(await readFile(path, 'utf8')).since).not.toBe('2020-01-01T00:00:00.000Z');
    await lock.release();
  });

  it('takes over a lock from before a reboot (another boot id)', async () => {
    const path = join(await tempDir(), 'x.lock');
    const holder = {
      pid: 1,
      host: hostname(),
      since: '2020-01-01T00:00:00.000Z',
      boot_id: 'not-this-boot',
    };
    await writeFile(path, JSON.stringify(holder));
    const lock = await acquireApplyLock(path);
    await lock.release();
  });

  it.runIf(existsSync('/proc/self/stat'))(
    'a reused pid (same pid, other start time) is not mistaken for the holder',
    async () => {
      const dir = await tempDir();
      const sleeper = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)']);
      try {
        await new Promise((r) => sleeper.once('spawn', r));
        const stat = await readFile(`/proc/${sleeper.pid}/stat`, 'utf8');
        const ticks = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
        const live = join(dir, 'live.lock');
        await writeFile(
          live,
          JSON.stringify({ pid: sleeper.pid, host: hostname(), since: 'x', start_ticks: ticks }),
        );
        await expect(acquireApplyLock(live)).rejects.toThrow(`pid ${sleeper.pid} on`);
        const reused = join(dir, 'reused.lock');
        await writeFile(
          reused,
          JSON.stringify({ pid: sleeper.pid, host: hostname(), since: 'x', start_ticks: '1' }),
        );
        await (await acquireApplyLock(reused)).release();
      } finally {
        sleeper.kill('SIGKILL');
      }
    },
  );

  it.runIf(existsSync('/proc/self/stat'))(
    "takes over a zombie's lock (exited, not yet reaped: a container whose pid 1 reaps no orphans)",
    async () => {
      // The child exits once its shell has become `sleep 30`, which never reaps it. (A child
      // that exited at once was sometimes reaped by the shell first, on a busy machine.)
      const child = '(while read -r c < /proc/$$/comm && [ "$c" != sleep ]; do :; done) &';
      const parent = spawn('sh', ['-c', `${child} echo $!; exec sleep 30`]);
      try {
        parent.stdout.setEncoding('utf8');
        const pid = Number(await new Promise<string>((r) => parent.stdout.once('data', r)));
        const gone = await until('the child to be a zombie', async () => {
          const text = await readFile(`/proc/${pid}/stat`, 'utf8');
          const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
          return fields[0] === 'Z' && fields;
        });
        const ticks = gone[19];
        const path = join(await tempDir(), 'zombie.lock');
        await writeFile(
          path,
          JSON.stringify({ pid, host: hostname(), since: 'x', start_ticks: ticks }),
        );
        await (await acquireApplyLock(path)).release();
      } finally {
        parent.kill('SIGKILL');
      }
    },
  );

  it('does not take over a lock held on another host, nor an unreadable one', async () => {
    const dir = await tempDir();
    const remote = join(dir, 'remote.lock');
    await writeFile(
      remote,
      JSON.stringify({ pid: 1, host: 'build-agent-7', since: '2024-05-01T10:00:00.000Z' }),
    );
    await expect(acquireApplyLock(remote)).rejects.toThrow(
      /pid 1 on build-agent-7 since 2024-05-01T10:00:00.000Z/,
    );
    const garbage = join(dir, 'garbage.lock');
    await writeFile(garbage, 'not json');
    await expect(acquireApplyLock(garbage)).rejects.toThrow(
      /cannot be read; if no apply is running, delete it/,
    );
  });

  it('release does not remove a lock that another apply holds now', async () => {
    const path = join(await tempDir(), 'x.lock');
    const lock = await acquireApplyLock(path);
    const other = JSON.stringify({
      pid: 4242,
      host: 'elsewhere',
      since: '2024-01-01T00:00:00.000Z',
    });
    await writeFile(path, other);
    await lock.release();
    expect(await readFile(path, 'utf8')).toBe(other);
  });

  it('lockPathFor: beside the embedded state file, or per URL in the state dir', () => {
    expect(lockPathFor('file:/var/lib/ps/cp.json')).toBe('/var/lib/ps/cp.json.apply.lock');
    expect(lockPathFor('file:///var/lib/ps/cp.json')).toBe('/var/lib/ps/cp.json.apply.lock');
    expect(lockPathFor('file:.poolsync/control-plane.json')).toBe(
      resolve('.poolsync/control-plane.json.apply.lock'),
    );
    const a = lockPathFor('https://cp.example.com/', '/s');
    expect(a).toMatch(/^\/s\/locks\/[0-9a-f]{64}\.lock$/);
    expect(lockPathFor('https://cp.example.com', '/s')).toBe(a);
    expect(lockPathFor('https://other.example.com', '/s')).not.toBe(a);
    expect(lockPathFor('http://127.0.0.1:1')).toMatch(/\.poolsync\/locks\/[0-9a-f]{64}\.lock$/);
    // The same reading of file: URLs as openControlPlane: no lock for a URL it refuses.
    expect(() => lockPathFor('file:')).toThrow(/file: needs a path/);
  });
});
