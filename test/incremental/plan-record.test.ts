/**
 * The plan memory's record (src/incremental/plan-memory.ts): a plan read back is the plan
 * written, byte for byte, and its noop changes are parsed only when asked for: text and
 * Markdown output, the counts and a plan named with its control plane (planWith) never parse
 * them; JSON output does, and is the same bytes.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { EmbeddedControlPlane } from '../../src/controlplane/embedded/embedded.js';
import { backendInfo, readLiveState } from '../../src/controlplane/types.js';
import { decodeRecord, encodeRecord } from '../../src/incremental/plan-memory.js';
import { planWith, visibleChanges, type Plan } from '../../src/model/plan.js';
import { planRepository } from '../../src/ops/plan-run.js';
import { countPlan, sideEffects } from '../../src/plan/counts.js';
import { renderJson } from '../../src/render/json.js';
import { renderMarkdown } from '../../src/render/markdown.js';
import { renderText } from '../../src/render/text.js';
import { tempDir, writeRepo } from '../support/repo.js';

let root: string;
let plan: Plan;
const CP = { backend: 'embedded', endpoint: 'file:/x/state.json', organization: null };

beforeEach(async () => {
  root = await tempDir('poolsync-record-');
  const repo = await writeRepo(join(root, 'repo'), {
    pools: ['gpu', 'prod'],
    clusters: { 'gpu-1': 'gpu', 'prod-1': 'prod', 'prod-2': 'prod' },
    queues: { train: { pool: 'gpu', clusters: ['gpu-1'] } },
    assignments: { 'ml/production': 'gpu' },
  });
  // The repository applied, then one more pool declared: noops, and a create among them.
  const cp = await EmbeddedControlPlane.open({ path: null });
  try {
    const { executePlan } = await import('../../src/apply/executor.js');
    const first = await planRepository(repo, cp, { commit: null });
    if (!first.ok) throw new Error(JSON.stringify(first.errors));
    await executePlan(first.plan, cp);
    const { writeFile } = await import('node:fs/promises');
    await writeFile(
      join(repo, 'more.yaml'),
      'apiVersion: poolsync/v1\nkind: Cluster\nmetadata:\n  name: gpu-2\nspec:\n  pool: gpu\n',
    );
    const r = await planRepository(repo, () => readLiveState(cp), {
      commit: null,
      backend: backendInfo(cp),
    });
    if (!r.ok) throw new Error(JSON.stringify(r.errors));
    plan = r.plan;
  } finally {
    await cp.close();
  }
});
afterEach(async () => {
  vi.restoreAllMocks();
  await rm(root, { recursive: true, force: true });
});

/** The plan written and read back, as the plan memory does. */
function roundTrip(p: Plan): Plan {
  const back = decodeRecord<{ result: { plan: Plan } }>(encodeRecord({ result: { plan: p } }));
  if (back === null) throw new Error('not a record');
  return back.result.plan;
}

describe('plan record', () => {
  it('reads back the plan written, byte for byte, noops parsed only when asked for', () => {
    const noops = plan.changes.filter((c) => c.action === 'noop').length;
    expect(noops).toBeGreaterThan(3);
    expect(visibleChanges(plan).length).toBeGreaterThan(0);
    const back = roundTrip(plan);
    expect(typeof Object.getOwnPropertyDescriptor(back, 'changes')?.get).toBe('function');

    // Text, Markdown, counts and a named copy read the visible changes only: no parse.
    const named = planWith(back, { control_plane: CP });
    const parse = vi.spyOn(JSON, 'parse');
    const text = renderText(named, { color: false });
    const markdown = renderMarkdown(named);
    const counts = countPlan(named);
    const effects = sideEffects(named);
    const visible = visibleChanges(named);
    expect(parse).not.toHaveBeenCalled();
    parse.mockRestore();

    const original = planWith(plan, { control_plane: CP });
    expect(text).toBe(renderText(original, { color: false }));
    expect(markdown).toBe(renderMarkdown(original));
    expect(counts).toEqual(countPlan(original));
    expect(effects).toEqual(sideEffects(original));
    expect(visible).toEqual(visibleChanges(original));

    // The whole plan: the same bytes, as JSON and as a plan file would hold it.
    expect(JSON.stringify(named)).toBe(JSON.stringify(original));
    expect(renderJson(named)).toBe(renderJson(original));
    expect(named.changes).toHaveLength(plan.changes.length);
    expect(Object.keys(named)).toEqual(Object.keys(original));
  });

  it('a plan of noops only, and one without any, read back the same', () => {
    const onlyNoops = { ...plan, changes: plan.changes.filter((c) => c.action === 'noop') };
    const noNoops = { ...plan, changes: visibleChanges(plan) };
    for (const p of [onlyNoops, noNoops, { ...plan, changes: [] }])
      expect(JSON.stringify(roundTrip(p))).toBe(JSON.stringify(p));
  });

  it('is not a record: a body without its second line, or with changes in its head', () => {
    const body = encodeRecord({ result: { plan } });
    expect(decodeRecord(body.slice(0, body.indexOf('\n')))).toBeNull();
    expect(
      decodeRecord(`${JSON.stringify({ head: { result: { plan } }, changes: null })}\n[]`),
    ).toBeNull();
  });
});
