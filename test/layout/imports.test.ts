/**
 * The layout's rules over the import graph of src/ (docs/architecture.md): no import circle;
 * no backend folder under src/controlplane/ imports another; the product never imports the
 * stand-ins of other systems (only the CLI's `control-plane serve` mounts them); the stand-ins
 * and every hand-written module stays within 400 lines (generated code lives in src/gen/).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { importCircles, importGraph, SRC } from './imports.js';

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

  it('no hand-written module is over 400 lines (generated code lives in src/gen/)', () => {
    const over = [...graph.keys()]
      .filter((m) => !m.startsWith('gen/'))
      .map((m) => [m, readFileSync(join(SRC, m), 'utf8').split('\n').length - 1] as const)
      .filter(([, lines]) => lines > 400)
      .map(([m, lines]) => `${m}: ${lines}`);
    expect(over).toEqual([]);
  });
});
