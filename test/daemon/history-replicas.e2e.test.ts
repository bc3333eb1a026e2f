/**
 * The run history outlasts a change of replica (issue 76 item 4; docs/daemon.md#rollback):
 * daemons sharing a Lease keep a compact copy of their kept runs beside it (`<lease>-history`),
 * so a replica with a state folder of its own that takes over lists the deployments the
 * previous one made (`poolsync history`, `history ADDRESS`) and numbers its runs after them; a
 * write whose term has ended is not sent, and a run recorded after its term ended never keeps a
 * number the next leader gave another run. In process: the daemons' HTTP servers, the Union
 * stand-in, real Git and the fake Kubernetes API (test/support/fake-kube-api.ts).
 */
import { rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { history, rollback } from '../../src/cli/commands/daemon-client.js';
import { ConfigMapValue } from '../../src/lease/k8s-lease.js';
import { withSharedHistory } from '../../src/daemon/shared-history.js';
import { findKeptRun, type KeptHistory } from '../../src/daemon/status.js';
import { loadRepository } from '../../src/manifests/index.js';
import { executePlan } from '../../src/apply/executor.js';
import type { ControlPlane } from '../../src/controlplane/types.js';
import type { Pipeline } from '../../src/daemon/stages/context.js';
import { cleanup } from '../support/cleanup.js';
import { memoryIo } from '../support/memory-io.js';
import { startFakeKubeApi, type FakeKubeApi } from '../support/fake-kube-api.js';
import { apiKey, startUnionServer, type UnionServer } from '../controlplane/union/helpers.js';
import { until } from '../support/until.js';
import { startOwnTestDaemon } from './harness.js';
import { setRunConcurrency } from './fixtures.js';
import { TestRepo, tempDir } from './helpers.js';

const ADMIN = 'admin-token-history-replicas-0123456789';
const COPY = 'poolsync/apply-lock-history';
let s: UnionServer;
let kube: FakeKubeApi;
beforeAll(async () => {
  s = await startUnionServer();
  kube = await startFakeKubeApi();
});
afterAll(async () => {
  await s.close();
  await kube.close();
  await rm(dirname(kube.kubeconfig), { recursive: true, force: true });
});

const queue = (name: string, rc: number) => ({
  [`queues/${name}.yaml`]: `apiVersion: poolsync/v1\nkind: Queue\nmetadata:\n  name: ${name}\nspec:\n  pool: default\n  clusters: ["c1"]\n  run_concurrency: ${rc}\n  action_concurrency: 10\n`,
});

/** Cluster c1 (registered once on the shared control plane) and the queues, committed as A. */
async function repoWithQueues(...names: string[]): Promise<TestRepo> {
  if (!(await s.embedded.listClusters()).some((c) => c.name === 'c1'))
    await s.embedded.registerCluster({ name: 'c1' });
  const repo = new TestRepo();
  cleanup.add(() => repo.cleanup());
  const files: Record<string, string> = {
    'poolsync.yaml': 'apiVersion: poolsync/v1\nkind: RepoConfig\nprune: false\n',
    'cluster.yaml':
      'apiVersion: poolsync/v1\nkind: Cluster\nmetadata:\n  name: c1\nspec:\n  pool: default\n  enabled: true\n',
  };
  for (const name of names) Object.assign(files, queue(name, 3));
  repo.commit(files, 'A');
  return repo;
}

function kubeConfig(): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(kube.kubeconfig);
  return kc;
}

async function replica(repo: TestRepo) {
  const h = await startOwnTestDaemon({
    state: tempDir(),
    flags: { repo: repo.bare, 'control-plane': s.url('connect'), lock: 'k8s:poolsync/apply-lock' },
    env: { POOLSYNC_ADMIN_TOKEN: ADMIN, POOLSYNC_UNION_API_KEY: apiKey(s.host) },
    logLevel: 'silent',
    deps: { kubeConfig: kubeConfig() },
  });
  cleanup.add(h.stop);
  await h.daemon.firstRun;
  return h;
}

