/**
 * Issue 14 (hardening): each hostile or broken input gives one error with its message and
 * its file:line:column, at validation, so nothing later (plan, apply, the daemon) sees it.
 */
import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadRepository } from '../../src/manifests/index.js';
import { LIMITS } from '../../src/manifests/limits.js';
import { formatSkipped } from '../../src/manifests/report.js';
import { planRepository } from '../../src/ops/plan-run.js';
import { EmbeddedControlPlane } from '../../src/controlplane/embedded/embedded.js';
import { POOL, QUEUE, writeRepo } from './helpers.js';

const CONFIG = 'apiVersion: poolsync/v1\nkind: RepoConfig\n';

async function errorsOf(files: Record<string, string>): Promise<string[]> {
  const r = await loadRepository(await writeRepo(files));
  expect(r.valid).toBe(false);
  return r.errors.map((e) => `${e.file}:${e.line}:${e.column}: ${e.code} ${e.message}`);
}

/** The document of the issue: a 200 KB anchored string aliased 4,000 times (a 263 KB file). */
function annotationBomb(copies = 4000, size = 200_000): string {
  const lines = [
    'apiVersion: poolsync/v1',
    'kind: ClusterPool',
    'metadata:',
    '  name: bomb',
    '  annotations:',
    `    a0: &big ${'x'.repeat(size)}`,
  ];
  for (let i = 1; i < copies; i++) lines.push(`    a${i}: *big`);
  lines.push(
    'spec:',
    '  object_store_ref:',
    '    uri: s3://bomb/metadata',
    '  secret_store:',
    '    type: VAULT',
    '    locator: x',
    '',
  );
  return lines.join('\n');
}

describe('expanded bytes per document (LIMIT)', () => {
  it('the 263 KB file whose aliases expand to 800 MB is refused at the alias that crosses 1 MiB', async () => {
    const text = annotationBomb();
    expect(text.length).toBeLessThan(LIMITS.maxFileBytes);
    expect(await errorsOf({ 'pools/bomb.yaml': text })).toEqual([
      'pools/bomb.yaml:11:9: LIMIT this document expands to more than 1,048,576 bytes (1 MiB) of text through its aliases (an alias repeats its anchor in full): write the value once, or raise limits.document_bytes in poolsync.yaml',
    ]);
  });

  it('plan refuses it too, with the same error, and never reaches the fingerprint', async () => {
    const dir = await writeRepo({ 'pools/bomb.yaml': annotationBomb() });
    const cp = await EmbeddedControlPlane.open({ path: null });
    try {
      const r = await planRepository(dir, cp, { commit: null });
      expect(r.ok).toBe(false);
      if (!r.ok)
        expect(r.errors.map((e) => [e.code, e.line, e.column])).toEqual([['LIMIT', 11, 9]]);
    } finally {
      await cp.close();
    }
  });

  it('poolsync.yaml limits.document_bytes raises the limit for a repository that needs it', async () => {
    const files = { 'pools/bomb.yaml': annotationBomb(8, 200_000) };
    expect(await errorsOf(files)).toEqual([
      expect.stringMatching(/^pools\/bomb.yaml:11:9: LIMIT this document expands/),
    ]);
    const raised = await loadRepository(
      await writeRepo({
        ...files,
        'poolsync.yaml': `${CONFIG}limits:\n  document_bytes: 2097152\n`,
      }),
    );
    expect(raised.errors).toEqual([]);
    expect(raised.valid).toBe(true);
  });

  it('limits can be lowered, and a plain scalar over the limit is reported at itself', async () => {
    expect(
      await errorsOf({
        'poolsync.yaml': `${CONFIG}limits:\n  document_bytes: 1024\n  file_bytes: 4096\n`,
        'q.yaml': QUEUE('q', `  # ${'x'.repeat(10)}\n`).replace(
          'name: q',
          `name: q\n  annotations:\n    note: ${'y'.repeat(2000)}`,
        ),
        'big.yaml': `# ${'z'.repeat(5000)}\n`,
      }),
    ).toEqual([
      'big.yaml:1:1: LIMIT file is 5,003 bytes (4.89 KiB), over the limit of 4,096 bytes (4 KiB): split it into several files, or raise limits.file_bytes in poolsync.yaml',
      'q.yaml:6:11: LIMIT this document expands to more than 1,024 bytes (1 KiB) of text: split it, or raise limits.document_bytes in poolsync.yaml',
    ]);
  });

  it('a limit set over its ceiling is an error at its value; a malformed one a SCHEMA error', async () => {
    expect(
      await errorsOf({
        'poolsync.yaml': `${CONFIG}limits:\n  file_bytes: 1048576000\n  documents: 2000000\n`,
      }),
    ).toEqual([
      "poolsync.yaml:4:15: LIMIT limits.file_bytes is 1,048,576,000 bytes (1000 MiB), over its ceiling of 67,108,864 bytes (64 MiB): the limits protect poolsync's memory and can be raised only so far",
      "poolsync.yaml:5:14: LIMIT limits.documents is 2,000,000 documents, over its ceiling of 1,000,000 documents: the limits protect poolsync's memory and can be raised only so far",
    ]);
    expect(
      await errorsOf({ 'poolsync.yaml': `${CONFIG}limits:\n  document_bytes: lots\n  pages: 3\n` }),
    ).toEqual([
      "poolsync.yaml:4:19: SCHEMA limits.document_bytes must be a whole number, got 'lots'",
      expect.stringMatching(/^poolsync.yaml:5:3: SCHEMA unknown field 'pages' in limits/),
    ]);
  });

  it('many documents that each stay under the limit cannot add up: the folder budget stops them', async () => {
    // Each document adds ~1 MB through aliases (under 1 MiB); 70 of them pass 64 MiB.
    const doc = (i: number): string =>
      `a: &s ${'x'.repeat(10_000)}\nb: [${Array.from({ length: 99 }, () => '*s').join(', ')}]\nn: ${i}\n`;
    const files: Record<string, string> = {};
    for (let f = 0; f < 10; f++)
      files[`f${f}.yaml`] = Array.from({ length: 8 }, (_, i) => doc(i)).join('---\n');
    const r = await loadRepository(await writeRepo(files));
    const limit = r.errors.filter((e) => e.code === 'LIMIT');
    expect(limit.map((e) => `${e.file}:${e.line}:${e.column}`)).toEqual(['f8.yaml:1:1']);
    expect(limit[0]!.message).toMatch(
      /^aliases expand to more than 67,108,864 bytes \(64 MiB\) of text across the folder/,
    );
  });
});

