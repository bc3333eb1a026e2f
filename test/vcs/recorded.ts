/**
 * GitHub's recorded webhook payloads (npm @octokit/webhooks-examples, "example webhook payloads
 * contributed by the community", from deliveries of api.github.com), by event and action.
 */
import { createRequire } from 'node:module';
import type { WebhookDefinition } from '@octokit/webhooks-examples';

const definitions = createRequire(import.meta.url)(
  '@octokit/webhooks-examples',
) as WebhookDefinition[];

/** The recorded payloads of `event` (with `action`, when given), as plain objects. */
export function recordedPayloads(event: string, action?: string): Record<string, unknown>[] {
  const examples = (definitions.find((d) => d.name === event)?.examples ?? []) as Record<
    string,
    unknown
  >[];
  const found = examples.filter((p) => action === undefined || p.action === action);
  if (found.length === 0) throw new Error(`no recorded ${event} ${action ?? ''} payload`);
  return found.map((p) => structuredClone(p));
}
