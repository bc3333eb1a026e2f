/**
 * Union's queue caps and scheduling (QueueSpec fields 8-10: proto/cloudidl/queue/queue.proto,
 * flyteidl2/core/tasks.proto, from the flyteplugins-union wheel) ↔ poolsync's QueueCaps, in
 * the spelling Union's client uses (flyteplugins-union 0.19.1, remote/_queue.py):
 * `max_resources` by lower-case resource name, `max_accelerators` by the selector
 * `class[/device[/partition]]` (`format_accelerator_selector`), scheduling by its enum's name.
 * Pure.
 */
import { clone, create } from '@bufbuild/protobuf';
import {
  ACCELERATOR_CLASSES,
  QUEUE_RESOURCE_NAMES,
  type QueueCaps,
  type QueueResourceName,
  type QueueScheduling,
} from '../../model/common.js';
import {
  GPUAccelerator_DeviceClass as DeviceClass,
  GPUAcceleratorSchema,
  Resources_ResourceEntrySchema,
  Resources_ResourceName as ResourceName,
  type GPUAccelerator,
  type Resources_ResourceEntry,
} from '../../gen/flyteidl2/core/tasks_pb.js';
import {
  AcceleratorCapacitySchema,
  type AcceleratorCapacity,
} from '../../gen/cloudidl/cluster/accelerator_definition_pb.js';
import { canonicalDevice } from '../../gen/union/accelerators.js';
import {
  SchedulingAlgorithm,
  type QueueSpec as PbQueueSpec,
} from '../../gen/cloudidl/queue/queue_pb.js';

const RESOURCE_TO_PB: Record<QueueResourceName, ResourceName> = {
  cpu: ResourceName.CPU,
  memory: ResourceName.MEMORY,
  ephemeral_storage: ResourceName.EPHEMERAL_STORAGE,
};
const RESOURCE_FROM_PB = new Map<ResourceName, QueueResourceName>(
  QUEUE_RESOURCE_NAMES.map((n) => [RESOURCE_TO_PB[n], n]),
);
/** GPUAccelerator.DeviceClass by number: NVIDIA_GPU = 0 … HABANA_GAUDI = 4, in ACCELERATOR_CLASSES' order. */
const CLASS_TO_PB = new Map<string, DeviceClass>(
  ACCELERATOR_CLASSES.map((c, i) => [c, i as DeviceClass]),
);

const SCHEDULING_TO_PB: Record<QueueScheduling, SchedulingAlgorithm> = {
  strict_fifo: SchedulingAlgorithm.STRICT_FIFO,
  greedy_capacity: SchedulingAlgorithm.GREEDY_CAPACITY,
};

/** Union's `format_accelerator_selector` (remote/_queue.py:349-359): `class[/device[/partition]]`, the device canonical. */
export function acceleratorSelector(a: GPUAccelerator | undefined): string {
  const cls =
    ACCELERATOR_CLASSES[a?.deviceClass ?? DeviceClass.NVIDIA_GPU] ?? `class-${a?.deviceClass}`;
  let out: string = cls;
  // A cap stored before the canonical names (nvidia-tesla-t4) reads as the name it stands for.
  if (a?.device) out += `/${canonicalDevice(a.device) ?? a.device}`;
  if (a?.partitionSizeValue.case === 'partitionSize' && a.partitionSizeValue.value)
    out += `/${a.partitionSizeValue.value}`;
  return out;
}

/**
 * Union's `parse_accelerator_selector` for the canonical spelling: the partitioning is always
 * declared (unpartitioned when no partition is named), as Union's cluster service requires.
 */
export function acceleratorFromSelector(selector: string): GPUAccelerator {
  const [cls, device, partition] = selector.split('/');
  return create(GPUAcceleratorSchema, {
    deviceClass: CLASS_TO_PB.get(cls ?? '') ?? DeviceClass.NVIDIA_GPU,
    device: device ?? '',
    partitionSizeValue: partition
      ? { case: 'partitionSize', value: partition }
      : { case: 'unpartitioned', value: true },
  });
}

/** The caps a queue has (a field left out when Union has none set). */
export function capsFromPb(spec: PbQueueSpec | undefined): QueueCaps {
  const out: QueueCaps = {};
  const resources = (spec?.maxResources ?? []).filter((e) => RESOURCE_FROM_PB.has(e.name));
  if (resources.length > 0)
    out.max_resources = Object.fromEntries(
      resources.map((e) => [RESOURCE_FROM_PB.get(e.name)!, e.value]),
    );
  if ((spec?.maxAccelerators.length ?? 0) > 0) {
    out.max_accelerators = Object.fromEntries(
      spec!.maxAccelerators.map((c) => [acceleratorSelector(c.accelerator), Number(c.count)]),
    );
  }
  if (spec?.scheduling === SchedulingAlgorithm.STRICT_FIFO) out.scheduling = 'strict_fifo';
  else if (spec?.scheduling === SchedulingAlgorithm.GREEDY_CAPACITY)
    out.scheduling = 'greedy_capacity';
  return out;
}

function sameRecord(a: Record<string, unknown>, b: Record<string, unknown>): boolean {
  const ka = Object.keys(a);
  return (
    ka.length === Object.keys(b).length && ka.every((k) => Object.hasOwn(b, k) && a[k] === b[k])
  );
}

/**
 * Read-modify-write of the caps: `out` (a copy of the spec as read) gets each cap `caps`
 * declares; one that already reads as declared is left exactly as read (entries keep fields
 * poolsync does not declare, such as GPUAccelerator.accelerator_model), and so is every
 * undeclared one.
 */
export function setCaps(out: PbQueueSpec, caps: QueueCaps): void {
  const now = capsFromPb(out);
  if (caps.max_resources && !sameRecord(caps.max_resources, now.max_resources ?? {})) {
    const foreign = out.maxResources.filter((e) => !RESOURCE_FROM_PB.has(e.name));
    out.maxResources = [...resourceEntries(caps.max_resources), ...foreign];
  }
  if (caps.max_accelerators && !sameRecord(caps.max_accelerators, now.max_accelerators ?? {})) {
    const read = new Map(out.maxAccelerators.map((c) => [acceleratorSelector(c.accelerator), c]));
    out.maxAccelerators = acceleratorEntries(caps.max_accelerators, read);
  }
  if (caps.scheduling !== undefined) out.scheduling = SCHEDULING_TO_PB[caps.scheduling];
}

function resourceEntries(m: Partial<Record<QueueResourceName, string>>): Resources_ResourceEntry[] {
  return QUEUE_RESOURCE_NAMES.filter((n) => m[n] !== undefined).map((n) =>
    create(Resources_ResourceEntrySchema, { name: RESOURCE_TO_PB[n], value: m[n]! }),
  );
}

function acceleratorEntries(
  m: Record<string, number>,
  read: ReadonlyMap<string, AcceleratorCapacity> = new Map(),
): AcceleratorCapacity[] {
  return Object.keys(m)
    .sort()
    .map((selector) => {
      const had = read.get(selector)?.accelerator;
      return create(AcceleratorCapacitySchema, {
        accelerator: had ? clone(GPUAcceleratorSchema, had) : acceleratorFromSelector(selector),
        count: BigInt(m[selector]!),
      });
    });
}
