/**
 * What the daemon's analysis cache keeps between commits (issue 79 item 1): a file's analysis
 * goes once the file's bytes changed, as no later load reads the old bytes. Kept up to the
 * cache's budget instead, a 10,000-object daemon's heap grew ~0.3 MB a commit for ~90 commits.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { AnalysisCache } from '../../src/incremental/analysis-cache.js';
import type { AnalysisInput, FileAnalysis } from '../../src/manifests/index.js';
import { LIMITS } from '../../src/manifests/limits.js';

setFlagsFromString('--expose-gc');
const collect = runInNewContext('gc') as () => void;

const queue = (file: string, concurrency: number): AnalysisInput => ({
  file,
  text: `kind: Queue\nmetadata:\n  name: q1\nspec:\n  pool: gpu\n  run_concurrency: ${concurrency}\n`,
  limits: LIMITS,
});

/** Analyses `inputs` in turn: WeakRefs to the analyses, no other reference left behind. */
function load(cache: AnalysisCache, inputs: AnalysisInput[]): WeakRef<FileAnalysis>[] {
  return inputs.map((input) => new WeakRef(cache.analyse(input)));
}

describe('the daemon’s analysis cache, in memory', () => {
  it('keeps one analysis per file: an edited file’s older ones are garbage', async () => {
    const cache = new AnalysisCache();
    // Twenty commits, each a new run_concurrency in the same file.
    const edited = load(
      cache,
      Array.from({ length: 20 }, (_, i) => queue('queues/a.yaml', i + 1)),
    );
    // A WeakRef holds its target until the job that made it ends.
    await new Promise((r) => setImmediate(r));
    collect();
    expect(edited.map((r) => r.deref() !== undefined)).toEqual([...Array(19).fill(false), true]);
  });

  it('still reuses every unchanged file, and the latest bytes of an edited one', () => {
    const cache = new AnalysisCache();
    const a1 = cache.analyse(queue('queues/a.yaml', 1));
    const b = cache.analyse(queue('queues/b.yaml', 1));
    cache.analyse(queue('queues/a.yaml', 2));
    expect(cache.stats).toEqual({ hits: 0, misses: 3, rechecks: 0 });
    // The next load: b unchanged, a at its new bytes: both hits.
    expect(cache.analyse(queue('queues/b.yaml', 1))).toBe(b);
    const a2 = cache.analyse(queue('queues/a.yaml', 2));
    expect(cache.stats).toEqual({ hits: 2, misses: 3, rechecks: 0 });
    // Back to a's first bytes (a revert): analysed again, equal to the first analysis.
    const again = cache.analyse(queue('queues/a.yaml', 1));
    expect(cache.stats).toEqual({ hits: 2, misses: 4, rechecks: 0 });
    expect(again).not.toBe(a1);
    expect(again).toEqual(a1);
    expect(a2).not.toEqual(a1);
  });
});
