/**
 * Replicas share the environments (docs/environments.md, Several replicas): three
 * `poolsync daemon --leader-elect` processes on the real kube-apiserver (scripts/kube-go.sh;
 * skipped, saying why, without it), a repository with three
 * environments, each its own control plane over HTTP. One Lease per environment: the
 * environments spread across the replicas; SIGKILL of a replica moves its environments to the
 * others, which converge them; no environment ever has two leaders, and no step runs twice.
 */
import { describe, expect, it } from 'vitest';
import { cleanup } from '../support/cleanup.js';
import type { EmbeddedControlPlane } from '../../src/controlplane/embedded/embedded.js';
import type { DaemonStatus } from '../../src/daemon/status.js';
import { kubeMissing, startRealKube } from '../lease/real/kube.js';
import { cluster, POOL, QUEUE } from '../environments/helpers.js';
import { TestRepo, tempDir } from './helpers.js';
import { servedControlPlane } from '../support/served-control-plane.js';
import { until } from '../support/until.js';
import { startReplica as startReplicaProcess, type Replica } from './replicas.js';

const ENVS = ['blue', 'green', 'red'] as const;

// A leader steps down when a renewal is not answered within the renew deadline (one took over
// 1.5 s on a loaded 2-core machine): 8 s, so only the SIGKILL moves an environment.
function startReplica(id: string, args: string[], env: Record<string, string>): Replica {
  return startReplicaProcess(id, args, env, { leaseMs: 10_000, renewDeadlineMs: 8000 });
}

/** `step done` lines: `environment op target`. */
const steps = (r: Replica): string[] =>
  r
    .lines()
    .filter((l) => l.msg === 'step done')
    .map((l) => `${String(l.environment)} ${String(l.op)} ${String(l.target)}`);

async function local(r: Replica): Promise<DaemonStatus | null> {
  const url = r.url();
  if (!url || r.child.exitCode !== null || r.child.signalCode !== null) return null;
  try {
    return (await (await fetch(`${url}/status?local=1`)).json()) as DaemonStatus;
  } catch {
    return null;
  }
}

/** Each environment's leaders as the live replicas say (two would be two appliers). */
async function leaders(replicas: Replica[]): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = Object.fromEntries(ENVS.map((e) => [e, []]));
  const all = await Promise.all(replicas.map(local));
  all.forEach((st, i) => {
    for (const [env, s] of Object.entries(st?.environments ?? {}))
      if (s.leader?.isLeader) out[env]!.push(replicas[i]!.id);
  });
  return out;
}

function repository(urls: Record<string, string>, clusters: (env: string) => string[]) {
  const files: Record<string, string> = {
    'poolsync.yaml': `apiVersion: poolsync/v1
kind: RepoConfig
environments:
${ENVS.map((e) => `  ${e}:\n    controlPlane: ${urls[e]}\n    folders: [base, ${e}]\n    policy: all\n`).join('')}`,
    'base/pool.yaml': POOL,
    'base/queue.yaml': QUEUE,
  };
  for (const e of ENVS) for (const name of clusters(e)) files[`${e}/${name}.yaml`] = cluster(name);
  return files;
}

