/**
 * The Union stand-in states only what Union's own client states (issue 58): every refusal in
 * src/standins/union/ cites the lines of flyteplugins-union 0.19.1 (or flyte 2.12.1, for
 * settings) that state it, every citation is a rule of RULES below, the words of each rule are
 * on the lines it cites in the installed wheel, and each rule is run against the stand-in
 * through Union's API. Three rules Union does not state are gone (S1-S3, the last rules): a
 * co-named queue deletes and undeletes like any other while its cluster is live, a settings
 * level keeps every setting, and ListProjects lists the organisation's projects whatever their
 * settings. The rules of the embedded store beneath (what Union's answers share with poolsync's
 * own control plane) are docs/union.md's table, checked the same way in rules-table.e2e.test.ts.
 */
import { execFileSync } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { create, type DescService } from '@bufbuild/protobuf';
import { Code, ConnectError, type Client } from '@connectrpc/connect';
import { afterEach, describe, expect, it } from 'vitest';
import { queueSpecToPb } from '../../../src/controlplane/union/mapping.js';
import { ClusterService } from '../../../src/gen/cloudidl/cluster/cluster_pb.js';
import { ClusterState } from '../../../src/gen/cloudidl/cluster/definition_pb.js';
import { AcceleratorCapacitySchema } from '../../../src/gen/cloudidl/cluster/accelerator_definition_pb.js';
import { ClusterPoolService } from '../../../src/gen/cloudidl/clusterpool/clusterpool_pb.js';
import {
  QueueService,
  QueueState,
  type QueueSpec as PbQueueSpec,
} from '../../../src/gen/cloudidl/queue/queue_pb.js';
import {
  GPUAccelerator_DeviceClass as DeviceClass,
  Resources_ResourceEntrySchema,
  Resources_ResourceName as ResourceName,
} from '../../../src/gen/flyteidl2/core/tasks_pb.js';
import { ProjectService } from '../../../src/gen/flyteidl2/project/project_service_pb.js';
import { SettingsService } from '../../../src/gen/flyteidl2/settings/settings_service_pb.js';
import {
  SettingState,
  SettingsSchema,
} from '../../../src/gen/flyteidl2/settings/settings_definition_pb.js';
import { serviceAccountOf, withServiceAccount } from '../../support/union-settings.js';
import { planRepository } from '../../../src/ops/plan-run.js';
import { QUEUE, writeRepo } from '../../manifests/helpers.js';
import { venv } from './flyte-cli.js';
import { CLIENT, openUnion, rawClient, startUnionServer, type UnionServer } from './helpers.js';
import { queueSpec } from '../../support/builders.js';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const org = CLIENT.org;

const servers: UnionServer[] = [];
const closing: (() => void)[] = [];
afterEach(async () => {
  for (const c of closing.splice(0)) c();
  for (const s of servers.splice(0)) await s.close();
});

async function server(opts: Parameters<typeof startUnionServer>[0] = {}) {
  const s = await startUnionServer(opts);
  servers.push(s);
  const client = async <S extends DescService>(service: S): Promise<Client<S>> => {
    const c = await rawClient(s, service);
    closing.push(c.close);
    return c.client;
  };
  const queues = await client(QueueService);
  const clusters = await client(ClusterService);
  const queueGeneration = async (name: string) =>
    (await queues.getQueue({ id: cid(name) })).queue?.status?.stateGeneration ?? 0n;
  const clusterGeneration = async (name: string) =>
    (await clusters.getCluster({ clusterId: cid(name) })).cluster?.drainStatus?.generation ?? 0n;
  return {
    s,
    queues,
    clusters,
    pools: await client(ClusterPoolService),
    settings: await client(SettingsService),
    client,
    // State changes as Union's client sends them: with the generation read just before
    // (remote/_queue.py Queue.drain/activate/delete, remote/_cluster.py Cluster.drain/activate/delete).
    queueState: async (name: string, state: QueueState) =>
      queues.updateQueueState({
        id: cid(name),
        state,
        expectedStateGeneration: await queueGeneration(name),
      }),
    deleteQueue: async (name: string) =>
      queues.deleteQueue({ id: cid(name), expectedStateGeneration: await queueGeneration(name) }),
    clusterState: async (name: string, state: ClusterState) =>
      clusters.updateClusterState({
        clusterId: cid(name),
        state,
        expectedGeneration: await clusterGeneration(name),
      }),
    deleteCluster: async (name: string) =>
      clusters.deleteCluster({
        clusterId: cid(name),
        expectedGeneration: await clusterGeneration(name),
      }),
  };
}
type Server = Awaited<ReturnType<typeof server>>;

