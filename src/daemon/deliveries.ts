/**
 * Replay protection of the webhook receivers (docs/daemon.md#webhooks): the deliveries a replica
 * took, so the same delivery sent again (a redelivery from the forge's page, a retry, a captured
 * request replayed as it was) queues nothing. A delivery is known by the id its forge gives it
 * and keeps across retries and redeliveries: GitHub's `X-GitHub-Delivery`, GitLab's
 * `Idempotency-Key` (since 17.4), else its `X-Gitlab-Event-UUID`. Only deliveries that carry one
 * are remembered (every one a forge sends does). Checked only once the delivery is authenticated
 * (http.ts), so a forged request never fills it; bounded: the last DELIVERIES_KEPT deliveries,
 * each as a fixed-size digest of its id.
 */
import { createHash } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

/** Once full, ~1 MB of heap (measured): a 22-character digest, an id and a time a delivery. */
export const DELIVERIES_KEPT = 4096;

/** Of an id, what the answer and the log show (an id is a forge's UUID: 36 characters). */
const SHOWN = 100;

/** A delivery as remembered: its forge's id and a digest of it (both null when it sent none). */
export type Delivery = { id: string; key: string } | { id: null; key: null };

function header(headers: IncomingHttpHeaders, name: string): string | null {
  const v = headers[name];
  const text = (Array.isArray(v) ? v[0] : v)?.trim();
  return text ? text : null;
}

export function deliveryOf(provider: 'github' | 'gitlab', headers: IncomingHttpHeaders): Delivery {
  const id =
    provider === 'github'
      ? header(headers, 'x-github-delivery')
      : (header(headers, 'idempotency-key') ?? header(headers, 'x-gitlab-event-uuid'));
  if (id === null) return { id: null, key: null };
  // 128 bits of SHA-256: no two ids share one, in 22 characters whatever the id's length.
  const key = createHash('sha256')
    .update(`${provider}\n${id}`)
    .digest()
    .toString('base64url', 0, 16);
  return { id, key };
}

/** The last `max` deliveries taken, oldest forgotten first. */
export class SeenDeliveries {
  /** Key → the id and time (ms) of the delivery that claimed it, in the order claimed. */
  private readonly seen = new Map<string, { id: string; at: number }>();

  constructor(
    private readonly max = DELIVERIES_KEPT,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Null, and the delivery is remembered, when it was not seen; else when it was first (its id
   * and time). Synchronous: of two copies arriving together, the second is a duplicate.
   */
  claim(delivery: Delivery): { id: string; at: string } | null {
    if (delivery.key === null) return null;
    const first = this.seen.get(delivery.key);
    if (first) return { id: first.id, at: new Date(first.at).toISOString() };
    this.seen.set(delivery.key, { id: delivery.id.slice(0, SHOWN), at: this.now() });
    if (this.seen.size > this.max) this.seen.delete(this.seen.keys().next().value!);
    return null;
  }

  /** A claimed delivery that was not taken after all (no leader to hand it to): a redelivery is new. */
  release(delivery: Delivery): void {
    if (delivery.key !== null) this.seen.delete(delivery.key);
  }

  get size(): number {
    return this.seen.size;
  }
}