/**
 * A replica electing a leader with the others on Lease `poolsync/<lease>`; every run loads the
 * commit (no loaded commit reused), after `gate()` (a run held in flight while the test moves
 * the Lease).
 */
async function elected(
  repo: TestRepo,
  identity: string,
  gate: () => Promise<void>,
  lease = 'takeover',
  pipeline: Partial<Pipeline> = {},
) {
  const h = await startOwnTestDaemon({
    state: tempDir(),
    flags: {
      repo: repo.bare,
      'control-plane': s.url('connect'),
      'leader-elect': true,
      'leader-election-id': identity,
      'leader-election-lease': `k8s:poolsync/${lease}`,
      'leader-election-lease-duration': '6s',
      'leader-election-renew-deadline': '5s',
      'leader-election-retry-period': '200ms',
    },
    env: {
      POOLSYNC_ADMIN_TOKEN: ADMIN,
      POOLSYNC_UNION_API_KEY: apiKey(s.host),
      POOLSYNC_CACHE_OFF: 'loaded',
    },
    logLevel: 'silent',
    deps: {
      kubeConfig: kubeConfig(),
      pipeline: {
        loadRepository: async (dir, o) => (await gate(), loadRepository(dir, o)),
        ...pipeline,
      },
    },
  });
  cleanup.add(h.stop);
  return h;
}

/** The Lease handed to `holder` behind its holder's back, as a takeover after a pause looks. */
async function handLease(name: string, holder: string): Promise<void> {
  const path = `${kube.url}/apis/coordination.k8s.io/v1/namespaces/poolsync/leases/${name}`;
  const auth = { authorization: `Bearer ${kube.adminToken}` };
  // Read-modify-write, again on 409: the holder may renew it between the read and the write.
  for (let attempt = 1; ; attempt++) {
    const lease = (await (await fetch(path, { headers: auth })).json()) as {
      spec: Record<string, unknown>;
    };
    const now = new Date().toISOString().replace(/Z$/, '000Z');
    lease.spec = { ...lease.spec, holderIdentity: holder, acquireTime: now, renewTime: now };
    const put = await fetch(path, {
      method: 'PUT',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify(lease),
    });
    if (put.status === 409 && attempt < 10) continue;
    expect(put.status).toBe(200);
    return;
  }
}

async function historyOf(url: string, run?: string | number): Promise<string> {
  const io = memoryIo();
  const args = {
    daemon: url,
    output: 'text' as const,
    wait: false,
    ...(run !== undefined ? { run } : {}),
  };
  expect(await history(args, io)).toBe(0);
  return io.out();
}

