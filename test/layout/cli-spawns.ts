/**
 * The test files that start poolsync's CLI in a child process (issue 51: at most 40; the rest
 * run commands in process, test/support/memory-io.ts). A file counts when it spawns the CLI
 * itself, or calls a function it imports from a test module that does (directly, or through
 * another function of that module).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';

const SPAWN = /\b(spawn|spawnSync|execFile|execFileSync|fork|execSync)\s*\(/;
const CLI = /src\/cli\/main|'cli', 'main\.ts'|'main\.ts'|cliFromSource|\bMAIN\b|dist\/cli/;
const startsCli = (text: string) => SPAWN.test(text) && CLI.test(text);
const calls = (text: string, name: string) => new RegExp(`(?<![\\w.])${name}\\(`).test(text);

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return name === 'fixtures' ? [] : tsFiles(path);
    return path.endsWith('.ts') ? [path] : [];
  });
}

/** The functions of a module that start the CLI, by name. */
function spawningFunctions(file: string, text: string): Set<string> {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const bodies = new Map<string, string>();
  const visit = (node: ts.Node): void => {
    let name: string | null = null;
    if (ts.isFunctionDeclaration(node) && node.name) name = node.name.text;
    else if (
      ts.isVariableDeclaration(node) &&
      ts.isIdentifier(node.name) &&
      node.initializer &&
      (ts.isArrowFunction(node.initializer) || ts.isFunctionExpression(node.initializer))
    )
      name = node.name.text;
    if (name !== null) bodies.set(name, (bodies.get(name) ?? '') + node.getText(source));
    ts.forEachChild(node, visit);
  };
  visit(source);
  const found = new Set<string>();
  for (let grew = true; grew;) {
    grew = false;
    for (const [name, body] of bodies) {
      if (found.has(name) || !(startsCli(body) || [...found].some((f) => calls(body, f)))) continue;
      found.add(name);
      grew = true;
    }
  }
  return found;
}

/** The test files under `testDir` that start the CLI, relative to it. */
export function cliSpawningTests(testDir: string): string[] {
  const texts = new Map(tsFiles(testDir).map((f) => [f, readFileSync(f, 'utf8')]));
  const helpers = new Map<string, Set<string>>();
  for (const [file, text] of texts)
    if (!file.endsWith('.test.ts') && startsCli(text))
      helpers.set(file, spawningFunctions(file, text));
  return [...texts]
    .filter(([file]) => file.endsWith('.test.ts'))
    .filter(([file, text]) => {
      if (startsCli(text)) return true;
      return [...text.matchAll(/import\s*\{([^}]*)\}\s*from\s*'(\.[^']+)'/g)].some((m) => {
        const spawning = helpers.get(resolve(dirname(file), m[2]!).replace(/\.js$/, '.ts'));
        return m[1]!.split(',').some((named) => {
          const [name, local] = named.replace(/^\s*type\s+/, '').split(/\s+as\s+/);
          return spawning?.has(name!.trim()) && calls(text, (local ?? name!).trim());
        });
      });
    })
    .map(([file]) => relative(testDir, file))
    .sort();
}
