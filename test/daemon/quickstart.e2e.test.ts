/**
 * `daemon --quickstart` in this process, as the README runs it (issue 78): its terminal says
 * each kind of run in words and nothing as JSON, a queue changed by hand through the REST API it
 * serves beside /status is put back by the next run and shown as drift, and the admin token is
 * kept only once the daemon listens.
 */
import { spawn } from 'node:child_process';
import { cpSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { once } from 'node:events';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/run.js';
import { localAdminToken } from '../../src/daemon/config.js';
import type { DaemonStatus } from '../../src/daemon/status.js';
import { cleanup } from '../support/cleanup.js';
import { memoryIo, runInProcess } from '../support/memory-io.js';
import { tempFolder } from '../support/temp-folder.js';
import { startOwnTestDaemon } from './harness.js';
import { until } from '../support/until.js';
import { stopsWithThisProcess } from '../support/stops-with-this-process.js';

const ROOT = resolve(import.meta.dirname, '../..');
const EXAMPLE = join(ROOT, 'examples/config-repo');

/** The quickstart run by `main` in `work` (its working folder while it runs), stopped by `stop`. */
function quickstart(
  work: string,
  args: string[],
  env: Record<string, string> = {},
  { signalAtOnce = false } = {},
) {
  const io = memoryIo({ PATH: process.env.PATH, POOLSYNC_LISTEN: '127.0.0.1:0', ...env });
  let signal: ((s: NodeJS.Signals) => void) | null = null;
  // What it had printed when it began to listen for signals.
  let printedWhenListening: string | null = null;
  const saved = process.cwd();
  process.chdir(work);
  const exit = main(['daemon', '--quickstart', ...args], {
    ...io,
    onSignal: (listener) => {
      signal = listener;
      // As processIo hands on one main.ts kept while the command loaded.
      if (signalAtOnce) setImmediate(() => signal?.('SIGINT'));
      printedWhenListening ??= io.out() + io.err();
      return () => (signal = null);
    },
  }).finally(() => process.chdir(saved));
  const stop = async () => {
    signal?.('SIGINT');
    return exit;
  };
  cleanup.add(stop);
  return { exit, stop, out: io.out, err: io.err, printedWhenListening: () => printedWhenListening };
}

const urlOf = (out: string) => /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out)?.[1] ?? null;

async function status(url: string): Promise<DaemonStatus> {
  return (await (await fetch(`${url}/status`)).json()) as DaemonStatus;
}

/** The README's command: the queue `batch` with 10 runs at once instead of the repository's 300. */
const BATCH_BY_HAND = {
  pool: 'prod',
  clusters: ['*'],
  run_concurrency: 10,
  action_concurrency: 5000,
  depth: 0,
  priority: 'min',
  fairness: 'round_robin',
};

