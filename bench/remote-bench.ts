/**
 * `npm run bench:remote` (issue 49): a remote plan and apply over a network with latency, each
 * row beside its round-trip floor. Every call goes through bench/lib/latency-proxy.ts, which
 * holds each request and each answer `--latency` ms (default 50: a 100 ms round trip), to the
 * Union stand-in or the real flyteadmin v1.13.0, each in a process of its own
 * (bench/lib/remote-servers.ts); the client is poolsync in this process, as `plan` and `apply`
 * run it (planRepository, executePlan).
 *
 * Per row: the requests sent, the round trips in a row on the wire (the longest chain of a call
 * waiting for another's answer, on the proxy's clock), the wall time and the floor, and their
 * ratio. A plan's wall is its live-state read (from the first call to the last answer, both
 * reads when it needs every setting); an apply's is its apply phase (the first write to the last
 * answer on the proxy). The floor is the fewest round trips the API needs times the round trip:
 * for a plan, the token, then every list at once in pages of 1,000 (Union's pages follow tokens:
 * the longest list's pages one after another), with what depends on nothing in the same wave;
 * for an apply, ⌈writes ÷ parallelism⌉.
 *
 *   npm run bench:remote -- [--latency 50] [--quick] [--only union-plan,union-apply,flyteadmin]
 */
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { executePlan } from '../src/apply/executor.js';
import { openControlPlane } from '../src/controlplane/open.js';
import type { ControlPlane } from '../src/controlplane/types.js';
import type { LiveState } from '../src/model/live.js';
import type { Plan } from '../src/model/plan.js';
import { planRepository } from '../src/ops/plan-run.js';
import { roundTripsInARow, spanMs, startLatencyProxy, type Exchange } from './lib/latency-proxy.js';
import { formatMs } from './lib/measure.js';
import {
  DOMAINS,
  startRealFlyteadmin,
  startUnionStandIn,
  type Served,
} from './lib/remote-servers.js';
import { generateScaleModel, type ScaleModel } from './lib/scale.js';
import { writeRepository } from './lib/yaml-writer.js';

const ROOT = resolve(import.meta.dirname, '..');
const { values } = parseArgs({
  options: {
    latency: { type: 'string', default: '50' },
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
  },
});
const ONE_WAY = Number(values.latency);
const RTT = 2 * ONE_WAY;
const QUICK = values.quick;
const ONLY = values.only?.split(',') ?? null;
const PAGE = 1000;
const log = (line: string) => process.stderr.write(`[bench] ${line}\n`);
const wants = (group: string) => ONLY === null || ONLY.includes(group);

interface Row {
  what: string;
  requests: number;
  chain: number;
  wallMs: number;
  floorTrips: number;
  notes: string;
}
const rows: Row[] = [];

/** Opens `url` (union+ or flyteadmin+) through the proxy, with `connections` calls in flight. */
async function open(url: string, key: string, connections: number): Promise<ControlPlane> {
  process.env.POOLSYNC_UNION_API_KEY = key;
  try {
    return await openControlPlane(url, { http: { connections } });
  } finally {
    delete process.env.POOLSYNC_UNION_API_KEY;
  }
}

/** Plans `repo` through a proxy in front of `server`; the apply too when `apply` says how. */
async function measure(
  server: Served,
  scheme: 'union' | 'flyteadmin',
  repo: string,
  plan: { what: string; floorTrips: number | ((live: LiveState) => number); notes: string },
  apply?: { what: string; parallelism: number; notes: string },
): Promise<void> {
  const proxy = await startLatencyProxy(server.url, ONE_WAY);
  try {
    const client = await open(
      `${scheme}+${proxy.url}`,
      server.apiKey(proxy.host),
      apply?.parallelism ?? 256,
    );
    try {
      proxy.reset();
      const made = await planRepository(repo, client);
      if (!made.ok) throw new Error(`${repo}: ${JSON.stringify(made.errors.slice(0, 3))}`);
      if (made.plan.errors.length > 0)
        throw new Error(`plan errors: ${JSON.stringify(made.plan.errors.slice(0, 3))}`);
      const trips =
        typeof plan.floorTrips === 'number' ? plan.floorTrips : plan.floorTrips(made.live);
      row(plan.what, proxy.log, made.timings.live_ms, trips, plan.notes);
      if (!apply) return;
      const writes = stepsOf(made.plan);
      proxy.reset();
      const result = await executePlan(made.plan, client, { parallelism: apply.parallelism });
      if (!result.ok) throw new Error(`${apply.what}: the apply failed`);
      const written = proxy.log.filter(isWrite);
      const floor = Math.ceil(writes / apply.parallelism);
      row(apply.what, proxy.log, spanMs(written), floor, apply.notes);
    } finally {
      await client.close();
    }
  } finally {
    await proxy.close();
  }
}

