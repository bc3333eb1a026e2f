import { describe, expect, it } from 'vitest';
import { cleanup } from '../support/cleanup.js';
import { executePlan } from '../../src/apply/executor.js';
import { deletedBy } from '../../src/apply/inventory.js';
import { ApplyRefusedError, type ApplyEvent } from '../../src/apply/types.js';
import { ControlPlaneError } from '../../src/controlplane/errors.js';
import { EmbeddedControlPlane } from '../../src/controlplane/embedded/embedded.js';
import { recording, type CallRecord, type RecordingControlPlane } from './helpers/recording.js';
import { CONTRACT, makePlan, pool, queueSpec, type StepSpec } from './helpers/plans.js';
import type { Plan } from '../../src/model/plan.js';
import type { QueueCalls } from '../../src/controlplane/types.js';
import { BASELINE_CAPABILITIES, type Capabilities } from '../../src/model/common.js';

const FAST_POLL = { initial: 10, max: 40 };

/**
 * A fresh in-memory embedded control plane: every domain rule, capabilities as created (or
 * given); closed after the test.
 */
async function embedded(capabilities?: Capabilities): Promise<EmbeddedControlPlane> {
  const cp = await EmbeddedControlPlane.open({ path: null, capabilities });
  cleanup.add(() => cp.close());
  return cp;
}

const names = (objects: { name: string }[]) => objects.map((o) => o.name).sort();
const hasCluster = async (cp: EmbeddedControlPlane, name: string) =>
  names(await cp.listClusters()).includes(name);
const idle = { runs_in_flight: 0, actions_in_flight: 0 };

/** The mutating call a step made (the last one, in case it was retried). */
function callOf(cp: RecordingControlPlane, plan: Plan, id: string): CallRecord | undefined {
  const step = plan.steps.find((s) => s.id === id)!;
  const method: Record<string, string> = {
    create_pool: 'createPool',
    delete_pool: 'deletePool',
    register_cluster: 'registerCluster',
    update_cluster: 'updateCluster',
    delete_cluster: 'deleteCluster',
    create_queue: 'createQueue',
    update_queue: 'updateQueue',
    set_assignment: 'setAssignment',
    delete_assignment: 'deleteAssignment',
  };
  const subject = step.target.slice(step.target.indexOf('/') + 1);
  return cp.calls.filter((c) => c.method === method[step.op] && c.subject === subject).at(-1);
}

/** Every step's call started after every call of the steps it depends on had ended. */
function expectDependenciesHonoured(cp: RecordingControlPlane, plan: Plan) {
  for (const step of plan.steps) {
    if (step.op === 'wait_idle') continue;
    const call = callOf(cp, plan, step.id);
    if (!call) continue;
    for (const dep of step.depends_on) {
      const depStep = plan.steps.find((s) => s.id === dep)!;
      if (depStep.op === 'wait_idle') continue;
      const depCall = callOf(cp, plan, dep);
      expect(depCall, `${dep} ran before ${step.id}`).toBeDefined();
      expect(
        call.start,
        `${step.id} (${step.target}) starts after ${dep} (${depStep.target}) ends`,
      ).toBeGreaterThanOrEqual(depCall!.end);
    }
  }
}

/** A realistic graph: move work from cluster `old-1` (pool legacy) to new pool `prod`. */
function migrationPlan(): Plan {
  const steps: StepSpec[] = [
    pool('s1', 'prod'),
    {
      id: 's2',
      op: 'register_cluster',
      args: { name: 'prod-1', pool: 'prod' },
      depends_on: ['s1'],
    },
    {
      id: 's3',
      op: 'register_cluster',
      args: { name: 'prod-2', pool: 'prod' },
      depends_on: ['s1'],
    },
    {
      id: 's4',
      op: 'create_queue',
      args: { name: 'gpu', ...queueSpec('prod', ['prod-1', 'prod-2']) },
      depends_on: ['s1', 's2', 's3'],
    },
    { id: 's5', op: 'update_queue', args: { name: 'batch', ...queueSpec('legacy', ['old-2']) } },
    {
      id: 's6',
      op: 'wait_idle',
      args: { queues: ['old-1'], cluster: 'old-1' },
      depends_on: ['s5'],
    },
    { id: 's7', op: 'delete_cluster', args: { name: 'old-1' }, depends_on: ['s5', 's6'] },
    {
      id: 's8',
      op: 'set_assignment',
      args: { project: 'p', domain: 'production', workflow: null, pool: 'prod' },
      depends_on: ['s1'],
    },
  ];
  return makePlan(steps, {
    'ClusterPool/prod': 'create',
    'Cluster/prod-1': 'create',
    'Cluster/prod-2': 'create',
    'Cluster/old-1': 'delete',
    'Queue/gpu': 'create',
    'Queue/batch': 'update',
    'Queue/stuck': 'blocked',
    'PoolAssignment/p/production': 'create',
  });
}

