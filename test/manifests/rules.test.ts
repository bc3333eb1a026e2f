/**
 * V1–V8 and the schema constraints, passing side (the failing side of each is in the
 * invalid corpus), plus the messages and cross-document behaviour of the rules.
 */
import { cp, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadRepository } from '../../src/manifests/index.js';
import { CLUSTER, POOL, QUEUE, writeRepo } from './helpers.js';

const VALID = 'test/fixtures/manifests/valid';
const validFixtures = await readdir(VALID);

describe('passing fixtures', () => {
  it.each(validFixtures)('%s validates clean', async (name) => {
    const repo = await writeRepo({});
    await cp(join(VALID, name), join(repo, name));
    const r = await loadRepository(repo);
    expect(r.errors).toEqual([]);
    expect(r.valid).toBe(true);
  });

  it('schema-edges: hex/octal integers and boundary values reach the DesiredState as numbers', async () => {
    const repo = await writeRepo({});
    await cp(join(VALID, 'schema-edges.yaml'), join(repo, 'x.yaml'));
    const r = await loadRepository(repo);
    if (!r.valid) throw new Error('invalid');
    const byName = new Map(r.desired.queues.map((q) => [q.name, q.spec]));
    expect(byName.get('q-medium')).toMatchObject({ run_concurrency: 16, action_concurrency: 15 });
    expect(byName.get('q-max')?.depth).toBe(2147483647);
    expect(byName.get('q-min')).toMatchObject({ depth: 0, clusters: [] });
  });
});

