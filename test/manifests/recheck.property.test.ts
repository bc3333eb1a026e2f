/**
 * Issue 79 item 2: a daemon's load after a change re-checks only what the change touches
 * (src/manifests/recheck.ts) and must equal a whole load of the same folder: errors (code,
 * message, file:line:column, address) in the same order, counts, skipped entries and the desired
 * state, byte for byte. Random edits of a small repository of every kind, on real files: values
 * changed (dangling pools, clusters, queues, labels; buckets), documents renamed (onto other
 * names: duplicates), copied, deleted, moved between files, broken (schema, YAML); files deleted,
 * renamed (the load order changes), given a comment (every position moves); poolsync.yaml's
 * `absent:` toggled (a start from nothing); a valid state put back. After each edit the daemon's
 * way (an AnalysisCache kept across the edits) is compared with a one-shot load.
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AnalysisCache } from '../../src/incremental/analysis-cache.js';
import { loadRepository } from '../../src/manifests/index.js';
import { tempFolder } from '../support/temp-folder.js';

const POOLS = ['p1', 'p2', 'p3'];
const CLUSTERS = ['c1', 'c2', 'c3', 'c4'];
const QUEUES = ['q1', 'q2', 'q3', 'c1', 'default'];
const BUCKETS = ['s3://b1/m', 's3://b2/m', 's3://b1/other', 's3://b3/m'];
const FILES = ['a.yaml', 'b.yaml', 'c/d.yaml', 'e.yaml', 'z.yaml', 'c/a.yaml'];

const doc = (kind: string, name: string, spec: string[]) =>
  `apiVersion: poolsync/v1\nkind: ${kind}\nmetadata:\n  name: ${name}\nspec:\n${spec.map((l) => `  ${l}\n`).join('')}`;

const pool = (name: string, bucket: string) =>
  doc('ClusterPool', name, [
    'object_store_ref:',
    `  uri: ${bucket}`,
    'secret_store:',
    '  type: AWS_SECRETS_MANAGER',
    '  locator: us-east-1',
  ]);
const cluster = (name: string, pools: string[], bucket: string | null) =>
  doc('Cluster', name, [
    pools.length === 1 ? `pool: ${pools[0]}` : `pools: [${pools.join(', ')}]`,
    ...(bucket ? ['data_plane:', `  object_store_uri: ${bucket}`] : []),
  ]);
const queue = (name: string, pool: string | null, clusters: string[] | null, run: number) =>
  doc('Queue', name, [
    ...(pool ? [`pool: ${pool}`] : []),
    ...(clusters ? [`clusters: [${clusters.map((c) => JSON.stringify(c)).join(', ')}]`] : []),
    `run_concurrency: ${run}`,
    'action_concurrency: 40',
  ]);
const assignment = (project: string, domain: string, pool: string) =>
  doc('PoolAssignment', `${project}-${domain}`, [
    `project: ${project}`,
    `domain: ${domain}`,
    `pool: ${pool}`,
  ]);
const defaultQueue = (project: string, domain: string, queue: string) =>
  doc('DefaultQueue', `dq-${project}-${domain}`, [
    `project: ${project}`,
    `domain: ${domain}`,
    `queue: ${queue}`,
  ]);
const executionCluster = (name: string) => doc('ExecutionCluster', name, ['inCluster: true']);
const label = (name: string, clusters: string[], isDefault: boolean) =>
  doc('ClusterLabel', name, [
    'clusters:',
    ...clusters.map((c) => `  - {cluster: ${c}, weight: 0.5}`),
    ...(isDefault ? ['default: true'] : []),
  ]);
const executionLabel = (project: string, domain: string, l: string) =>
  doc('ExecutionClusterLabel', `ecl-${project}-${domain}`, [
    `project: ${project}`,
    `domain: ${domain}`,
    `label: ${l}`,
  ]);

/** A valid repository using every kind: the state the edits start from and are put back to. */
const VALID: Record<string, string[]> = {
  'a.yaml': [pool('p1', 's3://b1/m'), pool('p2', 's3://b2/m')],
  'b.yaml': [
    cluster('c1', ['p1'], null),
    cluster('c2', ['p1'], 's3://b1/c2'),
    cluster('c3', ['p2'], null),
  ],
  'c/d.yaml': [
    queue('q1', 'p1', ['c1'], 5),
    queue('c1', null, null, 7),
    queue('q2', 'p2', ['*'], 9),
    queue('q3', 'p1', ['c2', 'c1'], 3),
  ],
  // c3's co-named queue, in a file of its own: it follows c3 into another pool (C2).
  'c/a.yaml': [queue('c3', null, null, 2)],
  'e.yaml': [assignment('a', 'development', 'p1'), defaultQueue('a', 'development', 'q1')],
  'z.yaml': [
    executionCluster('e1'),
    label('l1', ['e1'], true),
    executionLabel('a', 'development', 'l1'),
  ],
};

