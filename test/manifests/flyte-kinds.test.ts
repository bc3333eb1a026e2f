/**
 * The Flyte OSS / Union self-managed kinds: what the loader builds from valid manifests, and the
 * messages of V9, V10, V11, V13 (positions are held by the invalid corpus, expected.json).
 */
import { cp } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { loadRepository } from '../../src/manifests/index.js';
import { POOL, writeRepo } from './helpers.js';

const label = (name: string, entries: [string, number | string][]) => `apiVersion: poolsync/v1
kind: ClusterLabel
metadata:
  name: ${name}
spec:
  clusters:
${entries.map(([c, w]) => `    - cluster: ${c}\n      weight: ${w}`).join('\n')}
`;
const cluster = (name: string, extra = '') => `apiVersion: poolsync/v1
kind: ExecutionCluster
metadata:
  name: ${name}
spec:
  endpoint: https://${name}.example.com:443
  auth: {type: file_path, tokenPath: /var/run/credentials/${name}_token, certPath: /var/run/credentials/${name}_cacert}
${extra}`;

async function errorsOf(files: Record<string, string>) {
  const r = await loadRepository(await writeRepo(files));
  return r.errors;
}

describe('Flyte OSS kinds', () => {
  it('builds the desired state of examples/flyte-oss with defaults applied', async () => {
    const dir = await writeRepo({});
    await cp('examples/flyte-oss', dir, { recursive: true });
    const r = await loadRepository(dir);
    expect(r.errors).toEqual([]);
    const d = r.desired!;
    expect(d.execution_clusters!.map((c) => [c.name, c.enabled, c.auth.type])).toEqual([
      ['controlplane', true, 'in_cluster'],
      ['dataplane_1', true, 'file_path'],
      ['dataplane_2', true, 'file_path'],
    ]);
    expect(d.cluster_labels!.find((l) => l.name === 'training')!.clusters).toEqual([
      { cluster: 'dataplane_1', weight: 0.7 },
      { cluster: 'dataplane_2', weight: 0.3 },
    ]);
    expect(
      d.execution_cluster_labels!.map((l) => [l.project, l.domain, l.workflow, l.label]),
    ).toEqual([
      ['project1', 'development', null, 'label1'],
      ['project1', 'development', 'example.training_workflow', 'training'],
      ['team1', 'development', null, 'label1'],
      ['team1', 'production', null, 'label2'],
    ]);
    // The rendered file under deploy/ is skipped by the loader (poolsync.yaml render).
    expect(r.counts.files).toBe(4);
    expect(r.counts.flyte).toEqual({
      execution_clusters: 3,
      cluster_labels: 3,
      execution_cluster_labels: 4,
    });
  });

  it('V9 as flyteadmin reads weights: [0, 1], relative (no sum rule), 0 allowed, not 0 as a float32 unless written 0', async () => {
    const base = {
      'c.yaml': [cluster('a'), cluster('b'), cluster('c')].join('---\n'),
    };
    const codes = async (entries: [string, number | string][]) =>
      (await errorsOf({ ...base, 'l.yaml': label('l', entries) })).map((e) => [e.code, e.message]);
    // Relative weights (weighted_random_list.go): a sum other than 1 is valid, so is 0.
    expect(
      await codes([
        ['a', 0.5],
        ['b', 0.6],
      ]),
    ).toEqual([]);
    expect(
      await codes([
        ['a', 0],
        ['b', 1],
      ]),
    ).toEqual([]);
    expect(
      await codes([
        ['a', 0],
        ['b', 0],
      ]),
    ).toEqual([]);
    expect(
      await codes([
        ['a', 1],
        ['b', 1],
        ['c', 1],
      ]),
    ).toEqual([]);
    // flyteadmin refuses < 0 and > 1 at start-up (validateEntries).
    const below = await codes([
      ['a', -0.1],
      ['b', 1],
    ]);
    expect(below).toEqual([
      ['V9', expect.stringContaining("weight -0.1 of cluster 'a' is below 0")],
    ]);
    const above = await codes([['a', 1.5]]);
    expect(above).toEqual([['V9', expect.stringContaining('is above 1')]]);
    // 1e-320 is 0 as a float32: the file gives the cluster work, flyteadmin would skip it.
    const tiny = await codes([
      ['a', '1e-320'],
      ['b', 1],
    ]);
    expect(tiny).toEqual([['V9', expect.stringContaining('0 as the float32 flyteadmin reads')]]);
    // The smallest float32 above 0 is kept.
    expect(
      await codes([
        ['a', '1.5e-45'],
        ['b', 1],
      ]),
    ).toEqual([]);
  });

  it('V10: at most one ClusterLabel is the default (defaultExecutionLabel)', async () => {
    const def = (name: string) =>
      label(name, [['a', 1]]).replace('spec:\n', 'spec:\n  default: true\n');
    const ok = await loadRepository(
      await writeRepo({
        'c.yaml': cluster('a'),
        'l.yaml': [def('one'), label('two', [['a', 1]])].join('---\n'),
      }),
    );
    expect(ok.errors).toEqual([]);
    expect(ok.desired!.cluster_labels!.map((l) => [l.name, l.default ?? false])).toEqual([
      ['one', true],
      ['two', false],
    ]);
    const two = await errorsOf({
      'c.yaml': cluster('a'),
      'l.yaml': [def('one'), def('two')].join('---\n'),
    });
    expect(two.map((e) => [e.code, e.address])).toEqual([['V10', 'ClusterLabel/two']]);
    expect(two[0]!.message).toContain('one defaultExecutionLabel');
  });

  it('V14: credentials where the flyte-core chart mounts them, and only with a ClusterLabel', async () => {
    const elsewhere = cluster('a').replace(
      'tokenPath: /var/run/credentials/a_token',
      'tokenPath: /etc/credentials/a_token',
    );
    const errors = await errorsOf({ 'c.yaml': elsewhere, 'l.yaml': label('l', [['a', 1]]) });
    expect(errors.map((e) => [e.code, e.line])).toEqual([['V14', 7]]);
    expect(errors[0]!.message).toContain('clusterresourcesync/deployment.yaml:68-71');
    const noLabel = await errorsOf({ 'c.yaml': cluster('a') });
    expect(noLabel.map((e) => e.code)).toEqual(['V14']);
    expect(noLabel[0]!.message).toContain('labelClusterMap is non-empty');
    // inCluster needs no credentials, so no label either.
    const inCluster = await errorsOf({
      'c.yaml': `apiVersion: poolsync/v1\nkind: ExecutionCluster\nmetadata: {name: cp}\nspec: {inCluster: true}\n`,
    });
    expect(inCluster).toEqual([]);
  });

  it('a weight that is not a number is a SCHEMA error, and V9 does not add a sum error', async () => {
    const errors = await errorsOf({
      'c.yaml': [cluster('a'), cluster('b')].join('---\n'),
      'l.yaml': label('l', [
        ['a', '"half"'],
        ['b', 0.5],
      ]),
    });
    expect(errors.map((e) => e.code)).toEqual(['SCHEMA']);
  });

  it('V10 and V11 suggest the closest declared name', async () => {
    const errors = await errorsOf({
      'c.yaml': cluster('dataplane_1'),
      'l.yaml': label('label1', [['dataplane1', 1]]),
      'e.yaml': `apiVersion: poolsync/v1
kind: ExecutionClusterLabel
metadata: {name: x}
spec: {project: team1, domain: development, workflow: wf.a, label: labl1}
`,
    });
    expect(errors.map((e) => [e.code, e.address])).toEqual([
      ['V11', 'ExecutionClusterLabel/team1/development/wf.a'],
      ['V10', 'ClusterLabel/label1'],
    ]);
    expect(errors[0]!.message).toContain("(did you mean 'label1'? declared: label1)");
    expect(errors[1]!.message).toContain("(did you mean 'dataplane_1'? declared: ");
  });

  it('V1 reports duplicate ExecutionCluster names at both places', async () => {
    const errors = await errorsOf({
      'a.yaml': cluster('dp'),
      'b.yaml': cluster('dp'),
      'l.yaml': label('l', [['dp', 1]]),
    });
    expect(errors.map((e) => [e.code, e.file])).toEqual([
      ['V1', 'a.yaml'],
      ['V1', 'b.yaml'],
    ]);
  });

  it('V7 keeps exact duplicates of pools; pools without clusters share no data (the bucket rule is between clusters)', async () => {
    const apart = await errorsOf({
      'p.yaml': [POOL('a', 's3://shared/a'), POOL('b', 's3://shared/b')].join('---\n'),
    });
    expect(apart).toEqual([]);
    const same = await errorsOf({
      'p.yaml': [POOL('a', 's3://x/m'), POOL('b', 's3://x/m/')].join('---\n'),
    });
    expect(same.map((e) => e.code)).toEqual(['V7']);
  });
});
