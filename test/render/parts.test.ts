/**
 * The renderers' parts (what `plan`, `show` and `apply` write as they go) give exactly the
 * text rendered whole, at sizes where the parts really split: thousands of changes and steps.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { Change, Plan, Step } from '../../src/model/plan.js';
import { renderJson, renderJsonParts } from '../../src/render/json.js';
import { renderText, renderTextParts } from '../../src/render/text.js';
import { driftedScenario } from './scenarios.js';

/** The drifted example's changes and steps, copied under new names until there are `n`. */
function grown(plan: Plan, n: number): Plan {
  const changes: Change[] = [];
  const steps: Step[] = [];
  for (let i = 0; changes.length < n; i++) {
    for (const c of plan.changes)
      changes.push({ ...c, name: `${c.name}-${i}`, address: `${c.address}-${i}` });
    for (const s of plan.steps)
      steps.push({ ...s, id: `${s.id}-${i}`, target: `${s.target}-${i}` });
  }
  return { ...plan, changes, steps };
}

describe('renderer parts', () => {
  let small: Plan;
  let big: Plan;
  beforeAll(async () => {
    small = await driftedScenario();
    big = grown(small, 20_000);
  });

  it('JSON in parts is byte for byte JSON.stringify of the plan, small and large', () => {
    for (const plan of [small, big]) {
      const parts = [...renderJsonParts(plan)];
      expect(parts.join('')).toBe(renderJson(plan));
      if (plan === big) expect(parts.length).toBeGreaterThan(10);
    }
  });

  it('JSON in parts keeps empty lists, leaves out undefined fields and escapes control characters', () => {
    const odd = {
      ...small,
      changes: [],
      steps: [{ ...small.steps[0]!, target: 'Queue/a\u001b[2Jb\u2028' }],
      warnings: [],
      commit: undefined,
    } as unknown as Plan;
    const text = [...renderJsonParts(odd)].join('');
    expect(text).toBe(renderJson(odd));
    expect(text).toContain('"changes": []');
    expect(text).not.toContain('"commit"');
    expect(text).not.toContain('\u001b');
  });

  it('text in parts: whole lines, one block per change, the same text as rendered whole', () => {
    const parts = [...renderTextParts(big, { color: false })];
    expect(parts.length).toBeGreaterThan(3);
    for (const p of parts) expect(p.endsWith('\n')).toBe(true);
    const text = parts.join('');
    expect(text).toBe(renderText(big, { color: false }));
    expect(text).not.toContain('\n\n\n');
    const shown = big.changes.filter((c) => c.action !== 'noop' && c.action !== 'unmanaged');
    const headlines = text.split('\n').filter((l) => /^ {0,2}(\+|~|-\/\+|-|!) \S/.test(l));
    expect(headlines.length).toBeGreaterThanOrEqual(shown.length);
    // The copies render as the original does, line for line, with only the names changed.
    const one = renderText(small, { color: false });
    const firstBlock = one.split('\n\n')[1]!;
    expect(text).toContain(firstBlock.replace(/(\S+\/\S+)/, '$1-0'));
  });
});
