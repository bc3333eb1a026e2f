/**
 * V15: Union's queue caps (manifests.md, Queue `max_accelerators`) as Union's own client checks
 * them before sending (flyteplugins-union 0.19.1, remote/_queue.py `parse_accelerator_selector`):
 * a cap without a device is accepted for NVIDIA GPUs only (it caps the GPUs requested without
 * a device). The schema has already checked the selector's shape and the counts.
 */
import type { QueueManifest } from './manifest-types.js';
import { positionOf } from './document-positions.js';
import { err } from './rule-helpers.js';
import type { ValidationError } from './types.js';

export function checkQueueCaps(queues: readonly QueueManifest[]): ValidationError[] {
  const errors: ValidationError[] = [];
  for (const q of queues) {
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
