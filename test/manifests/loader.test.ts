/** loadRepository on real folders: walk order, skipping, multi-document files, DesiredState. */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadRepository } from '../../src/manifests/index.js';
import { CLUSTER, POOL, QUEUE, writeRepo } from './helpers.js';
import { queueSpec } from '../support/builders.js';

const BROKEN = 'apiVersion: poolsync/v1\nkind: Nope\n';

describe('walking the folder (manifests.md)', () => {
  it('reads *.yaml and *.yml recursively and skips other files, dot-entries and symlink-free noise', async () => {
    const repo = await writeRepo({
      'pools/prod.yaml': POOL('prod', 's3://prod/x'),
      'clusters/a.yml': CLUSTER('a', 'prod'),
      'clusters/notes.txt': BROKEN,
      'clusters/a.yaml.bak': BROKEN,
      '.git/config.yaml': BROKEN,
      '.hidden.yaml': BROKEN,
      'queues/.drafts/q.yaml': BROKEN,
    });
    const r = await loadRepository(repo);
    expect(r.errors).toEqual([]);
    expect(r.counts).toEqual({
      pools: 1,
      clusters: 1,
      queues: 0,
      assignments: 0,
      files: 2,
      documents: 2,
    });
  });

  it('skips files and folders matched by the ignore globs of poolsync.yaml', async () => {
    const repo = await writeRepo({
      'poolsync.yaml':
        'apiVersion: poolsync/v1\nkind: RepoConfig\nprune: true\nignore: ["drafts", "**/*.wip.yaml"]\n',
      'drafts/x.yaml': BROKEN,
      'queues/q.wip.yaml': BROKEN,
      'queues/q.yaml': QUEUE('q'),
    });
    const r = await loadRepository(repo);
    expect(r.errors).toEqual([]);
    expect(r.desired?.config).toMatchObject({ prune: true, ignore: ['drafts', '**/*.wip.yaml'] });
    expect(r.counts.files).toBe(1);
  });

  it('prunes a folder named by a drafts/** glob', async () => {
    const repo = await writeRepo({
      'poolsync.yaml': 'apiVersion: poolsync/v1\nkind: RepoConfig\nignore: ["drafts/**"]\n',
      'drafts/deep/x.yaml': BROKEN,
    });
    expect((await loadRepository(repo)).errors).toEqual([]);
  });

  it('defaults the repo config to prune=false, ignore=[] and treats only the root poolsync.yaml as config', async () => {
    const repo = await writeRepo({
      'sub/poolsync.yaml': 'apiVersion: poolsync/v1\nkind: RepoConfig\n',
    });
    const r = await loadRepository(repo);
    expect(r.errors.map((e) => [e.code, e.file])).toEqual([['SCHEMA', 'sub/poolsync.yaml']]);
    // Said as what it is, with the way to keep it apart.
    expect(r.errors[0]!.message).toBe(
      "sub is a nested config repository (this is its poolsync.yaml), read here as part of this one: to keep it apart, add 'sub/**' to the ignore: list of the root poolsync.yaml (docs/manifests.md)",
    );
    const ignored = await writeRepo({
      'poolsync.yaml': 'apiVersion: poolsync/v1\nkind: RepoConfig\nignore: ["sub/**"]\n',
      'sub/poolsync.yaml': 'apiVersion: poolsync/v1\nkind: RepoConfig\n',
    });
    expect((await loadRepository(ignored)).errors).toEqual([]);
    // Elsewhere, a RepoConfig is one misplaced.
    const misplaced = await loadRepository(
      await writeRepo({ 'sub/config.yaml': 'apiVersion: poolsync/v1\nkind: RepoConfig\n' }),
    );
    expect(misplaced.errors.map((e) => e.message)).toEqual([
      'RepoConfig belongs in poolsync.yaml at the root of the folder, not among the manifests',
    ]);
    const clean = await loadRepository(await writeRepo({}));
    expect(clean.valid && clean.desired.config).toMatchObject({ prune: false, ignore: [] });
  });

  it('reports errors sorted by file path, then line', async () => {
    const repo = await writeRepo({
      'b.yaml': BROKEN,
      'a/z.yaml': BROKEN,
      'a-b.yaml': `${BROKEN}---\n${BROKEN}`,
    });
    const r = await loadRepository(repo);
    expect(r.errors.map((e) => `${e.file}:${e.line}`)).toEqual([
      'a-b.yaml:2',
      'a-b.yaml:5',
      'a/z.yaml:2',
      'b.yaml:2',
    ]);
  });

  it('reads every document of a multi-document file and skips empty ones', async () => {
    const repo = await writeRepo({
      'all.yaml': `---\n# only a comment\n---\n${POOL('prod', 's3://p/x')}---\n---\n${CLUSTER('c', 'prod')}...\n---\n~\n`,
    });
    const r = await loadRepository(repo);
    expect(r.errors).toEqual([]);
    expect(r.counts.documents).toBe(2);
    expect(r.desired?.clusters[0]?.source).toEqual({ file: 'all.yaml', line: 16, column: 1 });
  });

  it('keeps positions right with CRLF line endings and a byte-order mark', async () => {
    const text = '\uFEFF' + QUEUE('q', '  priority: urgent\n').replace(/\n/g, '\r\n');
    const r = await loadRepository(await writeRepo({ 'q.yaml': text }));
    expect(r.errors.map((e) => [e.code, e.line, e.column])).toEqual([['SCHEMA', 8, 13]]);
  });

  it('reports a missing folder as one IO error', async () => {
    const r = await loadRepository(join(await writeRepo({}), 'nope'));
    expect(r.valid).toBe(false);
    expect(r.errors.map((e) => e.code)).toEqual(['IO']);
  });

  it('validates the bundled example repository clean', async () => {
    const r = await loadRepository('examples/config-repo');
    expect(r.errors).toEqual([]);
    expect(r.counts).toMatchObject({ pools: 3, clusters: 9, queues: 10, assignments: 7 });
    // drafts/ holds a pool that poolsync.yaml ignores.
    expect(await readdir('examples/config-repo/drafts')).not.toHaveLength(0);
    expect(r.desired?.pools.map((p) => p.name)).toEqual(['dev', 'prod', 'research']);
  });
});

