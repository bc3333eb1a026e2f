/**
 * src/gen/manifests/validators.ts (ajv standalone code, scripts/build-validators.ts)
 * stands in for compiling schemas/*.schema.json at start-up. It must be current with the
 * schemas, and must report exactly the errors the ajv-compiled validators report: schema.ts
 * builds its messages from `params`, `data`, `parentSchema` and `propertyName`.
 */
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { fileURLToPath } from 'node:url';
import type { ValidateFunction } from 'ajv/dist/2020.js';
import { loadAll } from 'js-yaml';
import { describe, expect, it } from 'vitest';
import {
  REGENERATE_COMMAND,
  SCHEMAS,
  compileValidators,
  generatedFiles,
  type GeneratedKind,
} from '../../scripts/build-validators.js';
import { MANIFEST_KINDS } from '../../src/manifests/schema.js';
import * as generated from '../../src/gen/manifests/validators.js';

const KINDS = Object.keys(SCHEMAS) as GeneratedKind[];
const standalone = generated as unknown as Record<GeneratedKind, ValidateFunction>;
const compiled = await compileValidators();

async function yamlFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile() && /\.ya?ml$/.test(e.name))
    .map((e) => join(e.parentPath, e.name))
    .sort();
}

/**
 * Every document of every YAML file under the fixture and example trees that parses, with
 * the schemas to check it against: its own kind's, else all of them.
 */
async function corpus(): Promise<{ doc: unknown; kinds: GeneratedKind[] }[]> {
  const out: { doc: unknown; kinds: GeneratedKind[] }[] = [];
  for (const dir of ['test/fixtures', 'examples']) {
    for (const file of await yamlFiles(dir)) {
      let docs: unknown[];
      try {
        docs = loadAll(await readFile(file, 'utf8'));
      } catch {
        continue; // YAML syntax fixtures: nothing for a schema to see.
      }
      for (const doc of docs) {
        const kind = (doc as { kind?: unknown } | null)?.kind;
        const own: GeneratedKind | undefined = KINDS.find((k) => k === kind);
        out.push({
          doc,
          kinds: own ? [own] : file.endsWith('poolsync.yaml') ? ['RepoConfig'] : KINDS,
        });
      }
    }
  }
  return out;
}

const WRONG_VALUES: unknown[] = [
  null,
  0,
  -1,
  1.5,
  1e12,
  true,
  'yes',
  '',
  'Not_A-Name-',
  'x'.repeat(300),
  [],
  ['a', 'a'],
  [1, {}],
  {},
  { '': 'x' },
  { ['k'.repeat(300)]: 1 },
  { bogus: 1 },
];

/** Every length limit (`length`) or number limit (`imum`) in the schemas. */
async function schemaLimits(suffix: 'Length' | 'imum'): Promise<number[]> {
  const limits = new Set<number>();
  const walk = (node: unknown): void => {
    if (node === null || typeof node !== 'object') return;
    for (const [key, value] of Object.entries(node)) {
      if ((key === `min${suffix}` || key === `max${suffix}`) && typeof value === 'number') {
        limits.add(value);
      }
      walk(value);
    }
  };
  for (const file of Object.values(SCHEMAS)) {
    walk(JSON.parse(await readFile(join('schemas', file), 'utf8')));
  }
  return [...limits].sort((a, b) => a - b);
}

/** Values on both sides of each schema limit. */
const around = (limits: number[]): number[] => limits.flatMap((n) => [n - 1, n, n + 1]);
const LIMIT_STRINGS = around(await schemaLimits('Length'))
  .filter((n) => n >= 0)
  .map((n) => 'a'.repeat(n));
const LIMIT_NUMBERS = around(await schemaLimits('imum'));

/**
 * The value itself, then wrong values in its place (values at each schema limit for a
 * string or number); for a mapping also each field dropped or a misspelt one added; and
 * the same, recursively, for each child.
 */
