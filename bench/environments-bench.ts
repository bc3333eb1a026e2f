/**
 * `npm run bench:environments` (issue 36): the daemon over 10 environments of 1,000 objects each
 * against the daemon over one environment of 10,000, in the same run on the same machine. Both
 * are the real daemon process (`--watch`, policy safe) on converged embedded control planes;
 * each manual reconcile (POST /reconcile?wait=1) is a full run of every environment: load,
 * read live state, plan, nothing to apply. The two daemons run side by side and are reconciled
 * in turn, so the machine's load weighs on both alike. Reported: the median run time per
 * environment (what each environment's /status says), the wall time of a reconcile of all of
 * them, the daemon's CPU per reconcile (/proc, with the /status read after each: less swayed by
 * the machine's load than the wall times), and the daemon's resident set (VmRSS after the runs,
 * VmHWM: its peak). With `--repo`,
 * both repositories are Git repositories the daemons follow (`--repo file://…`) instead of
 * folders they watch: every reconcile then asks the remote for its head (issue 63: one remote
 * read per reconcile for every environment of the repository).
 *
 *   npm run bench:environments -- [--runs 11] [--environments 10] [--objects 1000] [--repo]
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { request } from 'undici';
import { formatBytes, formatMs, median } from './lib/measure.js';
import { commitAll } from './lib/git.js';
import { generateScaleModel } from './lib/scale.js';
import { seedStateFile } from './lib/seed.js';
import { renderRepository, writeRepository } from './lib/yaml-writer.js';

const ROOT = resolve(import.meta.dirname, '..');
const log = (line: string) => process.stderr.write(`[bench] ${line}\n`);
const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const RUNS = arg('runs', 11);
const ENVIRONMENTS = arg('environments', 10);
const OBJECTS = arg('objects', 1000);
const REPO = process.argv.includes('--repo');

interface Status {
  lastRun: { durationMs: number; result: string; phasesMs?: Record<string, number> } | null;
  environments?: Record<string, Status>;
}

interface Measured {
  /** Each environment's run time of each manual reconcile (ms; one environment: one per run). */
  perEnvironment: number[];
  /** Wall time of each POST /reconcile?wait=1 (all environments). */
  wall: number[];
  rss: number | null;
  peakRss: number | null;
  /** The daemon's CPU (user + system, ms) over the manual reconciles and their /status reads. */
  cpuMs: number | null;
}

/** A process's CPU so far (ms), from /proc: less swayed by the machine's load than wall times. */
async function cpuOf(pid: number): Promise<number | null> {
  const text = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => null);
  // Fields after the command (which may hold spaces): utime and stime are the 12th and 13th.
  const fields = text?.slice(text.lastIndexOf(')') + 2).split(' ');
  return fields ? ((Number(fields[11]) + Number(fields[12])) * 1000) / 100 : null;
}

async function procStatus(pid: number, field: 'VmHWM' | 'VmRSS'): Promise<number | null> {
  const text = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(text);
  return m ? Number(m[1]) * 1024 : null;
}

/** A daemon started, its first runs done: reconcile it once at a time, then stop it. */
interface Daemon {
  /** Its CPU so far (ms). */
  cpu(): Promise<number | null>;
  reconcile(into: Measured): Promise<void>;
  stop(into: Measured): Promise<void>;
}

