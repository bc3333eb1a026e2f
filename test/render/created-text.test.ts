/**
 * A create's field lines are read from its `after` without making its diff (render/text.ts
 * addCreatedLines, issue 79 item 5): the same text, byte for byte, as from the diff itself, for
 * nested maps, nulls, lists and values the terminal text escapes.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { diffForms, makeChange } from '../../src/plan/forms.js';
import type { Plan } from '../../src/model/plan.js';
import { renderChangeText, renderText } from '../../src/render/text.js';

const leaf = fc.oneof(
  fc.string({ maxLength: 8 }),
  fc.string({ maxLength: 4, unit: fc.constantFrom('a', '"', '\\', '\u001b', '\u202e', 'é', ' ') }),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.constant(undefined),
  fc.array(fc.string({ maxLength: 4 }), { maxLength: 3 }),
);
const key = fc.string({ maxLength: 6, unit: fc.constantFrom('a', 'b', '.', '1', '\u001b', ' ') });
const form = fc.dictionary(key, fc.oneof(leaf, fc.dictionary(key, leaf, { maxKeys: 3 })), {
  maxKeys: 7,
});

const EMPTY: Plan = {
  format_version: '1',
  desired_fingerprint: 'sha256:d',
  live_fingerprint: 'sha256:l',
  commit: null,
  summary: { create: 1, update: 0, replace: 0, delete: 0, blocked: 0, unmanaged: 0, noop: 0 },
  changes: [],
  steps: [],
  warnings: [],
  errors: [],
};

describe('the text of a create', () => {
  it('is the same read from its after as from its diff', () => {
    fc.assert(
      fc.property(form, fc.boolean(), (after, color) => {
        // diff null: read from `after` where it is read (plan/forms.ts DIFF_OF_AFTER).
        const lazy = makeChange('Queue', 'q', 'create', null, after, null);
        const kept = makeChange('Queue', 'q', 'create', null, after, diffForms(null, after));
        expect(renderChangeText(lazy, { color })).toBe(renderChangeText(kept, { color }));
      }),
      { numRuns: 500 },
    );
  });

  it('is the same for many creates of one plan, their paths and widths told apart', () => {
    // One render keeps each line's start by path and width (render/common.ts CreatedLines).
    fc.assert(
      fc.property(fc.array(form, { minLength: 2, maxLength: 6 }), fc.boolean(), (forms, color) => {
        const plan = (diff: boolean): Plan => ({
          ...EMPTY,
          changes: forms.map((after, i) =>
            makeChange(
              'Queue',
              `q${i}`,
              'create',
              null,
              after,
              diff ? diffForms(null, after) : null,
            ),
          ),
        });
        expect(renderText(plan(false), { color })).toBe(renderText(plan(true), { color }));
      }),
      { numRuns: 300 },
    );
  });

  it('lists a queue with caps field by field, its maps as dotted paths', () => {
    const after = {
      pool: 'p',
      clusters: ['c1', 'c2'],
      run_concurrency: 5,
      max_resources: { cpu: '4', memory: '8Gi' },
      scheduling: null,
    };
    const text = renderChangeText(makeChange('Queue', 'q', 'create', null, after, null), {
      color: false,
    });
    expect(text.split('\n').slice(1)).toEqual([
      '      pool                 = "p"',
      '      clusters             = ["c1", "c2"]',
      '      run_concurrency      = 5',
      '      max_resources.cpu    = "4"',
      '      max_resources.memory = "8Gi"',
    ]);
  });
});

describe('the text of a blocked change', () => {
  it('reads as the create it would be when nothing is live, else as its update', () => {
    const after = { project: 'nosuch', domain: 'development', label: 'label1' };
    const address = ['ExecutionClusterLabel', 'nosuch/development'] as const;
    const blocked = makeChange(...address, 'blocked', null, after, diffForms(null, after));
    const text = renderChangeText(blocked, { color: false });
    expect(text).toContain('  project = "nosuch"\n');
    expect(text).not.toContain('null →');
    const before = { ...after, label: 'label2' };
    const held = makeChange(...address, 'blocked', before, after, diffForms(before, after));
    expect(renderChangeText(held, { color: false })).toContain('label: "label2" → "label1"');
  });
});