const pick = <T>(list: readonly T[]) => fc.constantFrom(...list);
const someOf = <T>(list: readonly T[]) => fc.subarray([...list], { minLength: 1, maxLength: 2 });
const project = pick(['a', 'b']);
const domain = pick(['development', 'production']);

/** A document of any kind over a few names: dangling references and duplicates are frequent. */
const anyDoc: fc.Arbitrary<string> = fc.oneof(
  fc.tuple(pick([...POOLS, 'default']), pick(BUCKETS)).map(([n, b]) => pool(n, b)),
  fc
    .tuple(pick(CLUSTERS), someOf([...POOLS, 'default']), fc.option(pick(BUCKETS)))
    .map(([n, p, b]) => cluster(n, p, b)),
  fc
    .tuple(
      pick(QUEUES),
      fc.option(pick([...POOLS, 'default'])),
      fc.option(
        fc.oneof(
          someOf(CLUSTERS),
          fc.constant<string[]>(['*']),
          fc.constant<string[]>(['*', 'c1']),
        ),
      ),
      fc.integer({ min: 1, max: 99 }),
    )
    .map(([n, p, c, r]) => queue(n, p, c, r)),
  fc.tuple(project, domain, pick([...POOLS, 'default'])).map(([a, b, c]) => assignment(a, b, c)),
  fc
    .tuple(project, domain, pick([...QUEUES, 'c3', 'nowhere']))
    .map(([a, b, c]) => defaultQueue(a, b, c)),
  pick(['e1', 'e2']).map(executionCluster),
  fc
    .tuple(pick(['l1', 'l2']), someOf(['e1', 'e2', 'e3']), fc.boolean())
    .map(([n, c, d]) => label(n, c, d)),
  fc.tuple(project, domain, pick(['l1', 'l2', 'l3'])).map(([a, b, c]) => executionLabel(a, b, c)),
  // Schema errors: a document that is read but does not validate (its name still declared).
  fc
    .tuple(pick(['ClusterPool', 'Cluster', 'Queue']), pick([...POOLS, ...CLUSTERS, 'q1']))
    .map(([k, n]) => doc(k, n, ['run_concurrency: many', 'pool: [1]'])),
);

type Repo = Map<string, string[]>;
type Edit = { what: string; apply: (repo: Repo, state: { absent: boolean }) => void };

const at = <T>(list: readonly T[], i: number) => list[i % list.length]!;
const filesOf = (repo: Repo) => [...repo.keys()].sort();

