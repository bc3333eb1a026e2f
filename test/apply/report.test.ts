import { describe, expect, it } from 'vitest';
import { NO_COLOR, progressPrinter, renderApplyResult } from '../../src/apply/report.js';
import type { ApplyResult, StepResult, StepStatus } from '../../src/apply/types.js';
import type { Step } from '../../src/model/plan.js';
import { makePlan } from './helpers/plans.js';

const wait: Step = {
  id: 's4',
  op: 'wait_idle',
  target: 'Cluster/old-1',
  depends_on: [],
  args: { queues: ['old-1'], cluster: 'old-1' },
};

/** A step's result as the executor gives it: a failed one UNAVAILABLE, `gone`. */
const step = (id: string, op: Step['op'], target: string, status: StepStatus): StepResult => ({
  id,
  op,
  target,
  status,
  duration_ms: status === 'not_run' ? null : 1,
  error: status === 'failed' ? { code: 'UNAVAILABLE', message: 'gone', rule: null } : null,
  note: null,
});

describe('progress lines', () => {
  it('a wait says why it watches each queue; a plan saved before it said so names them only', () => {
    const lines: string[] = [];
    const print = progressPrinter((l) => lines.push(l));
    const why = { old: 'retired', w: 'wildcard', 'x\u001b': 'co_named' } as const;
    const queues = ['old', 'w', 'x\u001b'];
    print({ type: 'step_started', step: { ...wait, args: { queues, cluster: 'old-1', why } } });
    print({ type: 'step_started', step: wait });
    expect(lines).toEqual([
      'Cluster/old-1: Waiting for in-flight work to finish on queues old (retired in its pool), w (`*` of its pool, which this plan empties), x\\x1b (its co-named queue)... [s4]',
      'Cluster/old-1: Waiting for in-flight work to finish on queues old-1... [s4]',
    ]);
  });

  it('one line per start and end with the duration; failures carry code, rule and message', () => {
    const lines: string[] = [];
    const print = progressPrinter((l) => lines.push(l));
    const step: Step = {
      id: 's1',
      op: 'create_pool',
      target: 'ClusterPool/gpu',
      depends_on: [],
      args: { name: 'gpu', contract: null as never },
    };
    print({ type: 'step_started', step });
    print({
      type: 'step_finished',
      step,
      status: 'done',
      duration_ms: 1500,
      error: null,
      note: 'already exists',
    });
    print({
      type: 'step_finished',
      step,
      status: 'failed',
      duration_ms: 12,
      error: { code: 'FAILED_PRECONDITION', message: 'pool gpu is referenced', rule: 'P5' },
      note: null,
    });
    expect(lines).toEqual([
      'ClusterPool/gpu: Creating... [s1]',
      'ClusterPool/gpu: Creation complete after 1.5s (already exists) [s1]',
      'ClusterPool/gpu: Creation failed after 12ms [s1]: FAILED_PRECONDITION (P5): pool gpu is referenced',
    ]);
  });

  it("a step started once the apply is stopping (a registration's disable, C6) says why it starts", () => {
    const lines: string[] = [];
    const print = progressPrinter((l) => lines.push(l));
    const step: Step = {
      id: 's3',
      op: 'update_cluster',
      target: 'Cluster/c',
      depends_on: ['s2'],
      args: { name: 'c', enabled: false },
      completes_change: true,
    };
    print({ type: 'step_started', step });
    print({ type: 'stopping', reason: 'aborted' });
    print({ type: 'step_started', step });
    expect(lines).toEqual([
      'Cluster/c: Updating... [s3]',
      'Interrupted: starting no new step; waiting for the running ones to finish...',
      'Cluster/c: Updating... [s3] (disabling it although the apply is stopping: it was just registered, and the repository declares it disabled)',
    ]);
  });

  it('reports a busy queue at most every interval (Q7 progress)', () => {
    const lines: string[] = [];
    const print = progressPrinter((l) => lines.push(l));
    for (const elapsed of [0, 3000, 9000, 10_500, 15_000, 21_000]) {
      print({
        type: 'wait_progress',
        step: wait,
        queue: 'old-1',
        runs_in_flight: 2,
        actions_in_flight: 5,
        elapsed_ms: elapsed,
      });
    }
    expect(lines).toEqual([
      'Cluster/old-1: still waiting: queue old-1 has 2 runs, 5 actions in flight (0ms elapsed)',
      'Cluster/old-1: still waiting: queue old-1 has 2 runs, 5 actions in flight (11s elapsed)',
      'Cluster/old-1: still waiting: queue old-1 has 2 runs, 5 actions in flight (21s elapsed)',
    ]);
  });

  it('shows only what was measured: a drain wait its state, never an in-flight count', () => {
    const lines: string[] = [];
    const print = progressPrinter((l) => lines.push(l));
    const base = { type: 'wait_progress', step: wait, elapsed_ms: 0 } as const;
    print({
      ...base,
      queue: 'a',
      runs_in_flight: null,
      actions_in_flight: null,
      state: 'draining',
    });
    print({ ...base, queue: 'b', runs_in_flight: null, actions_in_flight: null, state: null });
    print({ ...base, queue: 'c', runs_in_flight: null, actions_in_flight: null });
    expect(lines).toEqual([
      'Cluster/old-1: still waiting: queue a is draining (0ms elapsed)',
      'Cluster/old-1: still waiting: queue b has its drain state unavailable (0ms elapsed)',
      'Cluster/old-1: still waiting: queue c has metrics unavailable (0ms elapsed)',
    ]);
  });
});