/** The gRPC code a call was refused with (fails the test when it succeeded). */
async function refused(call: Promise<unknown>): Promise<Code> {
  try {
    await call;
  } catch (err) {
    expect(err).toBeInstanceOf(ConnectError);
    return (err as ConnectError).code;
  }
  throw new Error('expected Union to refuse the call');
}

const cid = (name: string) => ({ organization: org, name });
const queueSetting = (queue: string) => ({
  run: { defaultQueue: { state: SettingState.VALUE, stringValue: queue } },
});

/** A queue drained and soft-deleted through the embedded store (as an earlier delete left it). */
async function deletedQueue(x: Server, name: string) {
  await x.s.embedded.createQueue({ name, run_concurrency: 1, action_concurrency: 1 });
  await x.s.embedded.drainQueue(name);
  await x.s.embedded.deleteQueue(name);
}

/** A queue deleted while work still runs on it: DELETING (remote/_queue.py:994-996). */
async function deletingQueue(x: Server, name: string) {
  await x.s.embedded.createQueue({ name, run_concurrency: 1, action_concurrency: 1 });
  await x.s.embedded.setQueueActivity(name, { runs_in_flight: 1, actions_in_flight: 1 });
  await x.queueState(name, QueueState.DRAINING);
  await x.deleteQueue(name);
  return x;
}

/** A cluster deleted while drained (deleted at once). */
async function deletedCluster(x: Server, name: string, pool = 'default') {
  await x.clusters.createCluster({ clusterId: cid(name), clusterPoolName: pool });
  await x.clusterState(name, ClusterState.DRAINING);
  await x.deleteCluster(name);
}

/** A spec with one cap entry set (`edit`), as a client that skipped its own checks sends it. */
function capped(edit: (spec: PbQueueSpec) => void): PbQueueSpec {
  const spec = queueSpecToPb(queueSpec({ run_concurrency: 1, action_concurrency: 1 }));
  edit(spec);
  return spec;
}
const resource = (name: ResourceName, value: string) =>
  create(Resources_ResourceEntrySchema, { name, value });
const accelerator = (
  deviceClass: DeviceClass,
  device: string,
  count = 1n,
  partition: 'unpartitioned' | 'none' = 'unpartitioned',
) =>
  create(AcceleratorCapacitySchema, {
    accelerator: {
      deviceClass,
      device,
      partitionSizeValue:
        partition === 'none' ? { case: undefined } : { case: 'unpartitioned', value: true },
    },
    count,
  });
const createCapped = (x: Server, edit: (spec: PbQueueSpec) => void) =>
  refused(x.queues.createQueue({ id: cid('capped'), spec: capped(edit), state: 1 }));

interface Rule {
  /** `remote/_queue.py:999-1001` (flyteplugins.union) or `flyte/remote/_settings.py:681`. */
  cite: string;
  /** Words on those lines (whitespace folded). */
  words: string;
  run: () => Promise<void>;
}

