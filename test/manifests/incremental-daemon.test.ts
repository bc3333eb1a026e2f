/**
 * Issue 25: the daemon's incremental paths plan exactly what a cold process plans. A generated
 * organisation and a persisted embedded control plane seeded with it go through a seeded
 * sequence of edits of the repository (a value changed, files renamed, deleted, broken and put
 * back, a document added: ./edits.ts) and of the live state (queues retuned, clusters disabled
 * or reported unhealthy, assignments moved), written through the daemon's writer sessions.
 * After each one, the daemon's way — in-memory analyses (frozen), shared frozen reads of an
 * unchanged state file (src/incremental/state-cache.ts, list-views.ts), the plan memo, the plan
 * of the slice an edit touches spliced into the last plan (plan-slice.ts, issue 79; now and then
 * the repository is applied first, as the daemon does) — must give byte-identical results,
 * errors, plans and plan text to a cold load and read.
 */
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { generateScaleModel, rng } from '../../bench/lib/scale.js';
import { seedControlPlane } from '../../bench/lib/seed.js';
import { writeRepository } from '../../bench/lib/yaml-writer.js';
import { EmbeddedControlPlane } from '../../src/controlplane/embedded/embedded.js';
import { readLiveState, type ControlPlane } from '../../src/controlplane/types.js';
import { AnalysisCache } from '../../src/incremental/analysis-cache.js';
import { PlanReuse } from '../../src/incremental/plan-reuse.js';
import { loadDesired } from '../../src/ops/plan-run.js';
import type { LiveState } from '../../src/model/live.js';
import { sameObjects } from '../../src/incremental/plan-reuse.js';
import { createEmbeddedStateCache } from '../../src/incremental/state-cache.js';
import type { EmbeddedStateCache } from '../../src/controlplane/embedded/store.js';
import { retuneQueue } from '../support/retune-queue.js';
import { sharedListsOf } from '../../src/daemon/unit.js';
import { EDITS } from './edits.js';
import { outcome } from './outcome.js';
import { executePlan } from '../../src/apply/executor.js';
import { planAgainst } from '../../src/plan/index.js';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

type LiveEdit = (cp: EmbeddedControlPlane, pick: () => number) => Promise<string>;

const one = <T>(list: readonly T[], pick: () => number): T =>
  list[Math.floor(pick() * list.length)]!;

const LIVE_EDITS: LiveEdit[] = [
  async (cp, pick) => {
    const q = one(
      (await cp.listQueues()).filter((x) => !x.cluster_managed && x.name !== 'default'),
      pick,
    );
    await retuneQueue(cp, q.name, { run_concurrency: 1 + Math.floor(pick() * 500) });
    return `live: queue ${q.name} retuned`;
  },
  async (cp, pick) => {
    // Two retunes in one writer session, then one moving a queue to another cluster of its pool:
    // the embedded lists make the retuned views again, then every view (issue 79).
    const queues = (await cp.listQueues()).filter(
      (x) => !x.cluster_managed && x.name !== 'default',
    );
    const [a, b] = [one(queues, pick), one(queues, pick)];
    await retuneQueue(cp, a.name, { run_concurrency: 1 + Math.floor(pick() * 500) });
    await retuneQueue(cp, b.name, { action_concurrency: 1 + Math.floor(pick() * 500) });
    const members = (await cp.listClusters()).filter((c) => c.pool === a.pool);
    if (pick() < 0.5 || members.length === 0) return `live: queues ${a.name}, ${b.name} retuned`;
    await retuneQueue(cp, a.name, { clusters: [one(members, pick).name] });
    return `live: queues ${a.name}, ${b.name} retuned, ${a.name} given another selector`;
  },
  async (cp, pick) => {
    const c = one(await cp.listClusters(), pick);
    await cp.updateCluster(c.name, { enabled: !c.enabled });
    return `live: cluster ${c.name} ${c.enabled ? 'disabled' : 'enabled'}`;
  },
  async (cp, pick) => {
    const c = one(await cp.listClusters(), pick);
    // C5: a data plane that does not match the contract makes the cluster unhealthy.
    await cp.reportClusterStatus(c.name, { object_store_uri: `s3://elsewhere-${c.name}` });
    return `live: cluster ${c.name} reported another data plane`;
  },
  async (cp, pick) => {
    // A queue the repository does not have, naming a cluster: C8 acts on it when the
    // cluster goes (the queue's own objects unchanged: only the queue memo's frame sees it).
    const c = one(await cp.listClusters(), pick);
    const name = `live-only-${Math.floor(pick() * 1e6)}`;
    await cp.createQueue({
      name,
      pool: c.pool,
      clusters: [c.name],
      run_concurrency: 1,
      action_concurrency: 1,
    });
    return `live: queue ${name} naming ${c.name} created`;
  },
  async (cp, pick) => {
    const a = one(await cp.listAssignments(), pick);
    const pool = one(await cp.listPools(), pick).name;
    await cp.setAssignment({ ...a, pool });
    return `live: assignment ${a.project}/${a.domain} moved to ${pool}`;
  },
];

