/**
 * No daemon stage writes the memory that outlives a run (RunMemory, src/daemon/stages/context.ts):
 * a stage returns what it learnt in `Staged.remember` and the reconcile loop (Reconciler.take)
 * puts it in the memory, in one place. Read from the stages' syntax trees, as the compiler
 * reads them: an assignment, `++`/`--`, `delete` or `Object.assign`/`defineProperty`/`Reflect.set`
 * whose target reaches `memory` (directly, destructured or through an alias) is a write.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const STAGES = resolve(import.meta.dirname, '../../src/daemon/stages');
const MUTATORS = new Set(['Object.assign', 'Object.defineProperty', 'Reflect.set']);

/** `line:col text` of each write to the memory in `text`. */
function memoryWrites(file: string, text: string): string[] {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const aliases = new Set<string>();
  const writes: string[] = [];
  const reachesMemory = (node: ts.Node): boolean => {
    if (ts.isIdentifier(node)) return node.text === 'memory' || aliases.has(node.text);
    if (ts.isPropertyAccessExpression(node))
      return node.name.text === 'memory' || reachesMemory(node.expression);
    if (ts.isElementAccessExpression(node) || ts.isParenthesizedExpression(node))
      return reachesMemory(node.expression);
    if (ts.isNonNullExpression(node) || ts.isAsExpression(node))
      return reachesMemory(node.expression);
    return false;
  };
  const note = (node: ts.Node) => {
    const { line, character } = source.getLineAndCharacterOfPosition(node.getStart());
    writes.push(`${line + 1}:${character + 1} ${node.getText()}`);
  };
  const visit = (node: ts.Node): void => {
    if (ts.isVariableDeclaration(node) && node.initializer) {
      // `const m = ctx.memory` / `const { memory: m } = ctx`: m is the memory too.
      const init = node.initializer.getText();
      if (ts.isIdentifier(node.name) && (/(^|\.)memory$/.test(init) || aliases.has(init)))
        aliases.add(node.name.text);
      if (ts.isObjectBindingPattern(node.name))
        for (const el of node.name.elements) {
          const key = (el.propertyName ?? el.name).getText();
          if (key === 'memory' && ts.isIdentifier(el.name)) aliases.add(el.name.text);
        }
    }
    const op = ts.isBinaryExpression(node) ? node.operatorToken.kind : null;
    if (
      ts.isBinaryExpression(node) &&
      op !== null &&
      op >= ts.SyntaxKind.FirstAssignment &&
      op <= ts.SyntaxKind.LastAssignment &&
      reachesMemory(node.left)
    )
      note(node);
    else if (
      (ts.isPrefixUnaryExpression(node) || ts.isPostfixUnaryExpression(node)) &&
      (node.operator === ts.SyntaxKind.PlusPlusToken ||
        node.operator === ts.SyntaxKind.MinusMinusToken) &&
      reachesMemory(node.operand)
    )
      note(node);
    else if (ts.isDeleteExpression(node) && reachesMemory(node.expression)) note(node);
    else if (
      ts.isCallExpression(node) &&
      MUTATORS.has(node.expression.getText()) &&
      node.arguments[0] !== undefined &&
      reachesMemory(node.arguments[0])
    )
      note(node);
    ts.forEachChild(node, visit);
  };
  visit(source);
  return writes;
}

describe('the daemon stages and the memory that outlives a run', () => {
  it('no stage writes it: each returns what to remember (Staged.remember)', () => {
    const files = readdirSync(STAGES).filter((f) => f.endsWith('.ts'));
    expect(files).toContain('repository.ts'); // the load stage
    const writes = files.flatMap((f) =>
      memoryWrites(f, readFileSync(join(STAGES, f), 'utf8')).map((w) => `${f}:${w}`),
    );
    expect(writes).toEqual([]);
  });

  it('finds a write, however it is spelt (the check can fail)', () => {
    const text = [
      'function a(ctx) { ctx.memory.converged = true; }',
      'function b(ctx) { const { memory } = ctx; memory.loaded = null; }',
      'function c(ctx) { const m = ctx.memory; m.renderedCommit ??= "x"; }',
      'function d(ctx) { Object.assign(ctx.memory, { converged: true }); }',
      'function e(ctx) { const { memory: kept } = ctx; delete kept.renderedCommit; }',
      'function f(ctx) { ctx.memory.count++; }',
      // Reads are not writes.
      'function g(ctx) { const { loaded } = ctx.memory; return loaded?.commit === ctx.memory.lastEvaluatedCommit; }',
      'function h(ctx) { const status = {}; status.x = ctx.memory.converged; return { remember: { converged: true } }; }',
    ].join('\n');
    // One write found on each of the first six lines (line:column text), none on the reads.
    expect(memoryWrites('sample.ts', text).map((w) => w.split(':')[0])).toEqual([
      '1',
      '2',
      '3',
      '4',
      '5',
      '6',
    ]);
  });
});
