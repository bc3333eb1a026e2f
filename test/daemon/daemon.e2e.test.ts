/**
 * End to end, in process: a real bare Git repository in a temp dir, the daemon's real HTTP
 * server on 127.0.0.1:0, the in-memory embedded control plane, the real loader/planner/executor.
 */
import { describe, expect, it } from 'vitest';
import { cleanup } from '../support/cleanup.js';
import { executePlan } from '../../src/apply/executor.js';
import { EmbeddedControlPlane } from '../../src/controlplane/embedded/embedded.js';
import { ControlPlaneError } from '../../src/controlplane/errors.js';
import { main } from '../../src/cli/run.js';
import { memoryIo } from '../support/memory-io.js';
import type { DaemonDeps, RunningDaemon } from '../../src/daemon/daemon.js';
import { loadRepository } from '../../src/manifests/index.js';
import { acquireApplyLock, lockPathFor } from '../../src/apply/lock.js';
import type { PullRequestEvent } from '../../src/vcs/types.js';
import type { DaemonStatus, RunRecord } from '../../src/daemon/status.js';
import { githubSignature } from '../../src/daemon/webhooks.js';
import { manifests, setRunConcurrency } from './fixtures.js';
import { TestRepo, tempDir } from './helpers.js';
import { until } from '../support/until.js';
import { startTestDaemon } from './harness.js';

const GH_SECRET = 'gh-webhook-secret-0123456789';
const GL_TOKEN = 'gl-webhook-token-0123456789';
const RECONCILE_TOKEN = 'reconcile-token-0123456789';

interface Harness {
  repo: TestRepo;
  cp: EmbeddedControlPlane;
  daemon: RunningDaemon;
  logs: string[];
}

async function start(options: {
  repo?: TestRepo;
  cp?: EmbeddedControlPlane;
  policy?: 'none' | 'safe' | 'all';
  drift?: string;
  poll?: string;
  deps?: Partial<DaemonDeps>;
  state?: string;
}): Promise<Harness> {
  const repo = options.repo ?? new TestRepo();
  const h = await startTestDaemon({
    repo,
    ...(options.cp ? { cp: options.cp } : {}),
    ...(options.state ? { state: options.state } : {}),
    ...(options.deps ? { deps: options.deps } : {}),
    env: {
      POOLSYNC_GITHUB_WEBHOOK_SECRET: GH_SECRET,
      POOLSYNC_GITLAB_WEBHOOK_TOKEN: GL_TOKEN,
      POOLSYNC_RECONCILE_TOKEN: RECONCILE_TOKEN,
    },
    flags: {
      policy: options.policy ?? 'all',
      'poll-interval': options.poll ?? '1h',
      'drift-interval': options.drift ?? '1h',
    },
  });
  cleanup.add(h.stop);
  return { repo, cp: h.cp, daemon: h.daemon, logs: h.logs };
}

async function getStatus(h: Harness): Promise<DaemonStatus> {
  const res = await fetch(`${h.daemon.url}/status`);
  expect(res.status).toBe(200);
  return (await res.json()) as DaemonStatus;
}

function pushWebhook(h: Harness, body: object, secret: string | null = GH_SECRET, event = 'push') {
  const raw = JSON.stringify(body);
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'x-github-event': event,
  };
  if (secret !== null) headers['x-hub-signature-256'] = githubSignature(secret, raw);
  return fetch(`${h.daemon.url}/webhooks/github`, { method: 'POST', headers, body: raw });
}

/** Runs one reconcile after every trigger already asked for; its run. */
async function reconcileNow(h: Harness): Promise<RunRecord> {
  const res = await fetch(`${h.daemon.url}/reconcile?wait=1`, {
    method: 'POST',
    headers: { authorization: `Bearer ${RECONCILE_TOKEN}` },
  });
  expect(res.status).toBe(200);
  return ((await res.json()) as { lastRun: RunRecord }).lastRun;
}

