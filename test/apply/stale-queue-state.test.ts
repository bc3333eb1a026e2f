/**
 * A queue's serving state is part of the live fingerprint (issue 73 item 2): a saved plan made
 * while a queue was active is refused once another client drained it, since a plan made now
 * would activate it (found by hand: the update was sent and the queue stayed drained). Queues
 * that are active keep their fingerprint as before. The refusal names what changed, though the
 * plan keeps neither states nor the inventory (docs/apply.md, Saved plans and staleness). The CLI
 * in process, the embedded control plane with the drain capability, read through its own API.
 */
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EmbeddedControlPlane } from '../../src/controlplane/embedded/embedded.js';
import { liveFingerprint } from '../../src/plan/fingerprint.js';
import { live } from '../plan/build.js';
import { runInProcess } from '../support/memory-io.js';
import { writeRepo } from '../support/repo.js';
import { tempFolder } from '../support/temp-folder.js';

const dir = tempFolder('poolsync-stale-queue-');

async function queueState(statePath: string, name: string) {
  const cp = await EmbeddedControlPlane.open({ path: statePath });
  try {
    return (await cp.listQueues()).find((q) => q.name === name);
  } finally {
    await cp.close();
  }
}

describe('a queue drained by another client makes a saved plan stale', () => {
  it('apply PLANFILE is refused, sends nothing, and the next plan activates the queue', async () => {
    const repo = join(dir, 'repo');
    cpSync('examples/config-repo', repo, { recursive: true });
    const statePath = join(dir, 'cp.json');
    const cp = `file:${statePath}?capabilities=drain,queue_delete`;
    const run = (args: string[]) => runInProcess(args, {}, dir);
    expect((await run(['apply', 'repo', '--auto-approve', '--control-plane', cp])).code).toBe(0);

    const batch = join(repo, 'queues', 'prod', 'batch.yaml');
    writeFileSync(
      batch,
      readFileSync(batch, 'utf8').replace('run_concurrency: 300', 'run_concurrency: 310'),
    );
    const made = await run(['plan', 'repo', '--control-plane', cp, '--out', 'plan.json']);
    expect(made.code, made.stderr).toBe(0);

    // Another client drains the queue the plan updates, through the control plane's own API.
    const other = await EmbeddedControlPlane.open({ path: statePath });
    await other.drainQueue('batch');
    await other.close();
    const before = await queueState(statePath, 'batch');

    const applied = await run(['apply', 'plan.json', '--control-plane', cp]);
    expect(applied.code).toBe(1);
    expect(applied.stderr).toMatch(
      /^Error: stale plan: the control plane changed since plan\.json/,
    );
    expect(applied.stderr).toContain('Nothing was applied');
    expect(await queueState(statePath, 'batch')).toEqual(before);

    const again = await run(['plan', 'repo', '--control-plane', cp]);
    expect(again.stdout).toContain('activate_queue Queue/batch');
  });

  it('an active queue keeps the fingerprint it had without a state; a drain or a delete changes it, a drain ending does not', () => {
    const state = live({ queues: { a: {} } });
    const withState = (s: 'active' | 'draining' | 'drained' | 'deleting') => ({
      ...state,
      queues: state.queues.map((q) => (q.name === 'a' ? { ...q, state: s } : q)),
    });
    const plain = liveFingerprint(state);
    expect(liveFingerprint(withState('active'))).toBe(plain);
    const [draining, drained, deleting] = (['draining', 'drained', 'deleting'] as const).map((s) =>
      liveFingerprint(withState(s)),
    );
    expect(drained).toBe(draining);
    expect(new Set([plain, drained, deleting]).size).toBe(3);
  });
});