async function seededLegacy(): Promise<EmbeddedControlPlane> {
  const mem = await embedded();
  await mem.createPool('legacy', CONTRACT('legacy-bucket'));
  await mem.registerCluster({ name: 'old-1', pool: 'legacy' });
  await mem.registerCluster({ name: 'old-2', pool: 'legacy' });
  await mem.createQueue({ name: 'batch', ...queueSpec('legacy', ['old-1', 'old-2']) });
  return mem;
}

describe('executePlan: order (plan.md Steps and order)', () => {
  it('starts every step only after the steps it depends on finished (P1 pools first, C8/C9 repoint and wait before delete)', async () => {
    const mem = await seededLegacy();
    const cp = recording(mem, { latencyMs: 15 });
    const plan = migrationPlan();
    const result = await executePlan(plan, cp, { parallelism: 8, pollIntervalMs: FAST_POLL });
    expect(result.ok).toBe(true);
    expect(result.steps.map((s) => s.status)).toEqual(Array(plan.steps.length).fill('done'));
    expectDependenciesHonoured(cp, plan);
    // The wait polled the metrics of the co-named queue before the delete was sent.
    const metrics = cp.calls.filter((c) => c.method === 'queueMetrics' && c.subject === 'old-1');
    expect(metrics.length).toBeGreaterThan(0);
    expect(callOf(cp, plan, 's7')!.start).toBeGreaterThanOrEqual(metrics.at(-1)!.end);
    expect(result.counts).toEqual({
      create: 5,
      update: 1,
      replace: 0,
      delete: 1,
      blocked: 1,
      side_effects: 0,
    });
    expect(await hasCluster(mem, 'old-1')).toBe(false);
    expect((await mem.getQueue('batch')).clusters).toEqual(['old-2']);
  });

  it('deletes a replaced cluster (C7) before registering it again, and counts one replacement', async () => {
    const mem = await seededLegacy();
    await mem.createPool('prod', CONTRACT('prod-bucket'));
    const cp = recording(mem, { latencyMs: 5 });
    const plan = makePlan(
      [
        {
          id: 's1',
          op: 'update_queue',
          args: { name: 'batch', ...queueSpec('legacy', ['old-2']) },
        },
        {
          id: 's2',
          op: 'wait_idle',
          args: { queues: ['old-1'], cluster: 'old-1' },
          depends_on: ['s1'],
        },
        { id: 's3', op: 'delete_cluster', args: { name: 'old-1' }, depends_on: ['s2'] },
        {
          id: 's4',
          op: 'register_cluster',
          args: { name: 'old-1', pool: 'prod' },
          depends_on: ['s3'],
        },
      ],
      { 'Cluster/old-1': 'replace', 'Queue/batch': 'update' },
    );
    const result = await executePlan(plan, cp, { pollIntervalMs: FAST_POLL });
    expect(result.ok).toBe(true);
    const del = callOf(cp, plan, 's3')!;
    const reg = callOf(cp, plan, 's4')!;
    expect(reg.start).toBeGreaterThanOrEqual(del.end);
    expect((await mem.getCluster('old-1')).pool).toBe('prod');
    expect(result.counts.replace).toBe(1);
  });

  it('runs a pool delete (P5) only after the clusters in it are gone', async () => {
    const mem = await seededLegacy();
    // Queues pin the pool (P5), so this test uses a fresh pool whose only user is a cluster
    // and lets the co-named queue be pointed elsewhere first: here we check the order only.
    await mem.createPool('tmp', CONTRACT('tmp-bucket'));
    const plan = makePlan([
      {
        id: 's1',
        op: 'set_assignment',
        args: { project: 'x', domain: 'd', workflow: null, pool: 'tmp' },
      },
      {
        id: 's2',
        op: 'delete_assignment',
        args: { project: 'x', domain: 'd', workflow: null },
        depends_on: ['s1'],
      },
      { id: 's3', op: 'delete_pool', args: { name: 'tmp' }, depends_on: ['s2'] },
    ]);
    const cp = recording(mem, { latencyMs: 5 });
    const result = await executePlan(plan, cp);
    expect(result.ok).toBe(true);
    expectDependenciesHonoured(cp, plan);
    expect(names(await mem.listPools())).not.toContain('tmp');
  });
});

