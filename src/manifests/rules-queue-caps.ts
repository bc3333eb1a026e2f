/**
 * V15: Union's queue caps (manifests.md, Queue `max_accelerators`) as Union's own client checks
 * them before sending (flyteplugins-union 0.19.1, remote/_queue.py:295-346, 378-401): a device
 * must be a canonical accelerator or a spelling of one, of the class the selector names; a cap
 * without a device is accepted for NVIDIA GPUs only; no accelerator twice once canonicalised
 * (`nvidia_gpu/t4` is `nvidia_gpu/nvidia-t4`); and GPUs are capped only that way, never as a
 * `max_resources` total. The schema has already checked the selector's shape and the counts.
 */
import type { QueueManifest } from './manifest-types.js';
import { positionOf } from './document-positions.js';
import { err } from './rule-helpers.js';
import type { ValidationError } from './types.js';
import { canonicalSelector } from '../gen/union/accelerators.js';

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
    const seen = new Map<string, string>();
    for (const selector of Object.keys(q.caps?.max_accelerators ?? {})) {
      const at = positionOf(q.root, 'spec', 'max_accelerators', selector);
      const read = canonicalSelector(selector);
      if ('error' in read) {
        errors.push(
          err(
            'V15',
            q,
            at,
            `max_accelerators: "${selector}": ${read.error} (Union's client refuses it: remote/_queue.py:295-346); ` +
              'name a canonical device of its class (nvidia_gpu/nvidia-h100, google_tpu/google-tpu-v5e, …), or nvidia_gpu alone',
          ),
        );
        continue;
      }
      const twin = seen.get(read.selector);
      if (twin !== undefined)
        errors.push(
          err(
            'V15',
            q,
            at,
            `max_accelerators: "${selector}" and "${twin}" name the same accelerator (${read.selector}); keep one`,
          ),
        );
      seen.set(read.selector, selector);
    }
  }
  return errors;
}
