/**
 * Rendered values proven by flyteadmin itself. `poolsync render flyte-core-values` output
 * (configmap.clusters: labelClusterMap, clusterConfigs, defaultExecutionLabel) is the cluster
 * configuration of a real flyteadmin v1.13.0: it starts with it (`serve` builds a client per
 * cluster from its token and CA: the only change is where the Secret is mounted, this test's
 * folder instead of /var/run/credentials), poolsync sets the repository's labels through its API,
 * and flyteadmin's own execution-cluster selector (the probe: executioncluster/impl, the code
 * CreateExecution calls) says where executions of each project/domain[/workflow] run: the
 * clusters and shares the manifests give, disabled clusters skipped, the default label for an
 * unlabelled project. What flyteadmin refuses at start-up (a weight above 1) `validate` refuses
 * first; what it silently drops (an unknown cluster) too.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { load } from 'js-yaml';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { executePlan } from '../../src/apply/executor.js';
import { openControlPlane } from '../../src/controlplane/open.js';
import { planRepository } from '../../src/ops/plan-run.js';
import { runCli } from '../support/cli.js';
import { realMissing } from './real/binaries.js';
import { RealFlyteadmins } from './real/server.js';

const EXECUTIONS = 2000;
const cluster = (name: string, enabled = true) => `apiVersion: poolsync/v1
kind: ExecutionCluster
metadata: {name: ${name}}
spec:
  endpoint: https://${name.replace('_', '-')}.example.com:443
  enabled: ${enabled}
  auth: {type: file_path, tokenPath: /var/run/credentials/${name}_token, certPath: /var/run/credentials/${name}_cacert}
`;
const label = (
  name: string,
  clusters: [string, number][],
  isDefault = false,
) => `apiVersion: poolsync/v1
kind: ClusterLabel
metadata: {name: ${name}}
spec:
  ${isDefault ? 'default: true\n  ' : ''}clusters: [${clusters.map(([c, w]) => `{cluster: ${c}, weight: ${w}}`).join(', ')}]
`;
const ecl = (name: string, spec: string) =>
  `apiVersion: poolsync/v1\nkind: ExecutionClusterLabel\nmetadata: {name: ${name}}\nspec: {${spec}}\n`;

const REPO = {
  'poolsync.yaml': 'apiVersion: poolsync/v1\nkind: RepoConfig\nprune: false\n',
  'clusters.yaml': [cluster('dp_a'), cluster('dp_b'), cluster('dp_c', false)].join('---\n'),
  'labels.yaml': [
    label(
      'gpu',
      [
        ['dp_a', 0.25],
        ['dp_b', 0.75],
      ],
      true,
    ),
    // dp_c is disabled: flyteadmin skips it, dp_a takes the whole label.
    label('mixed', [
      ['dp_a', 0.5],
      ['dp_c', 0.5],
    ]),
    // Every weight 0: an equal share each.
    label('even', [
      ['dp_a', 0],
      ['dp_b', 0],
    ]),
  ].join('---\n'),
  'ecl.yaml': [
    ecl('a', 'project: team1, domain: development, label: gpu'),
    ecl('b', 'project: team1, domain: staging, label: mixed'),
    ecl('c', 'project: team1, domain: production, label: even'),
    ecl('d', 'project: project1, domain: development, label: even'),
    ecl('e', 'project: project1, domain: development, workflow: wf.x, label: mixed'),
  ].join('---\n'),
};

interface Resolution {
  query: string;
  label: string;
  counts: Record<string, number>;
}

const shares = (r: Resolution) =>
  Object.fromEntries(
    Object.entries(r.counts)
      .sort()
      .map(([c, n]) => [c, n / EXECUTIONS]),
  );

const real = new RealFlyteadmins();
afterAll(() => real.close());
const cleanups: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function repo(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'poolsync-rendered-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  await mkdir(dir, { recursive: true });
  for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
  return dir;
}

/** `render flyte-core-values --out FILE`, as a user runs it: configmap.clusters of the file. */
async function renderedClusters(dir: string): Promise<Record<string, unknown>> {
  const outDir = await mkdtemp(join(tmpdir(), 'poolsync-values-'));
  cleanups.push(() => rm(outDir, { recursive: true, force: true }));
  const file = join(outDir, 'values.yaml');
  const out = await runCli(['render', 'flyte-core-values', dir, '--out', file]);
  expect(out.code).toBe(0);
  const text = await readFile(file, 'utf8');
  return (load(text) as { configmap: { clusters: Record<string, unknown> } }).configmap.clusters;
}

/** The rendered clusters with the Secret mounted in `credentialsDir`. */
function mountedAt(clusters: Record<string, unknown>, credentialsDir: string): unknown {
  return JSON.parse(JSON.stringify(clusters).replaceAll('/var/run/credentials', credentialsDir));
}

