/**
 * docs/union.md, "Union's rules in the plan" (issue 46): the table is read from the page; every
 * row's citation is checked against the installed wheel (the words must be on the lines it
 * cites), and every row runs its scenario against the Union stand-in: a repository that meets
 * the rule applies exactly as planned (test/plan/property/plan-equals-apply.ts `unlike`, then a
 * plan without a step), one that breaks it is refused before planning, planned blocked with the
 * row's reason and nothing sent for it, or refused by Union at the one step the plan could not
 * foresee. Rows marked CLI also run Union's own `flyte` CLI against the stand-in (skipped
 * without the venv, as is the citation check).
 */
import { noteText, whyText } from '../../../src/render/common.js';
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { create } from '@bufbuild/protobuf';
import { afterEach, describe, expect, it } from 'vitest';
import { executePlan } from '../../../src/apply/executor.js';
import { readLiveState } from '../../../src/controlplane/types.js';
import type { UnionControlPlane } from '../../../src/controlplane/union/union.js';
import { QueueService, SchedulingAlgorithm } from '../../../src/gen/cloudidl/queue/queue_pb.js';
import { GPUAcceleratorSchema } from '../../../src/gen/flyteidl2/core/tasks_pb.js';
import type { Plan } from '../../../src/model/plan.js';
import { planRepository } from '../../../src/ops/plan-run.js';
import { registerTempFolder } from '../../support/temp-folder.js';
import { unlike } from '../../plan/property/plan-equals-apply.js';
import { flyte, venv } from './flyte-cli.js';
import { openUnion, rawClient, startUnionServer, type UnionServer } from './helpers.js';
import { poolContract } from '../../support/builders.js';

const root = join(import.meta.dirname, '..', '..', '..');

interface Row {
  id: string;
  where: string;
  words: string;
  kind: string;
  cli: boolean;
}

/** The table's rows, as docs/union.md has them. */
async function table(): Promise<Row[]> {
  const page = await readFile(join(root, 'docs/union.md'), 'utf8');
  const start = page.indexOf("| id | Union's rule |");
  const lines = page.slice(start).split('\n');
  const rows: Row[] = [];
  for (const line of lines.slice(2)) {
    if (!line.startsWith('| U')) break;
    const cells = line.split(' | ').map((c) => c.replace(/^\| ?| ?\|$/g, '').trim());
    rows.push({
      id: cells[0]!,
      where: cells[2]!,
      words: cells[3]!,
      kind: cells[4]!,
      cli: cells[7] === 'yes',
    });
  }
  return rows;
}

const rows = await table();
const servers: UnionServer[] = [];
const opened: UnionControlPlane[] = [];
afterEach(async () => {
  for (const cp of opened.splice(0)) await cp.close();
  for (const s of servers.splice(0)) await s.close();
});

async function fresh(): Promise<{ s: UnionServer; cp: UnionControlPlane }> {
  const s = await startUnionServer({ acceptUnauthenticated: true });
  servers.push(s);
  const cp = await openUnion(s, 'connect');
  opened.push(cp);
  return { s, cp };
}

// The repository: YAML documents, as a user writes them.
const doc = (kind: string, name: string, spec: string) =>
  `apiVersion: poolsync/v1\nkind: ${kind}\nmetadata:\n  name: ${name}\nspec:\n${spec}`;
const pool = (name: string, bucket = name) =>
  doc(
    'ClusterPool',
    name,
    `  object_store_ref: { uri: "s3://${bucket}" }\n  secret_store: { type: AWS_SECRETS_MANAGER, locator: us-east-1 }\n`,
  );
const cluster = (name: string, p = 'default', enabled = true) =>
  doc('Cluster', name, `  pool: ${p}\n  enabled: ${enabled}\n`);
const queue = (name: string, spec = '', run = 1) =>
  doc('Queue', name, `  run_concurrency: ${run}\n  action_concurrency: 1\n${spec}`);
