/**
 * The import graph as the TypeScript compiler reads it: every module and the modules it imports
 * (static `import`/`export … from`, type-only ones included: a circle of types is still two
 * modules that cannot be understood apart). Dynamic `import()` (and `typeof import()`) is left
 * out of the layer rules (it is how a module loads another on demand, and the caller's layer
 * decides whether that may happen) and counted where two modules must not import each other.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';

export const SRC = resolve(import.meta.dirname, '../../src');
export const ROOT = resolve(SRC, '..');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return path.endsWith('.ts') && !path.endsWith('.d.ts') ? [path] : [];
  });
}

/** The relative specifiers a module imports: its static ones, and with `dynamic` the rest. */
function specifiers(source: ts.SourceFile, dynamic: boolean): string[] {
  const found: string[] = [];
  const visit = (node: ts.Node): void => {
    let specifier: ts.Node | undefined;
    if (ts.isImportDeclaration(node) || ts.isExportDeclaration(node))
      specifier = node.moduleSpecifier;
    else if (!dynamic) return;
    else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword)
      specifier = node.arguments[0];
    else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument))
      specifier = node.argument.literal;
    if (specifier && ts.isStringLiteralLike(specifier)) found.push(specifier.text);
    ts.forEachChild(node, visit);
  };
  source.statements.forEach(visit);
  return found.filter((s) => s.startsWith('.'));
}

/**
 * Module (path relative to `base`, e.g. `plan/index.ts` under src/) → the modules it imports;
 * by default the static imports of src/.
 */
export function importGraph({ dirs = [SRC], base = SRC, dynamic = false } = {}): Map<
  string,
  string[]
> {
  const graph = new Map<string, string[]>();
  for (const file of dirs.flatMap(sourceFiles)) {
    const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest);
    const deps = new Set<string>();
    for (const specifier of specifiers(source, dynamic)) {
      const target = resolve(dirname(file), specifier).replace(/\.js$/, '.ts');
      deps.add(relative(base, target));
    }
    graph.set(relative(base, file), [...deps].sort());
  }
  return graph;
}

/** Every two modules that import each other, each pair once (`a ↔ b`, a before b). */
export function mutualImports(graph: Map<string, string[]>): string[] {
  return [...graph].flatMap(([from, deps]) =>
    deps
      .filter((to) => from < to && (graph.get(to) ?? []).includes(from))
      .map((to) => `${from} ↔ ${to}`),
  );
}

/** The strongly connected components of more than one module (Tarjan): each is a circle. */
export function importCircles(graph: Map<string, string[]>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const circles: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) !== index.get(v)) return;
    const component: string[] = [];
    let w: string;
    do {
      w = stack.pop()!;
      onStack.delete(w);
      component.push(w);
    } while (w !== v);
    if (component.length > 1) circles.push(component.sort());
  };
  for (const v of [...graph.keys()].sort()) if (!index.has(v)) visit(v);
  return circles;
}

/**
 * The layer order docs/architecture.md draws (the first line of its "Layers" diagram:
 * `cli ─► daemon ─► … ─► util`), top first; folders of one layer are separated by `/`.
 */
export function documentedLayers(architecture: string): string[][] {
  const section = architecture.split('\n## Layers')[1] ?? '';
  const line = /```\n([^\n]*)\n/.exec(section)?.[1] ?? '';
  return line.split('─►').map((layer) => layer.split('/').map((folder) => folder.trim()));
}

/**
 * Imports from one top folder of src/ into another that do not run down `layers`: into a
 * folder of the same or a higher layer, or from or into a folder the layers do not name.
 */
export function layerViolations(graph: Map<string, string[]>, layers: string[][]): string[] {
  const layerOf = (module: string) => layers.findIndex((l) => l.includes(module.split('/')[0]!));
  return [...graph].flatMap(([from, deps]) =>
    deps
      .filter((to) => from.split('/')[0] !== to.split('/')[0])
      .filter((to) => layerOf(from) < 0 || layerOf(to) <= layerOf(from))
      .map((to) => `${from} → ${to}`),
  );
}