const RULES: Rule[] = [
  {
    cite: 'remote/_cluster_pool.py:149-150',
    words: 'Object store URI (required)',
    async run() {
      const x = await server();
      const pool = { id: cid('p'), config: {} };
      expect(await refused(x.pools.create({ clusterPool: pool }))).toBe(Code.InvalidArgument);
    },
  },
  {
    cite: 'remote/_cluster_pool.py:260-261',
    words: 'the pool disappears from ``ClusterPool.get``',
    async run() {
      const x = await server();
      const config = {
        objectStoreRef: { uri: 's3://p' },
        secretStore: { type: 1, locator: 'us-east-1' },
      };
      await x.pools.create({ clusterPool: { id: cid('p'), config } });
      await x.pools.delete({ id: cid('p') });
      expect(await refused(x.pools.get({ id: cid('p') }))).toBe(Code.NotFound);
    },
  },
  {
    cite: 'remote/_cluster_pool.py:262-264',
    words: 'It keeps its name reserved — ``ClusterPool.create`` with the same name is rejected',
    async run() {
      const x = await server();
      const config = {
        objectStoreRef: { uri: 's3://p' },
        secretStore: { type: 1, locator: 'us-east-1' },
      };
      await x.pools.create({ clusterPool: { id: cid('p'), config } });
      await x.pools.delete({ id: cid('p') });
      const again = x.pools.create({ clusterPool: { id: cid('p'), config } });
      expect(await refused(again)).toBe(Code.AlreadyExists);
    },
  },
  {
    cite: 'remote/_cluster_pool.py:290-291',
    words: 'Undeleting a pool that is not deleted is rejected by the server',
    async run() {
      const x = await server();
      expect(await refused(x.pools.undelete({ id: cid('default') }))).toBe(Code.FailedPrecondition);
    },
  },
  {
    cite: 'remote/_cluster.py:322',
    words: 'The cluster must exist and not be soft-deleted',
    async run() {
      const x = await server();
      await deletedCluster(x, 'c1');
      const move = x.clusters.updateCluster({ clusterId: cid('c1'), clusterPoolName: 'other' });
      expect(await refused(move)).toBe(Code.FailedPrecondition);
    },
  },
  {
    cite: 'remote/_cluster.py:323-324',
    words:
      'must name a *different* pool — re-assigning a cluster to the pool it is already in is rejected as already existing',
    async run() {
      const x = await server();
      await x.clusters.createCluster({ clusterId: cid('c1') });
      const move = x.clusters.updateCluster({ clusterId: cid('c1'), clusterPoolName: 'default' });
      expect(await refused(move)).toBe(Code.AlreadyExists);
    },
  },
  {
    cite: 'remote/_cluster.py:361',
    words: 'A drain cannot start while apps are assigned to the cluster',
    async run() {
      const x = await server();
      await x.clusters.createCluster({ clusterId: cid('c1') });
      x.s.api.lifecycle.appsAssigned.add('c1');
      const drain = x.clusterState('c1', ClusterState.DRAINING);
      expect(await refused(drain)).toBe(Code.FailedPrecondition);
    },
  },
  ...(
    [
      ['365', 'A ``deleting`` or ``deleted`` cluster cannot be drained', ClusterState.DRAINING],
      ['400-401', 'A ``deleting`` or ``deleted`` cluster cannot be activated', ClusterState.ACTIVE],
      ['444-445', 'Deleting a ``deleting`` or ``deleted`` cluster is rejected', null],
    ] as const
  ).map(([lines, words, state]): Rule => ({
    cite: `remote/_cluster.py:${lines}`,
    words,
    async run() {
      // An active cluster's delete leaves it DELETING for a minute here.
      const x = await server({ deletingMs: 60_000 });
      await x.clusters.createCluster({ clusterId: cid('c1') });
      await x.deleteCluster('c1');
      const call = state === null ? x.deleteCluster('c1') : x.clusterState('c1', state);
      expect(await refused(call)).toBe(Code.FailedPrecondition);
    },
  })),
  {
    cite: 'remote/_cluster.py:441-443',
    words: 'it keeps its name reserved: ``Cluster.create`` with the same name is rejected',
    async run() {
      const x = await server();
      await deletedCluster(x, 'c1');
      expect(await refused(x.clusters.createCluster({ clusterId: cid('c1') }))).toBe(
        Code.AlreadyExists,
      );
    },
  },
  {
    cite: 'remote/_cluster.py:289-291',
    words: 'creating a cluster whose name is already taken by a queue is rejected',
    async run() {
      const x = await server();
      await deletedQueue(x, 'q');
      expect(await refused(x.clusters.createCluster({ clusterId: cid('q') }))).toBe(
        Code.AlreadyExists,
      );
    },
  },
  {
    cite: 'remote/_queue.py:1007-1008',
    words: 'but it keeps its name reserved: ``Queue.create`` with the same name is rejected',
    async run() {
      const x = await server();
      await deletedQueue(x, 'q');
      const spec = capped(() => {});
      expect(await refused(x.queues.createQueue({ id: cid('q'), spec, state: 1 }))).toBe(
        Code.AlreadyExists,
      );
    },
  },
  {
    cite: 'remote/_cluster.py:450-451',
    words: 'Any other live queue that explicitly pins the cluster blocks the delete',
    async run() {
      const x = await server();
      await x.clusters.createCluster({ clusterId: cid('c1') });
      await x.s.embedded.createQueue({
        name: 'pin',
        run_concurrency: 1,
        action_concurrency: 1,
        clusters: ['c1'],
      });
      expect(await refused(x.deleteCluster('c1'))).toBe(Code.FailedPrecondition);
    },
  },
  {
    cite: 'remote/_cluster.py:485-486',
    words: 'A ``deleting`` cluster cannot be undeleted: its deletion has to finish first',
    async run() {
      const x = await server({ deletingMs: 60_000 });
      await x.clusters.createCluster({ clusterId: cid('c1') });
      await x.deleteCluster('c1');
      expect(await refused(x.clusters.undeleteCluster({ clusterId: cid('c1') }))).toBe(
        Code.FailedPrecondition,
      );
    },
  },
  {
    cite: 'remote/_cluster.py:496-497',
    words: "The cluster's pool must not itself be soft-deleted; undelete the pool first",
    async run() {
      const x = await server();
      const config = {
        objectStoreRef: { uri: 's3://p' },
        secretStore: { type: 1, locator: 'us-east-1' },
      };
      await x.pools.create({ clusterPool: { id: cid('p'), config } });
      await deletedCluster(x, 'c1', 'p');
      await x.pools.delete({ id: cid('p') });
      expect(await refused(x.clusters.undeleteCluster({ clusterId: cid('c1') }))).toBe(
        Code.FailedPrecondition,
      );
    },
  },
  {
    cite: 'remote/_cluster.py:497-498',
    words: 'Undeleting a cluster that is not deleted is rejected by the server',
    async run() {
      const x = await server();
      await x.clusters.createCluster({ clusterId: cid('c1') });
      expect(await refused(x.clusters.undeleteCluster({ clusterId: cid('c1') }))).toBe(
        Code.FailedPrecondition,
      );
    },
  },
  {
    cite: 'remote/_queue.py:637-638',
    words: 'so a delayed request cannot apply to a state the caller never saw',
    async run() {
      const x = await server();
      await x.s.embedded.createQueue({ name: 'q', run_concurrency: 1, action_concurrency: 1 });
      const drain = x.queues.updateQueueState({
        id: cid('q'),
        state: QueueState.DRAINING,
        expectedStateGeneration: 7n,
      });
      expect(await refused(drain)).toBe(Code.FailedPrecondition);
    },
  },
  {
    cite: 'remote/_queue.py:639-640',
    words: 'queues created before the counter existed read 0 until their first transition',
    async run() {
      // A generation left out is 0 on the wire: a state no queue created here is in, so a drain
      // or delete sent without the generation its sender read is refused, not taken as "none".
      const x = await server();
      await x.s.embedded.createQueue({ name: 'q', run_concurrency: 1, action_concurrency: 1 });
      const drain = x.queues.updateQueueState({ id: cid('q'), state: QueueState.DRAINING });
      expect(await refused(drain)).toBe(Code.FailedPrecondition);
      await x.clusters.createCluster({ clusterId: cid('c1') });
      const clusterDrain = x.clusters.updateClusterState({
        clusterId: cid('c1'),
        state: ClusterState.DRAINING,
      });
      expect(await refused(clusterDrain)).toBe(Code.FailedPrecondition);
      // With the generation read, as Union's client sends it, the same drain is taken.
      await x.queueState('q', QueueState.DRAINING);
      expect((await x.s.embedded.getQueue('q')).state).not.toBe('active');
    },
  },
  {
    cite: 'remote/_queue.py:783-784',
    words: 'only organization-scoped queues can be created',
    async run() {
      const x = await server();
      const id = { ...cid('q'), project: 'ml', domain: 'production' };
      const call = x.queues.createQueue({ id, spec: capped(() => {}), state: 1 });
      expect(await refused(call)).toBe(Code.InvalidArgument);
    },
  },
  {
    cite: 'remote/_queue.py:859-860',
    words:
      'The server requires an explicit cluster pool on every UpdateQueue call and rejects requests without one',
    async run() {
      const x = await server();
      await x.s.embedded.createQueue({ name: 'q', run_concurrency: 1, action_concurrency: 1 });
      const spec = capped((s) => (s.clusterPoolName = ''));
      expect(await refused(x.queues.updateQueue({ id: cid('q'), spec }))).toBe(
        Code.InvalidArgument,
      );
    },
  },
  {
    cite: 'remote/_queue.py:873',
    words: 'A soft-deleted queue cannot be updated at all',
    async run() {
      const x = await server();
      await deletedQueue(x, 'q');
      const call = x.queues.updateQueue({ id: cid('q'), spec: capped(() => {}) });
      expect(await refused(call)).toBe(Code.FailedPrecondition);
    },
  },
  {
    cite: 'remote/_queue.py:1002-1003',
    words: '``deleting`` or ``deleted``: rejected, the deletion is already under way or done',
    async run() {
      const x = await server();
      await deletedQueue(x, 'q');
      expect(await refused(x.deleteQueue('q'))).toBe(Code.FailedPrecondition);
    },
  },
  {
    cite: 'remote/_queue.py:994-996',
    words: 'the queue may still hold work, so it comes back ``deleting`` — it stays listed',
    async run() {
      const x = await deletingQueue(await server(), 'q');
      const listed = await x.queues.listQueues({ organization: org, request: {} });
      expect(listed.queues.map((q) => [q.id?.name, q.status?.state])).toContainEqual([
        'q',
        QueueState.DELETING,
      ]);
      // Its work done, the deletion ends: listed only as deleted.
      await x.s.embedded.setQueueActivity('q', { runs_in_flight: 0, actions_in_flight: 0 });
      expect((await x.queues.getQueue({ id: cid('q') })).queue?.status?.state).toBe(
        QueueState.DELETED,
      );
    },
  },
  {
    cite: 'remote/_queue.py:938-939',
    words: 'A ``deleting`` or ``deleted`` queue cannot be drained',
    async run() {
      const x = await deletingQueue(await server(), 'q');
      const drain = x.queueState('q', QueueState.DRAINING);
      expect(await refused(drain)).toBe(Code.FailedPrecondition);
    },
  },
  {
    cite: 'remote/_queue.py:965',
    words: 'A ``deleting`` or ``deleted`` queue cannot be activated',
    async run() {
      const x = await deletingQueue(await server(), 'q');
      const activate = x.queueState('q', QueueState.ACTIVE);
      expect(await refused(activate)).toBe(Code.FailedPrecondition);
    },
  },
  {
    cite: 'remote/_queue.py:1044-1045',
    words: 'A ``deleting`` queue cannot be undeleted: its deletion has to finish first',
    async run() {
      const x = await deletingQueue(await server(), 'q');
      expect(await refused(x.queues.undeleteQueue({ id: cid('q') }))).toBe(Code.FailedPrecondition);
      expect(await refused(x.deleteQueue('q'))).toBe(Code.FailedPrecondition);
    },
  },
  {
    cite: 'remote/_queue.py:1011-1012',
    words: 'A queue referenced as ``run.default_queue`` in settings at any scope cannot be deleted',
    async run() {
      const x = await server();
      await x.s.embedded.createQueue({ name: 'q', run_concurrency: 1, action_concurrency: 1 });
      await x.settings.createSettings({
        key: { org, domain: 'production' },
        settings: queueSetting('q'),
      });
      await x.queueState('q', QueueState.DRAINING);
      expect(await refused(x.deleteQueue('q'))).toBe(Code.FailedPrecondition);
    },
  },
  {
    cite: 'remote/_queue.py:117-121',
    words: 'not an enforceable queue resource',
    async run() {
      const x = await server();
      const gpu = (s: PbQueueSpec) => (s.maxResources = [resource(ResourceName.GPU, '8')]);
      expect(await createCapped(x, gpu)).toBe(Code.InvalidArgument);
    },
  },
  {
    cite: 'remote/_queue.py:128-135',
    words: 'quantity must not be negative',
    async run() {
      const x = await server();
      const neg = (s: PbQueueSpec) => (s.maxResources = [resource(ResourceName.CPU, '-2')]);
      expect(await createCapped(x, neg)).toBe(Code.InvalidArgument);
    },
  },
  {
    cite: 'remote/_queue.py:153-154',
    words: 'is named more than once',
    async run() {
      const x = await server();
      const twice = (s: PbQueueSpec) =>
        (s.maxResources = [resource(ResourceName.CPU, '1'), resource(ResourceName.CPU, '2')]);
      expect(await createCapped(x, twice)).toBe(Code.InvalidArgument);
    },
  },
  {
    cite: 'remote/_queue.py:320-321',
    words: 'a cap without a device is supported for NVIDIA GPUs only',
    async run() {
      const x = await server();
      const tpu = (s: PbQueueSpec) =>
        (s.maxAccelerators = [accelerator(DeviceClass.GOOGLE_TPU, '')]);
      expect(await createCapped(x, tpu)).toBe(Code.InvalidArgument);
    },
  },
  {
    cite: 'remote/_queue.py:322-323',
    words: 'requires every cap to declare its partitioning',
    async run() {
      const x = await server();
      const bare = (s: PbQueueSpec) =>
        (s.maxAccelerators = [accelerator(DeviceClass.NVIDIA_GPU, 'nvidia-t4', 1n, 'none')]);
      expect(await createCapped(x, bare)).toBe(Code.InvalidArgument);
    },
  },
  {
    cite: 'remote/_queue.py:332-333',
    words: 'is not a canonical accelerator or a spelling of one',
    async run() {
      const x = await server();
      const odd = (s: PbQueueSpec) =>
        (s.maxAccelerators = [accelerator(DeviceClass.NVIDIA_GPU, 'not-a-gpu')]);
      expect(await createCapped(x, odd)).toBe(Code.InvalidArgument);
    },
  },
  {
    cite: 'remote/_queue.py:335-336',
    words: 'device, not',
    async run() {
      const x = await server();
      const amd = (s: PbQueueSpec) =>
        (s.maxAccelerators = [accelerator(DeviceClass.AMD_GPU, 'nvidia-h100')]);
      expect(await createCapped(x, amd)).toBe(Code.InvalidArgument);
    },
  },
  {
    cite: 'remote/_queue.py:373-374',
    words: 'count must be a positive number of devices',
    async run() {
      const x = await server();
      const none = (s: PbQueueSpec) =>
        (s.maxAccelerators = [accelerator(DeviceClass.NVIDIA_GPU, 'nvidia-t4', 0n)]);
      expect(await createCapped(x, none)).toBe(Code.InvalidArgument);
    },
  },
  {
    cite: 'remote/_queue.py:392-395',
    words: 'name the same accelerator',
    async run() {
      const x = await server();
      const twice = (s: PbQueueSpec) =>
        (s.maxAccelerators = [
          accelerator(DeviceClass.NVIDIA_GPU, 'nvidia-t4'),
          accelerator(DeviceClass.NVIDIA_GPU, 'nvidia-tesla-t4'),
        ]);
      expect(await createCapped(x, twice)).toBe(Code.InvalidArgument);
    },
  },
  {
    cite: 'flyte/remote/_settings.py:681',
    words: 'Project name. Requires `domain` to also be set.',
    async run() {
      const x = await server();
      expect(await refused(x.settings.getSettings({ key: { org, project: 'ml' } }))).toBe(
        Code.InvalidArgument,
      );
    },
  },
  {
    cite: 'flyte/remote/_settings.py:761-762',
    words: 'Uses optimistic locking via the version obtained from `get_settings_for_edit`.',
    async run() {
      const x = await server();
      const key = { org, domain: 'production' };
      await x.settings.createSettings({ key, settings: queueSetting('default') });
      const stale = x.settings.updateSettings({ key, settings: {}, version: 7n });
      expect(await refused(stale)).toBe(Code.Aborted);
    },
  },
  {
    cite: 'flyte/remote/_settings.py:787-796',
    words: 'if self._version == 0: req = settings_service_pb2.CreateSettingsRequest',
    async run() {
      const x = await server();
      const key = { org, domain: 'production' };
      await x.settings.createSettings({ key, settings: queueSetting('default') });
      const again = x.settings.createSettings({ key, settings: queueSetting('default') });
      expect(await refused(again)).toBe(Code.AlreadyExists);
    },
  },
  // S1: a co-named queue deletes and undeletes like any other while its cluster is live.
  {
    cite: 'remote/_queue.py:1051-1053',
    words: 'While the cluster is live, it undeletes like any other queue.',
    async run() {
      const x = await server();
      await x.clusters.createCluster({ clusterId: cid('c1') });
      await x.queueState('c1', QueueState.DRAINING);
      const gone = await x.deleteQueue('c1');
      expect(gone.queue?.status?.state).toBe(QueueState.DELETED);
      const cluster = (await x.clusters.getCluster({ clusterId: cid('c1') })).cluster;
      expect(cluster?.queues).toEqual([]);
      const back = await x.queues.undeleteQueue({ id: cid('c1') });
      expect(back.queue?.status?.state).toBe(QueueState.DRAINED);
      expect(back.queue?.status?.clusterManaged).toBe(true);
    },
  },
  // S2: a settings level keeps every setting written with it.
  {
    cite: 'flyte/remote/_settings.py:756',
    words: 'Replace the complete set of local overrides for this scope.',
    async run() {
      const x = await server();
      await x.s.embedded.createQueue({ name: 'web', run_concurrency: 1, action_concurrency: 1 });
      const key = { org, domain: 'production', project: 'ml' };
      const settings = withServiceAccount(create(SettingsSchema, queueSetting('default')), 'ml-sa');
      await x.settings.createSettings({ key, settings });
      const kept = async () => {
        const r = (await x.settings.getSettings({ key })).settingsRecord;
        return [r?.settings?.run?.defaultQueue?.stringValue, serviceAccountOf(r?.settings)];
      };
      expect(await kept()).toEqual(['default', 'ml-sa']);
      // poolsync repoints the default queue: the service account stays.
      const cp = await openUnion(x.s, 'connect');
      await cp.defaultQueues.setDefaultQueue('ml', 'production', 'web');
      await cp.close();
      expect(await kept()).toEqual(['web', 'ml-sa']);
    },
  },
  // S3: the organisation's projects are listed, with every domain, whatever their settings.
  {
    cite: 'flyte/remote/_project.py:137-140',
    words: 'List all projects. By default, lists active (unarchived) projects.',
    async run() {
      const x = await server({ projects: ['ml', 'ops'] });
      const projects = await x.client(ProjectService);
      const listed = (await projects.listProjects({ org })).projects?.projects ?? [];
      expect(listed.map((p) => [p.id, p.domains.map((d) => d.id)])).toEqual([
        ['ml', ['development', 'staging', 'production']],
        ['ops', ['development', 'staging', 'production']],
      ]);
      // A queue only a domain's setting names is kept by a prune (planned blocked), not deleted.
      await x.s.embedded.createQueue({ name: 'web', run_concurrency: 1, action_concurrency: 1 });
      await x.settings.createSettings({
        key: { org, domain: 'staging' },
        settings: queueSetting('web'),
      });
      const repo = await writeRepo({
        'poolsync.yaml':
          'apiVersion: poolsync/v1\nkind: RepoConfig\nprune: true\nmanage: [Queue]\n',
        'queues/other.yaml': QUEUE('other'),
      });
      const cp = await openUnion(x.s, 'connect');
      const planned = await planRepository(repo, cp);
      await cp.close();
      if (!planned.ok) throw new Error('invalid repository');
      const web = planned.plan.changes.find((c) => c.address === 'Queue/web');
      expect(web?.action).toBe('blocked');
    },
  },
];

