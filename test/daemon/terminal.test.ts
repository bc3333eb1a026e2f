/**
 * The quickstart's terminal (src/daemon/terminal.ts): each kind of run in the words /status has
 * for it, said when new; log records as lines, or left to the run lines that say them.
 */
import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { recordLines } from '../../src/daemon/logger.js';
import { recordLine, RunLines } from '../../src/daemon/terminal.js';
import type { DaemonStatus, RunRecord } from '../../src/daemon/status.js';

type View = Pick<DaemonStatus, 'lastRun' | 'lastDrift' | 'errors'>;

let id = 0;
/** A run as /status records it. */
function run(result: RunRecord['result'], message: string, more: Partial<View> = {}): View {
  id += 1;
  const lastRun = { id, result, message } as RunRecord;
  return { lastRun, lastDrift: null, errors: [], ...more };
}

const APPLIED = 'applied: 0 created, 1 updated, 0 replaced, 0 deleted; 0 blocked';
const FROZEN =
  'applies frozen, suspended by ana@laptop since 2026-11-26T09:00:00.000Z (demo): `poolsync resume` lifts it; planned only: 0 to create, 1 to update, 0 to replace, 0 to delete, 0 blocked; `poolsync sync --override-freeze` applies it now';
const error = {
  code: 'SCHEMA',
  message: "spec.run_concurrency must be a whole number, got 'nope'",
  location: 'queues/prod/batch.yaml:10:20',
  address: null,
};
const drift = (corrected: boolean, n = 1) => ({
  run: id + 1,
  at: '2026-11-26T09:00:00.000Z',
  commit: null,
  changes: Array.from({ length: n }, (_, i) => ({
    address: `Queue/q${i}`,
    action: 'update',
    reason: null,
    corrected,
  })),
});

describe('RunLines', () => {
  it('an applied run is its message, each time; in sync and unchanged runs say nothing', () => {
    const lines = new RunLines();
    expect(lines.next(run('applied', APPLIED))).toBe(`Run #${id}: ${APPLIED}\n`);
    expect(lines.next(run('applied', APPLIED))).toBe(`Run #${id}: ${APPLIED}\n`);
    expect(lines.next(run('in_sync', 'in sync'))).toBe('');
    expect(lines.next(run('unchanged', 'no new commit (abc)'))).toBe('');
    expect(lines.next({ lastRun: null, lastDrift: null, errors: [] })).toBe('');
  });

  it('drift put back: the run names what it put back, five at most', () => {
    const lines = new RunLines();
    expect(lines.next(run('applied', APPLIED, { lastDrift: drift(true, 7) }))).toBe(
      `Run #${id} put back what was changed on the control plane: ${APPLIED}\n` +
        [0, 1, 2, 3, 4].map((i) => `  update Queue/q${i}\n`).join('') +
        '  … 2 more\n',
    );
    // The drift of an earlier run is not this run's.
    const earlier = drift(true);
    earlier.run = 1;
    expect(lines.next(run('applied', APPLIED, { lastDrift: earlier }))).toBe(
      `Run #${id}: ${APPLIED}\n`,
    );
  });

  it('a frozen run says it once while the same, with the drift it leaves; again once the drift or freeze changes', () => {
    const lines = new RunLines();
    expect(lines.next(run('frozen', FROZEN))).toBe(`Run #${id}: ${FROZEN}\n`);
    expect(lines.next(run('frozen', FROZEN.replace('09:00:00', '09:01:00')))).toBe('');
    expect(lines.next(run('frozen', FROZEN, { lastDrift: drift(false) }))).toBe(
      `Run #${id}: ${FROZEN}\n  update Queue/q0: changed on the control plane, not put back\n`,
    );
    expect(lines.next(run('frozen', FROZEN, { lastDrift: drift(false) }))).toBe('');
    // After an apply the freeze is news again.
    lines.next(run('applied', APPLIED));
    expect(lines.next(run('frozen', FROZEN))).toBe(`Run #${id}: ${FROZEN}\n`);
  });

  it('invalid is invalid (as /status says), with where; failed is failed; each once; the next good run recovered', () => {
    const lines = new RunLines();
    const invalid = '1 validation error; nothing applied';
    expect(lines.next(run('invalid', invalid, { errors: [error] }))).toBe(
      `Run #${id} invalid: ${invalid}\n  ${error.location}: SCHEMA: ${error.message}\n`,
    );
    expect(lines.next(run('invalid', invalid, { errors: [error] }))).toBe('');
    const failed =
      'cannot read live state: connection refused; retrying in 5s (transient failure 1 in a row)';
    expect(lines.next(run('failed', failed))).toBe(`Run #${id} failed: ${failed}\n`);
    // A retry of the same failure is not said again.
    expect(lines.next(run('failed', failed.replace('5s', '10s').replace('1 in', '2 in')))).toBe('');
    expect(lines.next(run('in_sync', 'in sync'))).toBe(`Run #${id} recovered: in sync\n`);
    expect(lines.next(run('in_sync', 'in sync'))).toBe('');
  });

  it("a daemon with environments: each environment's runs apart, named", () => {
    const staging = new RunLines('staging');
    const production = new RunLines('production');
    const failed = 'cannot open the control plane: refused';
    expect(staging.next(run('failed', failed))).toBe(`[staging] Run #${id} failed: ${failed}\n`);
    expect(production.next(run('failed', failed))).toBe(
      `[production] Run #${id} failed: ${failed}\n`,
    );
    expect(staging.next(run('in_sync', 'in sync'))).toBe(
      `[staging] Run #${id} recovered: in sync\n`,
    );
  });

  it('a hold is said once while the same changes wait; no control character reaches the terminal', () => {
    const lines = new RunLines();
    const held =
      'policy safe: 1 change held for approval (delete Cluster/x\x1b[31m); approve sha256:ab with `poolsync approve`; nothing else to apply';
    const line = lines.next(run('waiting_for_approval', held));
    expect(line).toBe(`Run #${id} waits for approval: ${held.replace('\x1b', '\\x1b')}\n`);
    expect(lines.next(run('waiting_for_approval', held))).toBe('');
    // One that applied the rest beside the same hold is said: something changed.
    const applied = run('waiting_for_approval', held);
    expect(lines.next({ ...applied, lastRun: { ...applied.lastRun!, changedTotal: 1 } })).toBe(
      `Run #${id} waits for approval: ${held.replace('\x1b', '\\x1b')}\n`,
    );
  });
});