describe('cross-document rules', () => {
  it('V1 reports both declarations, each naming the other', async () => {
    const repo = await writeRepo({ 'a.yaml': CLUSTER('c'), 'b/c.yaml': CLUSTER('c') });
    const r = await loadRepository(repo);
    expect(r.errors.map((e) => [e.code, e.file, e.line, e.column, e.address])).toEqual([
      ['V1', 'a.yaml', 4, 9, 'Cluster/c'],
      ['V1', 'b/c.yaml', 4, 9, 'Cluster/c'],
    ]);
    // Each names the other where that one's error is: its metadata.name.
    expect(r.errors[0]!.message).toMatch(/also declared at b\/c\.yaml:4:9$/);
    expect(r.errors[1]!.message).toMatch(/also declared at a\.yaml:4:9$/);
  });

  it('V2 names the declared pools so a typo is easy to spot', async () => {
    const repo = await writeRepo({
      'p.yaml': POOL('prod', 's3://p/x'),
      'c.yaml': CLUSTER('c', 'prdo'),
    });
    const [e] = (await loadRepository(repo)).errors;
    expect(e).toMatchObject({
      code: 'V2',
      file: 'c.yaml',
      line: 6,
      column: 9,
      address: 'Cluster/c',
    });
    expect(e!.message).toContain('declared: prod, default');
  });

  it('a pool whose document is broken still counts as declared (no V2/V3 cascade)', async () => {
    const repo = await writeRepo({
      'p.yaml': POOL('prod', 'ftp://p/x'),
      'c.yaml': CLUSTER('c', 'prod'),
      'q.yaml': QUEUE('q', '  pool: prod\n  clusters: [c]\n'),
    });
    const r = await loadRepository(repo);
    expect(r.errors.map((e) => [e.code, e.file])).toEqual([['SCHEMA', 'p.yaml']]);
  });

  it('a cluster whose document is broken is not reported again by V3', async () => {
    const repo = await writeRepo({
      'c.yaml': `${CLUSTER('c')}spec:\n  enabled: maybe\n`,
      'q.yaml': QUEUE('q', '  clusters: [c]\n'),
    });
    const r = await loadRepository(repo);
    expect(r.errors.map((e) => [e.code, e.file])).toEqual([['SCHEMA', 'c.yaml']]);
  });

  it('V3 and V4 point at the selector entry at fault', async () => {
    const repo = await writeRepo({
      'c.yaml': CLUSTER('c'),
      'q.yaml': QUEUE('q', '  clusters:\n    - c\n    - "*"\n    - ghost\n'),
    });
    const r = await loadRepository(repo);
    expect(r.errors.map((e) => [e.code, e.line, e.column])).toEqual([
      ['V4', 10, 7],
      ['V3', 11, 7],
    ]);
  });

  it('V6 names the cluster, the field and both values', async () => {
    const repo = await writeRepo({
      'p.yaml': POOL('prod', 's3://p/x'),
      'c.yaml': `${CLUSTER('c', 'prod')}  data_plane:\n    secret_store: { type: VAULT }\n`,
    });
    const [e] = (await loadRepository(repo)).errors;
    expect(e).toMatchObject({ code: 'V6', file: 'c.yaml', line: 8, column: 27 });
    expect(e!.message).toBe(
      `cluster 'c': data_plane.secret_store.type is "VAULT" but pool 'prod' requires "AWS_SECRETS_MANAGER" (C4)`,
    );
  });

  it('V7 treats a trailing slash as the same object store (P7)', async () => {
    const repo = await writeRepo({
      'a.yaml': POOL('a', 's3://b/x'),
      'b.yaml': POOL('b', 's3://b/x//'),
    });
    expect((await loadRepository(repo)).errors.map((e) => [e.code, e.file])).toEqual([
      ['V7', 'b.yaml'],
    ]);
  });

  it('V8 addresses assignments by key', async () => {
    const repo = await writeRepo({
      'a.yaml': `apiVersion: poolsync/v1\nkind: PoolAssignment\nmetadata: { name: x }\nspec: { project: p, domain: d, workflow: w, pool: gpu }\n`,
    });
    const [e] = (await loadRepository(repo)).errors;
    expect(e).toMatchObject({ code: 'V8', address: 'PoolAssignment/p/d/w', line: 4, column: 51 });
  });

  it('V8 names each declared pool once, `default` too when a document declares it', async () => {
    const repo = await writeRepo({
      'p.yaml': `${POOL('prod', 's3://p/x')}---\n${POOL('default', 's3://d/x')}`,
      'a.yaml': `apiVersion: poolsync/v1\nkind: PoolAssignment\nmetadata: { name: x }\nspec: { project: p, domain: d, pool: gpu }\n`,
    });
    const [e] = (await loadRepository(repo)).errors;
    expect(e).toMatchObject({ code: 'V8', address: 'PoolAssignment/p/d' });
    expect(e!.message).toBe("assignment p/d: pool 'gpu' is not declared (declared: prod, default)");
  });

  it('collects errors from every file and rule in one pass', async () => {
    const repo = await writeRepo({
      'a.yaml': CLUSTER('default'),
      'b.yaml': QUEUE('q', '  pool: nowhere\n'),
      'c.yaml': 'kind: [\n',
    });
    const r = await loadRepository(repo);
    // c.yaml may declare pool 'nowhere': b.yaml's V2 waits for it to parse, and says so.
    expect(r.errors.map((e) => e.code)).toEqual(['V5', 'YAML']);
    expect(r.errors[1]!.message).toContain('(1 reference to a name not declared withheld');
  });

  it('a cluster named default leaves the default queue its own V5 error, not a co-named one', async () => {
    const queue = QUEUE('default', '  pool: dev\n');
    const alone = await loadRepository(await writeRepo({ 'q.yaml': queue }));
    const both = await loadRepository(
      await writeRepo({ 'a.yaml': CLUSTER('default'), 'q.yaml': queue }),
    );
    const own =
      "queue 'default' is the default queue (P1, Q5): its pool is 'default', not 'dev'; omit spec.pool";
    expect(alone.errors.map((e) => e.message)).toEqual([own]);
    expect(both.errors.map((e) => e.message)).toEqual([
      "a cluster cannot be named 'default' (reserved, C1): rename it",
      own,
    ]);
  });
});
