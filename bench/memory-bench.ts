/**
 * `npm run bench:memory` (issue 79, item 1): the daemon's resident memory over a long run at
 * 10,000 objects, as a pod runs it. The real daemon (`node dist/cli/main.js daemon --repo`, with
 * the image's NODE_OPTIONS) follows a real Git repository of bench/generate.ts's organisation
 * and reconciles a control plane served over HTTP (`poolsync control-plane serve`, its own
 * process, seeded converged). For `--minutes` it looks for drift every 15 s, gets `--commits`
 * one-line commits spread evenly (each followed by POST /reconcile?wait=1, as a webhook would),
 * and every `--drift-every`-th commit interval someone changes a queue on the control plane by
 * hand (a REST PUT, as the README's drift-by-hand block does) for the next tick to put back.
 * Every `--sample` seconds it reads the daemon's VmRSS / RssAnon / RssFile (/proc/PID/status)
 * and its V8 heap (prom-client's default metrics on /metrics). Several `--daemon` variants
 * (environment variables) run side by side on the same commits and drift, so they are compared
 * under the same load.
 *
 *   npm run bench:memory -- [--objects 10000] [--minutes 30] [--commits 100] [--limit-mib 384]
 *       [--daemon 'image'] [--daemon 'arena2:MALLOC_ARENA_MAX=2'] [--log samples.jsonl]
 *
 * A `--daemon` is NAME[:KEY=VALUE …]; NODE_OPTIONS defaults to the Dockerfile's.
 */