/** Removes the document of a cluster no Queue document names explicitly (with prune: deleted). */
async function removeCluster(
  repo: string,
  pick: () => number,
  named: Set<string>,
): Promise<string> {
  const folder = join(repo, 'clusters');
  const file = one((await readdir(folder)).sort(), pick);
  const docs = (await readFile(join(folder, file), 'utf8')).split(/^(?=---\n)/m);
  const free = docs.filter((d) => !named.has(/name: (\S+)/.exec(d)?.[1] ?? ''));
  if (free.length === 0 || docs.length < 2) return 'no cluster to remove';
  const gone = one(free, pick);
  await writeFile(join(folder, file), docs.filter((d) => d !== gone).join(''));
  return `cluster ${/name: (\S+)/.exec(gone)?.[1]} removed from ${file}`;
}

/** prune on and off (poolsync.yaml): with it on, deleted files' objects are deleted (C8, P5…). */
async function togglePrune(repo: string): Promise<string> {
  const path = join(repo, 'poolsync.yaml');
  const text = await readFile(path, 'utf8');
  const on = text.includes('prune: false');
  await writeFile(path, text.replace(/prune: (true|false)/, `prune: ${on}`));
  return `prune ${on ? 'on' : 'off'}`;
}

/**
 * The daemon applies a commit's plan (issue 79 item 2): the next edit is planned against its
 * result, so the last plan acted on little and the planner plans only the slice an edit touches.
 */
async function applyRepository(
  repo: string,
  state: string,
  cache: EmbeddedStateCache,
): Promise<string> {
  const loaded = await loadDesired(repo);
  if (!loaded.valid) return '';
  const plan = planAgainst(loaded.desired, await readWith(state, cache));
  if (plan.errors.length > 0) return '';
  const writer = await EmbeddedControlPlane.open({ path: state, stateCache: cache });
  try {
    await executePlan(plan, writer, {
      parallelism: 4,
      waitTimeoutMs: 5_000,
      pollIntervalMs: { initial: 5, max: 20 },
    });
  } finally {
    await writer.close();
  }
  return 'applied, then ';
}

/** A read as the daemon reads (through its state cache) or as a cold process does (none). */
async function readWith(path: string, stateCache: EmbeddedStateCache | null): Promise<LiveState> {
  const cp: ControlPlane = await EmbeddedControlPlane.open({
    path,
    readOnly: true,
    ...(stateCache ? { stateCache } : {}),
  });
  try {
    return await readLiveState(cp, 'all', sharedListsOf(cp));
  } finally {
    await cp.close();
  }
}

describe("the daemon's incremental paths equal cold ones (issue 25)", () => {
  it('after each of 60 seeded edits of the repository or the live state, shared reads and the plan memo plan byte-identically', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'poolsync-incr-daemon-'));
    dirs.push(dir);
    const model = generateScaleModel(1200, 7);
    const named = new Set(model.queues.flatMap((q) => [q.name, ...(q.spec.clusters ?? [])]));
    await writeRepository(model, join(dir, 'repo'));
    const state = join(dir, 'cp.json');
    const seeding = await EmbeddedControlPlane.open({ path: state });
    await seedControlPlane(seeding, model, {
      concurrency: 16,
      afterRegister: async (c) => {
        await seeding.reportClusterStatus(c.name, {});
      },
    });
    await seeding.close();
    const analyses = new AnalysisCache();
    // Every slice, however large (the daemon plans one above a quarter of the organisation whole).
    const plans = new PlanReuse({ slices: { maxShare: Infinity } });
    const repo = join(dir, 'repo');
    const pick = rng(31);
    // Its own sequence: the seeded edits below are the ones they were before it.
    const applies = rng(97);
    let previous: LiveState | null = null;
    let shared = 0;
    const cache = createEmbeddedStateCache();
    for (let step = 0; step <= 60; step++) {
      let what = step > 0 ? '' : 'initial';
      if (step > 0 && applies() < 0.3) what = await applyRepository(repo, state, cache);
      if (step > 0 && pick() < 0.4) {
        const writer = await EmbeddedControlPlane.open({ path: state, stateCache: cache });
        try {
          what += await one(LIVE_EDITS, pick)(writer, pick);
        } finally {
          await writer.close();
        }
      } else if (step > 0 && pick() < 0.15) what += await togglePrune(repo);
      else if (step > 0 && pick() < 0.2) what += await removeCluster(repo, pick, named);
      else if (step > 0) what += await one(EDITS, pick)(repo, pick);

      const daemonLive = await readWith(state, cache);
      if (previous && sameObjects(previous, daemonLive)) shared++;
      previous = daemonLive;
      const expected = await outcome(await loadDesired(repo), await readWith(state, null));
      const loaded = await loadDesired(repo, { analyses });
      expect(await outcome(loaded, daemonLive, plans), `daemon's way after: ${what}`).toBe(
        expected,
      );
      // A second drift check of the same commit and state: the plan memo and shared objects.
      const again = await readWith(state, cache);
      expect(sameObjects(daemonLive, again), `state shared after: ${what}`).toBe(true);
      expect(await outcome(loaded, again, plans), `plan reused after: ${what}`).toBe(expected);
    }
    // The paths under test were taken: unchanged states shared.
    expect(shared).toBeGreaterThan(5);
    // Issue 79 item 2: most commits after an apply were planned as a slice.
    expect(plans.slicer!.stats.sliced).toBeGreaterThan(10);
  }, 300_000);
});