async function startDaemon(dir: string, controlPlane: string, stateDir: string): Promise<Daemon> {
  const token = randomBytes(24).toString('hex');
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      join(ROOT, 'src/cli/main.ts'),
      'daemon',
      ...(REPO ? ['--repo', `file://${dir}`, '--branch', 'main'] : ['--watch', dir]),
      '--control-plane',
      controlPlane,
      '--listen',
      '127.0.0.1:0',
      '--policy',
      'safe',
      '--state-dir',
      stateDir,
      '--drift-interval',
      '1h',
      '--log-format',
      'json',
    ],
    {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, POOLSYNC_RECONCILE_TOKEN: token },
    },
  );
  let out = '';
  child.stdout.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr.on('data', (b: Buffer) => (out += b.toString()));
  const stop = async () => {
    child.kill('SIGTERM');
    if (child.exitCode === null) await new Promise((r) => child.once('exit', r));
  };
  try {
    const deadline = Date.now() + 600_000;
    let url: string | null = null;
    let st: Status | null = null;
    while (Date.now() < deadline) {
      if (child.exitCode !== null) throw new Error(`the daemon exited:\n${out.slice(-3000)}`);
      url ??= /listening on (http:\/\/[^\s";]+)/.exec(out)?.[1] ?? null;
      if (url) {
        st = (await (await request(`${url}/status`)).body.json()) as Status;
        const all = st.environments ? Object.values(st.environments) : [st];
        if (all.every((s) => s.lastRun !== null)) break;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    const settled = (s: Status) =>
      (s.environments ? Object.values(s.environments) : [s]).map((e) => e.lastRun!.result);
    if (!settled(st!).every((r) => r === 'in_sync'))
      throw new Error(`first runs: ${settled(st!).join(', ')}\n${out.slice(-3000)}`);
    return {
      cpu: () => cpuOf(child.pid!),
      async reconcile(into) {
        const t0 = performance.now();
        const res = await request(`${url}/reconcile?wait=1`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}` },
        });
        await res.body.dump();
        into.wall.push(performance.now() - t0);
        const now = (await (await request(`${url}/status`)).body.json()) as Status;
        for (const e of now.environments ? Object.values(now.environments) : [now]) {
          if (e.lastRun!.result !== 'in_sync') throw new Error(`a run ended ${e.lastRun!.result}`);
          into.perEnvironment.push(e.lastRun!.durationMs);
          if (process.env.PHASES) log(JSON.stringify(e.lastRun!.phasesMs));
        }
      },
      async stop(into) {
        into.rss = await procStatus(child.pid!, 'VmRSS');
        into.peakRss = await procStatus(child.pid!, 'VmHWM');
        await stop();
      },
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'poolsync-bench-env-'));
  try {
    const total = ENVIRONMENTS * OBJECTS;
    log(`one environment of ${total} objects ...`);
    const big = generateScaleModel(total);
    await writeRepository(big, join(dir, 'single'));
    await seedStateFile(join(dir, 'single-cp', 'cp.json'), big);

    log(`${ENVIRONMENTS} environments of ${OBJECTS} objects ...`);
    const small = generateScaleModel(OBJECTS);
    const files = renderRepository(small);
    const repo = join(dir, 'environments');
    let config = 'apiVersion: poolsync/v1\nkind: RepoConfig\nprune: false\nenvironments:\n';
    for (let i = 0; i < ENVIRONMENTS; i++) {
      const name = `env-${String(i).padStart(2, '0')}`;
      for (const [path, content] of files) {
        if (path === 'poolsync.yaml') continue;
        await mkdir(dirname(join(repo, name, path)), { recursive: true });
        await writeFile(join(repo, name, path), content);
      }
      const cp = join(dir, 'env-cp', `${name}.json`);
      await seedStateFile(cp, small);
      config += `  ${name}:\n    controlPlane: file:${cp}\n    folders: [${name}]\n`;
    }
    await writeFile(join(repo, 'poolsync.yaml'), config);
    if (REPO) {
      await commitAll(join(dir, 'single'), 'one environment');
      await commitAll(repo, 'environments');
    }

    // Both daemons run side by side, reconciled in turn: the machine's load weighs on both alike.
    log('starting the daemons ...');
    const empty = (): Measured => ({
      perEnvironment: [],
      wall: [],
      rss: null,
      peakRss: null,
      cpuMs: null,
    });
    const one = empty();
    const many = empty();
    const single = await startDaemon(
      join(dir, 'single'),
      `file:${join(dir, 'single-cp', 'cp.json')}`,
      join(dir, 'single-state'),
    );
    try {
      const envs = await startDaemon(repo, 'file:unused.json', join(dir, 'env-state'));
      try {
        log(`reconciling each ${RUNS} times, in turn ...`);
        const cpu0 = [await single.cpu(), await envs.cpu()];
        for (let i = 0; i < RUNS; i++) {
          await single.reconcile(one);
          await envs.reconcile(many);
        }
        const used = async (d: Daemon, before: number | null) => {
          const now = await d.cpu();
          return now === null || before === null ? null : now - before;
        };
        one.cpuMs = await used(single, cpu0[0]!);
        many.cpuMs = await used(envs, cpu0[1]!);
      } finally {
        await envs.stop(many);
      }
    } finally {
      await single.stop(one);
    }

    const oneRun = median(one.perEnvironment);
    const envRun = median(many.perEnvironment);
    const ratio = (a: number | null, b: number | null) =>
      a !== null && b !== null && b > 0 ? `${(a / b).toFixed(2)}×` : 'n/a';
    const cpu = (m: Measured) => (m.cpuMs === null ? 'n/a' : formatMs(m.cpuMs / RUNS));
    const rows = [
      `| setup | run per environment (median) | reconcile of all (median wall) | daemon CPU per reconcile | resident set after | peak resident set |`,
      `| --- | --- | --- | --- | --- | --- |`,
      `| 1 environment × ${total} objects (the floor) | ${formatMs(oneRun)} | ${formatMs(median(one.wall))} | ${cpu(one)} | ${formatBytes(one.rss)} | ${formatBytes(one.peakRss)} |`,
      `| ${ENVIRONMENTS} environments × ${OBJECTS} objects | ${formatMs(envRun)} | ${formatMs(median(many.wall))} | ${cpu(many)} | ${formatBytes(many.rss)} | ${formatBytes(many.peakRss)} |`,
      `| ratio (environments / one) | ${ratio(envRun, oneRun)} | ${ratio(median(many.wall), median(one.wall))} | ${ratio(many.cpuMs, one.cpuMs)} | ${ratio(many.rss, one.rss)} | ${ratio(many.peakRss, one.peakRss)} |`,
    ];
    process.stdout.write(
      `${rows.join('\n')}\n\n${REPO ? 'Followed in Git (--repo); ' : 'Watched folders (--watch); '}${RUNS} manual reconciles each, after the first runs; ${cpus().length} CPUs, load ${loadavg()[0]!.toFixed(1)} at the end; Node ${process.version}.\n`,
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