function* mutations(value: unknown): Generator<unknown> {
  yield value;
  yield* WRONG_VALUES;
  if (typeof value === 'string') yield* LIMIT_STRINGS;
  if (typeof value === 'number') yield* LIMIT_NUMBERS;
  if (value === null || typeof value !== 'object') return;
  const entries = Array.isArray(value)
    ? value.map((v, i) => [String(i), v] as const)
    : Object.entries(value);
  if (!Array.isArray(value)) yield { ...value, specc: {} };
  for (const [key, child] of entries) {
    const withChild = (v: unknown): unknown =>
      Array.isArray(value)
        ? value.map((x, i) => (String(i) === key ? v : x))
        : { ...value, [key]: v };
    if (!Array.isArray(value)) {
      const { [key]: _dropped, ...rest } = value as Record<string, unknown>;
      yield rest;
    }
    for (const inner of mutations(child)) if (inner !== child) yield withChild(inner);
  }
}

describe('generated validators (scripts/build-validators.ts)', () => {
  it('are current with schemas/*.schema.json and the installed ajv (validators, kinds)', async () => {
    for (const [file, expected] of await generatedFiles()) {
      const actual = await readFile(file, 'utf8');
      expect(
        actual === expected,
        `${fileURLToPath(file)} is out of date: run \`${REGENERATE_COMMAND}\``,
      ).toBe(true);
    }
  });

  it('export one validator per manifest kind and the repo config', () => {
    expect([...KINDS].sort()).toEqual([...MANIFEST_KINDS, 'RepoConfig'].sort());
    for (const kind of KINDS) expect(typeof standalone[kind], kind).toBe('function');
  });

  it('report a repeated __proto__ as a duplicate, as any repeated string (ajv itself misses it)', () => {
    const queue = (clusters: string[]) => ({
      apiVersion: 'poolsync/v1',
      kind: 'Queue',
      metadata: { name: 'q' },
      spec: { pool: 'p', run_concurrency: 1, action_concurrency: 1, clusters },
    });
    for (const name of ['__proto__', 'a']) {
      expect(standalone.Queue(queue([name, name]))).toBe(false);
      expect(standalone.Queue.errors?.map((e) => e.keyword)).toContain('uniqueItems');
    }
    expect(standalone.Queue(queue(['a', 'b']))).toBe(true);
  });

  it('report exactly the errors of the ajv-compiled schemas (verbose: data, parentSchema)', async () => {
    const keywords = new Set<string>();
    let cases = 0;
    let failures = 0;
    for (const { doc, kinds } of await corpus()) {
      const seen = new Set<string>();
      for (const value of mutations(doc)) {
        const text = JSON.stringify(value);
        if (seen.has(text)) continue;
        seen.add(text);
        for (const kind of kinds) {
          const want = compiled[kind](value);
          const got = standalone[kind](value);
          cases += 1;
          if (!want) failures += 1;
          // The deep comparison with a diff runs only on a mismatch: it is slow on big errors.
          if (
            got === want &&
            (want || isDeepStrictEqual(standalone[kind].errors, compiled[kind].errors))
          ) {
            for (const err of compiled[kind].errors ?? []) keywords.add(err.keyword);
            continue;
          }
          const what = `${kind}: ${text}`;
          expect(got, what).toBe(want);
          expect(standalone[kind].errors, what).toStrictEqual(compiled[kind].errors);
        }
      }
    }
    // The corpus must reach every keyword the schemas use, with valid documents too.
    expect(cases - failures).toBeGreaterThan(50);
    expect([...keywords].sort()).toEqual(
      [
        'additionalProperties',
        'const',
        // ExecutionClusterLabel: a workflow needs a domain (the project-wide row has neither).
        'dependentRequired',
        'enum',
        'if',
        'maxLength',
        'maxProperties',
        'maximum',
        'minItems',
        'minLength',
        'minimum',
        'pattern',
        'propertyNames',
        'required',
        'type',
        'uniqueItems',
      ].sort(),
    );
    // Eight kinds over the whole corpus: minutes on a loaded 2-core machine.
  }, 240_000);
});
