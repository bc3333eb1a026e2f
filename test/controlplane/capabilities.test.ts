/**
 * The embedded control plane's capabilities (domain.md, Capabilities): refused with the
 * baseline rule while off; with them on, queue states ACTIVE → DRAINING → DRAINED follow the
 * Q7 activity, and delete / move / update are held to their preconditions. The same through
 * the REST API and its client; capabilities are stored with the state (file: URL, serve).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { cpSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EmbeddedControlPlane } from '../../src/controlplane/embedded/embedded.js';
import { startControlPlaneServer } from '../../src/controlplane/embedded/server.js';
import { isControlPlaneError } from '../../src/controlplane/errors.js';
import { openControlPlane } from '../../src/controlplane/open.js';
import { HttpControlPlane } from '../../src/controlplane/rest/http-client.js';
import { coreCalls, type CoreCalls } from './core-calls.js';
import { runInProcess } from '../support/memory-io.js';
import { CAPABILITY_NAMES } from '../../src/model/capabilities.js';
import {
  BASELINE_CAPABILITIES,
  pick,
  QUEUE_SPEC_FIELDS,
  type Capabilities,
  type PoolContract,
  type QueueSpec,
} from '../../src/model/common.js';
import { poolContract } from '../support/builders.js';
import { servedControlPlane } from '../support/served-control-plane.js';

const ALL_ON: Capabilities = {
  drain: true,
  queue_delete: true,
  cluster_move: true,
  pool_update: true,
  queue_move: true,
};
const c = (bucket: string): PoolContract =>
  poolContract(`s3://${bucket}`, { secret_store: { type: 'VAULT', locator: 'v' } });

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'poolsync-caps-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function rejects(call: Promise<unknown>, code: string, pattern: RegExp, rule?: string) {
  const err = await call.then(
    () => null,
    (e: unknown) => e,
  );
  expect(isControlPlaneError(err), String(err)).toBe(true);
  if (!isControlPlaneError(err)) return;
  expect(err.code).toBe(code);
  expect(err.message).toMatch(pattern);
  if (rule) expect(err.rule).toBe(rule);
}

/** A live queue's settable spec (Q3: an update sends all of it). */
const specOf = (q: QueueSpec): QueueSpec => pick(q, QUEUE_SPEC_FIELDS);

async function seed(cp: CoreCalls) {
  await cp.createPool('gpu', c('gpu'));
  await cp.createPool('cpu', c('cpu'));
  await cp.registerCluster({ name: 'g1', pool: 'gpu' });
  await cp.createQueue({
    name: 'batch',
    pool: 'gpu',
    clusters: ['g1'],
    run_concurrency: 1,
    action_concurrency: 1,
  });
}

describe('capabilities off (baseline): every capability call is refused with its rule', () => {
  it.each([
    ['drain', (cp: CoreCalls) => cp.drainQueue('batch'), 'C9'],
    ['drain', (cp: CoreCalls) => cp.activateQueue('batch'), 'C9'],
    ['queue_delete', (cp: CoreCalls) => cp.deleteQueue('batch'), 'Q6'],
    ['cluster_move', (cp: CoreCalls) => cp.moveCluster('g1', 'cpu'), 'C7'],
    ['pool_update', (cp: CoreCalls) => cp.updatePool('gpu', c('gpu2')), 'P4'],
  ] as const)('%s (%s)', async (capability, call, rule) => {
    // Every other capability on: only this one matters.
    const caps = { ...ALL_ON, [capability]: false };
    const cp = await EmbeddedControlPlane.open({ path: null, capabilities: caps });
    await seed(cp);
    await rejects(
      call(cp),
      'FAILED_PRECONDITION',
      new RegExp(`does not support ${capability}`),
      rule,
    );
    expect((await cp.listQueues()).find((q) => q.name === 'batch')!.clusters).toEqual(['g1']);
    await cp.close();
  });

  it('reports no queue state without drain', async () => {
    const cp = await EmbeddedControlPlane.open({ path: null });
    expect(await cp.capabilities()).toEqual(BASELINE_CAPABILITIES);
    expect((await cp.getQueue('default')).state).toBeUndefined();
    await cp.close();
  });
});

