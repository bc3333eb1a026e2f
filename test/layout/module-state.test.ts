/**
 * The pure core keeps no state between calls (issue 37, docs/architecture.md "Where state
 * lives"): no module of src/manifests/ or src/plan/ holds module-level mutable state
 * (module-state.ts says what counts), but for the short list below, each with its reason; nor
 * does src/controlplane/ (the embedded state cache is src/incremental/state-cache.ts), nor
 * src/incremental/: each cache is an object its owner makes (one per daemon unit, issue 51).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SRC } from './imports.js';
import { moduleState } from './module-state.js';

/** `file what` (no line: edits above it move it) → why it is no state of the loader's or the planner's. */
const ALLOWED: Record<string, string> = {
  'manifests/yaml.ts top-level collection keyIndexes changed (mutator)':
    "a lookup index of one mapping node's own entries, held weakly by the node: part of the value, gone with it",
  'controlplane/embedded/embedded.ts top-level collection views changed (mutator)':
    'the frozen list views of one embedded state, held weakly by the state and made stale by its every write: part of the state, gone with it',
  'controlplane/embedded/state.ts top-level collection indexes changed (mutator)':
    "the index of one embedded state's records, held weakly by the state and kept by its every write: part of the state, gone with it",
};

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return sources(path);
    return e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [path] : [];
  });
}

describe('module-level mutable state', () => {
  it('src/manifests/, src/plan/, src/controlplane/ and src/incremental/ hold none (but the allowed list, each with its reason)', () => {
    const found = ['manifests', 'plan', 'controlplane', 'incremental'].flatMap((folder) =>
      sources(join(SRC, folder)).flatMap((path) =>
        moduleState(relative(SRC, path), readFileSync(path, 'utf8')),
      ),
    );
    const unplaced = (f: string) => f.replace(/^([^:]+):\d+ /, '$1 ');
    expect(found.filter((f) => !(unplaced(f) in ALLOWED))).toEqual([]);
    // An entry that no longer matches anything is taken off the list.
    expect(Object.keys(ALLOWED).filter((a) => !found.map(unplaced).includes(a))).toEqual([]);
  });

  it('finds a top-level let or var, and a changed collection or instance (the check can fail)', () => {
    const source = [
      'let count = 0;',
      'var legacy;',
      'const memo = new Map<string, number>();',
      'const seen = new WeakSet<object>();',
      'const list: string[] = [];',
      'const stats = { hits: 0 };',
      'const layer = new MemoryLayer(10);',
      'const fixed = new Set(["a"]);',
      'const words = { a: 1 } as const;',
      'const GIVE_UP = new Error("x");',
      'const collator = new Intl.Collator("en");',
      'const keys = { set: (k: string) => `s:${k}`, all: [] as string[] };',
      'export function f(k: string): number {',
      '  count++;',
      '  memo.set(k, 1);',
      '  if (!seen.has(memo)) list.push(k);',
      '  stats.hits++;',
      '  layer.get(k);',
      '  keys.all.push(keys.set(k));',
      '  return fixed.has(k) ? words.a : collator.compare(k, k);',
      '}',
    ].join('\n');
    expect(moduleState('x.ts', source)).toEqual([
      'x.ts:1 top-level let/var count',
      'x.ts:2 top-level let/var legacy',
      'x.ts:3 top-level collection memo changed (mutator)',
      'x.ts:5 top-level collection list changed (mutator)',
      'x.ts:6 top-level collection stats changed (write)',
      'x.ts:7 top-level instance layer changed (call)',
      'x.ts:12 top-level collection keys changed (mutator)',
    ]);
    // A const that is only read, and state inside a function, are not module state.
    expect(
      moduleState(
        'y.ts',
        'const m = new Map([[1, 2]]);\nexport const g = () => { let n = 0; const s = new Set(); s.add(n++); return m.get(1); };',
      ),
    ).toEqual([]);
  });
});