describe('recordLine', () => {
  it("leaves out what the run lines say (a run's record, its drift); words suspend and resume", () => {
    expect(recordLine({ level: 40, run: 3, result: 'invalid', msg: 'x' })).toBeNull();
    expect(recordLine({ level: 40, drift: ['update Queue/a'], msg: 'drift: 1 object' })).toBeNull();
    expect(
      recordLine({
        level: 40,
        msg: 'applies suspended',
        by: 'ana',
        reason: 'freeze',
        environment: null,
      }),
    ).toBe(
      'Applies suspended by ana (freeze): runs go on planning and finding drift, and apply nothing until `poolsync resume`.\n',
    );
    expect(recordLine({ level: 40, msg: 'applies resumed', by: 'ana', reason: null })).toBe(
      'Applies resumed by ana: the next run applies what waited.\n',
    );
  });

  it('any other warning or error: one line with its fields, escaped', () => {
    expect(
      recordLine({
        level: 40,
        time: 't',
        name: 'poolsync-daemon',
        msg: 'cannot commit rendered files',
        files: ['a.yaml', 'b.yaml'],
        err: 'denied\x07',
        environment: null,
      }),
    ).toBe('Warning: cannot commit rendered files (files: a.yaml, b.yaml; err: denied\\x07)\n');
    expect(recordLine({ level: 50, msg: 'reconcile run crashed', err: 'boom' })).toBe(
      'Error: reconcile run crashed (err: boom)\n',
    );
  });

  it("as pino's destination: the daemon's logger writes words, never JSON", () => {
    let out = '';
    const logger = pino(
      { level: 'warn' },
      recordLines({ write: (t: string) => (out += t) }, recordLine),
    );
    logger.info('not shown');
    logger.warn({ by: 'ana', reason: null }, 'applies resumed');
    logger.warn({ run: 1, result: 'failed' }, 'said by the run line');
    logger.error({ err: 'boom' }, 'reconcile run crashed');
    expect(out).toBe(
      'Applies resumed by ana: the next run applies what waited.\nError: reconcile run crashed (err: boom)\n',
    );
  });
});