const editArb: fc.Arbitrary<Edit> = fc.oneof(
  fc.tuple(fc.nat(), fc.nat(), anyDoc).map(([f, d, text]): Edit => ({
    what: `replace a document: ${text.split('\n')[1]} ${text.split('\n')[3]}`,
    apply: (repo) => {
      const docs = repo.get(at(filesOf(repo), f));
      if (docs?.length) docs[d % docs.length] = text;
    },
  })),
  fc.tuple(pick(FILES), anyDoc).map(([file, text]): Edit => ({
    what: `add to ${file}`,
    apply: (repo) => repo.set(file, [...(repo.get(file) ?? []), text]),
  })),
  fc.tuple(fc.nat(), fc.nat(), pick(FILES)).map(([f, d, to]): Edit => ({
    what: `copy a document to ${to}`,
    apply: (repo) => {
      const docs = repo.get(at(filesOf(repo), f)) ?? [];
      if (docs.length) repo.set(to, [...(repo.get(to) ?? []), at(docs, d)]);
    },
  })),
  fc.tuple(fc.nat(), fc.nat(), pick(FILES)).map(([f, d, to]): Edit => ({
    what: `move a document to ${to}`,
    apply: (repo) => {
      const docs = repo.get(at(filesOf(repo), f)) ?? [];
      if (!docs.length) return;
      const [moved] = docs.splice(d % docs.length, 1);
      repo.set(to, [...(repo.get(to) ?? []), moved!]);
    },
  })),
  fc.tuple(fc.nat(), fc.nat()).map(([f, d]): Edit => ({
    what: 'delete a document',
    apply: (repo) => {
      const docs = repo.get(at(filesOf(repo), f)) ?? [];
      if (docs.length) docs.splice(d % docs.length, 1);
    },
  })),
  fc.nat().map((f): Edit => ({
    what: 'delete a file',
    apply: (repo) => {
      if (repo.size) repo.delete(at(filesOf(repo), f));
    },
  })),
  fc.tuple(fc.nat(), pick(FILES)).map(([f, to]): Edit => ({
    what: `rename a file to ${to}`,
    apply: (repo) => {
      const from = repo.size ? at(filesOf(repo), f) : null;
      if (from === null || from === to) return;
      repo.set(to, [...(repo.get(to) ?? []), ...repo.get(from)!]);
      repo.delete(from);
    },
  })),
  fc.nat().map((f): Edit => ({
    what: 'a comment at the top of a file',
    apply: (repo) => {
      const docs = repo.get(at(filesOf(repo), f)) ?? [];
      if (docs.length) docs[0] = `# moved\n${docs[0]}`;
    },
  })),
  fc.nat().map((f): Edit => ({
    what: 'a YAML error in a file',
    apply: (repo) => {
      const docs = repo.get(at(filesOf(repo), f)) ?? [];
      if (docs.length) docs[docs.length - 1] += 'spec: [unclosed\n';
    },
  })),
  fc.tuple(fc.nat(), fc.integer({ min: 1, max: 99 })).map(([f, n]): Edit => ({
    what: `run_concurrency ${n}`,
    apply: (repo) => {
      const docs = repo.get(at(filesOf(repo), f)) ?? [];
      const i = docs.findIndex((d) => d.includes('run_concurrency: '));
      if (i >= 0) docs[i] = docs[i]!.replace(/run_concurrency: \S+/, `run_concurrency: ${n}`);
    },
  })),
  fc.tuple(fc.nat(), pick(POOLS)).map(([c, p]): Edit => ({
    what: `a cluster moved to ${p}`,
    apply: (repo) => {
      const found = [...repo.values()].flatMap((docs) =>
        docs.map((d, i) => ({ docs, i })).filter(({ docs: l, i }) => /kind: Cluster\n/.test(l[i]!)),
      );
      if (!found.length) return;
      const { docs, i } = at(found, c);
      docs[i] = docs[i]!.replace(/pools?: .*/, `pool: ${p}`);
    },
  })),
  fc.constant<Edit>({
    what: 'absent toggled in poolsync.yaml',
    apply: (_repo, state) => {
      state.absent = !state.absent;
    },
  }),
  fc.constant<Edit>({
    what: 'the valid repository put back',
    apply: (repo) => {
      repo.clear();
      for (const [f, docs] of Object.entries(VALID)) repo.set(f, [...docs]);
    },
  }),
);