describe('daemon end to end', () => {
  it('a signed GitHub push webhook gets the new commit applied within seconds; /status shows it', async () => {
    const repo = new TestRepo();
    const c1 = repo.commit(manifests());
    const h = await start({ repo });
    await h.daemon.firstRun;
    let st = await getStatus(h);
    expect(st).toMatchObject({ commit: c1, appliedCommit: c1, outcome: 'applied', ready: true });
    expect((await h.cp.getQueue('batch')).run_concurrency).toBe(50);
    expect((await h.cp.listClusters()).map((c) => c.name).sort()).toEqual(['prod-1', 'prod-2']);

    const c2 = repo.commit(manifests({ batchRunConcurrency: 75 }));
    const res = await pushWebhook(h, { ref: 'refs/heads/main', after: c2 });
    expect(res.status).toBe(202);
    st = await until('commit c2 applied', async () => {
      const s = await getStatus(h);
      return s.appliedCommit === c2 ? s : null;
    });
    expect(st.lastRun).toMatchObject({ result: 'applied', commit: c2, trigger: ['webhook'] });
    expect(st.lastRun!.applied.update).toBe(1);
    // What it changed, with the fields its plan changed (`poolsync history ADDRESS`).
    expect(st.lastRun!.changed).toEqual([
      { address: 'Queue/batch', action: 'update', sideEffect: false, fields: ['run_concurrency'] },
    ]);
    expect((await h.cp.getQueue('batch')).run_concurrency).toBe(75);
    expect((await fetch(`${h.daemon.url}/readyz`)).status).toBe(200);
  });

  it('/status names a commit applied only beside its run (lastRun): read at every control-plane call of the run', async () => {
    const repo = new TestRepo();
    const c1 = repo.commit(manifests());
    const embedded = await EmbeddedControlPlane.open({ path: null });
    cleanup.add(() => embedded.close());
    const seen: { afterSteps: boolean; status: DaemonStatus }[] = [];
    let daemon: RunningDaemon | null = null;
    let afterSteps = false;
    // Every call the run makes, the inventory's record and the re-read after the apply included.
    const cp = new Proxy(embedded, {
      get: (t, key) => {
        if (daemon) seen.push({ afterSteps, status: daemon.status() });
        const value: unknown = Reflect.get(t, key);
        return typeof value === 'function' ? value.bind(t) : value;
      },
    });
    const h = await start({
      repo,
      cp,
      deps: {
        pipeline: {
          executePlan: (plan, on, options) =>
            executePlan(plan, on, options).finally(() => (afterSteps = true)),
        },
      },
    });
    await h.daemon.firstRun;
    daemon = h.daemon;
    afterSteps = false;
    const c2 = repo.commit(manifests({ batchRunConcurrency: 75 }));
    await h.daemon.reconcile();
    expect(h.daemon.status()).toMatchObject({
      appliedCommit: c2,
      lastRun: { result: 'applied', commit: c2 },
    });
    // Read between the steps' end and the run's record: the run before, and its commit.
    const between = seen.filter((s) => s.afterSteps && s.status.lastRun?.commit === c1);
    expect(between.length).toBeGreaterThan(0);
    expect(between.map((s) => s.status.appliedCommit)).toEqual(between.map(() => c1));
  });

  it('a wrong or missing signature is 401: nothing fetched, nothing applied', async () => {
    const repo = new TestRepo();
    const c1 = repo.commit(manifests());
    const h = await start({ repo });
    await h.daemon.firstRun;
    const runsBefore = (await getStatus(h)).lastRun!.id;
    const c2 = repo.commit(manifests({ batchRunConcurrency: 99 }));

    expect((await pushWebhook(h, { ref: 'refs/heads/main' }, 'wrong-secret')).status).toBe(401);
    expect((await pushWebhook(h, { ref: 'refs/heads/main' }, null)).status).toBe(401);
    const gl = await fetch(`${h.daemon.url}/webhooks/gitlab`, {
      method: 'POST',
      headers: { 'x-gitlab-token': 'nope', 'x-gitlab-event': 'Push Hook' },
      body: JSON.stringify({ object_kind: 'push', ref: 'refs/heads/main' }),
    });
    expect(gl.status).toBe(401);
    expect(await getStatus(h)).toMatchObject({ commit: c1, appliedCommit: c1 });
    expect((await h.cp.getQueue('batch')).run_concurrency).toBe(50);
    // Runs are serialized: a run a refused delivery started would come before (or fold into) this one.
    const next = await reconcileNow(h);
    expect(next).toMatchObject({ id: runsBefore + 1, trigger: ['manual'], commit: c2 });
    expect(next.applied.update).toBe(1);
    const metrics = await (await fetch(`${h.daemon.url}/metrics`)).text();
    expect(metrics).toMatch(
      /poolsync_webhook_deliveries_total\{provider="github",result="unauthorized"\} 2/,
    );
    expect(metrics).toMatch(
      /poolsync_webhook_deliveries_total\{provider="gitlab",result="unauthorized"\} 1/,
    );
  });

  it('a GitLab push with the right token reconciles; ping, other branches and other events do not', async () => {
    const repo = new TestRepo();
    repo.commit(manifests());
    const h = await start({ repo });
    await h.daemon.firstRun;
    const ping = await pushWebhook(h, { zen: 'hi' }, GH_SECRET, 'ping');
    expect(ping.status).toBe(200);
    expect((await pushWebhook(h, { ref: 'refs/heads/other' })).status).toBe(202);
    expect((await pushWebhook(h, { action: 'opened' }, GH_SECRET, 'issues')).status).toBe(202);
    const c2 = repo.commit(manifests({ batchRunConcurrency: 60 }));
    const gl = await fetch(`${h.daemon.url}/webhooks/gitlab`, {
      method: 'POST',
      headers: { 'x-gitlab-token': GL_TOKEN, 'x-gitlab-event': 'Push Hook' },
      body: JSON.stringify({ object_kind: 'push', ref: 'refs/heads/main', after: c2 }),
    });
    expect(gl.status).toBe(202);
    await until('c2 applied', async () => (await getStatus(h)).appliedCommit === c2);
    expect((await h.cp.getQueue('batch')).run_concurrency).toBe(60);
  });

  it('an invalid commit is never applied: /status shows its errors with file:line:col; the next valid commit is applied', async () => {
    const repo = new TestRepo();
    const c1 = repo.commit(manifests());
    const h = await start({ repo });
    await h.daemon.firstRun;

    const bad = repo.commit(manifests({ batchRunConcurrency: 80, invalid: true }));
    await reconcileNow(h);
    let st = await getStatus(h);
    expect(st.outcome).toBe('invalid');
    expect(st.commit).toBe(bad);
    expect(st.appliedCommit).toBe(c1);
    expect(st.errors.length).toBeGreaterThan(0);
    expect(st.errors[0]).toMatchObject({
      code: 'V3',
      location: expect.stringMatching(/^queues\/broken\.yaml:\d+:\d+$/),
    });
    // The valid part of the bad commit (run_concurrency 80) was not applied either.
    expect((await h.cp.getQueue('batch')).run_concurrency).toBe(50);
    await expect(h.cp.getQueue('broken')).rejects.toThrow();

    const good = repo.commit(manifests({ batchRunConcurrency: 80 }), 'fix', { replaceAll: true });
    await reconcileNow(h);
    st = await getStatus(h);
    expect(st).toMatchObject({ outcome: 'applied', commit: good, appliedCommit: good, errors: [] });
    expect((await h.cp.getQueue('batch')).run_concurrency).toBe(80);
  });

  it('drift: a queue changed directly on the control plane is corrected on the drift timer', async () => {
    const repo = new TestRepo();
    repo.commit(manifests());
    const h = await start({ repo, drift: '200ms' });
    await h.daemon.firstRun;
    await setRunConcurrency(h.cp, 'batch', 1);
    await until(
      'drift corrected',
      async () => (await h.cp.getQueue('batch')).run_concurrency === 50,
    );
    const metrics = await (await fetch(`${h.daemon.url}/metrics`)).text();
    expect(metrics).toMatch(/poolsync_drift_detected_total [1-9]/);
    expect(h.logs.join('')).toContain('"msg":"drift: 1 object differs from the repository"');
  });

  it('drift under policy none is only reported', async () => {
    const repo = new TestRepo();
    repo.commit(manifests());
    const cp = await EmbeddedControlPlane.open({ path: null });
    // Bring the control plane in line first (policy all), then watch it under policy none.
    const seed = await start({ repo, cp });
    await seed.daemon.firstRun;
    await seed.daemon.stop();

    const h = await start({ repo, cp, policy: 'none', drift: '200ms' });
    await h.daemon.firstRun;
    expect((await getStatus(h)).outcome).toBe('in_sync');
    await setRunConcurrency(cp, 'batch', 1);
    const st = await until('drift reported', async () => {
      const s = await getStatus(h);
      return s.outcome === 'planned' ? s : null;
    });
    expect(st.summary).toMatchObject({ update: 1 });
    // A later drift run finished: it found the same drift, and it was not put back either.
    const later = await until('a later drift run', async () => {
      const s = await getStatus(h);
      return s.lastRun!.id > st.lastRun!.id ? s : null;
    });
    expect(later.lastRun!.trigger).toContain('drift');
    expect(later.summary).toMatchObject({ update: 1 });
    expect((await cp.getQueue('batch')).run_concurrency).toBe(1);
    const metrics = await (await fetch(`${h.daemon.url}/metrics`)).text();
    expect(metrics).toMatch(/poolsync_drift_detected_total [1-9]/);
    expect(metrics).toMatch(/poolsync_changes_applied_total\{action="update"\} 0/);
  });

  it('policy safe holds a queue delete (capabilities drain, queue_delete): nothing is drained or deleted', async () => {
    const repo = new TestRepo();
    repo.commit(manifests());
    const cp = await EmbeddedControlPlane.open({
      path: null,
      capabilities: {
        drain: true,
        queue_delete: true,
        cluster_move: false,
        pool_update: false,
        queue_move: false,
      },
    });
    const h = await start({ repo, cp, policy: 'safe' });
    await h.daemon.firstRun;
    const files = manifests();
    delete files['queues/batch.yaml'];
    // batch was the only Queue document: `manage:` keeps queues in the prune scope.
    files['poolsync.yaml'] += 'manage: [ClusterPool, Cluster, Queue]\n';
    repo.commit(files, 'drop batch', { replaceAll: true });
    await reconcileNow(h);
    const st = await getStatus(h);
    expect(st.outcome).toBe('waiting_for_approval');
    expect(st.waitingForApproval).toContainEqual(
      expect.objectContaining({ address: 'Queue/batch', action: 'delete' }),
    );
    expect((await cp.getQueue('batch')).state).toBe('active');
  });

  it('policy safe: a commit that deletes a cluster and changes a queue applies the queue change and holds the delete', async () => {
    const repo = new TestRepo();
    const c1 = repo.commit(manifests());
    const h = await start({ repo, policy: 'safe' });
    await h.daemon.firstRun;
    expect((await getStatus(h)).appliedCommit).toBe(c1);

    // Deletes prod-2 AND changes a queue: the queue change is applied, the delete held.
    const c2 = repo.commit(
      manifests({ clusters: ['prod-1'], batchRunConcurrency: 70 }),
      'drop prod-2',
      { replaceAll: true },
    );
    await reconcileNow(h);
    const st = await getStatus(h);
    expect(st.outcome).toBe('waiting_for_approval');
    expect(st.commit).toBe(c2);
    expect(st.appliedCommit).toBe(c1);
    expect(st.waitingForApproval).toContainEqual(
      expect.objectContaining({ address: 'Cluster/prod-2', action: 'delete' }),
    );
    expect(st.waitingForApproval).not.toContainEqual(
      expect.objectContaining({ address: 'Queue/batch' }),
    );
    expect(st.lastRun!.message).toMatch(/applied: .*held for approval/);
    expect(st.approval!.pending!.fingerprint).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect((await h.cp.listClusters()).map((c) => c.name).sort()).toEqual(['prod-1', 'prod-2']);
    expect((await h.cp.getQueue('batch')).run_concurrency).toBe(70);
    const metrics = await (await fetch(`${h.daemon.url}/metrics`)).text();
    expect(metrics).toMatch(
      new RegExp(`poolsync_waiting_for_approval_changes ${st.waitingForApproval.length}`),
    );

    // A person applies it (here: the same control plane, updated directly); the daemon reports in sync.
    await h.cp.deleteCluster('prod-2');
    await reconcileNow(h);
    expect(await getStatus(h)).toMatchObject({
      outcome: 'in_sync',
      appliedCommit: c2,
      waitingForApproval: [],
    });
  });

  it('a force-push of the branch is followed', async () => {
    const repo = new TestRepo();
    const c1 = repo.commit(manifests());
    const h = await start({ repo });
    await h.daemon.firstRun;
    repo.commit(manifests({ batchRunConcurrency: 90 }));
    await reconcileNow(h);
    expect((await h.cp.getQueue('batch')).run_concurrency).toBe(90);

    repo.resetTo(c1);
    const rewritten = repo.commit(manifests({ batchRunConcurrency: 33 }), 'rewrite', {
      force: true,
    });
    expect((await pushWebhook(h, { ref: 'refs/heads/main', after: rewritten })).status).toBe(202);
    await until(
      'rewritten commit applied',
      async () => (await getStatus(h)).appliedCommit === rewritten,
    );
    expect((await h.cp.getQueue('batch')).run_concurrency).toBe(33);
  });

  it('an unreachable remote keeps the last good state, is reported, and retried with backoff', async () => {
    const repo = new TestRepo();
    const c1 = repo.commit(manifests());
    const h = await start({ repo });
    await h.daemon.firstRun;
    const { renameSync } = await import('node:fs');
    renameSync(repo.bare, `${repo.bare}.gone`);
    await reconcileNow(h);
    const st = await getStatus(h);
    expect(st.outcome).toBe('failed');
    expect(st.appliedCommit).toBe(c1);
    expect(st.git.consecutiveFailures).toBe(1);
    expect(st.git.lastError).toMatch(/cannot fetch branch main/);
    expect(st.git.nextRetryAt).not.toBeNull();
    expect(st.errors[0]).toMatchObject({ code: 'GIT_FETCH' });
    expect((await h.cp.getQueue('batch')).run_concurrency).toBe(50);
    const metrics = await (await fetch(`${h.daemon.url}/metrics`)).text();
    expect(metrics).toMatch(/poolsync_git_fetch_failures_total 1/);
    renameSync(`${repo.bare}.gone`, repo.bare);
    await reconcileNow(h);
    expect((await getStatus(h)).git).toMatchObject({ consecutiveFailures: 0, lastError: null });
  });

  it('/metrics is Prometheus text with every daemon metric', async () => {
    const repo = new TestRepo();
    repo.commit(manifests());
    const h = await start({ repo });
    await h.daemon.firstRun;
    const res = await fetch(`${h.daemon.url}/metrics`);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    for (const name of [
      'poolsync_reconcile_runs_total',
      'poolsync_reconcile_duration_seconds_bucket',
      'poolsync_last_successful_reconcile_timestamp_seconds',
      'poolsync_changes_applied_total',
      'poolsync_drift_detected_total',
      'poolsync_blocked_changes',
      'poolsync_git_fetch_failures_total',
      'poolsync_webhook_deliveries_total',
    ]) {
      expect(text).toContain(`\n${name}`);
    }
    expect(text).toMatch(/# TYPE poolsync_reconcile_runs_total counter/);
    expect(text).toMatch(/poolsync_reconcile_runs_total\{result="applied"\} 1/);
    // pool prod + 2 clusters + queue batch (co-named queues follow their clusters).
    expect(text).toMatch(/poolsync_changes_applied_total\{action="create"\} [1-9]/);
  });

  it('triggers during a run coalesce into one follow-up run', async () => {
    const repo = new TestRepo();
    repo.commit(manifests());
    // Once armed, a run that loads the repository waits in its load until the test lets it go.
    let hold: Promise<void> | null = null;
    let release!: () => void;
    const h = await start({
      repo,
      deps: {
        pipeline: { loadRepository: async (dir, o) => (await hold, loadRepository(dir, o)) },
      },
    });
    await h.daemon.firstRun;
    const before = (await getStatus(h)).lastRun!.id;
    hold = new Promise<void>((r) => (release = r));
    repo.commit(manifests({ batchRunConcurrency: 51 }));
    // The first delivery starts a run, held in its load: the other seven arrive during it.
    const responses = await Promise.all(
      Array.from({ length: 8 }, () => pushWebhook(h, { ref: 'refs/heads/main' })),
    );
    expect(responses.every((r) => r.status === 202)).toBe(true);
    release();
    // Asked after the eight, this run ends after every run they made (or is their last one).
    await reconcileNow(h);
    expect((await h.cp.getQueue('batch')).run_concurrency).toBe(51);
    const byWebhook = h.logs
      .map((l) => JSON.parse(l) as { run?: number; trigger?: string[] })
      .filter((l) => l.run !== undefined && l.run > before && l.trigger!.includes('webhook'));
    expect(byWebhook.map((l) => l.run)).toEqual([before + 1, before + 2]);
  });

  it('POST /reconcile needs the bearer token; other endpoints answer as documented', async () => {
    const repo = new TestRepo();
    repo.commit(manifests());
    const h = await start({ repo });
    await h.daemon.firstRun;
    expect((await fetch(`${h.daemon.url}/reconcile`, { method: 'POST' })).status).toBe(401);
    expect(
      (
        await fetch(`${h.daemon.url}/reconcile`, {
          method: 'POST',
          headers: { authorization: 'Bearer nope' },
        })
      ).status,
    ).toBe(401);
    expect(
      (
        await fetch(`${h.daemon.url}/reconcile`, {
          method: 'POST',
          headers: { authorization: `Bearer ${RECONCILE_TOKEN}` },
        })
      ).status,
    ).toBe(202);
    expect((await fetch(`${h.daemon.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${h.daemon.url}/status`, { method: 'DELETE' })).status).toBe(405);
    expect((await fetch(`${h.daemon.url}/nope`)).status).toBe(404);
    const big = await fetch(`${h.daemon.url}/webhooks/github`, {
      method: 'POST',
      headers: { 'x-github-event': 'push' },
      body: 'x'.repeat(3 * 1024 * 1024),
    }).catch(() => null);
    expect(big === null || big.status === 413).toBe(true);
  });

  it('secrets never appear in logs or /status', async () => {
    const repo = new TestRepo();
    repo.commit(manifests());
    const h = await start({ repo });
    await h.daemon.firstRun;
    await pushWebhook(h, { ref: 'refs/heads/main' }, 'wrong');
    await pushWebhook(h, { ref: 'refs/heads/main' });
    await reconcileNow(h);
    const everything =
      h.logs.join('') +
      JSON.stringify(await getStatus(h)) +
      (await (await fetch(`${h.daemon.url}/metrics`)).text());
    for (const secret of [GH_SECRET, GL_TOKEN, RECONCILE_TOKEN])
      expect(everything).not.toContain(secret);
    // One log line per run, with commit, duration and summary.
    const runLines = h.logs
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((l) => 'run' in l);
    expect(runLines.length).toBeGreaterThanOrEqual(2);
    expect(runLines[0]).toMatchObject({
      commit: expect.any(String),
      durationMs: expect.any(Number),
      result: 'applied',
    });
  });

  it('drift and manual runs of an unchanged commit reuse its validated manifests; a new commit is loaded', async () => {
    const repo = new TestRepo();
    repo.commit(manifests());
    let loads = 0;
    const h = await start({
      repo,
      deps: {
        pipeline: {
          loadRepository: (dir, o) => {
            loads++;
            return loadRepository(dir, o);
          },
        },
      },
    });
    await h.daemon.firstRun;
    await reconcileNow(h);
    await h.daemon.reconcile('drift');
    expect(loads).toBe(1);
    expect((await getStatus(h)).lastRun!.phasesMs).not.toHaveProperty('load');
    repo.commit(manifests({ batchRunConcurrency: 52 }));
    await reconcileNow(h);
    expect(loads).toBe(2);
    expect((await getStatus(h)).lastRun!.phasesMs).toHaveProperty('load');
  });

  it('pull_request and merge_request events go to the injected handler (202), never trigger a reconcile', async () => {
    const repo = new TestRepo();
    repo.commit(manifests());
    const seen: PullRequestEvent[] = [];
    const h = await start({ repo, deps: { onPullRequest: async (e) => void seen.push(e) } });
    await h.daemon.firstRun;
    const before = (await getStatus(h)).lastRun!.id;
    const res = await pushWebhook(
      h,
      {
        action: 'opened',
        number: 5,
        pull_request: { number: 5, head: { sha: 'abc123', ref: 'feature' } },
        repository: { full_name: 'acme/pools' },
      },
      GH_SECRET,
      'pull_request',
    );
    expect(res.status).toBe(202);
    const gl = await fetch(`${h.daemon.url}/webhooks/gitlab`, {
      method: 'POST',
      headers: { 'x-gitlab-token': GL_TOKEN, 'x-gitlab-event': 'Merge Request Hook' },
      body: JSON.stringify({
        object_kind: 'merge_request',
        project: { path_with_namespace: 'group/pools' },
        object_attributes: {
          iid: 9,
          action: 'update',
          oldrev: '0123abc', // new commits (an update without oldrev is ignored)
          source_branch: 'f',
          last_commit: { id: 'def456' },
        },
      }),
    });
    expect(gl.status).toBe(202);
    await until('both events handled', async () => seen.length === 2);
    expect(seen).toEqual([
      {
        provider: 'github',
        repository: 'acme/pools',
        number: 5,
        headSha: 'abc123',
        headRef: 'feature',
        action: 'opened',
        merged: false,
      },
      {
        provider: 'gitlab',
        repository: 'group/pools',
        webUrl: null, // the project's page, absent from this event
        number: 9,
        headSha: 'def456',
        headRef: 'f',
        action: 'update',
      },
    ]);
    expect((await getStatus(h)).lastRun!.id).toBe(before);
  });

  it('does not apply while another apply holds the lock; applies once it is released', async () => {
    const repo = new TestRepo();
    repo.commit(manifests());
    const cp = await EmbeddedControlPlane.open({ path: null });
    const state = tempDir();
    // The lock `poolsync apply` would take on this control plane.
    const held = await acquireApplyLock(lockPathFor(`file:${state}/cp.json`));
    const h = await start({ repo, cp, state });
    await h.daemon.firstRun;
    let st = await getStatus(h);
    expect(st.outcome).toBe('failed');
    expect(st.errors[0]).toMatchObject({
      code: 'LOCKED',
      message: expect.stringMatching(/another apply is running/),
    });
    expect(await cp.listClusters()).toEqual([]);
    await held.release();
    await reconcileNow(h);
    st = await getStatus(h);
    expect(st.outcome).toBe('applied');
  });

  it('an apply whose calls got no answer says the control plane is not reachable, not the last read', async () => {
    const repo = new TestRepo();
    repo.commit(manifests());
    const cp = await EmbeddedControlPlane.open({ path: null });
    // The plan's reads are answered; every queue create then meets a control plane gone away.
    const gone =
      'POST http://127.0.0.1:9/v1/queues: cannot reach the control plane: nothing accepts connections at http://127.0.0.1:9 (ECONNREFUSED, 9 attempts)';
    cp.createQueue = () => Promise.reject(new ControlPlaneError('UNAVAILABLE', gone));
    const h = await start({ repo, cp });
    await h.daemon.firstRun;
    const s = await getStatus(h);
    expect(s.outcome).toBe('failed');
    expect(s.controlPlane).toMatchObject({
      reachable: false,
      lastError: expect.stringContaining(gone),
    });
  });

  it('/readyz is 503 until a first reconcile finished and the control plane answered', async () => {
    const repo = new TestRepo();
    repo.commit(manifests());
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const h = await start({
      repo,
      deps: {
        pipeline: { loadRepository: async (dir, o) => (await gate, loadRepository(dir, o)) },
      },
    });
    expect((await fetch(`${h.daemon.url}/readyz`)).status).toBe(503);
    expect((await fetch(`${h.daemon.url}/healthz`)).status).toBe(200);
    // The first run, held in its load: /status and `poolsync status` say it is running.
    const held = await until('the first run in its load', async () => {
      const { running } = await getStatus(h);
      return running?.phase === 'load' && running;
    });
    expect(held).toMatchObject({ id: 1, trigger: ['startup'] });
    const io = memoryIo();
    expect(await main(['status', '--daemon', h.daemon.url], io)).toBe(0);
    expect(io.out()).toMatch(
      /^Outcome: no run yet \(not ready\)\nRunning: #1 since .* \(startup\), load$/m,
    );
    release();
    await h.daemon.firstRun;
    expect((await fetch(`${h.daemon.url}/readyz`)).status).toBe(200);
    expect((await getStatus(h)).running).toBeUndefined();
  });

  it('blocked changes (Q3: a queue moved to another pool) are reported on every run and never stop the rest', async () => {
    const repo = new TestRepo();
    repo.commit(manifests());
    const h = await start({ repo });
    await h.daemon.firstRun;
    const moved = manifests({ batchRunConcurrency: 50 });
    moved['queues/batch.yaml'] = moved['queues/batch.yaml']!.replace('pool: prod', 'pool: default');
    moved['queues/extra.yaml'] = moved['queues/batch.yaml']!.replace(
      'name: batch',
      'name: extra',
    ).replace('pool: default', 'pool: prod');
    repo.commit(moved);
    await reconcileNow(h);
    await reconcileNow(h);
    const st = await getStatus(h);
    expect(st.blocked).toEqual([
      expect.objectContaining({ address: 'Queue/batch', action: 'blocked' }),
    ]);
    expect(st.blocked[0]!.reason).toBeTruthy();
    expect((await h.cp.getQueue('batch')).pool).toBe('prod');
    expect((await h.cp.getQueue('extra')).pool).toBe('prod'); // the rest was applied
    const metrics = await (await fetch(`${h.daemon.url}/metrics`)).text();
    expect(metrics).toMatch(/poolsync_blocked_changes 1/);
    const runLines = h.logs
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((l) => 'run' in l);
    expect(
      runLines
        .slice(-2)
        .every((l) => Array.isArray(l.blocked) && String(l.blocked[0]).startsWith('Queue/batch')),
    ).toBe(true);
  });
});
