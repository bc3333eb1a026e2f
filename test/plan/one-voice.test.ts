/**
 * One voice per plan (docs/plan.md, One voice): what another object's step does to a change is
 * decided once by the planner (`cause`, a code and its parameters) and every renderer puts the
 * same decision into the same words (src/plan/reasons.ts). A co-named queue either moves with
 * its cluster (cluster_move) or stays behind (delete and re-register, C7): never both.
 */
import { describe, expect, it } from 'vitest';
import { BASELINE_CAPABILITIES } from '../../src/model/common.js';
import type { Plan } from '../../src/model/plan.js';
import { computePlan } from '../../src/plan/index.js';
import { reasonText } from '../../src/render/reasons.js';
import { causeText, warningText, whyText } from '../../src/render/common.js';
import { renderMarkdown } from '../../src/render/markdown.js';
import { renderText } from '../../src/render/text.js';
import { changeDocument, warningDocument } from '../../src/render/json.js';
import { contract, desired, live } from './build.js';
import { change, warningCodes } from './helpers.js';

/** Cluster c moves from pool `a` to pool `b`; its co-named queue c is live in `a`. */
function moved(caps: Partial<typeof BASELINE_CAPABILITIES>): Plan {
  return computePlan(
    desired({
      pools: { a: contract('x'), b: contract('x') },
      clusters: { c: { pool: 'b' }, keep: { pool: 'a' } },
    }),
    {
      ...live({
        pools: { a: contract('x'), b: contract('x') },
        clusters: { c: { pool: 'a' }, keep: { pool: 'a' } },
        queues: { shared: { pool: 'a', clusters: ['c', 'keep'] } },
      }),
      capabilities: { ...BASELINE_CAPABILITIES, ...caps },
    },
  );
}

const texts = (plan: Plan) => [
  renderText(plan, { color: false }),
  renderMarkdown(plan),
  ...plan.changes.flatMap((c) => [whyText(c) ?? '', causeText(c) ?? '']),
  ...plan.warnings.map((w) => warningText(w)),
];

/** Every reason, cause and warning of a plan is the catalog's words for its code. */
function expectCatalogWords(plan: Plan): void {
  for (const c of plan.changes) {
    if (c.caused_by) expect(c.cause, c.address).toBeTruthy();
    if (c.cause) expect(reasonText(c.cause), c.address).toBeTruthy();
    if (c.why) expect(changeDocument(c).reason, c.address).toBe(reasonText(c.why));
  }
  for (const w of plan.warnings)
    if (w.params) expect(warningDocument(w).message, w.code).toBe(warningText(w));
}

describe('one voice', () => {
  it('without cluster_move: the co-named queue stays behind, and nothing says it moves', () => {
    const plan = moved({});
    const q = change(plan, 'Queue/c');
    expect(change(plan, 'Cluster/c').action).toBe('replace');
    expect(q.cause).toEqual({
      code: 'CONAMED_LEFT_BEHIND',
      params: { by: 'Cluster/c', pool: 'a', to: 'b' },
    });
    // The other queue only loses the name from its selector (C8).
    expect(change(plan, 'Queue/shared').cause?.code).toBe('CLUSTER_DELETED');
    for (const t of texts(plan)) expect(t).not.toMatch(/moves with|\(cluster_move\)/);
    expect(renderText(plan, { color: false })).toContain(
      'Cluster/c is deleted and registered again in pool "b" (C7): this co-named queue stays in pool "a"',
    );
    // Told once, on the cluster: no second QUEUE_ROUTES_NOWHERE with other advice.
    expect(warningCodes(plan)).toContain('CONAMED_QUEUE_ORPHANED Cluster/c');
    expect(plan.warnings.filter((w) => w.address === 'Queue/c')).toEqual([]);
    expectCatalogWords(plan);
  });

  it('with cluster_move: the co-named queue moves with it, and nothing says it stays', () => {
    const plan = moved({ cluster_move: true });
    expect(change(plan, 'Cluster/c').action).toBe('update');
    expect(change(plan, 'Queue/c').cause).toEqual({
      code: 'MOVES_WITH_CLUSTER',
      params: { by: 'Cluster/c', pool: 'b' },
    });
    expect(change(plan, 'Queue/shared').cause?.code).toBe('LEAVES_MOVED_CLUSTER');
    for (const t of texts(plan)) expect(t).not.toMatch(/stays in pool|\(C7\)/);
    expect(plan.warnings.map((w) => w.code)).not.toContain('CONAMED_QUEUE_ORPHANED');
    expectCatalogWords(plan);
  });

  it('a registration creates its co-named queue (C2) and recreates default (C3): said as such', () => {
    const plan = computePlan(
      desired({ pools: { a: contract('a') }, clusters: { n: { pool: 'a' } } }),
      live({ pools: { a: contract('a') }, noDefaultQueue: true }),
    );
    expect(change(plan, 'Queue/n').cause).toEqual({
      code: 'CREATED_BY_REGISTRATION',
      params: { by: 'Cluster/n' },
    });
    expect(change(plan, 'Queue/default').cause?.code).toBe('RECREATED_BY_REGISTRATION');
    expect(renderText(plan, { color: false })).toContain('# created by registering Cluster/n (C2)');
    expectCatalogWords(plan);
  });

  it('renders the stored words of a code this poolsync does not know (a newer writer)', () => {
    const c = { reason: 'stored words', why: { code: 'FROM_THE_FUTURE', params: {} } };
    expect(whyText(c)).toBe('stored words');
    expect(causeText({ cause: { code: 'FROM_THE_FUTURE', params: {} } })).toBeNull();
    expect(
      warningText({ code: 'FROM_THE_FUTURE', address: 'Queue/q', message: 'm', params: {} }),
    ).toBe('m');
  });
});
