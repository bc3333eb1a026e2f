/**
 * `plan` against `poolsync control-plane serve` with latency injected per call (how many round
 * trips reading the live state takes), and the executor alone in this process (its overhead
 * over the step-graph bound, without HTTP): the rows beside the HTTP apply rows.
 */
import { join } from 'node:path';
import { loadRepository } from '../../src/manifests/index.js';
import { measureExecutor } from './executor.js';
import { formatMs, median } from './measure.js';
import { repeat, rssTarget, type SizeContext } from './rows.js';
import { copyStateFile } from './seed.js';
import { startServer } from './server.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function httpPlanRow(ctx: SizeContext): Promise<void> {
  const { n, o } = ctx;
  const state = join(ctx.dir, 'cp-http', 'state.json');
  await copyStateFile(ctx.noopState, state);
  const server = await startServer(ctx.cli, state);
  try {
    await server.setLatency(o.latencyMs);
    const trips: number[] = [];
    const r = await repeat(o.runs, async () => {
      const before = server.requests();
      const args = ['plan', ctx.repo, '--control-plane', server.url, '--detailed-exitcode'];
      const run = await ctx.poolsync([...args, '--no-color']);
      await sleep(100); // the server logs a request after its response is sent
      trips.push(server.requests() - before);
      return run;
    });
    const roundTrips = median(trips);
    ctx.sink.add({
      n,
      name: `\`plan\`, HTTP control plane, ${o.latencyMs} ms latency`,
      ms: r.ms,
      cpuMs: r.cpuMs,
      runs: o.runs,
      peakRss: r.peakRss,
      ...rssTarget(n, r.peakRss),
      notes: `${roundTrips} round trips to read live state (${formatMs(roundTrips * o.latencyMs)} of latency if sequential).`,
    });
  } finally {
    await server.stop();
  }
}

export async function executorRow(ctx: SizeContext): Promise<void> {
  const { n, o } = ctx;
  const loaded = await loadRepository(ctx.repo);
  if (!loaded.valid) throw new Error('generated repository does not validate');
  const parts: string[] = [];
  let worst = 0;
  let worstMs = 0;
  for (const p of o.parallelism) {
    const m = await measureExecutor(loaded.desired, p, o.latencyMs);
    const ratio = m.ms / m.boundMs;
    if (ratio >= worst) {
      worst = ratio;
      worstMs = m.ms;
    }
    parts.push(`P=${p}: ${formatMs(m.ms)} = ${ratio.toFixed(2)}× bound ${formatMs(m.boundMs)}`);
  }
  ctx.sink.add({
    n,
    name: `\`executePlan\` alone, ${o.latencyMs} ms per call (in-process, in-memory control plane)`,
    ms: worstMs,
    runs: 1,
    peakRss: null,
    target: '≤ 1.25× bound',
    met: worst <= 1.25,
    notes: `${parts.join('; ')}. The executor's own overhead: no HTTP, no fsync, no second process. Median column = the worst ratio's time.`,
  });
}
