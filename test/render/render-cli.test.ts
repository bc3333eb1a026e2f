/** `poolsync render` and plan's rendered-file diff in process, on the embedded control plane. */
import { shellQuote } from '../../src/util/shell-quote.js';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { load } from 'js-yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { runInProcess } from '../support/memory-io.js';

const tmp = mkdtempSync(join(tmpdir(), 'poolsync-render-cli-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function poolsync(...args: string[]) {
  return runInProcess(args, {
    ...process.env,
    NO_COLOR: '',
    POOLSYNC_CONTROL_PLANE: '',
    POOLSYNC_TOKEN: '',
  });
}

describe('poolsync render', { timeout: 120_000 }, () => {
  const repo = join(tmp, 'flyte-oss');
  cpSync('examples/flyte-oss', repo, { recursive: true });
  const values = join(repo, 'deploy/flyte-clusters-values.yaml');

  it('--check passes on the committed example, fails with a diff once the manifests change', async () => {
    expect((await poolsync('render', 'flyte-core-values', repo, '--check')).code).toBe(0);
    const labels = join(repo, 'labels/labels.yaml');
    writeFileSync(
      labels,
      readFileSync(labels, 'utf8')
        .replace('weight: 0.7', 'weight: 0.6')
        .replace('weight: 0.3', 'weight: 0.4'),
    );
    const r = await poolsync('render', 'flyte-core-values', repo, '--check');
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('-          weight: 0.7\n+          weight: 0.6');
    // What writes it: this render without --check, its folder named (it said `poolsync render
    // flyte-core-values`, which renders the working folder).
    expect(r.stdout).toContain(`; run \`poolsync render flyte-core-values ${shellQuote(repo)}\`\n`);
  });

  it('plan shows the diff of the stale file after the plan; render then writes it', async () => {
    const cp = `file:${join(tmp, 'cp.json')}`;
    const plan = await poolsync('plan', repo, '--control-plane', cp);
    expect(plan.code).toBe(0);
    expect(plan.stdout).toContain('Plan: 4 to create');
    // flyteadmin has no API for the values: the plan says so, what to run, and what to do with the file.
    expect(plan.stdout).toContain(
      'Rendered file deploy/flyte-clusters-values.yaml would change. flyteadmin has no API for labelClusterMap and clusterConfigs ' +
        '(it reads them from its Helm values at start-up), so no plan or apply sends this change: ' +
        `render the file (\`poolsync render flyte-core-values ${shellQuote(repo)}\`, or let the daemon commit it), ` +
        'then deploy it with `helm upgrade` (the rendered file as the last --values), or let Argo CD / Flux pick up the commit:\n',
    );
    const w = await poolsync('render', 'flyte-core-values', repo);
    expect(w.code).toBe(0);
    expect(w.stderr).toContain(`Wrote ${values}`);
    const parsed = load(readFileSync(values, 'utf8')) as {
      configmap: { clusters: { labelClusterMap: Record<string, unknown> } };
    };
    expect(parsed.configmap.clusters.labelClusterMap['training']).toEqual([
      { id: 'dataplane_1', weight: 0.6 },
      { id: 'dataplane_2', weight: 0.4 },
    ]);
    expect((await poolsync('plan', repo, '--control-plane', cp)).stdout).not.toContain(
      'Rendered file',
    );
  });

  it('--out - prints the Union mapping; an invalid folder prints its errors on stderr and exits 1', async () => {
    const r = await poolsync(
      'render',
      'union-cluster-pools',
      'examples/union-self-managed',
      '--stdout',
    );
    expect(r.code).toBe(0);
    expect((load(r.stdout) as Record<string, string[]>)['production-cp']).toEqual([
      'production-cluster-1',
      'production-cluster-2',
    ]);
    const bad = join(tmp, 'bad');
    cpSync('examples/union-self-managed', bad, { recursive: true });
    // The staging pool and its cluster move into the production bucket: two clusters that
    // share no pool, one bucket (the seed's rule, V13).
    for (const file of ['pools/pools.yaml', 'clusters/clusters.yaml']) {
      const path = join(bad, file);
      writeFileSync(
        path,
        readFileSync(path, 'utf8').replace(
          's3://acme-union-staging/metadata',
          's3://acme-union-prod/staging',
        ),
      );
    }
    // `--out - > values.yaml` must not write the errors into values.yaml.
    for (const out of [['--stdout'], ['--out', '-']]) {
      const invalid = await poolsync('render', 'union-cluster-pools', bad, ...out);
      expect([invalid.code, invalid.stdout]).toEqual([1, '']);
      expect(invalid.stderr).toMatch(/clusters\/clusters\.yaml:\d+:\d+.*V13/);
    }
  });
});