describe('the quickstart terminal', () => {
  it('listens for Ctrl-C before it prints its address: a signal then stops it, saying so, never kills it', async () => {
    const work = tempFolder('poolsync-quickstart-');
    cpSync(EXAMPLE, join(work, 'repo'), { recursive: true });
    const d = quickstart(work, ['--watch', 'repo']);
    await until('listening', () => urlOf(d.out()), { detail: () => d.out() + d.err() });
    // A busy machine's e2e run sent SIGINT once the address was out and got exit null: the
    // handler came only after the banner and the address file.
    expect(urlOf(d.printedWhenListening() ?? 'never listened')).toBeNull();
    await until('the first run', () => d.out().includes('First run applied.'));
    expect(await d.stop()).toBe(0);
    expect(d.out()).toMatch(/Stopping \(SIGINT\)/);
  });

  it('stopped before its first run finished: says so in one line, and keeps the run as stopped, not failed', async () => {
    const work = tempFolder('poolsync-quickstart-');
    cpSync(EXAMPLE, join(work, 'repo'), { recursive: true });
    // At once: while it starts, before its first run could finish.
    const d = quickstart(work, ['--watch', 'repo'], {}, { signalAtOnce: true });
    expect(await d.exit).toBe(0);
    expect(d.out()).toBe('Stopped (SIGINT) before the first run finished: nothing was applied.\n');
    expect(d.err()).toBe('');
    const kept = JSON.parse(readFileSync(join(work, '.poolsync/daemon/history.json'), 'utf8')) as {
      runs: { result: string; changedTotal: number }[];
    };
    expect(kept.runs).toMatchObject([{ result: 'stopped', changedTotal: 0 }]);
    // Nor a token it never showed, nor the address of a daemon that is gone.
    expect(existsSync(join(work, '.poolsync/admin-token'))).toBe(false);
    expect(existsSync(join(work, '.poolsync/daemon-url'))).toBe(false);
  });

  it('a Ctrl-C while its modules load, before it could print anything, stops it as one a moment later does', async () => {
    const work = tempFolder('poolsync-quickstart-');
    const cache = join(work, 'cache');
    // tsx by its path: the package is not found from `work`.
    const tsx = pathToFileURL(join(ROOT, 'node_modules/tsx/dist/loader.mjs')).href;
    const { NODE_COMPILE_CACHE: _, ...env } = process.env;
    const child = spawn(
      process.execPath,
      ['--import', tsx, join(ROOT, 'src/cli/main.ts'), 'daemon', '--quickstart'],
      { cwd: work, env: { ...env, XDG_CACHE_HOME: cache, POOLSYNC_LISTEN: '127.0.0.1:0' } },
    );
    stopsWithThisProcess(child, 'SIGKILL');
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    const exit = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    // main.ts makes its compile cache's folder just after it begins to keep signals, seconds
    // before the command's modules (under tsx) are loaded.
    await until('the compile cache', () => existsSync(join(cache, 'poolsync', 'compile')), {
      intervalMs: 5,
    });
    expect(out).toBe('');
    child.kill('SIGINT');
    expect(await exit).toBe(0);
    expect(out).toBe('Stopped (SIGINT) before the first run finished: nothing was applied.\n');
  }, 60_000);

  it('says each kind of run in words (applied, drift put back, a hold and its plan counted as /status counts it, suspended, frozen with the drift it leaves, resumed, invalid, recovered), each once, never a JSON line; a queue changed through its /control-plane API is put back as drift', async () => {
    const work = tempFolder('poolsync-quickstart-');
    const repo = join(work, 'repo');
    cpSync(EXAMPLE, repo, { recursive: true });
    // Policy safe, so a deletion waits for approval; --watch a copy the test may edit; runs only
    // when asked or edited (no drift timer), so each is the one the test names.
    const d = quickstart(work, [
      ...['--watch', repo, '--watch-debounce', '50ms'],
      ...['--policy', 'safe', '--drift-interval', '1h'],
    ]);
    const detail = () => d.out() + d.err();
    const seen = (text: string | RegExp, what = String(text)) =>
      until(what, () => (typeof text === 'string' ? d.out().includes(text) : text.test(d.out())), {
        detail,
      });
    await seen('First run applied.');
    const url = urlOf(d.out())!;
    const token = readFileSync(join(work, '.poolsync/admin-token'), 'utf8').trim();
    const cli = (...args: string[]) =>
      runInProcess([...args, '--daemon', url], { PATH: process.env.PATH }, work);
    expect(d.out()).toMatch(/^Run #1: applied: 28 created, 1 updated/m);
    // Its brief plan counts as the plan does: the queues the control plane makes itself (C2)
    // on a line of their own, so the lines add up to the closing line.
    const brief = d.out().split('\n\n')[1]!.split('\nPlan: ')[0]!.split('\n');
    const made = (side: boolean) =>
      brief
        .filter((l) => l.startsWith('  + ') && l.includes(', side effects (') === side)
        .reduce((n, l) => n + Number(/\((\d+)\):/.exec(l)![1]), 0);
    expect(brief).toContainEqual(expect.stringMatching(/^ {2}\+ Queue, side effects \(\d+\): /));
    const c1 = (await status(url)).runs.at(-1)!.counts!;
    expect([made(false), made(true)]).toEqual([c1.create, c1.side_effects]);
    expect(d.out()).toContain(
      `Plan: ${c1.create} to create, ${c1.update} to update, 0 to replace, 0 to delete, 0 blocked; ${c1.side_effects} side effects (made by the control plane).`,
    );

    // Changed by hand, as docs/daemon.md#quickstart shows: put back by the next run, as drift.
    const put = await fetch(`${url}/control-plane/v1/queues/batch`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(BATCH_BY_HAND),
    });
    expect(put.status).toBe(200);
    expect(((await put.json()) as { run_concurrency: number }).run_concurrency).toBe(10);
    expect((await cli('sync')).stdout).toMatch(/^#2 applied .*1 updated/);
    await seen(
      'Run #2 put back what was changed on the control plane: applied: 0 created, 1 updated, 0 replaced, 0 deleted; 0 blocked\n  update Queue/batch\n',
    );
    const st = await status(url);
    expect(st.lastDrift).toMatchObject({
      run: 2,
      changes: [{ address: 'Queue/batch', action: 'update', corrected: true }],
    });
    // Without the admin token the API is refused, and nothing changed.
    const refused = await fetch(`${url}/control-plane/v1/queues/batch`, {
      method: 'PUT',
      body: JSON.stringify(BATCH_BY_HAND),
    });
    expect(refused.status).toBe(401);
    // It names the token file the quickstart made, not settings it never read.
    expect(((await refused.json()) as { error: string }).error).toBe(
      `missing or wrong bearer token: send the admin token (in ${join(work, '.poolsync/admin-token')}, which the quickstart made) this daemon was started with`,
    );
    const read = await fetch(`${url}/control-plane/v1/queues/batch`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(((await read.json()) as { run_concurrency: number }).run_concurrency).toBe(300);

    // Suspended: each frozen run plans, finds the drift and leaves it; said once while the same.
    expect((await cli('suspend', '--reason', 'demo')).stderr).toBe('');
    await seen(/^Applies suspended by \S+ \(demo\): runs go on planning and finding drift/m);
    await fetch(`${url}/control-plane/v1/queues/batch`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(BATCH_BY_HAND),
    });
    await cli('sync');
    await seen(
      /^Run #3: applies frozen, suspended by .*\n {2}update Queue\/batch: changed on the control plane, not put back\n/m,
      'the frozen run',
    );
    expect((await cli('sync')).stdout).toMatch(/^#4 frozen/);
    expect((await status(url)).lastRun?.id).toBe(4);
    expect(d.out()).not.toContain('Run #4');
    expect((await cli('resume')).stderr).toBe('');
    await seen(/^Applies resumed by \S+: the next run applies what waited\.$/m);
    await seen(
      /^Run #5 put back what was changed on the control plane: .*\n {2}update Queue\/batch\n/m,
    );

    // Invalid, said once with where; then fixed: recovered.
    const batch = join(repo, 'queues/prod/batch.yaml');
    const text = readFileSync(batch, 'utf8');
    writeFileSync(batch, text.replace('run_concurrency: 300', 'run_concurrency: nope'));
    await seen(
      /^Run #\d+ invalid: 1 validation error; nothing applied\n {2}queues\/prod\/batch\.yaml:\d+:\d+: SCHEMA: /m,
      'the invalid run',
    );
    expect((await status(url)).outcome).toBe('invalid');
    writeFileSync(batch, text.replace('run_concurrency: 300', 'run_concurrency: 301'));
    await seen(/^Run #\d+ recovered: applied: 0 created, 1 updated/m);

    // A deletion waits for approval: `poolsync approve`, and no pull request in watch mode.
    const config = join(repo, 'poolsync.yaml');
    writeFileSync(config, readFileSync(config, 'utf8').replace('prune: false', 'prune: true'));
    const assignments = join(repo, 'assignments/ml-research.yaml');
    writeFileSync(assignments, readFileSync(assignments, 'utf8').split('\n---\n')[0]!);
    const held = await seen(/^Run #\d+ waits for approval: (.*)$/m, 'the hold').then(
      () => /^Run #\d+ waits for approval: (.*)$/m.exec(d.out())![1]!,
    );
    expect(held).toMatch(/^policy safe: 2 changes held for approval \(delete PoolAssignment\//);
    expect(held).toMatch(/with `poolsync approve`; nothing else to apply$/);
    expect(held).not.toContain('pull request');
    // What is applied beside it: its plan lists and counts the held changes, as /status does.
    writeFileSync(batch, text.replace('run_concurrency: 300', 'run_concurrency: 302'));
    await seen(/^ {2}~ Queue \(1\): batch\n {2}- PoolAssignment, held for approval \(2\): /m);
    const c = (await status(url)).counts!;
    expect(c).toMatchObject({ update: 1, delete: 2 });
    expect(d.out()).toContain(
      `Plan: ${c.create} to create, ${c.update} to update, ${c.replace} to replace, ${c.delete} to delete, ${c.blocked} blocked. 2 changes of it wait for approval.`,
    );
    // The run line counts the same whole plan (issue 78), the held ones named after the counts.
    await seen(
      /^Run #\d+ waits for approval: applied: 0 created, 1 updated, 0 replaced, 0 deleted; 0 blocked; 2 changes held/m,
    );

    expect(await d.stop()).toBe(0);
    expect(d.out()).toMatch(/^Stopped\. The control plane keeps its state/m);
    // Words only: no line of the terminal is a log record.
    expect(
      d
        .out()
        .split('\n')
        .filter((l) => l.startsWith('{')),
    ).toEqual([]);
    expect(d.err()).toBe('');
  }, 180_000);

  it('keeps the admin token only once it listens: a start on a busy port makes none (nor an embedded state), the next one shows the one it keeps; of two starts at once the first kept wins', async () => {
    const work = tempFolder('poolsync-quickstart-');
    const busy = createServer();
    busy.listen(0, '127.0.0.1');
    await once(busy, 'listening');
    cleanup.add(() => new Promise((done) => busy.close(done)));
    const port = (busy.address() as { port: number }).port;
    const failed = quickstart(work, [], { POOLSYNC_LISTEN: `127.0.0.1:${port}` });
    expect(await failed.exit).not.toBe(0);
    expect(failed.err()).toMatch(/cannot listen on 127\.0\.0\.1:\d+: the address is in use/);
    expect(failed.out()).not.toContain('Admin token');
    expect(existsSync(join(work, '.poolsync/admin-token'))).toBe(false);
    // Nor the embedded state it made before the port was refused (nor its journal).
    expect(existsSync(join(work, '.poolsync/control-plane.json'))).toBe(false);
    expect(existsSync(join(work, '.poolsync/control-plane.json.journal'))).toBe(false);

    const d = quickstart(work, []);
    await until('listening', () => urlOf(d.out()), { detail: () => d.out() + d.err() });
    const shown =
      /made now and shown only this once \(kept in \.poolsync\/admin-token, mode 0600\):\n {2}(\S+)\n/.exec(
        d.out(),
      )?.[1];
    expect(shown).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(readFileSync(join(work, '.poolsync/admin-token'), 'utf8').trim()).toBe(shown);
    expect(await d.stop()).toBe(0);

    // Two starts at once in one folder: the token of the first to listen is kept; the other's
    // keep fails (that start then stops, saying so), and a later start reads the kept one.
    rmSync(join(work, '.poolsync'), { recursive: true, force: true });
    const [first, second] = [await localAdminToken(work), await localAdminToken(work)];
    expect(first.made).not.toBeNull();
    expect(await first.keep()).toBe(true);
    expect(await second.keep()).toBe(false);
    expect(await localAdminToken(work)).toMatchObject({ token: first.token, made: null });
  }, 180_000);

  it('started with an admin token given to it, records its address too: commands in its folder find it (they asked 127.0.0.1:8080)', async () => {
    const work = tempFolder('poolsync-quickstart-');
    cpSync(EXAMPLE, join(work, 'repo'), { recursive: true });
    const given = join(work, 'admin-token');
    writeFileSync(given, 'a-given-admin-token-0123456789\n', { mode: 0o600 });
    const d = quickstart(work, ['--watch', 'repo'], { POOLSYNC_ADMIN_TOKEN_FILE: given });
    await until('listening', () => urlOf(d.out()), { detail: () => d.out() + d.err() });
    const url = urlOf(d.out())!;
    expect(readFileSync(join(work, '.poolsync/daemon-url'), 'utf8')).toBe(`${url}\n`);
    expect(existsSync(join(work, '.poolsync/admin-token'))).toBe(false);
    await until('the first run', () => d.out().includes('First run applied.'));
    const st = await runInProcess(['status'], {}, work);
    expect(st.stdout).toContain(`Daemon ${url}: `);
    const synced = await runInProcess(['sync'], { POOLSYNC_ADMIN_TOKEN_FILE: given }, work);
    expect(synced.stderr).toBe('');
    expect(synced.stdout).toMatch(/^#2 in sync /);
    expect(await d.stop()).toBe(0);
  });

  it('only the quickstart serves its control plane: another daemon on an embedded state answers 404 there', async () => {
    const work = tempFolder('poolsync-quickstart-');
    cpSync(EXAMPLE, join(work, 'repo'), { recursive: true });
    const t = await startOwnTestDaemon({
      flags: { watch: join(work, 'repo') },
      env: { POOLSYNC_ADMIN_TOKEN: 'a-long-enough-admin-token-for-this-test' },
    });
    cleanup.add(t.stop);
    await t.daemon.firstRun;
    const res = await fetch(`${t.daemon.url}/control-plane/v1/queues`, {
      headers: { authorization: 'Bearer a-long-enough-admin-token-for-this-test' },
    });
    expect(res.status).toBe(404);
    expect(((await res.json()) as { error: string }).error).toBe(
      'no such endpoint: /control-plane/v1/queues',
    );
  });
});
