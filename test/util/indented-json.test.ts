/**
 * IndentedJsonReader (src/util/indented-json.ts): JSON.stringify(object, null, 2) read in pieces
 * as its bytes arrive gives what JSON.parse of the whole text gives, however the bytes are cut;
 * text laid out any other way is not read (null), never read as something else.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { IndentedJsonReader } from '../../src/util/indented-json.js';

/** `text` pushed in pieces of `size` bytes (a UTF-8 character may be cut), then finished. */
function read(text: string, size: number): Record<string, unknown> | null {
  const bytes = Buffer.from(text, 'utf8');
  const reader = new IndentedJsonReader();
  // One buffer reused for every push, as readUserFileInChunks hands them over.
  const chunk = Buffer.alloc(size);
  for (let at = 0; at < bytes.length; at += size) {
    const n = bytes.copy(chunk, 0, at, at + size);
    reader.push(chunk.subarray(0, n));
    chunk.fill(0x7b); // what the reader did not copy is gone
  }
  return reader.finish();
}

const SIZES = [1, 3, 7, 64, 1 << 20];

const sample = {
  format_version: '1',
  summary: { create: 2, nested: { deep: [1, { x: [] }] } },
  changes: Array.from({ length: 150 }, (_, i) => ({
    address: `Queue/q-${i}`,
    after: { text: 'a\n  ]\n}\n,\n    x "quoted" \\ é 😀 \u2028', list: [i, [i, {}], []] },
    diff: i % 3 === 0 ? [] : [{ path: 'a.b', before: null, after: 'x' }],
  })),
  empty: [],
  names: ['a', 'b', '\u202e'],
  scalars: [1, -2.5e-7, true, null, 'x'],
  lists: [[1, [2]], [], [[]]],
  empty_object: {},
  'odd "key"\n': 'v',
  last: { seal: 'sha256:00' },
};

describe('IndentedJsonReader', () => {
  it('reads JSON.stringify(object, null, 2) as JSON.parse does, however its bytes are cut', () => {
    const text = JSON.stringify(sample, null, 2);
    for (const size of SIZES) {
      const got = read(text, size);
      expect(got, `pieces of ${size} bytes`).toEqual(JSON.parse(text));
      // The members in the same order, so it serialises to the same text.
      expect(JSON.stringify(got, null, 2)).toBe(text);
    }
    expect(read(`${text}\n`, 5)).toEqual(sample);
  });

  it('reads any object so written (property)', () => {
    const member = fc.oneof(fc.jsonValue(), fc.array(fc.jsonValue(), { maxLength: 30 }));
    fc.assert(
      fc.property(fc.dictionary(fc.string(), member), fc.integer({ min: 1, max: 200 }), (o, n) => {
        const text = JSON.stringify(o, null, 2);
        // Not read: `{}` (no member lines) and a `__proto__` member (it would be the prototype).
        if (Object.keys(o).length === 0 || Object.hasOwn(o, '__proto__'))
          return read(text, n) === null;
        const got = read(text, n);
        expect(JSON.stringify(got, null, 2)).toBe(text);
        return true;
      }),
      { numRuns: 300 },
    );
  });

  it('reads no text laid out otherwise: null, for the caller to read whole', () => {
    const text = JSON.stringify(sample, null, 2);
    const refused = {
      compact: JSON.stringify(sample),
      'indented by 4': JSON.stringify(sample, null, 4),
      tabs: JSON.stringify(sample, null, '\t'),
      'cut short': text.slice(0, text.length / 2),
      'cut before the brace': text.slice(0, -1),
      'more after it': `${text}\n{}`,
      'a list': JSON.stringify([sample], null, 2),
      'an empty object': '{}',
      'a byte-order mark': `\ufeff${text}`,
      'a prototype': '{\n  "__proto__": {\n    "polluted": true\n  }\n}',
      'not JSON inside': text.replace('"Queue/q-9"', 'Queue/q-9'),
      '': '',
    };
    for (const [what, bad] of Object.entries(refused))
      for (const size of [1, 64, 1 << 20]) expect(read(bad, size), `${what}, ${size}`).toBeNull();
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('reads text laid out almost so as JSON.parse does, or not at all', () => {
    const text = JSON.stringify(sample, null, 2);
    const almost = [
      // An item's first lines moved out to the list's own depth: still the same JSON.
      text.replace('\n    {\n      "address": "Queue/q-7"', '\n  {\n    "address": "Queue/q-7"'),
      text.replace('\n  "empty": []', '\n  "empty": [\n  ]'),
      text.replace('\n    "a",', '\n    "a"  ,'),
      text.replaceAll('\n      "diff"', '\n"diff"'),
      `${text}\n\n \t\r\n`,
    ];
    for (const [i, odd] of almost.entries())
      for (const size of [1, 64, 1 << 20]) {
        const got = read(odd, size);
        if (got !== null) expect(got, `${i}, ${size}`).toEqual(JSON.parse(odd));
      }
    expect(read(almost[0]!, 64)).toEqual(sample);
  });
});
