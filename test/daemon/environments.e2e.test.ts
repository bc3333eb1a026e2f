/**
 * The daemon over a repository with `environments:` (docs/environments.md, The daemon): a real
 * Git remote, the daemon in process, each environment's own embedded control plane (`file:`
 * states), and one environment whose control plane does not answer. Each environment is
 * reconciled on its own: its policy, its drift correction, its approvals, its /status section
 * and metrics label; the unreachable one never stops the others.
 */
import { renameSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cleanup } from '../support/cleanup.js';
import { EmbeddedControlPlane } from '../../src/controlplane/embedded/embedded.js';
import type { RunningDaemon } from '../../src/daemon/daemon.js';
import type { DaemonStatus } from '../../src/daemon/status.js';
import { cluster, twoEnvironments, twoSafeEnvironments } from '../environments/helpers.js';
import { runCli } from '../support/cli.js';
import { runInProcess } from '../support/memory-io.js';
import { until } from '../support/until.js';
import { setRunConcurrency } from './fixtures.js';
import { startOwnTestDaemon } from './harness.js';
import { TestRepo, tempDir } from './helpers.js';

const ADMIN_TOKEN = 'admin-token-env-0123456789';
const RECONCILE_TOKEN = 'reconcile-token-env-0123456789';

/** dev and prod (file: states in `state`) and staging, whose control plane refuses connections. */
function repository(state: string): Record<string, string> {
  return {
    ...twoEnvironments(
      { dev: `file:${state}/dev.json`, prod: `file:${state}/prod.json` },
      `    prune: true
    driftInterval: 1h
  staging:
    controlPlane: http://127.0.0.1:9
    folders: [base, staging]
`,
    ),
    'staging/cluster.yaml': cluster('c-staging'),
  };
}

async function start(repo: TestRepo, state: string): Promise<RunningDaemon> {
  const started = await startOwnTestDaemon({
    state,
    env: { POOLSYNC_ADMIN_TOKEN: ADMIN_TOKEN, POOLSYNC_RECONCILE_TOKEN: RECONCILE_TOKEN },
    // The environments' control planes are in the repository; the daemon's own is unused.
    flags: { repo: repo.bare, 'control-plane': `file:${state}/unused.json`, 'max-retries': 0 },
    deps: { retryBaseMs: 3_600_000 },
  });
  cleanup.add(() => started.stop());
  return started.daemon;
}

async function status(d: RunningDaemon): Promise<DaemonStatus> {
  return (await (await fetch(`${d.url}/status`)).json()) as DaemonStatus;
}

/** Opens an environment's state between runs (the daemon opens it per run). */
async function withState<T>(path: string, fn: (cp: EmbeddedControlPlane) => Promise<T>) {
  const cp = await EmbeddedControlPlane.open({ path });
  try {
    return await fn(cp);
  } finally {
    await cp.close();
  }
}

async function reconcile(d: RunningDaemon): Promise<void> {
  const res = await fetch(`${d.url}/reconcile?wait=1`, {
    method: 'POST',
    headers: { authorization: `Bearer ${RECONCILE_TOKEN}` },
  });
  expect(res.status).toBe(200);
  // The newest run of any environment, as /status has it (found without making the whole
  // status: issue 79 item 4).
  const { lastRun } = (await res.json()) as Pick<DaemonStatus, 'lastRun'>;
  expect(lastRun).not.toBeNull();
  expect(lastRun).toEqual((await status(d)).lastRun);
}