const READ =
  /\/(List|Get|Watch)[A-Za-z]*$|\/\.well-known\/|\/token$|\/config\/|^\/api\/v1\/(projects|domains|matchable_attributes)/;
const isWrite = (e: Exchange) => !READ.test(e.path.split('?')[0]!) && e.method !== 'GET';
const stepsOf = (plan: Plan) => plan.steps.filter((s) => !s.op.startsWith('wait_')).length;

function row(
  what: string,
  log: readonly Exchange[],
  wallMs: number,
  floorTrips: number,
  notes: string,
) {
  const r = { what, requests: log.length, chain: roundTripsInARow(log), wallMs, floorTrips, notes };
  rows.push(r);
  log_(r);
}
function log_(r: Row) {
  log(
    `${r.what}: ${r.requests} requests, ${r.chain} in a row, ${formatMs(r.wallMs)} (floor ${formatMs(r.floorTrips * RTT)})`,
  );
}

/** A Union repository of `model` (no pool assignments: Union has none). */
async function unionRepo(dir: string, model: ScaleModel): Promise<string> {
  await writeRepository({ ...model, assignments: [] }, dir);
  return dir;
}

/**
 * A live read's round trips at the floor: the token, then the longest list's pages (the live
 * queues include every cluster's co-named one, C2).
 */
const listTrips = (live: LiveState) =>
  1 + Math.max(1, Math.ceil(Math.max(live.queues.length, live.clusters.length) / PAGE));

async function unionRows(dir: string): Promise<void> {
  // The bundled example and a DefaultQueue for each of 300 projects × 3 domains.
  const projects = QUICK ? 30 : 300;
  {
    const server = await startUnionStandIn(join(dir, 'example'), null, 0);
    try {
      const repo = join(dir, 'example-repo');
      await cp(join(ROOT, 'examples', 'config-repo'), repo, { recursive: true });
      await rm(join(repo, 'assignments'), { recursive: true });
      const docs = Array.from({ length: projects }, (_, p) =>
        DOMAINS.map(
          (domain) =>
            `apiVersion: poolsync/v1\nkind: DefaultQueue\nmetadata:\n  name: p${p}-${domain}\nspec:\n  project: p${p}\n  domain: ${domain}\n  queue: default\n`,
        ),
      ).flat();
      await writeFile(join(repo, 'default-queues.yaml'), docs.join('---\n'));
      await measure(server, 'union', repo, {
        what: `plan, Union, bundled example + ${projects} projects × 3 domains`,
        floorTrips: 2,
        notes: `${docs.length} settings read at once with the lists (plan --parallelism 256)`,
      });
    } finally {
      await server.stop();
    }
  }
  const big = QUICK ? 2_000 : 10_000;
  for (const [objects, orgProjects] of [
    [big, QUICK ? 20 : 100],
    [big, QUICK ? 200 : 1000],
  ] as const) {
    const model = generateScaleModel(objects);
    const server = await startUnionStandIn(
      join(dir, `org-${objects}-${orgProjects}`),
      model,
      orgProjects,
    );
    try {
      const repo = await unionRepo(join(dir, `repo-${objects}-${orgProjects}`), model);
      await measure(server, 'union', repo, {
        what: `plan, Union, ${objects} objects, ${orgProjects} projects × 3 domains`,
        floorTrips: listTrips,
        notes: 'no DefaultQueue declared: no setting read',
      });
    } finally {
      await server.stop();
    }
  }
}

