/**
 * The catalog of reasons (src/plan/reasons.ts, docs/plan.md One voice) against the planner
 * that uses it: every code a call in src/plan names has words, every word has a caller, and
 * each call passes exactly the parameters its code's words read. Then the plans of the golden
 * scenarios: every reason, warning and error given as data is the catalog's words for it, and
 * the JSON carries that data only for the codes it carried before (reasonInJson).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import type { Plan, ReasonParams } from '../../src/model/plan.js';
import { BLOCKED, CATALOG, reasonInJson, reasonText } from '../../src/render/reasons.js';
import { warningText } from '../../src/render/common.js';
import { changeDocument, renderJson, warningDocument } from '../../src/render/json.js';
import { driftedScenario, emptyScenario } from '../render/scenarios.js';

const PLAN = resolve(import.meta.dirname, '../../src/plan');

/** The functions that take a code (first string argument) and its parameters (an object). */
const CALLS: Record<string, { code: number; params: number }> = {
  reasonOf: { code: 0, params: 1 },
  warning: { code: 0, params: 2 },
  planError: { code: 0, params: 2 },
};

/** Parameters a helper spreads into a call, by the helper's name. */
const SPREADS: Record<string, string[]> = {
  scopeParams: ['kinds', 'source', 'inventory'],
  // deployment.ts: how flyteadmin routes a label (LABEL_NOT_DEPLOYED, LABEL_ROUTED_ELSEWHERE).
  routingParams: [
    'label',
    'source',
    'running_clusters',
    'running_weights',
    'listed',
    'wanted_clusters',
    'wanted_weights',
    'same_clusters',
    'default_label',
    'default_clusters',
    'default_weights',
    'enabled',
  ],
};

interface CallSite {
  where: string;
  codes: string[];
  /** The parameter names passed; null when the call does not spell them out. */
  params: string[] | null;
}

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return files(path);
    return path.endsWith('.ts') ? [path] : [];
  });
}

function codesOf(node: ts.Expression): string[] {
  if (ts.isStringLiteralLike(node)) return [node.text];
  if (ts.isConditionalExpression(node))
    return [...codesOf(node.whenTrue), ...codesOf(node.whenFalse)];
  if (ts.isParenthesizedExpression(node)) return codesOf(node.expression);
  return [];
}

/** The names an object literal passes (spreads of known helpers and of `c ? {…} : {…}` included). */
function keysOf(node: ts.Expression): string[] | null {
  if (ts.isParenthesizedExpression(node)) return keysOf(node.expression);
  if (ts.isConditionalExpression(node)) {
    const a = keysOf(node.whenTrue);
    const b = keysOf(node.whenFalse);
    return a && b ? [...a, ...b] : null;
  }
  if (ts.isCallExpression(node) && ts.isIdentifier(node.expression))
    return SPREADS[node.expression.text] ?? null;
  if (!ts.isObjectLiteralExpression(node)) return null;
  const keys: string[] = [];
  for (const p of node.properties) {
    if (ts.isSpreadAssignment(p)) {
      const inner = keysOf(p.expression);
      if (!inner) return null;
      keys.push(...inner);
    } else if (p.name && (ts.isIdentifier(p.name) || ts.isStringLiteral(p.name))) {
      keys.push(p.name.text);
    } else return null;
  }
  return keys;
}

function callSites(): CallSite[] {
  const sites: CallSite[] = [];
  // reasons.ts is the catalog's own API (warning() calls reasonOf with the code it was given).
  for (const file of files(PLAN).filter((f) => relative(PLAN, f) !== 'reasons.ts')) {
    const source = ts.createSourceFile(
      file,
      readFileSync(file, 'utf8'),
      ts.ScriptTarget.Latest,
      true,
    );
    const visit = (node: ts.Node): void => {
      if (ts.isCallExpression(node) && ts.isIdentifier(node.expression)) {
        const call = CALLS[node.expression.text];
        const code = call && node.arguments[call.code];
        const params = call && node.arguments[call.params];
        if (code && params) {
          const { line } = source.getLineAndCharacterOfPosition(node.getStart());
          sites.push({
            where: `${relative(PLAN, file)}:${line + 1}`,
            codes: codesOf(code),
            params: keysOf(params),
          });
        }
      }
      ts.forEachChild(node, visit);
    };
    visit(source);
  }
  return sites;
}

/** The parameter names the words of `code` read, whatever values they are given. */
function paramsRead(code: string): string[] {
  const read = new Set<string>();
  for (const value of ['x', '', 1, 0, true, false, null, ['x'], ['x', 'y']]) {
    const params = new Proxy({} as ReasonParams, {
      get: (_t, key) => {
        if (typeof key === 'string') read.add(key);
        return value;
      },
    });
    try {
      reasonText({ code, params });
    } catch {
      // A value these words cannot take: the other values still show what they read.
    }
  }
  return [...read].sort();
}

