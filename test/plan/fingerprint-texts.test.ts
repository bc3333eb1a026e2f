/**
 * Issue 79 item 2: the key texts a daemon's plan slicer keeps between commits (plan/fingerprint.ts
 * KeyTexts) give exactly the fingerprints made without them, and are never reused for an object
 * that could have changed since (one not frozen, changed in place).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { DesiredQueue } from '../../src/model/desired.js';
import type { LiveQueue } from '../../src/model/live.js';
import { desiredFingerprint, KeyTexts, liveFingerprint } from '../../src/plan/fingerprint.js';
import { deepFreeze } from '../../src/util/deep-freeze.js';
import { liveQueue } from '../support/builders.js';
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

/** An edit of a list between two fingerprints, as a daemon meets them from commit to commit. */
type Edit =
  | { op: 'insert' | 'delete' | 'change' | 'equal' | 'mutate'; at: number; count: number }
  | { op: 'inventory'; how: 'equal' | 'change' | 'mutate' };

const editArb: fc.Arbitrary<Edit> = fc.oneof(
  fc.record({
    op: fc.constantFrom(
      'insert' as const,
      'delete' as const,
      'change' as const,
      'equal' as const,
      'mutate' as const,
    ),
    at: fc.nat(2_000),
    count: fc.integer({ min: 1, max: 600 }),
  }),
  fc.record({
    op: fc.constant('inventory' as const),
    how: fc.constantFrom('equal' as const, 'change' as const, 'mutate' as const),
  }),
);

describe('kept texts over edit sequences (property)', () => {
  it('every fingerprint equals the whole computation: runs reused by object, by equal object, cut anywhere', () => {
    const template = desired({ queues: { q: { pool: 'gpu', run_concurrency: 5 } } }).queues[0]!;
    const queue = (name: string, run: number) =>
      deepFreeze({
        ...structuredClone(template),
        name,
        spec: { ...template.spec, run_concurrency: run },
      });
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 1_400 }),
        fc.array(editArb, { maxLength: 6 }),
        (n, edits) => {
          const texts = new KeyTexts();
          // Each queue's live object: the same one while the queue is (a frozen state's view).
          const views = new WeakMap<object, LiveQueue>();
          const liveOf = (q: DesiredQueue) => {
            let view = views.get(q);
            if (view === undefined) {
              view = liveQueue(q.name, q.spec);
              views.set(q, Object.isFrozen(q) ? deepFreeze(view) : view);
            }
            return view;
          };
          let made = 0;
          let queues = Array.from({ length: n }, () => queue(`q${made++}`, 1));
          let inventory: string[] = deepFreeze(queues.map((q) => `Queue/${q.name}`));
          const check = () => {
            const d = { ...desired({}), queues };
            const l = { ...live({}), queues: queues.map(liveOf), inventory };
            expect(desiredFingerprint(d, 'c', texts)).toBe(desiredFingerprint(d, 'c'));
            expect(liveFingerprint(l, texts)).toBe(liveFingerprint(l));
          };
          check();
          for (const e of edits) {
            if (e.op === 'inventory') {
              if (e.how === 'equal') inventory = deepFreeze([...inventory]);
              else if (e.how === 'change')
                inventory = deepFreeze([...inventory, `Queue/x${made++}`]);
              // A list changed in place (not frozen): its kept text must not be used.
              else (inventory = [...inventory]).push(`Queue/y${made++}`);
              check();
              if (e.how === 'mutate') inventory.push(`Queue/z${made++}`);
              check();
              continue;
            }
            const at = Math.min(e.at, queues.length);
            const end = Math.min(at + e.count, queues.length);
            const next = [...queues];
            if (e.op === 'insert')
              next.splice(at, 0, ...Array.from({ length: e.count }, () => queue(`q${made++}`, 2)));
            else if (e.op === 'delete') next.splice(at, e.count);
            else
              for (let i = at; i < end; i++) {
                const was = next[i]!;
                if (e.op === 'change') next[i] = queue(was.name, was.spec.run_concurrency + 1);
                else if (e.op === 'equal') {
                  // The loader's new object for an unchanged document, as the slicer tells it.
                  next[i] = deepFreeze(structuredClone(was));
                  texts.same(next[i]!, was);
                } else {
                  // Equal but changeable: told to the texts too (the slicer tells every equal one).
                  next[i] = structuredClone(was);
                  texts.same(next[i]!, was);
                }
              }
            queues = next;
            check();
            // Objects not frozen, changed in place after their texts were made.
            if (e.op === 'mutate')
              for (let i = at; i < end; i++) {
                (queues[i]!.spec as { run_concurrency: number }).run_concurrency += 10;
                (liveOf(queues[i]!) as { run_concurrency: number }).run_concurrency += 10;
              }
            check();
          }
        },
      ),
      { numRuns: 60 },
    );
  });
});
