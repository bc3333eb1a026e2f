/**
 * V15: Union's queue caps (manifests.md, Queue `max_accelerators`) as Union's own client checks
 * them before sending (flyteplugins-union 0.19.1, remote/_queue.py `parse_accelerator_selector`):
 * a cap without a device is accepted for NVIDIA GPUs only (it caps the GPUs requested without
 * a device), and GPUs are capped only that way, never as a `max_resources` total. The schema has already checked the selector's shape and the counts.
 */
import type { QueueManifest } from './manifest-types.js';
import { positionOf } from './document-positions.js';
import { err } from './rule-helpers.js';
import type { ValidationError } from './types.js';

export function checkQueueCaps(queues: readonly QueueManifest[]): ValidationError[] {
  const errors: ValidationError[] = [];
  for (const q of queues) {
    if (Object.hasOwn(q.caps?.max_resources ?? {}, 'gpu')) {
      errors.push(
        err(
          'V15',
          q,
          positionOf(q.root, 'spec', 'max_resources', 'gpu'),
          'max_resources: Union has no total GPU cap (its queues cap cpu, memory and ephemeral_storage); ' +
            'cap GPUs per accelerator type with max_accelerators (nvidia_gpu: 8 for GPUs requested without a device, nvidia_gpu/nvidia-h100: 8 for one device)',
        ),
      );
    }
    for (const selector of Object.keys(q.caps?.max_accelerators ?? {})) {
      if (selector.includes('/') || selector === 'nvidia_gpu') continue;
      errors.push(
        err(
          'V15',
          q,
          positionOf(q.root, 'spec', 'max_accelerators', selector),
          `max_accelerators: "${selector}" caps a class without naming a device, which Union accepts for nvidia_gpu only; ` +
            `name the device (${selector}/DEVICE, for example google_tpu/google-tpu-v5e)`,
        ),
      );
    }
  }
  return errors;
}
