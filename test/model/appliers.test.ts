import { describe, expect, it } from 'vitest';
import { formHash, nextAppliers, WRITES_KEPT, writtenByAnother } from '../../src/model/appliers.js';

const at = '2026-11-30T08:00:00.000Z';
const queue = (run: number) => ({ pool: 'prod', run_concurrency: run });

/** The appliers after each apply in turn: [branch, host, the object it wrote]. */
function applies(...runs: [string, string, number][]) {
  return runs.reduce(
    (list, [branch, host, run], i) =>
      nextAppliers(
        list,
        { branch, host, commit: `c${i}`, at },
        { 'Queue/batch': formHash(queue(run)) },
        new Set(),
      ),
    [] as ReturnType<typeof nextAppliers>,
  );
}

describe('writtenByAnother', () => {
  it('names the other branch whose write the live object still is', () => {
    const list = applies(['main', 'a', 300], ['alt', 'b', 500]);
    const by = writtenByAnother(list, { branch: 'main', host: 'a' }, 'Queue/batch', queue(500));
    expect(by).toMatchObject({ branch: 'alt', host: 'b', commit: 'c1' });
  });

  it('takes a change by hand for drift: the live object is no recorded write', () => {
    const list = applies(['main', 'a', 300], ['alt', 'b', 500]);
    expect(writtenByAnother(list, { branch: 'main', host: 'a' }, 'Queue/batch', queue(7))).toBe(
      null,
    );
  });

  it('is one poolsync for one branch on many machines: an HA daemon after a failover, CI runners', () => {
    // Replica a applied commit 0, replica b (leader since) commit 1; a leads again with commit 2.
    const list = applies(['main', 'a', 300], ['main', 'b', 400]);
    expect(list).toHaveLength(1);
    expect(writtenByAnother(list, { branch: 'main', host: 'a' }, 'Queue/batch', queue(400))).toBe(
      null,
    );
  });

  it('keeps the newest writes of a branch, as many as WRITES_KEPT (an inventory in a ConfigMap has 1 MiB)', () => {
    const me = { branch: 'main', host: 'a', commit: 'c', at };
    const wrote = (from: number, n: number) =>
      Object.fromEntries(Array.from({ length: n }, (_, i) => [`Queue/q${from + i}`, 'h']));
    const first = nextAppliers([], me, wrote(0, WRITES_KEPT), new Set());
    const [next] = nextAppliers(first, me, wrote(WRITES_KEPT, 10), new Set());
    expect(Object.keys(next!.wrote)).toHaveLength(WRITES_KEPT);
    expect(next!.wrote).not.toHaveProperty('Queue/q9');
    expect(next!.wrote).toHaveProperty('Queue/q10');
    expect(next!.wrote).toHaveProperty(`Queue/q${WRITES_KEPT + 9}`);
  });

  it('says nothing from a branch that never applied here (a pull request plan)', () => {
    const list = applies(['main', 'a', 300]);
    expect(writtenByAnother(list, { branch: 'pr', host: 'a' }, 'Queue/batch', queue(300))).toBe(
      null,
    );
  });
});