describe('final report', () => {
  /** The plan's changes are read only for a change made in part. */
  const NO_CHANGES = { changes: [] };
  const base = (over: Partial<ApplyResult>): ApplyResult => ({
    ok: true,
    manual: [],
    aborted: false,
    steps: [],
    counts: { create: 2, update: 1, replace: 1, delete: 0, blocked: 3, side_effects: 0 },
    applied: [],
    duration_ms: 10,
    ...over,
  });

  it('success: the closing summary line', () => {
    expect(renderApplyResult(base({}), NO_CHANGES)).toBe(
      'Apply complete: 2 created, 1 updated, 1 replaced, 0 deleted; 3 blocked.\n',
    );
    const withSideEffects = base({
      counts: { create: 2, update: 0, replace: 0, delete: 0, blocked: 0, side_effects: 2 },
    });
    expect(renderApplyResult(withSideEffects, NO_CHANGES)).toBe(
      'Apply complete: 2 created, 0 updated, 0 replaced, 0 deleted; 0 blocked; 2 more changes made by the control plane itself (marked # in the plan).\n',
    );
  });

  it('failure: every step accounted for', () => {
    const text = renderApplyResult(
      base({
        ok: false,
        steps: [
          {
            id: 's1',
            op: 'create_pool',
            target: 'ClusterPool/a',
            status: 'done',
            duration_ms: 3,
            error: null,
            note: null,
          },
          {
            id: 's2',
            op: 'register_cluster',
            target: 'Cluster/a-1',
            status: 'failed',
            duration_ms: 4,
            error: { code: 'NOT_FOUND', message: 'pool a2 not found', rule: 'C1' },
            note: null,
          },
          {
            id: 's3',
            op: 'create_queue',
            target: 'Queue/q',
            status: 'not_run',
            duration_ms: null,
            error: null,
            note: null,
          },
        ],
      }),
      NO_CHANGES,
    );
    expect(text).toContain('Apply failed: 1 of 3 steps done, 1 failed, 1 not run.');
    expect(text).toContain(
      '  ✗ s2 register_cluster Cluster/a-1: NOT_FOUND (C1): pool a2 not found',
    );
    expect(text).toContain('  - s3 create_queue Queue/q: not run');
    expect(text).toContain('Applied so far: 2 created');
  });

  it('interrupted: names each change made; a cluster registered whose disable (C6) did not run is said to be still enabled', () => {
    const text = renderApplyResult(
      base({
        ok: false,
        aborted: true,
        steps: [
          step('s1', 'create_pool', 'ClusterPool/prod', 'done'),
          step('s2', 'register_cluster', 'Cluster/prod-eu-west-1', 'done'),
          step('s3', 'update_cluster', 'Cluster/prod-eu-west-1', 'not_run'),
          step('s4', 'create_queue', 'Queue/eu-residency', 'not_run'),
        ],
        counts: { create: 2, update: 0, replace: 0, delete: 0, blocked: 0, side_effects: 1 },
        applied: [
          { address: 'ClusterPool/prod', action: 'create', side_effect: false },
          { address: 'Cluster/prod-eu-west-1', action: 'create', side_effect: false },
          { address: 'Queue/prod-eu-west-1', action: 'create', side_effect: true },
        ],
      }),
      NO_CHANGES,
    );
    const lines = text.trimEnd().split('\n');
    expect(lines[0]).toBe('Apply interrupted: 2 of 4 steps done, 0 failed, 2 not run.');
    const tally = lines.indexOf(
      'Applied so far: 2 created, 0 updated, 0 replaced, 0 deleted; 0 blocked; 1 more change made by the control plane itself (marked # in the plan).',
    );
    expect(lines.slice(tally + 1, tally + 3)).toEqual([
      '  ✓ ClusterPool/prod: created',
      '  ✓ Cluster/prod-eu-west-1: created (registered, but still enabled: its disable s3 did not run; the next apply disables it)',
    ]);
  });

  it('stopped by a person’s signal: no cause to fix, what to do named', () => {
    const result = base({
      ok: false,
      aborted: true,
      steps: [step('s1', 'create_pool', 'ClusterPool/prod', 'not_run')],
    });
    const last = (...args: [boolean, NodeJS.Signals?]) =>
      renderApplyResult(result, NO_CHANGES, NO_COLOR, ...args)
        .trimEnd()
        .split('\n')
        .at(-1);
    expect(last(false, 'SIGINT')).toBe(
      'Nothing was rolled back. Stopped by Ctrl-C (SIGINT): to finish, apply again: every step recognises work already done, so the next apply continues from here.',
    );
    expect(last(true, 'SIGTERM')).toMatch(
      /^Nothing was rolled back\. Stopped by SIGTERM: to finish, plan and apply again \(this saved plan is now stale\): /,
    );
    // Stopped otherwise (the lock lost): the cause is to be fixed.
    expect(last(false)).toMatch(/^Nothing was rolled back\. Fix the cause and apply again: /);
  });

  it('a change made in part is said as it is left: a queue drained with its pool, any other by its steps; named past 20', () => {
    const created = Array.from({ length: 25 }, (_, i) => `ClusterPool/p${i}`);
    const plan = makePlan([], {
      ...Object.fromEntries(created.map((a) => [a, 'create' as const])),
      'Queue/batch': 'update',
      'Cluster/c': 'replace',
    });
    const changes = plan.changes.map((c) =>
      c.address === 'Queue/batch' ? { ...c, before: { pool: 'prod' }, after: { pool: 'dev' } } : c,
    );
    const text = renderApplyResult(
      base({
        ok: false,
        steps: [
          ...created.map((a, i) => step(`p${i}`, 'create_pool', a, 'done')),
          step('s1', 'drain_queue', 'Queue/batch', 'done'),
          step('s2', 'wait_drained', 'Queue/batch', 'done'),
          step('s3', 'move_queue', 'Queue/batch', 'failed'),
          step('s4', 'activate_queue', 'Queue/batch', 'not_run'),
          step('s5', 'delete_cluster', 'Cluster/c', 'done'),
          step('s6', 'register_cluster', 'Cluster/c', 'not_run'),
        ],
        counts: { create: 25, update: 0, replace: 0, delete: 0, blocked: 0, side_effects: 0 },
        applied: [
          ...created.map((address) => ({ address, action: 'create', side_effect: false })),
          { address: 'Queue/batch', action: 'partial', side_effect: false, partial_of: 'update' },
          { address: 'Cluster/c', action: 'partial', side_effect: false, partial_of: 'replace' },
        ],
      }),
      { changes },
    );
    const lines = text.trimEnd().split('\n');
    expect(lines.filter((l) => l.startsWith('  ✓ ClusterPool/'))).toHaveLength(19);
    expect(lines).toContain('  ✓ 6 more (`--output json` lists every change applied)');
    expect(lines).toContain(
      '  ⚠ Queue/batch was left drained in pool prod (it takes no new work): apply again to finish the move',
    );
    expect(lines).toContain(
      '  ⚠ Cluster/c was only partly replaced: s5 delete_cluster done; s6 register_cluster did not run',
    );
  });

  it('stopped at a manual step: a change made in part is named as the failure report names it', () => {
    const plan = makePlan([], { 'ClusterPool/gpu': 'create', 'Cluster/c': 'replace' });
    const text = renderApplyResult(
      base({
        ok: false,
        manual: ['s2'],
        steps: [
          step('s1', 'delete_cluster', 'Cluster/c', 'done'),
          step('s2', 'register_cluster', 'Cluster/c', 'manual'),
          step('s3', 'create_pool', 'ClusterPool/gpu', 'done'),
        ],
        counts: { create: 1, update: 0, replace: 0, delete: 0, blocked: 0, side_effects: 0 },
        applied: [
          { address: 'Cluster/c', action: 'partial', side_effect: false, partial_of: 'replace' },
          { address: 'ClusterPool/gpu', action: 'create', side_effect: false },
        ],
      }),
      plan,
    );
    expect(text.trimEnd().split('\n')).toEqual([
      'Apply stopped at 1 manual step: 2 of 3 steps done, 0 waiting on a manual step.',
      '  ✋ s2 register_cluster Cluster/c: manual step',
      'Applied so far: 1 created, 0 updated, 0 replaced, 0 deleted; 0 blocked.',
      '  ⚠ Cluster/c was only partly replaced: s1 delete_cluster done; s2 register_cluster is left for you (manual)',
    ]);
  });

  it('a failed 10,000-step apply lists its failures and counts what did not run (issue 61)', () => {
    const step = (i: number, status: StepStatus): StepResult => ({
      id: `s${i}`,
      op: 'create_queue',
      target: `Queue/q${i}`,
      status,
      duration_ms: status === 'not_run' ? null : 1,
      error: status === 'failed' ? { code: 'UNAVAILABLE', message: `gone ${i}`, rule: null } : null,
      note: null,
    });
    const steps = Array.from({ length: 10_000 }, (_, i) =>
      step(i, i < 3_060 ? 'done' : i < 3_086 ? 'failed' : 'not_run'),
    );
    const text = renderApplyResult(base({ ok: false, steps }), NO_CHANGES);
    const lines = text.trimEnd().split('\n');
    expect(lines[0]).toBe('Apply failed: 3060 of 10000 steps done, 26 failed, 6914 not run.');
    expect(lines.filter((l) => l.startsWith('  ✗ s'))).toHaveLength(19);
    expect(lines).toContain('  ✗ s3060 create_queue Queue/q3060: UNAVAILABLE: gone 3060');
    expect(lines).toContain('  ✗ 7 more failed (`--output json` lists every step)');
    expect(lines).toContain('  - 6914 steps not run (`poolsync plan` shows what is left)');
    expect(lines.length).toBeLessThan(30);
  });
});