/** Patches of environment `one` (the second property): files declaring q1 or q2 are patched. */
const PATCHES = [doc('Queue', 'q1', ['run_concurrency: 11']), doc('Queue', 'q2', ['depth: 7'])];

/** poolsync.yaml, with environment `one` (every folder, PATCHES) when `env`. */
function repoConfig(absent: boolean, env: boolean): string {
  return [
    'apiVersion: poolsync/v1',
    'kind: RepoConfig',
    ...(absent ? ['absent: [ClusterPool/default]'] : []),
    ...(env
      ? [
          'ignore: [patches/**]',
          'environments:',
          '  one: {controlPlane: "file:state.json", folders: ["."], patches: [patches/p.yaml]}',
        ]
      : []),
    '',
  ].join('\n');
}

/** The files changed since the last write written, the files gone removed. */
async function write(dir: string, repo: Repo, written: Map<string, string>, config: string) {
  const texts = new Map([...repo].map(([f, docs]) => [f, docs.join('---\n')]));
  texts.set('poolsync.yaml', config);
  if (config.includes('environments:')) texts.set('patches/p.yaml', PATCHES.join('---\n'));
  for (const [f, text] of texts) {
    if (written.get(f) === text) continue;
    await mkdir(dirname(join(dir, f)), { recursive: true });
    await writeFile(join(dir, f), text);
  }
  for (const f of written.keys()) if (!texts.has(f)) await rm(join(dir, f));
  written.clear();
  for (const [f, text] of texts) written.set(f, text);
}

/** Each edit applied, then the daemon's load and a one-shot load compared; tallies in `seen`. */
async function property(env: boolean, runs: number) {
  const seen = { runs: 0, validToValid: 0, invalid: 0, rechecks: 0 };
  const environment = env ? 'one' : undefined;
  await fc.assert(
    fc.asyncProperty(fc.array(editArb, { minLength: 4, maxLength: 24 }), async (edits) => {
      const dir = tempFolder('poolsync-recheck-');
      const repo: Repo = new Map(Object.entries(VALID).map(([f, d]) => [f, [...d]]));
      const state = { absent: false };
      const written = new Map<string, string>();
      const cache = new AnalysisCache();
      const done: string[] = ['the valid repository'];
      let wasValid = false;
      for (const edit of [null, ...edits]) {
        if (edit) {
          edit.apply(repo, state);
          done.push(edit.what);
        }
        await write(dir, repo, written, repoConfig(state.absent, env));
        const daemon = await loadRepository(dir, { analyses: cache, environment });
        const whole = await loadRepository(dir, { environment });
        expect(JSON.stringify(daemon), `after: ${done.join(' → ')}`).toBe(JSON.stringify(whole));
        if (daemon.valid && wasValid) seen.validToValid++;
        if (!daemon.valid) seen.invalid++;
        wasValid = daemon.valid;
      }
      seen.rechecks += cache.stats.rechecks;
      seen.runs++;
      await rm(dir, { recursive: true, force: true });
    }),
    { numRuns: runs },
  );
  return seen;
}

describe('a recheck equals a whole load (issue 79 item 2)', () => {
  it('after every random edit, the daemon’s load (kept analyses and checks) equals a one-shot load, errors and desired state byte for byte', async () => {
    const seen = await property(false, 60);
    // The paths under test were taken: loads after a valid one, invalid ones, rechecks.
    expect(seen.runs).toBe(60);
    expect(seen.validToValid).toBeGreaterThan(30);
    expect(seen.invalid).toBeGreaterThan(100);
    expect(seen.rechecks).toBeGreaterThan(300);
  }, 300_000);

  it('the same with an environment whose patches are merged into the files declaring q1 and q2 (made again at every load)', async () => {
    const seen = await property(true, 25);
    expect(seen.runs).toBe(25);
    expect(seen.validToValid).toBeGreaterThan(10);
    expect(seen.rechecks).toBeGreaterThan(100);
  }, 300_000);
});
