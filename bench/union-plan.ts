/**
 * A plan of a large organisation against the Union stand-in (issue 46: "a plan of a 10,000-object
 * organisation against the stand-in finishes in seconds"): the stand-in holds POOLS pools,
 * CLUSTERS clusters (each with its co-named queue) and QUEUES more queues; the repository is what
 * `poolsync export` writes of it, with one queue changed; poolsync plans it through the union
 * backend (Connect), as `poolsync plan` does. Prints the median of the runs, with the live read
 * and the planner apart.
 *
 *   node --import tsx bench/union-plan.ts [--pools 50] [--clusters 2000] [--queues 7000] [--runs 3]
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { toolArgs } from './lib/args.js';
import { exportManifests } from '../src/controlplane/export.js';
import { readLiveState } from '../src/controlplane/types.js';
import { planRepository } from '../src/ops/plan-run.js';
import { openUnion, startUnionServer } from '../test/controlplane/union/helpers.js';
import { poolContract } from '../test/support/builders.js';

const { values } = toolArgs(
  {
    options: {
      pools: { type: 'string', default: '50' },
      clusters: { type: 'string', default: '2000' },
      queues: { type: 'string', default: '7000' },
      runs: { type: 'string', default: '3' },
    },
  },
  import.meta.url,
);
const [nPools, nClusters, nQueues, runs] = [
  values.pools,
  values.clusters,
  values.queues,
  values.runs,
].map(Number) as [number, number, number, number];

const s = await startUnionServer();
const dir = await mkdtemp(join(tmpdir(), 'poolsync-union-plan-'));
try {
  const contract = (p: string) => poolContract(`s3://${p}`);
  for (let p = 0; p < nPools; p++) await s.embedded.createPool(`p${p}`, contract(`p${p}`));
  for (let c = 0; c < nClusters; c++)
    await s.embedded.registerCluster({ name: `c${c}`, pool: `p${c % nPools}` });
  for (let q = 0; q < nQueues; q++)
    await s.embedded.createQueue({
      name: `q${q}`,
      pool: `p${q % nPools}`,
      clusters: [`c${q % nClusters}`],
      run_concurrency: 5,
      action_concurrency: 50,
    });
  const cp = await openUnion(s, 'connect');
  const files = exportManifests(await readLiveState(cp)).files;
  for (const f of files) {
    await mkdir(dirname(join(dir, f.path)), { recursive: true });
    await writeFile(
      join(dir, f.path),
      f.path.includes('q0.')
        ? f.content.replace('run_concurrency: 5', 'run_concurrency: 6')
        : f.content,
    );
  }
  const objects = nPools + nClusters + nClusters + nQueues;
  const times: { total: number; live: number; plan: number; changes: number }[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    const r = await planRepository(dir, cp);
    if (!r.ok) throw new Error(JSON.stringify(r.errors.slice(0, 3)));
    times.push({
      total: performance.now() - t0,
      live: r.timings.live_ms,
      plan: r.timings.plan_ms,
      changes: r.plan.changes.filter((c) => c.action !== 'noop').length,
    });
  }
  await cp.close();
  const median = (k: 'total' | 'live' | 'plan') => {
    const sorted = times.map((t) => t[k]).sort((a, b) => a - b);
    return sorted[Math.floor(runs / 2)]!.toFixed(0);
  };
  console.log(
    `plan of ${objects} objects (${nPools} pools, ${nClusters} clusters, ${nClusters + nQueues + 1} queues) against the Union stand-in, median of ${runs}: ${median('total')} ms (live read ${median('live')} ms, planner ${median('plan')} ms); ${times[0]!.changes} change(s)`,
  );
} finally {
  await s.close();
  await rm(dir, { recursive: true, force: true });
}
