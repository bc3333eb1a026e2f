/**
 * Hostile and broken input (manifests.md "Limits of input", quality.md Security): random
 * bytes, truncated YAML, binary data, deep nesting, huge files, alias bombs. Each must give
 * structured errors at a position, never an exception, a crash or a hang.
 */
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { loadRepository } from '../../src/manifests/index.js';
import { LIMITS } from '../../src/manifests/limits.js';
import type { LoadResult } from '../../src/manifests/types.js';
import { parseYamlFile } from '../../src/manifests/yaml-simple.js';
import { CLUSTER, writeRepo } from './helpers.js';

/** Deterministic PRNG (mulberry32) so a failure can be replayed. */
function prng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function expectStructured(r: LoadResult): void {
  expect(r.valid).toBe(false);
  expect(r.errors.length).toBeGreaterThan(0);
  for (const e of r.errors) {
    expect([
      'YAML',
      'LIMIT',
      'SCHEMA',
      'IO',
      'V1',
      'V2',
      'V3',
      'V4',
      'V5',
      'V6',
      'V7',
      'V8',
    ]).toContain(e.code);
    expect(e.line).toBeGreaterThanOrEqual(1);
    expect(e.column).toBeGreaterThanOrEqual(1);
    expect(e.message).not.toContain('\n');
  }
}

