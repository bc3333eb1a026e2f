/**
 * Crash recovery (quality.md, Reliability): an apply in a child process is killed with
 * SIGKILL at several points; a new apply must converge to exactly the state a clean run
 * reaches, with no object created twice and none lost, taking over the dead apply's lock.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isPendingIn, parseInventoryText, recordedAddresses } from '../../src/model/inventory.js';
import type { Plan } from '../../src/model/plan.js';
import { runCli, startCli } from '../support/cli.js';
import { tempDir, writeRepo, type RepoSpec } from '../support/repo.js';
import { comparable, liveOf, withState } from './helpers/state.js';

const POOLS = ['p0', 'p1', 'p2', 'p3'];

/** 4 pools, 16 clusters, 60 queues, 4 assignments. */
function v1(): RepoSpec {
  const clusters: RepoSpec['clusters'] = {};
  for (let i = 0; i < 16; i++) clusters[`c${i}`] = POOLS[i % 4]!;
  const queues: RepoSpec['queues'] = {};
  for (let i = 0; i < 60; i++) {
    const pool = POOLS[i % 4]!;
    const members = Object.keys(clusters).filter((c) => clusters[c] === pool);
    queues[`q${i}`] = { pool, clusters: [members[i % 4]!, members[(i + 1) % 4]!] };
  }
  const assignments = Object.fromEntries(POOLS.map((p, i) => [`proj${i}/production`, p]));
  return { prune: true, pools: POOLS, clusters, queues, assignments };
}

/** Retire c0 and c1 (prune), move c2 to p3 (replace, C7), add c16..c19 and q60..q79, retune every queue. */
function v2(): RepoSpec {
  const base = v1();
  const clusters = { ...base.clusters } as Record<string, string>;
  delete clusters.c0;
  delete clusters.c1;
  clusters.c2 = 'p3';
  for (let i = 16; i < 20; i++) clusters[`c${i}`] = POOLS[i % 4]!;
  const queues: RepoSpec['queues'] = {};
  for (let i = 0; i < 80; i++) {
    const pool = POOLS[i % 4]!;
    const members = Object.keys(clusters).filter((c) => clusters[c] === pool);
    queues[`q${i}`] = {
      pool,
      clusters: [members[i % members.length]!],
      run_concurrency: 20 + (i % 3),
    };
  }
  return { ...base, clusters, queues, assignments: { ...base.assignments, 'proj9/staging': 'p1' } };
}

const completions = (s: string) => s.split(' complete after ').length - 1;

async function apply(repo: string, url: string) {
  const r = await runCli([
    'apply',
    repo,
    '--control-plane',
    url,
    '--auto-approve',
    '--parallelism',
    '2',
  ]);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return r;
}

/** Starts an apply and SIGKILLs it after `after` steps completed; true if it really died mid-apply. */
async function applyAndKill(repo: string, url: string, after: number): Promise<boolean> {
  const run = startCli([
    'apply',
    repo,
    '--control-plane',
    url,
    '--auto-approve',
    '--parallelism',
    '2',
  ]);
  await run
    .waitForOutput((s) => completions(s) >= after || s.includes('Apply complete'))
    .catch(() => {});
  run.child.kill('SIGKILL');
  const r = await run.done;
  return r.signal === 'SIGKILL' && !r.stdout.includes('Apply complete');
}

/**
 * A state whose apply of `repo` (as `prepare` leaves it, on that state) was cut by SIGKILL after
 * `after` steps. The kill races the apply's last steps on a busy machine (a run may complete
 * first, as the kill points above allow): such a run is made again on a fresh state.
 */
async function cutApply(root: string, repo: string, prepare: (url: string) => Promise<void>) {
  for (let i = 0; i < 5; i++) {
    const state = join(root, `state-${i}.json`);
    const url = `file:${state}`;
    await prepare(url);
    if (await applyAndKill(repo, url, 8)) return { state, url };
  }
  throw new Error('five applies completed before their SIGKILL: none was cut mid-way');
}

