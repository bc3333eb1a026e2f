/**
 * Q3 against Union: UpdateQueue replaces the whole spec, and Union's queues carry fields beyond
 * the 7 poolsync manages (max_resources 8, scheduling 9, max_accelerators 10, from the
 * flyteplugins-union wheel), and a newer Union may send fields poolsync's .proto does not declare
 * at all. The stand-in keeps both and replaces them on every UpdateQueue, as Union does, so these
 * tests fail if the union backend drops them. Both wire protocols, real sockets, the real client.
 */
import { create, fromJson, toJson, type UnknownField } from '@bufbuild/protobuf';
import { BinaryWriter, WireType } from '@bufbuild/protobuf/wire';
import type { Interceptor } from '@connectrpc/connect';
import { afterEach, describe, expect, it } from 'vitest';
import { readLiveState } from '../../../src/controlplane/types.js';
import { queueSpecToPb } from '../../../src/controlplane/union/mapping.js';
import { extrasOf } from '../../../src/standins/union/lifecycle.js';
import {
  QueueService,
  QueueSpecSchema,
  SchedulingAlgorithm,
  type QueueSpec as PbQueueSpec,
} from '../../../src/gen/cloudidl/queue/queue_pb.js';
import { Resources_ResourceName } from '../../../src/gen/flyteidl2/core/tasks_pb.js';
import { AcceleratorCapacitySchema } from '../../../src/gen/cloudidl/cluster/accelerator_definition_pb.js';
import { computePlan } from '../../../src/plan/index.js';
import { openUnion, rawClient, startUnionServer, type UnionServer } from './helpers.js';
import { desired } from '../../plan/build.js';
import { noteText } from '../../../src/render/common.js';
import { poolContract, queueSpec } from '../../support/builders.js';

let s: UnionServer | undefined;
afterEach(async () => {
  await s?.close();
  s = undefined;
});

/** A field no .proto of poolsync declares (number 99, a string): what a newer Union may add. */
const FUTURE: UnknownField[] = [
  {
    no: 99,
    wireType: WireType.LengthDelimited,
    data: new BinaryWriter().string('from a newer Union').finish(),
  },
];

/** Caps and scheduling as Union's client writes them (flyteplugins.union.remote Queue.create). */
function withExtras(spec: PbQueueSpec): PbQueueSpec {
  spec.maxResources = [
    {
      $typeName: 'flyteidl2.core.Resources.ResourceEntry',
      name: Resources_ResourceName.CPU,
      value: '256',
    },
    {
      $typeName: 'flyteidl2.core.Resources.ResourceEntry',
      name: Resources_ResourceName.MEMORY,
      value: '1Ti',
    },
  ];
  spec.scheduling = SchedulingAlgorithm.GREEDY_CAPACITY;
  spec.maxAccelerators = [
    create(AcceleratorCapacitySchema, {
      accelerator: {
        device: 'nvidia-h100',
        partitionSizeValue: { case: 'unpartitioned', value: true },
      },
      count: 8n,
    }),
  ];
  spec.$unknown = [...FUTURE];
  return spec;
}

const EXTRAS = extrasOf(withExtras(create(QueueSpecSchema)));

const BATCH = queueSpec({ depth: 500 });

/** Creates queue `batch` with the 7 fields and Union's extra settings, over the wire. */
async function seedBatch(server: UnionServer, protocol: 'connect' | 'grpc') {
  const raw = await rawClient(server, QueueService, protocol);
  const spec = withExtras(queueSpecToPb(BATCH));
  await raw.client.createQueue({ id: { organization: 'acme', name: 'batch' }, spec, state: 1 });
  return raw;
}

function recorder() {
  const calls: { procedure: string; contentType: string | null }[] = [];
  const interceptor: Interceptor = (next) => async (req) => {
    calls.push({ procedure: req.method.name, contentType: req.header.get('content-type') });
    return next(req);
  };
  return { calls, interceptor };
}

describe('the protobuf codecs', () => {
  it('binary keeps undeclared fields through decode and encode; JSON does not (so the transport is binary)', () => {
    const spec = withExtras(queueSpecToPb(BATCH));
    expect(extrasOf(spec)).toEqual(EXTRAS);
    const viaJson = fromJson(QueueSpecSchema, toJson(QueueSpecSchema, spec));
    expect(viaJson.$unknown ?? []).toEqual([]);
  });
});

describe.each(['connect', 'grpc'] as const)('queue updates over %s', (protocol) => {
  it('keep every field poolsync does not manage, declared or not (read-modify-write)', async () => {
    const rec = recorder();
    s = await startUnionServer({ interceptors: [rec.interceptor] });
    const raw = await seedBatch(s, protocol);
    expect(s.api.queueExtras.read('batch')).toEqual(EXTRAS);

    const cp = await openUnion(s, protocol);
    const before = await cp.queues.getQueue('batch');
    expect(before.unknown_fields).toEqual([8, 9, 10, 99]);
    rec.calls.length = 0;
    const after = await cp.queues.updateQueue('batch', { ...BATCH, run_concurrency: 20 });
    await cp.close();

    expect(after.run_concurrency).toBe(20);
    expect((await s.embedded.getQueue('batch')).run_concurrency).toBe(20);
    // The caps and scheduling Union keeps are exactly as they were.
    expect(s.api.queueExtras.read('batch')).toEqual(EXTRAS);
    // One write from the queue as read (GetQueue above); no read again, no GetCluster probe.
    expect(rec.calls.map((c) => c.procedure)).toEqual(['UpdateQueue']);
    if (protocol === 'connect') {
      expect(rec.calls.every((c) => c.contentType === 'application/proto')).toBe(true);
    }

    // The stand-in can tell: a client that sends only the 7 fields erases them (full replace).
    await raw.client.updateQueue({
      id: { organization: 'acme', name: 'batch' },
      spec: queueSpecToPb({ ...BATCH, run_concurrency: 30 }),
    });
    raw.close();
    expect(s.api.queueExtras.read('batch')).toBeNull();
  });

  it('a drained queue moves to another pool (queue_move) by UpdateQueue, its other fields kept', async () => {
    s = await startUnionServer();
    await s.embedded.createPool('gpu', poolContract('s3://gpu/meta'));
    (await seedBatch(s, protocol)).close();
    const cp = await openUnion(s, protocol);
    const to = { ...BATCH, pool: 'gpu' };
    await expect(cp.queues.updateQueue('batch', to)).rejects.toMatchObject({
      code: 'FAILED_PRECONDITION',
      message: expect.stringMatching(/is active: drain it first/),
    });
    await cp.capabilityCalls.drainQueue('batch');
    const moved = await cp.queues.updateQueue('batch', to);
    await cp.close();
    expect(moved).toMatchObject({ pool: 'gpu', state: 'drained' });
    expect(s.api.queueExtras.read('batch')).toEqual(EXTRAS);
  });

  it('the plan says which queue fields poolsync leaves alone', async () => {
    s = await startUnionServer();
    (await seedBatch(s, protocol)).close();
    const cp = await openUnion(s, protocol);
    const live = await readLiveState(cp);
    await cp.close();
    const plan = computePlan(
      desired({ queues: { batch: { ...BATCH, run_concurrency: 20 } } }),
      live,
    );
    const change = plan.changes.find((c) => c.address === 'Queue/batch')!;
    expect(change.action).toBe('update');
    expect(noteText(change)).toMatch(/fields 8, 9, 10 and 99/);
    expect(noteText(change)).toMatch(/written back unchanged/);
    expect(noteText(change)).toMatch(/max_resources, scheduling, max_accelerators, field 99/);
  });
});
