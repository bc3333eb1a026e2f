/**
 * High availability as it runs in a cluster: three `poolsync daemon --leader-elect` processes
 * (the CLI in child processes) on one Kubernetes-API-compatible Lease endpoint (through
 * @kubernetes/client-node, kubeconfig at 127.0.0.1) and one control plane served over HTTP
 * (`control-plane serve`'s server in this process). Short lease timings via the options.
 */
import { describe, expect, it } from 'vitest';
import { cleanup } from '../support/cleanup.js';
import { EmbeddedControlPlane } from '../../src/controlplane/embedded/embedded.js';
import { startControlPlaneServer } from '../../src/controlplane/embedded/server.js';
import type { DaemonStatus } from '../../src/daemon/status.js';
import { startFakeKubeApi } from '../support/fake-kube-api.js';
import { manifests } from './fixtures.js';
import { TestRepo, tempDir } from './helpers.js';
import { githubSignature } from '../../src/daemon/webhooks.js';
import { runCli } from '../support/cli.js';
import { until } from '../support/until.js';
import { startReplica as startReplicaProcess, type Replica } from './replicas.js';

const LEASE_MS = 2000;
const RECONCILE_TOKEN = 'reconcile-token-ha-0123456789';
const ADMIN_TOKEN = 'admin-token-ha-0123456789';
const WEBHOOK_SECRET = 'webhook-secret-ha-0123456789';

function startReplica(id: string, args: string[], env: Record<string, string>): Replica {
  return startReplicaProcess(id, args, env, { leaseMs: LEASE_MS, renewDeadlineMs: 1500 });
}

async function status(r: Replica): Promise<DaemonStatus | null> {
  const url = r.url();
  if (!url) return null;
  try {
    // Each replica's own (a follower's /status is the leader's).
    return (await (await fetch(`${url}/status?local=1`)).json()) as DaemonStatus;
  } catch {
    return null;
  }
}

/** The test Lease server, `cp` served over HTTP, and a config repository; closed after the test. */
async function cluster(cp: EmbeddedControlPlane) {
  const kube = await startFakeKubeApi();
  cleanup.add(() => kube.close());
  const server = await startControlPlaneServer({ controlPlane: cp });
  cleanup.add(async () => {
    await server.close();
    await cp.close();
  });
  const repo = new TestRepo();
  cleanup.add(() => repo.cleanup());
  return { kube, server, repo };
}

const stepsDone = (r: Replica) =>
  r
    .lines()
    .filter((l) => l.msg === 'step done')
    .map((l) => `${String(l.op)} ${String(l.target)}`);