describe('capabilities on (embedded store)', () => {
  it('drain: ACTIVE → DRAINING while work is in flight → DRAINED once it finished; activate', async () => {
    let now = 1_000;
    const cp = await EmbeddedControlPlane.open({
      path: null,
      capabilities: ALL_ON,
      now: () => now,
    });
    await seed(cp);
    expect((await cp.getQueue('batch')).state).toBe('active');
    await cp.setQueueActivity('batch', {
      runs_in_flight: 4,
      actions_in_flight: 2,
      finish_over_ms: 1000,
    });
    expect((await cp.drainQueue('batch')).state).toBe('draining');
    now += 500;
    expect((await cp.getQueue('batch')).state).toBe('draining');
    now += 600;
    expect((await cp.getQueue('batch')).state).toBe('drained');
    expect((await cp.drainQueue('batch')).state).toBe('drained'); // idempotent
    expect((await cp.activateQueue('batch')).state).toBe('active');
    await rejects(cp.drainQueue('default'), 'FAILED_PRECONDITION', /always active/, 'Q5');
    await rejects(cp.drainQueue('nope'), 'NOT_FOUND', /does not exist/);
    await cp.close();
  });

  it('queue delete: only a DRAINED queue; never default, never a registered cluster’s co-named queue', async () => {
    let now = 0;
    const cp = await EmbeddedControlPlane.open({
      path: null,
      capabilities: ALL_ON,
      now: () => now,
    });
    await seed(cp);
    await rejects(
      cp.deleteQueue('batch'),
      'FAILED_PRECONDITION',
      /is active: drain it first/,
      'Q6',
    );
    await cp.setQueueActivity('batch', {
      runs_in_flight: 1,
      actions_in_flight: 0,
      finish_over_ms: 100,
    });
    await cp.drainQueue('batch');
    await rejects(cp.deleteQueue('batch'), 'FAILED_PRECONDITION', /still draining/, 'Q6');
    now = 200;
    await cp.deleteQueue('batch');
    await rejects(cp.getQueue('batch'), 'NOT_FOUND', /does not exist/);
    await rejects(cp.deleteQueue('default'), 'FAILED_PRECONDITION', /never be deleted/);
    await cp.drainQueue('g1');
    await rejects(cp.deleteQueue('g1'), 'FAILED_PRECONDITION', /co-named queue/, 'Q4');
    // Union today (queue_delete): deleting the cluster deletes its co-named queue with it; P5
    // then frees the pool.
    await cp.deleteCluster('g1');
    await rejects(cp.getQueue('g1'), 'NOT_FOUND', /does not exist/);
    await cp.deletePool('gpu');
    await cp.close();
  });

  it('a referenced pool delete (P5) says what frees it: with queue_delete, deleting what refers to it; without, nothing (Q6)', async () => {
    const without = await EmbeddedControlPlane.open({
      path: null,
      capabilities: { ...ALL_ON, queue_delete: false },
    });
    await seed(without);
    await rejects(
      without.deletePool('gpu'),
      'FAILED_PRECONDITION',
      /queues cannot be deleted \(Q6\), so this pool can never be deleted \(P5\)$/,
      'P5',
    );
    await without.close();

    const cp = await EmbeddedControlPlane.open({ path: null, capabilities: ALL_ON });
    await seed(cp);
    // g1's co-named queue goes with g1, so only the clusters and the other queue are to do.
    await rejects(
      cp.deletePool('gpu'),
      'FAILED_PRECONDITION',
      /^pool "gpu" is still referenced by clusters "g1" and queues "batch", "g1"; this control plane deletes queues \(queue_delete, Q6\), so delete or move clusters "g1" and drain and delete queues "batch", then delete the pool again \(P5\)$/,
      'P5',
    );
    await cp.close();
  });

  it('a cluster delete takes its co-named queue only with queue_delete (else C8 leaves it), and never one a default-queue setting names', async () => {
    const without = await EmbeddedControlPlane.open({
      path: null,
      capabilities: { ...ALL_ON, queue_delete: false },
    });
    await seed(without);
    await without.deleteCluster('g1');
    expect(await without.getQueue('g1')).toMatchObject({ clusters: [], cluster_managed: true });
    await without.close();

    const cp = await EmbeddedControlPlane.open({ path: null, capabilities: ALL_ON });
    await seed(cp);
    await cp.setDefaultQueue('ml', 'production', 'g1');
    await rejects(
      cp.deleteCluster('g1'),
      'FAILED_PRECONDITION',
      /co-named queue would be deleted with it, but queue "g1" is the default queue of ml\/production/,
    );
    expect((await cp.getCluster('g1')).name).toBe('g1');
    await cp.deleteDefaultQueue('ml', 'production');
    await cp.deleteCluster('g1');
    await rejects(cp.getQueue('g1'), 'NOT_FOUND', /does not exist/);
    await cp.close();
  });

  it('queue move (queue_move): a drained queue changes pool by an update; never an active one, default or a co-named queue', async () => {
    let now = 0;
    const cp = await EmbeddedControlPlane.open({
      path: null,
      capabilities: ALL_ON,
      now: () => now,
    });
    await seed(cp);
    const batch = await cp.getQueue('batch');
    const to = { ...specOf(batch), pool: 'cpu', clusters: ['*'] };
    await rejects(
      cp.updateQueue('batch', to),
      'FAILED_PRECONDITION',
      /is active: drain it first/,
      'Q3',
    );
    await cp.setQueueActivity('batch', {
      runs_in_flight: 1,
      actions_in_flight: 0,
      finish_over_ms: 100,
    });
    await cp.drainQueue('batch');
    await rejects(cp.updateQueue('batch', to), 'FAILED_PRECONDITION', /still draining/, 'Q3');
    now = 200;
    await rejects(cp.updateQueue('batch', { ...to, pool: 'nope' }), 'NOT_FOUND', /"nope"/);
    const moved = await cp.updateQueue('batch', to);
    expect(moved).toMatchObject({ pool: 'cpu', clusters: ['*'], state: 'drained' });
    expect((await cp.activateQueue('batch')).state).toBe('active');
    const g1 = await cp.getQueue('g1');
    await cp.drainQueue('g1');
    await rejects(
      cp.updateQueue('g1', { ...specOf(g1), pool: 'cpu' }),
      'FAILED_PRECONDITION',
      /Q4/,
      'Q4',
    );
    const def = await cp.getQueue('default');
    await rejects(
      cp.updateQueue('default', { ...specOf(def), pool: 'cpu' }),
      'FAILED_PRECONDITION',
      /Q5/,
      'Q5',
    );
    await cp.close();

    const off = await EmbeddedControlPlane.open({
      path: null,
      capabilities: { ...ALL_ON, queue_move: false },
    });
    await seed(off);
    await off.drainQueue('batch');
    await rejects(
      off.updateQueue('batch', {
        ...specOf(await off.getQueue('batch')),
        pool: 'cpu',
        clusters: ['*'],
      }),
      'FAILED_PRECONDITION',
      /pool can never change/,
      'Q3',
    );
    await off.close();
  });

  it('queue delete without drain: only an idle queue', async () => {
    const cp = await EmbeddedControlPlane.open({
      path: null,
      capabilities: { ...BASELINE_CAPABILITIES, queue_delete: true },
    });
    await seed(cp);
    await cp.setQueueActivity('batch', { runs_in_flight: 2, actions_in_flight: 0 });
    await rejects(cp.deleteQueue('batch'), 'FAILED_PRECONDITION', /in flight \(Q7\)/);
    await cp.setQueueActivity('batch', { runs_in_flight: 0, actions_in_flight: 0 });
    await cp.deleteQueue('batch');
    await cp.close();
  });

  it('cluster move: once its co-named queue is drained (remote/_cluster.py:328-331); it moves along, other selectors drop it', async () => {
    const cp = await EmbeddedControlPlane.open({ path: null, capabilities: ALL_ON });
    await seed(cp);
    await cp.registerCluster({ name: 'g2', pool: 'gpu' });
    await cp.createQueue({
      name: 'both',
      pool: 'gpu',
      clusters: ['g1', 'g2'],
      run_concurrency: 1,
      action_concurrency: 1,
    });
    await rejects(
      cp.moveCluster('g1', 'cpu'),
      'FAILED_PRECONDITION',
      /co-named queue "g1" moves with it and is active/,
      'C7',
    );
    // Only that queue: batch, which routes only to g1, is asked nothing (Union asks nothing).
    await cp.drainQueue('g1');
    await rejects(cp.moveCluster('g1', 'nope'), 'NOT_FOUND', /pool "nope"/);
    const moved = await cp.moveCluster('g1', 'cpu');
    expect(moved.pool).toBe('cpu');
    expect(await cp.getQueue('g1')).toMatchObject({
      pool: 'cpu',
      clusters: ['g1'],
      cluster_managed: true,
    });
    expect((await cp.getQueue('both')).clusters).toEqual(['g2']);
    expect(await cp.getQueue('batch')).toMatchObject({ clusters: [], state: 'active' });
    expect((await cp.getPool('cpu')).member_clusters).toEqual(['g1']);
    expect((await cp.moveCluster('g1', 'cpu')).pool).toBe('cpu'); // idempotent
    // A cluster whose reported data plane does not match the destination is refused (C4).
    await cp.reportClusterStatus('g2', { object_store_uri: 's3://gpu' });
    await cp.drainQueue('g2');
    await rejects(
      cp.moveCluster('g2', 'cpu'),
      'FAILED_PRECONDITION',
      /object_store_uri is "s3:\/\/gpu"/,
      'C4',
    );
    await cp.close();
  });

  it('pool update: in place, refused (with names) when a member reports another data plane (C4)', async () => {
    const cp = await EmbeddedControlPlane.open({ path: null, capabilities: ALL_ON });
    await seed(cp);
    await cp.reportClusterStatus('g1', { object_store_uri: 's3://gpu-v2' }); // unhealthy now
    expect((await cp.getCluster('g1')).health).toBe('unhealthy');
    await rejects(
      cp.updatePool('gpu', c('gpu-v3')),
      'FAILED_PRECONDITION',
      /"g1" \(object_store_uri "s3:\/\/gpu-v2"\)/,
      'C4',
    );
    const updated = await cp.updatePool('gpu', c('gpu-v2'));
    expect(updated.contract.object_store_ref.uri).toBe('s3://gpu-v2');
    expect(await cp.getCluster('g1')).toMatchObject({ health: 'healthy', config_drift: [] });
    await cp.close();
  });
});

