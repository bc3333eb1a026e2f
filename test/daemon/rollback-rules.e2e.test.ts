/**
 * A rollback goes by the followed branch's rules (docs/daemon.md#rollback): who may approve,
 * sync and override, and the guardrails, are those of the branch head's poolsync.yaml, never the
 * rolled-back commit's, which may predate them; after a restart too. In process: a real Git
 * repository, the daemon's HTTP server, the in-memory embedded control plane.
 */
import { describe, expect, it } from 'vitest';
import { EmbeddedControlPlane } from '../../src/controlplane/embedded/embedded.js';
import type { DaemonStatus } from '../../src/daemon/status.js';
import { cleanup } from '../support/cleanup.js';
import { manifests } from './fixtures.js';
import { startTestDaemon } from './harness.js';
import { TestRepo, tempDir } from './helpers.js';

const ADMIN = 'admin-token-rollback-rules-012345';

const RULES = [
  'approvers:',
  "  '*':",
  '    approve: [alice]',
  '    override: []',
  "    '*': [token:admin]",
  'guardrails:',
  '  max_destroy: 0',
  '',
].join('\n');

/** A daemon under policy all with the admin token; the repository and state outlive it. */
async function start(repo: TestRepo, state: string, cp: EmbeddedControlPlane) {
  const flags = { repo: repo.bare, policy: 'all' };
  const env = { POOLSYNC_ADMIN_TOKEN: ADMIN };
  const h = await startTestDaemon({ cp, state, flags, env, logLevel: 'silent' });
  cleanup.add(h.stop);
  await h.daemon.firstRun;
  const post = (path: string, body: unknown = {}) =>
    fetch(`${h.daemon.url}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  const status = async () => (await (await fetch(`${h.daemon.url}/status`)).json()) as DaemonStatus;
  return { ...h, post, status };
}

describe('a rollback to a commit from before the rules', () => {
  it('keeps the branch head’s approvers and guardrails: the admin token may not approve the held delete nor override the freeze', async () => {
    const repo = new TestRepo();
    cleanup.add(() => repo.cleanup());
    const state = tempDir();
    const cp = await EmbeddedControlPlane.open({ path: null });
    cleanup.add(() => cp.close());
    repo.commit(manifests(), 'A');
    let h = await start(repo, state, cp);
    const runA = h.daemon.status().lastRun!.id;
    const withTmp = manifests({ clusters: ['prod-1', 'prod-2', 'tmp-1'], batchRunConcurrency: 60 });
    repo.commit(withTmp, 'B: tmp-1');
    expect((await h.post('/reconcile?wait=1')).status).toBe(200);
    expect((await h.status()).outcome).toBe('applied');
    // The rules come in a commit of their own, which changes nothing on the control plane.
    withTmp['poolsync.yaml'] += RULES;
    repo.commit(withTmp, 'C: rules');
    expect((await h.post('/reconcile?wait=1')).status).toBe(200);
    expect((await h.status()).outcome).toBe('in_sync');

    // Back to A, which deletes tmp-1: held by the branch's budget, under policy all, run after
    // run (the update beside it, applied, records the budget as the branch has it).
    expect((await h.post('/rollback?wait=1', { run: runA, by: 'ops' })).status).toBe(200);
    expect((await cp.getQueue('batch')).run_concurrency).toBe(50);
    const heldByBranch = async (trigger: string) => {
      const held = await h.status();
      expect(held.lastRun).toMatchObject({
        result: 'waiting_for_approval',
        rollback: { to: runA },
        trigger: [trigger],
        message: expect.stringMatching(/^held by guardrails\.max_destroy: /),
      });
      expect(held.heldBy).toEqual(['max_destroy']);
      expect(held.approval!.approvers).toEqual({
        rule: 'approvers.*.approve',
        principals: ['alice'],
      });
      const approve = await h.post('/approve', {
        fingerprint: held.approval!.pending!.fingerprint,
        approver: 'ops',
      });
      expect(approve.status).toBe(403);
      expect(((await approve.json()) as { reason: string }).reason).toMatch(
        /^token:admin may not approve held changes: approvers\.\*\.approve /,
      );
    };
    expect((await h.post('/reconcile?wait=1')).status).toBe(200);
    await heldByBranch('manual');

    // A restart reads the branch head's rules again, though it loads only the rolled-back commit.
    await h.stop();
    h = await start(repo, state, cp);
    await heldByBranch('startup');

    // Suspended, the branch says no one overrides the freeze.
    expect((await h.post('/suspend', { by: 'ops' })).status).toBe(200);
    const override = await h.post('/reconcile?override=freeze&wait=1');
    expect(override.status).toBe(403);
    expect(((await override.json()) as { error: string }).error).toMatch(
      /^token:admin may not override the freeze: approvers\.\*\.override /,
    );
    expect((await cp.listClusters()).map((c) => c.name).sort()).toEqual([
      'prod-1',
      'prod-2',
      'tmp-1',
    ]);
  }, 60_000);

  it('on an invalid branch head: the last valid commit’s rules, and after a restart, when none is known, nothing applied', async () => {
    const repo = new TestRepo();
    cleanup.add(() => repo.cleanup());
    const state = tempDir();
    const cp = await EmbeddedControlPlane.open({ path: null });
    cleanup.add(() => cp.close());
    const a = manifests();
    a['poolsync.yaml'] += RULES;
    repo.commit(a, 'A: rules');
    let h = await start(repo, state, cp);
    const runA = h.daemon.status().lastRun!.id;
    const broken = manifests({ invalid: true, batchRunConcurrency: 60 });
    const head = repo.commit(broken, 'B: invalid, no rules', { replaceAll: true });
    expect((await h.post('/reconcile?wait=1')).status).toBe(200);
    expect((await h.status()).outcome).toBe('invalid');
    expect((await h.post('/rollback?wait=1', { run: runA, by: 'ops' })).status).toBe(200);
    expect((await h.status()).approval!.approvers).toEqual({
      rule: 'approvers.*.approve',
      principals: ['alice'],
    });

    await h.stop();
    h = await start(repo, state, cp);
    const s = await h.status();
    expect(s.lastRun).toMatchObject({
      result: 'failed',
      rollback: { to: runA },
      message: `the followed branch's head ${head.slice(0, 12)} has 1 validation error and no valid commit of the branch was loaded since the daemon started: who may approve and which policies and guardrails hold are not known, so the rollback applies nothing (a new commit lifts it, as does \`poolsync resume\`)`,
    });
    expect(s.errors).toEqual([
      expect.objectContaining({ code: 'V3', location: 'queues/broken.yaml:7:14' }),
    ]);
  }, 60_000);
});