const setting = (project: string, domain: string, q: string) =>
  doc(
    'DefaultQueue',
    `${project}-${domain}`,
    `  project: ${project}\n  domain: ${domain}\n  queue: ${q}\n`,
  );

async function repo(
  docs: string[],
  config: { prune?: boolean; absent?: string[]; manage?: string[] } = {},
) {
  const dir = registerTempFolder(await mkdtemp(join(tmpdir(), 'poolsync-rules-')));
  await mkdir(dir, { recursive: true });
  const absent = config.absent ? `absent: ${JSON.stringify(config.absent)}\n` : '';
  const manage = config.manage ? `manage: ${JSON.stringify(config.manage)}\n` : '';
  await writeFile(
    join(dir, 'poolsync.yaml'),
    `apiVersion: poolsync/v1\nkind: RepoConfig\nprune: ${config.prune ?? false}\n${absent}${manage}`,
  );
  if (docs.length > 0) await writeFile(join(dir, 'all.yaml'), docs.join('---\n'));
  return dir;
}

async function planOf(cp: UnionControlPlane, dir: string): Promise<Plan> {
  const r = await planRepository(dir, cp);
  if (!r.ok) throw new Error(`invalid: ${JSON.stringify(r.errors.map((e) => e.message))}`);
  expect(r.plan.errors).toEqual([]);
  return r.plan;
}

/** Meets the rule: the apply does exactly what the plan showed, and the next plan has no step. */
async function applies(cp: UnionControlPlane, dir: string): Promise<Plan> {
  const plan = await planOf(cp, dir);
  const result = await executePlan(plan, cp, {
    parallelism: 4,
    waitTimeoutMs: 10_000,
    pollIntervalMs: { initial: 5, max: 20 },
  });
  expect(result.steps.filter((x) => x.status !== 'done').map((x) => x.error?.message)).toEqual([]);
  expect(unlike(plan, await readLiveState(cp))).toEqual([]);
  const again = await planOf(cp, dir);
  expect(again.steps.map((x) => `${x.op} ${x.target}`)).toEqual([]);
  return plan;
}

/** Breaks the rule: planned blocked with the row's reason, nothing sent for it, the rest applies. */
async function blocks(cp: UnionControlPlane, dir: string, address: string, code: string) {
  const plan = await planOf(cp, dir);
  const change = plan.changes.find((c) => c.address === address);
  expect(change?.action, `${address}: ${JSON.stringify(change)}`).toBe('blocked');
  expect(change?.why?.code).toBe(code);
  const sent = plan.steps.filter(
    (x) => x.target === address && !['activate_queue', 'wait_idle'].includes(x.op),
  );
  expect(sent.map((x) => x.op)).toEqual([]);
  await applies(cp, dir);
  return plan;
}

/** Breaks the rule before any plan: the loader refuses the repository with this code. */
async function invalid(cp: UnionControlPlane, dir: string, code: string): Promise<void> {
  const r = await planRepository(dir, cp);
  expect(r.ok).toBe(false);
  if (!r.ok) expect(r.errors.map((e) => e.code)).toContain(code);
}

/** Union's own CLI against the stand-in (only where the venv is). */
async function cli(s: UnionServer, args: string[]): Promise<{ code: number; out: string } | null> {
  if (typeof venv === 'string') return null;
  const home = registerTempFolder(await mkdtemp(join(tmpdir(), 'poolsync-rules-home-')));
  return flyte(s, home, args);
}
const refusedByCli = async (s: UnionServer, args: string[], said: RegExp) => {
  const r = await cli(s, args);
  if (r) {
    expect(r.code, r.out).not.toBe(0);
    expect(r.out).toMatch(said);
  }
};
/** Whether Union's CLI ran (and succeeded): without the venv there is no effect to check. */
const acceptedByCli = async (s: UnionServer, args: string[]) => {
  const r = await cli(s, args);
  if (r) expect(r.code, r.out).toBe(0);
  return r !== null;
};

/** `flyte create queue NAME` with the settings every queue needs. */
const createQueue = (name: string) =>
  ['create', 'queue', name, '--run-concurrency', '1', '--action-concurrency', '1'] as const;

