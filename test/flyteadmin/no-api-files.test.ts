/**
 * Union self-managed through the flyteadmin backend (docs/union-self-managed.md): the pool →
 * clusters mapping has no API, so a plan whose only change is there never says the control
 * plane matches the repository, and apply says again at its end that the file must be rendered
 * and handed to Union; the pull-request comment says the same. A plan failing with BACKEND_KIND says no "No changes" either, and words
 * what the backend manages apart from what it takes as configuration. In process, on the stand-in.
 */
import { appendFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { markdownText } from '../../src/render/markdown.js';
import { shellQuote } from '../../src/util/shell-quote.js';
import { cleanup } from '../support/cleanup.js';
import { FakeForge } from '../support/fake-forge.js';
import { runInProcess } from '../support/memory-io.js';
import { tempFolder } from '../support/temp-folder.js';
import { exampleRepo, startFlyteadmin, type Flyteadmin } from './helpers.js';

let fa: Flyteadmin;
let repo: Awaited<ReturnType<typeof exampleRepo>>;
const work = tempFolder('poolsync-no-api-');
beforeAll(async () => {
  fa = await startFlyteadmin(null);
  repo = await exampleRepo('union-self-managed');
});
afterAll(async () => {
  await fa?.close();
  await repo?.cleanup();
});

const poolsync = (...args: string[]) => poolsyncWith({}, ...args);
const poolsyncWith = (env: Record<string, string>, ...args: string[]) =>
  runInProcess(
    [...args, '--control-plane', fa.url],
    {
      ...process.env,
      NO_COLOR: '',
      POOLSYNC_CONTROL_PLANE: '',
      POOLSYNC_FLYTE_CLIENT_ID: '',
      POOLSYNC_FLYTE_CLIENT_SECRET_FILE: '',
      POOLSYNC_FLYTE_CLIENT_SECRET: '',
      ...env,
    },
    work,
  );

const THIRD_CLUSTER = `---
apiVersion: poolsync/v1
kind: Cluster
metadata:
  name: production-cluster-3
spec:
  pool: production-cp
  data_plane:
    object_store_uri: s3://acme-union-prod/metadata
`;

describe('a pool-mapping change on Union self-managed', { timeout: 120_000 }, () => {
  it('plan never says the control plane matches; apply says at its end what to do with the file', async () => {
    await appendFile(join(repo.dir, 'clusters', 'clusters.yaml'), THIRD_CLUSTER);
    const command = `poolsync render union-cluster-pools ${shellQuote(repo.dir)}`;
    const section =
      'Rendered file deploy/union-cluster-pools.yaml would change. Union self-managed has no API for the pool → clusters mapping, ' +
      `so no plan or apply sends this change: render the file (\`${command}\`, or let the daemon commit it), ` +
      'then hand the file to Union (support), who configure the control plane with it:\n';
    const reminder =
      '\nNot applied: deploy/union-cluster-pools.yaml would change, and Union self-managed has no API for the pool → clusters mapping. ' +
      `Render the file (\`${command}\`), then hand the file to Union (support), who configure the control plane with it.\n`;
    const applied = await poolsync('apply', repo.dir, '--auto-approve');
    expect(applied.code).toBe(0);
    expect(applied.stdout).toContain(section);
    expect(applied.stdout).toContain('Apply complete: 2 created');
    expect(applied.stdout.endsWith(reminder)).toBe(true);

    // Nothing to send, but something to do: --detailed-exitcode says so, as Terraform users expect.
    const plan = await poolsync('plan', repo.dir, '--detailed-exitcode');
    expect(plan.code).toBe(2);
    expect(plan.stdout).not.toContain('matches the repository');
    expect(plan.stdout).toContain(
      'No changes to send to the control plane. The repository changes what it has no API for: rendered file deploy/union-cluster-pools.yaml, below.\n',
    );
    expect(plan.stdout).toContain(section);
    expect(plan.stdout).toContain('+  - production-cluster-3\n');

    // The pull-request comment says what the text says (it said "**No changes.** The control
    // plane matches the repository."), from the same files: what changes, why, what to do.
    const head =
      '**No changes to send to the control plane.** The repository changes what it has no API for: rendered file deploy/union-cluster-pools.yaml, below.\n';
    const item = `- ${markdownText(reminder.trim().replace(/^Not applied: /, ''))}\n`;
    const markdown = await poolsync('plan', repo.dir, '--output', 'markdown');
    expect(markdown.stdout.startsWith(head)).toBe(true);
    expect(markdown.stdout).toContain(`### Rendered file: no API\n\n${item}`);
    expect(markdown.stdout).not.toContain('matches the repository');
    const forge = await new FakeForge().start();
    cleanup.add(() => forge.stop());
    const pr = ['--comment', 'github', '--repo', 'acme/cfg', '--pr', '7', '--api-url', forge.url];
    const commented = await poolsyncWith(
      { GITHUB_TOKEN: forge.token },
      ...['plan', repo.dir, ...pr, '--commit', 'c0ffee0'],
    );
    expect(commented.code, commented.stderr).toBe(0);
    const [comment] = forge.list('github:acme/cfg#7');
    expect(comment!.body).toContain(`\n${head}`);
    expect(comment!.body).toContain(item);
    expect(comment!.body).not.toContain('No changes.');
    expect(forge.statuses.at(-1)!.body).toMatchObject({
      description: expect.stringContaining('1 rendered file to deploy (no API).'),
    });

    const nothing = await poolsync('apply', repo.dir, '--auto-approve');
    expect(nothing.code).toBe(0);
    expect(nothing.stdout).not.toContain('matches the repository');
    expect(nothing.stdout.endsWith(reminder)).toBe(true);

    // Rendered (and handed over): the plan has nothing left to say.
    const rendered = await runInProcess(
      ['render', 'union-cluster-pools', repo.dir],
      { ...process.env },
      work,
    );
    expect(rendered.code).toBe(0);
    const after = await poolsync('plan', repo.dir, '--detailed-exitcode');
    expect(after.code).toBe(0);
    expect(after.stdout).toContain('No changes. The control plane matches the repository.\n');
    expect(after.stdout).not.toContain('Rendered file');
  });

  it('a plan failing with BACKEND_KIND does not say "No changes", and names the configuration-only kinds apart', async () => {
    await mkdir(join(repo.dir, 'queues'));
    await writeFile(
      join(repo.dir, 'queues', 'batch.yaml'),
      'apiVersion: poolsync/v1\nkind: Queue\nmetadata:\n  name: batch\nspec:\n  pool: default\n  run_concurrency: 1\n  action_concurrency: 1\n',
    );
    const plan = await poolsync('plan', repo.dir);
    expect(plan.code).toBe(1);
    expect(plan.stdout).not.toContain('No changes');
    expect(plan.stdout).toContain('Plan failed with 1 error: nothing will be applied.');
    expect(plan.stdout).toMatch(
      /This backend manages PoolAssignment, ExecutionClusterLabel through its API; ExecutionCluster, ClusterLabel, ClusterPool, Cluster it takes as configuration only \(validated, rendered to files by `poolsync render`, never sent\); remove the Queue documents/,
    );
  });
});

/**
 * Without poolsync.yaml `render`, nothing says whether the objects that have no API changed: the
 * plan never says the control plane matches, names the render that writes them, and
 * --detailed-exitcode exits 2 (the hand-tester's repro: an added Cluster on Union self-managed,
 * re-weighted and new ClusterLabels in examples/three-backends' production).
 */
describe('configuration-only objects with no rendered file named', { timeout: 120_000 }, () => {
  const head = (objects: string) =>
    `No changes to send to the control plane. The repository declares ${objects} objects, which have no API and no rendered file to compare them with (poolsync.yaml render): whether they changed is unknown, below.\n`;

  it('Union self-managed: an added Cluster is no "No changes"; apply says last what to do', async () => {
    const own = await exampleRepo('union-self-managed');
    cleanup.add(() => own.cleanup());
    await writeFile(
      join(own.dir, 'poolsync.yaml'),
      'apiVersion: poolsync/v1\nkind: RepoConfig\nprune: false\nignore: [deploy/**]\n',
    );
    const command = `poolsync render union-cluster-pools ${shellQuote(own.dir)} --out FILE`;
    const then =
      'hand the file to Union (support), who configure the control plane with it; name it in poolsync.yaml (render.union-cluster-pools.path) and every plan shows what changes.';
    const reminder = `\nNot applied: ClusterPool and Cluster objects are in no rendered file (poolsync.yaml render names none), and Union self-managed has no API for the pool → clusters mapping. Render the file (\`${command}\`), then ${then}\n`;
    const applied = await poolsync('apply', own.dir, '--auto-approve');
    expect(applied.code, applied.stderr).toBe(0);
    // The assignments were applied above: nothing to send, and still something to do.
    expect(applied.stdout).toContain(head('ClusterPool and Cluster'));
    expect(applied.stdout).not.toContain('matches the repository');
    expect(applied.stdout.endsWith(reminder)).toBe(true);

    await appendFile(join(own.dir, 'clusters', 'clusters.yaml'), THIRD_CLUSTER);
    const plan = await poolsync('plan', own.dir, '--detailed-exitcode');
    expect(plan.code).toBe(0); // unknown, not a change known to be made (docs/plan.md)
    expect(plan.stdout).not.toContain('matches the repository');
    expect(plan.stdout).toContain(head('ClusterPool and Cluster'));
    expect(plan.stdout).toContain(
      `\nNo rendered file for the ClusterPool and Cluster objects: poolsync.yaml render names none (render.union-cluster-pools.path), so this plan cannot show whether they changed. Union self-managed has no API for the pool → clusters mapping, so no plan or apply sends them: render the file (\`${command}\`), then ${then}\n`,
    );
    const markdown = await poolsync('plan', own.dir, '--output', 'markdown');
    expect(
      markdown.stdout.startsWith(`**${head('ClusterPool and Cluster').replace('. ', '.** ')}`),
    ).toBe(true);
    expect(markdown.stdout).toContain(
      '### Rendered file: no API\n\n- ClusterPool and Cluster objects are in no rendered file',
    );
  });

  it('flyte-core with environments: re-weighted and new labels in production are no "No changes"', async () => {
    const own = await exampleRepo('three-backends');
    cleanup.add(() => own.cleanup());
    const config = join(own.dir, 'poolsync.yaml');
    await writeFile(
      config,
      (await readFile(config, 'utf8')).replace('flyteadmin+http://127.0.0.1:8091', fa.url),
    );
    const env = { ...process.env, NO_COLOR: '', POOLSYNC_FLYTE_CLIENT_ID: '' };
    const run = (...args: string[]) => runInProcess([...args, '--env', 'production'], env, work);
    expect((await run('apply', own.dir, '--auto-approve')).code).toBe(0);
    const labels = join(own.dir, 'production', 'labels.yaml');
    await writeFile(
      labels,
      (await readFile(labels, 'utf8'))
        .replace('weight: 0.7', 'weight: 0.5')
        .replace('weight: 0.3', 'weight: 0.5') +
        '---\napiVersion: poolsync/v1\nkind: ClusterLabel\nmetadata: {name: newlabel}\nspec:\n  clusters: [{cluster: dataplane_1, weight: 1}]\n',
    );
    const plan = await run('plan', own.dir, '--detailed-exitcode');
    expect(plan.code).toBe(0); // unknown, not a change known to be made (docs/plan.md)
    expect(plan.stdout).not.toContain('matches the repository');
    expect(plan.stdout).toContain(head('ExecutionCluster and ClusterLabel'));
    expect(plan.stdout).toContain(
      `render the file (\`poolsync render flyte-core-values ${shellQuote(own.dir)} --env production --out FILE\`), then deploy it with \`helm upgrade\` (the rendered file as the last --values), or let Argo CD / Flux pick up the commit; name it in poolsync.yaml (render.flyte-core-values.path, with {env}) and every plan shows what changes.\n`,
    );
  });
});
