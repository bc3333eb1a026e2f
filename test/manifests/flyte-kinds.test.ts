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

  it('V9 says the sum and the tolerance; float sums within the tolerance pass', async () => {
    const base = { 'c.yaml': [cluster('a'), cluster('b'), cluster('c')].join('---\n') };
    const ok = await errorsOf({
      ...base,
      'l.yaml': label('l', [
        ['a', 0.1],
        ['b', 0.2],
        ['c', 0.7],
      ]),
    });
    expect(ok).toEqual([]);
    const bad = await errorsOf({
      ...base,
      'l.yaml': label('l', [
        ['a', 0.5],
        ['b', 0.6],
      ]),
    });
    expect(bad.map((e) => e.code)).toEqual(['V9']);
    expect(bad[0]!.message).toContain('sum to 1.1, not 1 (tolerance 0.000001)');
    const zero = await errorsOf({
      ...base,
      'l.yaml': label('l', [
        ['a', 0],
        ['b', 1],
      ]),
    });
    expect(zero.map((e) => [e.code, e.message.includes('outside (0, 1]')])).toEqual([['V9', true]]);
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
    expect(errors[0]!.message).toContain("(did you mean 'label1'?)");
    expect(errors[1]!.message).toContain("(did you mean 'dataplane_1'?)");
  });

  it('V1 reports duplicate ExecutionCluster names at both places', async () => {
    const errors = await errorsOf({ 'a.yaml': cluster('dp'), 'b.yaml': cluster('dp') });
    expect(errors.map((e) => [e.code, e.file])).toEqual([
      ['V1', 'a.yaml'],
      ['V1', 'b.yaml'],
    ]);
  });

  it('V13 compares buckets, not URIs; V7 keeps exact duplicates', async () => {
    const errors = await errorsOf({
      'p.yaml': [
        POOL('a', 's3://shared/a'),
        POOL('b', 's3://shared/b'),
        POOL('c', 's3://own/c'),
      ].join('---\n'),
    });
    expect(errors.map((e) => [e.code, e.address])).toEqual([['V13', 'ClusterPool/b']]);
    expect(errors[0]!.message).toContain('storage.bucketName');
    const same = await errorsOf({
      'p.yaml': [POOL('a', 's3://x/m'), POOL('b', 's3://x/m/')].join('---\n'),
    });
    expect(same.map((e) => e.code)).toEqual(['V7']);
  });
});
