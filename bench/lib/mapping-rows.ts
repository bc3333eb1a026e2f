/**
 * Issue 38, item 7: a YAML mapping's checks are linear in its keys. One manifest holding one
 * mapping (`metadata.annotations`) of 7,000 keys and one of 70,000, each validated in-process
 * (loadRepository, cache off, the same code `validate` runs; no process start-up in the
 * number), `runs` times each; the row gives both medians and their ratio: about 10 is linear,
 * about 100 quadratic (before the fix: 40,000 keys 4.4 s, 70,000 keys 15 s).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadRepository } from '../../src/manifests/index.js';
import { formatMs, median } from './measure.js';
import type { SizeContext } from './rows.js';

const SMALL = 7_000;
const LARGE = 70_000;

async function wideRepository(dir: string, keys: number): Promise<void> {
  await mkdir(dir, { recursive: true });
  const lines = ['apiVersion: poolsync/v1', 'kind: ClusterPool', 'metadata:', '  name: wide'];
  lines.push('  annotations:');
  for (let i = 0; i < keys; i++) lines.push(`    team.example/k${i}: value-${i}`);
  lines.push(
    'spec:',
    '  object_store_ref:',
    '    uri: s3://bucket/wide',
    '  secret_store:',
    '    type: VAULT',
    '    locator: wide',
  );
  await writeFile(join(dir, 'pool.yaml'), `${lines.join('\n')}\n`);
  // 70,000 keys are ~2 MB: over the default 1 MiB per file.
  await writeFile(
    join(dir, 'poolsync.yaml'),
    'apiVersion: poolsync/v1\nkind: RepoConfig\nlimits:\n  file_bytes: 8388608\n  document_bytes: 8388608\n',
  );
}

async function validateMs(dir: string, runs: number): Promise<number> {
  const samples: number[] = [];
  for (let i = 0; i < runs + 1; i++) {
    const t = performance.now();
    const r = await loadRepository(dir);
    const ms = performance.now() - t;
    if (!r.valid) throw new Error(`wide mapping does not validate: ${r.errors[0]?.message}`);
    if (i > 0) samples.push(ms); // the first run warms the code up
  }
  return median(samples);
}

export async function wideMappingRow(ctx: SizeContext): Promise<void> {
  const { o, sink, work, n } = ctx;
  const small = join(work, 'wide-7k');
  const large = join(work, 'wide-70k');
  await wideRepository(small, SMALL);
  await wideRepository(large, LARGE);
  const smallMs = await validateMs(small, o.runs);
  const largeMs = await validateMs(large, o.runs);
  const ratio = largeMs / smallMs;
  sink.add({
    n,
    name: 'validate one mapping of 70,000 keys vs 7,000 (in-process)',
    ms: largeMs,
    runs: o.runs,
    peakRss: null,
    target: 'linear: ratio about 10',
    met: ratio < 20,
    notes: `70,000 keys ${formatMs(largeMs)}, 7,000 keys ${formatMs(smallMs)}: ratio ${ratio.toFixed(1)} for 10× the keys (linear ≈ 10, quadratic ≈ 100; before issue 38: 15 s at 70,000 keys).`,
  });
}
