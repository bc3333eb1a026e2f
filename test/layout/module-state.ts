/**
 * Module-level mutable state in a source file, read with the TypeScript compiler: what makes a
 * module remember something between calls (issue 37: src/manifests/ and src/plan/ keep none;
 * caches live at the edge, src/incremental/). Found:
 * - a top-level `let` or `var`;
 * - a top-level `const` holding a new Map, Set, WeakMap, WeakSet or Array, an array or object
 *   literal, that the file changes (a mutating method called on it: set, add, push…; or an
 *   assignment, `++` or `delete` through it);
 * - a top-level `const` holding an instance of any other class the file calls a method of or
 *   assigns through (a method may change it); instances of Error, RegExp, TextEncoder,
 *   TextDecoder and Intl's classes are values.
 * Not found (reviewed by hand): state reached through an alias, or a class's static fields.
 */
import ts from 'typescript';

const COLLECTIONS = new Set(['Map', 'Set', 'WeakMap', 'WeakSet', 'Array']);
const VALUES = new Set(['Error', 'RegExp', 'TextEncoder', 'TextDecoder']);
const MUTATORS = new Set([
  'set',
  'add',
  'delete',
  'clear',
  'push',
  'pop',
  'shift',
  'unshift',
  'splice',
  'sort',
  'reverse',
  'fill',
  'copyWithin',
]);

/** What a top-level const holds, when it may hold state; `own`: the names a literal declares. */
type Holder = { kind: 'collection' | 'instance'; own: Set<string> };

function holderOf(init: ts.Expression | undefined): Holder | null {
  if (!init) return null;
  if (
    ts.isParenthesizedExpression(init) ||
    ts.isAsExpression(init) ||
    ts.isSatisfiesExpression(init)
  )
    return holderOf(init.expression);
  const collection = (own: Set<string> = new Set()): Holder => ({ kind: 'collection', own });
  if (ts.isArrayLiteralExpression(init)) return collection();
  if (ts.isObjectLiteralExpression(init))
    return collection(
      new Set(
        init.properties.flatMap((p) => (p.name && ts.isIdentifier(p.name) ? [p.name.text] : [])),
      ),
    );
  if (!ts.isNewExpression(init)) return null;
  const ctor = init.expression;
  const instance: Holder = { kind: 'instance', own: new Set() };
  if (ts.isIdentifier(ctor)) {
    if (COLLECTIONS.has(ctor.text)) return collection();
    return VALUES.has(ctor.text) ? null : instance;
  }
  if (ts.isPropertyAccessExpression(ctor) && ts.isIdentifier(ctor.expression))
    return ctor.expression.text === 'Intl' ? null : instance;
  return instance;
}

/** The identifier an access chain (`x.a`, `x[k].b`) starts from. */
function rootOf(node: ts.Expression): ts.Identifier | null {
  let e = node;
  while (ts.isPropertyAccessExpression(e) || ts.isElementAccessExpression(e)) e = e.expression;
  return ts.isIdentifier(e) ? e : null;
}

const ASSIGNMENTS = new Set([
  ts.SyntaxKind.EqualsToken,
  ts.SyntaxKind.PlusEqualsToken,
  ts.SyntaxKind.MinusEqualsToken,
  ts.SyntaxKind.AsteriskEqualsToken,
  ts.SyntaxKind.SlashEqualsToken,
  ts.SyntaxKind.BarBarEqualsToken,
  ts.SyntaxKind.AmpersandAmpersandEqualsToken,
  ts.SyntaxKind.QuestionQuestionEqualsToken,
]);

/**
 * What `file` does through a name: `mutator` (a mutating method called on it or on what it
 * holds), `write` (an assignment, `++`, `delete` through it), `call` (another method called
 * on it); `method` is the name of a method called on the name itself.
 */
interface Use {
  how: 'mutator' | 'write' | 'call';
  method?: string;
}

function usesOf(file: ts.SourceFile): Map<string, Use[]> {
  const out = new Map<string, Use[]>();
  const note = (target: ts.Expression, use: Use) => {
    const root = rootOf(target);
    if (!root) return;
    const list = out.get(root.text) ?? [];
    list.push(use);
    out.set(root.text, list);
  };
  const isAccess = (e: ts.Expression) =>
    ts.isPropertyAccessExpression(e) || ts.isElementAccessExpression(e);
  const visit = (node: ts.Node): void => {
    if (ts.isCallExpression(node) && ts.isPropertyAccessExpression(node.expression)) {
      const { expression: on, name } = node.expression;
      const how = MUTATORS.has(name.text) ? 'mutator' : 'call';
      note(on, ts.isIdentifier(on) ? { how, method: name.text } : { how });
    } else if (ts.isBinaryExpression(node) && ASSIGNMENTS.has(node.operatorToken.kind)) {
      if (isAccess(node.left)) note(node.left, { how: 'write' });
    } else if (
      (ts.isPrefixUnaryExpression(node) || ts.isPostfixUnaryExpression(node)) &&
      (node.operator === ts.SyntaxKind.PlusPlusToken ||
        node.operator === ts.SyntaxKind.MinusMinusToken) &&
      isAccess(node.operand)
    ) {
      note(node.operand, { how: 'write' });
    } else if (ts.isDeleteExpression(node)) {
      note(node.expression, { how: 'write' });
    }
    ts.forEachChild(node, visit);
  };
  visit(file);
  return out;
}

/** How a holder is changed by its uses, or null when it is not. */
function change(holder: Holder, uses: Use[]): Use['how'] | null {
  for (const how of ['write', 'mutator', 'call'] as const) {
    const hit = uses.some(
      (u) =>
        u.how === how &&
        // A literal's own function called (`keys.set(k)`) is no mutation.
        !(u.method !== undefined && holder.own.has(u.method)),
    );
    if (hit && (how !== 'call' || holder.kind === 'instance')) return how;
  }
  return null;
}

/** `name:line what` for each piece of module-level mutable state in `source`. */
export function moduleState(name: string, source: string): string[] {
  const file = ts.createSourceFile(name, source, ts.ScriptTarget.Latest, true);
  const uses = usesOf(file);
  const found: string[] = [];
  const at = (node: ts.Node) =>
    `${name}:${file.getLineAndCharacterOfPosition(node.getStart()).line + 1}`;
  for (const statement of file.statements) {
    if (!ts.isVariableStatement(statement)) continue;
    const list = statement.declarationList;
    const isConst = (list.flags & ts.NodeFlags.Const) !== 0;
    for (const d of list.declarations) {
      const names = ts.isIdentifier(d.name) ? d.name.text : d.name.getText(file);
      if (!isConst) {
        found.push(`${at(d)} top-level let/var ${names}`);
        continue;
      }
      if (!ts.isIdentifier(d.name)) continue;
      const holder = holderOf(d.initializer);
      const how = holder && change(holder, uses.get(d.name.text) ?? []);
      if (holder && how)
        found.push(`${at(d)} top-level ${holder.kind} ${d.name.text} changed (${how})`);
    }
  }
  return found;
}
