/**
 * Union's rules for a queue's caps, which its client mirrors before sending (flyteplugins-union
 * 0.19.1, remote/_queue.py: "Mirrors the server's rules so a bad cap fails here instead of on
 * the wire"): `max_resources` names only cpu, memory and ephemeral_storage (the cluster
 * service's `queueMaxResourceNames`), each once, as non-negative Kubernetes quantities;
 * `max_accelerators` entries declare their partitioning (`validateQueueMaxAccelerators`), count
 * whole positive devices, name a device unless the class is NVIDIA, name a canonical device of
 * their own class (or a stored spelling of one: remote/_queue.py:254-279, 295-346), and never
 * the same accelerator twice once canonicalised (:378-401). CreateQueue and UpdateQueue answer
 * INVALID_ARGUMENT otherwise.
 */
import type { QueueSpec } from '../../gen/cloudidl/queue/queue_pb.js';
import { CANONICAL_ACCELERATORS, canonicalDevice } from '../../gen/union/accelerators.js';
import { ACCELERATOR_CLASSES } from '../../model/common.js';
import {
  GPUAccelerator_DeviceClass as DeviceClass,
  Resources_ResourceName as ResourceName,
} from '../../gen/flyteidl2/core/tasks_pb.js';
import { invalidArgument } from './refusals.js';

const CAPPED = new Set([ResourceName.CPU, ResourceName.MEMORY, ResourceName.EPHEMERAL_STORAGE]);
/** k8s.io/apimachinery resource.ParseQuantity's grammar, as the client checks it (_QUANTITY_RE). */
const QUANTITY = /^[+-]?(\d+|\d*\.\d+|\d+\.\d*)([eE][+-]?\d+|[KMGTPE]i|[numkMGTPE])?$/;

export function checkQueueCaps(spec: QueueSpec | undefined): void {
  if (!spec) return;
  const seen = new Set<ResourceName>();
  for (const e of spec.maxResources) {
    const label = ResourceName[e.name] ?? String(e.name);
    if (!CAPPED.has(e.name))
      throw invalidArgument(
        `max_resources: ${label} is not an enforceable queue resource (cpu, memory, ephemeral_storage)`,
      );
    if (seen.has(e.name)) throw invalidArgument(`max_resources: ${label} is named more than once`);
    seen.add(e.name);
    const m = QUANTITY.exec(e.value);
    if (!m || (e.value.startsWith('-') && Number(m[1]) !== 0))
      throw invalidArgument(
        `max_resources ${label}: "${e.value}" is not a non-negative Kubernetes quantity`,
      );
  }
  const selectors = new Set<string>();
  for (const c of spec.maxAccelerators) {
    const a = c.accelerator;
    if (!a || a.partitionSizeValue.case === undefined)
      throw invalidArgument(
        'max_accelerators: every cap must declare its partitioning (unpartitioned or partition_size)',
      );
    if (c.count <= 0n)
      throw invalidArgument(
        `max_accelerators: count must be a positive number of devices, got ${c.count}`,
      );
    if (!a.device && a.deviceClass !== DeviceClass.NVIDIA_GPU)
      throw invalidArgument(
        'max_accelerators: a cap without a device is supported for NVIDIA GPUs only',
      );
    // A device is a canonical accelerator (or a stored spelling of one) of its own class.
    const device = a.device ? canonicalDevice(a.device) : '';
    if (device === null)
      throw invalidArgument(`max_accelerators: "${a.device}" is not a canonical accelerator`);
    const cls = ACCELERATOR_CLASSES[a.deviceClass];
    if (device && CANONICAL_ACCELERATORS[device] !== cls)
      throw invalidArgument(
        `max_accelerators: ${device} is a ${CANONICAL_ACCELERATORS[device]} device, not ${cls}`,
      );
    const key = `${a.deviceClass}/${device}/${a.partitionSizeValue.case === 'partitionSize' ? a.partitionSizeValue.value : ''}`;
    if (selectors.has(key))
      throw invalidArgument('max_accelerators: two caps name the same accelerator');
    selectors.add(key);
  }
}