describe('executePlan: parallelism', () => {
  const independent = (n: number) =>
    makePlan(Array.from({ length: n }, (_, i) => pool(`s${i + 1}`, `p${i}`)));

  it('overlaps independent steps up to the limit and never beyond', async () => {
    const cp = recording(await embedded(), { latencyMs: 30 });
    const result = await executePlan(independent(20), cp, { parallelism: 4 });
    expect(result.ok).toBe(true);
    expect(cp.maxConcurrent()).toBe(4);
  });

  it('runs one at a time with parallelism 1', async () => {
    const cp = recording(await embedded(), { latencyMs: 5 });
    await executePlan(independent(6), cp, { parallelism: 1 });
    expect(cp.maxConcurrent()).toBe(1);
  });

  it('defaults to 8', async () => {
    const cp = recording(await embedded(), { latencyMs: 30 });
    await executePlan(independent(20), cp);
    expect(cp.maxConcurrent()).toBe(8);
  });

  it('refuses a parallelism that is not a whole number ≥ 1', async () => {
    await expect(executePlan(independent(1), await embedded(), { parallelism: 0 })).rejects.toThrow(
      /parallelism must be a whole number/,
    );
  });
});

describe('executePlan: failures', () => {
  it('stops new steps after a permanent error, lets running steps finish, reports done/failed/not_run; a re-run converges', async () => {
    const mem = await embedded();
    const cp = recording(mem, { latencyMs: 20 });
    const plan = makePlan(
      [
        pool('s1', 'a'),
        pool('s2', 'b'),
        { id: 's3', op: 'register_cluster', args: { name: 'a-1', pool: 'a' }, depends_on: ['s1'] },
        { id: 's4', op: 'register_cluster', args: { name: 'b-1', pool: 'b' }, depends_on: ['s2'] },
        {
          id: 's5',
          op: 'create_queue',
          args: { name: 'qa', ...queueSpec('a', ['a-1']) },
          depends_on: ['s3'],
        },
        pool('s6', 'c'),
      ],
      {
        'ClusterPool/a': 'create',
        'ClusterPool/b': 'create',
        'ClusterPool/c': 'create',
        'Cluster/a-1': 'create',
        'Cluster/b-1': 'create',
        'Queue/qa': 'create',
      },
    );
    let fail = true;
    cp.inject = (method, subject) =>
      fail && method === 'registerCluster' && subject === 'a-1'
        ? new ControlPlaneError(
            'INVALID_ARGUMENT',
            'cluster a-1 rejected for the test',
            'Cluster/a-1',
            'C4',
          )
        : null;
    const events: ApplyEvent[] = [];
    const first = await executePlan(plan, cp, { parallelism: 2, onEvent: (e) => events.push(e) });
    const status = Object.fromEntries(first.steps.map((s) => [s.id, s.status]));
    // s1, s2 run together; then s3 (fails) and s4 (already running when s3 fails) run together.
    expect(status).toEqual({
      s1: 'done',
      s2: 'done',
      s3: 'failed',
      s4: 'done',
      s5: 'not_run',
      s6: 'not_run',
    });
    const failed = first.steps.find((s) => s.id === 's3')!;
    expect(failed.error).toEqual({
      code: 'INVALID_ARGUMENT',
      message: 'cluster a-1 rejected for the test',
      rule: 'C4',
    });
    expect(first.steps.find((s) => s.id === 's5')!.duration_ms).toBeNull();
    expect(first.ok).toBe(false);
    expect(first.counts).toEqual({
      create: 3,
      update: 0,
      replace: 0,
      delete: 0,
      blocked: 0,
      side_effects: 0,
    });
    expect(events.filter((e) => e.type === 'stopping')).toEqual([
      { type: 'stopping', reason: 'failure' },
    ]);

    // Same plan again (as after a crash): what was done is recognised, nothing is created twice.
    fail = false;
    const before = cp.calls.length;
    const second = await executePlan(plan, cp, { parallelism: 2 });
    expect(second.ok).toBe(true);
    const notes = Object.fromEntries(second.steps.map((s) => [s.id, s.note]));
    expect(notes).toMatchObject({
      s1: 'already exists',
      s2: 'already exists',
      s4: 'already registered',
      s3: null,
      s6: null,
    });
    expect(names(await mem.listPools())).toEqual(['a', 'b', 'c', 'default']);
    expect(names(await mem.listClusters())).toEqual(['a-1', 'b-1']);
    expect(
      cp.calls
        .slice(before)
        .filter((c) => c.ok && c.method === 'createPool')
        .map((c) => c.subject),
    ).toEqual(['c']);
  });

  it('a refusal the plan could not see (FAILED_PRECONDITION) stops only the steps that depend on it', async () => {
    const mem = await embedded();
    const cp = recording(mem, { latencyMs: 5 });
    const plan = makePlan(
      [
        pool('s1', 'a'),
        { id: 's2', op: 'register_cluster', args: { name: 'a-1', pool: 'a' }, depends_on: ['s1'] },
        {
          id: 's3',
          op: 'create_queue',
          args: { name: 'qa', ...queueSpec('a', ['a-1']) },
          depends_on: ['s2'],
        },
        pool('s4', 'c'),
      ],
      {
        'ClusterPool/a': 'create',
        'ClusterPool/c': 'create',
        'Cluster/a-1': 'create',
        'Queue/qa': 'create',
      },
    );
    cp.inject = (method, subject) =>
      method === 'registerCluster' && subject === 'a-1'
        ? new ControlPlaneError('FAILED_PRECONDITION', 'apps are assigned', 'Cluster/a-1', null)
        : null;
    const events: ApplyEvent[] = [];
    const run = await executePlan(plan, cp, { parallelism: 1, onEvent: (e) => events.push(e) });
    expect(Object.fromEntries(run.steps.map((s) => [s.id, s.status]))).toEqual({
      s1: 'done',
      s2: 'failed',
      s3: 'not_run',
      s4: 'done',
    });
    expect(run.ok).toBe(false);
    expect(events.some((e) => e.type === 'stopping')).toBe(false);
  });
  it('treats delete of a missing object as done, but a create that meets a different live object as a conflict', async () => {
    const mem = await embedded();
    await mem.createPool('a', CONTRACT('other-bucket'));
    const plan = makePlan([
      { id: 's1', op: 'delete_cluster', args: { name: 'gone' } },
      { id: 's2', op: 'delete_assignment', args: { project: 'p', domain: 'd', workflow: 'wf' } },
      { id: 's3', op: 'delete_pool', args: { name: 'gone' } },
      pool('s4', 'a', ['s1', 's2', 's3']),
    ]);
    const result = await executePlan(plan, mem);
    expect(result.steps.map((s) => [s.status, s.note])).toEqual([
      ['done', 'already deleted'],
      ['done', 'already deleted'],
      ['done', 'already deleted'],
      ['failed', null],
    ]);
    expect(result.steps[3]!.error!.code).toBe('CONFLICT');
    expect(result.steps[3]!.error!.message).toMatch(
      /ClusterPool\/a already exists, made by another client, with a different contract: nothing was changed/,
    );
  });

  it('C7: registering a name that lives in another pool fails with the control plane message', async () => {
    const mem = await seededLegacy();
    await mem.createPool('prod', CONTRACT('prod-bucket'));
    const plan = makePlan([
      { id: 's1', op: 'register_cluster', args: { name: 'old-1', pool: 'prod' } },
    ]);
    const result = await executePlan(plan, mem);
    expect(result.steps[0]!.status).toBe('failed');
    expect(result.steps[0]!.error).toMatchObject({ code: 'FAILED_PRECONDITION', rule: 'C7' });
  });

  it('a create_queue that finds the same queue already there is done; a different one is a conflict', async () => {
    const mem = await seededLegacy();
    const same = makePlan([
      {
        id: 's1',
        op: 'create_queue',
        args: { name: 'batch', ...queueSpec('legacy', ['old-2', 'old-1']) },
      },
    ]);
    expect((await executePlan(same, mem)).steps[0]).toMatchObject({
      status: 'done',
      note: 'already exists',
    });
    const other = makePlan([
      {
        id: 's1',
        op: 'create_queue',
        args: { name: 'batch', ...queueSpec('legacy', ['old-1'], { run_concurrency: 5 }) },
      },
    ]);
    const result = await executePlan(other, mem);
    expect(result.steps[0]!.error!.message).toMatch(
      /Queue\/batch already exists, made by another client, with a different run_concurrency, clusters/,
    );
  });
});

