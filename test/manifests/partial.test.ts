/**
 * "All errors are collected and reported together" (manifests.md): a document that fails
 * its schema still takes part in V1–V8 through the fields it got right, and a field that
 * failed never feeds a rule, so nothing is reported twice or by cascade.
 */
import { describe, expect, it } from 'vitest';
import { loadRepository } from '../../src/manifests/index.js';
import type { ValidationError } from '../../src/manifests/types.js';
import { CLUSTER, POOL, QUEUE, writeRepo } from './helpers.js';

const brief = (errors: ValidationError[]): string[] =>
  errors.map((e) => `${e.file}:${e.line}:${e.column} ${e.code}`);

async function load(files: Record<string, string>): Promise<ValidationError[]> {
  const r = await loadRepository(await writeRepo(files));
  expect(r.valid).toBe(false);
  expect(r.desired).toBeNull();
  return r.errors;
}

const TYPO_QUEUE = `apiVersion: poolsync/v1
kind: Queue
metadata:
  name: q1
spec:
  pool: prood
  clusters: ["*", c1]
  run_concurency: 5
  action_concurrency: 5
  priority: hgh
`;

describe('schema errors and cross-document errors in one run', () => {
  it('a queue with typos also gets V2 (with a suggestion), V4 and V3', async () => {
    const errors = await load({ 'a.yaml': TYPO_QUEUE, 'p.yaml': POOL('prod', 's3://p/x') });
    expect(brief(errors)).toEqual([
      'a.yaml:6:9 V2',
      'a.yaml:7:14 V4',
      'a.yaml:7:19 V3',
      'a.yaml:8:3 SCHEMA',
      'a.yaml:10:13 SCHEMA',
    ]);
    expect(errors[0]!.message).toBe(
      "queue 'q1': pool 'prood' is not declared (did you mean 'prod'? declared: prod, default)",
    );
    expect(errors[2]!.message).toBe("queue 'q1': cluster 'c1' is not declared");
    expect(new Set(errors.map((e) => e.address))).toEqual(new Set(['Queue/q1']));
  });

  it('a wrong apiVersion does not hide a V2 in the same document', async () => {
    const errors = await load({
      'q.yaml': QUEUE('q', '  pool: nowhere\n').replace('poolsync/v1', 'poolsync/v2'),
    });
    expect(brief(errors)).toEqual(['q.yaml:1:13 SCHEMA', 'q.yaml:8:9 V2']);
  });

  it('V1: a broken document and a valid one with the same name are both reported', async () => {
    const broken = CLUSTER('c').replace('kind: Cluster', 'kind: Cluster\nextra: 1');
    const errors = await load({ 'a.yaml': broken, 'b.yaml': CLUSTER('c') });
    expect(brief(errors)).toEqual(['a.yaml:3:1 SCHEMA', 'a.yaml:5:9 V1', 'b.yaml:4:9 V1']);
  });

  it('V5: a cluster named default with a schema error gets both', async () => {
    const errors = await load({ 'c.yaml': CLUSTER('default') + 'spec:\n  enabled: "no"\n' });
    expect(errors.map((e) => e.code).sort()).toEqual(['SCHEMA', 'V5']);
  });
});

