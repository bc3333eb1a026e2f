/**
 * High availability as it runs in a cluster: three `poolsync daemon --leader-elect` processes
 * (the CLI in child processes) on one Kubernetes-API-compatible Lease endpoint (through
 * @kubernetes/client-node, kubeconfig at 127.0.0.1) and one control plane served over HTTP
 * (`control-plane serve`'s server in this process). Short lease timings via the options.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { EmbeddedControlPlane } from '../../src/controlplane/embedded/embedded.js';
import { startControlPlaneServer } from '../../src/controlplane/embedded/server.js';
import type { DaemonStatus } from '../../src/daemon/status.js';
import { startFakeKubeApi } from '../lease/fake-kube-api.js';
import { manifests } from './fixtures.js';
import { TestRepo, tempDir } from './helpers.js';

const ROOT = resolve(__dirname, '../..');
const LEASE_MS = 2000;
const RECONCILE_TOKEN = 'reconcile-token-ha-0123456789';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

interface Replica {
  id: string;
  child: ChildProcess;
  out: () => string;
  url: () => string | null;
  lines: () => Record<string, unknown>[];
}

function startReplica(id: string, args: string[], env: Record<string, string>): Replica {
  const child = spawn(
    process.execPath,
    [
      '--import',
      resolve(ROOT, 'node_modules/tsx/dist/esm/index.mjs'),
      resolve(ROOT, 'src/cli/main.ts'),
      'daemon',
      ...args,
      '--leader-elect',
      '--leader-election-id',
      id,
      '--leader-election-lease',
      'k8s:poolsync/poolsync-leader',
      '--leader-election-lease-duration',
      `${LEASE_MS}ms`,
      '--leader-election-renew-deadline',
      '1500ms',
      '--leader-election-retry-period',
      '200ms',
    ],
    {
      cwd: ROOT,
      env: { ...process.env, FORCE_COLOR: '0', POOLSYNC_REPO: '', POOLSYNC_WATCH: '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
  cleanups.push(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  return {
    id,
    child,
    out: () => out,
    url: () => /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out)?.[1] ?? null,
    lines: () =>
      out
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

async function until<T>(
  what: string,
  probe: () => Promise<T | null | false> | T | null | false,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function status(r: Replica): Promise<DaemonStatus | null> {
  const url = r.url();
  if (!url) return null;
  try {
    return (await (await fetch(`${url}/status`)).json()) as DaemonStatus;
  } catch {
    return null;
  }
}

const stepsDone = (r: Replica) =>
  r
    .lines()
    .filter((l) => l.msg === 'step done')
    .map((l) => `${String(l.op)} ${String(l.target)}`);

describe('daemon --leader-elect', () => {
  it('of three replicas exactly one applies; SIGKILL of the leader: another takes over within the lease duration and converges; no step runs twice', async () => {
    const kube = await startFakeKubeApi();
    cleanups.push(() => kube.close());
    const cp = await EmbeddedControlPlane.open({ path: null });
    // Count (and slow down) registrations where they land: a step run twice would show here.
    const registered = new Map<string, number>();
    const register = cp.registerCluster.bind(cp);
    cp.registerCluster = async (request) => {
      await new Promise((r) => setTimeout(r, 250));
      registered.set(request.name, (registered.get(request.name) ?? 0) + 1);
      return register(request);
    };
    const server = await startControlPlaneServer({ controlPlane: cp });
    cleanups.push(async () => {
      await server.close();
      await cp.close();
    });
    const repo = new TestRepo();
    cleanups.push(() => repo.cleanup());
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
    // Followers serve /status, /metrics, /readyz, and do not run reconciles (503 + Retry-After).
    for (const f of followers) {
      expect((await fetch(`${f.url()}/readyz`)).status).toBe(200);
      expect(await (await fetch(`${f.url()}/metrics`)).text()).toMatch(/^poolsync_leader 0$/m);
      const res = await fetch(`${f.url()}/reconcile`, {
        method: 'POST',
        headers: { authorization: `Bearer ${RECONCILE_TOKEN}` },
      });
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toBe(String(LEASE_MS / 1000));
      expect(((await res.json()) as { leader: string }).leader).toBe(leader.id);
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
});
