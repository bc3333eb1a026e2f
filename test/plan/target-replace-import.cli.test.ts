/**
 * Issue 17, end to end through the CLI (child processes, the embedded control plane on disk):
 * plan/apply --target, --replace, plan --refresh-only, and import.
 */
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EmbeddedControlPlane } from '../../src/controlplane/embedded/embedded.js';
import type { Plan } from '../../src/model/plan.js';
import type { RefreshReport } from '../../src/plan/refresh.js';
import { runCli } from '../support/cli.js';
import { recordedAddresses, type InventoryRecord } from '../../src/model/inventory.js';

const QUEUE_WITHOUT_RUN_CONCURRENCY = `apiVersion: poolsync/v1
kind: Queue
metadata:
  name: broken
spec:
  pool: prod
  action_concurrency: 10
`;

let dir: string;
let repo: string;
let cp: string;
let cpPath: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'poolsync-target-'));
  repo = join(dir, 'repo');
  cpSync('examples/config-repo', repo, { recursive: true });
  cpPath = join(dir, 'cp.json');
  cp = `file:${cpPath}`;
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function planJson(...extra: string[]): Promise<Plan> {
  const r = await runCli(['plan', repo, '-o', 'json', '--control-plane', cp, ...extra]);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as Plan;
}

/** Changes the embedded control plane the way someone would by hand. */
async function byHand(fn: (c: EmbeddedControlPlane) => Promise<unknown>): Promise<void> {
  const c = await EmbeddedControlPlane.open({ path: cpPath });
  try {
    await fn(c);
  } finally {
    await c.close();
  }
}