describe('YAML errors at the place to fix', () => {
  it('an unterminated double quote is reported where it opened, once, without "YAML YAML"', async () => {
    const errors = await errorsOf({
      'p.yaml': POOL('p', 's3://p/m').replace('locator: us-east-1', 'locator: "us-east-1'),
    });
    expect(errors).toEqual([
      'p.yaml:10:14: YAML syntax error: double-quoted string opened here is never closed (the parser gave up at line 11, column 1); add the closing "',
    ]);
  });

  it('an unterminated single quote in the middle of a file', async () => {
    expect(await errorsOf({ 'q.yaml': "a: 'it''s\nb: 1\nc: 2\n" })).toEqual([
      "q.yaml:1:4: YAML syntax error: single-quoted string opened here is never closed (the parser gave up at line 2, column 1); add the closing '",
    ]);
  });

  it('an unclosed flow sequence and an unclosed flow mapping', async () => {
    expect(
      await errorsOf({
        'a.yaml': 'spec:\n  clusters: [a, b\n  run_concurrency: 1\n',
        'b.yaml': 'spec: {pool: prod\nkind: Queue\n',
      }),
    ).toEqual([
      'a.yaml:2:13: YAML syntax error: flow sequence opened here is never closed (the parser gave up at line 3, column 3); add the closing ]',
      'b.yaml:1:7: YAML syntax error: flow mapping opened here is never closed (the parser gave up at line 2, column 1); add the closing }',
    ]);
  });

  it('quotes inside block scalars, comments and plain words do not mislead the locator', async () => {
    expect(
      await errorsOf({
        'x.yaml': "a: |\n  say \"hi\n# don't\nb: it's [x\nc: [1, 2\nd: 3\n",
      }),
    ).toEqual([
      'x.yaml:5:4: YAML syntax error: flow sequence opened here is never closed (the parser gave up at line 6, column 1); add the closing ]',
    ]);
  });

  it("poolsync.yaml's syntax errors are at the mistake's line and column, as the same text's in a manifest", async () => {
    // examples/config-repo/poolsync.yaml, then each mistake made by hand in it.
    const config = [
      'apiVersion: poolsync/v1',
      'kind: RepoConfig',
      '# Live objects that are not declared here are reported as unmanaged, never deleted.',
      'prune: false',
      '# Work in progress that must not reach the control plane yet.',
      'ignore:',
      '  - drafts/**',
      '',
    ].join('\n');
    const render = 'render:\n  flyte-core-values\n    path: deploy/values.yaml\n';
    const broken: [string, string, string][] = [
      // The parser gives up at the end of the file (9:1): the key is where the ':' is missing.
      [
        'key without its colon, last',
        config.replace('ignore:', 'ignore'),
        "6:1: YAML syntax error: 'ignore' is missing its ':'",
      ],
      [
        'key without its colon, nested',
        config + render,
        "9:3: YAML syntax error: 'flyte-core-values' is missing its ':'",
      ],
      // Comments between the key and its value: the parser gives up at the value.
      [
        'key without its colon, nested, comments before its value',
        config + 'render:\n  flyte-core-values\n    # Helm reads it there\n    path: x.yaml\n',
        "9:3: YAML syntax error: 'flyte-core-values' is missing its ':'",
      ],
      // A mapping's last key, only comments after it: the parser gives up at that line's end.
      [
        'key without its colon, nested and last, comments after it',
        config +
          'render:\n  union-cluster-pools:\n    path: x.yaml\n  flyte-core-values\n# end\n\n',
        "11:3: YAML syntax error: 'flyte-core-values' is missing its ':' (key: value), so the parser read on and gave up at line 11, column 20",
      ],
      [
        'key without its colon, last, no final line break',
        config + 'render',
        "8:1: YAML syntax error: 'render' is missing its ':' (key: value), so the parser read on and gave up at line 8, column 7",
      ],
      [
        'unclosed quote',
        config.replace('prune: false', 'prune: "false'),
        '4:8: YAML syntax error: double-quoted string opened here',
      ],
      ['bad indentation', config + ' - more/**\n', '8:2: YAML syntax error: bad indentation'],
      ['tab', config.replace('  - drafts', '\t- drafts'), '7:1: YAML syntax error: tab characters'],
      [
        'duplicate key',
        config + 'prune: true\n',
        "8:1: YAML duplicate key 'prune' (first at line 4, column 1)",
      ],
    ];
    const atConfig: string[] = [];
    const atManifest: string[] = [];
    for (const [what, text, at] of broken) {
      const [error] = await errorsOf({ 'poolsync.yaml': text });
      atConfig.push(`${what}: ${error!.startsWith(`poolsync.yaml:${at}`) ? 'at' : error}`);
      const [same] = await errorsOf({ 'poolsync.yaml': config, 'm.yaml': text });
      atManifest.push(
        `${what}: ${same === error!.replace('poolsync.yaml', 'm.yaml') ? 'same' : same}`,
      );
    }
    expect(atConfig).toEqual(broken.map(([what]) => `${what}: at`));
    expect(atManifest).toEqual(broken.map(([what]) => `${what}: same`));
  });

  it('other syntax errors keep the parser position and say "syntax error" once', async () => {
    expect(await errorsOf({ 'x.yaml': 'a: b: c\n' })).toEqual([
      'x.yaml:1:5: YAML syntax error: bad indentation of a mapping entry',
    ]);
  });

  it.each([
    ['!!binary', 'a: !!binary aGVsbG8=\n', 13],
    ['!!timestamp', 'a: !!timestamp 2001-12-14\n', 16],
    ['!!python/object', 'a: !!python/object x\n', 20],
    ['!custom', 'a: !custom x\n', 12],
  ])(
    'tag %s is reported as an unsupported tag, not an invalid value',
    async (tag, text, column) => {
      expect(await errorsOf({ 't.yaml': text })).toEqual([
        `t.yaml:1:${column}: YAML unsupported tag ${tag}: manifests use plain strings, numbers and booleans (tags !!str, !!int, !!float, !!bool, !!null)`,
      ]);
    },
  );

  it('a supported tag with a value it cannot hold says the value is invalid', async () => {
    expect(await errorsOf({ 't.yaml': 'a: !!int twelve\n' })).toEqual([
      "t.yaml:1:10: YAML 'twelve' is not a valid !!int",
    ]);
  });

  it('non-string mapping keys are errors (manifests.md), with how to quote them', async () => {
    expect(
      await errorsOf({
        'k.yaml': QUEUE('q').replace(
          'metadata:',
          'metadata:\n  annotations:\n    1: one\n    true: yes\n    ~: none\n    "2": two',
        ),
      }),
    ).toEqual([
      `k.yaml:5:5: YAML mapping keys must be strings: '1' is a number; quote it ("1") if you mean the text`,
      `k.yaml:6:5: YAML mapping keys must be strings: 'true' is a boolean; quote it ("true") if you mean the text`,
      `k.yaml:7:5: YAML mapping keys must be strings: '~' is null; quote it ("~") if you mean the text`,
    ]);
  });
});

