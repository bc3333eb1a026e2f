/**
 * The seed's examples, end to end through the CLI (child processes) against the stand-in
 * flyteadmin: examples/flyte-oss (the three-cluster Flyte setup of flyte-multi-cluster.md) and
 * examples/union-self-managed (the pool map of union-selfmanaged-multiple-clusters.md) validate,
 * render, and `plan --out FILE` then `apply FILE` sets what they declare.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';
import { exampleRepo } from './helpers.js';
import { flyteadminTargets, type FlyteadminUnderTest } from './targets.js';

const targets = flyteadminTargets();
afterAll(() => targets.close());

describe.each(targets.list)('the seed examples through the CLI against $name', (target) => {
  let fa: FlyteadminUnderTest;
  let tmp: string;
  beforeAll(async () => {
    if (target.missing) return;
    // Credentials (the stand-in's OAuth2 client) are in this process's environment: the CLI inherits them.
    fa = await target.start();
    tmp = await mkdtemp(join(tmpdir(), 'poolsync-examples-'));
  });
  beforeEach(({ skip }) => {
    if (target.missing) skip(target.missing);
  });
  afterAll(async () => {
    await fa?.close();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });
  // In the test's folder: apply keeps its records under ./.poolsync.
  const run = (...args: string[]) => runCli(args, {}, tmp);

  it.each([
    ['flyte-oss', 'flyte-core-values', 'EXECUTION_CLUSTER_LABEL', 4, '10 objects in 4 files'],
    ['union-self-managed', 'union-cluster-pools', 'CLUSTER_ASSIGNMENT', 2, '12 objects in 3 files'],
  ] as const)(
    '%s: validate, render --check, plan --out, apply PLANFILE, plan again',
    { timeout: 120_000 },
    async (example, render, type, rows, declared) => {
      const repo = await exampleRepo(example);
      try {
        const validated = await run('validate', repo.dir);
        expect([validated.code, validated.stdout]).toEqual([0, expect.stringMatching(/^Valid: /)]);
        const checked = await run('render', render, repo.dir, '--check');
        expect([checked.code, checked.stdout]).toEqual([
          0,
          expect.stringContaining('is up to date'),
        ]);
        const file = join(tmp, `${example}.plan.json`);
        const url = `${fa.url}`;
        // What a plan does with each kind flyteadmin has no calls for, as docs/plan.md says.
        const probed = await run('check', repo.dir, '--control-plane', url);
        expect(probed.stdout).toContain(`✓ config folder ${repo.dir}: valid, ${declared}\n`);
        expect(probed.stdout).toContain(
          '✓ ClusterPool, Cluster, ExecutionCluster, ClusterLabel: no API on flyteadmin; configuration only: validated and rendered to files (`poolsync render`), never planned\n',
        );
        expect(probed.stdout).toContain(
          '✓ Queue, DefaultQueue: no API on flyteadmin; a repository declaring it fails the plan (BACKEND_KIND)\n',
        );
        expect(probed.code).toBe(0);
        const planned = await run('plan', repo.dir, '--control-plane', url, '--out', file);
        expect(planned.code).toBe(0);
        expect(planned.stdout).toContain(
          `Plan: ${rows} to create, 0 to update, 0 to replace, 0 to delete, 0 blocked.`,
        );
        const saved = JSON.parse(await readFile(file, 'utf8')) as { steps: { op: string }[] };
        expect(saved.steps).toHaveLength(rows);
        const applied = await run('apply', file, '--control-plane', url);
        expect(applied.code).toBe(0);
        expect(applied.stdout).toContain(`Apply complete: ${rows} created`);
        expect(await fa.rows(type)).toHaveLength(rows);
        const again = await run('plan', repo.dir, '--control-plane', url, '--detailed-exitcode');
        expect([again.code, again.stdout]).toEqual([0, expect.stringContaining('No changes.')]);
      } finally {
        await repo.cleanup();
      }
    },
  );

  it('check: a declared kind flyteadmin refuses is ✗ with the plan’s reason, and the setup is not ready', async () => {
    const repo = await exampleRepo('flyte-oss');
    try {
      await mkdir(join(repo.dir, 'queues'));
      await writeFile(
        join(repo.dir, 'queues', 'batch.yaml'),
        'apiVersion: poolsync/v1\nkind: Queue\nmetadata:\n  name: batch\nspec:\n  pool: default\n  run_concurrency: 1\n  action_concurrency: 1\n',
      );
      for (const probe of ['--probe', '--no-probe']) {
        const checked = await run('check', repo.dir, '--control-plane', fa.url, probe);
        expect(checked.code).toBe(1);
        expect(checked.stdout).toMatch(
          /^✗ Queue: the flyteadmin backend cannot manage Queue: Queue\/batch is declared at queues\/batch\.yaml:\d+:\d+\. This backend manages .*; remove the Queue documents or plan them against a control plane that has them \(BACKEND_KIND\)$/m,
        );
        expect(checked.stdout).not.toMatch(/✓ Queue/);
        expect(checked.stdout).toMatch(/^1 check failed\.$/m);
      }
    } finally {
      await repo.cleanup();
    }
  });
});

describe.each(targets.list)(
  'two repositories on one $name (docs/flyte-oss.md, Prune scope)',
  { timeout: 120_000 },
  (target) => {
    let fa: FlyteadminUnderTest;
    let tmp: string;
    beforeAll(async () => {
      if (target.missing) return;
      fa = await target.start();
      tmp = await mkdtemp(join(tmpdir(), 'poolsync-two-repositories-'));
    });
    beforeEach(({ skip }) => {
      if (target.missing) skip(target.missing);
    });
    afterAll(async () => {
      await fa?.close();
      if (tmp) await rm(tmp, { recursive: true, force: true });
    });
    // Both in the test's folder: one state folder, so one inventory of this flyteadmin.
    const run = (...args: string[]) => runCli([...args, '--control-plane', fa.url], {}, tmp);

    it("the labels repository's prune never deletes the pool assignments the other applied", async () => {
      const labels = await exampleRepo('flyte-oss');
      const assignments = await exampleRepo('union-self-managed');
      try {
        const config = join(labels.dir, 'poolsync.yaml');
        await writeFile(
          config,
          (await readFile(config, 'utf8')).replace('prune: false', 'prune: true'),
        );
        for (const dir of [labels.dir, assignments.dir]) {
          const applied = await run('apply', dir, '--auto-approve');
          expect(applied.code, applied.stderr).toBe(0);
        }
        const rows = await fa.rows('CLUSTER_ASSIGNMENT');
        expect(rows).toHaveLength(2);
        const planned = await run('plan', labels.dir, '--output', 'json');
        expect(planned.code, planned.stderr).toBe(0);
        const plan = JSON.parse(planned.stdout) as {
          changes: { address: string; action: string; why?: { code: string } }[];
          steps: unknown[];
        };
        const assigned = plan.changes.filter((c) => c.address.startsWith('PoolAssignment/'));
        expect(assigned.length).toBeGreaterThan(0);
        for (const c of assigned)
          expect(c, c.address).toMatchObject({
            action: 'unmanaged',
            why: { code: 'OTHER_REPOSITORY' },
          });
        expect(plan.steps).toEqual([]);
        expect((await run('apply', labels.dir, '--auto-approve')).code).toBe(0);
        expect(await fa.rows('CLUSTER_ASSIGNMENT')).toEqual(rows);
      } finally {
        await labels.cleanup();
        await assignments.cleanup();
      }
    });
  },
);