describe('daemon --leader-elect', () => {
  it('of three replicas exactly one applies; SIGKILL of the leader: another takes over within the lease duration and converges; no step runs twice', async () => {
    const cp = await EmbeddedControlPlane.open({ path: null });
    // Count (and slow down) registrations where they land: a step run twice would show here.
    const registered = new Map<string, number>();
    const register = cp.registerCluster.bind(cp);
    cp.registerCluster = async (request) => {
      await new Promise((r) => setTimeout(r, 250));
      registered.set(request.name, (registered.get(request.name) ?? 0) + 1);
      return register(request);
    };
    const { kube, server, repo } = await cluster(cp);
    const first = ['prod-1', 'prod-2', 'prod-3'];
    repo.commit(manifests({ clusters: first }));

    const replicas = ['replica-a', 'replica-b', 'replica-c'].map((id) => {
      const state = tempDir();
      return startReplica(
        id,
        [
          '--repo',
          repo.bare,
          '--control-plane',
          server.url,
          '--policy',
          'all',
          '--parallelism',
          '1',
          '--listen',
          '127.0.0.1:0',
          '--state-dir',
          `${state}/daemon`,
          '--poll-interval',
          '300ms',
          '--log-format',
          'json',
        ],
        { KUBECONFIG: kube.kubeconfig, POOLSYNC_RECONCILE_TOKEN: RECONCILE_TOKEN },
      );
    });
    await until('all listening', () => replicas.every((r) => r.url() !== null), 60_000);
    const leader = await until(
      'the first commit applied by one leader',
      async () => {
        const all = await Promise.all(replicas.map(status));
        if (all.some((s) => s === null)) return null;
        const leading = replicas.filter((_, i) => all[i]!.leader?.isLeader);
        if (leading.length !== 1) return null;
        return all.every((s) => s!.leader?.leader === leading[0]!.id) &&
          (await cp.listClusters()).length === first.length
          ? leading[0]!
          : null;
      },
      60_000,
    );
    const followers = replicas.filter((r) => r !== leader);
    // Exactly one applied: only the leader ran steps, each registration reached the control plane once.
    expect(stepsDone(leader).length).toBeGreaterThan(0);
    for (const f of followers) expect(stepsDone(f)).toEqual([]);
    expect([...registered.values()].every((n) => n === 1)).toBe(true);
    // Followers serve /status, /metrics, /readyz, and hand a reconcile to the leader.
    for (const f of followers) {
      expect((await fetch(`${f.url()}/readyz`)).status).toBe(200);
      expect(await (await fetch(`${f.url()}/metrics`)).text()).toMatch(/^poolsync_leader 0$/m);
      const res = await fetch(`${f.url()}/reconcile`, {
        method: 'POST',
        headers: { authorization: `Bearer ${RECONCILE_TOKEN}` },
      });
      expect(res.status).toBe(202);
      expect(res.headers.get('x-poolsync-replica')).toBe(leader.id);
    }

    // A commit with several slow registrations; the leader dies in the middle of applying it.
    const second = [...first, 'prod-4', 'prod-5', 'prod-6', 'prod-7', 'prod-8', 'prod-9'];
    repo.commit(manifests({ clusters: second, batchRunConcurrency: 77 }));
    await until('the leader applying the second commit', () =>
      stepsDone(leader).some((s) => /prod-[4-9]/.test(s)),
    );
    leader.child.kill('SIGKILL');
    const killedAt = Date.now();
    const next = await until(
      'a new leader',
      async () => {
        for (const f of followers) if ((await status(f))?.leader?.isLeader) return f;
        return null;
      },
      10_000,
    );
    const takeover = Date.now() - killedAt;
    if (process.env.POOLSYNC_TEST_TIMINGS)
      process.stderr.write(`takeover after SIGKILL: ${takeover} ms\n`);
    // At most the lease duration plus a retry period or two (and this probe's polling).
    expect(takeover).toBeLessThan(LEASE_MS + 1500);
    await until('converged on the second commit', async () => {
      const names = (await cp.listClusters()).map((c) => c.name).sort();
      return (
        names.join() === [...second].sort().join() &&
        (await cp.getQueue('batch')).run_concurrency === 77
      );
    });
    const done = await until('the new leader reports applied', async () => {
      const s = await status(next);
      return s?.outcome === 'applied' || s?.outcome === 'in_sync' ? s : null;
    });
    expect(done.leader!.leader).toBe(next.id);
    // No step ran twice: every registration reached the control plane once, and no step the
    // old leader finished was run again by the new one.
    expect(Object.fromEntries(registered)).toEqual(Object.fromEntries(second.map((n) => [n, 1])));
    const byOld = new Set(stepsDone(leader));
    expect(stepsDone(next).filter((s) => byOld.has(s) && /prod-[4-9]/.test(s))).toEqual([]);
    expect(next.out()).toContain('became the leader');
  }, 180_000);

  it('two replicas: a follower hands pushes, /reconcile, /approve and `poolsync approve` to the leader; readiness, /status and poolsync_ready agree; no listener leak', async () => {
    const cp = await EmbeddedControlPlane.open({ path: null });
    const { kube, server, repo } = await cluster(cp);
    repo.commit(manifests({ clusters: ['prod-1', 'prod-2'] }));
    const env = {
      KUBECONFIG: kube.kubeconfig,
      POOLSYNC_RECONCILE_TOKEN: RECONCILE_TOKEN,
      POOLSYNC_ADMIN_TOKEN: ADMIN_TOKEN,
      POOLSYNC_GITHUB_WEBHOOK_SECRET: WEBHOOK_SECRET,
    };
    const replicas = ['replica-a', 'replica-b'].map((id) =>
      startReplica(
        id,
        [
          '--repo',
          repo.bare,
          '--control-plane',
          server.url,
          '--policy',
          'safe',
          '--listen',
          '127.0.0.1:0',
          '--state-dir',
          `${tempDir()}/daemon`,
          // Only webhooks bring the leader new commits: what reaches the follower must be handed on.
          '--poll-interval',
          '1h',
          '--log-format',
          'json',
        ],
        env,
      ),
    );
    await until('both listening', () => replicas.every((r) => r.url() !== null), 60_000);
    const local = async (r: Replica) =>
      (await (await fetch(`${r.url()}/status?local=1`)).json()) as DaemonStatus;
    const [leader, follower] = await until(
      'a leader, known to the follower with its address',
      async () => {
        const all = await Promise.all(replicas.map(local));
        const i = all.findIndex((st) => st.leader?.isLeader);
        if (i < 0 || all[i]!.outcome !== 'applied') return null;
        const f = all[1 - i]!;
        return f.leader?.leader === replicas[i]!.id && f.leader.leaderAddress
          ? [replicas[i]!, replicas[1 - i]!]
          : null;
      },
      60_000,
    );
    const f = follower!.url()!;
    const mine = await local(follower!);
    expect(mine.leader!.leaderAddress).toBe(leader!.url());
    // Readiness agrees everywhere on the follower.
    expect((await fetch(`${f}/readyz`)).status).toBe(200);
    expect(mine.ready).toBe(true);
    expect(await (await fetch(`${f}/metrics`)).text()).toMatch(/^poolsync_ready 1$/m);
    // /status through the follower is the leader's.
    const through = await fetch(`${f}/status`);
    expect(through.headers.get('x-poolsync-replica')).toBe(leader!.id);
    expect(((await through.json()) as DaemonStatus).leader!.isLeader).toBe(true);

    // A push that reaches the follower: a delete, held by policy safe on the leader.
    const head = repo.commit({ 'clusters/prod-2.yaml': null });
    const payload = JSON.stringify({ ref: 'refs/heads/main', after: head });
    const pushed = await fetch(`${f}/webhooks/github`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-github-event': 'push',
        'x-hub-signature-256': githubSignature(WEBHOOK_SECRET, payload),
      },
      body: payload,
    });
    expect(pushed.status).toBe(202);
    expect(pushed.headers.get('x-poolsync-replica')).toBe(leader!.id);
    const held = await until('the leader holds the delete', async () => {
      const st = await local(leader!);
      return st.approval?.pending ?? null;
    });
    expect(held.changes.map((c) => `${c.action} ${c.address}`)).toContain('delete Cluster/prod-2');
    // The follower's dashboard shows the leader's state: its held delete, approvable from here.
    const page = await (await fetch(`${f}/`)).text();
    expect(page).toContain(`Served by <code>${follower!.id}</code>, a follower`);
    expect(page).toContain(held.fingerprint);
    expect(page).toMatch(/delete.{0,80}Cluster\/prod-2/s);

    // `poolsync approve` against the follower: the leader's truth, never "nothing waiting".
    const cli = (...args: string[]) =>
      runCli(['approve', ...args, '--daemon', f], { POOLSYNC_ADMIN_TOKEN: ADMIN_TOKEN });
    const shown = await cli();
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout).toContain('delete Cluster/prod-2');
    expect(shown.stdout).not.toContain('Nothing is waiting');
    const approved = await cli(held.fingerprint, '--as', 'alice');
    expect(approved.code, approved.stderr).toBe(0);
    expect(approved.stdout).toMatch(/^Approved sha256:/);
    await until('the approved delete applied by the leader', async () =>
      (await cp.listClusters()).every((c) => c.name !== 'prod-2'),
    );
    // /reconcile?wait=1 through the follower waits for the leader's run.
    const waited = await fetch(`${f}/reconcile?wait=1`, {
      method: 'POST',
      headers: { authorization: `Bearer ${RECONCILE_TOKEN}` },
    });
    expect(waited.status).toBe(200);
    expect(((await waited.json()) as { lastRun: { result: string } }).lastRun.result).toMatch(
      /^(in_sync|applied)$/,
    );
    expect(stepsDone(follower!)).toEqual([]);
    // Renewals every 200 ms for seconds now: one abort listener each used to pile up.
    await until(
      'a dozen renewals',
      () => kube.writes.filter((w) => w.holder === leader!.id && w.status === 200).length > 15,
    );
    for (const r of replicas) expect(r.out()).not.toMatch(/MaxListenersExceededWarning/);
  }, 180_000);
});