async function unionApplyRows(dir: string): Promise<void> {
  for (const objects of QUICK ? [1_000, 2_000] : [1_000, 10_000]) {
    const model = generateScaleModel(objects);
    const server = await startUnionStandIn(join(dir, `apply-${objects}`), model, 0);
    try {
      // Queue updates: up to 1,000 queues of the repository's own retuned.
      const own = model.queues.filter((q) => !q.coNamed).slice(0, QUICK ? 200 : 1000);
      const retuned = new Set(own.map((q) => q.name));
      const queues = model.queues.map((q) =>
        retuned.has(q.name)
          ? { ...q, spec: { ...q.spec, run_concurrency: q.spec.run_concurrency + 1 } }
          : q,
      );
      const repo = await unionRepo(join(dir, `apply-repo-${objects}`), { ...model, queues });
      await measure(
        server,
        'union',
        repo,
        {
          what: `(plan before the queue updates, ${objects} objects)`,
          floorTrips: listTrips,
          notes: '',
        },
        {
          what: `apply, Union, ${own.length} queue updates, ${objects} objects, P 8`,
          parallelism: 8,
          notes: 'one UpdateQueue each',
        },
      );
      // 50 cluster registrations into the first pool (the model as applied, then 50 more).
      const added = Array.from({ length: 50 }, (_, i) => ({
        name: `bench-new-${i}`,
        pool: model.pools[0]!.name,
        enabled: true,
        data_plane: null,
      }));
      const repo2 = await unionRepo(join(dir, `apply-repo2-${objects}`), {
        ...model,
        queues,
        clusters: [...model.clusters, ...added],
      });
      await measure(
        server,
        'union',
        repo2,
        {
          what: `(plan before the registrations, ${objects} objects)`,
          floorTrips: listTrips,
          notes: '',
        },
        {
          what: `apply, Union, 50 cluster registrations, ${objects} objects, P 8`,
          parallelism: 8,
          notes: 'one CreateCluster each',
        },
      );
    } finally {
      await server.stop();
    }
  }
}

async function flyteadminRows(dir: string): Promise<void> {
  const projects = QUICK ? 100 : 1000;
  const server = await startRealFlyteadmin(projects);
  if (typeof server === 'string') {
    log(`flyteadmin rows skipped: ${server}`);
    return;
  }
  try {
    const repo = join(dir, 'flyte-repo');
    await cp(join(ROOT, 'examples', 'flyte-oss'), repo, { recursive: true });
    await rm(join(repo, 'execution-cluster-labels'), { recursive: true });
    const docs = Array.from({ length: projects }, (_, p) =>
      DOMAINS.map(
        (domain) =>
          `apiVersion: poolsync/v1\nkind: ExecutionClusterLabel\nmetadata:\n  name: p${p}-${domain}\nspec:\n  project: p${p}\n  domain: ${domain}\n  label: label1\n`,
      ),
    ).flat();
    await writeFile(join(repo, 'labels-bench.yaml'), docs.join('---\n'));
    await measure(
      server,
      'flyteadmin',
      repo,
      {
        what: `plan, flyteadmin, ${projects} projects`,
        floorTrips: 1,
        notes: 'every list at once; projects in one call',
      },
      {
        what: `apply, flyteadmin, ${docs.length} label updates, --parallelism 32`,
        parallelism: 32,
        notes: '32 connections',
      },
    );
  } finally {
    await server.stop();
  }
}

const dir = await mkdtemp(join(tmpdir(), 'poolsync-bench-remote-'));
const load0 = loadavg()[0]!;
try {
  if (wants('union-plan')) await unionRows(dir);
  if (wants('union-apply')) await unionApplyRows(dir);
  if (wants('flyteadmin')) await flyteadminRows(dir);
} finally {
  await rm(dir, { recursive: true, force: true });
}
const lines = [
  `${ONE_WAY} ms each way (round trip ${RTT} ms); ${cpus().length} CPUs, load ${load0.toFixed(1)} → ${loadavg()[0]!.toFixed(1)}; Node ${process.version}`,
  '',
  '| what | requests | round trips in a row | wall | floor | ratio | notes |',
  '| --- | ---: | ---: | ---: | ---: | ---: | --- |',
  ...rows
    .filter((r) => !r.what.startsWith('('))
    .map((r) => {
      const floor = r.floorTrips * RTT;
      return `| ${r.what} | ${r.requests} | ${r.chain} | ${formatMs(r.wallMs)} | ${formatMs(floor)} (${r.floorTrips} round trips) | ${(r.wallMs / floor).toFixed(2)}× | ${r.notes} |`;
    }),
];
process.stdout.write(`${lines.join('\n')}\n`);
