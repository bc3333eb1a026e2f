/**
 * Union's queue caps and scheduling as Queue manifest fields (manifests.md, V15): created and
 * updated through Union's QueueService by the union backend against the stand-in, read back
 * equal (the next plan is empty); a cap the repository does not declare, and the fields of an
 * entry poolsync does not know (GPUAccelerator.accelerator_model = 5), stay exactly as read. The
 * stand-in refuses what Union refuses; a backend without caps refuses the repository.
 */
import { create, type UnknownField } from '@bufbuild/protobuf';
import { BinaryWriter, WireType } from '@bufbuild/protobuf/wire';
import { afterEach, describe, expect, it } from 'vitest';
import { executePlan } from '../../../src/apply/executor.js';
import { queueSpecToPb } from '../../../src/controlplane/union/mapping.js';
import { planRepository } from '../../../src/ops/plan-run.js';
import { unaccountedStep } from '../../../src/plan/steps.js';
import type { Plan } from '../../../src/model/plan.js';
import { noteText } from '../../../src/render/common.js';
import { errorText } from '../../../src/render/reasons.js';
import {
  QueueService,
  SchedulingAlgorithm,
  type QueueSpec as PbQueueSpec,
} from '../../../src/gen/cloudidl/queue/queue_pb.js';
import {
  GPUAcceleratorSchema,
  GPUAccelerator_DeviceClass,
  Resources_ResourceEntrySchema,
  Resources_ResourceName,
} from '../../../src/gen/flyteidl2/core/tasks_pb.js';
import { AcceleratorCapacitySchema } from '../../../src/gen/cloudidl/cluster/accelerator_definition_pb.js';
import { QUEUE, writeRepo } from '../../manifests/helpers.js';
import { openUnion, rawClient, startUnionServer, type UnionServer } from './helpers.js';
import { queueSpec } from '../../support/builders.js';

let s: UnionServer | undefined;
afterEach(async () => {
  await s?.close();
  s = undefined;
});

const BASE = queueSpec({ run_concurrency: 1, action_concurrency: 2 });

/** GPUAccelerator.accelerator_model (5), which Union's client sets and poolsync does not declare. */
const MODEL: UnknownField = {
  no: 5,
  wireType: WireType.Varint,
  data: new BinaryWriter().int32(101).finish(),
};

/** As Union's client writes `--max-resources cpu=64 --max-accelerators H100=8 --scheduling greedy_capacity`. */
function clientCaps(spec: PbQueueSpec): PbQueueSpec {
  spec.maxResources = [
    create(Resources_ResourceEntrySchema, { name: Resources_ResourceName.CPU, value: '64' }),
  ];
  const h100 = create(GPUAcceleratorSchema, {
    deviceClass: GPUAccelerator_DeviceClass.NVIDIA_GPU,
    device: 'nvidia-h100',
    partitionSizeValue: { case: 'unpartitioned', value: true },
  });
  h100.$unknown = [MODEL];
  spec.maxAccelerators = [create(AcceleratorCapacitySchema, { accelerator: h100, count: 8n })];
  spec.scheduling = SchedulingAlgorithm.GREEDY_CAPACITY;
  return spec;
}

async function planAndApply(repo: string, server: UnionServer) {
  const cp = await openUnion(server, 'connect');
  try {
    const planned = await planRepository(repo, cp);
    if (!planned.ok) throw new Error(JSON.stringify(planned.errors));
    if (planned.plan.errors.length > 0) throw new Error(JSON.stringify(planned.plan.errors));
    const plan = planned.plan;
    await executePlan(plan, cp, { parallelism: 2, waitTimeoutMs: 10_000 });
    const again = await planRepository(repo, cp);
    return { plan, again: again.ok ? again.plan : null };
  } finally {
    await cp.close();
  }
}

