/**
 * What the manifest cache tests (cache.test.ts, cache-hostile.test.ts) share: a temporary
 * folder removed after the file, the disk layer on for small files, and a plan as the CLI
 * prints it (text, then JSON), to compare byte for byte.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import type { EmbeddedControlPlane } from '../../src/controlplane/embedded/embedded.js';
import { setMinDiskTextBytes } from '../../src/incremental/analysis-cache.js';
import { planRepository } from '../../src/ops/pipeline.js';
import { renderJson } from '../../src/render/index.js';
import { renderText } from '../../src/render/text.js';

/**
 * A temporary folder for this test file (`prefix`: its name's start). The fixtures are small
 * files, which the disk layer skips by default: it takes them while the file's tests run.
 */
export async function cacheTestFolder(
  prefix: string,
): Promise<{ tmp: string; defaultThreshold: () => number }> {
  const tmp = await mkdtemp(join(tmpdir(), prefix));
  afterAll(() => rm(tmp, { recursive: true, force: true }));
  let threshold = 0;
  beforeAll(() => {
    threshold = setMinDiskTextBytes(0);
  });
  afterAll(() => {
    setMinDiskTextBytes(threshold);
  });
  // The threshold the disk layer has outside these tests (known once beforeAll has run).
  return { tmp, defaultThreshold: () => threshold };
}

/** The plan of `repo` against `cp` with the disk cache at `cacheDir`, as text then JSON. */
export async function renderedPlan(
  repo: string,
  cp: EmbeddedControlPlane,
  cacheDir: string,
): Promise<string> {
  const r = await planRepository(repo, cp, { commit: 'c0ffee', cacheDir });
  if (!r.ok) throw new Error('invalid');
  return `${renderText(r.plan, { color: false })}\n${renderJson(r.plan)}`;
}
