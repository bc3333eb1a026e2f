/**
 * The layout's rules over the import graph of src/ (docs/architecture.md): no import circle; no
 * two modules importing each other (dynamic imports included, src/ and test/); imports run
 * down the layer order docs/architecture.md draws (read from it); no backend folder under
 * src/controlplane/ imports another; the product never imports the
 * stand-ins of other systems (only the CLI's `control-plane serve` mounts them). Module sizes
 * are a report (scripts/code-shape.ts), not a rule: modules are split by idea.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  documentedLayers,
  importCircles,
  importGraph,
  layerViolations,
  mutualImports,
  ROOT,
  SRC,
} from './imports.js';

const graph = importGraph();
const BACKENDS = ['embedded', 'rest', 'union', 'flyteadmin'];

describe('the import graph of src/', () => {
  it('has no circle', () => {
    expect(importCircles(graph)).toEqual([]);
  });

  it('finds a circle when there is one (the check can fail)', () => {
    const circle = new Map([
      ['a.ts', ['b.ts']],
      ['b.ts', ['c.ts']],
      ['c.ts', ['a.ts']],
      ['d.ts', ['a.ts']],
    ]);
    expect(importCircles(circle)).toEqual([['a.ts', 'b.ts', 'c.ts']]);
  });

  it('has no two modules that import each other, dynamic and type imports included, in src/ or test/', () => {
    const both = importGraph({ dirs: [SRC, join(ROOT, 'test')], base: ROOT, dynamic: true });
    expect(mutualImports(both)).toEqual([]);
  });

  it('finds two modules that import each other (the check can fail)', () => {
    const pair = new Map([
      ['a.ts', ['b.ts', 'c.ts']],
      ['b.ts', ['a.ts']],
      ['c.ts', []],
    ]);
    expect(mutualImports(pair)).toEqual(['a.ts ↔ b.ts']);
  });

  it('imports run down the layers docs/architecture.md draws, never back up or across', () => {
    const layers = documentedLayers(readFileSync(join(SRC, '../docs/architecture.md'), 'utf8'));
    const folders = readdirSync(SRC, { withFileTypes: true }).filter((e) => e.isDirectory());
    // Every folder of src/ has its place in the drawing.
    expect(folders.map((e) => e.name).filter((f) => !layers.flat().includes(f))).toEqual([]);
    expect(layerViolations(graph, layers)).toEqual([]);
  });

  it('finds an import up the layers, and one across a layer (the check can fail)', () => {
    const layers = [['cli'], ['render', 'apply'], ['util']];
    const upward = new Map([
      ['util/a.ts', ['cli/b.ts', 'util/c.ts']],
      ['render/d.ts', ['apply/e.ts', 'util/a.ts']],
      ['cli/f.ts', ['render/d.ts']],
    ]);
    expect(layerViolations(upward, layers)).toEqual([
      'util/a.ts → cli/b.ts',
      'render/d.ts → apply/e.ts',
    ]);
  });

  it('no backend folder under src/controlplane/ imports another', () => {
    const crossing = [...graph].flatMap(([from, deps]) => {
      const own = BACKENDS.find((b) => from.startsWith(`controlplane/${b}/`));
      if (!own) return [];
      return deps
        .filter((to) => BACKENDS.some((b) => b !== own && to.startsWith(`controlplane/${b}/`)))
        .map((to) => `${from} → ${to}`);
    });
    expect(crossing).toEqual([]);
  });

  it('only the stand-ins and the CLI import the stand-ins', () => {
    const into = [...graph].flatMap(([from, deps]) =>
      from.startsWith('standins/') || from.startsWith('cli/')
        ? []
        : deps.filter((to) => to.startsWith('standins/')).map((to) => `${from} → ${to}`),
    );
    expect(into).toEqual([]);
  });
});