/** Pool `pb`'s contract, as pool('pb') declares it. */
const PB = poolContract('s3://pb');

/** A queue drained and deleted through poolsync's backend (Union's soft delete). */
async function deletedQueue(cp: UnionControlPlane, name: string, clusters = ['*']) {
  await cp.queues.createQueue({ name, run_concurrency: 1, action_concurrency: 1, clusters });
  await cp.capabilityCalls.drainQueue(name);
  await cp.capabilityCalls.deleteQueue(name);
}

const SCENARIOS: Record<string, () => Promise<void>> = {
  async U1() {
    const { s, cp } = await fresh();
    await deletedQueue(cp, 'old');
    const plan = await applies(cp, await repo([queue('old'), queue('fresh')]));
    expect(plan.steps.filter((x) => x.target === 'Queue/old').map((x) => x.op)).toContain(
      'undelete_queue',
    );
    await refusedByCli(
      s,
      ['create', 'queue', 'old', '--run-concurrency', '1', '--action-concurrency', '1'],
      /exist/i,
    );
  },
  async U2() {
    const { s, cp } = await fresh();
    const { client, close } = await rawClient(s, QueueService);
    try {
      await expect(
        client.createQueue({ id: { organization: 'acme', project: 'p', name: 'x' }, spec: {} }),
      ).rejects.toThrow(/organization-scoped/);
    } finally {
      close();
    }
    await applies(cp, await repo([queue('x')]));
  },
  async U3() {
    const { cp } = await fresh();
    await cp.clusters.registerCluster({ name: 'c1' });
    await invalid(cp, await repo([cluster('c1'), queue('q', '  clusters: ["*", c1]\n')]), 'V4');
    await applies(cp, await repo([cluster('c1'), queue('q', '  clusters: ["*"]\n')]));
  },
  async U4() {
    const { s, cp } = await fresh();
    await invalid(cp, await repo([queue('q', '  max_resources: { gpu: "1" }\n')]), 'V15');
    await applies(cp, await repo([queue('q', '  max_resources: { cpu: "8" }\n')]));
    await refusedByCli(s, [...createQueue('x'), '--max-resources', 'gpu=1'], /gpu/i);
  },
  async U5() {
    const { s, cp } = await fresh();
    for (const bad of ['nvidia_gpu/not-a-gpu', 'amd_gpu/nvidia-h100', 'nvidia_gpu/google-tpu-v5e'])
      await invalid(cp, await repo([queue('q', `  max_accelerators: { ${bad}: 1 }\n`)]), 'V15');
    await applies(
      cp,
      await repo([queue('q', '  max_accelerators: { nvidia_gpu/nvidia-h100: 1 }\n')]),
    );
    await refusedByCli(s, [...createQueue('x'), '--max-accelerators', 'not-a-gpu=1'], /canonical/);
  },
  async U6() {
    const { s, cp } = await fresh();
    await invalid(
      cp,
      await repo([
        queue('q', '  max_accelerators: { nvidia_gpu/t4: 1, nvidia_gpu/nvidia-t4: 2 }\n'),
      ]),
      'V15',
    );
    await applies(cp, await repo([queue('q', '  max_accelerators: { nvidia_gpu/t4: 1 }\n')]));
    await refusedByCli(
      s,
      [...createQueue('x'), '--max-accelerators', 'T4=1', '--max-accelerators', 'nvidia-t4=2'],
      /same accelerator/,
    );
  },
  async U7() {
    const { s, cp } = await fresh();
    // Sent canonical: the shorthand of the repository is written as Union writes it.
    await applies(cp, await repo([queue('q', '  max_accelerators: { nvidia_gpu/t4: 1 }\n')]));
    const { client, close } = await rawClient(s, QueueService);
    try {
      const read = await client.getQueue({ id: { organization: 'acme', name: 'q' } });
      expect(read.queue?.spec?.maxAccelerators.map((a) => a.accelerator?.device)).toEqual([
        'nvidia-t4',
      ]);
      // A cap stored before the canonical names: read back canonical, so nothing to change.
      const spec = read.queue!.spec!;
      spec.maxAccelerators[0]!.accelerator = create(GPUAcceleratorSchema, {
        device: 'nvidia-tesla-t4',
        partitionSizeValue: { case: 'unpartitioned', value: true },
      });
      await client.updateQueue({ id: { organization: 'acme', name: 'q' }, spec });
    } finally {
      close();
    }
    const plan = await applies(
      cp,
      await repo([queue('q', '  max_accelerators: { nvidia_gpu/nvidia-t4: 1 }\n')]),
    );
    expect(plan.steps).toEqual([]);
  },
  async U8() {
    const { s, cp } = await fresh();
    await applies(cp, await repo([queue('q')]));
    const { client, close } = await rawClient(s, QueueService);
    try {
      const read = await client.getQueue({ id: { organization: 'acme', name: 'q' } });
      expect(read.queue?.spec?.scheduling).toBe(SchedulingAlgorithm.STRICT_FIFO);
    } finally {
      close();
    }
    await acceptedByCli(s, [...createQueue('x')]);
  },
  async U9() {
    const { cp } = await fresh();
    await cp.pools.createPool('pb', PB);
    await cp.clusters.registerCluster({ name: 'cb', pool: 'pb' });
    await cp.queues.createQueue({ name: 'm', run_concurrency: 1, action_concurrency: 1 });
    await invalid(
      cp,
      await repo([pool('pb'), cluster('cb', 'pb'), queue('m', '  pool: pb\n  clusters: [cz]\n')]),
      'V3',
    );
    const plan = await applies(
      cp,
      await repo([pool('pb'), cluster('cb', 'pb'), queue('m', '  pool: pb\n  clusters: ["*"]\n')]),
    );
    expect(plan.steps.filter((x) => x.target === 'Queue/m').map((x) => x.op)).toEqual([
      'drain_queue',
      'wait_drained',
      'move_queue',
      'activate_queue',
    ]);
  },
  async U10() {
    const { cp } = await fresh();
    await cp.clusters.registerCluster({ name: 'c1' });
    await cp.pools.createPool('pb', PB);
    // Its pool and selector are its cluster's (V5): only its other settings are declared.
    await invalid(
      cp,
      await repo([pool('pb'), cluster('c1'), queue('c1', '  pool: pb\n  clusters: ["*"]\n')]),
      'V5',
    );
    await applies(cp, await repo([pool('pb'), cluster('c1'), queue('c1', '', 4)]));
  },
  async U11() {
    const { cp } = await fresh();
    await deletedQueue(cp, 'old');
    const plan = await applies(cp, await repo([queue('old', '', 9)]));
    expect(plan.steps.filter((x) => x.target === 'Queue/old').map((x) => x.op)).toEqual([
      'undelete_queue',
      'update_queue',
      'activate_queue',
    ]);
  },
  async U12() {
    const { s, cp } = await fresh();
    await cp.pools.createPool('pb', PB);
    await cp.clusters.registerCluster({ name: 'c1' });
    await cp.defaultQueues.setDefaultQueue('ml', 'production', 'c1');
    // Item 2: the co-named queue a setting names is drained for its cluster's move.
    const plan = await applies(
      cp,
      await repo([pool('pb'), cluster('c1', 'pb'), setting('ml', 'production', 'c1'), queue('c1')]),
    );
    expect(plan.steps.map((x) => `${x.op} ${x.target}`)).toContain('drain_queue Queue/c1');
    await acceptedByCli(s, ['update', 'queue', 'c1', '--drain']);
  },
  async U13() {
    const { cp } = await fresh();
    await deletedQueue(cp, 'old');
    await expect(cp.capabilityCalls.drainQueue('old')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    const plan = await applies(cp, await repo([queue('old')]));
    expect(plan.steps.some((x) => x.op === 'drain_queue')).toBe(false);
  },
  async U14() {
    const { cp } = await fresh();
    await cp.clusters.registerCluster({ name: 'c1' });
    await cp.clusters.updateCluster('c1', { enabled: false });
    await expect(cp.capabilityCalls.activateQueue('c1')).rejects.toMatchObject({
      code: 'FAILED_PRECONDITION',
    });
    const plan = await applies(
      cp,
      await repo([cluster('c1', 'default', false), queue('c1', '', 3)]),
    );
    expect(plan.steps.some((x) => x.op === 'activate_queue')).toBe(false);
  },
  async U15() {
    const { s, cp } = await fresh();
    await cp.queues.createQueue({ name: 'gone', run_concurrency: 1, action_concurrency: 1 });
    await refusedByCli(s, ['delete', 'queue', 'gone', '--yes'], /drain/i);
    const plan = await applies(cp, await repo([], { prune: true, manage: ['Queue'] }));
    expect(plan.steps.filter((x) => x.target === 'Queue/gone').map((x) => x.op)).toEqual([
      'drain_queue',
      'wait_drained',
      'delete_queue',
    ]);
  },
  async U16() {
    const { s, cp } = await fresh();
    await deletedQueue(cp, 'taken');
    // Item 6: a cluster may not take a deleted queue's name.
    await blocks(
      cp,
      await repo([cluster('taken'), cluster('free')]),
      'Cluster/taken',
      'CLUSTER_NAME_RESERVED',
    );
    await refusedByCli(s, ['create', 'cluster', 'taken'], /taken|exist|reserved/i);
    // Item 7, a pool change by delete and create of a reserved name: test/plan/union-rules.test.ts.
  },
  async U17() {
    const { s, cp } = await fresh();
    // Item 1: absent default a DefaultQueue names: blocked, never drained.
    const plan = await blocks(
      cp,
      await repo([setting('ml', 'production', 'default')], { absent: ['Queue/default'] }),
      'Queue/default',
      'DEFAULT_QUEUE_ABSENT_UNDELETABLE',
    );
    expect(plan.steps.some((x) => x.op === 'drain_queue')).toBe(false);
    expect((await cp.queues.getQueue('default')).state).toBe('active');
    // Item 4: the setting this plan repoints no longer holds the delete: one apply.
    await cp.queues.createQueue({ name: 'old', run_concurrency: 1, action_concurrency: 1 });
    await cp.defaultQueues.setDefaultQueue('ml', 'staging', 'old');
    await applies(
      cp,
      await repo(
        [queue('new'), setting('ml', 'staging', 'new'), setting('ml', 'production', 'default')],
        { prune: true },
      ),
    );
    expect((await readLiveState(cp)).queues.map((q) => q.name)).not.toContain('old');
    await refusedByCli(s, ['delete', 'queue', 'default', '--yes'], /default queue of|drain/i);
  },
  async U18() {
    const { cp } = await fresh();
    const plan = await applies(cp, await repo([], { absent: ['Queue/default'] }));
    expect(plan.steps.map((x) => x.op)).toEqual(['drain_queue', 'wait_drained', 'delete_queue']);
  },
  async U19() {
    const { cp } = await fresh();
    await cp.clusters.registerCluster({ name: 'c1' });
    await deletedQueue(cp, 'pinned', ['c1']);
    await cp.clusters.updateCluster('c1', { enabled: false });
    await cp.clusters.deleteCluster('c1');
    await blocks(
      cp,
      await repo([queue('pinned', '  clusters: ["*"]\n')]),
      'Queue/pinned',
      'QUEUE_UNDELETE_CLUSTER_GONE',
    );
  },
  async U20() {
    const { s, cp } = await fresh();
    const plan = await applies(cp, await repo([cluster('c1')]));
    expect(plan.changes.find((c) => c.address === 'Queue/c1')).toMatchObject({
      action: 'create',
      caused_by: 'Cluster/c1',
    });
    if (await acceptedByCli(s, ['create', 'cluster', 'c2']))
      expect((await cp.queues.getQueue('c2')).cluster_managed).toBe(true);
  },
  async U21() {
    const { s, cp } = await fresh();
    await cp.queues.createQueue({ name: 'busy', run_concurrency: 1, action_concurrency: 1 });
    await blocks(cp, await repo([cluster('busy')]), 'Cluster/busy', 'CLUSTER_NAME_TAKEN');
    await invalid(cp, await repo([cluster('default')]), 'V5');
    await refusedByCli(s, ['create', 'cluster', 'busy'], /exist|taken/i);
  },
  async U22() {
    const { cp } = await fresh();
    const plan = await applies(cp, await repo([pool('pn'), cluster('cn', 'pn')]));
    const order = plan.steps.map((x) => x.op);
    expect(order.indexOf('create_pool')).toBeLessThan(order.indexOf('register_cluster'));
    await invalid(cp, await repo([cluster('cd')], { absent: ['ClusterPool/default'] }), 'V16');
  },
  async U23() {
    const { cp } = await fresh();
    await cp.pools.createPool('pb', PB);
    await cp.clusters.registerCluster({ name: 'c1' });
    await cp.queues.createQueue({
      name: 'pin',
      run_concurrency: 1,
      action_concurrency: 1,
      clusters: ['c1'],
    });
    await blocks(cp, await repo([pool('pb'), cluster('c1', 'pb')]), 'Cluster/c1', 'CLUSTER_PINNED');
    // Repointed by the repository: first the queue, then the move (its co-named queue drained).
    const plan = await applies(
      cp,
      await repo([pool('pb'), cluster('c1', 'pb'), queue('pin', '  clusters: ["*"]\n')]),
    );
    expect(plan.steps.map((x) => `${x.op} ${x.target}`)).toContain('drain_queue Queue/c1');
  },
  async U24() {
    const { s, cp } = await fresh();
    await cp.clusters.registerCluster({ name: 'c1' });
    await cp.clusters.registerCluster({ name: 'c2' });
    s.api.lifecycle.appsAssigned.add('c1');
    const dir = await repo([cluster('c1', 'default', false), cluster('c2', 'default', false)]);
    const plan = await planOf(cp, dir);
    // The plan says what it cannot see.
    expect(noteText(plan.changes.find((c) => c.address === 'Cluster/c1')!)).toContain(
      'apps are assigned',
    );
    const result = await executePlan(plan, cp, { parallelism: 1 });
    const status = Object.fromEntries(result.steps.map((x) => [x.target, x.status]));
    // Refused for a reason the plan could not see: only its own step; c2's went ahead.
    expect(status).toMatchObject({ 'Cluster/c1': 'failed', 'Cluster/c2': 'done' });
    s.api.lifecycle.appsAssigned.delete('c1');
    await applies(cp, dir);
  },
  async U25() {
    const { s, cp } = await fresh();
    await cp.clusters.registerCluster({ name: 'c1' });
    const plan = await applies(cp, await repo([cluster('c1', 'default', false)]));
    expect(plan.steps.map((x) => x.op)).toEqual(['update_cluster']);
    expect((await cp.queues.getQueue('c1')).state).toBe('drained');
    if (
      (await acceptedByCli(s, ['create', 'cluster', 'c2'])) &&
      (await acceptedByCli(s, ['update', 'cluster', 'c2', '--drain']))
    )
      expect((await cp.queues.getQueue('c2')).state).not.toBe('active');
  },
  async U26() {
    const { s, cp } = await fresh();
    await cp.clusters.registerCluster({ name: 'c1' });
    await cp.queues.createQueue({
      name: 'pin',
      run_concurrency: 1,
      action_concurrency: 1,
      clusters: ['c1'],
    });
    // Item 3: a queue poolsync does not manage pins it: the disable is blocked, said why.
    const plan = await blocks(
      cp,
      await repo([cluster('c1', 'default', false)]),
      'Cluster/c1',
      'CLUSTER_PINNED',
    );
    expect(whyText(plan.changes.find((c) => c.address === 'Cluster/c1')!)).toContain('Queue/pin');
    await refusedByCli(s, ['update', 'cluster', 'c1', '--drain'], /pin/);
    // A pin the plan adds comes after the drain (the bundled example's eu-residency).
    await applies(
      cp,
      await repo([cluster('c3', 'default', false), queue('later', '  clusters: [c3]\n')]),
    );
  },
  async U27() {
    const { cp } = await fresh();
    await cp.clusters.registerCluster({ name: 'c1' });
    await cp.clusters.updateCluster('c1', { enabled: false });
    const plan = await applies(cp, await repo([cluster('c1')]));
    expect(plan.steps.map((x) => x.op)).toEqual(['update_cluster']);
    expect((await cp.queues.getQueue('c1')).state).toBe('active');
  },
  async U28() {
    const { s, cp } = await fresh();
    await cp.pools.createPool('pb', PB);
    await cp.clusters.registerCluster({ name: 'c1', pool: 'pb' });
    const plan = await applies(
      cp,
      await repo([], { prune: true, manage: ['ClusterPool', 'Cluster', 'Queue'] }),
    );
    const order = plan.steps.map((x) => x.op);
    expect(order.indexOf('delete_cluster')).toBeLessThan(order.indexOf('delete_pool'));
    await acceptedByCli(s, ['create', 'cluster', 'c9']);
    await acceptedByCli(s, ['delete', 'cluster', 'c9', '--yes']);
  },
  async U29() {
    const { cp } = await fresh();
    await cp.clusters.registerCluster({ name: 'c1' });
    await cp.clusters.updateCluster('c1', { enabled: false });
    await cp.clusters.deleteCluster('c1');
    const plan = await applies(cp, await repo([cluster('c1')]));
    expect(plan.steps.map((x) => x.op)).toContain('undelete_cluster');
  },
  async U30() {
    const { cp } = await fresh();
    await cp.clusters.registerCluster({ name: 'c1' });
    const plan = await applies(cp, await repo([], { prune: true, manage: ['Cluster', 'Queue'] }));
    expect(plan.changes.find((c) => c.address === 'Queue/c1')).toMatchObject({
      action: 'delete',
      caused_by: 'Cluster/c1',
    });
  },
  async U31() {
    const { cp } = await fresh();
    await cp.clusters.registerCluster({ name: 'c1' });
    await cp.queues.createQueue({
      name: 'pin',
      run_concurrency: 1,
      action_concurrency: 1,
      clusters: ['c1'],
    });
    // Item 3: pruned, but pinned by a queue poolsync leaves alone (manage: Cluster only).
    const only = await repo([], { prune: true, manage: ['Cluster'] });
    await blocks(cp, only, 'Cluster/c1', 'CLUSTER_PINNED');
    // The queue goes too (prune of both kinds): first the queue, then the cluster.
    const plan = await applies(cp, await repo([], { prune: true, manage: ['Cluster', 'Queue'] }));
    const ops = plan.steps.map((x) => `${x.op} ${x.target}`);
    expect(ops.indexOf('delete_queue Queue/pin')).toBeLessThan(
      ops.indexOf('delete_cluster Cluster/c1'),
    );
  },
  async U32() {
    const { cp } = await fresh();
    await cp.pools.createPool('pb', PB);
    await cp.clusters.registerCluster({ name: 'c1', pool: 'pb' });
    await cp.clusters.updateCluster('c1', { enabled: false });
    await cp.clusters.deleteCluster('c1');
    await cp.pools.deletePool('pb');
    const plan = await applies(cp, await repo([pool('pb'), cluster('c1', 'pb')]));
    const order = plan.steps.map((x) => x.op);
    expect(order.indexOf('undelete_pool')).toBeLessThan(order.indexOf('undelete_cluster'));
  },
  async U33() {
    const { cp } = await fresh();
    await cp.pools.createPool('pb', PB);
    await cp.pools.deletePool('pb');
    const plan = await applies(cp, await repo([pool('pb')]));
    expect(plan.steps.map((x) => x.op)).toEqual(['undelete_pool']);
  },
  async U34() {
    const { cp } = await fresh();
    await cp.pools.createPool('pb', PB);
    await cp.clusters.registerCluster({ name: 'c1', pool: 'pb' });
    // The cluster is not managed here (manage: ClusterPool): the pool is not empty.
    await blocks(
      cp,
      await repo([], { prune: true, manage: ['ClusterPool'] }),
      'ClusterPool/pb',
      'POOL_REFERENCED',
    );
  },
  async U35() {
    const { cp } = await fresh();
    await blocks(
      cp,
      await repo([], { absent: ['ClusterPool/default'] }),
      'ClusterPool/default',
      'POOL_REFERENCED',
    );
    const plan = await applies(
      cp,
      await repo([], { absent: ['Queue/default', 'ClusterPool/default'] }),
    );
    expect(plan.steps.map((x) => x.op)).toEqual([
      'drain_queue',
      'wait_drained',
      'delete_queue',
      'delete_pool',
    ]);
  },
  async U36() {
    const { cp } = await fresh();
    await cp.pools.createPool('pb', PB);
    await cp.pools.deletePool('pb');
    const plan = await applies(cp, await repo([pool('pb', 'pb-v2')]));
    expect(plan.steps.map((x) => x.op)).toEqual(['undelete_pool', 'update_pool']);
  },
  async U37() {
    const { cp } = await fresh();
    await applies(cp, await repo([queue('q')]));
    // q was created strict_fifo (U8), as r is: their fairness has no effect, and the plan says
    // so; the default queue, which the server made without a policy, takes it silently.
    const fair = '  fairness: shuffle_interleave\n';
    const plan = await applies(
      cp,
      await repo([queue('q', fair), queue('r', fair), queue('default', fair)]),
    );
    expect(plan.changes.filter((c) => c.diff.some((d) => d.path === 'fairness')).length).toBe(3);
    const fairness = plan.warnings.filter((w) => w.code === 'QUEUE_FAIRNESS_IGNORED');
    expect(fairness.map((w) => [w.address, w.params?.['scheduling']])).toEqual([
      ['Queue/q', 'strict_fifo'],
      ['Queue/r', 'strict_fifo'],
    ]);
  },
};

/** The installed wheel's remote/ folder, or null without the venv. */
function remoteDir(): string | null {
  if (typeof venv === 'string') return null;
  return execFileSync(
    venv.python,
    ['-c', 'import os, flyteplugins.union.remote as r; print(os.path.dirname(r.__file__))'],
    { encoding: 'utf8' },
  ).trim();
}

describe("Union's rules table (docs/union.md)", () => {
  it('has rows, and a scenario for each (and a row for each scenario)', () => {
    expect(rows.length).toBeGreaterThan(30);
    expect(rows.map((r) => r.id).sort()).toEqual(Object.keys(SCENARIOS).sort());
  });

  it.skipIf(typeof venv === 'string')(
    `every row's words are on the lines it cites in flyteplugins-union 0.19.1${typeof venv === 'string' ? ` (skipped: ${venv})` : ''}`,
    async () => {
      const dir = remoteDir()!;
      const missing: string[] = [];
      for (const r of rows) {
        const [file, range] = r.where.split(':') as [string, string];
        const [a, b = a] = range.split('-').map(Number) as [number, number?];
        const lines = (await readFile(join(dir, file), 'utf8')).split('\n').slice(a - 1, b);
        const text = lines.join(' ').replace(/\s+/g, ' ');
        if (!text.includes(r.words.replace(/\\\|/g, '|')))
          missing.push(`${r.id} ${r.where}: "${r.words}"`);
      }
      expect(missing).toEqual([]);
    },
  );

  for (const r of rows)
    it(`${r.id} (${r.kind}${r.cli ? ', CLI' : ''}): ${r.where}`, async () => {
      await SCENARIOS[r.id]!();
    }, 120_000);
});
