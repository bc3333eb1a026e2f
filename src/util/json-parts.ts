/**
 * `JSON.stringify(value, null, space)` in parts, for values too large to hold as one string: the
 * members of objects down to `depth` levels one by one, their arrays in slices. The parts
 * concatenate to exactly what JSON.stringify gives (plain data only: no toJSON or replacers).
 */
const SLICE = 1024;
/**
 * Indented, fewer: a slice of plan changes is ~200 KB of text, which writeTextParts encodes into
 * its 1 MB buffer (3 bytes a unit at most), and a collection in the middle of one promotes less.
 */
const PRETTY_SLICE = 128;

export function* jsonParts(value: unknown, depth = 2, space = 0, indent = ''): Generator<string> {
  const inner = indent + ' '.repeat(space);
  const nl = space > 0 ? '\n' : '';
  if (depth > 0 && Array.isArray(value)) {
    if (value.length === 0) {
      yield '[]';
      return;
    }
    const step = space === 0 ? SLICE : PRETTY_SLICE;
    for (let at = 0; at < value.length; at += step) {
      // Without indentation a slice is one JSON.stringify of it, less its brackets: a call per
      // item cost ~10 ms more per 100,000 (snapshots and last-applied records, issue 79). The
      // separator is a part of its own: joined to the slice it made a string that every write
      // copied whole again (V8 flattens it), 20 times slower to encode (writeTextParts).
      if (space === 0) {
        yield at === 0 ? '[' : ',';
        yield JSON.stringify(value.slice(at, at + SLICE)).slice(1, -1);
        continue;
      }
      yield at === 0 ? '[\n' : ',\n';
      yield indented(value.slice(at, at + PRETTY_SLICE), space, inner);
    }
    yield `${nl}${indent}]`;
    return;
  }
  if (depth > 0 && value !== null && typeof value === 'object') {
    const members = Object.entries(value).filter(([, v]) => written(v));
    if (members.length === 0) {
      yield '{}';
      return;
    }
    yield '{';
    for (let i = 0; i < members.length; i++) {
      const [key, member] = members[i]!;
      yield `${i > 0 ? ',' : ''}${nl}${inner}${JSON.stringify(key)}:${space > 0 ? ' ' : ''}`;
      yield* jsonParts(member, depth - 1, space, inner);
    }
    yield `${nl}${indent}}`;
    return;
  }
  yield leaf(value, space, indent);
}

/** What JSON.stringify writes as an object member: not undefined, functions or symbols. */
const written = (v: unknown): boolean =>
  v !== undefined && typeof v !== 'function' && typeof v !== 'symbol';

/**
 * The items of `slice` as JSON.stringify writes them at `inner` (`space` per level), `,\n` between:
 * one call on the slice nested in as many arrays as `inner` has levels, those cut off. A call per
 * item, each re-indented and joined, cost twice as long and ~3 copies of a 223 MB plan file in
 * garbage (issue 79).
 */
function indented(slice: unknown[], space: number, inner: string): string {
  const levels = inner.length / space;
  // A start not on the grid of `space` (never one of jsonParts' own): item by item.
  if (!Number.isInteger(levels)) return slice.map((v) => inner + leaf(v, space, inner)).join(',\n');
  let nested: unknown = slice;
  for (let i = 1; i < levels; i++) nested = [nested];
  // '[\n' + '  [\n' … before the first item, '\n  ]' … '\n]' after the last: as long each.
  const cut = (levels * (levels - 1) * space) / 2 + 2 * levels;
  const text = JSON.stringify(nested, null, space);
  return text.slice(cut, text.length - cut);
}

/** A value as JSON.stringify writes it nested at `indent` (what it leaves out reads as null). */
function leaf(v: unknown, space: number, indent: string): string {
  const json = written(v) ? JSON.stringify(v, null, space) : 'null';
  return space > 0 ? json.replaceAll('\n', `\n${indent}`) : json;
}