describe.skipIf(realMissing !== null)('rendered flyte-core values on the real flyteadmin', () => {
  beforeEach(({ skip }) => {
    if (realMissing) skip(realMissing);
  });

  it('flyteadmin starts with them and routes each label to the clusters and weights of the manifests', async () => {
    const dir = await repo(REPO);
    const clusters = await renderedClusters(dir);
    expect(clusters['defaultExecutionLabel']).toBe('gpu');
    const fa = await real.start({
      projects: ['team1', 'project1', 'flytesnacks'],
      credentialsFor: ['dp_a', 'dp_b', 'dp_c'],
      clusters: (credentials: string) => mountedAt(clusters, credentials),
    });
    cleanups.push(() => fa.close());
    // poolsync sets the labels through flyteadmin's API.
    const cp = await openControlPlane(fa.url, { env: process.env });
    cleanups.push(() => cp.close());
    const planned = await planRepository(dir, cp);
    if (!planned.ok) throw new Error(JSON.stringify(planned.errors));
    expect(planned.plan.steps).toHaveLength(5);
    expect((await executePlan(planned.plan, cp)).ok).toBe(true);

    const out = await fa.probe('resolve', [
      '-executions',
      String(EXECUTIONS),
      'team1/development',
      'team1/staging',
      'team1/production',
      'project1/development',
      'project1/development/wf.x',
      'flytesnacks/development',
    ]);
    const results = out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Resolution);
    const by = Object.fromEntries(results.map((r) => [r.query, r]));
    expect(Object.fromEntries(results.map((r) => [r.query, r.label]))).toEqual({
      'team1/development': 'gpu',
      'team1/staging': 'mixed',
      'team1/production': 'even',
      'project1/development': 'even',
      'project1/development/wf.x': 'mixed', // the workflow row wins (priority)
      'flytesnacks/development': '', // no label: defaultExecutionLabel
    });
    const near = (r: Resolution, want: Record<string, number>) => {
      const got = shares(r);
      expect(Object.keys(got).sort()).toEqual(Object.keys(want).sort());
      for (const [c, w] of Object.entries(want)) expect(Math.abs(got[c]! - w)).toBeLessThan(0.04);
    };
    near(by['team1/development']!, { dp_a: 0.25, dp_b: 0.75 });
    near(by['flytesnacks/development']!, { dp_a: 0.25, dp_b: 0.75 });
    near(by['team1/staging']!, { dp_a: 1 });
    near(by['project1/development/wf.x']!, { dp_a: 1 });
    near(by['team1/production']!, { dp_a: 0.5, dp_b: 0.5 });
    near(by['project1/development']!, { dp_a: 0.5, dp_b: 0.5 });
  });

  it('the seed example’s values (flyte-oss, with its in-cluster control plane) resolve as its manifests say', async () => {
    // `serve` needs a pod for an inCluster entry; flyteadmin's selector does not: the probe.
    const clusters = await renderedClusters('examples/flyte-oss');
    const fa = await real.start({ projects: ['team1', 'project1'] });
    cleanups.push(() => fa.close());
    const cp = await openControlPlane(fa.url, { env: process.env });
    cleanups.push(() => cp.close());
    const planned = await planRepository('examples/flyte-oss', cp);
    if (!planned.ok) throw new Error(JSON.stringify(planned.errors));
    expect((await executePlan(planned.plan, cp)).ok).toBe(true);
    const out = await fa.probeWith(clusters, 'resolve', [
      '-executions',
      String(EXECUTIONS),
      'team1/development',
      'team1/production',
      'project1/development/example.training_workflow',
    ]);
    const results = out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Resolution);
    expect(results.map((r) => [r.query, r.label, Object.keys(r.counts).sort()])).toEqual([
      ['team1/development', 'label1', ['dataplane_1']],
      ['team1/production', 'label2', ['dataplane_2']],
      [
        'project1/development/example.training_workflow',
        'training',
        ['dataplane_1', 'dataplane_2'],
      ],
    ]);
    const training = shares(results[2]!);
    expect(Math.abs(training['dataplane_1']! - 0.7)).toBeLessThan(0.04);
  });

  it('a weight above 1 stops flyteadmin at start-up, and validate refuses it first (V9); an unknown cluster flyteadmin drops silently, validate refuses it (V10)', async () => {
    const dir = await repo({
      ...REPO,
      'labels.yaml': label(
        'gpu',
        [
          ['dp_a', 1.5],
          ['dp_b', 0.5],
        ],
        true,
      ),
      'ecl.yaml': '',
    });
    const validated = await runCli(['validate', dir]);
    expect(validated.code).toBe(1);
    expect(validated.stdout + validated.stderr).toMatch(/V9/);
    // The same label, written into flyteadmin's configuration as the values would carry it.
    const clusters = (credentials: string, map: Record<string, unknown>) => ({
      labelClusterMap: map,
      clusterConfigs: ['dp_a', 'dp_b'].map((name) => ({
        name,
        endpoint: `https://${name}.example.com:443`,
        enabled: true,
        auth: {
          type: 'file_path',
          tokenPath: join(credentials, `${name}_token`),
          certPath: join(credentials, `${name}_cacert`),
        },
      })),
      defaultExecutionLabel: 'gpu',
    });
    const refused = await real
      .start({
        projects: ['team1'],
        credentialsFor: ['dp_a', 'dp_b'],
        clusters: (c: string) =>
          clusters(c, {
            gpu: [
              { id: 'dp_a', weight: 1.5 },
              { id: 'dp_b', weight: 0.5 },
            ],
          }),
      })
      .catch((e: unknown) => e);
    expect(String(refused)).toMatch(/did not start[\s\S]*invalid weight/);

    const unknown = await repo({
      ...REPO,
      'labels.yaml': label(
        'gpu',
        [
          ['dp_a', 1],
          ['dp_z', 1],
        ],
        true,
      ),
      'ecl.yaml': '',
    });
    const v10 = await runCli(['validate', unknown]);
    expect([v10.code, v10.stdout + v10.stderr]).toEqual([1, expect.stringMatching(/V10/)]);
    const fa = await real.start({
      projects: ['team1'],
      credentialsFor: ['dp_a', 'dp_b'],
      clusters: (c: string) =>
        clusters(c, {
          gpu: [
            { id: 'dp_a', weight: 1 },
            { id: 'dp_z', weight: 1 },
          ],
        }),
    });
    cleanups.push(() => fa.close());
    const dropped = await fa.probe('resolve', ['-executions', '200', 'team1/development']);
    // flyteadmin starts and sends everything to dp_a: the share meant for dp_z is gone.
    expect(Object.keys((JSON.parse(dropped) as Resolution).counts)).toEqual(['dp_a']);
  });
});
