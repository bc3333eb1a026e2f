/**
 * `npm run bench`: speed, scale and memory of poolsync, next to Terraform, as ONE Markdown
 * table (bench/README.md explains every row and the targets).
 *
 *   npm run bench                         # N = 1,000 and 10,000, 5 runs per row
 *   npm run bench -- --quick              # N = 1,000, 1 run per row: a smoke test
 *   npm run bench -- --sizes 1000,10000 --runs 3 --out bench/results.md
 *
 * Progress goes to stderr, the table to stdout (and to --out FILE).
 */
import { cp as copyFile, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import type * as JsYaml from 'js-yaml';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { EmbeddedControlPlane } from '../src/controlplane/embedded/embedded.js';
import { readLiveState } from '../src/controlplane/types.js';
import { loadRepository } from '../src/manifests/index.js';
import { computePlan } from '../src/plan/index.js';
import type { Plan } from '../src/model/plan.js';
import { resolveCli, type Cli } from './lib/cli.js';
import { cpuPerRun, measureDaemon } from './lib/daemon.js';
import { measureDaemonMemory, measureOneChange, phaseMedians } from './lib/daemon-rows.js';
import { measureExecutor } from './lib/executor.js';
import { commitAll } from './lib/git.js';
import { formatBytes, formatMs, median, rssSource, runProcess } from './lib/measure.js';
import { declaredDataPlane, driftModel, generateScaleModel, type ScaleModel } from './lib/scale.js';
import { seedControlPlane } from './lib/seed.js';
import { startServer } from './lib/server.js';
import { terraformVersion } from './lib/terraform.js';
import { terraformRows } from './lib/terraform-rows.js';
import { httpApplyRows } from './lib/http-apply-rows.js';
import { writeRepository } from './lib/yaml-writer.js';
import {
  loadNow,
  parseOptions,
  renderTable,
  repeat,
  type Options,
  type Row,
  type Sink,
  type TargetRow,
} from './lib/rows.js';

const ROOT = resolve(import.meta.dirname, '..');
const FLOOR_SCRIPT = join(import.meta.dirname, 'floor-parse.mjs');
const MB = 1024 * 1024;

/** Rows that are slow or need a server and are not run at this N and above. */
const HUGE = 100_000;

/** js-yaml's CommonJS build, the faster one (bench/floor-parse.mjs, src/util/js-yaml.ts). */
const { loadAll } = createRequire(import.meta.url)('js-yaml') as typeof JsYaml;

const log = (line: string) => process.stderr.write(`[bench] ${line}\n`);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** `1.02 s, 3.1× the floor's 330 ms`: CPU time next to the floor's, for a busy machine. */
function cpuRatio(cpuMs: number | null, floorCpuMs: number | undefined): string {
  if (cpuMs === null) return 'n/a';
  if (floorCpuMs === undefined) return formatMs(cpuMs);
  return `${formatMs(cpuMs)}, ${(cpuMs / floorCpuMs).toFixed(2)}× the floor's ${formatMs(floorCpuMs)}`;
}

/** Seeds an embedded control plane persisted at `path` with `model`, clusters reporting healthy (C5). */
async function seedFile(path: string, model: ScaleModel): Promise<void> {
  await rm(dirname(path), { recursive: true, force: true });
  const cp = await EmbeddedControlPlane.open({ path });
  const contracts = new Map(model.pools.map((p) => [p.name, p.contract]));
  try {
    await seedControlPlane(cp, model, {
      concurrency: 64,
      afterRegister: async (c) => {
        await cp.reportClusterStatus(c.name, declaredDataPlane(contracts.get(c.pool)!));
      },
    });
  } finally {
    await cp.close();
  }
}

/** Every manifest file of a generated repository, read into memory. */
async function readRepositoryTexts(repo: string): Promise<string[]> {
  const texts: string[] = [];
  for (const folder of ['pools', 'clusters', 'queues', 'assignments']) {
    for (const file of (await readdir(join(repo, folder))).sort())
      texts.push(await readFile(join(repo, folder, file), 'utf8'));
  }
  return texts;
}

/** The plan of the repository against an empty control plane: what `apply` of N creates runs. */
async function createPlan(repo: string): Promise<Plan> {
  const loaded = await loadRepository(repo);
  if (!loaded.valid)
    throw new Error(
      `generated repository does not validate: ${JSON.stringify(loaded.errors.slice(0, 3))}`,
    );
  const cp = await EmbeddedControlPlane.open({ path: null });
  try {
    return computePlan(loaded.desired, await readLiveState(cp));
  } finally {
    await cp.close();
  }
}

class Bench implements Sink {
  readonly rows: Row[] = [];
  readonly targets: TargetRow[] = [];
  private readonly planMedians = new Map<number, number>();
  private readonly applyMedians = new Map<string, number>();
  private readonly applyFileMedians = new Map<number, number>();
  /** A whole process reading and js-yaml-parsing the same files (bench/floor-parse.mjs), per N (ms). */
  private readonly floors = new Map<number, number>();
  /** The same floor's CPU time (user + system), per N (ms): steadier on a busy machine. */
  private readonly floorCpu = new Map<number, number>();
  /** `node -e ''` + an in-process, warmed-up js-yaml loadAll of the same files, per N (ms). */
  private readonly warmFloors = new Map<number, number>();

  constructor(
    private readonly o: Options,
    private readonly cli: Cli,
    private readonly work: string,
  ) {}

  private poolsync(
    args: string[],
    options: { okExitCodes?: number[]; env?: NodeJS.ProcessEnv } = {},
  ) {
    // Cold by default: the on-disk analysis cache is off unless a row asks for it.
    return runProcess(this.cli.command, [...this.cli.prefix, ...args], {
      cwd: this.work,
      ...options,
      env: { POOLSYNC_CACHE_DIR: 'off', ...options.env },
    });
  }

  target(t: Omit<TargetRow, 'floor' | 'ratio'> & { ms?: number; reference?: number }): void {
    const { reference, ms, ...rest } = t;
    const floor = reference ?? this.floors.get(t.n);
    const ratio = ms !== undefined && floor !== undefined ? ms / floor : null;
    const warm = this.warmFloors.get(t.n);
    const warmNote =
      ms !== undefined && warm !== undefined && reference === undefined && floor !== undefined
        ? ` ${(ms / warm).toFixed(2)}× the warm floor.`
        : '';
    const row: TargetRow = {
      ...rest,
      notes: `${t.notes}${warmNote}${t.notes.includes('load ') ? '' : ` ${loadNow()}.`}`,
      floor: floor === undefined ? '—' : formatMs(floor),
      ratio: ratio === null ? '—' : `${ratio.toFixed(2)}×`,
    };
    this.targets.push(row);
    log(`target ${row.target} (N=${row.n}): ${row.measured}, ${row.ratio} of floor, ${row.met}`);
  }

  private wants(row: string): boolean {
    return this.o.only === null || this.o.only.has(row);
  }

  add(row: Row) {
    this.rows.push(row);
    log(
      `N=${row.n} ${row.name}: ${row.ms === null ? 'n/a' : formatMs(row.ms)}, peak ${formatBytes(row.peakRss)} ${row.notes}`,
    );
  }

  private rssTarget(n: number, peakRss: number | null): { target: string; met: boolean | null } {
    if (n < 10_000 || peakRss === null) return { target: '', met: null };
    return { target: 'RSS < 300 MB', met: peakRss < 300 * MB };
  }

  async size(n: number, tfVersion: string | null): Promise<void> {
    // At 100k every row is slow: it runs --slow-runs times, like the apply rows.
    const runs = this.o.runs;
    if (n >= HUGE) this.o.runs = Math.min(runs, this.o.slowRuns);
    try {
      await this.sizeRows(n, tfVersion);
    } finally {
      this.o.runs = runs;
    }
  }

  private async sizeRows(n: number, tfVersion: string | null): Promise<void> {
    const dir = join(this.work, `n${n}`);
    await mkdir(dir, { recursive: true });
    log(`N=${n}: generating the organisation and seeding control planes ...`);
    const model = generateScaleModel(n, 1);
    const repo = join(dir, 'repo');
    const written = await writeRepository(model, repo);
    await commitAll(repo, `Scale organisation: ${n} objects`);
    const mbYaml = `${(written.bytes / 1e6).toFixed(2)} MB YAML in ${written.files} files`;
    const noopState = join(dir, 'cp-noop', 'state.json');
    const driftState = join(dir, 'cp-drift', 'state.json');
    await seedFile(noopState, model);
    const drift = driftModel(model);
    await seedFile(driftState, drift.model);
    const slowRuns = n >= 10_000 ? this.o.slowRuns : this.o.runs;

    if (this.wants('floor')) {
      // The floor every whole-process row is divided by: a process that reads the same files
      // and parses them with js-yaml (bench/floor-parse.mjs), cold like every row. The two
      // calibration rows after it split it into Node's start-up and a warmed-up parse.
      const parse = await repeat(this.o.runs, () =>
        runProcess(process.execPath, [FLOOR_SCRIPT, repo], { cwd: this.work }),
      );
      this.floors.set(n, parse.ms);
      if (parse.cpuMs !== null) this.floorCpu.set(n, parse.cpuMs);
      this.add({
        n,
        name: 'floor: whole process reading and js-yaml-parsing every file (`bench/floor-parse.mjs`)',
        ms: parse.ms,
        cpuMs: parse.cpuMs,
        runs: this.o.runs,
        peakRss: parse.peakRss,
        target: '',
        met: null,
        notes:
          'The floor of the targets table: Node start-up + reading + a plain, cold js-yaml `loadAll` of the same files.',
      });
      const texts = await readRepositoryTexts(repo);
      const samples: number[] = [];
      for (let i = 0; i < this.o.runs; i++) {
        const t = performance.now();
        for (const text of texts) loadAll(text);
        samples.push(performance.now() - t);
      }
      const start = await repeat(this.o.runs, () =>
        runProcess(process.execPath, ['-e', ''], { cwd: this.work }),
      );
      this.warmFloors.set(n, start.ms + median(samples));
      this.add({
        n,
        name: "floor: `node -e ''` (whole process)",
        ms: start.ms,
        cpuMs: start.cpuMs,
        runs: this.o.runs,
        peakRss: start.peakRss,
        target: '',
        met: null,
        notes: `Node start-up alone. With the warmed-up parse below: ${formatMs(this.warmFloors.get(n)!)}, a stricter floor than any cold process can reach (the targets' notes give the ratio to it too).`,
      });
      this.add({
        n,
        name: 'floor: js-yaml `loadAll` of every file (in-process, files already read, warmed up)',
        ms: median(samples),
        runs: this.o.runs,
        peakRss: null,
        target: '',
        met: null,
        notes:
          'Calibration, not a poolsync row: no positions, no validation; median of runs in one process, so the parser is JIT-compiled after the first. quality.md: ~0.2 s at 10,000 on an idle machine.',
      });
    }

    if (this.wants('validate')) {
      const r = await repeat(this.o.runs, () => this.poolsync(['validate', repo]));
      this.add({
        n,
        name: '`validate`',
        ms: r.ms,
        cpuMs: r.cpuMs,
        runs: this.o.runs,
        peakRss: r.peakRss,
        ...this.rssTarget(n, r.peakRss),
        notes: mbYaml,
      });
    }

    if (this.wants('plan')) {
      // --detailed-exitcode: 0 = no changes. Anything else means the benchmark measured a broken plan.
      const r = await repeat(this.o.runs, () =>
        this.poolsync([
          'plan',
          repo,
          '--control-plane',
          `file:${noopState}`,
          '--detailed-exitcode',
          '--no-color',
        ]),
      );
      this.planMedians.set(n, r.ms);
      const growth =
        this.planMedians.has(1000) && n > 1000
          ? ` Growth from N=1,000: ${(r.ms / this.planMedians.get(1000)!).toFixed(1)}× (target ≤ ${(12 * n) / 10_000}×).`
          : '';
      const met = n >= 10_000 ? r.ms < 1000 && (r.peakRss === null || r.peakRss < 300 * MB) : null;
      this.add({
        n,
        name: '`plan`, no changes (embedded control plane)',
        ms: r.ms,
        cpuMs: r.cpuMs,
        runs: this.o.runs,
        peakRss: r.peakRss,
        target: n >= 10_000 ? '< 1 s; RSS < 300 MB' : '',
        met,
        notes: `Whole process, file: control plane.${growth}`,
      });
      const floor = this.floors.get(n);
      const rss = r.peakRss === null ? 'n/a' : formatBytes(r.peakRss);
      if (n === 10_000) {
        this.target({
          target: '`plan` 10k ≤ 1.3× the floor',
          n,
          ms: r.ms,
          measured: formatMs(r.ms),
          met: floor === undefined ? null : r.ms <= 1.3 * floor,
          notes: `CPU ${cpuRatio(r.cpuMs, this.floorCpu.get(n))}; no changes, file: control plane.`,
        });
        this.target({
          target: 'peak RSS of `plan` at 10k ≤ 150 MB',
          n,
          measured: rss,
          met: r.peakRss === null ? null : r.peakRss <= 150 * MB,
          notes: '',
        });
      }
      if (n === 100_000) {
        this.target({
          target: 'peak RSS of `plan` at 100k ≤ 400 MB',
          n,
          measured: rss,
          met: r.peakRss === null ? null : r.peakRss <= 400 * MB,
          notes: '',
        });
        const ten = this.planMedians.get(10_000);
        if (ten !== undefined) {
          this.target({
            target: '`plan` growth 10k → 100k ≤ 10.5×',
            n,
            measured: `${(r.ms / ten).toFixed(1)}×`,
            met: r.ms / ten <= 10.5,
            notes: `${formatMs(ten)} → ${formatMs(r.ms)}.`,
          });
        }
      }
    }

    if (this.wants('warm')) await this.warmPlan(n, repo, noopState);
    if (this.wants('apply-file')) await this.applyFile(n, repo, dir, slowRuns);

    if (this.wants('drift')) {
      const r = await repeat(this.o.runs, () =>
        this.poolsync(
          [
            'plan',
            repo,
            '--control-plane',
            `file:${driftState}`,
            '--detailed-exitcode',
            '--no-color',
          ],
          { okExitCodes: [2] },
        ),
      );
      const s = drift.summary;
      const met = n >= 10_000 ? r.ms < 1000 && (r.peakRss === null || r.peakRss < 300 * MB) : null;
      this.add({
        n,
        name: '`plan`, 10% changed (embedded control plane)',
        ms: r.ms,
        cpuMs: r.cpuMs,
        runs: this.o.runs,
        peakRss: r.peakRss,
        target: n >= 10_000 ? '< 1 s; RSS < 300 MB' : '',
        met,
        notes: `${s.queuesChanged} queues retuned, ${s.clustersMoved} clusters moved live; text plan written to a pipe.`,
      });
    }

    if (n >= HUGE && ['http', 'apply', 'executor'].some((r) => this.wants(r))) {
      this.add({
        n,
        name: 'HTTP `plan`, HTTP `apply`, `executePlan` alone',
        ms: null,
        runs: 0,
        peakRss: null,
        target: '',
        met: null,
        notes: `Not run at ${n.toLocaleString('en-US')}: with ${this.o.latencyMs} ms per call, an apply of ${n.toLocaleString('en-US')} creates at P=8 alone takes over ${formatMs((n / 8) * this.o.latencyMs)}; the HTTP targets are judged at 1,000 and 10,000.`,
      });
    }

    if (this.wants('http') && n < HUGE) {
      const state = join(dir, 'cp-http', 'state.json');
      await mkdir(dirname(state), { recursive: true });
      await copyFile(noopState, state);
      const server = await startServer(this.cli, state);
      try {
        await server.setLatency(this.o.latencyMs);
        const trips: number[] = [];
        const r = await repeat(this.o.runs, async () => {
          const before = server.requests();
          const run = await this.poolsync([
            'plan',
            repo,
            '--control-plane',
            server.url,
            '--detailed-exitcode',
            '--no-color',
          ]);
          await sleep(100); // the server logs a request after its response is sent
          trips.push(server.requests() - before);
          return run;
        });
        const roundTrips = median(trips);
        this.add({
          n,
          name: `\`plan\`, HTTP control plane, ${this.o.latencyMs} ms latency`,
          ms: r.ms,
          cpuMs: r.cpuMs,
          runs: this.o.runs,
          peakRss: r.peakRss,
          ...this.rssTarget(n, r.peakRss),
          notes: `${roundTrips} round trips to read live state (${formatMs(roundTrips * this.o.latencyMs)} of latency if sequential).`,
        });
      } finally {
        await server.stop();
      }
    }

    if (this.wants('apply') && n < HUGE) {
      const plan = await createPlan(repo);
      const applied = await httpApplyRows(
        { o: this.o, cli: this.cli, sink: this, poolsync: (args) => this.poolsync(args) },
        n,
        repo,
        dir,
        plan.steps,
        slowRuns,
      );
      for (const [p, ms] of applied) this.applyMedians.set(`${n}/${p}`, ms);
    }

    if (this.wants('executor') && n < HUGE) {
      const loaded = await loadRepository(repo);
      if (!loaded.valid) throw new Error('generated repository does not validate');
      const parts: string[] = [];
      let worst = 0;
      let worstMs = 0;
      for (const p of this.o.parallelism) {
        const m = await measureExecutor(loaded.desired, p, this.o.latencyMs);
        const ratio = m.ms / m.boundMs;
        if (ratio >= worst) {
          worst = ratio;
          worstMs = m.ms;
        }
        parts.push(`P=${p}: ${formatMs(m.ms)} = ${ratio.toFixed(2)}× bound ${formatMs(m.boundMs)}`);
      }
      this.add({
        n,
        name: `\`executePlan\` alone, ${this.o.latencyMs} ms per call (in-process, in-memory control plane)`,
        ms: worstMs,
        runs: 1,
        peakRss: null,
        target: '≤ 1.25× bound',
        met: worst <= 1.25,
        notes: `${parts.join('; ')}. The executor's own overhead: no HTTP, no fsync, no second process. Median column = the worst ratio's time.`,
      });
    }

    if (this.wants('daemon')) {
      const daemonRuns = this.o.runs;
      const m = await measureDaemon(this.cli, {
        repo,
        controlPlane: `file:${noopState}`,
        stateDir: join(dir, 'daemon-state'),
        runs: daemonRuns,
      });
      const ms = median(m.runs);
      const met = n >= 10_000 ? ms < 2000 && (m.peakRss === null || m.peakRss < 300 * MB) : null;
      this.add({
        n,
        name: 'daemon reconcile, nothing to do',
        ms,
        runs: daemonRuns,
        peakRss: m.peakRss,
        target: n >= 10_000 ? '< 2 s; RSS < 300 MB' : '',
        met,
        notes: `POST /reconcile?wait=1: git fetch, read live, plan (result \`${m.result}\`); the repository is loaded once per commit and reused while the commit does not move, and so is its plan while the live state is identical. Daemon-reported duration; phases (medians): ${phaseMedians(m.phases)}. First run after start (spawn, clone, load, read, plan): ${formatMs(m.startupMs)}. Peak RSS = VmHWM of the daemon after all runs.`,
      });
      if (n === 10_000) {
        this.target({
          target: 'daemon no-op reconcile at 10k ≤ 0.25 s',
          n,
          ms,
          measured: formatMs(ms),
          met: ms <= 250,
          notes: `Git daemon; phases: ${phaseMedians(m.phases)}. ${cpuPerRun(m.cpu)}.`,
        });
      }
      if (n === 10_000) await this.daemonRows(n, repo, noopState, dir);
    }

    if (this.wants('daemon')) await this.watchDaemon(n, repo, noopState, dir);

    if (this.wants('terraform') && this.o.terraform) {
      const steps = (await createPlan(repo)).steps;
      await terraformRows(
        {
          o: this.o,
          sink: this,
          planMs: this.planMedians.get(n),
          applyMs: this.applyMedians.get(`${n}/16`),
        },
        n,
        steps,
        dir,
        tfVersion,
      );
    }
  }

  /** `plan` with the on-disk cache warm and one file changed since the last run. */
  private async warmPlan(n: number, repo: string, state: string): Promise<void> {
    const cacheDir = join(this.work, `cache-${n}`);
    const file = join(repo, 'queues', (await readdir(join(repo, 'queues'))).sort()[0]!);
    const original = await readFile(file, 'utf8');
    const env = { POOLSYNC_CACHE_DIR: cacheDir };
    const args = ['plan', repo, '--control-plane', `file:${state}`, '--detailed-exitcode'];
    try {
      await this.poolsync([...args, '--no-color'], { env }); // fills the cache
      const r = await repeat(this.o.runs, async (i) => {
        await writeFile(file, `${original}# edit ${i}\n`);
        return this.poolsync([...args, '--no-color'], { env });
      });
      this.add({
        n,
        name: '`plan`, cache warm, one file changed',
        ms: r.ms,
        cpuMs: r.cpuMs,
        runs: this.o.runs,
        peakRss: r.peakRss,
        target: '',
        met: null,
        notes: `Content-addressed cache of parsed, validated files under \`${'.poolsync/cache'}\` (here POOLSYNC_CACHE_DIR): every file but the changed one is a hit.`,
      });
      if (n === 10_000) {
        const floor = this.floors.get(n);
        this.target({
          target: '`plan` with one file changed (10k) ≤ 0.25 s and ≤ 0.4× the floor',
          n,
          ms: r.ms,
          measured: formatMs(r.ms),
          met: r.ms <= 250 && (floor === undefined || r.ms <= 0.4 * floor),
          notes: `CPU ${cpuRatio(r.cpuMs, this.floorCpu.get(n))}.`,
        });
      }
    } finally {
      await writeFile(file, original);
      await rm(cacheDir, { recursive: true, force: true });
    }
  }

  /** `apply` of N creates from an empty `file:` control plane, whole process. */
  private async applyFile(n: number, repo: string, dir: string, runs: number): Promise<void> {
    const r = await repeat(runs, async (i) => {
      const state = join(dir, `cp-apply-file-${i}`, 'state.json');
      try {
        return await this.poolsync([
          'apply',
          repo,
          '--control-plane',
          `file:${state}`,
          '--auto-approve',
          '--no-color',
          '--state-dir',
          join(dir, `apply-file-state-${i}`),
        ]);
      } finally {
        await rm(dirname(state), { recursive: true, force: true });
      }
    });
    this.applyFileMedians.set(n, r.ms);
    this.add({
      n,
      name: `\`apply\` of ${n.toLocaleString('en-US')} creates, empty \`file:\` control plane`,
      ms: r.ms,
      cpuMs: r.cpuMs,
      runs,
      peakRss: r.peakRss,
      target: '',
      met: null,
      notes:
        'Whole process: load, plan, every call journaled (fsync, group commit), final snapshot.',
    });
    if (n === 100_000) {
      this.target({
        target: 'peak RSS of `apply` at 100k ≤ 500 MB',
        n,
        measured: r.peakRss === null ? 'n/a' : formatBytes(r.peakRss),
        met: r.peakRss === null ? null : r.peakRss <= 500 * MB,
        notes: '`apply` of 100,000 creates against an empty `file:` control plane.',
      });
    }
    const tenth = this.applyFileMedians.get(n / 10);
    if (tenth !== undefined) {
      this.target({
        target: `\`apply\` against \`file:\` growth ${n / 10_000}k → ${n / 1000}k ≤ 10.5×`,
        n,
        measured: `${(r.ms / tenth).toFixed(1)}×`,
        met: r.ms / tenth <= 10.5,
        notes: `${formatMs(tenth)} → ${formatMs(r.ms)}.`,
      });
    }
  }

  /** One-change reconciles and the resident set over many no-op reconciles (bench/lib/daemon-rows.ts). */
  private async daemonRows(n: number, repo: string, state: string, dir: string): Promise<void> {
    const change = await measureOneChange(this.cli, { repo, state, dir, runs: this.o.runs });
    this.add({ n, ...change.row, runs: this.o.runs });
    this.target({ n, ...change.target });
    const memory = await measureDaemonMemory(this.cli, {
      repo,
      state,
      dir,
      runs: this.o.daemonRuns,
    });
    this.add({ n, ...memory.row, runs: this.o.daemonRuns });
    this.target({ n, ...memory.target });
  }

  /** The daemon watching the folder (reloaded every run; unchanged files reused from memory). */
  private async watchDaemon(n: number, repo: string, state: string, dir: string): Promise<void> {
    const m = await measureDaemon(this.cli, {
      repo,
      watch: true,
      controlPlane: `file:${state}`,
      stateDir: join(dir, 'daemon-watch-state'),
      runs: this.o.runs,
    });
    const ms = median(m.runs);
    this.add({
      n,
      name: 'daemon `--watch` reconcile, nothing to do',
      ms,
      runs: this.o.runs,
      peakRss: m.peakRss,
      target: '',
      met: null,
      notes: `POST /reconcile?wait=1 with \`--watch DIR\`: the folder is read again each run and every unchanged file's analysis is reused from memory; read live, plan (result \`${m.result}\`). First run after start: ${formatMs(m.startupMs)}.`,
    });
    if (n === 10_000) {
      this.target({
        target: 'daemon no-op reconcile at 10k ≤ 0.25 s with `--watch`',
        n,
        ms,
        measured: formatMs(ms),
        met: ms <= 250,
        notes: `Daemon-reported duration; phases: ${phaseMedians(m.phases)}. ${cpuPerRun(m.cpu)}.`,
      });
    }
  }
}

async function main(): Promise<number> {
  let o: Options;
  try {
    o = parseOptions(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(
      `Error: ${(err as Error).message}\nRun \`npm run bench -- --help\` for usage.\n`,
    );
    return 1;
  }
  const started = performance.now();
  const loadAtStart = loadavg()[0]!;
  const cli = await resolveCli(ROOT, { tsx: o.tsx, log });
  const tfVersion = o.terraform ? await terraformVersion() : null;
  const work = await mkdtemp(join(tmpdir(), 'poolsync-bench-'));
  log(`working in ${work}; measuring ${cli.label}`);
  const bench = new Bench(o, cli, work);
  let failure: unknown = null;
  try {
    for (const n of o.sizes) {
      await bench.size(n, tfVersion);
      // A long run leaves its table so far behind after each size.
      if (o.out) {
        await writeFile(
          o.out,
          renderTable(bench.rows, bench.targets, [`(partial: up to N = ${n})`]),
        );
      }
    }
  } catch (err) {
    failure = err;
  } finally {
    if (!o.keep) await rm(work, { recursive: true, force: true });
  }
  const cpu = cpus()[0]?.model.trim() ?? 'unknown CPU';
  const header = [
    `poolsync benchmarks: ${new Date().toISOString().slice(0, 10)}, ${availableParallelism()} × ${cpu}, Node ${process.version}${tfVersion ? `, ${tfVersion}` : ''}.`,
    `Each row is a whole process (${cli.label}) unless its notes say otherwise; median of "runs"; CPU = user + system time of the process (steadier than wall time on a busy machine); peak RSS from ${rssSource()}, highest of the runs. Total bench time ${formatMs(performance.now() - started)}; 1-minute load average ${loadAtStart.toFixed(1)} at the start, ${loadavg()[0]!.toFixed(1)} at the end (above ${availableParallelism()} means other work competed for the CPUs).`,
  ];
  const table = renderTable(bench.rows, bench.targets, header);
  process.stdout.write(`\n${table}`);
  if (o.out) await writeFile(o.out, table);
  if (o.keep) log(`kept ${work}`);
  if (failure) {
    process.stderr.write(
      `\nError: the benchmark stopped early: ${failure instanceof Error ? failure.message : String(failure)}\n`,
    );
    return 1;
  }
  return 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(
      `Error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    process.exitCode = 1;
  },
);