describe('DesiredState', () => {
  it('applies the defaults of domain.md and sorts every list', async () => {
    const repo = await writeRepo({
      'p.yaml': POOL('prod', 's3://p/x'),
      'c.yaml': `${CLUSTER('zeta', 'prod')}---\n${CLUSTER('alpha')}`,
      'q.yaml': `${QUEUE('wide')}---\n${QUEUE('busy', '  pool: prod\n  clusters: [zeta]\n  depth: 7\n')}`,
      'a.yaml': `apiVersion: poolsync/v1
kind: PoolAssignment
metadata: { name: z-first }
spec: { project: p, domain: production, workflow: wf, pool: prod }
---
apiVersion: poolsync/v1
kind: PoolAssignment
metadata: { name: a-second }
spec: { project: p, domain: production, pool: default }
`,
    });
    const r = await loadRepository(repo, { commit: 'abc123' });
    if (!r.valid) throw new Error(JSON.stringify(r.errors));
    const d = r.desired;
    expect(d.commit).toBe('abc123');
    expect(d.pools[0]).toMatchObject({
      name: 'prod',
      contract: {
        object_store_ref: { uri: 's3://p/x', endpoint: '' },
        secret_store: { type: 'AWS_SECRETS_MANAGER', locator: 'us-east-1' },
        image_registry: null,
      },
      annotations: {},
      source: { file: 'p.yaml', line: 1, column: 1 },
    });
    expect(d.clusters.map((c) => [c.name, c.pool, c.enabled, c.data_plane])).toEqual([
      ['alpha', 'default', true, null],
      ['zeta', 'prod', true, null],
    ]);
    expect(d.queues.map((q) => q.name)).toEqual(['busy', 'wide']);
    // Every field not written takes the schema's default (the builder's).
    expect(d.queues[1]!.spec).toEqual(queueSpec({ run_concurrency: 1, action_concurrency: 2 }));
    expect(d.queues[0]!.spec).toMatchObject({ pool: 'prod', clusters: ['zeta'], depth: 7 });
    // Assignments sorted by key string: p/production < p/production/wf.
    expect(d.assignments.map((a) => [a.name, a.workflow])).toEqual([
      ['a-second', null],
      ['z-first', 'wf'],
    ]);
  });

  it('fills a co-named queue (C2) and the default queue (P1) with their managed pool and selector', async () => {
    const repo = await writeRepo({
      'all.yaml': `${POOL('prod', 's3://p/x')}---\n${CLUSTER('prod-1', 'prod')}---\n${QUEUE('prod-1', '  priority: max\n')}---\n${QUEUE('default')}`,
    });
    const r = await loadRepository(repo);
    if (!r.valid) throw new Error(JSON.stringify(r.errors));
    expect(
      r.desired.queues.map((q) => [q.name, q.spec.pool, q.spec.clusters, q.spec.priority]),
    ).toEqual([
      ['default', 'default', ['*'], 'medium'],
      ['prod-1', 'prod', ['prod-1'], 'max'],
    ]);
  });

  it('keeps annotations and a key named __proto__ as plain data', async () => {
    const repo = await writeRepo({
      'c.yaml': `apiVersion: poolsync/v1
kind: Cluster
metadata:
  name: c
  annotations:
    poolsync/prevent-destroy: "true"
    __proto__: "x"
`,
    });
    const r = await loadRepository(repo);
    if (!r.valid) throw new Error(JSON.stringify(r.errors));
    const ann = r.desired.clusters[0]!.annotations;
    expect(Object.keys(ann).sort()).toEqual(['__proto__', 'poolsync/prevent-destroy']);
    expect(({} as Record<string, unknown>)['x']).toBeUndefined();
  });

  it("refuses a poolsync/ annotation that is not poolsync's own: a misspelt protection protected nothing", async () => {
    const repo = await writeRepo({
      'c.yaml': `apiVersion: poolsync/v1
kind: Cluster
metadata:
  name: c
  annotations:
    poolsync/prevent_destroy: "true"
    Poolsync/confirm-destroy: "true"
    poolsync/owner: me
    team.example.com/poolsync: "free-form"
`,
    });
    const r = await loadRepository(repo);
    expect(r.valid).toBe(false);
    expect(r.errors.map((e) => `${e.line}:${e.column} ${e.message}`)).toEqual([
      "6:5 unknown poolsync annotation 'poolsync/prevent_destroy' in metadata.annotations (did you mean 'poolsync/prevent-destroy'?)",
      "7:5 unknown poolsync annotation 'Poolsync/confirm-destroy' in metadata.annotations (did you mean 'poolsync/confirm-destroy'?)",
      "8:5 unknown poolsync annotation 'poolsync/owner' in metadata.annotations (known poolsync annotations: poolsync/prevent-destroy, poolsync/confirm-destroy)",
    ]);
  });
});