import { spawn, execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFile, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { request } from 'undici';
import { resolveCli, type Cli } from './lib/cli.js';
import { commitAll } from './lib/git.js';
import { formatMs, median } from './lib/measure.js';
import { generateScaleModel } from './lib/scale.js';
import { copyStateFile, seedStateFile } from './lib/seed.js';
import { startServer, type BenchServer } from './lib/server.js';
import { writeRepository } from './lib/yaml-writer.js';

const ROOT = resolve(import.meta.dirname, '..');
const run = promisify(execFile);
const log = (line: string) =>
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
const MiB = 1024 * 1024;
/**
 * A connection per request: a kept-alive one the server closes after its 5 s of idleness can be
 * reused at that moment (ECONNRESET), which a busy machine makes likely over 30 minutes.
 */
const FRESH = { reset: true } as const;
/** What the Dockerfile's ENV gives the daemon (the image is what a pod runs). */
const IMAGE_NODE_OPTIONS = '--max-old-space-size=256';

interface Options {
  objects: number;
  minutes: number;
  commits: number;
  tickSeconds: number;
  sampleSeconds: number;
  driftEvery: number;
  limitMiB: number;
  daemons: Array<{ name: string; env: Record<string, string> }>;
  log: string | null;
}

/** The memory limit of examples/deploy/deployment.yaml (MiB): what the budget is judged against. */
async function deploymentLimit(): Promise<number> {
  const text = await readFile(join(ROOT, 'examples/deploy/deployment.yaml'), 'utf8');
  const m = /limits:\s*\{[^}]*memory:\s*(\d+)Mi/.exec(text);
  if (!m) throw new Error('examples/deploy/deployment.yaml: no `limits: { memory: NMi }` found');
  return Number(m[1]);
}

function parseOptions(argv: string[], deploymentLimitMiB: number): Options {
  const value = (name: string, fallback: string) => {
    const i = argv.lastIndexOf(`--${name}`);
    return i >= 0 && argv[i + 1] !== undefined ? argv[i + 1]! : fallback;
  };
  const num = (name: string, fallback: number) => {
    const n = Number(value(name, String(fallback)));
    if (!Number.isFinite(n) || n <= 0)
      throw new Error(`--${name} must be a positive number (got "${value(name, '')}")`);
    return n;
  };
  const daemons = argv
    .flatMap((a, i) => (a === '--daemon' && argv[i + 1] ? [argv[i + 1]!] : []))
    .map((spec) => {
      const [name, rest = ''] = spec.split(/:(.*)/s);
      const env: Record<string, string> = { NODE_OPTIONS: IMAGE_NODE_OPTIONS };
      // A value runs to the next ` KEY=`, so NODE_OPTIONS can hold several flags.
      const pairs = [...rest.matchAll(/([A-Z_][A-Z0-9_]*)=(.*?)(?=\s+[A-Z_][A-Z0-9_]*=|\s*$)/gs)];
      if (rest.trim() && pairs.length === 0)
        throw new Error(`--daemon ${spec}: expected NAME:KEY=VALUE …`);
      for (const [, key, val] of pairs) env[key!] = val!;
      return { name: name!, env };
    });
  return {
    objects: num('objects', 10_000),
    minutes: num('minutes', 30),
    commits: num('commits', 100),
    tickSeconds: num('tick', 15),
    sampleSeconds: num('sample', 5),
    driftEvery: num('drift-every', 5),
    limitMiB: num('limit-mib', deploymentLimitMiB),
    daemons: daemons.length
      ? daemons
      : [{ name: 'image', env: { NODE_OPTIONS: IMAGE_NODE_OPTIONS } }],
    log: argv.includes('--log') ? resolve(value('log', '')) : null,
  };
}

/** One sample of a daemon's memory (bytes). */
interface Sample {
  at: number;
  commits: number;
  rss: number;
  anon: number;
  file: number;
  hwm: number;
  /** The daemon's CPU time so far (user + system, s). */
  cpu: number;
  /** V8: live + garbage not yet collected; committed (heap total); external + array buffers. */
  heapUsed: number | null;
  heapTotal: number | null;
  external: number | null;
}

interface Daemon {
  name: string;
  pid: number;
  url: string;
  server: BenchServer;
  samples: Sample[];
  results: Map<string, number>;
  reconcile(): Promise<string>;
  /** An error naming the daemon, with its exit and the end of its output. */
  failed(err: unknown): Error;
  stop(): Promise<void>;
}

async function procStatus(pid: number): Promise<Record<string, number>> {
  const text = await readFile(`/proc/${pid}/status`, 'utf8');
  const out: Record<string, number> = {};
  for (const m of text.matchAll(/^(Vm\w+|Rss\w+):\s+(\d+) kB/gm)) out[m[1]!] = Number(m[2]) * 1024;
  return out;
}

function metric(text: string, name: string): number | null {
  const m = new RegExp(`^poolsync_${name}(?:\\{[^}]*\\})? ([\\d.e+]+)`, 'm').exec(text);
  return m ? Number(m[1]) : null;
}

async function startDaemon(
  cli: Cli,
  spec: Options['daemons'][number],
  o: { repo: string; state: string; dir: string; tickSeconds: number },
): Promise<Daemon> {
  const state = join(o.dir, `${spec.name}-cp.json`);
  await copyStateFile(o.state, state);
  const server = await startServer(cli, state);
  const token = randomBytes(24).toString('hex');
  const child = spawn(
    cli.command,
    [
      ...cli.prefix,
      'daemon',
      '--repo',
      `file://${o.repo}`,
      '--branch',
      'main',
      '--control-plane',
      server.url,
      '--listen',
      '127.0.0.1:0',
      '--policy',
      'safe',
      '--state-dir',
      join(o.dir, `${spec.name}-daemon`),
      '--poll-interval',
      '1h',
      '--drift-interval',
      `${o.tickSeconds}s`,
      '--log-format',
      'json',
      '--log-level',
      'info',
    ],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...spec.env, POOLSYNC_RECONCILE_TOKEN: token },
    },
  );
  let output = '';
  const keep = (b: Buffer) => {
    // The last 20 kB only: the run is long and logs a line per tick.
    output = (output + b.toString('utf8')).slice(-20_000);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const stop = async () => {
    if (child.exitCode === null) child.kill('SIGTERM');
    await exited;
    await server.stop();
  };
  try {
    let url: string | null = null;
    const deadline = Date.now() + 600_000;
    while (Date.now() < deadline) {
      if (child.exitCode !== null) throw new Error(`daemon ${spec.name} exited:\n${output}`);
      url ??= /listening on (http:\/\/[^\s";]+)/.exec(output)?.[1] ?? null;
      if (url) {
        const st = (await (await request(`${url}/status`, FRESH)).body.json()) as {
          lastRun: { result: string } | null;
        };
        if (st.lastRun) {
          if (st.lastRun.result !== 'in_sync')
            throw new Error(`daemon ${spec.name}: first run ${st.lastRun.result}\n${output}`);
          break;
        }
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    if (!url) throw new Error(`daemon ${spec.name} did not start within 10 minutes:\n${output}`);
    const at = url;
    const results = new Map<string, number>();
    return {
      name: spec.name,
      pid: child.pid!,
      url: at,
      server,
      samples: [],
      results,
      failed: (err) =>
        new Error(
          `daemon ${spec.name}: ${err instanceof Error ? err.message : String(err)}; ${child.exitCode === null && child.signalCode === null ? `running` : `exited ${child.exitCode ?? child.signalCode}`}; its output ends:\n${output.slice(-4000)}`,
        ),
      async reconcile() {
        const res = await request(`${at}/reconcile?wait=1`, {
          ...FRESH,
          method: 'POST',
          headers: { authorization: `Bearer ${token}` },
        });
        const body = (await res.body.json()) as { lastRun?: { result: string } };
        const result = body.lastRun?.result ?? `HTTP ${res.statusCode}`;
        results.set(result, (results.get(result) ?? 0) + 1);
        if (child.exitCode !== null) throw new Error(`daemon ${spec.name} exited:\n${output}`);
        return result;
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

async function sample(d: Daemon, commits: number, started: number): Promise<Sample> {
  return sampleOf(d, commits, started).catch((err: unknown) => {
    throw d.failed(err);
  });
}

async function sampleOf(d: Daemon, commits: number, started: number): Promise<Sample> {
  const st = await procStatus(d.pid);
  const stat = await readFile(`/proc/${d.pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const text = await (await request(`${d.url}/metrics`, FRESH)).body.text();
  return {
    at: Math.round((performance.now() - started) / 1000),
    commits,
    rss: st.VmRSS ?? 0,
    anon: st.RssAnon ?? 0,
    file: st.RssFile ?? 0,
    hwm: st.VmHWM ?? 0,
    // Fields 14 and 15 (utime, stime), in clock ticks of 10 ms.
    cpu: (Number(fields[11]) + Number(fields[12])) / 100,
    heapUsed: metric(text, 'nodejs_heap_size_used_bytes'),
    heapTotal: metric(text, 'nodejs_heap_size_total_bytes'),
    external: metric(text, 'nodejs_external_memory_bytes'),
  };
}

/** Someone changes a queue on the control plane by hand (README, "drift by hand"). */
async function driftByHand(server: BenchServer, queue: string, k: number): Promise<void> {
  const got = await request(`${server.url}/v1/queues/${queue}`, FRESH);
  const live = (await got.body.json()) as Record<string, unknown>;
  if (got.statusCode !== 200) throw new Error(`GET queue ${queue}: ${got.statusCode}`);
  const res = await request(`${server.url}/v1/queues/${queue}`, {
    ...FRESH,
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    // The spec's own fields only: GET adds read-only ones (cluster_managed) PUT refuses.
    body: JSON.stringify({
      ...Object.fromEntries(
        ['pool', 'clusters', 'action_concurrency', 'depth', 'priority', 'fairness'].map((f) => [
          f,
          live[f],
        ]),
      ),
      run_concurrency: 7000 + k,
    }),
  });
  const text = await res.body.text();
  if (res.statusCode !== 200) throw new Error(`PUT queue ${queue}: ${res.statusCode} ${text}`);
}

const mib = (b: number | null | undefined) => (b == null ? 'n/a' : `${(b / MiB).toFixed(0)}`);

async function main(): Promise<number> {
  const o = parseOptions(process.argv.slice(2), await deploymentLimit());
  const cli = await resolveCli(ROOT, { tsx: false, log });
  const dir = await mkdtemp(join(tmpdir(), 'poolsync-bench-memory-'));
  const daemons: Daemon[] = [];
  // Interrupted (a long run): the daemons, their servers and the folder go too.
  const interrupted = () => {
    void Promise.allSettled(daemons.map((d) => d.stop()))
      .then(() => rm(dir, { recursive: true, force: true }))
      .finally(() => process.exit(130));
  };
  process.once('SIGINT', interrupted).once('SIGTERM', interrupted);
  try {
    log(`generating ${o.objects} objects ...`);
    const model = generateScaleModel(o.objects, 1);
    const repo = join(dir, 'repo');
    await writeRepository(model, repo);
    await commitAll(repo, `Scale organisation: ${o.objects} objects`);
    const state = join(dir, 'seed', 'cp.json');
    await seedStateFile(state, model);
    const queueFiles = (await readdir(join(repo, 'queues'))).sort();
    for (const spec of o.daemons) {
      log(`starting daemon ${spec.name} (${JSON.stringify(spec.env)}) ...`);
      daemons.push(await startDaemon(cli, spec, { repo, state, dir, tickSeconds: o.tickSeconds }));
    }
    const started = performance.now();
    const end = started + o.minutes * 60_000;
    const every = (o.minutes * 60_000) / o.commits;
    let commits = 0;
    let nextSample = started;
    const applyMs: number[] = [];
    const takeSamples = async () => {
      for (const d of daemons) {
        const s = await sample(d, commits, started);
        d.samples.push(s);
        if (o.log) await appendFile(o.log, `${JSON.stringify({ daemon: d.name, ...s })}\n`);
      }
    };
    await takeSamples();
    // Commits and drift at fixed times from the start, samples in between: the schedule is the
    // workload, so it does not stretch when the machine is slow.
    while (commits < o.commits || performance.now() < end) {
      const nextCommit = commits < o.commits ? started + (commits + 1) * every : end;
      const wake = Math.min(nextCommit, nextSample + o.sampleSeconds * 1000, end);
      const wait = wake - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      if (commits < o.commits && performance.now() >= nextCommit) {
        // A one-line edit: the first queue of a file, a new run_concurrency (files in turn).
        const file = join(repo, 'queues', queueFiles[commits % queueFiles.length]!);
        const text = await readFile(file, 'utf8');
        const changed = text.replace(/run_concurrency: \d+/, `run_concurrency: ${1000 + commits}`);
        await writeFile(file, changed);
        await run('git', [
          ...['-c', 'user.name=bench', '-c', 'user.email=bench@poolsync.invalid'],
          ...['-C', repo, 'commit', '-q', '-a', '-m', `bench: edit ${commits + 1}`],
        ]);
        commits++;
        const t0 = performance.now();
        const results = await Promise.all(
          daemons.map((d) =>
            d.reconcile().catch((err: unknown) => {
              throw d.failed(err);
            }),
          ),
        );
        applyMs.push(performance.now() - t0);
        if (commits % o.driftEvery === 0) {
          const queue = model.queues[(commits * 37) % model.queues.length]!.name;
          await Promise.all(daemons.map((d) => driftByHand(d.server, queue, commits)));
        }
        if (commits % 10 === 0 || commits === 1)
          log(
            `commit ${commits}: ${results.join(', ')}; RSS ${daemons.map((d) => `${d.name} ${mib(d.samples.at(-1)?.rss)} MiB`).join(', ')}; load ${loadavg()[0]!.toFixed(1)}`,
          );
        // The sample the done-when row compares the end with: right after commit 10's run.
        if (commits === 10) {
          await takeSamples();
          nextSample = performance.now();
        }
      }
      if (performance.now() >= nextSample + o.sampleSeconds * 1000 || performance.now() >= end) {
        await takeSamples();
        nextSample = performance.now();
      }
      if (performance.now() >= end && commits >= o.commits) break;
    }
    await takeSamples();

    const budget = o.limitMiB * 0.75 * MiB;
    const lines = [
      `| daemon | RSS after 10 commits | RSS at the end | end / after 10 | highest RSS (VmHWM) | anon / file at the end | V8 heap used: min / median / max | V8 heap committed at the end | CPU | met (±10 %, ≤ ${(o.limitMiB * 0.75).toFixed(0)} MiB) |`,
      '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    ];
    for (const d of daemons) {
      const after10 = d.samples.find((s) => s.commits >= 10) ?? d.samples[0]!;
      const last = d.samples.at(-1)!;
      const ratio = last.rss / after10.rss;
      const heap = d.samples.map((s) => s.heapUsed ?? 0).filter((h) => h > 0);
      const met = Math.abs(ratio - 1) <= 0.1 && last.hwm <= budget;
      lines.push(
        `| ${d.name} \`${Object.entries(o.daemons.find((s) => s.name === d.name)!.env)
          .map(([k, v]) => `${k}=${v}`)
          .join(
            ' ',
          )}\` | ${mib(after10.rss)} MiB | ${mib(last.rss)} MiB | ${ratio.toFixed(2)}× | ${mib(last.hwm)} MiB | ${mib(last.anon)} / ${mib(last.file)} MiB | ${mib(Math.min(...heap))} / ${mib(median(heap))} / ${mib(Math.max(...heap))} MiB | ${mib(last.heapTotal)} MiB | ${(last.cpu - d.samples[0]!.cpu).toFixed(0)} s | ${met ? 'met' : 'missed'} |`,
      );
    }
    process.stdout.write(
      `${lines.join('\n')}\n\n${o.objects.toLocaleString('en-US')} objects, ${o.minutes} min, drift every ${o.tickSeconds} s, ${commits} one-line commits (reconcile of each: median ${formatMs(median(applyMs))} for all daemons), a queue changed by hand every ${o.driftEvery} commits; results ${daemons.map((d) => `${d.name} ${JSON.stringify(Object.fromEntries(d.results))}`).join(', ')}; ${cpus().length} CPUs, load ${loadavg()
        .map((l) => l.toFixed(1))
        .join(' ')} at the end; Node ${process.version}.\n`,
    );
    return 0;
  } finally {
    for (const d of daemons) await d.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`Error: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