describe.skipIf(kubeMissing !== null)('daemon --leader-elect with environments', () => {
  it('one Lease per environment: they spread over three replicas; SIGKILL of one moves its environments to the others; never two leaders, no step twice', async () => {
    const kube = await startRealKube();
    cleanup.add(() => kube.close());
    // Each environment's control plane; registrations counted (and slowed) where they land.
    const registered: Record<string, Map<string, number>> = {};
    const cps: Record<string, EmbeddedControlPlane> = {};
    const urls: Record<string, string> = {};
    for (const e of ENVS) {
      const { embedded: cp, url } = await servedControlPlane();
      const counts = new Map<string, number>();
      // Where the REST API's POST /v1/clusters lands.
      const register = cp.registeredCluster.bind(cp);
      cp.registeredCluster = async (request) => {
        await new Promise((r) => setTimeout(r, 200));
        counts.set(request.name, (counts.get(request.name) ?? 0) + 1);
        return register(request);
      };
      registered[e] = counts;
      cps[e] = cp;
      urls[e] = url;
    }
    const repo = new TestRepo();
    cleanup.add(() => repo.cleanup());
    const first = (e: string) => [`${e}-1`];
    repo.commit(repository(urls, first));

    const replicas = ['replica-a', 'replica-b', 'replica-c'].map((id) =>
      startReplica(
        id,
        [
          '--repo',
          repo.bare,
          '--parallelism',
          '1',
          '--listen',
          '127.0.0.1:0',
          '--state-dir',
          `${tempDir()}/daemon`,
          '--poll-interval',
          '300ms',
          '--log-format',
          'json',
        ],
        { KUBECONFIG: kube.kubeconfig },
      ),
    );
    // Sampled all along: an environment led by two replicas at once would be two appliers.
    const doubled: string[] = [];
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        for (const [env, ids] of Object.entries(await leaders(replicas)))
          if (ids.length > 1) doubled.push(`${env}: ${ids.join(', ')}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    cleanup.add(async () => {
      sampling = false;
      await sampler;
    });

    await until('all listening', () => replicas.every((r) => r.url() !== null), 90_000);
    const before = await until(
      'every environment led and applied',
      async () => {
        const led = await leaders(replicas);
        if (!ENVS.every((e) => led[e]!.length === 1)) return null;
        for (const e of ENVS) if ((await cps[e]!.listClusters()).length !== 1) return null;
        return led;
      },
      90_000,
    );
    const leaderOf = (e: string) => before[e]![0]!;
    // They spread: the Leases are not all one replica's.
    expect(new Set(ENVS.map(leaderOf)).size).toBeGreaterThan(1);
    // Any replica's /status shows every environment as its leader says (its runs included),
    // once it has seen where each leader is (a candidate reads the Leases it does not lead).
    for (const r of replicas)
      await until(`${r.id}'s /status showing every environment from its leader`, async () => {
        const st = (await (await fetch(`${r.url()}/status`)).json()) as DaemonStatus;
        return ENVS.every((e) => {
          const s = st.environments![e]!;
          return s.leader?.isLeader && s.leader.identity === leaderOf(e) && s.runs.length > 0;
        });
      });
    // Each environment's steps were run by its leader only.
    for (const r of replicas)
      for (const s of steps(r)) expect(leaderOf(s.split(' ')[0]!)).toBe(r.id);

    // A commit with slow registrations everywhere; a replica dies while applying.
    const second = (e: string) => [`${e}-1`, `${e}-2`, `${e}-3`, `${e}-4`, `${e}-5`];
    repo.commit(repository(urls, second));
    const victim = replicas.find((r) => ENVS.some((e) => leaderOf(e) === r.id))!;
    const itsEnvs = ENVS.filter((e) => leaderOf(e) === victim.id);
    await until('the victim applying the second commit', () =>
      steps(victim).some((s) => / Cluster\/\w+-[2-5]$/.test(s)),
    );
    victim.child.kill('SIGKILL');
    const rest = replicas.filter((r) => r !== victim);
    const after = await until('its environments taken over by the others', async () => {
      const led = await leaders(rest);
      return itsEnvs.every((e) => led[e]!.length === 1) ? led : null;
    });
    for (const e of itsEnvs) expect(after[e]![0]).not.toBe(victim.id);
    await until(
      'every environment converged on the second commit',
      async () => {
        for (const e of ENVS) {
          const names = (await cps[e]!.listClusters()).map((c) => c.name).sort();
          if (names.join() !== second(e).join()) return false;
        }
        return true;
      },
      90_000,
    );
    sampling = false;
    await sampler;
    expect(doubled).toEqual([]);
    // No registration reached a control plane twice (no step ran twice).
    for (const e of ENVS)
      expect(Object.fromEntries(registered[e]!)).toEqual(
        Object.fromEntries(second(e).map((n) => [n, 1])),
      );
  }, 240_000);
});