/** The citations of the stand-in's source: `file:lines` for each range a comment names. */
function citations(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(
    /((?:flyte\/)?remote\/_\w+\.py):((?:\d+(?:-\d+)?)(?:, \d+(?:-\d+)?)*)/g,
  ))
    for (const range of m[2]!.split(', ')) out.push(`${m[1]!}:${range}`);
  return out;
}

/** Where Union's client is installed (site-packages), or null without the venv. */
function sitePackages(): string | null {
  if (typeof venv === 'string') return null;
  return execFileSync(
    venv.python,
    ['-c', 'import os, flyte; print(os.path.dirname(os.path.dirname(flyte.__file__)))'],
    { encoding: 'utf8' },
  ).trim();
}

describe('the Union stand-in states only what Union states', () => {
  it('every refusal in src/standins/union/ cites a rule of this table', async () => {
    const dir = join(ROOT, 'src', 'standins', 'union');
    const known = new Set(RULES.map((r) => r.cite));
    const uncited: string[] = [];
    for (const file of (await readdir(dir)).filter((f) => f.endsWith('.ts'))) {
      const lines = (await readFile(join(dir, file), 'utf8')).split('\n');
      lines.forEach((line, i) => {
        if (
          !/throw (failedPrecondition|alreadyExists|invalidArgument)\(|throw new ConnectError\(/.test(
            line,
          )
        )
          return;
        const statement = lines.slice(i, i + 4).join(' ');
        // Who may call at all (the token, the organisation) is not a rule of the API's objects.
        if (/Code\.(Unauthenticated|PermissionDenied)|GRPC_STATUS/.test(statement)) return;
        const cited = citations(lines.slice(Math.max(0, i - 8), i + 1).join('\n'));
        if (cited.length === 0 || cited.some((c) => !known.has(c)))
          uncited.push(`${file}:${i + 1} ${line.trim()} (cites ${cited.join(', ') || 'nothing'})`);
      });
    }
    expect(uncited).toEqual([]);
  });

  it.skipIf(typeof venv === 'string')(
    `every rule's words are on the lines it cites (flyteplugins-union 0.19.1, flyte 2.12.1)${typeof venv === 'string' ? ` (${venv})` : ''}`,
    async () => {
      const site = sitePackages()!;
      const missing: string[] = [];
      for (const r of RULES) {
        const [file, range] = r.cite.split(':') as [string, string];
        const path = file.startsWith('flyte/')
          ? join(site, file)
          : join(site, 'flyteplugins', 'union', file);
        const [a, b = a] = range.split('-').map(Number) as [number, number?];
        const text = (await readFile(path, 'utf8'))
          .split('\n')
          .slice(a - 1, b)
          .join(' ')
          .replace(/\s+/g, ' ');
        if (!text.includes(r.words)) missing.push(`${r.cite}: "${r.words}"`);
      }
      expect(missing).toEqual([]);
    },
  );

  for (const r of RULES) it(r.cite, r.run);
});
