/**
 * A hand-tester's findings on validation words and positions (docs/manifests.md): each error
 * says what it is, at the place it is about, and hides no other.
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readFolderOnce } from '../../src/manifests/config.js';
import { loadRepository } from '../../src/manifests/index.js';
import { CLUSTER, QUEUE, writeRepo } from './helpers.js';

async function errorsIn(dir: string, opts = {}): Promise<string[]> {
  const r = await loadRepository(dir, opts);
  expect(r.valid).toBe(false);
  return r.errors.map((e) => `${e.file}:${e.line}:${e.column}: ${e.code} ${e.message}`);
}

const errorsOf = async (files: Record<string, string | Uint8Array>) =>
  errorsIn(await writeRepo(files));

/** `dir/prefix<byte>suffix` as a path of bytes: a name that is not UTF-8. */
const bytesPath = (dir: string, prefix: string, byte: number, suffix = '') =>
  Buffer.concat([Buffer.from(join(dir, prefix)), Buffer.from([byte]), Buffer.from(suffix)]);

describe('file and folder names that are not UTF-8', () => {
  it('are named as such, at the name the system gives them, and the other files are read', async () => {
    const dir = await writeRepo({ 'c1.yaml': CLUSTER('c1'), 'caf\uFFFDx.yaml': CLUSTER('c2') });
    await writeFile(bytesPath(dir, 'caf', 0xe9, '.yaml'), QUEUE('q', '  pool: nowhere\n'));
    await mkdir(bytesPath(dir, 'd', 0xe9));
    await writeFile(Buffer.concat([bytesPath(dir, 'd', 0xe9), Buffer.from('/q.yaml')]), 'x: [');
    // Not read anyway: not YAML, and ignored.
    await writeFile(bytesPath(dir, 'notes', 0xe9, '.txt'), 'x');
    const why =
      'its name is not UTF-8, so it was not read (errors and plans name files as text): rename it';
    expect(await errorsIn(dir)).toEqual([
      `caf\uFFFD.yaml:1:1: IO ${why}`,
      `d\uFFFD:1:1: IO ${why}`,
    ]);
    await writeFile(
      join(dir, 'poolsync.yaml'),
      'apiVersion: poolsync/v1\nkind: RepoConfig\nignore: ["caf\uFFFD.yaml", "d\uFFFD"]\n',
    );
    const r = await loadRepository(dir);
    expect(r.errors).toEqual([]);
    // A name holding U+FFFD itself is UTF-8: read.
    expect(r.counts.clusters).toBe(2);
  });
});

describe('a file removed while the folder is read', () => {
  it('says so and to run again', async () => {
    const dir = await writeRepo({ 'a.yaml': CLUSTER('a'), 'b.yaml': CLUSTER('b') });
    const shared = await readFolderOnce(dir);
    await shared.walk();
    await rm(join(dir, 'b.yaml'));
    expect(await errorsIn(dir, { shared })).toEqual([
      'b.yaml:1:1: IO the file was removed while poolsync read the folder: run again',
    ]);
  });
});

describe('a queue selector with a repeated entry', () => {
  const selector = (list: string) => ({
    'c1.yaml': CLUSTER('c1'),
    'q.yaml': QUEUE('q', `  clusters: ${list}\n`),
  });

  it('hides none of its other errors (V3, V4)', async () => {
    expect(await errorsOf(selector('[c1, c1, nope, "*"]'))).toEqual([
      "q.yaml:8:18: SCHEMA spec.clusters lists 'c1' twice (items 0 and 1)",
      "q.yaml:8:22: V3 queue 'q': cluster 'nope' is not declared",
      `q.yaml:8:28: V4 queue 'q': "*" selects every cluster of the pool and must be the only entry; remove it or the cluster names`,
    ]);
  });

  it('is one error however often it is repeated, "*" included', async () => {
    expect(await errorsOf(selector('[nope, nope, nope]'))).toEqual([
      "q.yaml:8:14: V3 queue 'q': cluster 'nope' is not declared",
      "q.yaml:8:26: SCHEMA spec.clusters lists 'nope' twice (items 1 and 2)",
    ]);
    expect(await errorsOf(selector('["*", "*"]'))).toEqual([
      `q.yaml:8:19: SCHEMA spec.clusters lists '*' twice (items 0 and 1)`,
    ]);
  });
});

describe('a boolean written as a string', () => {
  it('says to remove the quotes, in poolsync.yaml and in manifests', async () => {
    const errors = await errorsOf({
      'poolsync.yaml': 'apiVersion: poolsync/v1\nkind: RepoConfig\nprune: "true"\n',
      'c.yaml': `${CLUSTER('c')}spec:\n  enabled: 'False'\n`,
    });
    expect(errors).toEqual([
      `c.yaml:6:12: SCHEMA spec.enabled must be true or false, got the string "False": remove the quotes`,
      `poolsync.yaml:3:8: SCHEMA prune must be true or false, got the string "true": remove the quotes`,
    ]);
  });
});

describe('YAML positions', () => {
  it('a flow mapping whose } is not indented past its key: at the }, saying so', async () => {
    const pool = `apiVersion: poolsync/v1
kind: ClusterPool
metadata:
  name: prod
spec:
  secret_store: { type: AWS_SECRETS_MANAGER, locator: us-east-1 }
  object_store_ref: {
    uri: "s3://x",
    endpoint: ""
`;
    expect(await errorsOf({ 'p.yaml': `${pool}  }\n` })).toEqual([
      "p.yaml:10:3: YAML syntax error: the closing } at 10:3 must be indented more than its key 'object_store_ref' at 7:3: move it right",
    ]);
    // One that is really never closed is still said to be, where it opens.
    expect(await errorsOf({ 'p.yaml': `${pool}  image_registry: {locator: x}\n` })).toEqual([
      'p.yaml:7:21: YAML syntax error: flow mapping opened here is never closed (the parser gave up at line 10, column 3); add the closing }',
    ]);
  });

  it('an alias as a mapping key: at the alias, saying what to do', async () => {
    const text = `${QUEUE('q')}  priority: &p max\n  *p : 1\n`;
    expect(await errorsOf({ 'q.yaml': text })).toEqual([
      'q.yaml:9:3: YAML mapping keys must be plain strings, not an alias (*p): write the key out',
    ]);
  });

  it('CR line ends (old Mac) count lines as YAML does', async () => {
    const cr = (text: string) => text.replace(/\n/g, '\r');
    expect(await errorsOf({ 'q.yaml': cr(`${QUEUE('q')}  priority: hgh\n`) })).toEqual([
      "q.yaml:8:13: SCHEMA spec.priority must be one of min, medium, max; got 'hgh'",
    ]);
    const bytes = Buffer.concat([
      Buffer.from(cr(QUEUE('q')) + '  priority: m'),
      Buffer.from([0xff]),
    ]);
    expect(await errorsOf({ 'q.yaml': bytes })).toEqual([
      'q.yaml:8:14: YAML file is not UTF-8 text (binary data?): manifests must be UTF-8 YAML',
    ]);
  });
});
