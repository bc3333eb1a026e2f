/**
 * A daemon with environments whose start fails (docs/environments.md, The daemon) leaves no
 * embedded state it made: neither an environment's new `file:` state (nor its journal) nor the
 * `.poolsync/` folder made for it, as `daemon --quickstart` and `control-plane serve` do
 * (newStateUndo). The corrected start then makes them anew, and one that existed stays.
 */
import { once } from 'node:events';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cleanup } from '../support/cleanup.js';
import { twoEnvironments } from '../environments/helpers.js';
import { runInProcess } from '../support/memory-io.js';
import { until } from '../support/until.js';
import { startOwnTestDaemon } from './harness.js';
import { TestRepo, tempDir } from './helpers.js';

/** A watched folder with dev and prod, each on its own new state in the folder's `.poolsync/`. */
function watched(
  cp = { dev: 'file:.poolsync/dev.json', prod: 'file:.poolsync/prod.json' },
): string {
  const dir = join(tempDir(), 'config');
  const files = twoEnvironments(cp);
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
  return dir;
}

const start = (dir: string, state: string, listen = '127.0.0.1:0') =>
  startOwnTestDaemon({ state, flags: { watch: dir, listen }, logLevel: 'silent' });

describe('a daemon with environments whose start fails', () => {
  it('on a port in use: removes the states it made, and the folder made for them', async () => {
    const busy = createServer().listen(0, '127.0.0.1');
    await once(busy, 'listening');
    cleanup.add(() => new Promise((done) => busy.close(done)));
    const port = (busy.address() as { port: number }).port;
    const dir = watched();
    const state = tempDir();
    await expect(start(dir, state, `127.0.0.1:${port}`)).rejects.toThrow(
      /cannot listen on 127\.0\.0\.1:\d+: the address is in use/,
    );
    expect(existsSync(join(dir, '.poolsync'))).toBe(false);

    // A state that was there before stays, with what it holds.
    const started = await start(dir, state);
    await started.daemon.firstRun;
    await started.stop();
    const kept = readdirSync(join(dir, '.poolsync')).sort();
    expect(kept).toEqual(expect.arrayContaining(['dev.json', 'prod.json']));
    await expect(start(dir, state, `127.0.0.1:${port}`)).rejects.toThrow(/in use/);
    expect(readdirSync(join(dir, '.poolsync')).sort()).toEqual(kept);
  });

  it('in a later environment: the one started before it leaves no state, nor the folder made for it', async () => {
    const repo = new TestRepo();
    cleanup.add(() => repo.cleanup());
    // With Git, relative states are in the daemon's state folder; prod's folder is a file there.
    repo.commit(twoEnvironments({ dev: 'file:states/dev.json', prod: 'file:taken/prod.json' }));
    const state = tempDir();
    mkdirSync(join(state, 'daemon'));
    writeFileSync(join(state, 'daemon', 'taken'), 'not a folder');
    await expect(
      startOwnTestDaemon({ repo, state, logLevel: 'silent', flags: { policy: 'all' } }),
    ).rejects.toThrow(
      `environment prod: cannot make the folder of its control-plane state ${join(state, 'daemon', 'taken', 'prod.json')} (EEXIST: file already exists, mkdir '${join(state, 'daemon', 'taken')}'): remove what is in the way, or name another path in poolsync.yaml`,
    );
    expect(existsSync(join(state, 'daemon', 'states'))).toBe(false);
  });

  it("an environment whose control plane does not answer: its setting is named as the CLI names it, not the daemon's flag", async () => {
    // prod's controlPlane is line 10 of poolsync.yaml; nothing listens on port 1.
    const dir = watched({ dev: 'file:.poolsync/dev.json', prod: 'http://127.0.0.1:1' });
    const setting = 'environments.prod.controlPlane (poolsync.yaml:10)';
    const cli = await runInProcess(['plan', dir, '--env', 'prod'], { PATH: process.env.PATH });
    expect(cli.stderr).toContain(`nothing accepts connections at http://127.0.0.1:1`);
    expect(cli.stderr).toContain(`is it running, and is ${setting} right?`);
    const started = await startOwnTestDaemon({
      state: tempDir(),
      flags: { watch: dir, listen: '127.0.0.1:0' },
      logLevel: 'info',
    });
    try {
      const said = () =>
        started.logs.find((l) => l.includes('"environment":"prod"') && l.includes('ECONNREFUSED'));
      await until('prod failing', () => said());
      expect(said()).toContain(`is it running, and is ${setting} right?`);
      expect(started.logs.join('')).not.toContain('--control-plane (env POOLSYNC_CONTROL_PLANE)');
    } finally {
      await started.stop();
    }
  });
});