describe('the reason catalog and the planner that uses it', () => {
  const sites = callSites();

  it('finds the calls (the check can fail)', () => {
    expect(sites.length).toBeGreaterThan(10);
  });

  it('every call names its codes and spells out its parameters', () => {
    expect(sites.filter((s) => s.codes.length === 0 || s.params === null)).toEqual([]);
  });

  it('every code a call names has words, and every word has a call', () => {
    const known = new Set(Object.keys(CATALOG));
    const named = new Set(sites.flatMap((s) => s.codes));
    expect(
      sites.flatMap((s) => s.codes.filter((c) => !known.has(c)).map((c) => `${s.where} ${c}`)),
    ).toEqual([]);
    expect(Object.keys(CATALOG).filter((c) => !named.has(c))).toEqual([]);
  });

  it('every call passes exactly the parameters its words read', () => {
    const wrong = sites.flatMap((s) =>
      s.codes.flatMap((code) => {
        const passed = [...new Set(s.params)].sort();
        const read = paramsRead(code);
        return passed.join() === read.join()
          ? []
          : [
              `${s.where} ${code}: passes [${passed.join(', ')}], its words read [${read.join(', ')}]`,
            ];
      }),
    );
    expect(wrong).toEqual([]);
  });

  it('finds a parameter the words do not read (the check can fail)', () => {
    expect(paramsRead('CLUSTER_DELETED')).toEqual(['by']);
    expect(paramsRead('OUTSIDE_PRUNE_SCOPE')).toEqual(['inventory', 'kind', 'kinds', 'source']);
  });
});

/** A rule id of docs/domain.md (N, P, C, Q, A) or of Union's table (docs/union.md, U1-U37). */
const RULE_ID = /\b(?:[NPCQA][1-9]|U[1-9][0-9]?)\b/;

/** Blocked reasons no rule of the spec names: each says what refuses instead. */
const NO_RULE: Record<string, string> = {
  HELD_BY_OTHER_REPOSITORY: 'another repository applied it (REPOSITORY_CONFLICT)',
  ASSIGNMENT_REPLACED_BY_DEFAULT_QUEUE: "the backend's API has no pool assignments",
  CASCADE_NOT_ACCEPTED: "flyteadmin's delete (gormimpl/resource_repo.go)",
  CASCADE_RESTORE_BLOCKED: 'flyteadmin: the rows it cannot set again',
  PROJECT_NOT_REGISTERED: 'flyteadmin refuses (InvalidArgument)',
  PROJECT_NOT_ACTIVE: 'flyteadmin refuses',
  UNKNOWN_DOMAIN: 'flyteadmin refuses',
  LABEL_NOT_DEPLOYED: 'the labelClusterMap flyteadmin runs with',
  DEFAULT_QUEUE_TARGET_MISSING: 'the queue it names, whose own change says why',
};

/** The words of a code with every parameter given each of these values (the branches they take). */
function wordings(code: string): string[] {
  return ['x', '', 1, 0, true, false, null, ['x'], ['x', 'y']].flatMap((value) => {
    const params = new Proxy({} as ReasonParams, { get: () => value });
    try {
      return [reasonText({ code, params })!];
    } catch {
      return [];
    }
  });
}

describe('every blocked reason names the rule that blocks it (docs/plan.md, Blocked reasons)', () => {
  it('in every wording, so text, Markdown and the JSON reason all carry it', () => {
    const missing = Object.keys(BLOCKED)
      .filter((code) => !Object.hasOwn(NO_RULE, code))
      .flatMap((code) =>
        wordings(code)
          .filter((w) => !RULE_ID.test(w))
          .map((w) => `${code}: ${w}`),
      );
    expect(missing).toEqual([]);
  });

  it('every code without a rule is a blocked reason (the list cannot go stale)', () => {
    expect(Object.keys(NO_RULE).filter((code) => !Object.hasOwn(BLOCKED, code))).toEqual([]);
  });
});

describe.each([
  ['empty', emptyScenario],
  ['drifted', driftedScenario],
] as const)('the %s golden scenario speaks with the catalog', (_name, scenario) => {
  let plan: Plan;
  it('every reason, warning and error given as data is its words', async () => {
    plan = await scenario();
    for (const c of plan.changes) {
      if (c.why) expect(changeDocument(c).reason, c.address).toBe(reasonText(c.why));
      if (c.cause) expect(reasonText(c.cause), c.address).toBeTruthy();
    }
    for (const w of plan.warnings)
      if (w.params) expect(warningDocument(w).message, w.code).toBe(warningText(w));
    const doc = JSON.parse(renderJson(plan)) as Plan;
    plan.errors.forEach((e, i) => {
      if (e.params)
        expect(doc.errors[i]!.message, e.code).toBe(reasonText({ code: e.code, params: e.params }));
    });
  });

  it('the JSON carries as data only the codes it carried before', () => {
    const doc = JSON.parse(renderJson(plan)) as Plan;
    for (const c of doc.changes) if (c.why) expect(reasonInJson(c.why.code), c.address).toBe(true);
    for (const w of doc.warnings) if (w.params) expect(reasonInJson(w.code), w.code).toBe(true);
    expect(doc.errors.filter((e) => e.params)).toEqual([]);
  });
});