describe('the run history with several replicas', { timeout: 120_000 }, () => {
  it('a replica that takes over with its own state folder lists the deployments of the one before', async () => {
    const repo = await repoWithQueues('critical', 'web');
    const a = await replica(repo);
    const first = a.daemon.status().lastRun!;
    expect(first.result).toBe('applied');
    repo.commit(queue('critical', 8), 'B');
    await a.daemon.reconcile('webhook');
    const second = a.daemon.status().lastRun!;
    expect(second).toMatchObject({ result: 'applied', changed: [{ address: 'Queue/critical' }] });
    // The copy: a's runs, each without its plan.
    const copy = JSON.parse(kube.configMaps.get(COPY)!.data!['history.json']!) as KeptHistory;
    expect(copy.runs.map((r) => [r.id, r.plan, r.planElsewhere])).toEqual([
      [second.id, null, true],
      [first.id, null, true],
    ]);
    await a.stop();

    // Another replica, a state folder of its own: a's runs are in its history, its own after them.
    const b = await replica(repo);
    const runs = b.daemon.status().runs;
    expect(runs.map((r) => [r.id, r.result])).toEqual([
      [second.id + 1, 'in_sync'],
      [second.id, 'applied'],
      [first.id, 'applied'],
    ]);
    const listed = await historyOf(b.daemon.url);
    expect(listed).toContain(`#${second.id}`);
    expect(listed).toContain(`#${first.id}`);
    // History per object: exactly a's two runs that changed the queue.
    const critical = await historyOf(b.daemon.url, 'Queue/critical');
    expect(critical).toMatch(new RegExp(`#${second.id}\\b[^\\n]*update`));
    expect(critical).toMatch(new RegExp(`#${first.id}\\b[^\\n]*create`));
    expect(critical).not.toContain(`#${second.id + 1}`);
    const web = await historyOf(b.daemon.url, 'Queue/web');
    expect(web).toContain(`#${first.id}`);
    expect(web).not.toContain(`#${second.id}`);
    // The run's plan is with a: said, not shown as a run that never planned.
    expect(await historyOf(b.daemon.url, second.id)).toContain('Plan kept by another replica');
    // b's own run joined the copy.
    const after = JSON.parse(kube.configMaps.get(COPY)!.data!['history.json']!) as KeptHistory;
    expect(after.runs.map((r) => r.id)).toEqual([second.id + 1, second.id, first.id]);
    // And b rolls back to a's first deployment, its commit fetched again.
    const io = memoryIo({ POOLSYNC_ADMIN_TOKEN: ADMIN });
    const back = { daemon: b.daemon.url, output: 'text' as const, wait: true, run: first.id };
    expect(await rollback(back, io)).toBe(0);
    expect((await s.embedded.getQueue('critical')).run_concurrency).toBe(3);
    await b.stop();
  });

  it('the first run of a replica that takes over counts the drift it puts back, measured from the last leader’s apply', async () => {
    const repo = await repoWithQueues('handled');
    const a = await replica(repo);
    const applied = a.daemon.status().lastRun!;
    expect(applied).toMatchObject({ result: 'applied', changed: [{ address: 'Queue/handled' }] });
    await a.stop();
    await setRunConcurrency(s.embedded, 'handled', 9);

    const b = await replica(repo);
    expect(b.daemon.status()).toMatchObject({
      lastRun: { result: 'applied', commit: applied.commit },
      lastDrift: {
        commit: applied.commit,
        changes: [{ address: 'Queue/handled', action: 'update', corrected: true }],
      },
    });
    expect((await s.embedded.getQueue('handled')).run_concurrency).toBe(3);
    await b.stop();
  });

  it('a write whose term has ended is not sent: the copy stays as the new leader wrote it', async () => {
    const place = new ConfigMapValue(
      kubeConfig(),
      { namespace: 'poolsync', name: 'deposed-history' },
      'history.json',
      'test',
    );
    const saved: KeptHistory[] = [];
    const local = { kept: null, save: async (h: KeptHistory) => void saved.push(h) };
    const shared = withSharedHistory(local, place, 50, () => ({ maxAgeMs: 0, now: Date.now() }));
    const leader = new AbortController();
    const run = (id: number) =>
      ({
        ...JSON.parse(JSON.stringify(copyRun)),
        id,
        finishedAt: new Date(id).toISOString(),
      }) as KeptHistory['runs'][number];
    const copyRun = {
      id: 0,
      trigger: ['poll'],
      startedAt: '2026-11-26T10:00:00.000Z',
      finishedAt: '2026-11-26T10:00:00.000Z',
      durationMs: 1,
      result: 'applied',
      commit: 'b'.repeat(40),
      message: 'applied',
      applied: {},
      changed: [{ address: 'Queue/critical', action: 'update', sideEffect: false }],
      changedTotal: 1,
      phasesMs: {},
      plan: null,
      planChangesOmitted: 0,
      drift: null,
    };
    await shared.save({ runs: [run(7)], lastDrift: null }, leader.signal);
    const written = kube.configMaps.get('poolsync/deposed-history')!.data!['history.json'];
    // The term ends (another replica leads now): its next run's record stays in its own folder.
    leader.abort(new Error('leadership lost'));
    await shared.save({ runs: [run(8), run(7)], lastDrift: null }, leader.signal);
    expect(saved).toHaveLength(2);
    expect(kube.configMaps.get('poolsync/deposed-history')!.data!['history.json']).toBe(written);
    // Even called directly, the write is refused before anything is sent.
    await expect(place.update(() => 'x', leader.signal)).rejects.toThrow('leadership lost');
    expect(kube.configMaps.get('poolsync/deposed-history')!.data!['history.json']).toBe(written);
    expect(await shared.shared!(new AbortController().signal)).toMatchObject({
      runs: [{ id: 7 }],
    });
  });
  it('a run recorded after its term ended never keeps a number the next leader gave another run', async () => {
    const repo = await repoWithQueues('takeover');
    let held: Promise<void> | null = null;
    let release = () => {};
    const a = await elected(repo, 'replica-a', () => held ?? Promise.resolve());
    await a.daemon.firstRun;
    const b = await elected(repo, 'replica-b', () => Promise.resolve());
    const first = a.daemon.status().lastRun!;
    expect(first.result).toBe('applied');

    // a's next run is held in flight (a stalled leader) while the Lease passes to b.
    held = new Promise<void>((r) => (release = r));
    const inFlight = a.daemon.reconcile('manual');
    const deposed = await until('a run of a held in its load', () => {
      const { running } = a.daemon.status();
      return running?.phase.startsWith('load') && running;
    });
    await handLease('takeover', 'replica-b');
    const taken = await until('b leading and its first run recorded', async () => {
      const st = (await (await fetch(`${b.daemon.url}/status?local=1`)).json()) as {
        lastRun: KeptHistory['runs'][number] | null;
      };
      return st.lastRun?.trigger.includes('leader') && st.lastRun;
    });
    // b numbers after the copy, which a's run in flight never reached: the same number.
    expect(taken.id).toBe(deposed.id);
    release();
    await inFlight;
    expect(a.daemon.status().lastRun).toMatchObject({
      id: deposed.id,
      result: 'failed',
      message: expect.stringContaining('stopped leading'),
    });

    // b goes; a leads again and joins the copy: the number is b's run's, a's run keeps its
    // record under the next one free.
    await b.stop();
    await until('a leading again, its run recorded', () => {
      const last = a.daemon.status().lastRun!;
      return last.trigger.includes('leader') && last.startedAt > taken.startedAt;
    });
    const runs = a.daemon.status().runs;
    const ids = runs.flatMap((r) =>
      Array.from({ length: (r.repeats?.lastId ?? r.id) - r.id + 1 }, (_, i) => r.id + i),
    );
    expect(new Set(ids).size).toBe(ids.length);
    expect(findKeptRun(runs, taken.id)).toMatchObject({
      startedAt: taken.startedAt,
      trigger: taken.trigger,
      result: taken.result,
    });
    const renumbered = runs.find((r) => r.startedAt === deposed.startedAt)!;
    expect(renumbered).toMatchObject({ result: 'failed' });
    expect(renumbered.id).toBeGreaterThan(taken.id);
    expect(findKeptRun(runs, first.id)?.startedAt).toBe(first.startedAt);
    // Each run names its term's place, which orders the runs (not their clocks): a's first term,
    // b's, a's again; the renumbered run stays in a's first.
    const again = a.daemon.status().lastRun!;
    expect([first.term, renumbered.term, taken.term, again.term]).toEqual([1, 1, 2, 3]);
    // `poolsync history N` names b's run; the copy beside the Lease holds both, each once.
    const shown = await historyOf(a.daemon.url, taken.id);
    expect(taken.result).toBe('in_sync');
    expect(shown).toMatch(new RegExp(`^#${taken.id} in sync .*\\(leader, `));
    expect(shown).not.toContain('stopped leading');
    // Written after the run's record (/status): read once a's newest run is in it.
    const copy = await until('the copy written by a', () => {
      const text = kube.configMaps.get('poolsync/takeover-history')!.data!['history.json']!;
      const kept = JSON.parse(text) as KeptHistory;
      return kept.runs[0]?.startedAt === runs[0]!.startedAt && kept;
    });
    const copied = copy.runs.map((r) => [r.id, r.startedAt]);
    expect(copied).toContainEqual([taken.id, taken.startedAt]);
    expect(copied).toContainEqual([renumbered.id, deposed.startedAt]);
    expect(new Set(copy.runs.map((r) => r.id)).size).toBe(copy.runs.length);
  });

  it('a run whose term ended mid-apply keeps what it applied in its replica’s record; the next leader’s line says a term may have ended', async () => {
    const repo = await repoWithQueues('ended-done', 'ended-held');
    // a's update of `ended-held` waits here until let go: a leader stalled mid-apply.
    let held: Promise<void> | null = null;
    let reached = () => {};
    let release = () => {};
    // a's update of `ended-done` answered: its step is done in a's run, not only landed.
    let answered = () => {};
    const bound = <T extends object>(t: T, k: string | symbol): unknown => {
      const value: unknown = Reflect.get(t, k);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(t) : value;
    };
    const holding = (cp: ControlPlane): ControlPlane => {
      const queues = new Proxy(cp.queues!, {
        get: (t, k) =>
          k !== 'updateQueue'
            ? bound(t, k)
            : async (name: string, spec: Parameters<typeof t.updateQueue>[1]) => {
                if (name === 'ended-held' && held) await (reached(), held);
                const answer = await t.updateQueue(name, spec);
                if (name === 'ended-done') answered();
                return answer;
              },
      });
      return new Proxy(cp, { get: (t, k) => (k === 'queues' ? queues : bound(t, k)) });
    };
    const a = await elected(repo, 'replica-a', () => Promise.resolve(), 'term-ended', {
      executePlan: (plan, cp, o) => executePlan(plan, holding(cp), o),
    });
    await a.daemon.firstRun;
    const b = await elected(repo, 'replica-b', () => Promise.resolve(), 'term-ended');

    held = new Promise<void>((r) => (release = r));
    const atHeld = new Promise<void>((r) => (reached = r));
    repo.commit({ ...queue('ended-done', 8), ...queue('ended-held', 8) }, 'B');
    const done = new Promise<void>((r) => (answered = r));
    const inFlight = a.daemon.reconcile('manual');
    // Its answer taken before the term ends (a write whose answer the term abandons is not
    // known to a as done: at load 20 the readback alone let the Lease go first).
    await Promise.all([atHeld, done]);
    expect((await s.embedded.getQueue('ended-done')).run_concurrency).toBe(8);
    const started = a.daemon.status().running!;
    await handLease('term-ended', 'replica-b');
    await until('b leading and its first run recorded', async () => {
      const st = (await (await fetch(`${b.daemon.url}/status?local=1`)).json()) as {
        lastRun: KeptHistory['runs'][number] | null;
      };
      return st.lastRun?.trigger.includes('leader') && st.lastRun;
    });
    // b took the copy as a's apply began: the line says a term's end is one of the causes.
    expect(findKeptRun(b.daemon.status().runs, started.id)?.message).toContain(
      'the daemon stopped while this run applied (killed, its machine went down, or its leadership term ended',
    );
    release();
    await inFlight;
    expect(a.daemon.status().lastRun).toMatchObject({
      id: started.id,
      result: 'failed',
      applied: { update: 1 },
      changed: [{ address: 'Queue/ended-done', action: 'update' }],
      message: expect.stringContaining(
        'the leadership term ended while this run applied, after its steps applied 0 created, 1 updated',
      ),
    });
    // Nothing written after the term (a's run saves before it ends): the copy beside the Lease,
    // which b writes, still has the run as its apply began, not a's record.
    const data = kube.configMaps.get('poolsync/term-ended-history')!.data!;
    expect(Object.keys(data)).toEqual(['history.json']);
    const copy = data['history.json']!;
    const inCopy = findKeptRun((JSON.parse(copy) as KeptHistory).runs, started.id);
    expect(inCopy).toMatchObject({ applied: { update: 0 }, changed: [] });
    expect(inCopy?.message).toContain('the daemon stopped while this run applied');
  });

  it('a replica that leads again shows the commit the other leader applied since as appliedCommit', async () => {
    const repo = await repoWithQueues('rejoin');
    let held: Promise<void> | null = null;
    let release = () => {};
    const a = await elected(repo, 'rejoin-a', () => held ?? Promise.resolve(), 'rejoin');
    await a.daemon.firstRun;
    const first = a.daemon.status().lastRun!;
    expect(first.result).toBe('applied');
    const b = await elected(repo, 'rejoin-b', () => Promise.resolve(), 'rejoin');
    await handLease('rejoin', 'rejoin-b');
    await until('b leading and its first run recorded', () =>
      b.daemon.status().lastRun?.trigger.includes('leader'),
    );
    repo.commit(queue('rejoin', 8), 'B');
    await b.daemon.reconcile('webhook');
    const applied = b.daemon.status().lastRun!;
    expect(applied).toMatchObject({ result: 'applied', changed: [{ address: 'Queue/rejoin' }] });
    expect(applied.commit).not.toBe(first.commit);
    await until('the copy written by b', () => {
      const text = kube.configMaps.get('poolsync/rejoin-history')?.data?.['history.json'];
      return text !== undefined && (JSON.parse(text) as KeptHistory).runs[0]?.id === applied.id;
    });

    // b goes; a leads again, its first run held in its load: the history joined, nothing run yet.
    held = new Promise<void>((r) => (release = r));
    await b.stop();
    await until('a leading again, its run in its load', () => {
      const { running } = a.daemon.status();
      return running?.phase.startsWith('load') && running.trigger.includes('leader');
    });
    expect(a.daemon.status().appliedCommit).toBe(applied.commit);
    release();
    await until('a leading again, its run recorded', () => {
      const last = a.daemon.status().lastRun!;
      return last.trigger.includes('leader') && last.startedAt > applied.startedAt && last;
    });
    expect(a.daemon.status().appliedCommit).toBe(applied.commit);
  });

  it('a replica that leads again measures drift from the kept history, not its memory of its own last term', async () => {
    const repo = await repoWithQueues('again', 'again-hand');
    const a = await elected(repo, 'again-a', () => Promise.resolve(), 'again');
    await a.daemon.firstRun;
    expect(a.daemon.status().lastRun).toMatchObject({ result: 'applied' });
    const b = await elected(repo, 'again-b', () => Promise.resolve(), 'again');
    await handLease('again', 'again-b');
    await until('b leading and its first run recorded', () =>
      b.daemon.status().lastRun?.trigger.includes('leader'),
    );
    // b applies a commit retuning both queues: the last apply, which a did not make.
    repo.commit({ ...queue('again', 8), ...queue('again-hand', 9) }, 'B');
    await b.daemon.reconcile('webhook');
    const applied = b.daemon.status().lastRun!;
    expect(applied).toMatchObject({ result: 'applied', changedTotal: 2 });
    await until('the copy written by b', () => {
      const text = kube.configMaps.get('poolsync/again-history')?.data?.['history.json'];
      return text !== undefined && (JSON.parse(text) as KeptHistory).runs[0]?.id === applied.id;
    });
    // Before a leads again: a commit puts `again` back as a last applied it, and someone
    // retunes `again-hand` by hand (b runs only when the test asks).
    repo.commit(queue('again', 3), 'C');
    await setRunConcurrency(s.embedded, 'again-hand', 2);
    await b.stop();
    const rerun = await until('a leading again, its run recorded', () => {
      const last = a.daemon.status().lastRun!;
      return last.trigger.includes('leader') && last.startedAt > applied.startedAt && last;
    });
    expect(rerun).toMatchObject({ result: 'applied', changedTotal: 2 });
    // Measured from b's apply: the hand change put back is drift, the commit's change is not
    // (from a's own last apply it would be the other way round).
    const changes = [{ address: 'Queue/again-hand', action: 'update', corrected: true }];
    expect(a.daemon.status().lastDrift).toMatchObject({
      run: rerun.id,
      commit: rerun.commit,
      changes,
    });
    expect(a.daemon.status().runs[0]).toMatchObject({ id: rerun.id, drift: { changes } });
    const metrics = await (await fetch(`${a.daemon.url}/metrics`)).text();
    expect(metrics).toMatch(/^poolsync_drift_detected_total 1$/m);
    expect((await s.embedded.getQueue('again')).run_concurrency).toBe(3);
    expect((await s.embedded.getQueue('again-hand')).run_concurrency).toBe(9);
  });
});
