/**
 * No change is written after it is made (src/plan/forms.ts makeChange, changeWith): a pass that
 * learns more of a change (its cause, a note, an activation) makes a new one, so a decision a
 * later pass reads is never changed under it. Found
 * with the TypeScript compiler's types, in every module of src/plan/: an assignment, `++`/`--`
 * or `delete` of a member of a `Change`, `Object.assign` onto one, or a call that changes its
 * `diff` list in place.
 */
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import ts from 'typescript';
import { afterAll, describe, expect, it } from 'vitest';

const PLAN = resolve(import.meta.dirname, '../../src/plan');
const IN_PLACE = new Set(['push', 'pop', 'shift', 'unshift', 'splice', 'sort', 'reverse', 'fill']);

function tsFiles(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.ts'))
    .map((f) => join(dir, f));
}

/** `file:line text` of each write to a Change (the interface declared in a file `declaredIn` ends with). */
function changeWrites(files: string[], declaredIn: string): string[] {
  const program = ts.createProgram(files, {
    strict: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    noEmit: true,
    skipLibCheck: true,
    types: [],
  });
  const checker = program.getTypeChecker();
  const isChange = (node: ts.Expression): boolean => {
    const type = checker.getTypeAtLocation(node);
    const symbol = type.aliasSymbol ?? type.getSymbol();
    return (
      symbol?.getName() === 'Change' &&
      (symbol.getDeclarations() ?? []).some((d) => d.getSourceFile().fileName.endsWith(declaredIn))
    );
  };
  /** A member of a change (`c.note`, `c['note']`), or its diff list's element (`c.diff[0]`). */
  const ofChange = (node: ts.Node): boolean =>
    (ts.isPropertyAccessExpression(node) || ts.isElementAccessExpression(node)) &&
    (isChange(node.expression) || ofChange(node.expression));
  const writes: string[] = [];
  for (const source of program.getSourceFiles()) {
    if (!files.includes(source.fileName)) continue;
    const note = (node: ts.Node) => {
      const line = source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1;
      writes.push(`${source.fileName.split('/').pop()}:${line} ${node.getText(source)}`);
    };
    const visit = (node: ts.Node): void => {
      if (
        ts.isBinaryExpression(node) &&
        node.operatorToken.kind >= ts.SyntaxKind.FirstAssignment &&
        node.operatorToken.kind <= ts.SyntaxKind.LastAssignment &&
        ofChange(node.left)
      )
        note(node);
      else if (
        (ts.isPrefixUnaryExpression(node) || ts.isPostfixUnaryExpression(node)) &&
        (node.operator === ts.SyntaxKind.PlusPlusToken ||
          node.operator === ts.SyntaxKind.MinusMinusToken) &&
        ofChange(node.operand)
      )
        note(node);
      else if (ts.isDeleteExpression(node) && ofChange(node.expression)) note(node);
      else if (ts.isCallExpression(node) && ts.isPropertyAccessExpression(node.expression)) {
        const { expression: target, name } = node.expression;
        const assign = target.getText(source) === 'Object' && name.text === 'assign';
        if (assign && node.arguments[0] && isChange(node.arguments[0])) note(node);
        else if (IN_PLACE.has(name.text) && ofChange(target)) note(node);
      }
      ts.forEachChild(node, visit);
    };
    visit(source);
  }
  return writes;
}

const temp: string[] = [];
afterAll(() => {
  for (const dir of temp) rmSync(dir, { recursive: true, force: true });
});

describe('changes in src/plan', () => {
  it('no module writes to a change after it is made', () => {
    const files = tsFiles(PLAN);
    expect(files.map((f) => f.split('/').pop())).toContain('queues.ts');
    expect(changeWrites(files, 'src/model/plan.ts')).toEqual([]);
  });

  it('finds each kind of write, and not a read or a new change (the check can fail)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'poolsync-change-writes-'));
    temp.push(dir);
    writeFileSync(
      join(dir, 'model.ts'),
      'export interface Change { note?: string | null; action: string; diff: { path: string }[] }\n',
    );
    const sample = [
      "import type { Change } from './model.js';",
      "export function a(c: Change) { c.note = 'x'; }",
      "export function b(d: { change: Change }) { d.change.action = 'update'; }",
      "export function e(c: Change) { c.diff.push({ path: 'state' }); }",
      "export function f(c: Change) { Object.assign(c, { note: 'y' }); }",
      'export function g(c: Change) { delete c.note; }',
      "export function h(c: Change) { c.diff[0] = { path: 'p' }; }",
      // Reads, and new changes, are not writes.
      "export function i(c: Change): Change { const n = c.note; return { ...c, note: n ?? 'z' }; }",
      "export function j(x: { note: string }) { x.note = 'not a change'; }",
    ].join('\n');
    writeFileSync(join(dir, 'sample.ts'), sample);
    const found = changeWrites([join(dir, 'sample.ts')], `${dir}/model.ts`);
    expect(found.map((w) => w.split(' ')[0])).toEqual([
      'sample.ts:2',
      'sample.ts:3',
      'sample.ts:4',
      'sample.ts:5',
      'sample.ts:6',
      'sample.ts:7',
    ]);
  });
});