describe('executePlan: wait_idle (C9, Q7)', () => {
  const deletePlan = () =>
    makePlan(
      [
        { id: 's1', op: 'wait_idle', args: { queues: ['old-1', 'batch'], cluster: 'old-1' } },
        { id: 's2', op: 'delete_cluster', args: { name: 'old-1' }, depends_on: ['s1'] },
      ],
      { 'Cluster/old-1': 'delete' },
    );

  it('polls until no run and no action is in flight, reporting progress, then deletes', async () => {
    const mem = await seededLegacy();
    await mem.setQueueActivity('old-1', { runs_in_flight: 2, actions_in_flight: 7 });
    await mem.setQueueActivity('batch', { runs_in_flight: 0, actions_in_flight: 1 });
    const events: ApplyEvent[] = [];
    const plan = deletePlan();
    // Polls decide, not the clock: batch goes idle once reported busy, old-1 once reported twice.
    const reported = new Map<string, number>();
    const result = await executePlan(plan, mem, {
      pollIntervalMs: FAST_POLL,
      onEvent: (e) => {
        events.push(e);
        if (e.type !== 'wait_progress') return;
        reported.set(e.queue, (reported.get(e.queue) ?? 0) + 1);
        if (e.queue === 'batch' || reported.get(e.queue) === 2)
          void mem.setQueueActivity(e.queue, idle);
      },
    });
    expect(result.ok).toBe(true);
    const progress = events.filter((e) => e.type === 'wait_progress');
    expect(progress[0]).toMatchObject({ queue: 'old-1', runs_in_flight: 2, actions_in_flight: 7 });
    expect(progress.some((e) => e.type === 'wait_progress' && e.queue === 'batch')).toBe(true);
    const elapsed = progress.map((e) => (e.type === 'wait_progress' ? e.elapsed_ms : 0));
    expect(elapsed).toEqual([...elapsed].sort((a, b) => a - b));
    expect(await hasCluster(mem, 'old-1')).toBe(false);
    expect(result.counts.delete).toBe(1);
    // What the inventory forgets: the delete done.
    expect(result.applied).toEqual([
      { address: 'Cluster/old-1', action: 'delete', side_effect: false },
    ]);
    expect(deletedBy(plan, result)).toEqual(new Set(['Cluster/old-1']));
  });

  it('fails on timeout and does not run the dependent delete', async () => {
    const mem = await seededLegacy();
    await mem.setQueueActivity('old-1', { runs_in_flight: 1, actions_in_flight: 3 });
    const plan = deletePlan();
    const result = await executePlan(plan, mem, {
      waitTimeoutMs: 150,
      pollIntervalMs: FAST_POLL,
    });
    expect(result.ok).toBe(false);
    expect(result.steps[0]).toMatchObject({
      status: 'failed',
      error: { code: 'WAIT_TIMEOUT', rule: 'C9' },
    });
    expect(result.steps[0]!.error!.message).toContain('old-1 (1 runs, 3 actions in flight)');
    expect(result.steps[1]!.status).toBe('not_run');
    expect(await hasCluster(mem, 'old-1')).toBe(true);
    expect(result.counts.delete).toBe(0);
    expect(result.applied).toEqual([]);
    expect(deletedBy(plan, result)).toEqual(new Set());
  });

  it('a plan without deletes deleted nothing: its applied changes are not made for the inventory', () => {
    const plan = makePlan([pool('s1', 'a')], {
      'ClusterPool/a': 'create',
    });
    const result = {
      get applied(): never {
        throw new Error('applied read');
      },
    };
    expect(deletedBy(plan, result)).toEqual(new Set());
  });
});

