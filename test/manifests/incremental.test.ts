/**
 * Issue 25: the incremental paths give exactly what a cold run gives. A generated organisation
 * (bench/lib/scale.ts) goes through a seeded sequence of edits — a value changed, a file
 * deleted, renamed, made invalid (YAML and schema errors) and put back, a document added —
 * and after each one the load through the in-memory layer (the daemon and --watch) and a
 * one-shot load (the CLI) must give byte-identical results, errors included, and so must the
 * plans and their text rendering.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { generateScaleModel, rng } from '../../bench/lib/scale.js';
import { writeRepository } from '../../bench/lib/yaml-writer.js';
import { EmbeddedControlPlane } from '../../src/controlplane/embedded/embedded.js';
import { readLiveState } from '../../src/controlplane/types.js';
import { AnalysisCache } from '../../src/incremental/analysis-cache.js';
import { PlanReuse } from '../../src/incremental/plan-reuse.js';
import { loadDesired } from '../../src/ops/plan-run.js';
import { EDITS } from './edits.js';
import { outcome } from './outcome.js';

const dirs: string[] = [];

afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

describe('incremental loads and plans equal cold ones (issue 25)', () => {
  it('after each of 40 seeded edits, the memory layer and a one-shot load give identical results and plans', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'poolsync-incr-'));
    dirs.push(dir);
    await writeRepository(generateScaleModel(1500, 11), dir);
    const analyses = new AnalysisCache();
    const plans = new PlanReuse();
    const cp = await EmbeddedControlPlane.open({ path: null });
    const live = await readLiveState(cp);
    const pick = rng(25);
    let invalid = 0;
    let valid = 0;
    const kinds = new Set<string>();
    let backToValid = 0;
    let wasValid = true;
    for (let step = 0; step <= 40; step++) {
      const what =
        step === 0 ? 'initial' : await EDITS[Math.floor(pick() * EDITS.length)]!(dir, pick);
      const viaMemory = await loadDesired(dir, { analyses });
      const cold = await loadDesired(dir);
      if (cold.valid) valid++;
      else invalid++;
      kinds.add(what.split(' ')[0]!);
      if (cold.valid && !wasValid && what.startsWith('put back')) backToValid++;
      wasValid = cold.valid;
      const expected = await outcome(cold, live);
      // Twice, as the daemon plans: the second reuses the first plan (src/incremental/plan-reuse.ts).
      expect(await outcome(viaMemory, live, plans), `memory layer after: ${what}`).toBe(expected);
      expect(await outcome(viaMemory, live, plans), `plan reused after: ${what}`).toBe(expected);
    }
    // The sequence really went through every kind of edit, broken states and back.
    expect([...kinds]).toEqual(
      expect.arrayContaining(['renamed', 'deleted', 'YAML', 'schema', 'put', 'comment']),
    );
    expect(backToValid).toBeGreaterThan(0);
    expect(invalid).toBeGreaterThan(3);
    expect(valid).toBeGreaterThan(5);
    expect(plans.stats.hits).toBeGreaterThanOrEqual(valid);
    await cp.close();
  }, 240_000);
});