describe('entries that are not regular files', () => {
  it('symbolic links and FIFOs named as manifests are errors; other links are skipped, counted and named', async () => {
    const dir = await writeRepo({ 'q.yaml': QUEUE('q'), 'outside/secret.yaml': 'x: 1\n' });
    symlinkSync(join(dir, 'outside/secret.yaml'), join(dir, 'link.yaml'));
    symlinkSync(join(dir, 'outside'), join(dir, 'linked-folder'));
    symlinkSync(join(dir, 'outside/secret.yaml'), join(dir, 'notes.txt'));
    execFileSync('mkfifo', [join(dir, 'pipe.yaml')]);
    const r = await loadRepository(dir, {});
    const why =
      'poolsync reads only regular files inside the repository (a link could point outside it; a FIFO or device could block or never end): replace it with the file itself, or list it under ignore in poolsync.yaml';
    const io = r.errors.filter((e) => e.code === 'IO');
    expect(io.map((e) => `${e.file}:${e.line}:${e.column}: ${e.code} ${e.message}`)).toEqual([
      `link.yaml:1:1: IO not read: it is a symbolic link, and ${why}`,
      `pipe.yaml:1:1: IO not read: it is a FIFO, and ${why}`,
    ]);
    expect(r.skipped).toEqual([
      { path: 'linked-folder', reason: 'symbolic link' },
      { path: 'notes.txt', reason: 'symbolic link' },
    ]);
    expect(formatSkipped(r.skipped)).toBe(
      'Skipped 2 entries that are not a regular file or folder: linked-folder (symbolic link), notes.txt (symbolic link). poolsync reads regular files only: a link could pull in files from outside the folder, a FIFO would block.\n',
    );
    expect(r.counts.files).toBe(2); // q.yaml and outside/secret.yaml, read once each
    // Listed under ignore, they are skipped as any ignored file.
    writeFileSync(
      join(dir, 'poolsync.yaml'),
      'apiVersion: poolsync/v1\nkind: RepoConfig\nignore: [link.yaml, pipe.yaml]\n',
    );
    const ignored = await loadRepository(dir, {});
    expect(ignored.errors.filter((e) => e.code === 'IO')).toEqual([]);
    expect(ignored.skipped).toEqual(r.skipped);
  });
});