describe('executePlan: abort and refusal', () => {
  it('on abort starts no new step, lets running steps finish and reports the rest not_run', async () => {
    const mem = await embedded();
    const cp = recording(mem, { latencyMs: 40 });
    const plan = makePlan(Array.from({ length: 10 }, (_, i) => pool(`s${i + 1}`, `p${i}`)));
    const ac = new AbortController();
    const events: ApplyEvent[] = [];
    const run = executePlan(plan, cp, {
      parallelism: 3,
      signal: ac.signal,
      onEvent: (e) => {
        events.push(e);
        if (e.type === 'step_started' && e.step.id === 's3') ac.abort();
      },
    });
    const result = await run;
    expect(result.aborted).toBe(true);
    expect(result.steps.filter((s) => s.status === 'done').map((s) => s.id)).toEqual([
      's1',
      's2',
      's3',
    ]);
    expect(result.steps.filter((s) => s.status === 'not_run')).toHaveLength(7);
    expect(await mem.listPools()).toHaveLength(4);
  });

  it('an abort ends a running wait_idle without deleting', async () => {
    const mem = await seededLegacy();
    await mem.setQueueActivity('old-1', { runs_in_flight: 1, actions_in_flight: 1 });
    const ac = new AbortController();
    const plan = makePlan([
      { id: 's1', op: 'wait_idle', args: { queues: ['old-1'], cluster: 'old-1' } },
      { id: 's2', op: 'delete_cluster', args: { name: 'old-1' }, depends_on: ['s1'] },
    ]);
    // Aborted once the wait has polled old-1 busy: mid-wait, whatever this machine's speed.
    const result = await executePlan(plan, mem, {
      signal: ac.signal,
      pollIntervalMs: FAST_POLL,
      onEvent: (e) => e.type === 'wait_progress' && ac.abort(),
    });
    expect(result.aborted).toBe(true);
    expect(result.steps.map((s) => s.status)).toEqual(['failed', 'not_run']);
    expect(result.steps[0]!.error!.code).toBe('ABORTED');
    expect(await hasCluster(mem, 'old-1')).toBe(true);
  });

  it('refuses a plan with errors before any call', async () => {
    const cp = recording(await embedded());
    const plan = { ...makePlan([pool('s1', 'a')]) };
    plan.errors = [
      { code: 'V3', address: 'Queue/q', message: 'unknown cluster x', location: 'queues.yaml:4:7' },
    ];
    await expect(executePlan(plan, cp)).rejects.toThrow(ApplyRefusedError);
    await expect(executePlan(plan, cp)).rejects.toThrow(/queues\.yaml:4:7 V3: unknown cluster x/);
    expect(cp.calls).toHaveLength(0);
  });

  it('refuses a graph with a cycle or an unknown dependency', async () => {
    const cycle = makePlan([pool('s1', 'a', ['s2']), pool('s2', 'b', ['s1'])]);
    await expect(executePlan(cycle, await embedded())).rejects.toThrow(/cycle through s1, s2/);
    const dangling = makePlan([pool('s1', 'a', ['s9'])]);
    await expect(executePlan(dangling, await embedded())).rejects.toThrow(/unknown step s9/);
  });

  it('reads ids sN by their number and any other ids by name: same order, same refusals', async () => {
    // The planner's ids (s1, s2 … in plan order) are read from their text; a plan file edited by
    // hand may hold other ids, or planner-like ids out of order, and is read by name.
    for (const ids of [
      ['s1', 's2', 's3'],
      ['a', 'b', 'c'],
      ['s2', 's1', 's3'],
      ['s1', 's02', 's3'],
    ]) {
      const [x, y, z] = ids as [string, string, string];
      const cp = recording(await embedded());
      const plan = makePlan([pool(x, 'a'), pool(y, 'b', [x]), pool(z, 'c', [y, x])]);
      const result = await executePlan(plan, cp, { parallelism: 3 });
      expect(
        result.steps.map((s) => [s.id, s.status]),
        ids.join(),
      ).toEqual(ids.map((id) => [id, 'done']));
      expectDependenciesHonoured(cp, plan);
      const repeated = makePlan([pool(x, 'a'), pool(y, 'b', [x]), pool(x, 'c')]);
      await expect(executePlan(repeated, cp)).rejects.toThrow(`repeats step id ${x}`);
    }
    for (const dep of ['s0', 's01', 's4', 's', 'x1', 's1 ', 's10000000000'])
      await expect(
        executePlan(
          makePlan([pool('s1', 'a'), pool('s2', 'b', ['s1']), pool('s3', 'c', [dep])]),
          await embedded(),
        ),
        dep,
      ).rejects.toThrow(`step s3 depends on unknown step ${dep}`);
  });

  it('an empty plan is ok and makes no call', async () => {
    const cp = recording(await embedded());
    const result = await executePlan(makePlan([]), cp);
    expect(result).toMatchObject({ ok: true, aborted: false, steps: [] });
    expect(cp.calls).toHaveLength(0);
  });
});

