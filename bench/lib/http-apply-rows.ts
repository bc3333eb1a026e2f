/**
 * The HTTP `apply` rows: N creates against `poolsync control-plane serve` with latency injected
 * per call, at each parallelism P, next to two floors measured in the same run against a fresh
 * server each: the bare apply of the same writes (bare-apply.ts: what any client must do on
 * this wire, the target's reference) and the step-graph bound at the injected latency.
 * Judged on the apply phase: the server's clock from the first step's write received to the
 * last one answered (server.ts), so neither side's start-up, loading or planning counts.
 */
import { dirname, join } from 'node:path';
import { mkdir, rm } from 'node:fs/promises';
import type { Step } from '../../src/model/plan.js';
import { bareApply } from './bare-apply.js';
import { applyBoundMs, stepGraphShape } from './bound.js';
import type { Cli } from './cli.js';
import { formatMs, median, type ProcessRun } from './measure.js';
import { loadNow, repeat, type Options, type Sink } from './rows.js';
import { startServer, type BenchServer } from './server.js';

export interface HttpApplyContext {
  o: Options;
  cli: Cli;
  sink: Sink;
  poolsync(args: string[]): Promise<ProcessRun>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Runs `body` against a fresh server with the latency set; its write window, ms. */
async function onFreshServer(
  ctx: HttpApplyContext,
  state: string,
  body: (server: BenchServer) => Promise<void>,
): Promise<{ window: number; requests: number; serverMs: number }> {
  await rm(dirname(state), { recursive: true, force: true });
  // A new organisation in a folder made for it (a missing folder is refused as a typo).
  await mkdir(dirname(state), { recursive: true });
  const server = await startServer(ctx.cli, state);
  try {
    await server.setLatency(ctx.o.latencyMs);
    await body(server);
    await sleep(200); // the server logs a request after its response is sent
    return {
      window: server.writeWindowMs() ?? NaN,
      requests: server.requests(),
      serverMs: median(server.durations()),
    };
  } finally {
    await server.stop();
    await rm(dirname(state), { recursive: true, force: true });
  }
}

/** The rows and targets of every P; returns poolsync's whole-process median per P. */
export async function httpApplyRows(
  ctx: HttpApplyContext,
  n: number,
  repo: string,
  dir: string,
  steps: readonly Step[],
  runs: number,
): Promise<Map<number, number>> {
  const shape = stepGraphShape(steps);
  const medians = new Map<number, number>();
  for (const p of ctx.o.parallelism) {
    const bound = applyBoundMs(shape, p, ctx.o.latencyMs);
    const bare: number[] = [];
    const ours: Array<{ window: number; requests: number; serverMs: number }> = [];
    const r = await repeat(runs, async (i) => {
      const state = join(dir, `cp-apply-${p}-${i}`, 'state.json');
      const floor = await onFreshServer(ctx, state, (server) => bareApply(server.url, steps, p));
      bare.push(floor.window);
      let run: ProcessRun | null = null;
      ours.push(
        await onFreshServer(ctx, state, async (server) => {
          run = await ctx.poolsync([
            'apply',
            repo,
            '--control-plane',
            server.url,
            '--auto-approve',
            '--parallelism',
            String(p),
            '--no-color',
            '--state-dir',
            join(dir, `apply-state-${p}-${i}`),
          ]);
        }),
      );
      return run!;
    });
    medians.set(p, r.ms);
    const window = median(ours.map((o) => o.window));
    const floor = median(bare);
    const ratio = window / floor;
    ctx.sink.add({
      n,
      name: `\`apply\` of ${n.toLocaleString('en-US')} creates, HTTP, ${ctx.o.latencyMs} ms latency, parallelism ${p}`,
      ms: r.ms,
      cpuMs: r.cpuMs,
      runs,
      peakRss: r.peakRss,
      target: '',
      met: null,
      notes:
        `Apply phase (server clock, first to last step write) ${formatMs(window)}; the bare apply of the same ` +
        `${shape.steps} writes on this wire at P = ${p} (bench/lib/bare-apply.ts) ${formatMs(floor)}: **${ratio.toFixed(2)}×**. ` +
        `Step-graph bound max(critical path ${shape.criticalPath}, ${shape.steps} ÷ ${p}) × ${ctx.o.latencyMs} ms = ${formatMs(bound)}: ` +
        `apply ${(window / bound).toFixed(2)}×, bare ${(floor / bound).toFixed(2)}×. ${median(ours.map((o) => o.requests))} requests, ` +
        `server-side median ${median(ours.map((o) => o.serverMs)).toFixed(1)} ms per request. Whole process ${formatMs(r.ms)}. ${loadNow()}.`,
    });
    ctx.sink.target({
      target: `HTTP \`apply\` at P = ${p} ≤ 1.15× the bare apply of the same writes`,
      n,
      ms: window,
      reference: floor,
      measured: formatMs(window),
      met: Math.round(ratio * 100) / 100 <= 1.15,
      notes: `Apply phase on the server's clock; the reference is the same ${shape.steps} writes sent by a bare undici pool on the executor's schedule, measured in this run against a fresh server. ${loadNow()}.`,
    });
  }
  return medians;
}
