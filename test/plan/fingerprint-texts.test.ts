/**
 * Issue 79 item 2: the key texts a daemon's plan slicer keeps between commits (plan/fingerprint.ts
 * KeyTexts) give exactly the fingerprints made without them, and are never reused for an object
 * that could have changed since (one not frozen, changed in place).
 */
import { describe, expect, it } from 'vitest';
import { desiredFingerprint, KeyTexts, liveFingerprint } from '../../src/plan/fingerprint.js';
import { deepFreeze } from '../../src/util/deep-freeze.js';
import { contract, desired, live } from './build.js';

const input = {
  pools: { gpu: contract('gpu') },
  clusters: { a: { pool: 'gpu' }, b: { annotations: { team: 'ml' } } },
  queues: { q1: { pool: 'gpu', run_concurrency: 5 }, q2: { run_concurrency: 7 } },
  assignments: [{ project: 'ml', domain: 'production', pool: 'gpu' }],
};

describe('fingerprints with kept key texts', () => {
  it('equal the whole computation: frozen objects kept, new ones at the same name keyed again', () => {
    const texts = new KeyTexts();
    const d1 = deepFreeze(desired(input));
    const l1 = deepFreeze(live({ clusters: { a: { pool: 'gpu' } } }));
    expect(desiredFingerprint(d1, 'c1', texts)).toBe(desiredFingerprint(d1, 'c1'));
    expect(liveFingerprint(l1, texts)).toBe(liveFingerprint(l1));
    // The next commit: q1 a new object under the same name, every other object the same one.
    const edited = desired({
      ...input,
      queues: { ...input.queues, q1: { pool: 'gpu', run_concurrency: 6 } },
    });
    const d2 = deepFreeze({ ...d1, queues: [edited.queues[0]!, d1.queues[1]!] });
    const whole = desiredFingerprint(d2, 'c2');
    expect(whole).not.toBe(desiredFingerprint(d1, 'c2'));
    expect(desiredFingerprint(d2, 'c2', texts)).toBe(whole);
  });

  it('are not reused for an object changed in place (not frozen): a stale text would keep the old digest', () => {
    const texts = new KeyTexts();
    const d = desired(input);
    const l = live({ queues: { q9: { run_concurrency: 1 } } });
    const before = [desiredFingerprint(d, null, texts), liveFingerprint(l, texts)];
    (d.queues[0]!.spec as { run_concurrency: number }).run_concurrency = 9;
    (l.queues.find((q) => q.name === 'q9') as { run_concurrency: number }).run_concurrency = 2;
    const after = [desiredFingerprint(d, null, texts), liveFingerprint(l, texts)];
    expect(after).toEqual([desiredFingerprint(d, null), liveFingerprint(l)]);
    expect(after[0]).not.toBe(before[0]);
    expect(after[1]).not.toBe(before[1]);
  });
});