describe('Union queue caps as manifest fields', () => {
  it('a declared queue is created with its caps, reads back equal, and the next plan is empty', async () => {
    s = await startUnionServer();
    const repo = await writeRepo({
      'queues/gpu.yaml': QUEUE(
        'gpu',
        [
          '  max_resources: { cpu: 64, memory: 512Gi }',
          '  max_accelerators: { nvidia_gpu/nvidia-h100: 8, nvidia_gpu/nvidia-a100/1g.5gb: 2, nvidia_gpu: 4 }',
          '  scheduling: greedy_capacity',
          '',
        ].join('\n'),
      ),
    });
    const { plan, again } = await planAndApply(repo, s);
    expect(plan.steps.map((st) => st.op)).toEqual(['create_queue']);
    expect(plan.steps[0]!.args).toMatchObject({
      max_resources: { cpu: '64', memory: '512Gi' },
      scheduling: 'greedy_capacity',
    });
    const extras = s.api.queueExtras.read('gpu')!;
    expect(extras.maxResources.map((e) => [e.name, e.value])).toEqual([
      [Resources_ResourceName.CPU, '64'],
      [Resources_ResourceName.MEMORY, '512Gi'],
    ]);
    expect(extras.scheduling).toBe(SchedulingAlgorithm.GREEDY_CAPACITY);
    const accs = extras.maxAccelerators.map((c) => ({
      device: c.accelerator!.device,
      partition: c.accelerator!.partitionSizeValue,
      count: c.count,
    }));
    expect(accs).toEqual([
      { device: '', partition: { case: 'unpartitioned', value: true }, count: 4n },
      { device: 'nvidia-a100', partition: { case: 'partitionSize', value: '1g.5gb' }, count: 2n },
      { device: 'nvidia-h100', partition: { case: 'unpartitioned', value: true }, count: 8n },
    ]);
    expect(again?.steps).toEqual([]);
    expect(again?.changes.filter((c) => c.action !== 'noop')).toEqual([]);
    // As a plan file reads it (`show`, `apply PLANFILE`): a partition's key holds a dot.
    expect(unaccountedStep(JSON.parse(JSON.stringify(plan)) as Plan)).toBeNull();
  });

  it('changing one declared cap writes only it: undeclared caps and unknown entry fields stay as read', async () => {
    s = await startUnionServer();
    const raw = await rawClient(s, QueueService);
    await raw.client.createQueue({
      id: { organization: 'acme', name: 'gpu' },
      spec: clientCaps(queueSpecToPb({ ...BASE, clusters: ['*'] })),
      state: 1,
    });
    raw.close();
    const repo = await writeRepo({
      'queues/gpu.yaml': QUEUE('gpu', '  max_accelerators: { nvidia_gpu/nvidia-h100: 16 }\n'),
    });
    const { plan, again } = await planAndApply(repo, s);
    const change = plan.changes.find((c) => c.address === 'Queue/gpu')!;
    expect(change.action).toBe('update');
    expect(change.diff).toEqual([
      {
        path: 'max_accelerators.nvidia_gpu/nvidia-h100',
        before: 8,
        after: 16,
        forces_replacement: false,
      },
    ]);
    expect(noteText(change)).toMatch(
      /fields 8 and 9 \(max_resources, scheduling\), which are not declared/,
    );
    const extras = s.api.queueExtras.read('gpu')!;
    expect(extras.maxAccelerators).toHaveLength(1);
    expect(extras.maxAccelerators[0]!.count).toBe(16n);
    expect(extras.maxAccelerators[0]!.accelerator!.$unknown).toEqual([MODEL]);
    expect(extras.maxResources.map((e) => e.value)).toEqual(['64']);
    expect(extras.scheduling).toBe(SchedulingAlgorithm.GREEDY_CAPACITY);
    expect(again?.steps).toEqual([]);
  });

  it('{} removes every cap of a kind; an omitted cap is never removed', async () => {
    s = await startUnionServer();
    const raw = await rawClient(s, QueueService);
    await raw.client.createQueue({
      id: { organization: 'acme', name: 'gpu' },
      spec: clientCaps(queueSpecToPb({ ...BASE })),
      state: 1,
    });
    raw.close();
    const repo = await writeRepo({ 'queues/gpu.yaml': QUEUE('gpu', '  max_resources: {}\n') });
    const { plan, again } = await planAndApply(repo, s);
    expect(plan.changes.find((c) => c.address === 'Queue/gpu')!.diff).toEqual([
      { path: 'max_resources.cpu', before: '64', after: null, forces_replacement: false },
    ]);
    const extras = s.api.queueExtras.read('gpu')!;
    expect(extras.maxResources).toEqual([]);
    expect(extras.maxAccelerators).toHaveLength(1);
    expect(again?.steps).toEqual([]);
  });

  it("the stand-in refuses the caps Union refuses (its client's rules)", async () => {
    s = await startUnionServer();
    const raw = await rawClient(s, QueueService);
    const id = { organization: 'acme', name: 'bad' };
    const gpuTotal = queueSpecToPb({ ...BASE });
    gpuTotal.maxResources = [
      create(Resources_ResourceEntrySchema, { name: Resources_ResourceName.GPU, value: '8' }),
    ];
    await expect(raw.client.createQueue({ id, spec: gpuTotal, state: 1 })).rejects.toThrow(
      /GPU is not an enforceable queue resource/,
    );
    const tpuClass = queueSpecToPb({ ...BASE });
    tpuClass.maxAccelerators = [
      create(AcceleratorCapacitySchema, {
        accelerator: {
          deviceClass: GPUAccelerator_DeviceClass.GOOGLE_TPU,
          partitionSizeValue: { case: 'unpartitioned', value: true },
        },
        count: 1n,
      }),
    ];
    await expect(raw.client.createQueue({ id, spec: tpuClass, state: 1 })).rejects.toThrow(
      /without a device is supported for NVIDIA GPUs only/,
    );
    raw.close();
  });

  it('a backend without queue caps refuses a repository declaring them (QUEUE_CAPS)', async () => {
    s = await startUnionServer();
    const repo = await writeRepo({
      'queues/gpu.yaml': QUEUE('gpu', '  scheduling: strict_fifo\n  max_resources: {cpu: "8"}\n'),
    });
    const planned = await planRepository(repo, s.embedded);
    expect(planned.ok).toBe(true);
    if (!planned.ok) return;
    // At the cap's line, said once: the message names no location of its own (check prints both).
    expect(planned.plan.errors).toEqual([
      expect.objectContaining({
        code: 'QUEUE_CAPS',
        address: 'Queue/gpu',
        location: 'queues/gpu.yaml:9:18',
      }),
    ]);
    expect(errorText(planned.plan.errors[0]!)).toMatch(
      /^Queue\/gpu sets max_resources, scheduling, but the embedded backend has no queue caps/,
    );
  });
});
