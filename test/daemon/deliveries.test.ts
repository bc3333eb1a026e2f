/**
 * The deliveries a replica remembers for replay protection (src/daemon/deliveries.ts): known by
 * the forge's id (GitLab's Idempotency-Key before its event UUID), the last N only, the oldest
 * forgotten first; one released (not taken after all) is new again.
 */
import { describe, expect, it } from 'vitest';
import { deliveryOf, SeenDeliveries } from '../../src/daemon/deliveries.js';

const github = (id: string | null) =>
  deliveryOf('github', id === null ? {} : { 'x-github-delivery': id });

describe('the deliveries remembered', () => {
  it("by the forge's id: GitHub's delivery id; GitLab's Idempotency-Key, else its event UUID", () => {
    const seen = new SeenDeliveries(10, () => Date.UTC(2026, 10, 28, 12));
    expect(seen.claim(github('d-1'))).toBeNull();
    expect(seen.claim(github('d-1'))).toEqual({ id: 'd-1', at: '2026-11-28T12:00:00.000Z' });
    // Without an id nothing is remembered.
    expect(seen.claim(github(null))).toBeNull();
    expect(seen.claim(github(null))).toBeNull();
    expect(seen.size).toBe(1);

    const gitlab = (headers: Record<string, string>) => deliveryOf('gitlab', headers);
    expect(
      seen.claim(gitlab({ 'idempotency-key': 'k-1', 'x-gitlab-event-uuid': 'u-1' })),
    ).toBeNull();
    expect(
      seen.claim(gitlab({ 'idempotency-key': 'k-1', 'x-gitlab-event-uuid': 'u-2' })),
    ).toMatchObject({ id: 'k-1' });
    expect(seen.claim(gitlab({ 'x-gitlab-event-uuid': 'u-1' }))).toBeNull();
    expect(seen.claim(gitlab({ 'x-gitlab-event-uuid': 'u-1' }))).toMatchObject({ id: 'u-1' });
    // One forge's ids are not the other's.
    expect(seen.claim(gitlab({ 'x-gitlab-event-uuid': 'd-1' }))).toBeNull();
  });

  it('keeps the last N, forgetting the oldest first; a delivery released is new again', () => {
    const seen = new SeenDeliveries(3);
    for (const i of [1, 2, 3, 4]) expect(seen.claim(github(`d-${i}`))).toBeNull();
    expect(seen.size).toBe(3);
    expect(seen.claim(github('d-1'))).toBeNull();
    expect(seen.claim(github('d-4'))).toMatchObject({ id: 'd-4' });
    const taken = github('d-5');
    expect(seen.claim(taken)).toBeNull();
    seen.release(taken);
    expect(seen.claim(taken)).toBeNull();
    expect(seen.claim(taken)).toMatchObject({ id: 'd-5' });
    expect(seen.size).toBe(3);
  });
});