describe('symbolic links', () => {
  it('are never followed, so a link cannot pull in files from outside or loop', async () => {
    const { symlink } = await import('node:fs/promises');
    const outside = await writeRepo({ 'secret.yaml': 'apiVersion: poolsync/v1\nkind: Nope\n' });
    const repo = await writeRepo({ 'c.yaml': CLUSTER('c') });
    await symlink(join(outside, 'secret.yaml'), join(repo, 'link.yaml'));
    await symlink(repo, join(repo, 'loop'));
    const r = await loadRepository(repo);
    // The link named as a manifest is an error at its path (its objects unknown), never read.
    expect(r.errors.map((e) => `${e.file} ${e.code}`)).toEqual(['link.yaml IO']);
    expect(r.skipped).toEqual([{ path: 'loop', reason: 'symbolic link' }]);
    expect(r.counts.files).toBe(1);
  });
});

describe('example repository editor modelines', () => {
  it('point at an existing schema whose kind matches the document', async () => {
    const { readFile: read } = await import('node:fs/promises');
    const { dirname: dir, relative: rel } = await import('node:path');
    const root = 'examples/config-repo';
    const files = (await readdir(root, { recursive: true })).filter((f) => f.endsWith('.yaml'));
    let checked = 0;
    for (const f of files) {
      const text = await read(join(root, f), 'utf8');
      const m = /^# yaml-language-server: \$schema=(\S+)/.exec(text);
      if (!m) continue;
      const schemaPath = join(root, dir(f), m[1]!);
      expect(rel('schemas', schemaPath).startsWith('..'), `${f} -> ${schemaPath}`).toBe(false);
      const schema = JSON.parse(await read(schemaPath, 'utf8')) as {
        properties: { kind: { const: string } };
      };
      expect(text, f).toContain(`kind: ${schema.properties.kind.const}\n`);
      checked++;
    }
    expect(checked).toBeGreaterThanOrEqual(20);
  });
});
