/**
 * The outside observer's judge (test/plan/property/outside/outside.ts) fails on each thing issue 58
 * names: a promised change not made, an object the plan shows as noop, blocked, unmanaged or not
 * at all that changed, a field changed that the diff does not show, a queue left drained. Without
 * these the property and its regressions could pass whatever the control plane did.
 */
import { describe, expect, it } from 'vitest';
import type { Change, Plan } from '../../src/model/plan.js';
import { judge, leftDrained } from './property/outside/outside.js';
import type { Fields, Snapshot } from './property/outside/targets.js';

const queue = (f: Fields = {}): Fields => ({
  pool: 'default',
  clusters: ['c0'],
  run_concurrency: 0,
  state: 'active',
  ...f,
});
const snapshot = (objects: Record<string, Fields>): Snapshot => new Map(Object.entries(objects));
const change = (address: string, c: Partial<Change>): Change =>
  ({
    address,
    action: 'noop',
    before: null,
    after: null,
    diff: [],
    destructive: false,
    caused_by: null,
    ...c,
  }) as Change;
const plan = (...changes: Change[]) => ({ changes }) as Plan;
const d = (path: string, before: unknown, after: unknown) => ({
  path,
  before,
  after,
  forces_replacement: false,
});

describe('the outside observer judges what the control plane holds against the saved plan', () => {
  it('passes an update the plan shows, made as shown', () => {
    const b = snapshot({ 'Queue/q0': queue() });
    const a = snapshot({ 'Queue/q0': queue({ run_concurrency: 10 }) });
    const p = plan(
      change('Queue/q0', {
        action: 'update',
        after: { run_concurrency: 10 },
        diff: [d('run_concurrency', 0, 10)],
      }),
    );
    expect(judge(p, b, a)).toEqual([]);
  });

  it('fails a promised update that was not made, and a delete not done', () => {
    const b = snapshot({ 'Queue/q0': queue(), 'Queue/q1': queue() });
    const p = plan(
      change('Queue/q0', {
        action: 'update',
        after: { run_concurrency: 10 },
        diff: [d('run_concurrency', 0, 10)],
      }),
      change('Queue/q1', { action: 'delete', destructive: true }),
    );
    expect(judge(p, b, b)).toEqual([
      'update Queue/q0: run_concurrency is 0, the plan showed 10',
      'delete Queue/q1: still there',
    ]);
  });

  it('fails a change to an object the plan shows as noop, blocked or unmanaged, or does not list', () => {
    const b = snapshot({
      'Queue/q0': queue(),
      'Queue/q1': queue(),
      'Queue/q2': queue(),
      'Queue/q3': queue(),
    });
    const a = snapshot({
      'Queue/q0': queue({ clusters: [] }),
      'Queue/q1': queue({ clusters: [] }),
      'Queue/q2': queue({ clusters: [] }),
      'Queue/q3': queue({ clusters: [] }),
    });
    const p = plan(
      change('Queue/q0', { action: 'noop' }),
      change('Queue/q1', { action: 'blocked' }),
      change('Queue/q2', { action: 'unmanaged' }),
    );
    expect(judge(p, b, a)).toEqual([
      'Queue/q0 changed (clusters: ["c0"] → []), but the plan shows it noop',
      'Queue/q1 changed (clusters: ["c0"] → []), but the plan shows it blocked',
      'Queue/q2 changed (clusters: ["c0"] → []), but the plan shows it unmanaged',
      'Queue/q3 changed (clusters: ["c0"] → []), but the plan does not list it',
    ]);
  });

  it('fails a field the diff does not show, of a change shown as caused_by another', () => {
    const b = snapshot({ 'Queue/c0': queue() });
    const a = snapshot({ 'Queue/c0': queue({ clusters: [], state: 'drained' }) });
    const p = plan(
      change('Queue/c0', {
        action: 'blocked',
        caused_by: 'Cluster/c0',
        diff: [d('clusters', ['c0'], [])],
      }),
    );
    expect(judge(p, b, a)).toEqual([
      'Queue/c0: state: "active" → "drained" is not in the plan\'s diff (blocked)',
      'Queue/c0 is left drained (it was active)',
    ]);
  });

  it('passes a drain the diff shows, and a co-named queue drained with its disabled cluster', () => {
    const b = snapshot({
      'Queue/q0': queue(),
      'Queue/c0': queue(),
      'Cluster/c0': { enabled: true },
    });
    const a = snapshot({
      'Queue/q0': queue({ state: 'drained' }),
      'Queue/c0': queue({ state: 'drained' }),
      'Cluster/c0': { enabled: false },
    });
    const p = plan(
      change('Queue/q0', {
        action: 'update',
        after: { state: 'drained' },
        diff: [d('state', 'active', 'drained')],
      }),
      change('Cluster/c0', {
        action: 'update',
        after: { enabled: false },
        diff: [d('enabled', true, false)],
      }),
      change('Queue/c0', {
        action: 'noop',
        caused_by: 'Cluster/c0',
        diff: [d('state', 'active', 'drained')],
      }),
    );
    expect(judge(p, b, a)).toEqual([]);
  });

  it('fails a queue created drained, unless the plan shows it so', () => {
    const a = snapshot({ 'Queue/q0': queue({ state: 'drained' }) });
    const created = change('Queue/q0', { action: 'create', after: { pool: 'default' } });
    expect(judge(plan(created), snapshot({}), a)).toEqual([
      'Queue/q0 is left drained (it was not there)',
    ]);
    const shown = { ...created, diff: [d('state', null, 'drained')] };
    expect(judge(plan(shown), snapshot({}), a)).toEqual([]);
  });

  it('fails a step of the plan for a change it shows blocked (blocked sends nothing, issue 73 item 4)', () => {
    const b = snapshot({ 'Queue/default': queue({ state: 'drained' }) });
    const p = {
      changes: [change('Queue/default', { action: 'blocked' })],
      steps: [{ id: 's1', op: 'activate_queue', target: 'Queue/default' }],
    } as unknown as Plan;
    expect(judge(p, b, b)).toEqual([
      'step activate_queue Queue/default is in the plan, which shows it blocked',
    ]);
  });

  it('cut short (partial): a change not made yet passes, the chain may stop at its own drain, anything unshown still fails', () => {
    const b = snapshot({ 'Queue/q0': queue(), 'Queue/q1': queue() });
    const a = snapshot({
      'Queue/q0': queue({ state: 'draining' }),
      'Queue/q1': queue({ run_concurrency: 3 }),
    });
    const moved = change('Queue/q0', {
      action: 'update',
      after: { pool: 'pa' },
      diff: [d('pool', 'default', 'pa')],
    });
    const p = {
      changes: [moved],
      steps: [{ id: 's1', op: 'drain_queue', target: 'Queue/q0' }],
    } as unknown as Plan;
    expect(judge(p, b, a, { partial: true })).toEqual([
      'Queue/q1 changed (run_concurrency: 0 → 3), but the plan does not list it',
    ]);
    // Whole, the same is a move not made and a drain not shown.
    expect(judge(p, b, a)).toEqual([
      'update Queue/q0: pool is "default", the plan showed "pa"',
      'Queue/q0: state: "active" → "draining" is not in the plan\'s diff (update)',
      'Queue/q1 changed (run_concurrency: 0 → 3), but the plan does not list it',
      'Queue/q0 is left draining (it was active)',
    ]);
  });

  it('converged: a queue active before a cut and drained after the next apply fails unless a plan showed it', () => {
    const b = snapshot({ 'Queue/q0': queue() });
    const a = snapshot({ 'Queue/q0': queue({ state: 'drained' }) });
    const first = plan(
      change('Queue/q0', { action: 'update', diff: [d('pool', 'default', 'pa')] }),
    );
    const second = plan(change('Queue/q0', { action: 'noop' }));
    expect(leftDrained([first, second], b, a)).toEqual([
      'Queue/q0 is left drained (it was active)',
    ]);
    const shown = plan(
      change('Queue/q0', { action: 'update', diff: [d('state', 'active', 'drained')] }),
    );
    expect(leftDrained([shown, second], b, a)).toEqual([]);
  });
});
