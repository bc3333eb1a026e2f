/**
 * A field line's value is its JSON (an array's items `, `-separated), whatever it holds: the
 * renderer writes plain strings, numbers and booleans without JSON.stringify, and must write
 * exactly what it would have.
 */
import { describe, expect, it } from 'vitest';
import { fieldText } from '../../src/render/common.js';
import { renderChangeText } from '../../src/render/text.js';
import type { Change, FieldDiff } from '../../src/model/plan.js';

const VALUES: unknown[] = [
  'plain',
  '',
  'say "hi"',
  'back\\slash',
  'tab\there',
  'café',
  'line\u2028separator',
  'lone \ud800 surrogate',
  0,
  -0,
  7,
  1.5,
  1e21,
  -3,
  NaN,
  Infinity,
  true,
  false,
  null,
  undefined,
  [],
  ['a', 1, null, undefined, ['b', 'say "hi"']],
  { key: 'value' },
];

const asJson = (v: unknown): string =>
  Array.isArray(v) ? `[${v.map(asJson).join(', ')}]` : v === undefined ? 'null' : JSON.stringify(v);

const field = (before: unknown, after: unknown): FieldDiff => ({
  path: 'spec.value',
  before,
  after,
  forces_replacement: false,
});

describe('field values', () => {
  it('a create shows `path = value`, the value as JSON', () => {
    for (const v of VALUES)
      expect(fieldText('create', field(null, v), 12)).toBe(`spec.value   = ${asJson(v)}`);
  });

  it('a change shows `path: before → after`, both as JSON', () => {
    for (const v of VALUES) {
      expect(fieldText('update', field(v, 'x'), 10)).toBe(`spec.value: ${asJson(v)} → "x"`);
      expect(fieldText('replace', field(1, v), 11)).toBe(`spec.value:  1 → ${asJson(v)}`);
    }
  });

  it('the text escapes a line that is not printable ASCII whole, its marks included', () => {
    const change = {
      address: 'Queue/q',
      action: 'create',
      diff: [
        field(null, 'left\u202eright'),
        { ...field(null, 'cafe\u0301'), path: 'spec.caf\u00e9' },
      ],
    } as Change;
    expect(renderChangeText(change, { color: false })).toBe(
      [
        '  + Queue/q',
        '      spec.value = "left\\u{202e}right"',
        '      spec.caf\u00e9  = "cafe\\u{301}"',
      ].join('\n'),
    );
  });
});
