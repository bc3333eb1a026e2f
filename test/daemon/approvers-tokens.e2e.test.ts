/**
 * The daemon's tokens under poolsync.yaml `approvers:` (issue 74 item 3, docs/daemon.md#approvers):
 * the admin token is one more principal (`token:admin`), not a bypass, unless the operator
 * starts the daemon with --admin-token-bypasses-approvers; the reconcile token is
 * `token:reconcile`. Each refusal is one line naming the rule, counted per rule in the metrics,
 * and /status and the dashboard's held box say who may approve. In process: a real Git
 * repository, the daemon's HTTP server, the in-memory embedded control plane.
 */
import { describe, expect, it } from 'vitest';
import { cleanup } from '../support/cleanup.js';
import { runCli } from '../support/cli.js';
import type { DaemonStatus } from '../../src/daemon/status.js';
import { manifests } from './fixtures.js';
import { TestRepo } from './helpers.js';
import { until } from '../support/until.js';
import { startTestDaemon } from './harness.js';

const ADMIN = 'admin-token-approvers-0123456789';
const RECONCILE = 'reconcile-token-approvers-012345';

const APPROVERS = [
  'approvers:',
  "  '*':",
  '    approve: [team:acme/sre]',
  '    sync: [token:admin]',
  '    suspend: [token:admin]',
  '',
].join('\n');

/** main with the approvers rule; the daemon applied it, then a commit drops prod-2 (held). */
async function start(flags: Record<string, unknown> = {}) {
  const repo = new TestRepo();
  const files = manifests();
  files['poolsync.yaml'] += APPROVERS;
  repo.commit(files);
  const { daemon, cp, stop } = await startTestDaemon({
    repo,
    env: { POOLSYNC_ADMIN_TOKEN: ADMIN, POOLSYNC_RECONCILE_TOKEN: RECONCILE },
    flags: { policy: 'safe', ...flags },
    logLevel: 'silent',
  });
  cleanup.add(stop);
  await daemon.firstRun;
  const dropped = manifests({ clusters: ['prod-1'] });
  dropped['poolsync.yaml'] += APPROVERS;
  repo.commit(dropped, 'drop prod-2', { replaceAll: true });
  const post = (path: string, token: string, body: unknown = {}) =>
    fetch(`${daemon.url}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  const status = async () => (await (await fetch(`${daemon.url}/status`)).json()) as DaemonStatus;
  expect((await post('/reconcile?wait=1', ADMIN)).status).toBe(200);
  expect((await status()).outcome).toBe('waiting_for_approval');
  return { daemon, cp, post, status };
}

describe('the admin token is one more principal', () => {
  it('refused to approve by a rule that does not name it (one line naming it), allowed to sync and suspend by one that does; the reconcile token refused to sync', async () => {
    const { daemon, cp, post, status } = await start();
    const st = await status();
    expect(st.approval!.approvers).toEqual({
      rule: 'approvers.*.approve',
      principals: ['team:acme/sre'],
    });
    const fingerprint = st.approval!.pending!.fingerprint;

    const approve = await post('/approve', ADMIN, { fingerprint, approver: 'ops' });
    expect(approve.status).toBe(403);
    expect(await approve.json()).toEqual({
      approved: false,
      reason:
        'token:admin may not approve held changes: approvers.*.approve (poolsync.yaml of the followed branch) names team:acme/sre, and token:admin is none of them: add token:admin to the rule, or start the daemon with --admin-token-bypasses-approvers',
    });
    expect((await status()).approval).toMatchObject({
      granted: [],
      lastRefused: { approver: 'ops', via: 'api' },
    });
    const cli = await runCli(['approve', fingerprint, '--daemon', daemon.url], {
      POOLSYNC_ADMIN_TOKEN: ADMIN,
    });
    expect(cli.code).toBe(1);
    expect(cli.stderr).toContain(
      'Approval refused: token:admin may not approve held changes: approvers.*.approve',
    );

    const sync = await post('/reconcile', RECONCILE);
    expect(sync.status).toBe(403);
    expect(((await sync.json()) as { error: string }).error).toBe(
      'token:reconcile may not sync: approvers.*.sync (poolsync.yaml of the followed branch) names token:admin, and token:reconcile is none of them',
    );
    // Named by the rules: the admin token suspends and resumes.
    expect((await post('/suspend', ADMIN, { by: 'ops' })).status).toBe(200);
    expect((await post('/resume', ADMIN)).status).toBe(200);

    const metrics = await (await fetch(`${daemon.url}/metrics`)).text();
    expect(metrics).toContain(
      'poolsync_approver_refusals_total{action="approve",rule="approvers.*.approve"} 2',
    );
    expect(metrics).toContain(
      'poolsync_approver_refusals_total{action="sync",rule="approvers.*.sync"} 1',
    );
    const page = await (await fetch(`${daemon.url}/`)).text();
    expect(page).toContain(
      'Who may approve: team:acme/sre (<code>approvers.*.approve</code> in poolsync.yaml).',
    );
    // Nothing was approved: prod-2 is still there.
    expect((await cp.listClusters()).map((c) => c.name).sort()).toEqual(['prod-1', 'prod-2']);
  }, 60_000);

  it('--admin-token-bypasses-approvers: the operator lets the admin token approve whatever the rules say', async () => {
    const { cp, post, status } = await start({ 'admin-token-bypasses-approvers': true });
    const fingerprint = (await status()).approval!.pending!.fingerprint;
    const approve = await post('/approve', ADMIN, { fingerprint, approver: 'ops' });
    expect(approve.status).toBe(200);
    await until('applied', async () => (await status()).outcome === 'applied');
    expect((await cp.listClusters()).map((c) => c.name)).toEqual(['prod-1']);
  }, 60_000);

  it('a rollback applies a commit as a sync does: refused to the admin token by a sync rule that does not name it', async () => {
    const repo = new TestRepo();
    const files = manifests();
    files['poolsync.yaml'] += ['approvers:', "  '*':", '    sync: [alice]', ''].join('\n');
    repo.commit(files);
    const { daemon, stop } = await startTestDaemon({
      repo,
      env: { POOLSYNC_ADMIN_TOKEN: ADMIN },
      logLevel: 'silent',
    });
    cleanup.add(stop);
    await daemon.firstRun;
    const rollback = await fetch(`${daemon.url}/rollback?wait=1`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ run: 1, by: 'ops' }),
    });
    expect(rollback.status).toBe(403);
    expect(((await rollback.json()) as { error: string }).error).toBe(
      'token:admin may not sync: approvers.*.sync (poolsync.yaml of the followed branch) names alice, and token:admin is none of them: add token:admin to the rule, or start the daemon with --admin-token-bypasses-approvers',
    );
    expect(
      ((await (await fetch(`${daemon.url}/status`)).json()) as DaemonStatus).rollback,
    ).toBeFalsy();
    // Who or why holding the daemon's token would show it in /status: refused, nothing done.
    for (const path of ['/rollback', '/suspend']) {
      const leaked = await fetch(`${daemon.url}${path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
        body: JSON.stringify({ run: 1, by: 'ops', reason: `see ${ADMIN}` }),
      });
      expect(leaked.status, path).toBe(400);
      expect(await leaked.json(), path).toEqual({
        error: '"by" or "reason" holds a token of this daemon: nothing done',
      });
    }
    const after = (await (await fetch(`${daemon.url}/status`)).json()) as DaemonStatus;
    expect([after.rollback ?? null, JSON.stringify(after).includes(ADMIN)]).toEqual([null, false]);
  }, 60_000);
});
