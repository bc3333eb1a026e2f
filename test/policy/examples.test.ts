/**
 * The five example policies of examples/policies (issue 75), each evaluated by the real OPA on
 * the plan of a small repository against the embedded control plane: one plan it passes, one it
 * fails, through `poolsync plan --policies` and `apply --policies` as a user runs them.
 */
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runInProcess } from '../support/memory-io.js';
import { tempFolder } from '../support/temp-folder.js';
import { CLEAN_ENV, git, opaMissing, opaPath } from './opa.js';

const EXAMPLES = join(import.meta.dirname, '../../examples/policies');

/** A folder holding one example policy only. */
function policy(name: string): string {
  const dir = tempFolder('poolsync-policy-');
  copyFileSync(join(EXAMPLES, `${name}.rego`), join(dir, `${name}.rego`));
  return dir;
}

interface Objects {
  pools?: Record<string, { registry?: boolean }>;
  clusters?: Record<string, string>;
  queues?: Record<string, { pool: string; clusters: string[]; owner?: string }>;
}

const doc = (kind: string, name: string, meta: string, spec: string) =>
  `apiVersion: poolsync/v1\nkind: ${kind}\nmetadata:\n  name: ${name}\n${meta}spec:\n${spec}`;

/** Writes the repository's manifests (a file per kind) into `dir`, replacing those there. */
function write(dir: string, o: Objects): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, 'poolsync.yaml'),
    'apiVersion: poolsync/v1\nkind: RepoConfig\nprune: true\n',
  );
  const pools = Object.entries(o.pools ?? {}).map(([name, p]) =>
    doc(
      'ClusterPool',
      name,
      '',
      `  object_store_ref:\n    uri: s3://bucket-${name}/data\n  secret_store:\n    type: AWS_SECRETS_MANAGER\n    locator: us-east-1\n` +
        (p.registry ? `  image_registry:\n    locator: registry.example.com/${name}\n` : ''),
    ),
  );
  const clusters = Object.entries(o.clusters ?? {}).map(([name, pool]) =>
    doc('Cluster', name, '', `  pool: ${pool}\n  enabled: true\n`),
  );
  const queues = Object.entries(o.queues ?? {}).map(([name, q]) =>
    doc(
      'Queue',
      name,
      q.owner ? `  annotations:\n    owner: ${q.owner}\n` : '',
      `  pool: ${q.pool}\n  clusters: ${JSON.stringify(q.clusters)}\n  run_concurrency: 10\n  action_concurrency: 100\n`,
    ),
  );
  for (const [file, docs] of [
    ['pools.yaml', pools],
    ['clusters.yaml', clusters],
    ['queues.yaml', queues],
  ] as const)
    if (docs.length > 0) writeFileSync(join(dir, file), docs.join('---\n'));
}

/** A repository of `o` in Git on `branch`, with a control plane of its own. */
function repository(o: Objects, branch = 'main') {
  const dir = tempFolder('poolsync-policy-repo-');
  write(dir, o);
  git(dir, 'init', '-q', '-b', branch);
  git(dir, 'add', '.');
  git(dir, 'commit', '-qm', 'init');
  return { dir, cp: `file:${join(tempFolder('poolsync-policy-cp-'), 'state.json')}` };
}

const ENV: NodeJS.ProcessEnv = { ...CLEAN_ENV, POOLSYNC_OPA: opaPath ?? '' };

function poolsync(args: string[], env: NodeJS.ProcessEnv = {}) {
  return runInProcess(args, { ...ENV, ...env });
}

const plan = (r: { dir: string; cp: string }, policies: string, ...more: string[]) =>
  poolsync(['plan', r.dir, '--control-plane', r.cp, '--policies', policies, ...more]);

const apply = (r: { dir: string; cp: string }, ...more: string[]) =>
  poolsync(['apply', r.dir, '--control-plane', r.cp, '--auto-approve', ...more]);