describe('a saved plan refused as stale names what changed, though no object it shows differs', () => {
  const refusal = (file: string) =>
    `^Error: stale plan: the control plane changed since ${file.replace('.', '\\.')} was made: `;
  const tail =
    ' \\(live state sha256:\\w+, plan made against sha256:\\w+\\)\\. Nothing was applied; run `poolsync plan` again\\n$';

  it('a queue the plan deletes with its cluster, drained meanwhile: the queue and its state, was → now', async () => {
    const root = join(dir, 'drained');
    const repo = join(root, 'repo');
    const statePath = join(root, 'cp.json');
    const cp = `file:${statePath}?capabilities=drain,queue_delete`;
    const run = (...args: string[]) => runInProcess([...args, '--control-plane', cp], {}, root);
    const queues = (hot: string[], warm: string[]) => ({
      hot: { pool: 'prod', clusters: hot },
      warm: { pool: 'prod', clusters: warm },
    });
    await writeRepo(repo, {
      pools: ['prod'],
      clusters: { c1: 'prod', c2: 'prod' },
      queues: queues(['c1'], ['c1', 'c2']),
    });
    expect((await run('apply', 'repo', '--auto-approve')).code).toBe(0);
    await writeRepo(repo, {
      pools: ['prod'],
      clusters: { c2: 'prod' },
      queues: queues([], ['c2']),
    });
    const made = await run('plan', 'repo', '--out', 'p2.json');
    expect(made.stdout).toContain('Queue/c1');
    // Another client drains the queue the cluster delete takes with it.
    const other = await EmbeddedControlPlane.open({ path: statePath });
    await other.drainQueue('c1');
    await other.close();
    expect((await queueState(statePath, 'c1'))?.state).toBe('drained');

    const applied = await run('apply', 'p2.json');
    expect(applied.code).toBe(1);
    expect(applied.stderr).toMatch(
      new RegExp(
        `${refusal('p2.json')}this object differs from the plan: Queue/c1 \\(state active → drained\\)${tail}`,
      ),
    );
  });

  it('an address `state forget` took out of the inventory after the plan deleting it: named, with no unfinished apply', async () => {
    const root = join(dir, 'forgotten');
    const repo = join(root, 'repo');
    const cp = `file:${join(root, 'cp.json')}`;
    const run = (...args: string[]) => runInProcess([...args, '--control-plane', cp], {}, root);
    await writeRepo(repo, { pools: ['prod'], clusters: { c9: 'prod' } });
    expect((await run('apply', 'repo', '--auto-approve')).code).toBe(0);
    await writeRepo(repo, { pools: ['prod'] });
    expect((await run('plan', 'repo', '--output', 'json', '--out', 'p4.json')).code).toBe(0);
    expect((await run('state', 'forget', 'Cluster/c9')).code).toBe(0);

    const applied = await run('apply', 'p4.json');
    expect(applied.code).toBe(1);
    expect(applied.stderr).toMatch(
      new RegExp(
        `${refusal('p4.json')}poolsync's inventory changed: it no longer records Cluster/c9 \\(\`poolsync state forget\` took it out of management\\)${tail}`,
      ),
    );
  });
});

describe('a stale plan names the field or the soft delete that moved', () => {
  const setUp = async (name: string, capabilities: string) => {
    const root = join(dir, name);
    const repo = join(root, 'repo');
    const statePath = join(root, 'cp.json');
    const cp = `file:${statePath}?capabilities=${capabilities}`;
    const run = (...args: string[]) => runInProcess([...args, '--control-plane', cp], {}, root);
    await writeRepo(repo, {
      pools: ['prod'],
      clusters: { c1: 'prod' },
      queues: { batch: { pool: 'prod', clusters: ['c1'] } },
    });
    expect((await run('apply', 'repo', '--auto-approve')).code).toBe(0);
    return { repo, statePath, run };
  };

  it('a queue created and soft-deleted by another client after a plan that creates it: its name is reserved', async () => {
    const { repo, statePath, run } = await setUp('soft-deleted', 'drain,queue_delete,soft_delete');
    await writeRepo(repo, {
      pools: ['prod'],
      clusters: { c1: 'prod' },
      queues: {
        batch: { pool: 'prod', clusters: ['c1'] },
        fresh: { pool: 'prod', clusters: ['c1'] },
      },
    });
    expect((await run('plan', 'repo', '--output', 'json', '--out', 'p4.json')).code).toBe(0);
    const other = await EmbeddedControlPlane.open({ path: statePath });
    await other.createQueue({
      name: 'fresh',
      pool: 'prod',
      clusters: ['c1'],
      run_concurrency: 10,
      action_concurrency: 100,
    });
    await other.drainQueue('fresh');
    await other.deleteQueue('fresh');
    await other.close();

    const applied = await run('apply', 'p4.json');
    expect(applied.code).toBe(1);
    expect(applied.stderr).toContain(
      'was made: this object differs from the plan: Queue/fresh (soft-deleted since the plan: its name stays reserved) (live state',
    );
  });

  it('a queue the plan updates, soft-deleted by another client: gone, its name reserved', async () => {
    const { repo, statePath, run } = await setUp('gone', 'drain,queue_delete,soft_delete');
    await writeRepo(repo, {
      pools: ['prod'],
      clusters: { c1: 'prod' },
      queues: { batch: { pool: 'prod', clusters: ['c1'], run_concurrency: 11 } },
    });
    expect((await run('plan', 'repo', '--output', 'json', '--out', 'p6.json')).code).toBe(0);
    const other = await EmbeddedControlPlane.open({ path: statePath });
    await other.drainQueue('batch');
    await other.deleteQueue('batch');
    await other.close();

    const applied = await run('apply', 'p6.json');
    expect(applied.code).toBe(1);
    expect(applied.stderr).toContain(
      'was made: this object differs from the plan: Queue/batch (soft-deleted since the plan: its name stays reserved) (live state',
    );
  });

  it('a cluster another client disabled: named with its field, was → now', async () => {
    const { statePath, run } = await setUp('disabled', 'drain');
    const made = await run('plan', 'repo', '--output', 'json', '--out', 'p5.json');
    expect(made.code, made.stderr).toBe(0);
    const other = await EmbeddedControlPlane.open({ path: statePath });
    await other.updateCluster('c1', { enabled: false });
    await other.close();

    const applied = await run('apply', 'p5.json');
    expect(applied.code).toBe(1);
    // The disable drained its co-named queue too (drain): both are named.
    expect(applied.stderr).toContain(
      'was made: 2 objects differ from the plan: Cluster/c1 (enabled true → false), Queue/c1 (state active → drained) (live state',
    );
  });
});
