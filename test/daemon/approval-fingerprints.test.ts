/**
 * `POST /approve` of a fingerprint that is not the held one (docs/daemon.md#approvals): one held
 * before, in this process or a kept run's message before a restart, is stale (the plan moved);
 * any other is no plan at all, a typo, with the held one when it is close.
 */
import { describe, expect, it } from 'vitest';
import { Approvals, heldIn } from '../../src/daemon/approvals.js';
import { heldForApproval } from '../../src/render/common.js';

const fp = (c: string) => `sha256:${c.repeat(64)}`;
const held = (fingerprint: string) => ({ fingerprint, commit: null, changes: [] });
const ask = (a: Approvals, fingerprint: string) => {
  const answer = a.approve({ fingerprint, approver: 'ops', via: 'api' });
  return answer.ok ? 'approved' : answer.reason;
};

describe('a fingerprint not held now', () => {
  it('is stale when held before, else no plan (did you mean the held one, when close)', () => {
    const a = new Approvals();
    a.hold(held(fp('a')));
    a.hold(held(fp('b')));
    expect(ask(a, fp('a'))).toMatch(
      /^stale: the changes waiting for approval are now sha256:b{64}, not sha256:a{64}: /,
    );
    const typo = `${fp('b').slice(0, -1)}c`;
    expect(ask(a, typo)).toBe(
      `no plan with fingerprint ${typo} (did you mean ${fp('b')}?): not the changes waiting for approval (${fp('b')}) nor any this daemon held before. Review the current plan (GET /status, \`poolsync approve\`) and approve its fingerprint`,
    );
    expect(ask(a, fp('d'))).toMatch(/^no plan with fingerprint sha256:d{64}: not the changes/);
    expect(a.concerns(typo)).toBe(true);
    expect(a.concerns(fp('a'))).toBe(true);
    expect(a.concerns(fp('d'))).toBe(false);
    expect(ask(a, fp('b'))).toBe('approved');
  });

  it("after a restart, one a kept run's message held is stale", () => {
    const message = `applied: 1 updated; policy safe: ${heldForApproval([{ action: 'delete', address: 'Cluster/prod-2' }], fp('e'))} with \`poolsync approve\``;
    expect(heldIn([message, 'in sync'])).toEqual([fp('e')]);
    const a = new Approvals();
    a.rememberHeld(heldIn([message]));
    a.hold(held(fp('f')));
    expect(ask(a, fp('e'))).toMatch(/^stale: /);
  });
});
