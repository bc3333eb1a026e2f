/**
 * `--watch DIR` and `--quickstart`, as a user runs them: the CLI in a child process, a folder
 * on disk, the embedded control plane persisted in a temp dir, the status server on 127.0.0.1.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cleanup } from '../support/cleanup.js';
import { EmbeddedControlPlane } from '../../src/controlplane/embedded/embedded.js';
import type { DaemonStatus } from '../../src/daemon/status.js';
import { manifests } from './fixtures.js';
import { tempDir } from './helpers.js';
import { until } from '../support/until.js';
import { cliFromSource } from '../support/cli-from-source.js';
import { runInProcess } from '../support/memory-io.js';
import { stopsWithThisProcess } from '../support/stops-with-this-process.js';

function run(args: string[], cwd: string, env: Record<string, string> = {}) {
  const child = spawn(process.execPath, cliFromSource(...args), {
    cwd,
    env: { ...process.env, FORCE_COLOR: '0', POOLSYNC_REPO: '', POOLSYNC_WATCH: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  stopsWithThisProcess(child, 'SIGKILL');
  cleanup.add(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  let out = '';
  let err = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
  const exit = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  return { child, exit, out: () => out, err: () => err };
}

function urlFrom(out: string): string | null {
  const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
  return m ? (m[1] as string) : null;
}

async function status(url: string): Promise<DaemonStatus> {
  return (await (await fetch(`${url}/status`)).json()) as DaemonStatus;
}

describe('--watch DIR', () => {
  it('a missing folder, or a file, is refused at start in one line (its first run failed, GIT_FETCH)', async () => {
    const work = tempDir();
    writeFileSync(join(work, 'a-file.yaml'), 'kind: Queue\n');
    const start = (watch: string, env: Record<string, string> = {}, flags: string[] = []) =>
      runInProcess(
        [
          'daemon',
          ...(watch ? ['--watch', watch] : []),
          '--once',
          '--listen',
          '127.0.0.1:0',
          ...flags,
        ],
        { POOLSYNC_LOG_LEVEL: 'fatal', ...env },
        work,
      );
    const wayOut =
      "name a config repository's folder (the one with poolsync.yaml), or follow a Git branch with --repo URL";
    const missing = await start('nope');
    expect(missing.code).toBe(1);
    expect(missing.stdout).toBe('');
    expect(missing.stderr).toBe(
      `Error: --watch: folder ${join(work, 'nope')} does not exist: ${wayOut}\n`,
    );
    const file = await start('a-file.yaml');
    expect(file.stderr).toBe(
      `Error: --watch: ${join(work, 'a-file.yaml')} is not a folder: ${wayOut}\n`,
    );
    const fromEnv = await start('', { POOLSYNC_WATCH: '/nonexistent' });
    expect(fromEnv.stderr).toBe(
      `Error: environment variable POOLSYNC_WATCH: folder /nonexistent does not exist: ${wayOut}\n`,
    );
    // Nothing was started: no state written where the daemon would keep it.
    expect(existsSync(join(work, '.poolsync'))).toBe(false);
  });

  it('reconciles a folder on disk on every change, debounced, without Git', async () => {
    const work = tempDir();
    const dir = join(work, 'config');
    for (const [path, content] of Object.entries(manifests())) {
      mkdirSync(join(dir, path, '..'), { recursive: true });
      writeFileSync(join(dir, path), content);
    }
    const d = run(
      [
        'daemon',
        '--watch',
        dir,
        '--control-plane',
        'file:cp.json',
        '--policy',
        'all',
        '--listen',
        '127.0.0.1:0',
        '--log-format',
        'json',
        '--watch-debounce',
        '200ms',
      ],
      work,
    );
    const url = await until('listening', () => urlFrom(d.out()));
    await until('first apply', async () => (await status(url)).outcome === 'applied');

    // Three edits: however the watcher's quiet time splits them (test/daemon/loop.test.ts
    // times it on a test clock), their runs are the watcher's and the last edit is applied.
    const runsBefore = (await status(url)).lastRun!.id;
    for (const concurrency of [61, 62, 63])
      writeFileSync(
        join(dir, 'queues/batch.yaml'),
        manifests({ batchRunConcurrency: concurrency })['queues/batch.yaml']!,
      );
    const batchNow = async () => {
      const cp = await EmbeddedControlPlane.open({ path: join(work, 'cp.json'), readOnly: true });
      try {
        return (await cp.getQueue('batch')).run_concurrency;
      } finally {
        await cp.close();
      }
    };
    const st = await until('the last edit applied', async () => {
      const s = await status(url);
      return s.lastRun!.id > runsBefore && (await batchNow()) === 63 ? s : null;
    });
    expect(st.lastRun!.trigger).toEqual(['watch']);
    const edits = st.runs.filter((r) => r.id > runsBefore);
    expect(edits.map((r) => r.trigger)).toEqual(edits.map(() => ['watch']));
    expect(edits.some((r) => r.result === 'applied' && r.applied.update === 1)).toBe(true);

    // An invalid edit is reported with its position and not applied.
    writeFileSync(
      join(dir, 'queues/batch.yaml'),
      'apiVersion: poolsync/v1\nkind: Queue\nmetadata:\n  name: batch\nspec:\n  pool: prod\n  run_concurency: 5\n',
    );
    const bad = await until('invalid reported', async () => {
      const s = await status(url);
      return s.outcome === 'invalid' ? s : null;
    });
    expect(bad.errors[0]!.location).toMatch(/^queues\/batch\.yaml:\d+:\d+$/);
    expect(bad.lastRun!.id).toBeGreaterThan(st.lastRun!.id);

    d.child.kill('SIGTERM');
    expect(await d.exit).toBe(0);
    const cp = await EmbeddedControlPlane.open({ path: join(work, 'cp.json') });
    expect((await cp.getQueue('batch')).run_concurrency).toBe(63);
    await cp.close();
  });
});

describe('policy safe on an embedded control plane', () => {
  it('held changes are applied by a person with `poolsync apply` while the daemon runs; the daemon then reports in sync', async () => {
    const work = tempDir();
    const dir = join(work, 'config');
    const write = (files: Record<string, string>) => {
      for (const [path, content] of Object.entries(files)) {
        mkdirSync(join(dir, path, '..'), { recursive: true });
        writeFileSync(join(dir, path), content);
      }
    };
    write(manifests());
    const d = run(
      [
        'daemon',
        '--watch',
        dir,
        '--control-plane',
        'file:cp.json',
        '--policy',
        'safe',
        '--listen',
        '127.0.0.1:0',
        '--log-format',
        'json',
        '--watch-debounce',
        '200ms',
        '--drift-interval',
        '500ms',
      ],
      work,
    );
    const url = await until('listening', () => urlFrom(d.out()));
    // In the runs kept, not the outcome: the next drift run (500 ms) reports in sync, and a poll
    // on a busy machine can miss the moment between (a full suite run, twice at once).
    await until('first apply', async () =>
      (await status(url)).runs.some((r) => r.result === 'applied'),
    );

    rmSync(join(dir, 'clusters/prod-2.yaml'));
    const held = await until('held for approval', async () => {
      const s = await status(url);
      return s.outcome === 'waiting_for_approval' ? s : null;
    });
    // The cluster delete and what it causes (its co-named queue's update) are held.
    expect(held.waitingForApproval).toContainEqual(
      expect.objectContaining({ address: 'Cluster/prod-2', action: 'delete' }),
    );

    // The person's apply shares the state file: the daemon only holds it during a run.
    let applied: number | null = null;
    for (let attempt = 0; attempt < 10 && applied !== 0; attempt++) {
      const a = run(
        ['apply', dir, '--control-plane', 'file:cp.json', '--auto-approve', '--no-color'],
        work,
      );
      applied = await a.exit;
      if (applied !== 0) await new Promise((r) => setTimeout(r, 100)); // a drift run had it open
    }
    expect(applied).toBe(0);
    await until(
      'in sync after the manual apply',
      async () => (await status(url)).outcome === 'in_sync',
    );
    d.child.kill('SIGTERM');
    expect(await d.exit).toBe(0);
  });
});

describe('--quickstart', () => {
  it("applies the bundled example to the embedded default control plane, printing the plan; makes and prints an admin token that `poolsync sync` and the dashboard's Sync now work with; says what each run did and something on Ctrl-C; listens where POOLSYNC_LISTEN says (the Docker image sets 0.0.0.0:8080)", async () => {
    const work = tempDir();
    // Watches the repository's examples/config-repo (read only); the state goes under `work`.
    const d = run(['daemon', '--quickstart', '--log-format', 'json'], work, {
      POOLSYNC_LISTEN: '127.0.0.1:0',
    });
    const url = await until('listening', () => urlFrom(d.out()));
    const st = await until('example applied', async () => {
      const s = await status(url);
      return s.outcome === 'applied' ? s : null;
    });
    expect(st.source.kind).toBe('watch');
    expect(st.policy).toBe('all');
    expect(d.out()).toMatch(/Plan: \d+ to create/);
    // In brief, a line per kind and action: the whole plan (494 lines) scrolled the addresses away.
    await until('the first run said', () =>
      d.out().includes('First run applied. What poolsync manages now'),
    );
    expect(d.out()).toMatch(/^ {2}\+ ClusterPool \(3\): dev, prod, research$/m);
    expect(d.out()).toMatch(/^Run #1: applied: \d+ created/m);
    expect(d.out().split('\n').length).toBeLessThan(32);

    // The admin token: made on the first start, mode 0600, printed this once.
    const token =
      /made now and shown only this once \(kept in \.poolsync\/admin-token, mode 0600\):\n {2}(\S+)\n/.exec(
        d.out(),
      )?.[1];
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const file = join(work, '.poolsync/admin-token');
    expect(readFileSync(file, 'utf8').trim()).toBe(token);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    // `poolsync sync` in the quickstart's folder finds it by itself.
    const synced = await runInProcess(['sync', '--daemon', url], { PATH: process.env.PATH }, work);
    expect(synced.stderr).toBe('');
    expect(synced.stdout).toMatch(/^#\d+ in sync .*\(manual, /);
    // Only to that daemon: another one on this machine (another port) is not sent it.
    const other = new URL(url);
    other.port = String(Number(other.port) === 65535 ? 65534 : Number(other.port) + 1);
    const elsewhere = await runInProcess(
      ['sync', '--daemon', other.origin],
      { PATH: process.env.PATH },
      work,
    );
    expect(elsewhere.stderr).toMatch(/syncing needs the daemon admin token/);
    // The dashboard offers Sync now, and POST /reconcile takes the printed token from its page.
    const page = await (await fetch(`${url}/`)).text();
    expect(page).toContain('<button type="button" id="sync" class="sync">Sync now</button>');
    const sync = await fetch(`${url}/reconcile`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'sec-fetch-site': 'same-origin' },
    });
    expect(sync.status).toBe(202);

    d.child.kill('SIGINT');
    expect(await d.exit).toBe(0);
    expect(d.out()).toMatch(/Stopping \(SIGINT\): no new run starts/);
    expect(d.out()).toMatch(
      /Stopped\. The control plane keeps its state in \S+control-plane\.json/,
    );
    // The default control plane: file:.poolsync/control-plane.json under the working folder.
    expect(readFileSync(join(work, '.poolsync/control-plane.json'), 'utf8').length).toBeGreaterThan(
      0,
    );
    // A second start reads the token it made, and does not print it again.
    const again = run(['daemon', '--quickstart', '--log-format', 'json'], work, {
      POOLSYNC_LISTEN: '127.0.0.1:0',
    });
    await until('listening again', () => urlFrom(again.out()));
    expect(again.out()).toContain('Admin token: .poolsync/admin-token (paste it');
    expect(again.out()).not.toContain(token);
    again.child.kill('SIGINT');
    expect(await again.exit).toBe(0);
  });
});
