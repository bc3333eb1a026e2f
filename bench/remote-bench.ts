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
 * The throttling rows (`throttle`): the same apply through a proxy that refuses calls as a
 * throttling server does (bench/lib/throttle.ts: 5 % at random, a cap on the calls at once, a
 * rate), beside the reference: the requests that apply sent, replayed by a client with a fixed
 * number in flight that sends each refused one again after its own delay and holds nothing else
 * (bench/lib/fixed-client.ts). Each pair runs `--throttle-runs` times, alternating two changes so
 * every apply has its steps; the medians are compared.
 *
 * `--rounds MS` counts the round trips in rounds (requests held until none came for MS, then
 * sent together): what the client waited for, however loaded the machine (the wall times then
 * include the quiet times; the throttling rows keep the timed proxy).
 *
 *   npm run bench:remote -- [--latency 50] [--quick] [--rounds 250]
 *     [--only union-plan,union-apply,critical,flyteadmin,whole-plan,whole-apply,whole-apply-10k,throttle]
 */
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { toolArgs } from './lib/args.js';
import { executePlan } from '../src/apply/executor.js';
import { openControlPlane } from '../src/controlplane/open.js';
import type { ControlPlane } from '../src/controlplane/types.js';
import type { LiveState } from '../src/model/live.js';
import type { Plan } from '../src/model/plan.js';
import { planRepository } from '../src/ops/plan-run.js';
import { replayFixed } from './lib/fixed-client.js';
import { roundTripsInARow, spanMs, startLatencyProxy, type Exchange } from './lib/latency-proxy.js';
import { formatMs } from './lib/measure.js';
import { capped, randomly, rated, type Throttle } from './lib/throttle.js';
import { runInProcess } from '../test/support/memory-io.js';
import {
  DOMAINS,
  startRealFlyteadmin,
  startUnionStandIn,
  type Served,
} from './lib/remote-servers.js';
import { generateScaleModel, type ScaleModel } from './lib/scale.js';
import { writeRepository } from './lib/yaml-writer.js';

const ROOT = resolve(import.meta.dirname, '..');
const { values } = toolArgs(
  {
    options: {
      latency: { type: 'string', default: '50' },
      quick: { type: 'boolean', default: false },
      only: { type: 'string' },
      'throttle-runs': { type: 'string', default: '3' },
      rounds: { type: 'string' },
      'throttle-parallelism': { type: 'string', default: '16' },
    },
  },
  import.meta.url,
);
const ONE_WAY = Number(values.latency);
const RTT = 2 * ONE_WAY;
const QUICK = values.quick;
const ONLY = values.only?.split(',') ?? null;
const PAGE = 1000;
const THROTTLE_RUNS = Number(values['throttle-runs']);
/** `--rounds MS`: round trips counted in rounds (bench/lib/latency-proxy.ts), whatever the load. */
const ROUNDS = values.rounds === undefined ? {} : { rounds: { quietMs: Number(values.rounds) } };
const THROTTLE_P = Number(values['throttle-parallelism']);
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
  // `apply`'s default retries (--max-retries 8); the key as the CLI hands its environment down.
  const env = { POOLSYNC_UNION_API_KEY: key };
  return openControlPlane(url, { env, http: { connections, maxRetries: 8 } });
}

