/**
 * The shape of src/ for refactoring notes (issue 37's before/after): the functions longer than
 * a bound (lines, with their place), the largest modules, and the module graph by folder (how
 * many imports run from each top folder of src/ into each other one). Read-only; generated
 * code (src/gen/) is left out.
 *
 *   node --import tsx scripts/code-shape.ts [--min 60] [--top 15]
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';

const ROOT = resolve(import.meta.dirname, '..');
const SRC = join(ROOT, 'src');

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return path === join(SRC, 'gen') ? [] : sourceFiles(path);
    return e.name.endsWith('.ts') ? [path] : [];
  });
}

interface FunctionSize {
  where: string;
  name: string;
  lines: number;
}

function functionName(node: ts.Node): string {
  if ((ts.isFunctionDeclaration(node) || ts.isMethodDeclaration(node)) && node.name !== undefined)
    return node.name.getText();
  if (ts.isConstructorDeclaration(node)) return 'constructor';
  const parent = node.parent;
  if (ts.isVariableDeclaration(parent) || ts.isPropertyAssignment(parent))
    return parent.name.getText();
  return '(anonymous)';
}

function functionsOf(file: string): FunctionSize[] {
  const text = readFileSync(file, 'utf8');
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const out: FunctionSize[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isFunctionLike(node) && 'body' in node && node.body) {
      const start = source.getLineAndCharacterOfPosition(node.getStart(source)).line;
      const end = source.getLineAndCharacterOfPosition(node.getEnd()).line;
      out.push({
        where: `${relative(ROOT, file)}:${start + 1}`,
        name: functionName(node),
        lines: end - start + 1,
      });
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return out;
}

/** The top folder of src/ a module is in (`controlplane`, `plan` …). */
function layerOf(file: string): string {
  return relative(SRC, file).split('/')[0]!.replace(/\.ts$/, '');
}

function importsOf(file: string): string[] {
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest);
  const specs: string[] = [];
  source.forEachChild((node) => {
    if (
      (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) &&
      node.moduleSpecifier &&
      ts.isStringLiteral(node.moduleSpecifier)
    )
      specs.push(node.moduleSpecifier.text);
  });
  return specs
    .filter((s) => s.startsWith('.'))
    .map((s) => resolve(dirname(file), s.replace(/\.js$/, '.ts')));
}

const files = sourceFiles(SRC);
const min = arg('--min', 60);
const top = arg('--top', 15);

const long = files
  .flatMap(functionsOf)
  .filter((f) => f.lines > min)
  .sort((a, b) => b.lines - a.lines);
console.log(`functions over ${min} lines: ${long.length}`);
for (const f of long) console.log(`  ${String(f.lines).padStart(4)}  ${f.name}  ${f.where}`);

const sizes = files
  .map((f) => ({ file: relative(ROOT, f), lines: readFileSync(f, 'utf8').split('\n').length }))
  .sort((a, b) => b.lines - a.lines);
console.log(`\nmodules: ${files.length}; largest ${top}:`);
for (const s of sizes.slice(0, top)) console.log(`  ${String(s.lines).padStart(4)}  ${s.file}`);

const edges = new Map<string, number>();
let cross = 0;
for (const f of files)
  for (const target of importsOf(f)) {
    const [from, to] = [layerOf(f), layerOf(target)];
    if (from === to) continue;
    cross++;
    edges.set(`${from} -> ${to}`, (edges.get(`${from} -> ${to}`) ?? 0) + 1);
  }
console.log(`\nimports across folders of src/: ${cross} (${edges.size} folder pairs)`);
for (const [pair, n] of [...edges].sort((a, b) => a[0].localeCompare(b[0])))
  console.log(`  ${String(n).padStart(4)}  ${pair}`);
