/**
 * Issue 25: the incremental paths give exactly what a cold run gives. A generated organisation
 * (bench/lib/scale.ts) goes through a seeded sequence of edits — a value changed, a file
 * deleted, renamed, made invalid (YAML and schema errors) and put back, a document added —
 * and after each one the load through the disk cache (the CLI), through the in-memory layer
 * (the daemon and --watch) and with no cache at all must give byte-identical results, errors
 * included, and so must the plans and their text rendering. Before each load, a seeded third
 * of the disk cache's entries is forged (issue 38, item 2: numbers in the analysis changed,
 * the header and its HMAC kept): each is a miss, never a result.
 */
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { generateScaleModel, rng } from '../../bench/lib/scale.js';
import { writeRepository } from '../../bench/lib/yaml-writer.js';
import { EmbeddedControlPlane } from '../../src/controlplane/embedded/embedded.js';
import { readLiveState } from '../../src/controlplane/types.js';
import { forgetCachedAnalyses } from '../../src/incremental/analysis-cache.js';
import { loadCached } from '../../src/incremental/load-cached.js';
import { planMemoStats } from '../../src/incremental/plan-reuse.js';
import { EDITS } from './edits.js';
import { outcome } from './outcome.js';

const dirs: string[] = [];

/** Rewrites about a third of the entries under `cacheDir` (every number +1); how many. */
async function forgeEntries(cacheDir: string, pick: () => number): Promise<number> {
  let forged = 0;
  for (const rel of await readdir(cacheDir, { recursive: true })) {
    if (!rel.endsWith('.json') || pick() > 0.33) continue;
    const file = join(cacheDir, rel);
    const text = await readFile(file, 'utf8');
    const newline = text.indexOf('\n');
    const body = text.slice(newline + 1).replace(/:(\d+)/g, (_, n: string) => `:${Number(n) + 1}`);
    if (body === text.slice(newline + 1)) continue;
    await writeFile(file, `${text.slice(0, newline + 1)}${body}`);
    forged++;
  }
  return forged;
}
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

describe('incremental loads and plans equal cold ones (issue 25)', () => {
  it('after each of 40 seeded edits, disk cache, memory layer and no cache give identical results and plans', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'poolsync-incr-'));
    const cacheDir = await mkdtemp(join(tmpdir(), 'poolsync-incr-cache-'));
    dirs.push(dir, cacheDir);
    await writeRepository(generateScaleModel(1500, 11), dir);
    forgetCachedAnalyses();
    const cp = await EmbeddedControlPlane.open({ path: null });
    const live = await readLiveState(cp);
    const pick = rng(25);
    const forgePick = rng(38);
    let forged = 0;
    let invalid = 0;
    let valid = 0;
    const kinds = new Set<string>();
    let backToValid = 0;
    let wasValid = true;
    for (let step = 0; step <= 40; step++) {
      const what =
        step === 0 ? 'initial' : await EDITS[Math.floor(pick() * EDITS.length)]!(dir, pick);
      forged += await forgeEntries(cacheDir, forgePick);
      const viaDisk = await loadCached(dir, { cacheDir });
      const viaMemory = await loadCached(dir, {});
      const cold = await loadCached(dir, { cacheDir: null });
      if (cold.valid) valid++;
      else invalid++;
      kinds.add(what.split(' ')[0]!);
      if (cold.valid && !wasValid && what.startsWith('put back')) backToValid++;
      wasValid = cold.valid;
      const expected = await outcome(cold, live);
      expect(await outcome(viaDisk, live), `disk cache after: ${what}`).toBe(expected);
      // Twice, as the daemon plans: the second reuses the first plan (src/incremental/plan-reuse.ts).
      expect(await outcome(viaMemory, live, true), `memory layer after: ${what}`).toBe(expected);
      expect(await outcome(viaMemory, live, true), `plan reused after: ${what}`).toBe(expected);
    }
    // The sequence really went through every kind of edit, broken states and back.
    expect([...kinds]).toEqual(
      expect.arrayContaining(['renamed', 'deleted', 'YAML', 'schema', 'put', 'comment']),
    );
    expect(backToValid).toBeGreaterThan(0);
    expect(forged).toBeGreaterThan(40);
    expect(invalid).toBeGreaterThan(3);
    expect(valid).toBeGreaterThan(5);
    expect(planMemoStats().hits).toBeGreaterThanOrEqual(valid);
    await cp.close();
  }, 240_000);
});