describe('a broken document does not cascade', () => {
  it('a pool with a broken secret store: declared for V2, its URI still checked by V7 and V6', async () => {
    const pool = POOL('prod', 's3://shared/x').replace('AWS_SECRETS_MANAGER', 'AWS_SECRETS_MANAGR');
    const errors = await load({
      'p.yaml': pool,
      'r.yaml': POOL('research', 's3://shared/x/'),
      'c.yaml': `${CLUSTER('c', 'prod')}  data_plane:
    object_store_uri: s3://elsewhere/x
    secret_store: { type: GCP_SECRET_MANAGER, locator: us-east-1 }
`,
    });
    expect(brief(errors)).toEqual(['c.yaml:8:23 V6', 'p.yaml:9:11 SCHEMA', 'r.yaml:7:10 V7']);
    // The secret store type is compared with nothing: the pool's own value is broken (C4).
    expect(errors[0]!.message).toContain('data_plane.object_store_uri');
  });

  it('a pool whose image_registry is ill-typed is not read as "no image registry" (V6)', async () => {
    const pool = POOL('prod', 's3://p/x') + '  image_registry: ghcr.io/acme\n';
    const errors = await load({
      'p.yaml': pool,
      'c.yaml': `${CLUSTER('c', 'prod')}  data_plane:\n    image_registry: ghcr.io/acme\n`,
    });
    expect(brief(errors)).toEqual(['p.yaml:11:19 SCHEMA']);
  });

  it('a cluster with a broken data_plane still counts for V3 and still owns its co-named queue (V5)', async () => {
    const errors = await load({
      'p.yaml': POOL('prod', 's3://p/x'),
      'c.yaml': `${CLUSTER('c', 'prod')}  data_plane:\n    object_store_uri: ftp://nope\n`,
      'q.yaml': QUEUE('q', '  pool: prod\n  clusters: [c]\n'),
      'm.yaml': QUEUE('c', '  pool: default\n'),
    });
    expect(brief(errors)).toEqual(['c.yaml:8:23 SCHEMA', 'm.yaml:8:9 V5']);
    expect(errors[1]!.message).toContain("its pool is 'prod'");
  });

  it('a field that failed its schema feeds no rule: one error per node', async () => {
    const errors = await load({
      'a.yaml': CLUSTER('c', 'Prod'),
      'b.yaml': QUEUE('q1', '  pool: Prod\n'),
      'c.yaml': QUEUE('q2', '  clusters: c\n'),
      'd.yaml': QUEUE('q3', '  clusters: [gone, gone]\n'),
      'e.yaml': QUEUE('q4').replace(/spec:\n[\s\S]*$/, 'spec: [1]\n'),
    });
    expect(errors.map((e) => `${e.file} ${e.code}`)).toEqual([
      'a.yaml SCHEMA',
      'b.yaml SCHEMA',
      'c.yaml SCHEMA',
      // The repeat is the second entry's fault; the first is still checked (gone: V3).
      'd.yaml V3',
      'd.yaml SCHEMA',
      'e.yaml SCHEMA',
    ]);
  });

  it('V3/V4 still check the well-formed entries of a selector with a bad one', async () => {
    const errors = await load({
      'c.yaml': CLUSTER('c'),
      'q.yaml': QUEUE('q', '  clusters: ["*", c, Bad_Name, gone]\n'),
    });
    expect(brief(errors)).toEqual(['q.yaml:8:14 V4', 'q.yaml:8:22 SCHEMA', 'q.yaml:8:32 V3']);
  });

  it('a queue whose pool is broken gets V3 for undeclared clusters but no other-pool V3', async () => {
    const errors = await load({
      'c.yaml': CLUSTER('c'),
      'q.yaml': QUEUE('q', '  pool: 7\n  clusters: [c, gone]\n'),
    });
    expect(brief(errors)).toEqual(['q.yaml:8:9 SCHEMA', 'q.yaml:9:17 V3']);
  });
});

describe('V8 on a broken assignment', () => {
  const assignment = (name: string, project: string, pool: string): string => `---
apiVersion: poolsync/v1
kind: PoolAssignment
metadata:
  name: ${name}
spec:
  project: ${project}
  domain: production
  pool: ${pool}
`;

  it('an unknown pool is reported with the same address as the schema error', async () => {
    const errors = await load({ 'a.yaml': assignment('a1', 'Flytesnacks', 'nowhere') });
    expect(brief(errors)).toEqual(['a.yaml:7:12 SCHEMA', 'a.yaml:9:9 V8']);
    expect(errors[1]!.address).toBe(errors[0]!.address);
    expect(errors[1]!.message).toContain('Flytesnacks/production');
  });

  it('a project that is not a string: the message names the document instead', async () => {
    const errors = await load({ 'a.yaml': assignment('a1', '[x]', 'nowhere') });
    expect(errors.map((e) => e.code)).toEqual(['SCHEMA', 'V8']);
    expect(errors[1]!.message).toMatch(/^assignment 'a1': pool 'nowhere'/);
    expect(errors[1]!.address).toBeNull();
  });

  it('a broken key is not compared with other keys (no spurious duplicate)', async () => {
    const errors = await load({
      'a.yaml': assignment('a1', 'Snacks', 'default') + assignment('a2', 'Snacks', 'default'),
    });
    expect(errors.map((e) => e.code)).toEqual(['SCHEMA', 'SCHEMA']);
  });
});