describe('a long key quoted in an error', () => {
  it('is cut as a value is (77 characters and ...): unknown field, duplicate key, non-string key, a path through it', async () => {
    const long = 'k'.repeat(300_000);
    const cut = `${'k'.repeat(77)}...`;
    const digits = `0.${'1'.repeat(300)}`; // a number (a whole one this long could not be stored)
    const errors = await errorsOf({
      'a.yaml': QUEUE('a', `  ${long}: 1\n`),
      'b.yaml': QUEUE('b').replace('metadata:', `metadata:\n  annotations:\n    ${long}: 1`),
      'c.yaml': QUEUE('c').replace('metadata:', `metadata:\n  labels: {${long}: x, ${long}: y}`),
      'd.yaml': QUEUE('d').replace('metadata:', `metadata:\n  annotations:\n    ${digits}: x`),
    });
    for (const e of errors) expect(e.length, e.slice(0, 200)).toBeLessThan(600);
    expect(errors).toContainEqual(
      expect.stringMatching(
        new RegExp(`^a\\.yaml:8:3: SCHEMA unknown field '${cut.replace(/\./g, '\\.')}' in spec `),
      ),
    );
    expect(errors).toContainEqual(
      expect.stringContaining(`SCHEMA metadata.annotations.${cut} must be a string`),
    );
    expect(errors).toContainEqual(expect.stringContaining(`YAML duplicate key '${cut}'`));
    expect(errors).toContainEqual(
      expect.stringContaining(
        `YAML mapping keys must be strings: '0.${'1'.repeat(75)}...' is a number`,
      ),
    );
  });
});

describe('credentials in manifest URLs', () => {
  it('an object store URI or endpoint with credentials is refused at the value; abfs containers are fine', async () => {
    const pool = (name: string, uri: string, endpoint: string): string =>
      POOL(name, uri).replace(`    uri: ${uri}\n`, `    uri: ${uri}\n    endpoint: ${endpoint}\n`);
    expect(
      await errorsOf({
        'a.yaml': pool('a', 's3://AKIAEXAMPLE:wJalrXUtnFEMI@bucket/m', 'https://minio.example.com'),
        'b.yaml': pool('b', 's3://b2/m', 'https://TOKEN@minio.example.com'),
        'c.yaml': pool('c', 'abfs://meta@acct.dfs.core.windows.net/m', 'https://acct.example.com'),
      }),
    ).toEqual([
      "a.yaml:7:10: SCHEMA object_store_ref.uri carries a password or key (user:secret@): manifests live in Git and are shown in plans; give the object store its credentials through the data plane's secret store, not the URL",
      "b.yaml:8:15: SCHEMA object_store_ref.endpoint carries a user part (name@): manifests live in Git and are shown in plans; give the object store its credentials through the data plane's secret store, not the URL",
    ]);
  });
});