/** Plans `repo` through a proxy in front of `server`; the apply too when `apply` says how. */
async function measure(
  server: Served,
  scheme: 'union' | 'flyteadmin',
  repo: string,
  plan: {
    what: string;
    floorTrips: number | ((live: LiveState) => number);
    notes: string;
    /** Say when the lists and the settings reads ended (readPath). */
    path?: boolean;
  },
  apply?: { what: string; parallelism: number; notes: string },
  connections = apply?.parallelism ?? 256,
): Promise<void> {
  const proxy = await startLatencyProxy(server.url, ONE_WAY, ROUNDS);
  try {
    const client = await open(`${scheme}+${proxy.url}`, server.apiKey(proxy.host), connections);
    try {
      proxy.reset();
      const made = await planRepository(repo, client);
      if (!made.ok) throw new Error(`${repo}: ${JSON.stringify(made.errors.slice(0, 3))}`);
      if (made.plan.errors.length > 0)
        throw new Error(`plan errors: ${JSON.stringify(made.plan.errors.slice(0, 3))}`);
      const trips =
        typeof plan.floorTrips === 'number' ? plan.floorTrips : plan.floorTrips(made.live);
      const notes = plan.path ? readPath(proxy.log) : withPageTime(plan.notes, proxy.log);
      row(plan.what, proxy.log, made.timings.live_ms, trips, notes);
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

/**
 * `notes` with how long the server took over each ListQueues page (the exchange less the round
 * trip, median and most): the stand-in answers a page in time of the page, not of the
 * organisation (issue 63 item 6).
 */
function withPageTime(notes: string, log: readonly Exchange[]): string {
  const pages = log
    .filter((e) => e.path.endsWith('/ListQueues'))
    .map((e) => Math.max(0, e.end - e.start - RTT))
    .sort((a, b) => a - b);
  if (pages.length === 0) return notes;
  const median = pages[Math.floor((pages.length - 1) / 2)]!;
  const most = pages[pages.length - 1]!;
  const said = `${pages.length} ListQueues pages answered in ${formatMs(median)} (most ${formatMs(most)}) beyond the round trip`;
  return notes === '' ? said : `${notes}; ${said}`;
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
const listTrips = (live: { queues: { length: number }; clusters: { length: number } }) =>
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

/**
 * A plan's read where the lists' pages are the critical path (issue 79 item 3): 10,000 objects
 * (the ListQueues sweep 9 pages in a row) beside 300 settings reads, 32 calls at once (10 rounds
 * of settings): a page queued behind settings reads costs a round.
 */
async function criticalRows(dir: string): Promise<void> {
  const model = generateScaleModel(QUICK ? 2_000 : 10_000);
  const projects = QUICK ? 20 : 100;
  const server = await startUnionStandIn(join(dir, 'critical'), model, projects);
  try {
    const queue = model.queues.find((q) => !q.coNamed)!.name;
    const repo = await defaultQueuesRepo(join(dir, 'critical-repo'), projects, queue, model);
    const what = `plan, Union, ${model.objects} objects + ${projects * 3} settings, 32 calls at once`;
    const plan = { what, floorTrips: listTrips, notes: '', path: true };
    await measure(server, 'union', repo, plan, undefined, 32);
  } finally {
    await server.stop();
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

/** The flyte-oss example with `label` for each of `projects` × 3 domains. */
async function labelsRepo(repo: string, projects: number, label: string): Promise<string> {
  await cp(join(ROOT, 'examples', 'flyte-oss'), repo, { recursive: true });
  await rm(join(repo, 'execution-cluster-labels'), { recursive: true });
  const docs = Array.from({ length: projects }, (_, p) =>
    DOMAINS.map(
      (domain) =>
        `apiVersion: poolsync/v1\nkind: ExecutionClusterLabel\nmetadata:\n  name: p${p}-${domain}\nspec:\n  project: p${p}\n  domain: ${domain}\n  label: ${label}\n`,
    ),
  ).flat();
  await writeFile(join(repo, 'labels-bench.yaml'), docs.join('---\n'));
  return repo;
}

async function flyteadminRows(dir: string): Promise<void> {
  const projects = QUICK ? 100 : 1000;
  const server = await startRealFlyteadmin(projects);
  if (typeof server === 'string') {
    log(`flyteadmin rows skipped: ${server}`);
    return;
  }
  try {
    const repo = await labelsRepo(join(dir, 'flyte-repo'), projects, 'label1');
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
        what: `apply, flyteadmin, ${projects * DOMAINS.length} label updates, --parallelism 32`,
        parallelism: 32,
        notes: '32 connections',
      },
    );
  } finally {
    await server.stop();
  }
}

// A whole plan as `poolsync plan` runs it (in this process): the repository loads while the
// token is asked for.

/**
 * `poolsync plan` of `objects` against the Union stand-in, run twice in this process (the first
 * compiles the modules): the wall time of the command, and where the token went: asked right
 * after discovery, it is answered while the repository loads, and the lists follow the load.
 */
async function wholePlanRows(dir: string): Promise<void> {
  const objects = QUICK ? 2_000 : 10_000;
  const model = generateScaleModel(objects);
  const server = await startUnionStandIn(join(dir, 'whole-plan'), model, 0);
  const proxy = await startLatencyProxy(server.url, ONE_WAY, ROUNDS);
  try {
    const repo = await unionRepo(join(dir, 'whole-plan-repo'), model);
    const env = {
      ...process.env,
      POOLSYNC_UNION_API_KEY: server.apiKey(proxy.host),
      POOLSYNC_CACHE_DIR: 'off',
    };
    const args = ['plan', repo, '--control-plane', `union+${proxy.url}`];
    for (let run = 0; run < 2; run++) {
      proxy.reset();
      const t0 = performance.now();
      const r = await runInProcess([...args, '--state-dir', join(dir, 'whole-plan-state')], env);
      const wall = performance.now() - t0;
      if (r.code !== 0) throw new Error(`poolsync plan: exit ${r.code}\n${r.stderr}`);
      if (run === 0) continue;
      const at = (path: RegExp) => proxy.log.find((e) => path.test(e.path));
      const token = at(/\/token$/)!;
      const firstList = proxy.log
        .filter((e) => /\/List/.test(e.path))
        .reduce((a, b) => (a.start < b.start ? a : b));
      row(
        `whole plan, Union, ${objects} objects (poolsync plan, in process)`,
        proxy.log,
        wall,
        // Discovery, the token, then the longest list's pages (the load not counted).
        2 + Math.ceil(Math.max(model.queues.length, model.clusters.length) / PAGE),
        `the token asked ${formatMs(token.start - t0)} after the start, answered ${formatMs(firstList.start - token.end)} before the first list (the load meanwhile); wall includes the load`,
      );
    }
  } finally {
    await proxy.close();
    await server.stop();
  }
}

// A whole apply, reads and writes, as `poolsync apply` runs it (in this process).

/**
 * `poolsync apply` of a folder and of a saved plan (`plan --out`, then `apply PLANFILE`) at
 * parallelism 8 and 32, each changing the default queue of `projects` × 3 domains (one
 * setDefaultQueue each), beside the floor of the whole apply: ⌈writes ÷ P⌉ + the plan's floor
 * (the token, then the lists and the settings in one wave: the longest list's pages after the
 * token, `listTrips`). Two organisations: the bundled example with 300 projects, and a 10,000-
 * object one with 1,000 projects (issue 79 item 3), whose ListQueues pages are the critical path
 * while 3,000 settings are read beside them.
 */
async function wholeApplyRows(dir: string): Promise<void> {
  if (wants('whole-apply')) await wholeApply(dir, 'whole', null, QUICK ? 30 : 300);
  if (wants('whole-apply-10k'))
    await wholeApply(
      dir,
      'whole-10k',
      generateScaleModel(QUICK ? 2_000 : 10_000),
      QUICK ? 100 : 1000,
    );
}

async function wholeApply(
  dir: string,
  name: string,
  model: ScaleModel | null,
  projects: number,
): Promise<void> {
  const server = await startUnionStandIn(join(dir, name), model, projects);
  const proxy = await startLatencyProxy(server.url, ONE_WAY, ROUNDS);
  const state = join(dir, `${name}-state`);
  const env = {
    ...process.env,
    POOLSYNC_UNION_API_KEY: server.apiKey(proxy.host),
    POOLSYNC_CACHE_DIR: 'off',
  };
  const url = `union+${proxy.url}`;
  const poolsync = async (...args: string[]) => {
    const r = await runInProcess([...args, '--control-plane', url, '--state-dir', state], env);
    if (r.code !== 0 && r.code !== 2)
      throw new Error(`poolsync ${args.join(' ')}: exit ${r.code}\n${r.stderr}`);
  };
  try {
    // The example's queues, else two of the model's own (every project starts on `default`).
    const queues = model
      ? model.queues
          .filter((q) => !q.coNamed)
          .slice(0, 2)
          .map((q) => q.name)
      : ['default', 'shared-batch'];
    const repos = await Promise.all(
      queues.map((queue) =>
        defaultQueuesRepo(join(dir, `${name}-${queue}`), projects, queue, model),
      ),
    );
    // The organisation's pools, clusters and queues first: every apply below changes settings only.
    await poolsync('apply', repos[0]!, '--auto-approve');
    const writes = projects * DOMAINS.length;
    const objects = model ? `${model.objects} objects, ` : '';
    let turn = 1;
    for (const saved of [false, true])
      for (const parallelism of [8, 32]) {
        const repo = repos[turn++ % 2]!;
        const p = ['--parallelism', String(parallelism)];
        const planFile = join(dir, `${name}-${turn}.plan.json`);
        if (saved) await poolsync('plan', repo, '--out', planFile);
        proxy.reset();
        await poolsync('apply', saved ? planFile : repo, '--auto-approve', ...p);
        const lists = model ? listTrips(liveOf(model)) : 2;
        row(
          `whole apply${saved ? ' PLANFILE' : ''}, Union, ${objects}${writes} DefaultQueue updates, P ${parallelism}`,
          proxy.log,
          spanMs(proxy.log),
          Math.ceil(writes / parallelism) + lists,
          `⌈${writes} ÷ ${parallelism}⌉ + ${lists} (the plan's floor); ${saved ? 'the saved plan checked' : 'planned'} at read width; ${readPath(proxy.log)}`,
        );
      }
  } finally {
    await proxy.close();
    await server.stop();
  }
}

/**
 * When the reads ended, from the first request: the lists' last page (the plan's critical path)
 * and the last settings read, and the first write after them.
 */
function readPath(log: readonly Exchange[]): string {
  const t0 = Math.min(...log.map((e) => e.start));
  const lists = log.filter((e) => /\/List[A-Za-z]*$/.test(e.path));
  const settings = log.filter((e) => e.path.endsWith('/GetSettingsForEdit'));
  const end = (xs: Exchange[]) => Math.max(...xs.map((e) => e.end)) - t0;
  const writes = log.filter(isWrite);
  const write = writes.length
    ? `, first write at ${formatMs(Math.min(...writes.map((e) => e.start)) - t0)}`
    : '';
  const inRounds = (xs: Exchange[]) =>
    xs[0]?.round === undefined
      ? ''
      : ` (round ${Math.max(...xs.map((e) => e.round!)) - Math.min(...log.map((e) => e.round!)) + 1})`;
  return `${lists.length} list pages answered by ${formatMs(end(lists))}${inRounds(lists)}, ${settings.length} settings by ${formatMs(end(settings))}${inRounds(settings)}${write}`;
}

/** The live lists' lengths of `model` applied (C2: a co-named queue per cluster). */
const liveOf = (model: ScaleModel) => ({
  queues: { length: model.queues.filter((q) => !q.coNamed).length + model.clusters.length },
  clusters: model.clusters,
});

/**
 * The bundled example, else `model` (no assignments: Union has none), with `queue` for
 * `projects` × 3 domains.
 */
async function defaultQueuesRepo(
  repo: string,
  projects: number,
  queue: string,
  model: ScaleModel | null = null,
): Promise<string> {
  if (model) await unionRepo(repo, model);
  else {
    await cp(join(ROOT, 'examples', 'config-repo'), repo, { recursive: true });
    await rm(join(repo, 'assignments'), { recursive: true });
  }
  const docs = Array.from({ length: projects }, (_, p) =>
    DOMAINS.map(
      (domain) =>
        `apiVersion: poolsync/v1\nkind: DefaultQueue\nmetadata:\n  name: p${p}-${domain}\nspec:\n  project: p${p}\n  domain: ${domain}\n  queue: ${queue}\n`,
    ),
  ).flat();
  await writeFile(join(repo, 'default-queues.yaml'), docs.join('---\n'));
  return repo;
}

// Throttling: poolsync's apply beside the fixed client, on the same refusals.

interface ThrottleRow {
  server: string;
  throttle: string;
  client: 'poolsync' | 'fixed client';
  requests: number[];
  refused: number[];
  wallMs: number[];
}
const throttleRows: ThrottleRow[] = [];

/** The ways a server throttles, each made anew per apply (the same refusals for both clients). */
function throttles(): (() => Throttle | null)[] {
  return [
    () => null,
    () => randomly(0.05, 1000),
    () => capped(Math.max(1, THROTTLE_P / 4), 1000),
    () => rated(Math.max(1, (THROTTLE_P / 4) * (1000 / RTT)), Math.max(1, THROTTLE_P / 4)),
  ];
}

/**
 * `runs` applies of `repos` in turn (each changes what the last applied) by poolsync through
 * `server`, each then replayed by the fixed client, under each throttle.
 */
async function throttled(
  server: Served,
  scheme: 'union' | 'flyteadmin',
  name: string,
  repos: readonly [string, string],
): Promise<void> {
  const proxy = await startLatencyProxy(server.url, ONE_WAY, { record: true });
  let turn = 0;
  try {
    for (const make of throttles()) {
      const what = make()?.what ?? 'none';
      const mine = { server: name, throttle: what, client: 'poolsync' as const };
      const ours: ThrottleRow = { ...mine, requests: [], refused: [], wallMs: [] };
      const fixed: ThrottleRow = {
        ...ours,
        client: 'fixed client',
        requests: [],
        refused: [],
        wallMs: [],
      };
      throttleRows.push(ours, fixed);
      for (let run = 0; run < THROTTLE_RUNS; run++) {
        proxy.throttle(null);
        // A client of its own per apply: no pace learned from the apply before.
        const client = await open(`${scheme}+${proxy.url}`, server.apiKey(proxy.host), THROTTLE_P);
        try {
          const made = await planRepository(repos[turn++ % 2]!, client);
          if (!made.ok || made.plan.steps.length === 0)
            throw new Error(`${name}: no steps to apply`);
          proxy.reset();
          proxy.throttle(make());
          const result = await executePlan(made.plan, client, { parallelism: THROTTLE_P });
          if (!result.ok) throw new Error(`${name}, ${what}: the apply failed`);
        } finally {
          await client.close();
        }
        const sent = proxy.log.filter((e) => !e.refused);
        tally(ours, proxy.log);
        proxy.reset();
        proxy.throttle(make());
        const requests = sent.map((e) => ({ method: e.method, path: e.path, ...e.sent! }));
        await replayFixed(proxy.url, requests, THROTTLE_P);
        tally(fixed, proxy.log);
        log(
          `${name}, ${what}, run ${run + 1}: poolsync ${formatMs(ours.wallMs.at(-1)!)} (${ours.refused.at(-1)} refused), fixed ${formatMs(fixed.wallMs.at(-1)!)} (${fixed.refused.at(-1)} refused)`,
        );
      }
    }
  } finally {
    await proxy.close();
  }
}

function tally(row: ThrottleRow, exchanges: readonly Exchange[]) {
  row.requests.push(exchanges.length);
  row.refused.push(exchanges.filter((e) => e.refused).length);
  row.wallMs.push(spanMs(exchanges));
}

/** Two repositories of `model` with `count` of its own queues retuned, by +1 and by +2. */
async function retunedRepos(
  dir: string,
  model: ScaleModel,
  count: number,
): Promise<[string, string]> {
  const own = new Set(
    model.queues
      .filter((q) => !q.coNamed)
      .slice(0, count)
      .map((q) => q.name),
  );
  const repo = (by: number) =>
    unionRepo(join(dir, `retuned-${by}`), {
      ...model,
      queues: model.queues.map((q) =>
        own.has(q.name)
          ? { ...q, spec: { ...q.spec, run_concurrency: q.spec.run_concurrency + by } }
          : q,
      ),
    });
  return [await repo(1), await repo(2)];
}

async function unionThrottleRows(dir: string): Promise<void> {
  const model = generateScaleModel(QUICK ? 1_000 : 2_000);
  const server = await startUnionStandIn(join(dir, 'throttle'), model, 0);
  try {
    const updates = QUICK ? 200 : 1000;
    const repos = await retunedRepos(join(dir, 'throttle-repos'), model, updates);
    await throttled(server, 'union', `Union, ${updates} queue updates`, repos);
  } finally {
    await server.stop();
  }
}

async function flyteadminThrottleRows(dir: string): Promise<void> {
  const projects = QUICK ? 70 : 340;
  const server = await startRealFlyteadmin(projects);
  if (typeof server === 'string') {
    log(`flyteadmin throttling rows skipped: ${server}`);
    return;
  }
  try {
    const repos = await Promise.all(
      ['label1', 'label2'].map((label) =>
        labelsRepo(join(dir, `throttle-${label}`), projects, label),
      ),
    );
    await throttled(server, 'flyteadmin', `flyteadmin, ${projects * 3} label updates`, [
      repos[0]!,
      repos[1]!,
    ]);
  } finally {
    await server.stop();
  }
}

const dir = await mkdtemp(join(tmpdir(), 'poolsync-bench-remote-'));
const load0 = loadavg()[0]!;
try {
  if (wants('union-plan')) await unionRows(dir);
  if (wants('union-apply')) await unionApplyRows(dir);
  if (wants('critical')) await criticalRows(dir);
  if (wants('flyteadmin')) await flyteadminRows(dir);
  await wholeApplyRows(dir);
  if (wants('whole-plan')) await wholePlanRows(dir);
  if (wants('throttle')) {
    await unionThrottleRows(dir);
    await flyteadminThrottleRows(dir);
  }
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
      // In rounds, the ratio is of round trips (the wall then holds the quiet times).
      const ratio = values.rounds === undefined ? r.wallMs / floor : r.chain / r.floorTrips;
      return `| ${r.what} | ${r.requests} | ${r.chain} | ${formatMs(r.wallMs)} | ${formatMs(floor)} (${r.floorTrips} round trips) | ${ratio.toFixed(2)}× | ${r.notes} |`;
    }),
];
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;
if (throttleRows.length > 0) {
  const fixedWall = (r: ThrottleRow) =>
    median(
      throttleRows.find(
        (f) => f.client === 'fixed client' && f.server === r.server && f.throttle === r.throttle,
      )!.wallMs,
    );
  lines.push(
    '',
    `Throttling: parallelism ${THROTTLE_P}, median of ${THROTTLE_RUNS} applies each (wall: first request to last answer)`,
    '',
    '| apply | server throttles | client | requests | refused | wall | to the fixed client |',
    '| --- | --- | --- | ---: | ---: | ---: | ---: |',
    ...throttleRows.map(
      (r) =>
        `| ${r.server} | ${r.throttle} | ${r.client} | ${median(r.requests)} | ${median(r.refused)} | ${formatMs(median(r.wallMs))} (${r.wallMs.map((w) => (w / 1000).toFixed(1)).join(', ')}) | ${(median(r.wallMs) / fixedWall(r)).toFixed(2)}× |`,
    ),
  );
}
process.stdout.write(`${lines.join('\n')}\n`);
