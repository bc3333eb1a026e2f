/**
 * Q3 against Union: UpdateQueue replaces the whole spec, and Union's queues carry fields beyond
 * the 7 poolsync's .proto declares (max_resources, max_accelerators, scheduling: documented,
 * wire definition not public). The stand-in keeps such fields (proto/poolsync/standin/
 * queue_extras.proto) and replaces them on every UpdateQueue, as Union does, so these tests
 * fail if the union backend drops them. Both wire protocols, real sockets, the real client.
 */
import { create, fromJson, toJson } from '@bufbuild/protobuf';
import { createClient, type Interceptor } from '@connectrpc/connect';
import { afterEach, describe, expect, it } from 'vitest';
import { readLiveState } from '../../../src/controlplane/types.js';
import { parseApiKey } from '../../../src/controlplane/union/api-key.js';
import { discover, TokenSource } from '../../../src/controlplane/union/oauth.js';
import { createUnionTransport } from '../../../src/controlplane/union/transport.js';
import { queueSpecToPb } from '../../../src/controlplane/union/mapping.js';
import { decodeQueueExtras, encodeQueueExtras } from '../../../src/standins/union/queue-extras.js';
import { QueueService, QueueSpecSchema } from '../../../src/gen/cloudidl/queue/queue_pb.js';
import { QueueSpecExtensionsSchema } from '../../../src/gen/poolsync/standin/queue_extras_pb.js';
import { computePlan } from '../../../src/plan/index.js';
import type { QueueSpec } from '../../../src/model/common.js';
import { apiKey, openUnion, startUnionServer, type UnionServer } from './helpers.js';
import { desired } from '../../plan/build.js';

let s: UnionServer | undefined;
afterEach(async () => {
  await s?.close();
  s = undefined;
});

const EXTRAS = create(QueueSpecExtensionsSchema, {
  maxResources: { cpu: '256', memory: '1Ti' },
  maxAccelerators: [
    { type: 'nvidia-a100', count: 16 },
    { type: 'nvidia-h100', count: 8 },
  ],
  scheduling: { policy: 'gang', preemptionGraceSeconds: 300 },
});

const BATCH: QueueSpec = {
  pool: 'default',
  clusters: ['*'],
  run_concurrency: 10,
  action_concurrency: 100,
  depth: 500,
  priority: 'medium',
  fairness: 'round_robin',
};

/** A client of the stand-in's QueueService that is not poolsync's backend (a newer Union tool). */
async function rawQueues(server: UnionServer, protocol: 'connect' | 'grpc') {
  const key = parseApiKey(apiKey(server.host), 'test');
  const baseUrl = `http://${server.host}`;
  const tokens = new TokenSource(key, await discover(baseUrl));
  const { transport, close } = createUnionTransport({
    baseUrl,
    protocol,
    tokens,
    timeoutMs: 10_000,
  });
  return { client: createClient(QueueService, transport), close };
}

/** Creates queue `batch` with the 7 fields and Union's extra settings, over the wire. */
async function seedBatch(server: UnionServer, protocol: 'connect' | 'grpc') {
  const raw = await rawQueues(server, protocol);
  const spec = queueSpecToPb(BATCH);
  spec.$unknown = encodeQueueExtras(EXTRAS);
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
    const spec = queueSpecToPb(BATCH);
    spec.$unknown = encodeQueueExtras(EXTRAS);
    expect(decodeQueueExtras(spec.$unknown)).toEqual(EXTRAS);
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
    const before = await cp.getQueue('batch');
    expect(before.unknown_fields).toEqual([8, 9, 10]);
    rec.calls.length = 0;
    const after = await cp.updateQueue('batch', { ...BATCH, run_concurrency: 20 });
    await cp.close();

    expect(after.run_concurrency).toBe(20);
    expect((await s.embedded.getQueue('batch')).run_concurrency).toBe(20);
    // The caps and scheduling Union keeps are exactly as they were.
    expect(s.api.queueExtras.read('batch')).toEqual(EXTRAS);
    // One read and one write; no GetCluster probe per queue write.
    expect(rec.calls.map((c) => c.procedure)).toEqual(['GetQueue', 'UpdateQueue']);
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
    await s.embedded.createPool('gpu', {
      object_store_ref: { uri: 's3://gpu/meta', endpoint: '' },
      secret_store: { type: 'AWS_SECRETS_MANAGER', locator: 'us-east-1' },
      image_registry: null,
    });
    (await seedBatch(s, protocol)).close();
    const cp = await openUnion(s, protocol);
    const to = { ...BATCH, pool: 'gpu' };
    await expect(cp.updateQueue('batch', to)).rejects.toMatchObject({
      code: 'FAILED_PRECONDITION',
      message: expect.stringMatching(/is active: drain it first/),
    });
    await cp.drainQueue('batch');
    const moved = await cp.updateQueue('batch', to);
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
    expect(change.note).toMatch(/fields 8, 9 and 10/);
    expect(change.note).toMatch(/written back unchanged/);
    expect(change.note).toMatch(/max_resources, max_accelerators and scheduling/);
  });
});