describe('crash: apply killed with SIGKILL, then applied again', () => {
  it('converges to the state of a clean run, at every kill point, for creates, updates, deletes and a replace', async () => {
    const root = await tempDir();
    const repo = join(root, 'repo');

    // Reference: the same two applies, never interrupted.
    const cleanUrl = `file:${join(root, 'clean.json')}`;
    await writeRepo(repo, v1());
    await apply(repo, cleanUrl);
    const v1State = comparable(await liveOf(join(root, 'clean.json')));
    await writeRepo(repo, v2());
    await apply(repo, cleanUrl);
    const v2State = comparable(await liveOf(join(root, 'clean.json')));
    expect(v2State.clusters.find((c) => c.name === 'c2')!.pool).toBe('p3');
    expect(v2State.clusters.map((c) => c.name)).not.toContain('c0');

    let kills = 0;
    for (const after of [1, 25, 60]) {
      const state = join(root, `crash-${after}.json`);
      const url = `file:${state}`;

      await writeRepo(repo, v1());
      const killedInV1 = await applyAndKill(repo, url, after);
      await apply(repo, url);
      expect(comparable(await liveOf(state)), `v1 after a kill at ${after}`).toEqual(v1State);

      await writeRepo(repo, v2());
      const killedInV2 = await applyAndKill(repo, url, after);
      const recovered = await apply(repo, url);
      expect(comparable(await liveOf(state)), `v2 after a kill at ${after}`).toEqual(v2State);
      // Output arrives in chunks: near the end of a fast apply the kill may land after it finished.
      expect(killedInV1 || killedInV2, `an apply was really killed mid-way at ${after}`).toBe(true);
      kills += Number(killedInV1) + Number(killedInV2);
      if (killedInV2) expect(recovered.stdout).toContain('Apply complete');

      const again = await runCli(['apply', repo, '--control-plane', url, '--auto-approve']);
      expect(again.code).toBe(0);
      expect(again.stdout).toMatch(/^No changes/m);
    }
    expect(kills).toBeGreaterThanOrEqual(4);
  }, 240_000);

  it("what a killed apply wrote ahead is not poolsync's until adopted: another client's object under such a name is never pruned, what it made is adopted with a notice", async () => {
    const root = await tempDir();
    const repo = join(root, 'repo');
    const clusters: Record<string, string> = {};
    for (let i = 0; i < 40; i++) clusters[`c${i}`] = POOLS[i % 4]!;
    const spec = (without: string[] = []): RepoSpec => ({
      prune: true,
      pools: POOLS,
      clusters: Object.fromEntries(Object.entries(clusters).filter(([c]) => !without.includes(c))),
    });
    await writeRepo(repo, spec());
    // Killed once some clusters exist (the 4 pools go first), with most still to register.
    const { state, url } = await cutApply(root, repo, async () => {});
    const cli = (...args: string[]) => runCli([...args, '--control-plane', url]);
    const inventory = parseInventoryText(await readFile(`${state}.inventory.json`, 'utf8'));
    if (typeof inventory === 'string') throw new Error(inventory);
    // Every address was a create: written as the shorter form, none held.
    expect(inventory.pending).toMatchObject({ held: [] });
    const live = new Set((await liveOf(state)).clusters.map((c) => `Cluster/${c.name}`));
    const isPending = isPendingIn(inventory.pending!);
    const pending = recordedAddresses(inventory).filter(
      (a) => a.startsWith('Cluster/') && isPending(a),
    );
    const made = pending.filter((a) => live.has(a));
    const unmade = pending.filter((a) => !live.has(a));
    expect(made.length).toBeGreaterThan(0);
    expect(unmade.length).toBeGreaterThan(0);

    // Another client registers one the killed apply did not; the repository then drops that name.
    const theirs = unmade[0]!.slice('Cluster/'.length);
    await withState(state, (cp) => cp.registerCluster({ name: theirs, pool: 'p0' }));
    await writeRepo(repo, spec([theirs]));
    const r = await cli('plan', repo, '--output', 'json');
    expect(r.code, r.stderr).toBe(0);
    const plan = JSON.parse(r.stdout) as Plan;
    expect(plan.changes.find((c) => c.address === `Cluster/${theirs}`)?.action).toBe('unmanaged');
    // What the killed apply made is shown adopted, in the one notice, before it is poolsync's.
    expect(plan.inventory?.adopts?.filter((a) => a.startsWith('Cluster/'))).toEqual(made);
    const text = await cli('plan', repo);
    expect(text.stdout.split('Adopts ').length - 1).toBe(1);
    expect(text.stdout).toContain(`Adopts ${plan.inventory!.adopts!.length} objects`);

    await apply(repo, url);
    expect((await liveOf(state)).clusters.map((c) => c.name)).toContain(theirs);
    // Adopted by that apply: the repository dropping one now deletes it.
    const ours = made[0]!.slice('Cluster/'.length);
    await writeRepo(repo, spec([theirs, ours]));
    const pruned = JSON.parse((await cli('plan', repo, '--output', 'json')).stdout) as Plan;
    expect(pruned.changes.filter((c) => c.action === 'delete').map((c) => c.address)).toEqual([
      made[0],
    ]);
  }, 120_000);

  it('what a killed apply set out to delete and another client made again under its name is not pruned; a delete it never sent still runs', async () => {
    const root = await tempDir();
    const repo = join(root, 'repo');
    const clusters: Record<string, string> = {};
    for (let i = 0; i < 40; i++) clusters[`c${i}`] = POOLS[i % 4]!;
    // Every cluster pruned, killed once some deletes are done and most are still to send.
    const { state, url } = await cutApply(root, repo, async (url) => {
      await writeRepo(repo, { prune: true, pools: POOLS, clusters });
      await apply(repo, url);
      await writeRepo(repo, { prune: true, pools: POOLS });
    });
    const cli = (...args: string[]) => runCli([...args, '--control-plane', url]);
    const inventory = parseInventoryText(await readFile(`${state}.inventory.json`, 'utf8'));
    if (typeof inventory === 'string') throw new Error(inventory);
    expect(inventory.pending?.deletes?.['Cluster/c1']).toBe('p1');
    const live = new Set((await liveOf(state)).clusters.map((c) => c.name));
    const deleted = Object.keys(clusters).filter((c) => !live.has(c));
    const left = Object.keys(clusters).filter((c) => live.has(c));
    expect(deleted.length).toBeGreaterThan(0);
    expect(left.length).toBeGreaterThan(0);

    // Another client registers a deleted name again, in another pool than poolsync's was in.
    const theirs = deleted[0]!;
    const pool = POOLS[(POOLS.indexOf(clusters[theirs]!) + 1) % 4]!;
    await withState(state, (cp) => cp.registerCluster({ name: theirs, pool }));
    const r = await cli('plan', repo, '--output', 'json');
    expect(r.code, r.stderr).toBe(0);
    const plan = JSON.parse(r.stdout) as Plan;
    const change = plan.changes.find((c) => c.address === `Cluster/${theirs}`);
    expect(change?.action).toBe('unmanaged');
    expect(change?.why).toEqual({
      code: 'MADE_AGAIN',
      params: { field: 'pool', was: clusters[theirs], now: pool },
    });
    // The deletes the killed apply never sent are poolsync's still: planned again.
    expect(
      plan.changes.filter((c) => c.action === 'delete' && c.kind === 'Cluster').map((c) => c.name),
    ).toEqual([...left].sort());
    const text = await cli('plan', repo);
    expect(text.stdout).toContain(
      `set out to delete the one it applied (pool "${clusters[theirs]}"), and this one has pool "${pool}": another client made it again since`,
    );
    // The summary gives its lines' reason (not "outside the prune scope").
    expect(text.stdout).toMatch(
      /unmanaged \((?:\d+: )?made again by another client after a cut-short apply deleted it[;)]/,
    );

    await apply(repo, url);
    expect((await liveOf(state)).clusters.map((c) => c.name)).toEqual([theirs]);
    const list = await cli('state', 'list', repo);
    expect(list.stdout).not.toContain(`Cluster/${theirs}`);
  }, 120_000);
});
