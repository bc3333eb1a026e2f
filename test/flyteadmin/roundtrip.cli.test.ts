/**
 * Adoption and drift through the CLI, on the real flyteadmin and the stand-in: labels set with
 * the API (as flytectl would) → `poolsync export` → the exported manifests beside the Helm
 * configuration (ClusterLabel, ExecutionCluster: flyteadmin serves no such thing) → `validate`
 * → `plan` has nothing to send (exit 2: the labels' clusters have no rendered file to compare); then `apply` records what it applied, a change made by
 * hand shows in `plan --refresh-only` (drift, no steps), and the next plan puts it back.
 */
import { existsSync } from 'node:fs';
import { cp as copy, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';
import { exampleRepo } from './helpers.js';
import { flyteadminTargets, type FlyteadminUnderTest } from './targets.js';

const UNNAMED_LABELS =
  'No changes to send to the control plane. The repository declares ExecutionCluster and ClusterLabel objects, which have no API and no rendered file to compare them with (poolsync.yaml render): whether they changed is unknown, below.\n';

const targets = flyteadminTargets();
afterAll(() => targets.close());

describe.each(targets.list)('export → validate → plan, and drift, against $name', (target) => {
  let fa: FlyteadminUnderTest | undefined;
  let dir: string | undefined;
  beforeEach(({ skip }) => {
    if (target.missing) skip(target.missing);
  });
  afterEach(async () => {
    await fa?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });
  const run = (...args: string[]) => runCli(args);

  it(
    'exported labels validate and plan nothing to send; a hand change is drift, then put back',
    { timeout: 120_000 },
    async () => {
      fa = await target.start();
      const put = (project: string, domain: string, value: string, workflow?: string) =>
        fa!.call(
          'PUT',
          workflow
            ? `/api/v1/workflow_attributes/${project}/${domain}/${workflow}`
            : `/api/v1/project_domain_attributes/${project}/${domain}`,
          {
            attributes: {
              project,
              domain,
              ...(workflow ? { workflow } : {}),
              matching_attributes: { execution_cluster_label: { value } },
            },
          },
        );
      expect((await put('team1', 'development', 'label1')).status).toBe(200);
      expect((await put('project1', 'development', 'training', 'wf.a')).status).toBe(200);

      dir = await mkdtemp(join(tmpdir(), 'poolsync-adopt-'));
      const exported = await run('export', '--control-plane', fa.url, '--dir', dir);
      expect(exported.code).toBe(0);
      // flyteadmin holds no pools, clusters or queues: the count names what it found.
      expect(exported.stdout).toContain(`Exported 2 execution cluster labels to ${dir}\n`);
      // The configuration kinds come from the Helm values (here: the example's), not flyteadmin.
      for (const sub of ['clusters', 'labels'])
        await copy(`examples/flyte-oss/${sub}`, join(dir, sub), { recursive: true });
      const written = (await readdir(dir, { recursive: true })).filter((f) => f.endsWith('.yaml'));
      expect(written.length).toBeGreaterThan(2);
      const validated = await run('validate', dir);
      expect([validated.code, validated.stdout]).toEqual([0, expect.stringMatching(/^Valid: /)]);
      // Nothing to send; the labels' clusters have no API and no rendered file to compare them
      // with (poolsync.yaml render): the plan says it cannot tell. The apply adopts the exported
      // labels, which is something to do: exit 2 (docs/plan.md, Exit status).
      const planned = await run('plan', dir, '--control-plane', fa.url, '--detailed-exitcode');
      expect([planned.code, planned.stdout]).toEqual([2, expect.stringContaining(UNNAMED_LABELS)]);
      expect(planned.stdout).toContain('Adopts 2 objects poolsync did not apply');

      // apply records the applied state; a hand change afterwards is drift.
      const state = join(dir, '.state');
      const applied = await run(
        'apply',
        dir,
        '--control-plane',
        fa.url,
        '--state-dir',
        state,
        '--auto-approve',
      );
      expect(applied.code).toBe(0);
      // A label's address is long: the list aligns to it (a workflow's, past 60, runs past).
      const listed = await run(
        'state',
        'list',
        dir,
        '--control-plane',
        fa.url,
        '--state-dir',
        state,
      );
      expect(listed.stdout).toMatch(
        /^ExecutionClusterLabel\/team1\/development {10}label label1$/m,
      );
      expect(listed.stdout).toMatch(
        /^ExecutionClusterLabel\/project1\/development\/wf\.a {2}label training$/m,
      );
      expect((await put('team1', 'development', 'label2')).status).toBe(200);
      const drift = await run(
        'plan',
        dir,
        '--control-plane',
        fa.url,
        '--refresh-only',
        '--state-dir',
        state,
      );
      expect(drift.stdout).toContain('ExecutionClusterLabel/team1/development');
      expect(drift.stdout).toMatch(/label1.*label2|label2.*label1/s);
      const back = await run('plan', dir, '--control-plane', fa.url, '--detailed-exitcode');
      expect(back.code).toBe(2);
      expect(back.stdout).toContain('~ ExecutionClusterLabel/team1/development');

      // One label set by hand, adopted alone: its manifest written, then no change for it.
      expect((await put('flytesnacks', 'development', 'label1')).status).toBe(200);
      const address = 'ExecutionClusterLabel/flytesnacks/development';
      // Its apply lock and inventory where the apply above keeps them, not in the checkout.
      const imported = await run(
        'import',
        address,
        '--dir',
        dir,
        '--control-plane',
        fa.url,
        '--state-dir',
        state,
      );
      expect(imported.code, imported.stderr).toBe(0);
      expect(imported.stdout).toContain(
        join(dir, 'execution-cluster-labels/flytesnacks-development.yaml'),
      );
      const adopted = await run('plan', dir, '--control-plane', fa.url, '--state-dir', state);
      expect(adopted.stdout).not.toContain(address);
    },
  );

  it(
    'import into a part of the repository (--dir SUBFOLDER) refuses an object the repository declares, as at its root',
    { timeout: 120_000 },
    async () => {
      fa = await target.start();
      const put = await fa.call('PUT', '/api/v1/project_domain_attributes/team1/staging', {
        attributes: {
          project: 'team1',
          domain: 'staging',
          matching_attributes: { execution_cluster_label: { value: 'label1' } },
        },
      });
      expect(put.status).toBe(200);
      const repo = await exampleRepo('flyte-oss');
      dir = repo.dir;
      const address = 'ExecutionClusterLabel/team1/staging';
      const flags = ['--control-plane', fa.url, '--state-dir', join(dir, '.state')];
      const first = await run('import', address, '--dir', dir, ...flags);
      expect(first.code, first.stderr).toBe(0);
      const file = join(dir, 'execution-cluster-labels', 'team1-staging.yaml');
      const declared = `Error: ${address} is already in the repository at ${file}:1:1, and poolsync manages it: nothing to import\n`;
      const again = await run('import', address, '--dir', dir, ...flags);
      expect([again.code, again.stderr]).toEqual([1, expect.stringContaining(declared)]);
      // The subfolder alone does not validate (its labels' ClusterLabels are elsewhere): it
      // wrote the label again under it, a V1 and V11 duplicate of the repository.
      const sub = join(dir, 'execution-cluster-labels');
      const inPart = await run('import', address, '--dir', sub, ...flags);
      expect([inPart.code, inPart.stderr]).toEqual([1, expect.stringContaining(declared)]);
      expect(existsSync(join(sub, 'execution-cluster-labels'))).toBe(false);
      expect((await run('validate', dir)).code).toBe(0);
    },
  );

  it(
    'assignments naming a pool flyteadmin serves no ClusterPool for: export names it, and the folder plans nothing to send once it is declared',
    { timeout: 120_000 },
    async () => {
      fa = await target.start();
      const assign = (project: string, pool: string) =>
        fa!.call('PUT', `/api/v1/project_domain_attributes/${project}/development`, {
          attributes: {
            project,
            domain: 'development',
            matching_attributes: { cluster_assignment: { cluster_pool_name: pool } },
          },
        });
      expect((await assign('team1', 'handpool')).status).toBe(200);
      expect((await assign('project1', 'default')).status).toBe(200);

      dir = await mkdtemp(join(tmpdir(), 'poolsync-adopt-'));
      const exported = await run('export', '--control-plane', fa.url, '--dir', dir);
      expect(exported.code).toBe(0);
      expect(exported.stdout).toContain(`Exported 2 assignments to ${dir}\n`);
      // `default` is every control plane's (P1): only the other pool is named.
      expect(exported.stderr).toContain(
        "Warning: the pool assignments name pool 'handpool', which this control plane serves no ClusterPool for (flyteadmin has no pool API",
      );
      expect(exported.stderr).not.toContain("'default'");
      const invalid = await run('validate', dir);
      expect([invalid.code, invalid.stdout]).toEqual([1, expect.stringMatching(/V8.*'handpool'/)]);

      // Declared as the warning says: the folder validates and plans nothing to send.
      await mkdir(join(dir, 'pools'));
      await writeFile(
        join(dir, 'pools', 'handpool.yaml'),
        'apiVersion: poolsync/v1\nkind: ClusterPool\nmetadata:\n  name: handpool\nspec:\n  object_store_ref:\n    uri: s3://acme-hand/metadata\n  secret_store:\n    type: AWS_SECRETS_MANAGER\n    locator: us-east-1\n',
      );
      const validated = await run('validate', dir);
      expect([validated.code, validated.stdout]).toEqual([0, expect.stringMatching(/^Valid: /)]);
      // The apply adopts what was exported: something to do.
      const planned = await run('plan', dir, '--control-plane', fa.url, '--detailed-exitcode');
      expect([planned.code, planned.stdout]).toEqual([
        2,
        expect.stringContaining(
          'No changes to send to the control plane. The repository declares ClusterPool and Cluster objects, which have no API and no rendered file to compare them with (poolsync.yaml render): whether they changed is unknown, below.\n',
        ),
      ]);
    },
  );
});