describe('daemon with environments', () => {
  it('reconciles each environment against its own control plane; one that does not answer blocks none', async () => {
    const state = tempDir();
    const repo = new TestRepo();
    cleanup.add(() => repo.cleanup());
    const commit = repo.commit(repository(state));
    const daemon = await start(repo, state);
    await daemon.firstRun;

    const st = await status(daemon);
    const envs = st.environments!;
    expect(Object.keys(envs)).toEqual(['dev', 'prod', 'staging']);
    expect(envs.dev).toMatchObject({ outcome: 'applied', commit, policy: 'all' });
    expect(envs.prod).toMatchObject({ outcome: 'applied', commit, policy: 'safe' });
    expect(envs.staging).toMatchObject({ outcome: 'failed', ready: false });
    expect(envs.staging!.errors[0]!.message).toMatch(/127\.0\.0\.1:9/);
    expect(envs.prod!.controlPlane.url).toBe(`file:${state}/prod.json`);
    // At the top: what holds for all (not ready while staging fails), every error named.
    expect(st).toMatchObject({ ready: false, outcome: 'failed', commit });
    expect(st.errors.map((e) => e.environment)).toEqual(['staging']);
    expect((await fetch(`${daemon.url}/readyz`)).status).toBe(503);

    // Each environment's own objects, with its patch.
    const devQueue = await withState(`${state}/dev.json`, (cp) => cp.getQueue('training'));
    const prodQueue = await withState(`${state}/prod.json`, (cp) => cp.getQueue('training'));
    expect(devQueue.run_concurrency).toBe(10);
    expect(prodQueue.run_concurrency).toBe(50);
    expect(
      await withState(`${state}/prod.json`, async (cp) =>
        (await cp.listClusters()).map((c) => c.name),
      ),
    ).toEqual(['c-prod']);

    const metrics = await (await fetch(`${daemon.url}/metrics`)).text();
    expect(metrics).toMatch(
      /poolsync_reconcile_runs_total\{result="applied",environment="dev"\} 1/,
    );
    expect(metrics).toMatch(
      /poolsync_reconcile_runs_total\{result="failed",environment="staging"\} 1/,
    );
    expect(metrics).toMatch(
      /poolsync_changes_applied_total\{action="create",environment="prod"\} 3/,
    );
    expect(metrics).toMatch(/^poolsync_ready 0$/m);
    expect(metrics).toMatch(/poolsync_ready\{environment="dev"\} 1/);
    // The daemon's own series stay unlabelled.
    expect(metrics).toMatch(/poolsync_process_cpu_seconds_total \d/);

    // The dashboard: a section per environment, its ids its own.
    const page = await (await fetch(`${daemon.url}/`)).text();
    expect(page).toMatch(/<section class="environment" id="env-staging"/);
    expect(page).toContain('Environment <code>prod</code>');
    expect(page).toContain('id="env-prod-overview"');
    expect(page.match(/id="overview"/g)).toHaveLength(1);
  });

  it('drift is corrected per environment; under policy safe a prune waits for approval of that environment', async () => {
    const state = tempDir();
    const repo = new TestRepo();
    cleanup.add(() => repo.cleanup());
    repo.commit(repository(state));
    const daemon = await start(repo, state);
    await daemon.firstRun;

    await withState(`${state}/prod.json`, (cp) => setRunConcurrency(cp, 'training', 3));
    await reconcile(daemon);
    let st = await status(daemon);
    expect(st.environments!.prod!.lastDrift?.changes).toEqual([
      expect.objectContaining({ address: 'Queue/training' }),
    ]);
    expect(st.environments!.dev!.lastDrift).toBeNull();
    expect(
      (await withState(`${state}/prod.json`, (cp) => cp.getQueue('training'))).run_concurrency,
    ).toBe(50);

    // prod (prune: true, policy safe) holds the delete; dev's plan has nothing to do.
    repo.commit({ 'prod/cluster.yaml': null });
    await reconcile(daemon);
    st = await status(daemon);
    const prod = st.environments!.prod!;
    expect(prod.outcome).toBe('waiting_for_approval');
    expect(prod.waitingForApproval).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ action: 'delete', address: 'Cluster/c-prod' }),
      ]),
    );
    expect(st.environments!.dev!.outcome).toBe('in_sync');
    const fingerprint = prod.approval!.pending!.fingerprint;
    const listed = await runCli(['approve', '--daemon', daemon.url]);
    expect(listed.stdout).toContain('Environment prod: ');
    expect(listed.stdout).toContain(
      `poolsync approve ${fingerprint} --env prod --daemon ${daemon.url}`,
    );

    const approve = (body: object) =>
      fetch(`${daemon.url}/approve`, {
        method: 'POST',
        headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    const wrong = await approve({ fingerprint, approver: 'ana', environment: 'dev' });
    expect(wrong.status).toBe(409);
    // Without "environment": the environment holding that fingerprint.
    const devRun = async () => (await status(daemon)).environments!.dev!.lastRun!.id;
    const devBefore = await devRun();
    const ok = await approve({ fingerprint, approver: 'ana' });
    expect(ok.status).toBe(200);
    // The approval asked prod for a run, not dev: dev's next run is the one asked here (a run
    // the approval asked of dev would be running already, and this one would follow it).
    const asked = await fetch(`${daemon.url}/reconcile?wait=1&environment=dev`, {
      method: 'POST',
      headers: { authorization: `Bearer ${RECONCILE_TOKEN}` },
    });
    expect(asked.status).toBe(200);
    expect(await devRun()).toBe(devBefore + 1);
    await reconcile(daemon);
    st = await status(daemon);
    // The approval's own run applied it (this one found it in sync).
    expect(st.environments!.prod!.runs.map((r) => r.result)).toContain('applied');
    expect(st.environments!.prod!.approval!.lastApplied).toMatchObject({ approver: 'ana' });
    expect(
      await withState(`${state}/prod.json`, async (cp) => (await cp.listClusters()).length),
    ).toBe(0);
    expect(
      await withState(`${state}/dev.json`, async (cp) => (await cp.listClusters()).length),
    ).toBe(1);

    // Resuming one environment asks that one for a run, as approving does.
    const admin = (path: string) =>
      fetch(`${daemon.url}${path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify({ environment: 'prod' }),
      });
    expect((await admin('/suspend')).status).toBe(200);
    const devResumed = await devRun();
    expect((await admin('/resume')).status).toBe(200);
    const dev = await fetch(`${daemon.url}/reconcile?wait=1&environment=dev`, {
      method: 'POST',
      headers: { authorization: `Bearer ${RECONCILE_TOKEN}` },
    });
    expect(dev.status).toBe(200);
    expect(await devRun()).toBe(devResumed + 1);
  });

  it('changes two environments hold alike are approved by naming one: without --env the approval is refused with each one’s command, and every command printed names its environment', async () => {
    const state = tempDir();
    const repo = new TestRepo();
    cleanup.add(() => repo.cleanup());
    repo.commit(twoSafeEnvironments(state));
    const daemon = await start(repo, state);
    await daemon.firstRun;
    // Both prune the same cluster, as it is in both: the same held changes, one fingerprint.
    repo.commit({ 'base/shared.yaml': null });
    await reconcile(daemon);
    const held = (await status(daemon)).environments!;
    const fingerprint = held.dev!.approval!.pending!.fingerprint;
    expect(held.prod!.approval!.pending!.fingerprint).toBe(fingerprint);
    const cli = (...args: string[]) =>
      runInProcess([...args, '--daemon', daemon.url], { POOLSYNC_ADMIN_TOKEN: ADMIN_TOKEN });

    const [devPart, prodPart] = (await cli('status')).stdout.split('Environment prod:');
    expect(devPart).toContain(`poolsync approve ${fingerprint} --env dev --daemon ${daemon.url}\n`);
    expect(prodPart).toContain(
      `poolsync approve ${fingerprint} --env prod --daemon ${daemon.url}\n`,
    );
    // The dashboard: each environment's buttons send its name (its run #1 is its own), and its
    // command carries it.
    const page = await (await fetch(`${daemon.url}/`)).text();
    for (const name of ['dev', 'prod']) {
      expect(page).toContain(`data-fingerprint="${fingerprint}" data-environment="${name}"`);
      expect(page).toContain(`class="rollback" data-run="1" data-environment="${name}"`);
      expect(page).toContain(`poolsync approve ${fingerprint} --env ${name} --daemon`);
    }
    const unnamed = await cli('approve', fingerprint, '--as', 'ana');
    expect(unnamed.code).toBe(1);
    expect(unnamed.stderr).toBe(
      `Error: Approval refused: environments dev, prod all hold changes with fingerprint ${fingerprint}: name the one you approve (\`poolsync approve ${fingerprint} --env dev\` or \`poolsync approve ${fingerprint} --env prod\`; "environment" in POST /approve)\n`,
    );
    const named = await cli('approve', fingerprint, '--as', 'ana', '--env', 'dev');
    expect(named.stdout).toBe(
      `Approved ${fingerprint} of environment dev as ana; the daemon applies the held changes now (see ${daemon.url}/status).\n`,
    );
    // The approval's run of dev (its state is opened only after it, as the daemon holds it then).
    const after = await until('dev applied the approved changes', async () => {
      const envs = (await status(daemon)).environments!;
      return envs.dev!.lastRun?.approvedBy === 'ana' ? envs : null;
    });
    expect(after.prod!.approval!.pending!.fingerprint).toBe(fingerprint);
    const clusters = (env: string) =>
      withState(`${state}/${env}.json`, async (cp) => (await cp.listClusters()).map((c) => c.name));
    expect(await clusters('dev')).not.toContain('c-shared');
    expect(await clusters('prod')).toContain('c-shared');
  });

  it('an invalid patch makes its environment invalid, and the others still apply', async () => {
    const state = tempDir();
    const repo = new TestRepo();
    cleanup.add(() => repo.cleanup());
    repo.commit(repository(state));
    const daemon = await start(repo, state);
    await daemon.firstRun;
    repo.commit({
      'prod/patches.yaml':
        'apiVersion: poolsync/v1\nkind: Queue\nmetadata: {name: training}\nspec: {run_concurrency: -5}\n',
      'base/queue.yaml': (await import('../environments/helpers.js')).QUEUE.replace(
        'action_concurrency: 100',
        'action_concurrency: 120',
      ),
    });
    await reconcile(daemon);
    const st = await status(daemon);
    expect(st.environments!.prod!.outcome).toBe('invalid');
    expect(st.environments!.prod!.errors[0]!.location).toMatch(/^prod\/patches\.yaml:4:/);
    expect(st.environments!.dev!.outcome).toBe('applied');
    expect(
      (await withState(`${state}/dev.json`, (cp) => cp.getQueue('training'))).action_concurrency,
    ).toBe(120);
    expect(
      (await withState(`${state}/prod.json`, (cp) => cp.getQueue('training'))).action_concurrency,
    ).toBe(500);
    expect(join(state)).toBeTruthy();
  });

  it('started while the repository could not be read: runs as one control plane and says to restart', async () => {
    const state = tempDir();
    const repo = new TestRepo();
    cleanup.add(() => repo.cleanup());
    repo.commit(repository(state));
    const away = `${repo.bare}.away`;
    renameSync(repo.bare, away);
    const daemon = await start(repo, state);
    await daemon.firstRun;
    expect((await status(daemon)).errors[0]).toMatchObject({ code: 'GIT_FETCH' });
    renameSync(away, repo.bare);
    await reconcile(daemon);
    const st = await status(daemon);
    expect(st.environments).toBeUndefined();
    expect(st.outcome).toBe('invalid');
    expect(st.errors[0]!.message).toMatch(
      /declares environments \(dev, prod, staging\).*restart it to reconcile each environment/,
    );
  });
});