describe('capabilities are stored with the state', () => {
  it('file:PATH?capabilities= creates with them, is remembered, and a different value says how to change it', async () => {
    const state = join(dir, 'cp.json');
    const first = coreCalls(
      await openControlPlane(`file:${state}?capabilities=drain,queue_delete`),
    );
    expect(await first.capabilities()).toEqual({
      ...BASELINE_CAPABILITIES,
      drain: true,
      queue_delete: true,
    });
    await first.drainQueue('default').catch(() => undefined);
    await first.createPool('gpu', c('gpu'));
    await first.createQueue({
      name: 'q',
      pool: 'gpu',
      clusters: [],
      run_concurrency: 1,
      action_concurrency: 1,
    });
    await first.drainQueue('q'); // journaled
    await first.close();

    const again = coreCalls(await openControlPlane(`file:${state}`));
    expect((await again.capabilities()).drain).toBe(true);
    expect((await again.getQueue('q')).state).toBe('drained');
    await again.close();

    const err = await openControlPlane(`file:${state}?capabilities=cluster_move`).catch(
      (e: Error) => e,
    );
    expect(String((err as Error).message)).toMatch(
      /has capabilities drain,queue_delete \(set when it was created or with `poolsync control-plane capabilities --set`\), not cluster_move.*poolsync control-plane capabilities --state .*cp\.json --set cluster_move/,
    );
    await expect(openControlPlane(`file:${state}?capabilities=teleport`)).rejects.toThrow(
      /unknown capability "teleport": use a comma-separated list of drain, queue_delete, cluster_move, pool_update/,
    );
    await expect(openControlPlane(`file:${state}?capability=drain`)).rejects.toThrow(
      /unknown parameter "capability"/,
    );
  });

  it('`control-plane capabilities --set` changes them (journaled); drain cannot go off while a queue is drained; a state that does not exist is not created', async () => {
    const cli = async (state: string, ...args: string[]) => {
      const cmd = ['control-plane', 'capabilities', '--state', state, ...args];
      const r = await runInProcess(cmd, process.env);
      return { status: r.code, stdout: r.stdout, stderr: r.stderr };
    };
    const state = join(dir, 'cp.json');
    const fresh = join(dir, 'fresh.json');
    const badState = join(dir, 'bad.json');
    // A typo in --state must not create a new organisation, shown or changed.
    const typos = await Promise.all([cli(state), cli(state, '--set', 'drain')]);
    for (const typo of typos) {
      expect(typo.status).toBe(1);
      expect(typo.stderr).toMatch(/no control-plane state at .*cp\.json: check --state/);
    }
    expect(existsSync(state)).toBe(false);
    for (const path of [state, fresh, badState]) {
      await (await EmbeddedControlPlane.open({ path })).close();
    }
    const [shown, set, bad] = await Promise.all([
      cli(fresh),
      cli(state, '--set', 'drain,pool_update'),
      cli(badState, '--set', 'drain,warp'),
    ]);
    expect(shown.stdout).toBe('none\n');
    expect(set.stdout).toBe('drain,pool_update\n');
    // Journaled: the state file read back has them.
    const cp = await EmbeddedControlPlane.open({ path: state });
    expect(await cp.capabilities()).toMatchObject({
      drain: true,
      pool_update: true,
      queue_delete: false,
    });
    await cp.close();
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/--set|unknown capability "warp"/);
    expect(bad.stderr).not.toMatch(/at .*\.ts:\d+/);
  });

  it('a state whose capabilities `--set` changed is refused with the ones it has now, saying how they were set', async () => {
    const state = join(dir, 'cp.json');
    await (await EmbeddedControlPlane.open({ path: state, capabilities: ALL_ON })).close();
    const set = await runInProcess(
      ['control-plane', 'capabilities', '--state', state, '--set', 'drain,cluster_move'],
      process.env,
    );
    expect(set.stdout).toBe('drain,cluster_move\n');
    cpSync(join(import.meta.dirname, '../../examples/config-repo'), join(dir, 'repo'), {
      recursive: true,
    });
    const plan = await runInProcess(
      ['plan', 'repo', '--control-plane', `file:${state}?capabilities=drain`],
      process.env,
      dir,
    );
    expect(plan.code).toBe(1);
    expect(plan.stderr).toBe(
      `Error: control-plane state ${state} has capabilities drain,cluster_move (set when it was created or with \`poolsync control-plane capabilities --set\`), not drain: capabilities are stored with the state. Leave them out to use the stored ones, or change them with \`poolsync control-plane capabilities --state ${state} --set drain\`\n`,
    );
  });

  it('drain cannot be turned off while a queue is drained', async () => {
    const cp = await EmbeddedControlPlane.open({ path: null, capabilities: ALL_ON });
    await seed(cp);
    await cp.drainQueue('batch');
    await rejects(
      cp.setCapabilities(BASELINE_CAPABILITIES),
      'FAILED_PRECONDITION',
      /"batch" are draining or drained/,
    );
    await cp.activateQueue('batch');
    expect(await cp.setCapabilities(BASELINE_CAPABILITIES)).toEqual(BASELINE_CAPABILITIES);
    await cp.close();
  });
});