describe('executePlan: a registration and its disable (C6) across a stop', () => {
  /**
   * Pool prod; cluster c registered, then disabled (the disable completes the registration);
   * queue q on c, ready with the disable but a step of its own.
   */
  const plan = (more: StepSpec[] = []) =>
    makePlan(
      [
        pool('s1', 'prod'),
        { id: 's2', op: 'register_cluster', args: { name: 'c', pool: 'prod' }, depends_on: ['s1'] },
        {
          id: 's3',
          op: 'update_cluster',
          args: { name: 'c', enabled: false },
          depends_on: ['s2'],
          completes_change: true,
        },
        {
          id: 's4',
          op: 'create_queue',
          args: { name: 'q', ...queueSpec('prod', ['c']) },
          depends_on: ['s2'],
        },
        ...more,
      ],
      {
        'ClusterPool/prod': 'create',
        'ClusterPool/bad': 'create',
        'Cluster/c': 'create',
        'Queue/q': 'create',
      },
    );

  /** The registration of c held until `release()`; `held` once it is. */
  async function holdingRegistration() {
    const mem = await embedded();
    const cp = recording(mem);
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    let holding!: () => void;
    const held = new Promise<void>((r) => (holding = r));
    cp.gate = (method, subject) =>
      method === 'registerCluster' && subject === 'c' ? (holding(), released) : null;
    const enabled = async () => (await mem.listClusters()).find((c) => c.name === 'c')?.enabled;
    return { mem, cp, held, release, enabled };
  }

  const statuses = (r: { steps: { id: string; status: string }[] }) =>
    Object.fromEntries(r.steps.map((s) => [s.id, s.status]));

  it('stopped (Ctrl-C) while the registration is in flight: once it is done its disable runs, no other step starts; both counted', async () => {
    const { cp, held, release, enabled } = await holdingRegistration();
    const stop = new AbortController();
    const events: ApplyEvent[] = [];
    const run = executePlan(plan(), cp, {
      parallelism: 2,
      signal: stop.signal,
      onEvent: (e) => events.push(e),
    });
    await held;
    stop.abort();
    release();
    const result = await run;
    expect(statuses(result)).toEqual({ s1: 'done', s2: 'done', s3: 'done', s4: 'not_run' });
    expect(result.aborted).toBe(true);
    expect(await enabled()).toBe(false);
    expect(result.counts).toMatchObject({ create: 2 });
    expect(result.applied.map((a) => a.address)).toEqual(['ClusterPool/prod', 'Cluster/c']);
    const order = events.map((e) => (e.type === 'step_started' ? e.step.id : e.type));
    expect(order.indexOf('s3')).toBeGreaterThan(order.indexOf('stopping'));
  });

  it('another step failing while the registration is in flight: its disable runs all the same', async () => {
    const { cp, held, release, enabled } = await holdingRegistration();
    cp.inject = (method, subject) =>
      method === 'createPool' && subject === 'bad'
        ? new ControlPlaneError('INVALID_ARGUMENT', 'pool bad rejected for the test', null, 'P2')
        : null;
    let stopped!: () => void;
    const stopping = new Promise<void>((r) => (stopped = r));
    // s5 starts beside the held registration (parallelism 2) and fails at once.
    const run = executePlan(plan([pool('s5', 'bad', ['s1'])]), cp, {
      parallelism: 2,
      onEvent: (e) => e.type === 'stopping' && stopped(),
    });
    await held;
    await stopping;
    release();
    const result = await run;
    expect(statuses(result)).toEqual({
      s1: 'done',
      s2: 'done',
      s3: 'done',
      s4: 'not_run',
      s5: 'failed',
    });
    expect(result.aborted).toBe(false);
    expect(await enabled()).toBe(false);
  });

  it('halted (the lock or the term gone) after a stop: not even the disable starts; the cluster registered counts as created', async () => {
    const { cp, held, release, enabled } = await holdingRegistration();
    const stop = new AbortController();
    const halt = new AbortController();
    const run = executePlan(plan(), cp, { parallelism: 2, signal: stop.signal, halt: halt.signal });
    await held;
    stop.abort();
    halt.abort();
    release();
    const result = await run;
    expect(statuses(result)).toEqual({ s1: 'done', s2: 'done', s3: 'not_run', s4: 'not_run' });
    expect(await enabled()).toBe(true);
    expect(result.counts).toMatchObject({ create: 2 });
    expect(result.applied.map((a) => a.address)).toEqual(['ClusterPool/prod', 'Cluster/c']);
  });
});

