import { describe, expect, it } from 'vitest';
import { formHash, nextAppliers, writtenByAnother } from '../../src/model/appliers.js';

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

  it('says nothing from a branch that never applied here (a pull request plan)', () => {
    const list = applies(['main', 'a', 300]);
    expect(writtenByAnother(list, { branch: 'pr', host: 'a' }, 'Queue/batch', queue(300))).toBe(
      null,
    );
  });
});