describe('REST API: the same calls over HTTP through the client', () => {
  it.each([[ALL_ON], [BASELINE_CAPABILITIES]])('capabilities %j', async (caps) => {
    const { server } = await servedControlPlane({}, { capabilities: caps });
    const cp = new HttpControlPlane(server.url, { minRetryDelayMs: 1, maxRetryDelayMs: 5 });
    try {
      expect(await cp.capabilities()).toEqual(caps);
      await seed(cp);
      if (!caps.drain) {
        for (const name of CAPABILITY_NAMES) expect(Boolean(caps[name])).toBe(false);
        await rejects(
          cp.drainQueue('batch'),
          'FAILED_PRECONDITION',
          /does not support drain/,
          'C9',
        );
        await rejects(
          cp.deleteQueue('batch'),
          'FAILED_PRECONDITION',
          /does not support queue_delete/,
          'Q6',
        );
        await rejects(cp.moveCluster('g1', 'cpu'), 'FAILED_PRECONDITION', /cluster_move/, 'C7');
        await rejects(cp.updatePool('gpu', c('x')), 'FAILED_PRECONDITION', /pool_update/, 'P4');
        return;
      }
      expect((await cp.drainQueue('batch')).state).toBe('drained');
      expect((await cp.drainQueue('g1')).state).toBe('drained');
      expect((await cp.moveCluster('g1', 'cpu')).pool).toBe('cpu');
      expect((await cp.activateQueue('g1')).state).toBe('active');
      await cp.deleteQueue('batch');
      await rejects(cp.getQueue('batch'), 'NOT_FOUND', /does not exist/);
      expect((await cp.updatePool('gpu', c('gpu-v2'))).contract.object_store_ref.uri).toBe(
        's3://gpu-v2',
      );
    } finally {
      await cp.close();
    }
  });
});

