/**
 * Checks that parsed JSON has the shape code expects: a file poolsync wrote and later finds
 * edited must give one clear message (`pools[3].contract is not an object`), never a TypeError
 * deep inside a plan. Paths are only built on failure: 100,000 records checked cost no strings.
 * A record may name what an absent field reads as (`record`'s `absent`): a file written before
 * the field existed is read as if it had been written with the field's default
 * (docs/versioning.md), the value written into the parsed object, so nothing is allocated
 * while no field is absent.
 */
export type Shape = (value: unknown) => Problem | null;

export interface Problem {
  /** `[3].contract`: where, from the value checked. */
  path: string;
  what: string;
}

const problem = (what: string): Problem => ({ path: '', what });

export const str: Shape = (v) => (typeof v === 'string' ? null : problem('is not a string'));
export const num: Shape = (v) =>
  typeof v === 'number' && Number.isFinite(v) ? null : problem('is not a number');
export const bool: Shape = (v) => (typeof v === 'boolean' ? null : problem('is not true or false'));
export const anything: Shape = () => null;

export function oneOf(...values: readonly unknown[]): Shape {
  return (v) => (values.includes(v) ? null : problem(`is not one of ${values.join(', ')}`));
}

export function nullable(shape: Shape): Shape {
  return (v) => (v === null ? null : shape(v));
}

export function listOf(shape: Shape): Shape {
  return (v) => {
    if (!Array.isArray(v)) return problem('is not a list');
    for (let i = 0; i < v.length; i++) {
      const p = shape(v[i]);
      if (p) return { path: `[${i}]${p.path}`, what: p.what };
    }
    return null;
  };
}

/**
 * An object with these fields (`optional`: may be absent). A field of `fields` named in `absent`
 * may be absent too: it is then set on the object to that value (a copy of an array or object),
 * as Terraform's configschema `CoerceValue` and ajv's `useDefaults` fill an absent optional
 * attribute; other fields are allowed.
 */
export function record(
  fields: Readonly<Record<string, Shape>>,
  optional: Readonly<Record<string, Shape>> = {},
  absent: Readonly<Record<string, unknown>> = {},
): Shape {
  // Names and shapes in two arrays, walked by index: a state of 10,000 objects checks
  // ~100,000 records once per process, mostly before the JIT has compiled this loop, where
  // an entries iterator with destructuring cost several times as much.
  const names = Object.keys(fields);
  const shapes = Object.values(fields);
  const fills = names.map((n) => Object.hasOwn(absent, n));
  const fillValues = names.map((n) => absent[n]);
  const maybeNames = Object.keys(optional);
  const maybeShapes = Object.values(optional);
  return (v) => {
    if (!isMap(v)) return problem('is not an object');
    for (let i = 0; i < names.length; i++) {
      const k = names[i]!;
      const given = v[k];
      if (given === undefined) {
        if (!fills[i]) return { path: `.${k}`, what: 'is missing' };
        const value = fillValues[i];
        // A copy: a record's list or object is its own, changed by no other record.
        v[k] = typeof value === 'object' && value !== null ? structuredClone(value) : value;
        continue;
      }
      const p = shapes[i]!(given);
      if (p) return { path: `.${k}${p.path}`, what: p.what };
    }
    for (let i = 0; i < maybeNames.length; i++) {
      const k = maybeNames[i]!;
      if (v[k] === undefined) continue;
      const p = maybeShapes[i]!(v[k]);
      if (p) return { path: `.${k}${p.path}`, what: p.what };
    }
    return null;
  };
}

/** A JSON or YAML mapping: an object, not null, not a list. */
export const isMap = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

export function shapeProblem(name: string, shape: Shape, value: unknown): string | null {
  const p = shape(value);
  return p ? `${name}${p.path} ${p.what}` : null;
}