describe.skipIf(opaMissing)(
  `the example policies, evaluated by OPA${opaMissing ? ` (skipped: ${opaMissing})` : ''}`,
  { timeout: 120_000 },
  () => {
    it('pool-registry: a pool without a container registry fails, with its file:line; one with a registry passes', async () => {
      const p = policy('pool-registry');
      const bad = repository({ pools: { gpu: {}, cpu: { registry: true } } });
      const failed = await plan(bad, p);
      expect(failed.code).toBe(1);
      expect(failed.stdout).toContain(
        'FAIL deny: ClusterPool/gpu has no container registry: set spec.image_registry.locator (pools.yaml:',
      );
      expect(failed.stdout).not.toContain('ClusterPool/cpu has no');
      expect(failed.stdout).toContain('1 failure, 0 warnings: apply is blocked');
      // A saved plan applied with --policies is checked before its first step.
      const saved = join(tempFolder('poolsync-policy-plan-'), 'plan.json');
      expect(
        (await poolsync(['plan', bad.dir, '--control-plane', bad.cp, '--out', saved])).code,
      ).toBe(0);
      const refused = await poolsync(['apply', saved, '--control-plane', bad.cp, '--policies', p]);
      expect(refused.code).toBe(1);
      expect(refused.stdout).toContain('FAIL deny: ClusterPool/gpu has no container registry');
      expect(refused.stderr).toContain(
        'the policies deny this plan (1 failure, above): nothing was applied',
      );
      expect(
        (await poolsync(['plan', bad.dir, '--control-plane', bad.cp, '--detailed-exitcode'])).code,
      ).toBe(2);
      const good = repository({ pools: { cpu: { registry: true } } });
      const passed = await plan(good, p);
      expect(passed.code).toBe(0);
      expect(passed.stdout).toContain('1 rule in 1 file: 0 failures, 0 warnings: passed');
    });

    it('queue-owner: a declared queue without an owner annotation fails; with one it passes', async () => {
      const p = policy('queue-owner');
      const objects = (owner?: string): Objects => ({
        pools: { cpu: { registry: true } },
        clusters: { c1: 'cpu' },
        queues: { q1: { pool: 'cpu', clusters: ['c1'], ...(owner ? { owner } : {}) } },
      });
      const failed = await plan(repository(objects()), p);
      expect(failed.code).toBe(1);
      expect(failed.stdout).toMatch(
        /FAIL deny: Queue\/q1 has no owner annotation: add metadata.annotations.owner \(queues.yaml:\d+\)/,
      );
      // The queue c1 the control plane makes with the cluster (C2) is not the repository's.
      expect(failed.stdout).not.toContain('Queue/c1 has no owner');
      const passed = await plan(repository(objects('data-platform')), p);
      expect(passed.code).toBe(0);
      expect(passed.stdout).toContain('0 failures, 0 warnings: passed');
    });

    it('production-pools-from-main: a production pool planned from another branch fails; from main it passes', async () => {
      const p = policy('production-pools-from-main');
      const objects: Objects = { pools: { 'prod-gpu': { registry: true } } };
      const feature = await plan(repository(objects, 'feature/gpu'), p);
      expect(feature.code).toBe(1);
      expect(feature.stdout).toContain(
        'FAIL deny: ClusterPool/prod-gpu is a production pool: it changes only from main, not from feature/gpu',
      );
      const main = await plan(repository(objects, 'main'), p);
      expect(main.code).toBe(0);
      // A CI's own variables name the branch of a detached checkout (GitHub: a pull request's head).
      const pr = await plan(repository(objects, 'main'), p, '--detailed-exitcode');
      expect(pr.code).toBe(2);
      const head = await poolsync(
        [
          'plan',
          repository(objects).dir,
          '--control-plane',
          'file:' + join(tempFolder('cp-'), 's.json'),
          '--policies',
          p,
        ],
        { GITHUB_HEAD_REF: 'dependabot/x' },
      );
      expect(head.code).toBe(1);
      expect(head.stdout).toContain('not from dependabot/x');
      // No branch known (a detached HEAD): said in words, never `not from null`.
      const detached = repository(objects);
      git(detached.dir, 'checkout', '-q', '--detach');
      const none = await plan(detached, p);
      expect(none.code).toBe(1);
      expect(none.stdout).toContain(
        'FAIL deny: ClusterPool/prod-gpu is a production pool: it changes only from main, and this plan is of no known branch (outside Git, or a detached HEAD)',
      );
    });

    it('cluster-delete-routed: deleting a cluster another queue routes to fails; deleting one only its own queue uses passes', async () => {
      const p = policy('cluster-delete-routed');
      const r = repository({
        pools: { cpu: { registry: true } },
        clusters: { c1: 'cpu', c2: 'cpu', c3: 'cpu' },
        queues: { shared: { pool: 'cpu', clusters: ['c1', 'c2'] } },
      });
      expect((await apply(r)).code).toBe(0);
      // c1 goes, and the shared queue, which routes to it now, moves to c2 in the same plan.
      write(r.dir, {
        pools: { cpu: { registry: true } },
        clusters: { c2: 'cpu', c3: 'cpu' },
        queues: { shared: { pool: 'cpu', clusters: ['c2'] } },
      });
      const failed = await plan(r, p);
      expect(failed.code).toBe(1);
      expect(failed.stdout).toContain(
        'FAIL deny: Cluster/c1 is deleted while Queue/shared routes to it: move the queue away first',
      );
      // Applied the policies refuse it: nothing is sent.
      const refused = await apply(r, '--policies', p);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain(
        'the policies deny this plan (1 failure, above): nothing was applied',
      );
      expect(
        (await poolsync(['plan', r.dir, '--control-plane', r.cp, '--detailed-exitcode'])).code,
      ).toBe(2);
      // c3 has only its own queue (c3, made with it: C2): its delete passes.
      write(r.dir, {
        pools: { cpu: { registry: true } },
        clusters: { c1: 'cpu', c2: 'cpu' },
        queues: { shared: { pool: 'cpu', clusters: ['c1', 'c2'] } },
      });
      const passed = await plan(r, p);
      expect(passed.stdout).toContain('- Cluster/c3');
      expect(passed.code).toBe(0);
    });

    it('cluster-replacements: three clusters replaced in one plan fail; two pass', async () => {
      const p = policy('cluster-replacements');
      const r = repository({
        pools: { cpu: { registry: true } },
        clusters: { c1: 'cpu', c2: 'cpu', c3: 'cpu' },
      });
      expect((await apply(r)).code).toBe(0);
      const replace = (...names: string[]) => names.flatMap((n) => ['--replace', `Cluster/${n}`]);
      const failed = await plan(r, p, ...replace('c1', 'c2', 'c3'));
      expect(failed.code).toBe(1);
      expect(failed.stdout).toContain(
        'FAIL deny: 3 clusters are replaced (Cluster/c1, Cluster/c2, Cluster/c3): at most 2 a week',
      );
      const passed = await plan(r, p, ...replace('c1', 'c2'));
      expect(passed.code).toBe(0);
      expect(passed.stdout).toContain('0 failures, 0 warnings: passed');
    });

    it('all five together: one OPA run, five rule sets in package main', async () => {
      const r = repository({
        pools: { gpu: {} },
        queues: {},
      });
      const all = await plan(r, EXAMPLES);
      expect(all.code).toBe(1);
      expect(all.stdout).toMatch(/Policies of .*examples\/policies: 1 rule in 5 files: 1 failure/);
    });
  },
);
