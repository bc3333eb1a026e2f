/**
 * Issue 38, item 6: apply's progress lines, failure report and runbook escape every name as
 * the plan's text does. A live state with names holding ESC, BEL, a newline that forges an
 * `OK` line, and a bidi override is planned with prune on (delete steps that name them); every
 * event of every step and every status of the report is rendered, and each is one line with no
 * character a terminal would obey (what `apply | cat -A` showed forged before).
 */
import { describe, expect, it } from 'vitest';
import { loadRepository } from '../../src/manifests/index.js';
import type { Step } from '../../src/model/plan.js';
import { computePlan } from '../../src/plan/index.js';
import { progressPrinter, renderApplyResult } from '../../src/apply/report.js';
import type { ApplyEvent, ApplyResult } from '../../src/apply/types.js';
import { printRunbook } from '../../src/render/cli-output.js';
import { REPO_ROOT } from '../support/cli.js';
import { CONTROL, hostileLiveState } from '../support/hostile-live.js';

const HOSTILE = [
  'esc\u001b[2Jclear',
  'bel\u0007bell',
  'wf\nprod-1: Deletion complete after 0.1s [s1]',
  'cr\rOK',
  'rlo\u202ereversed',
];
async function hostileSteps(): Promise<Step[]> {
  const hostile = await hostileLiveState(HOSTILE);
  const loaded = await loadRepository(`${REPO_ROOT}/examples/config-repo`);
  if (!loaded.valid) throw new Error('example invalid');
  const pruned = { ...loaded.desired, config: { ...loaded.desired.config, prune: true } };
  return computePlan(pruned, hostile).steps;
}

describe('apply output escapes every name', () => {
  it('progress lines: one line per event, no control character, whatever the target, queue or command', async () => {
    const steps = await hostileSteps();
    const named = steps.filter((s) => HOSTILE.some((h) => s.target.includes(h)));
    expect(named.length).toBeGreaterThanOrEqual(HOSTILE.length);
    const lines: string[] = [];
    const print = progressPrinter((l) => lines.push(l));
    let events = 0;
    for (const step of named) {
      const manualStep: Step = {
        ...step,
        manual: {
          command: `flyte delete cluster ${step.target}`,
          reason: 'no API',
        } as Step['manual'],
      };
      const evs: ApplyEvent[] = [
        { type: 'step_started', step },
        { type: 'step_finished', step, status: 'done', duration_ms: 5, error: null, note: null },
        {
          type: 'step_finished',
          step,
          status: 'failed',
          duration_ms: 5,
          error: { code: 'NOT_FOUND', message: `${step.target} is gone`, rule: null },
          note: null,
        },
        { type: 'step_manual', step: manualStep },
        { type: 'manual_output', step, line: `deleted ${HOSTILE[0]}\n${HOSTILE[2]}` } as ApplyEvent,
        {
          type: 'wait_progress',
          step,
          queue: HOSTILE[2]!,
          elapsed_ms: 1000,
          runs_in_flight: 1,
          actions_in_flight: 2,
        } as ApplyEvent,
      ];
      for (const e of evs) {
        print(e);
        events++;
      }
    }
    expect(lines).toHaveLength(events);
    for (const l of lines) {
      expect(l).not.toMatch(CONTROL);
      expect(l).not.toContain('\n');
    }
    expect(lines.some((l) => l.includes('\\x1b[2J'))).toBe(true);
    expect(lines.some((l) => l.includes('wf\\nprod-1'))).toBe(true);
  });

  it('the failure report and the runbook: every status, one line per step, nothing a terminal obeys', async () => {
    const steps = await hostileSteps();
    const statuses = ['done', 'failed', 'not_run', 'manual', 'waiting'] as const;
    const result: ApplyResult = {
      ok: false,
      manual: [],
      aborted: false,
      steps: steps.map((s, i) => ({
        id: s.id,
        op: s.op,
        target: s.target,
        status: statuses[i % statuses.length]!,
        duration_ms: 1,
        error:
          statuses[i % statuses.length] === 'failed'
            ? { code: 'UNAVAILABLE', message: `${s.target}\nforged`, rule: null }
            : null,
        note: statuses[i % statuses.length] === 'waiting' ? `waits on ${s.target}` : null,
      })),
      counts: { create: 0, update: 0, replace: 0, delete: 0, blocked: 0, side_effects: 0 },
      applied: [],
      duration_ms: 1,
    };
    const report = renderApplyResult(result, { changes: [] });
    expect(report).not.toMatch(CONTROL);
    const notDone = result.steps.filter((s) => s.status !== 'done').length;
    // Head, one line per step not done, "Applied so far", "Nothing was rolled back".
    expect(report.trimEnd().split('\n')).toHaveLength(notDone + 3);

    const manual = steps
      .filter((s) => HOSTILE.some((h) => s.target.includes(h)))
      .slice(0, 3)
      .map((s) => ({
        ...s,
        execution: 'manual' as const,
        manual: { command: `flyte delete cluster '${s.target}'`, reason: `no API for ${s.target}` },
      })) as Step[];
    const out: string[] = [];
    await printRunbook(
      { steps: manual } as never,
      { ...result, manual: manual.map((s) => s.id), steps: [] },
      (l) => out.push(l),
      null,
    );
    expect(out.join('\n')).not.toMatch(CONTROL);
    expect(out.join('\n')).toContain('bel\\x07bell');
  });
});
