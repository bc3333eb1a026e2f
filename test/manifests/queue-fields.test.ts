/**
 * The Queue schema (schemas/queue.schema.json) declares a queue's fields; the model derives its
 * lists from it (src/model/common.ts), scripts/build-validators.ts the plan schema's queue spec.
 * The control plane API (hand-written) is named here when it misses a field.
 */
import { readFile } from 'node:fs/promises';
import { load } from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { QUEUE_CAP_FIELDS, QUEUE_SPEC_FIELDS } from '../../src/model/common.js';
import { SPEC_FIELDS } from '../../src/gen/manifests/kinds.js';

const read = (name: string) => readFile(new URL(`../../schemas/${name}`, import.meta.url), 'utf8');

describe('the fields of a queue', () => {
  it('are the Queue schema spec fields: a spec (with defaults applied) and Union caps', () => {
    expect([...QUEUE_SPEC_FIELDS, ...QUEUE_CAP_FIELDS].sort()).toEqual(
      Object.keys(SPEC_FIELDS.Queue).sort(),
    );
  });

  it('are all declared by the control plane API (schemas/control-plane.openapi.yaml)', async () => {
    const api = load(await read('control-plane.openapi.yaml')) as {
      components: { schemas: Record<string, { properties?: object; allOf?: unknown[] }> };
    };
    const settings = api.components.schemas['QueueSettings']!;
    expect(
      Object.keys(settings.properties ?? {}).sort(),
      'control-plane.openapi.yaml QueueSettings.properties',
    ).toEqual(['name', ...QUEUE_SPEC_FIELDS].sort());
    const queue = JSON.stringify(api.components.schemas['Queue']);
    for (const f of QUEUE_SPEC_FIELDS)
      expect(queue, `Queue.required names ${f}`).toContain(`"${f}"`);
  });
});
