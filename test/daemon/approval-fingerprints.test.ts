/**
 * `POST /approve` of a fingerprint that is not the held one (docs/daemon.md#approvals): one held
 * before, in this process or by a kept run before a restart, is stale (the plan moved);
 * any other is no plan at all, a typo, with the held one when it is close.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EmbeddedControlPlane } from '../../src/controlplane/embedded/embedded.js';
import { Approvals } from '../../src/daemon/approvals.js';
import type { KeptHistory } from '../../src/daemon/status.js';
import { cleanup } from '../support/cleanup.js';
import { manifests } from './fixtures.js';
import { startTestDaemon } from './harness.js';
import { TestRepo, tempDir } from './helpers.js';

const ADMIN = 'admin-token-fingerprints-0123456789';

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

  it('after a restart, one a kept run held is stale: its run records the fingerprint, whatever its message says', async () => {
    const repo = new TestRepo();
    repo.commit(manifests());
    const state = tempDir();
    const cp = await EmbeddedControlPlane.open({ path: null });
    cleanup.add(() => cp.close());
    const start = async () => {
      const env = { POOLSYNC_ADMIN_TOKEN: ADMIN };
      const t = await startTestDaemon({ repo, cp, state, env, flags: { policy: 'safe' } });
      await t.daemon.firstRun;
      return t;
    };
    const first = await start();
    // Applied beside what it holds (the apply's run), then held alone (the plan's, below).
    repo.commit(manifests({ clusters: ['prod-1'], batchRunConcurrency: 70 }), 'drop prod-2', {
      replaceAll: true,
    });
    await first.daemon.reconcile('webhook');
    const before = first.daemon.status();
    const held = before.approval!.pending!.fingerprint;
    expect(before.lastRun).toMatchObject({ result: 'waiting_for_approval', heldFingerprint: held });
    expect(before.lastRun!.applied.update).toBe(1);
    await first.daemon.stop();

    // Messages are words, which any release may change: the kept runs' are read for nothing.
    const file = join(state, 'daemon', 'history.json');
    const kept = JSON.parse(readFileSync(file, 'utf8')) as KeptHistory;
    for (const r of kept.runs) r.message = r.message.replaceAll(held, 'its changes');
    writeFileSync(file, JSON.stringify({ ...kept, format: 1 }));
    // The plan moved while it was stopped: prod-1 goes instead.
    repo.commit(manifests({ clusters: ['prod-2'], batchRunConcurrency: 70 }), 'drop prod-1', {
      replaceAll: true,
    });
    const second = await start();
    cleanup.add(second.stop);
    const now = second.daemon.status().approval!.pending!.fingerprint;
    expect(now).not.toBe(held);
    expect(second.daemon.status().lastRun).toMatchObject({
      applied: { update: 0 },
      heldFingerprint: now,
    });
    const res = await fetch(`${second.daemon.url}/approve`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ fingerprint: held, approver: 'ops' }),
    });
    const { reason } = (await res.json()) as { reason: string };
    expect(reason).toMatch(/^stale: the changes waiting for approval are now /);
    expect(reason).toContain(`now ${now} (commit `);
    expect(reason).toContain(`, not ${held}: `);
  });
});
