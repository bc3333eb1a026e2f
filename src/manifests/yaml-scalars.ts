/**
 * Scalars as the YAML 1.2 core schema resolves them (js-yaml's CORE_SCHEMA), with what
 * manifests refuse: integers a double would round, tags other than the core scalar ones.
 */
import { CORE_SCHEMA } from '../util/js-yaml.js';
import type { Scalar } from './yaml-tree.js';

export const CORE = 'tag:yaml.org,2002:';

export function normalizeTag(tag: string): string {
  if (tag.startsWith('!!')) return CORE + tag.slice(2);
  if (tag.startsWith('!<') && tag.endsWith('>')) return tag.slice(2, -1);
  return tag;
}

export const UNRESOLVED = Symbol('unresolved');
/** A number literal no double holds as written (1e-400 would read as 0, 1e400 as Infinity). */
export const OUT_OF_RANGE = Symbol('out of range');

export function outOfRange(text: string): string {
  return `the number ${clip(text)} cannot be stored as written (it would read as ${Number(text)}): whole numbers go up to ±9,007,199,254,740,991 and no exponent may underflow to 0; write the value you mean, or quote it if it is text`;
}

/**
 * The core schema's words (null, bool) that start with a letter: any other plain scalar that
 * starts with an ASCII letter is a string (numbers start with a digit, a sign or a dot).
 */
const LETTER_WORDS = new Map<string, Scalar>([
  ['null', null],
  ['Null', null],
  ['NULL', null],
  ['true', true],
  ['True', true],
  ['TRUE', true],
  ['false', false],
  ['False', false],
  ['FALSE', false],
]);

/** Up to 15 digits: the core schema's int, below 2^53 (resolveScalar's `Number(text)`). */
const SHORT_DIGITS = /^[0-9]{1,15}$/;
/** A character no core int (`0x1f`, `0o17`, `12`) or float (`1.5e-3`) is written with. */
const NOT_NUMERIC = /[^0-9a-fA-FoxX.+-]/;

/** What an untagged plain scalar is, as the full parser resolves it; undefined if it cannot. */
export function plainScalarValue(text: string): Scalar | undefined {
  const c = text.charCodeAt(0) | 0x20; // lower case of an ASCII letter
  if (c >= 97 && c <= 122) {
    const word = LETTER_WORDS.get(text);
    return word === undefined ? text : word;
  }
  const first = text.charCodeAt(0);
  if (first >= 48 && first <= 57) {
    // Digits alone (a count, a concurrency) are an integer a double holds exactly; a digit
    // followed by any character no int or float has (`123456789012.dkr.ecr…`) is a string.
    if (SHORT_DIGITS.test(text)) return Number(text);
    if (NOT_NUMERIC.test(text)) return text;
  }
  const value = resolveScalar(text, CORE_SCHEMA.resolveImplicitScalarTag(text).tag.tagName);
  // The full parser reports what cannot be resolved, at its position.
  return value === UNRESOLVED || value === OUT_OF_RANGE ? undefined : value;
}

/** A value quoted in a message: one line's worth, never a whole hostile scalar. */
export function clip(text: string): string {
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/** The scalar tags of the YAML 1.2 core schema: any other (`!!binary`, `!!timestamp`) is unsupported. */
export const SCALAR_TAGS: ReadonlySet<string> = new Set(
  ['str', 'int', 'float', 'bool', 'null'].map((t) => CORE + t),
);

/** YAML 1.2 core schema scalars (the tags CORE_SCHEMA resolves implicitly). */
export function resolveScalar(
  text: string,
  tag: string,
): Scalar | typeof UNRESOLVED | typeof OUT_OF_RANGE {
  switch (tag) {
    case CORE + 'str':
      return text;
    case CORE + 'null':
      return /^(~|null|Null|NULL|)$/.test(text) ? null : UNRESOLVED;
    case CORE + 'bool':
      if (/^(true|True|TRUE)$/.test(text)) return true;
      if (/^(false|False|FALSE)$/.test(text)) return false;
      return UNRESOLVED;
    case CORE + 'int':
      if (/^[-+]?[0-9]+$/.test(text)) return exactInteger(Number(text));
      if (/^0o[0-7]+$/.test(text)) return exactInteger(parseInt(text.slice(2), 8));
      if (/^0x[0-9a-fA-F]+$/.test(text)) return exactInteger(parseInt(text.slice(2), 16));
      return UNRESOLVED;
    case CORE + 'float':
      if (/^[-+]?\.(inf|Inf|INF)$/.test(text)) return text.startsWith('-') ? -Infinity : Infinity;
      if (/^\.(nan|NaN|NAN)$/.test(text)) return NaN;
      if (/^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$/.test(text)) {
        const n = Number(text);
        // Overflow to ±Infinity, or underflow to 0 of a mantissa that is not 0.
        if (!Number.isFinite(n)) return OUT_OF_RANGE;
        if (n === 0 && /[1-9]/.test(text.split(/[eE]/)[0]!)) return OUT_OF_RANGE;
        return n;
      }
      return UNRESOLVED;
    default:
      return UNRESOLVED;
  }
}

/** Integers beyond 2^53 are rounded by a double: refused, not silently changed. */
function exactInteger(n: number): number | typeof OUT_OF_RANGE {
  return Number.isSafeInteger(n) ? n : OUT_OF_RANGE;
}
