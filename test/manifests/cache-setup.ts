/**
 * What the manifest cache tests (cache.test.ts, cache-hostile.test.ts) share: a temporary
 * folder removed after the file, and a plan as the CLI prints it (text, then JSON), to compare
 * byte for byte.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import type { EmbeddedControlPlane } from '../../src/controlplane/embedded/embedded.js';
import type { AnalysisCache } from '../../src/incremental/analysis-cache.js';
import { planRepository } from '../../src/ops/plan-run.js';
import { renderJson } from '../../src/render/json.js';
import { renderText } from '../../src/render/text.js';

/** A temporary folder for this test file (`prefix`: its name's start). */
export async function cacheTestFolder(prefix: string): Promise<{ tmp: string }> {
  const tmp = await mkdtemp(join(tmpdir(), prefix));
  afterAll(() => rm(tmp, { recursive: true, force: true }));
  return { tmp };
}

/** The plan of `repo` against `cp` through the memory layer `analyses`, as text then JSON. */
export async function renderedPlan(
  repo: string,
  cp: EmbeddedControlPlane,
  analyses: AnalysisCache,
): Promise<string> {
  const r = await planRepository(repo, cp, { commit: 'c0ffee', analyses });
  if (!r.ok) throw new Error('invalid');
  return `${renderText(r.plan, { color: false })}\n${renderJson(r.plan)}`;
}
