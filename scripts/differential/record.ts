/**
 * Records the plan inputs of the differential planner check (scripts/differential-plan.ts):
 * run once, in the base tree (`--tree`, its own modules), it writes one JSON line per case, a
 * desired state or a folder, the live state to plan it against and the options. Cases:
 *  - the golden scenarios (test/render/scenarios.ts: examples/config-repo against an empty and
 *    a drifted control plane);
 *  - every example folder (each environment) against an empty embedded, Union and flyteadmin
 *    control plane, and against the state its applied plan left;
 *  - the valid manifest fixtures against an empty control plane;
 *  - a generated repository of bench/ (objects from `--objects`) against an empty, a drifted
 *    and its own applied state;
 *  - generated cases of test/plan/property/plan-equals-apply.ts (live histories and
 *    repositories of every capability set, flyteadmin's label rows), each before and after its
 *    plan was applied, some with an inventory, `--target` or `--replace`.
 */
import { cp as copy, mkdir, readdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

/* eslint-disable @typescript-eslint/no-explicit-any -- the base tree's modules, read untyped */
type Any = any;

const { values } = parseArgs({
  options: {
    tree: { type: 'string' },
    out: { type: 'string' },
    cases: { type: 'string', default: '1500' },
    objects: { type: 'string', default: '1500' },
  },
});
const tree = resolve(values.tree ?? '.');
const out = resolve(values.out!);
const perSet = Number(values.cases);
const from = (path: string): Promise<Any> => import(pathToFileURL(join(tree, path)).href);

const [embeddedMod, types, applyMod, scenarios, runner, property, flyteadmin, unionHelpers] =
  await Promise.all([
    from('src/controlplane/embedded/embedded.ts'),
    from('src/controlplane/types.ts'),
    from('src/apply/executor.ts'),
    from('test/render/scenarios.ts'),
    from('test/plan/runner.ts'),
    from('test/plan/property/plan-equals-apply.ts'),
    from('test/flyteadmin/helpers.ts'),
    from('test/controlplane/union/helpers.ts'),
  ]);
const { computePlan } = await from('src/plan/index.ts');
const { openControlPlane } = await from('src/controlplane/open.ts');
const { loadRepository } = await from('src/manifests/index.ts');
const fc = (await import('fast-check')).default;
const Embedded = embeddedMod.EmbeddedControlPlane;

const lines: string[] = [];
const add = (c: Record<string, unknown>): void => {
  lines.push(JSON.stringify(c));
};
/** The backend as the planner sees it, as data (no backend in the base has manual steps). */
const backendOf = (cp: Any): Record<string, unknown> => {
  const { manualStep: _m, ...info } = types.backendInfo(cp);
  return info;
};
const readLive = (cp: Any): Promise<Any> => types.readLiveState(cp);
const execute = (plan: Any, cp: Any): Promise<Any> =>
  applyMod.executePlan(plan, cp, {
    parallelism: 4,
    waitTimeoutMs: 2_000,
    pollIntervalMs: { initial: 5, max: 20 },
  });

// --- The golden scenarios.
{
  const empty = await Embedded.open({ path: null });
  add({
    id: 'golden/empty',
    dir: scenarios.EXAMPLE,
    live: await readLive(empty),
    backend: backendOf(empty),
    control_plane: scenarios.NEW_DEFAULT_STATE,
  });
  await empty.close();
  // driftedScenario, its control plane kept (test/render/scenarios.ts).
  const cp = await Embedded.open({ path: null });
  await runner.runSteps(await scenarios.planExample(cp), cp);
  const critical = await cp.getQueue('critical');
  const { name: _n, cluster_managed: _c, available_clusters: _a, ...spec } = critical;
  await cp.updateQueue('critical', {
    ...spec,
    run_concurrency: spec.run_concurrency + 50,
    priority: 'medium',
  });
  await cp.updateCluster('prod-us-west-2', { enabled: false });
  await cp.registerCluster({ name: 'legacy-1', pool: 'prod' });
  await cp.createQueue({
    name: 'adhoc',
    pool: 'dev',
    clusters: ['*'],
    run_concurrency: 5,
    action_concurrency: 50,
  });
  await cp.deleteAssignment({ project: 'flytesnacks', domain: 'staging', workflow: null });
  await cp.setAssignment({
    project: 'sandbox',
    domain: 'development',
    workflow: null,
    pool: 'dev',
  });
  await cp.deleteCluster('shared-us-west-2');
  await cp.registerCluster({ name: 'shared-us-west-2', pool: 'dev' });
  await cp.reportClusterStatus('research-eastus-gpu', {
    object_store_uri: 's3://not-the-research-bucket',
  });
  const drifted = await readLive(cp);
  add({
    id: 'golden/drifted',
    dir: scenarios.EXAMPLE,
    live: drifted,
    backend: backendOf(cp),
    control_plane: scenarios.NAMED_STATE,
  });
  // The same, with targets, a replacement, the manual steps of a backend and an inventory.
  const some = { inventory: ['Cluster/legacy-1', 'Queue/adhoc', 'ClusterPool/dev'] };
  add({
    id: 'golden/drifted-targets',
    dir: scenarios.EXAMPLE,
    live: { ...drifted, ...some },
    backend: backendOf(cp),
    opts: { targets: ['Queue/critical', 'Cluster/prod-us-west-2'] },
  });
  add({
    id: 'golden/drifted-replace',
    dir: scenarios.EXAMPLE,
    live: drifted,
    backend: backendOf(cp),
    opts: { replace: ['Cluster/prod-us-west-2'] },
  });
  add({
    id: 'golden/drifted-manual',
    dir: scenarios.EXAMPLE,
    live: drifted,
    backend: { ...backendOf(cp), name: 'manual (tests)' },
    manual: ['create_pool', 'register_cluster', 'update_cluster'],
  });
  await cp.close();
}

// --- Example folders, each environment, against each backend: empty, then applied.
interface Backend {
  name: string;
  open(): Promise<{ cp: Any; close(): Promise<void> }>;
}
const BACKENDS: Backend[] = [
  {
    name: 'embedded',
    open: async () => {
      const cp = await Embedded.open({ path: null });
      return { cp, close: () => cp.close() };
    },
  },
  {
    name: 'union',
    open: async () => {
      const s = await unionHelpers.startUnionServer();
      const cp = await unionHelpers.openUnion(s, 'connect');
      return {
        cp,
        close: async () => {
          await cp.close();
          await s.close();
        },
      };
    },
  },
  {
    name: 'flyteadmin',
    open: async () => {
      const fa = await flyteadmin.startFlyteadmin(null);
      const cp = await openControlPlane(fa.url);
      return {
        cp,
        close: async () => {
          await cp.close();
          await fa.close();
        },
      };
    },
  },
];

async function folderCases(id: string, dir: string, environment?: string): Promise<void> {
  for (const b of BACKENDS) {
    const { cp, close } = await b.open();
    try {
      const base = {
        dir,
        backend: backendOf(cp),
        ...(environment ? { environment } : {}),
      };
      const live = await readLive(cp);
      add({ id: `${id}/${b.name}/empty`, ...base, live });
      const loaded = await loadRepository(join(tree, dir), environment ? { environment } : {});
      if (!loaded.valid) continue;
      const plan = computePlan(loaded.desired, live);
      if (plan.errors.length > 0) continue;
      await execute(plan, cp);
      add({ id: `${id}/${b.name}/applied`, ...base, live: await readLive(cp) });
    } finally {
      await close();
    }
  }
}

await folderCases('example/config-repo', 'examples/config-repo');
await folderCases('example/union-self-managed', 'examples/union-self-managed');
await folderCases('example/flyte-oss', 'examples/flyte-oss');
for (const example of ['environments', 'three-backends'])
  for (const env of ['development', 'staging', 'production'])
    await folderCases(`example/${example}/${env}`, `examples/${example}`, env);

// --- The valid manifest fixtures, each a folder of its own.
const work = resolve(out, '..');
{
  const fixtures = 'test/fixtures/manifests/valid';
  for (const file of (await readdir(join(tree, fixtures))).sort()) {
    const dir = join(work, 'fixtures', file.replace(/\.yaml$/, ''));
    await mkdir(dir, { recursive: true });
    await copy(join(tree, fixtures, file), join(dir, file));
    const cp = await Embedded.open({ path: null });
    add({ id: `fixture/${file}`, dir, live: await readLive(cp), backend: backendOf(cp) });
    await cp.close();
  }
}

// --- A generated repository of bench/: empty, drifted, applied.
{
  const bench = await from('bench/generate.ts');
  const scale = await from('bench/lib/scale.ts');
  const objects = Number(values.objects);
  const model = bench.generateScaleModel(objects, 1);
  const dir = join(work, 'bench-repo');
  await bench.writeRepository(model, dir);
  for (const [name, state] of [
    ['empty', null],
    ['drifted', bench.driftModel(model).model],
    ['applied', model],
  ] as const) {
    const cp = await Embedded.open({ path: null });
    if (state) {
      const pools = new Map(state.pools.map((p: Any) => [p.name, p.contract]));
      await bench.seedControlPlane(cp, state, {
        concurrency: 16,
        afterRegister: async (c: Any) => {
          const contract = pools.get(c.pool);
          if (contract) await cp.reportClusterStatus(c.name, scale.declaredDataPlane(contract));
        },
      });
    }
    add({ id: `bench/${objects}/${name}`, dir, live: await readLive(cp), backend: backendOf(cp) });
    await cp.close();
  }
}

// --- Generated cases of the plan-equals-apply property.
const addressesOf = (live: Any): string[] =>
  [
    ...live.pools.map((p: Any) => `ClusterPool/${p.name}`),
    ...live.clusters.map((c: Any) => `Cluster/${c.name}`),
    ...live.queues.map((q: Any) => `Queue/${q.name}`),
  ].sort();

/** Options and an inventory for some cases, so target.ts, replace and prune scopes run too. */
function variation(i: number, desired: Any, live: Any, plan: Any): Record<string, unknown> {
  const acting = plan.changes.filter((c: Any) => !['noop', 'unmanaged'].includes(c.action));
  const v: Record<string, unknown> = {};
  if (i % 3 === 1) {
    const all = addressesOf(live);
    v['live'] = {
      ...live,
      inventory: all.filter((_, k) => k % 2 === 0),
      ...(i % 6 === 1 && all.length > 1 ? { forgotten: [all[1]] } : {}),
    };
  }
  if (i % 5 === 2 && acting.length > 0) v['opts'] = { targets: [acting[0].address] };
  const both = desired.clusters.find((c: Any) => live.clusters.some((l: Any) => l.name === c.name));
  if (i % 7 === 3 && both) v['opts'] = { replace: [`Cluster/${both.name}`] };
  return v;
}

async function generated(
  set: string,
  count: number,
  seed: number,
  open: () => Promise<{ cp: Any; close(): Promise<void> }>,
): Promise<void> {
  const backend =
    set === 'union' ? 'union' : set === 'union-embedded' ? 'union-embedded' : 'embedded';
  const samples = fc.sample(property.caseArb(backend), { seed, numRuns: count });
  for (const [i, c] of samples.entries()) {
    const { cp, close } = await open();
    try {
      const desired = property.desiredOf(c.repo);
      const played = await playHistory(cp, c.history);
      const plan = computePlan(desired, played);
      add({
        id: `gen/${set}/${i}/before`,
        desired,
        live: played,
        backend: backendOf(cp),
        ...variation(i, desired, played, plan),
      });
      if (plan.errors.length === 0) {
        await execute(plan, cp);
        const after = await readLive(cp);
        add({ id: `gen/${set}/${i}/after`, desired, live: after, backend: backendOf(cp) });
        add({ id: `gen/${set}/${i}/refresh`, refresh: { live: played, desired, now: after } });
      }
    } finally {
      await close();
    }
  }
}

const POOL_CONTRACT = (pool: string, version: number): Any => ({
  object_store_ref: { uri: `s3://${pool}-v${version}`, endpoint: '' },
  secret_store: { type: 'AWS_SECRETS_MANAGER', locator: 'us-east-1' },
  image_registry: null,
});

/**
 * The history's calls, as the property's `play` makes them (refused calls skipped; `play` is
 * not exported).
 */
async function playHistory(cp: Any, history: Any[]): Promise<Any> {
  const pools = ['default'];
  const clusterPool = new Map<string, string>();
  for (const o of history) {
    const call = async (): Promise<unknown> => {
      switch (o.op) {
        case 'pool':
          await cp.createPool(o.pool, POOL_CONTRACT(o.pool, 1));
          return pools.push(o.pool);
        case 'cluster': {
          const pool = pools[o.pool % pools.length]!;
          await cp.registerCluster({ name: o.name, pool });
          return clusterPool.set(o.name, pool);
        }
        case 'disable':
          return cp.updateCluster(o.name, { enabled: false });
        case 'queue': {
          const pool = pools[o.pool % pools.length]!;
          const members = [...clusterPool].filter(([, p]) => p === pool).map(([n]) => n);
          const picked = [
            ...new Set(o.pick.map((i: number) => members[i % Math.max(1, members.length)])),
          ];
          return cp.createQueue({
            name: o.name,
            pool,
            clusters: o.wildcard ? ['*'] : picked.filter(Boolean),
            run_concurrency: o.run,
            action_concurrency: o.run,
          });
        }
        case 'delete_cluster':
          await cp.deleteCluster(o.name);
          return clusterPool.delete(o.name);
        case 'drain':
          return cp.drainQueue(o.name);
        case 'delete_queue':
          return cp.deleteQueue(o.name);
        case 'setting': {
          const [project, domain] = o.key.split('/');
          return cp.setDefaultQueue(project, domain, o.queue);
        }
      }
      return undefined;
    };
    await call().catch(() => undefined);
  }
  return readLive(cp);
}

const embeddedWith = (caps: Any) => async () => {
  const cp = await Embedded.open({ path: null, capabilities: { ...caps } });
  return { cp, close: () => cp.close() };
};
await generated('embedded', perSet, 51, embeddedWith(property.capabilitiesOf('embedded')));
await generated(
  'union-embedded',
  perSet,
  52,
  embeddedWith(property.capabilitiesOf('union-embedded')),
);
await generated('union', Math.max(1, Math.round(perSet / 15)), 53, BACKENDS[1]!.open);

// --- flyteadmin's label rows (checkLabels of the property), on one stand-in.
{
  const { cp, close } = await BACKENDS[2]!.open();
  try {
    const calls = cp.executionClusterLabels;
    const samples = fc.sample(property.labelCaseArb, { seed: 54, numRuns: Math.round(perSet / 5) });
    for (const [i, c] of samples.entries()) {
      const rows = (await readLive(cp)).execution_cluster_labels ?? [];
      for (const l of [...rows].sort(
        (a: Any, b: Any) => (b.workflow ? 1 : 0) - (a.workflow ? 1 : 0),
      ))
        await calls.deleteExecutionClusterLabel(l).catch(() => undefined);
      const labelOf = (r: Any) => ({
        project: ['flytesnacks', 'project1'][r.project],
        domain: ['development', 'production'][r.domain],
        workflow: r.workflow ? 'wf.main' : null,
        label: `label-${r.label}`,
      });
      const keyOf = (l: Any) => [l.project, l.domain, l.workflow].filter(Boolean).join('/');
      for (const r of c.history) await calls.setExecutionClusterLabel(labelOf(r));
      const before = await readLive(cp);
      const labels = new Map(c.repo.labels.map((r: Any) => [keyOf(labelOf(r)), labelOf(r)]));
      const desired = {
        pools: [],
        clusters: [],
        queues: [],
        assignments: [],
        execution_cluster_labels: [...labels.values()]
          .sort((a: Any, b: Any) => (keyOf(a) < keyOf(b) ? -1 : 1))
          .map((l: Any) => ({
            ...l,
            name: keyOf(l).replaceAll('/', '-'),
            annotations: {},
            source: { file: 'labels.yaml', line: 1, column: 1 },
          })),
        config: {
          prune: c.repo.prune,
          ignore: [],
          manage: ['ExecutionClusterLabel'],
          ...(c.repo.accept
            ? {
                accept_cascade: [...labels.keys(), ...rows.map(keyOf)].map(
                  (k) => `ExecutionClusterLabel/${k}`,
                ),
              }
            : {}),
        },
        commit: null,
      };
      add({ id: `gen/labels/${i}/before`, desired, live: before, backend: backendOf(cp) });
      const plan = computePlan(desired, before);
      if (plan.errors.length > 0) continue;
      await execute(plan, cp);
      add({
        id: `gen/labels/${i}/after`,
        desired,
        live: await readLive(cp),
        backend: backendOf(cp),
      });
    }
  } finally {
    await close();
  }
}

await mkdir(work, { recursive: true });
await writeFile(out, `${lines.join('\n')}\n`);
process.stdout.write(`${lines.length} cases recorded\n`);