describe('executePlan: a change made in part', () => {
  const failing = (method: string) => (m: string) =>
    m === method ? new ControlPlaneError('UNAVAILABLE', `${m} failed for the test`, null) : null;

  it('a queue drained whose delete failed: in `applied` as partial of its delete, counted nowhere, not deleted for the inventory', async () => {
    const mem = await embedded({ ...BASELINE_CAPABILITIES, drain: true, queue_delete: true });
    await mem.createPool('prod', CONTRACT('prod-bucket'));
    await mem.createQueue({ name: 'q', ...queueSpec('prod', []) });
    const cp = recording(mem);
    cp.inject = failing('deleteQueue');
    const plan = makePlan(
      [
        { id: 's1', op: 'drain_queue', args: { name: 'q' } },
        {
          id: 's2',
          op: 'wait_drained',
          args: { queues: ['q'] },
          target: 'Queue/q',
          depends_on: ['s1'],
        },
        { id: 's3', op: 'delete_queue', args: { name: 'q' }, depends_on: ['s2'] },
      ],
      { 'Queue/q': 'delete' },
    );
    const result = await executePlan(plan, cp, { pollIntervalMs: FAST_POLL });
    expect(result.steps.map((st) => st.status)).toEqual(['done', 'done', 'failed']);
    expect(result.counts).toMatchObject({ create: 0, update: 0, replace: 0, delete: 0 });
    expect(result.applied).toEqual([
      { address: 'Queue/q', action: 'partial', side_effect: false, partial_of: 'delete' },
    ]);
    // Still live: the inventory keeps it, and the next plan deletes it.
    expect(deletedBy(plan, result)).toEqual(new Set());
  });

  it('a wait_drained on a control plane that reports no drain state fails FAILED_PRECONDITION (C9) at once, not WAIT_TIMEOUT; nothing is deleted', async () => {
    const mem = await embedded({ ...BASELINE_CAPABILITIES, drain: true, queue_delete: true });
    await mem.createPool('prod', CONTRACT('prod-bucket'));
    await mem.createQueue({ name: 'q', ...queueSpec('prod', []) });
    // A control plane whose queue reads carry no drain state (drain unsupported behind it).
    const getQueue: QueueCalls['getQueue'] = async (name) => {
      const { state: _, ...queue } = await mem.getQueue(name);
      return queue;
    };
    const part = (override: string, by: unknown) =>
      new Proxy(mem, {
        get: (target, prop) => {
          const value = prop === override ? by : (Reflect.get(target, prop, target) as unknown);
          return typeof value === 'function' ? (value as () => unknown).bind(target) : value;
        },
      });
    const cp = part('queues', part('getQueue', getQueue));
    const plan = makePlan(
      [
        { id: 's1', op: 'drain_queue', args: { name: 'q' } },
        {
          id: 's2',
          op: 'wait_drained',
          args: { queues: ['q'] },
          target: 'Queue/q',
          depends_on: ['s1'],
        },
        { id: 's3', op: 'delete_queue', args: { name: 'q' }, depends_on: ['s2'] },
      ],
      { 'Queue/q': 'delete' },
    );
    // The timeout is far off: only a failure of its own ends the wait within the test.
    const result = await executePlan(plan, cp, { pollIntervalMs: FAST_POLL });
    expect(result.steps.map((st) => st.status)).toEqual(['done', 'failed', 'not_run']);
    expect(result.steps[1]!.error).toMatchObject({ code: 'FAILED_PRECONDITION', rule: 'C9' });
    expect(result.steps[1]!.error!.message).toMatch(
      /^Queue\/q reports no drain state.*does not support drain.*nothing was deleted or moved\. Run `poolsync plan` again/,
    );
    expect(names(await mem.listQueues())).toContain('q');
  });

  it("a registration whose disable is not marked (an earlier build's plan) and failed: partial of its create", async () => {
    const cp = recording(await embedded());
    cp.inject = failing('updateCluster');
    const plan = makePlan(
      [
        pool('s1', 'prod'),
        { id: 's2', op: 'register_cluster', args: { name: 'c', pool: 'prod' }, depends_on: ['s1'] },
        { id: 's3', op: 'update_cluster', args: { name: 'c', enabled: false }, depends_on: ['s2'] },
      ],
      { 'ClusterPool/prod': 'create', 'Cluster/c': 'create' },
    );
    const result = await executePlan(plan, cp);
    expect(result.counts).toMatchObject({ create: 1 });
    expect(result.applied).toEqual([
      { address: 'ClusterPool/prod', action: 'create', side_effect: false },
      { address: 'Cluster/c', action: 'partial', side_effect: false, partial_of: 'create' },
    ]);
  });
});

describe('executePlan: observers', () => {
  it('an onEvent that throws does not disturb the apply', async () => {
    const mem = await embedded();
    const plan = makePlan([pool('s1', 'a'), pool('s2', 'b', ['s1'])]);
    const result = await executePlan(plan, mem, {
      onEvent: () => {
        throw new Error('stdout closed');
      },
    });
    expect(result.ok).toBe(true);
    expect(names(await mem.listPools())).toEqual(['a', 'b', 'default']);
  });
});
