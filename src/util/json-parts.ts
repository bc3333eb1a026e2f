/**
 * `JSON.stringify(value)` (compact) in parts, for values too large to hold as one string: the
 * members of objects down to `depth` levels are written one by one, and their arrays in slices,
 * so the largest part is one slice of one list. The parts concatenate to exactly the one
 * string JSON.stringify gives (toJSON and replacers aside: plain data only).
 */
const SLICE = 1024;

export function* jsonParts(value: unknown, depth = 2): Generator<string> {
  if (depth > 0 && Array.isArray(value)) {
    if (value.length === 0) {
      yield '[]';
      return;
    }
    for (let at = 0; at < value.length; at += SLICE) {
      const slice = value.slice(at, at + SLICE).map(element);
      yield (at === 0 ? '[' : ',') + slice.join(',');
    }
    yield ']';
    return;
  }
  if (depth > 0 && value !== null && typeof value === 'object') {
    const members = Object.entries(value).filter(([, v]) => written(v));
    yield '{';
    for (let i = 0; i < members.length; i++) {
      const [key, member] = members[i]!;
      yield `${i > 0 ? ',' : ''}${JSON.stringify(key)}:`;
      yield* jsonParts(member, depth - 1);
    }
    yield '}';
    return;
  }
  yield JSON.stringify(value) ?? 'null';
}

/** What JSON.stringify writes as an object member: not undefined, functions or symbols. */
const written = (v: unknown): boolean =>
  v !== undefined && typeof v !== 'function' && typeof v !== 'symbol';

/** An array element as JSON.stringify writes it: undefined, functions and symbols are null. */
const element = (v: unknown): string => (written(v) ? JSON.stringify(v) : 'null');

/** Parts gathered into strings of at least 64 KiB: few writes, no whole text held. */
export function* batches(parts: Iterable<string>, size = 1 << 16): Generator<string> {
  let pending: string[] = [];
  let length = 0;
  for (const part of parts) {
    pending.push(part);
    length += part.length;
    if (length >= size) {
      yield pending.join('');
      pending = [];
      length = 0;
    }
  }
  if (length > 0) yield pending.join('');
}
