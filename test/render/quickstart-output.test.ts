/** What the quickstart's terminal says of each run worth a line (src/render/cli-output.ts). */
import { describe, expect, it } from 'vitest';
import { quickstartRunLine } from '../../src/render/cli-output.js';

const event = {
  run: 7,
  message: 'applied: 0 to create, 6 to update, 0 to replace, 0 to delete, 0 blocked',
  changed: [
    'update Queue/a',
    'update Queue/b',
    'update Queue/c',
    'update Queue/d',
    'update Queue/e',
    'update Queue/f',
  ],
  changed_total: 6,
  errors: [],
};

describe('quickstartRunLine', () => {
  it('an applied run is its message (its plan was printed before the apply)', () => {
    expect(quickstartRunLine({ ...event, event: 'applied' })).toBe(`Run #7: ${event.message}\n`);
  });

  it('drift put back names what was put back, five at most', () => {
    expect(quickstartRunLine({ ...event, event: 'drift-corrected' })).toBe(
      `Run #7 put back what was changed on the control plane: ${event.message}\n` +
        event.changed
          .slice(0, 5)
          .map((c) => `  ${c}\n`)
          .join('') +
        '  … 1 more\n',
    );
  });

  it('what waits for approval, and a failure with its first errors, one line each; no control character passes', () => {
    const held =
      'policy safe: 1 change held for approval (delete Cluster/x); approve sha256:ab with `poolsync approve`';
    expect(quickstartRunLine({ ...event, event: 'held-for-approval', message: held })).toBe(
      `Run #7 waits for approval: ${held}\n`,
    );
    const failed = quickstartRunLine({
      ...event,
      event: 'failed',
      message: 'apply incomplete (1 step failed; 0 steps not run)',
      errors: ['Queue/a: INVALID: update_queue failed: no\x1b[31m'],
    });
    expect(failed).toBe(
      'Run #7 failed: apply incomplete (1 step failed; 0 steps not run)\n  Queue/a: INVALID: update_queue failed: no\\x1b[31m\n',
    );
  });
});