describe('garbage in, structured errors out', () => {
  it('random bytes (200 seeded samples) never throw', async () => {
    const rand = prng(42);
    for (let i = 0; i < 200; i++) {
      const bytes = new Uint8Array(1 + Math.floor(rand() * 400));
      for (let j = 0; j < bytes.length; j++) bytes[j] = Math.floor(rand() * 256);
      const r = await loadRepository(await writeRepo({ 'x.yaml': bytes }));
      // Random bytes can by chance be an empty or comment-only document; then nothing is wrong.
      if (!r.valid) expectStructured(r);
    }
  });

  it('random YAML-ish text (300 seeded samples) never throws from the parser', () => {
    const rand = prng(7);
    const alphabet = 'ab:- \n\t[]{},&*!|>\'"#%@`?~0.\\';
    for (let i = 0; i < 300; i++) {
      let text = '';
      const n = Math.floor(rand() * 200);
      for (let j = 0; j < n; j++) text += alphabet[Math.floor(rand() * alphabet.length)];
      const parsed = parseYamlFile(text);
      for (const issue of parsed.issues) expect(issue.line).toBeGreaterThanOrEqual(1);
    }
  });

  it('every truncation of a real manifest is either valid or reported at a position', async () => {
    const text = await readFile('examples/config-repo/pools/research.yaml', 'utf8');
    for (let cut = 0; cut < text.length; cut += 7) {
      const r = await loadRepository(await writeRepo({ 'p.yaml': text.slice(0, cut) }));
      if (!r.valid) expectStructured(r);
    }
  });

  it('a binary file named .yaml is a YAML error', async () => {
    const png = Uint8Array.from([
      0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d, 0x49, 0x48,
    ]);
    const r = await loadRepository(await writeRepo({ 'logo.yaml': png }));
    expectStructured(r);
    expect(r.errors[0]).toMatchObject({ code: 'YAML', file: 'logo.yaml' });
  });

  it('text that is not UTF-8 is reported at the first bad byte', async () => {
    const bytes = Buffer.concat([
      Buffer.from('kind: Cluster\nname: caf'),
      Buffer.from([0xe9]),
      Buffer.from('\n'),
    ]);
    const r = await loadRepository(await writeRepo({ 'latin1.yaml': bytes }));
    expect(r.errors.map((e) => [e.code, e.line, e.column])).toEqual([['YAML', 2, 10]]);
    expect(r.errors[0]!.message).toContain('UTF-8');
  });

  it('deep nesting (100,000 levels) is a LIMIT error, not a stack overflow', async () => {
    const r = await loadRepository(
      await writeRepo({ 'deep.yaml': '['.repeat(100_000) + ']'.repeat(100_000) }),
    );
    expect(r.errors.map((e) => [e.code, e.line])).toEqual([['LIMIT', 1]]);
  });

  it(`a file over ${LIMITS.maxFileBytes} bytes is a LIMIT error and the others are still read`, async () => {
    const big = `# ${'x'.repeat(LIMITS.maxFileBytes)}\n`;
    const r = await loadRepository(
      await writeRepo({ 'big.yaml': big, 'c.yaml': CLUSTER('default') }),
    );
    expect(r.errors.map((e) => [e.code, e.file])).toEqual([
      ['LIMIT', 'big.yaml'],
      ['V5', 'c.yaml'],
    ]);
    expect(r.errors[0]!.message).toMatch(
      /^file is 1,048,579 bytes \(1 MiB\), over the limit of 1,048,576 bytes \(1 MiB\)/,
    );
  });

  it(`more than ${LIMITS.maxDocuments} documents is a LIMIT error`, async () => {
    // Minimal non-empty documents; split over two files to stay under the file size limit.
    const doc = '---\nx\n';
    const half = doc.repeat(LIMITS.maxDocuments / 2);
    const r = await loadRepository(await writeRepo({ 'a.yaml': half, 'b.yaml': half + doc }));
    expect(r.counts.documents).toBe(LIMITS.maxDocuments + 1);
    const limit = r.errors.filter((e) => e.code === 'LIMIT');
    expect(limit.map((e) => e.file)).toEqual(['b.yaml']);
    expect(limit[0]!.message).toContain('more than 150,000 documents');
  });

  it('an alias bomb ("billion laughs") is a LIMIT error at the alias that crosses the line', async () => {
    // Sizes 11, 111, 1111 ...: the 10,000-node budget runs out inside a3, on line 4.
    const lines = ['a0: &a0 [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < 10; i++) {
      lines.push(`a${i}: &a${i} [${Array.from({ length: 10 }, () => `*a${i - 1}`).join(', ')}]`);
    }
    const r = await loadRepository(await writeRepo({ 'bomb.yaml': lines.join('\n') + '\n' }));
    expect(r.errors).toHaveLength(1);
    expect(r.errors[0]).toMatchObject({ code: 'LIMIT', file: 'bomb.yaml', line: 4 });
    expect(r.errors[0]!.message).toContain('alias');
  });

  it('a few small aliases are fine', async () => {
    const r = await loadRepository(
      await writeRepo({
        'q.yaml': `apiVersion: poolsync/v1
kind: Queue
metadata: { name: q1 }
spec: &s { run_concurrency: 1, action_concurrency: 2, clusters: [] }
---
apiVersion: poolsync/v1
kind: Queue
metadata: { name: q2 }
spec: { run_concurrency: 1, action_concurrency: 2, clusters: &none [] }
`,
      }),
    );
    expect(r.errors).toEqual([]);
  });

  it('an alias whose anchor is in an earlier document says anchors do not carry across documents', async () => {
    const r = await loadRepository(
      await writeRepo({
        'q.yaml': `apiVersion: poolsync/v1
kind: Queue
metadata: { name: q1 }
spec: &s { run_concurrency: 1, action_concurrency: 2, clusters: [] }
---
apiVersion: poolsync/v1
kind: Queue
metadata: { name: q2 }
spec: *s
`,
      }),
    );
    expect(r.errors.map((e) => [e.code, e.line, e.message])).toEqual([
      [
        'YAML',
        9,
        'alias *s names no anchor defined before it in this document: anchors do not carry across documents (---), and &s is defined in document 1 at line 4; write the value here again, or anchor it in this document',
      ],
    ]);
  });

  it('a recursive alias is an error, not an infinite structure', async () => {
    const r = await loadRepository(await writeRepo({ 'r.yaml': 'a: &x [1, *x]\n' }));
    expect(r.errors.map((e) => [e.code, e.line, e.column])).toEqual([['YAML', 1, 11]]);
  });

  it('huge numbers and very long strings get schema errors, not crashes', async () => {
    const r = await loadRepository(
      await writeRepo({
        'q.yaml': `apiVersion: poolsync/v1
kind: Queue
metadata: { name: ${'q'.repeat(5000)} }
spec: { run_concurrency: 1e400, action_concurrency: ${'9'.repeat(400)} }
`,
      }),
    );
    expect(r.errors.map((e) => [e.code, e.line])).toEqual([
      ['SCHEMA', 3],
      ['SCHEMA', 4],
      ['SCHEMA', 4],
    ]);
    for (const e of r.errors) expect(e.message.length).toBeLessThan(400);
  });
});
