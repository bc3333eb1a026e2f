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
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { EmbeddedControlPlane } from '../src/controlplane/embedded/embedded.js';
import { readLiveState } from '../src/controlplane/types.js';
import { loadRepository } from '../src/manifests/index.js';
import { computePlan } from '../src/plan/index.js';
import type { Plan } from '../src/model/plan.js';
import { resolveCli, type Cli } from './lib/cli.js';
import { daemonRows } from './lib/daemon-rows.js';
import { floorRows } from './lib/floor-rows.js';
import { commitAll } from './lib/git.js';
import { startupRows } from './lib/startup-rows.js';
import { httpApplyRows } from './lib/http-apply-rows.js';
import { executorRow, httpPlanRow } from './lib/http-plan-rows.js';
import { formatBytes, formatMs, rssSource, runProcess } from './lib/measure.js';
import { wideMappingRow } from './lib/mapping-rows.js';
import { environmentsRows } from './lib/environments-rows.js';
import {
  applyFileRow,
  applyDeleteRow,
  driftRow,
  planCreatesRow,
  planRow,
  validateRow,
} from './lib/plan-rows.js';
import { policyRows } from './lib/policy-rows.js';
import { planFileRows } from './lib/plan-file-rows.js';
import {
  loadNow,
  parseOptions,
  renderTable,
  type Options,
  type Row,
  type RunPoolsync,
  type Sink,
  type SizeContext,
  type TargetRow,
} from './lib/rows.js';
import { driftModel, generateScaleModel, type ScaleModel } from './lib/scale.js';
import { recordSeeded, seedStateFile } from './lib/seed.js';
import { terraformVersion } from './lib/terraform.js';
import { terraformRows } from './lib/terraform-rows.js';
import { writeRepository } from './lib/yaml-writer.js';

const ROOT = resolve(import.meta.dirname, '..');

/** Rows that are slow or need a server and are not run at this N and above. */
const HUGE = 100_000;

const log = (line: string) => process.stderr.write(`[bench] ${line}\n`);

/** A fresh state file at `path` (its folder emptied first), seeded with `model`. */
async function seedFile(path: string, model: ScaleModel): Promise<void> {
  await rm(dirname(path), { recursive: true, force: true });
  await seedStateFile(path, model);
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
  /** Medians later rows compare with (SizeContext.medians). */
  private readonly medians = new Map<string, number>();
  /** A whole process reading and js-yaml-parsing the same files (bench/floor-parse.mjs), per N (ms). */
  private readonly floors = new Map<number, number>();
  /** `node -e ''` + an in-process, warmed-up js-yaml loadAll of the same files, per N (ms). */
  private readonly warmFloors = new Map<number, number>();

  constructor(
    private readonly o: Options,
    private readonly cli: Cli,
    private readonly work: string,
  ) {}

  private poolsync: RunPoolsync = (args, options = {}) => {
    return runProcess(this.cli.command, [...this.cli.prefix, ...args], {
      cwd: this.work,
      ...options,
    });
  };

  target(t: Omit<TargetRow, 'floor' | 'ratio'> & { ms?: number; reference?: number }): void {
    const { reference, ms, ...rest } = t;
    // A target judged on something else than time (RSS, growth) shows no floor.
    const floor = reference ?? (ms === undefined ? undefined : this.floors.get(t.n));
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
    await recordSeeded(this.poolsync, repo, noopState);
    const drift = driftModel(model);
    await seedFile(driftState, drift.model);
    const slowRuns = n >= 10_000 ? this.o.slowRuns : this.o.runs;
    const ctx: SizeContext = {
      o: this.o,
      cli: this.cli,
      sink: this,
      work: this.work,
      dir,
      n,
      repo,
      noopState,
      poolsync: this.poolsync,
      medians: this.medians,
      floorMs: undefined,
      floorCpuMs: undefined,
    };

    if (this.wants('floor')) {
      const floors = await floorRows(ctx);
      this.floors.set(n, floors.ms);
      this.warmFloors.set(n, floors.warmMs);
      ctx.floorMs = floors.ms;
      ctx.floorCpuMs = floors.cpuMs ?? undefined;
    }
    if (this.wants('startup') && n === this.o.sizes[0]) await startupRows(ctx);
    if (this.wants('validate')) await validateRow(ctx, mbYaml);
    // Independent of N: once, at the first size.
    if (this.wants('mapping') && n === this.o.sizes[0]) await wideMappingRow(ctx);
    if (this.wants('environments') && n === this.o.sizes[0]) await environmentsRows(ctx);
    if (this.wants('plan')) await planRow(ctx);
    if (this.wants('plan-creates')) await planCreatesRow(ctx);
    if (this.wants('policies')) await policyRows(ctx);
    if (this.wants('apply-file')) await applyFileRow(ctx, slowRuns);
    if (this.wants('apply-delete')) await applyDeleteRow(ctx);
    if (this.wants('plan-file')) await planFileRows(ctx, Math.max(slowRuns, 3));
    if (this.wants('drift')) await driftRow(ctx, driftState, drift.summary);

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
    if (this.wants('http') && n < HUGE) await httpPlanRow(ctx);
    if (this.wants('apply') && n < HUGE) {
      const plan = await createPlan(repo);
      const applied = await httpApplyRows(ctx, n, repo, dir, plan.steps, slowRuns);
      for (const [p, ms] of applied) this.medians.set(`http-apply/${n}/${p}`, ms);
    }
    if (this.wants('executor') && n < HUGE) await executorRow(ctx);

    const daemon = this.wants('daemon');
    const rss = daemon || this.wants('daemon-rss');
    if (daemon || rss) await daemonRows(ctx, { daemon, rss });

    if (this.wants('terraform') && this.o.terraform) {
      const steps = (await createPlan(repo)).steps;
      await terraformRows(
        {
          o: this.o,
          sink: this,
          planMs: this.medians.get(`plan/${n}`),
          applyMs: this.medians.get(`http-apply/${n}/16`),
        },
        n,
        steps,
        dir,
        tfVersion,
      );
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