describe('soft_delete: deleted pools and clusters are kept, their names reserved, until undeleted', () => {
  const SOFT: Capabilities = { ...ALL_ON, soft_delete: true };
  it.each(['embedded', 'rest'])('%s', async (via) => {
    const path = join(dir, 'state.json');
    const embedded = await EmbeddedControlPlane.open({ path, capabilities: SOFT });
    const server =
      via === 'rest' ? await startControlPlaneServer({ controlPlane: embedded }) : null;
    const cp = server
      ? new HttpControlPlane(server.url, { minRetryDelayMs: 1, maxRetryDelayMs: 5 })
      : embedded;
    try {
      await cp.createPool('gpu', c('gpu'));
      await cp.registerCluster({ name: 'g1', pool: 'gpu' });
      const settings = { run_concurrency: 7, action_concurrency: 70 };
      await cp.updateQueue('g1', { ...specOf(await cp.getQueue('g1')), ...settings });
      await cp.drainQueue('g1');
      await cp.deleteCluster('g1'); // its co-named queue goes with it (queue_delete)
      await cp.deletePool('gpu');
      expect((await cp.listDeletedPools()).map((p) => p.name)).toEqual(['gpu']);
      expect((await cp.listDeletedClusters()).map((x) => [x.name, x.pool])).toEqual([
        ['g1', 'gpu'],
      ]);
      await rejects(cp.createPool('gpu', c('x')), 'ALREADY_EXISTS', /undelete it instead/);
      await rejects(cp.undeleteCluster('g1'), 'FAILED_PRECONDITION', /undelete the pool first/);
      expect((await cp.undeletePool('gpu')).contract).toEqual(c('gpu'));
      await rejects(
        cp.registerCluster({ name: 'g1', pool: 'gpu' }),
        'ALREADY_EXISTS',
        /stays reserved/,
      );
      const back = await cp.undeleteCluster('g1');
      expect([back.pool, back.enabled]).toEqual(['gpu', false]);
      // Its co-named queue comes back with it, with its old settings, DRAINED.
      const queue = await cp.getQueue('g1');
      expect([queue.clusters, queue.run_concurrency, queue.action_concurrency]).toEqual([
        ['g1'],
        7,
        70,
      ]);
      expect(queue.state).toBe('drained');
      expect(await cp.listDeletedClusters()).toEqual([]);
      await rejects(cp.undeleteCluster('g1'), 'FAILED_PRECONDITION', /nothing to undelete/);
      await rejects(cp.undeletePool('cpu'), 'NOT_FOUND', /no deleted pool/);
      // Kept in the state file too.
      await cp.deleteCluster('g1');
      await embedded.close();
      const reopened = await EmbeddedControlPlane.open({ path });
      expect((await reopened.listDeletedClusters()).map((x) => x.name)).toEqual(['g1']);
      await reopened.close();
    } finally {
      await server?.close();
      await embedded.close();
    }
  });
});