describe('--target, --replace, --refresh-only, import (CLI)', () => {
  it('runs the whole workflow', async () => {
    // --target: the cluster, and the pool it needs; nothing else.
    const partial = await planJson('--target', 'Cluster/prod-us-west-2');
    const full = await planJson();
    expect(partial.steps.map((s) => `${s.op} ${s.target}`)).toEqual([
      'create_pool ClusterPool/prod',
      'register_cluster Cluster/prod-us-west-2',
    ]);
    expect(partial.steps[1]!.depends_on).toEqual(['s1']);
    expect(partial.changes.map((c) => c.address)).toEqual([
      'ClusterPool/prod',
      'Cluster/prod-us-west-2',
      'Queue/prod-us-west-2',
    ]);
    expect(partial.warnings[0]).toMatchObject({ code: 'PARTIAL_PLAN' });
    expect(full.steps.length).toBeGreaterThan(partial.steps.length);
    const text = await runCli([
      'plan',
      repo,
      '--control-plane',
      cp,
      '--target',
      'Cluster/prod-us-west-2',
    ]);
    expect(text.stdout).toMatch(/PARTIAL_PLAN .*this plan is partial/);
    expect(text.stdout).toContain('Plan: 2 to create, 0 to update');

    const bad = await runCli(['plan', repo, '--control-plane', cp, '--target', 'Cluster/nope']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/--target Cluster\/nope: no such object/);
    expect(bad.stderr).not.toMatch(/\n\s+at /);
    const syntax = await runCli(['plan', repo, '--control-plane', cp, '--target', 'prod']);
    expect(syntax.stderr).toMatch(/an address is Kind\/name/);
    // A kind in the case or plural of a directory name is the address meant.
    const kindCase = await runCli([
      'plan',
      repo,
      '--control-plane',
      cp,
      '--target',
      'clusters/prod-us-west-2',
    ]);
    expect(kindCase.stderr).toMatch(
      /--target "clusters\/prod-us-west-2" \(did you mean 'Cluster\/prod-us-west-2'\?\): an address is Kind\/name/,
    );

    // apply --target applies that much only.
    const applied = await runCli([
      'apply',
      repo,
      '--control-plane',
      cp,
      '--auto-approve',
      '--target',
      'Cluster/prod-us-west-2',
    ]);
    expect(applied.code, applied.stderr).toBe(0);
    await byHand(async (c) => {
      expect((await c.listClusters()).map((x) => x.name)).toEqual(['prod-us-west-2']);
    });

    // --refresh-only before any full apply compares with what the targeted apply recorded.
    expect(existsSync(`${cpPath}.last-applied.json`)).toBe(true);
    const all = await runCli(['apply', repo, '--control-plane', cp, '--auto-approve']);
    expect(all.code, all.stderr).toBe(0);
    const clean = await runCli([
      'plan',
      '--refresh-only',
      '--control-plane',
      cp,
      '--detailed-exitcode',
    ]);
    expect(clean.code, clean.stderr).toBe(0);
    expect(clean.stdout).toMatch(/^No drift\./);

    await byHand(async (c) => {
      const q = await c.getQueue('critical');
      const { name: _n, cluster_managed: _m, available_clusters: _a, ...spec } = q;
      await c.updateQueue('critical', { ...spec, run_concurrency: spec.run_concurrency + 50 });
      await c.registerCluster({ name: 'legacy-1', pool: 'prod' });
    });
    const drift = await runCli([
      'plan',
      '--refresh-only',
      '--control-plane',
      cp,
      '--detailed-exitcode',
    ]);
    expect(drift.code, drift.stderr).toBe(2);
    expect(drift.stdout).toMatch(/~ Queue\/critical\n\s+run_concurrency: 100 → 150/);
    expect(drift.stdout).toMatch(/\+ Cluster\/legacy-1 {2}\(appeared outside poolsync\)/);
    expect(drift.stdout).toMatch(/nothing is proposed/);
    const json = await runCli(['plan', '--refresh-only', '--control-plane', cp, '-o', 'json']);
    const report = JSON.parse(json.stdout) as RefreshReport;
    expect(report.drift.map((d) => `${d.drift} ${d.address}`)).toEqual(
      ['appeared Cluster/legacy-1', 'appeared Queue/legacy-1', 'changed Queue/critical'].sort(
        (a, b) => (a.split(' ')[1]! < b.split(' ')[1]! ? -1 : 1),
      ),
    );

    // import writes one live object as a manifest; the plan then has nothing to do for it.
    const imp = await runCli(['import', 'Cluster/legacy-1', '--dir', repo, '--control-plane', cp]);
    expect(imp.code, imp.stderr).toBe(0);
    expect(readFileSync(join(repo, 'clusters/legacy-1.yaml'), 'utf8')).toMatch(/pool: "?prod"?\n/);
    const after = await planJson();
    expect(after.changes.find((c) => c.address === 'Cluster/legacy-1')!.action).toBe('noop');
    const again = await runCli([
      'import',
      'Cluster/legacy-1',
      '--dir',
      repo,
      '--control-plane',
      cp,
    ]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/already in the repository at .*legacy-1\.yaml:\d+:\d+/);
    // A kind named by its key too: a default-queue setting made by hand.
    await byHand((c) => c.setDefaultQueue('ml', 'production', 'critical'));
    const keyed = ['import', 'DefaultQueue/ml/production', '--dir', repo, '--control-plane', cp];
    const setting = await runCli(keyed);
    expect(setting.code, setting.stderr).toBe(0);
    expect(readFileSync(join(repo, 'default-queues/ml-production.yaml'), 'utf8')).toMatch(
      /queue: "?critical"?\n/,
    );
    const settled = (await planJson()).changes.find(
      (c) => c.address === 'DefaultQueue/ml/production',
    );
    expect(settled!.action).toBe('noop');
    const missing = await runCli(['import', 'Cluster/ghost', '--dir', repo, '--control-plane', cp]);
    expect(missing.stderr).toMatch(/Cluster\/ghost is not on the control plane \(its Cluster/);
    // A typo: the closest live name first (it listed the first 8 only, not always that one).
    const typo = ['import', 'Cluster/prod-us-west-22', '--dir', repo, '--control-plane', cp];
    expect((await runCli(typo)).stderr).toMatch(
      /^Error: Cluster\/prod-us-west-22 is not on the control plane: did you mean Cluster\/prod-us-west-2\? \(its Cluster objects: /,
    );

    // --replace: delete and register again though nothing differs; queues cannot (Q6).
    const replace = await planJson('--replace', 'Cluster/prod-us-west-2');
    const change = replace.changes.find((c) => c.address === 'Cluster/prod-us-west-2')!;
    expect(change.action).toBe('replace');
    const ops = replace.steps.filter((s) => s.target === 'Cluster/prod-us-west-2').map((s) => s.op);
    expect(ops).toEqual(expect.arrayContaining(['delete_cluster', 'register_cluster']));
    const orphaned = replace.warnings.find((w) => w.code === 'CONAMED_QUEUE_ORPHANED')!;
    expect(orphaned.message).toMatch(
      /Cluster\/prod-us-west-2 is deleted and registered again in pool "prod" \(C7\)/,
    );
    expect(orphaned.message).not.toMatch(/moves from pool/);
    const queue = await runCli([
      'plan',
      repo,
      '--control-plane',
      cp,
      '--replace',
      'Queue/critical',
    ]);
    expect(queue.code).toBe(1);
    expect(queue.stderr).toMatch(/queue cannot be replaced.*Q6/);
  }, 120_000);
});

describe('import into a folder that lacks what the object names', () => {
  it('names what to import too instead of promising no change, until the folder validates', async () => {
    const state = join(dir, 'hand.json');
    const c = await EmbeddedControlPlane.open({ path: state });
    await c.createPool('hand', {
      object_store_ref: { uri: 's3://hand/meta', endpoint: '' },
      secret_store: { type: 'AWS_SECRETS_MANAGER', locator: 'us-east-1' },
      image_registry: null,
    });
    await c.registerCluster({ name: 'h1', pool: 'hand' });
    await c.createQueue({
      name: 'hq',
      pool: 'hand',
      clusters: ['h1'],
      run_concurrency: 5,
      action_concurrency: 50,
    });
    await c.close();
    const empty = join(dir, 'r9');
    cpSync(join(repo, 'poolsync.yaml'), join(empty, 'poolsync.yaml'));
    const run = (address: string) =>
      runCli(['import', address, '--dir', empty, '--control-plane', `file:${state}`]);

    const queue = await run('Queue/hq');
    expect(queue.code, queue.stderr).toBe(0);
    expect(queue.stdout).toContain(
      `Imported Queue/hq into ${join(empty, 'queues/hq.yaml')}. It names ClusterPool/hand, Cluster/h1, which ${empty} does not declare, so \`poolsync plan\` refuses the folder until they are: import them as you imported this one (\`poolsync import ClusterPool/hand\`, \`poolsync import Cluster/h1\`, with the same flags), or declare them.`,
    );
    expect(queue.stdout).not.toContain('no change');
    // A folder that does not plan may be no repository of this control plane: nothing recorded.
    const inventory = `${state}.inventory.json`;
    expect(queue.stdout).toContain(
      `\nNothing was recorded in the inventory (${inventory}) while the folder does not validate: the first apply of its manifest records it once it validates.\n`,
    );
    expect(existsSync(inventory)).toBe(false);
    const pool = await run('ClusterPool/hand');
    expect(pool.stdout).toContain(
      `but ${empty} does not validate (\`poolsync validate ${empty}\` says why): \`poolsync plan\` refuses the folder until it does.`,
    );
    expect(existsSync(inventory)).toBe(false);
    const cluster = await run('Cluster/h1');
    expect(cluster.stdout).toContain('Commit it; `poolsync plan` now shows no change for it.');
    expect(
      recordedAddresses(JSON.parse(readFileSync(inventory, 'utf8')) as InventoryRecord),
    ).toEqual(['Cluster/h1']);
    // What was imported while the folder did not validate is recorded by the first apply, as said.
    const plan = await runCli(['plan', empty, '--control-plane', `file:${state}`]);
    expect(plan.code, plan.stderr).toBe(0);
    expect(plan.stdout).toContain(
      "Nothing to send to the control plane, but the apply records 2 objects as this repository's (Adopts, below).",
    );
    expect(plan.stdout).toContain(
      'Adopts 2 objects poolsync did not apply: ClusterPool/hand, Queue/hq.',
    );
  }, 120_000);
});

describe('import into a repository with an unrelated error', () => {
  it('finds a declaration in what it read; refuses, writing nothing, when a part was not read', async () => {
    const own = join(dir, 'r11');
    cpSync('examples/config-repo', own, { recursive: true });
    const state = `file:${join(dir, 'r11.json')}`;
    const applied = await runCli(['apply', own, '--control-plane', state, '--auto-approve']);
    expect(applied.code, applied.stderr).toBe(0);
    // A queue missing run_concurrency: the folder no longer validates.
    const broken = QUEUE_WITHOUT_RUN_CONCURRENCY;
    writeFileSync(join(own, 'queues/broken.yaml'), broken);
    const run = () => runCli(['import', 'Queue/batch', '--dir', own, '--control-plane', state]);
    const declaredAt = `${join(own, 'queues/prod/batch.yaml')}:2:1`;

    const managed = await run();
    expect([managed.code, managed.stdout]).toEqual([1, '']);
    expect(managed.stderr).toBe(
      `Error: Queue/batch is already in the repository at ${declaredAt}, and poolsync manages it: nothing to import\n`,
    );
    expect(existsSync(join(own, 'queues/batch.yaml'))).toBe(false);

    // Forgotten, it is adopted again only from a folder that validates.
    const forget = ['state', 'forget', 'Queue/batch', '--dir', own, '--control-plane', state];
    expect((await runCli(forget)).code).toBe(0);
    const forgotten = await run();
    expect(forgotten.code).toBe(1);
    expect(forgotten.stderr).toBe(
      `Error: Queue/batch is declared at ${declaredAt}, but ${own} does not validate (\`poolsync validate ${own}\` says why): nothing was written or recorded, as a folder poolsync cannot plan may be no repository of this control plane. Fix it, then import Queue/batch again\n`,
    );
    expect(existsSync(join(own, 'queues/batch.yaml'))).toBe(false);

    // A file that does not parse could declare it: refused, naming the file.
    writeFileSync(join(own, 'queues/unclosed.yaml'), 'spec: [\n');
    const unread = await run();
    expect(unread.code).toBe(1);
    expect(unread.stderr).toMatch(
      /^Error: nothing was imported: .* was not read whole \(.*queues\/unclosed\.yaml:1:7: syntax error: .*\), so whether it declares Queue\/batch already is not known, and written again it would be declared twice\. Fix that first/,
    );
    expect(existsSync(join(own, 'queues/batch.yaml'))).toBe(false);
  }, 120_000);
});

describe('import into a folder that is no config repository', () => {
  it('is refused in one line, as validate and plan refuse it: nothing written, nothing recorded', async () => {
    const state = join(dir, 'nowhere.json');
    const c = await EmbeddedControlPlane.open({ path: state });
    await c.registerCluster({ name: 'hx' });
    await c.close();
    const elsewhere = join(dir, 'elsewhere');
    mkdirSync(elsewhere);
    const run = await runCli(
      ['import', 'Cluster/hx', '--control-plane', `file:${state}`],
      {},
      elsewhere,
    );
    expect([run.code, run.stdout]).toEqual([1, '']);
    expect(run.stderr).toBe(
      'Error: . is not a poolsync config repository: it has no poolsync.yaml and no poolsync manifest (apiVersion: poolsync/v1) in it or the two levels of folders below; point poolsync at the config folder (e.g. `poolsync import ADDRESS --dir examples/config-repo`), or start one with `poolsync init DIR` (docs/getting-started.md).\n',
    );
    expect(readdirSync(elsewhere)).toEqual([]);
    expect(existsSync(`${state}.inventory.json`)).toBe(false);
  }, 60_000);
});
