/**
 * `plan --refresh-only` after an apply from here that did not finish (docs/plan.md): stopped
 * part-way (Ctrl-C, SIGTERM, a failed step) or killed (nothing recorded after its first step),
 * its own changes are never called changes outside poolsync, and with no record yet it says an
 * apply started rather than that nothing was applied. In process: the apply's stop is its signal.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { executePlan } from '../../src/apply/executor.js';
import type { ApplyResult } from '../../src/apply/types.js';
import type { ControlPlane } from '../../src/controlplane/types.js';
import { recordedAddresses, type InventoryRecord } from '../../src/model/inventory.js';
import type { Plan } from '../../src/model/plan.js';
import { applyRun } from '../../src/ops/apply-run.js';
import type { RefreshReport } from '../../src/plan/refresh.js';
import { runInProcess } from '../support/memory-io.js';
import { tempDir, writeRepo, type RepoSpec } from '../support/repo.js';

const spec = (runConcurrency: number): RepoSpec => {
  const queues: RepoSpec['queues'] = {};
  for (let i = 0; i < 20; i++)
    queues[`q${i}`] = { pool: 'p', clusters: ['c1'], run_concurrency: runConcurrency };
  return { pools: ['p'], clusters: { c1: 'p' }, queues };
};

/**
 * An apply of `repo` whose steps stop after `steps` (null: all): the signal SIGTERM aborts, or
 * the process is killed (`killed`, 0: before the first step).
 */
async function applyStopping(
  repo: string,
  url: string,
  stateDir: string,
  steps: number | null,
  stop: 'signal' | 'killed' = 'signal',
) {
  const execute = async (plan: Plan, cp: ControlPlane): Promise<ApplyResult> => {
    // Killed before its first step: what apply wrote ahead of the steps is all it left.
    if (stop === 'killed' && steps === 0) throw new Error('killed');
    const interrupt = new AbortController();
    let finished = 0;
    const result = await executePlan(plan, cp, {
      parallelism: 1,
      waitTimeoutMs: 1000,
      signal: interrupt.signal,
      onEvent: (e) => {
        if (e.type === 'step_finished' && ++finished === steps) interrupt.abort();
      },
    });
    // Killed: the process is gone before anything after the steps is written.
    if (stop === 'killed') throw new Error('killed');
    return result;
  };
  return applyRun(
    { kind: 'dir', path: repo, shape: {} },
    {
      locks: {
        kind: 'acquire',
        target: { name: null, url, env: null },
        opening: { vars: {} },
        stateDir,
        sharedInventory: null,
        lease: null,
        lockTimeoutMs: 0,
        parallelism: 1,
        maxRetries: 0,
      },
      stderr: () => {},
      execute,
    },
  );
}

describe('plan --refresh-only after an apply that did not finish', () => {
  it('says an apply from here started and did not finish, never that its changes were made outside poolsync', async () => {
    const root = await tempDir('poolsync-unfinished-');
    const repo = join(root, 'repo');
    const state = join(root, 'cp.json');
    const url = `file:${state}`;
    const stateDir = join(root, 'state');
    const refresh = (...more: string[]) =>
      runInProcess(
        ['plan', repo, '--refresh-only', '--control-plane', url, '--state-dir', stateDir, ...more],
        {},
        root,
      );
    await writeRepo(repo, spec(10));
    const first = await applyStopping(repo, url, stateDir, null);
    expect(first.result?.ok).toBe(true);
    const mark = `${state}.last-applied.started.json`;
    expect(existsSync(mark)).toBe(false);

    // The second apply retunes 20 queues and is stopped after 5 of them.
    await writeRepo(repo, spec(20));
    const second = await applyStopping(repo, url, stateDir, 5);
    expect(second.result?.aborted).toBe(true);
    expect(existsSync(mark)).toBe(true);
    const text = await refresh();
    expect(text.stderr).toBe('');
    expect(text.stdout).not.toContain('changed outside poolsync');
    expect(text.stdout).toMatch(
      /^Objects changed since the last apply \(\S+\); an apply from here started at \S+ and did not finish, so some or all of these may be its own changes, not changes outside poolsync:\n/,
    );
    expect(text.stdout).toContain(
      'Drift: 5 objects changed since the last apply, some or all perhaps by the apply that did not finish.',
    );
    const json = JSON.parse((await refresh('--output', 'json')).stdout) as RefreshReport;
    expect(json.drift).toHaveLength(5);
    expect(json.unfinished_apply?.started_at).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(json.unfinished_apply!.started_at >= json.last_applied.applied_at).toBe(true);
    const markdown = await refresh('--output', 'markdown');
    expect(markdown.stdout).toMatch(
      /^\*\*Drift: 5 objects changed since the last apply .*, some or all perhaps by an apply that did not finish\*\* \(an apply from here started at /,
    );

    // The apply run again finishes it: the record replaces the mark.
    expect((await applyStopping(repo, url, stateDir, null)).result?.ok).toBe(true);
    expect(existsSync(mark)).toBe(false);
    expect((await refresh()).stdout).toMatch(
      /^No drift\. The control plane is as the last apply \(\S+\) left it\.\n$/,
    );
    // A mark older than the record (an earlier build's apply recorded since) says nothing.
    writeFileSync(
      mark,
      '{"format_version":"1","started_at":"2000-01-01T00:00:00.000Z","commit":null}\n',
    );
    expect((await refresh()).stdout).toMatch(
      /^No drift\. The control plane is as the last apply \(\S+\) left it\.\n$/,
    );
  });

  it('killed during its first apply: an apply started and never completed, not "nothing was applied"', async () => {
    const root = await tempDir('poolsync-unfinished-');
    const repo = join(root, 'repo');
    const state = join(root, 'cp.json');
    const url = `file:${state}`;
    await writeRepo(repo, spec(10));
    await expect(applyStopping(repo, url, join(root, 'state'), 5, 'killed')).rejects.toThrow(
      'killed',
    );
    const r = await runInProcess(
      ['plan', repo, '--refresh-only', '--control-plane', url],
      {},
      root,
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      new RegExp(
        `^Error: --refresh-only compares with the state the last \`poolsync apply\` left, recorded in ${state}\\.last-applied\\.json, which does not exist: an apply from here started at \\S+ and never completed, so nothing was recorded to compare with\\. Run \`poolsync apply\` to finish it; --refresh-only then compares with what it left\\.\\n$`,
      ),
    );
    expect(r.stderr).not.toContain('nothing was applied');
  });

  it('a saved plan after an apply killed before its first step: what that apply wrote ahead is not taken for a change (it never completed), and --refresh-only says an apply began', async () => {
    const root = await tempDir('poolsync-unfinished-');
    const repo = join(root, 'repo');
    const url = `file:${join(root, 'cp.json')}`;
    const stateDir = join(root, 'state');
    const cli = (...args: string[]) =>
      runInProcess([...args, '--control-plane', url, '--state-dir', stateDir], {}, root);
    await writeRepo(repo, spec(10));
    expect((await applyStopping(repo, url, stateDir, null)).result?.ok).toBe(true);
    // A new queue: the apply writes it into the inventory ahead of its steps, pending.
    const more = spec(10);
    more.queues!.added = { pool: 'p', clusters: ['c1'], run_concurrency: 10 };
    await writeRepo(repo, more);
    const saved = join(root, 'added.plan');
    const planned = await cli('plan', repo, '--output', 'json', '--out', saved);
    expect(planned.code, planned.stderr).toBe(0);
    await expect(applyStopping(repo, url, stateDir, 0, 'killed')).rejects.toThrow('killed');

    const refresh = await cli('plan', repo, '--refresh-only');
    expect(refresh.code, refresh.stderr).toBe(0);
    expect(refresh.stdout).toMatch(
      /^No drift\. The control plane is as the last apply \(\S+\) left it; an apply from here started at \S+ and did not finish, before it changed anything compared here\.\n$/,
    );
    const applied = await cli('apply', saved);
    expect(applied.stderr).toBe('');
    expect(applied.code).toBe(0);
    expect(applied.stdout).toContain('Apply complete');
  });
  it('an apply that finished, or stopped and recorded what it did, leaves nothing pending: the next plan adopts nothing', async () => {
    const root = await tempDir('poolsync-unfinished-');
    const repo = join(root, 'repo');
    const state = join(root, 'cp.json');
    const url = `file:${state}`;
    const stateDir = join(root, 'state');
    const inventory = () =>
      JSON.parse(readFileSync(`${state}.inventory.json`, 'utf8')) as InventoryRecord;
    const adopts = async () => {
      const r = await runInProcess(
        ['plan', repo, '--output', 'json', '--control-plane', url, '--state-dir', stateDir],
        {},
        root,
      );
      expect(r.code, r.stderr).toBe(0);
      return (JSON.parse(r.stdout) as Plan).inventory?.adopts ?? [];
    };
    await writeRepo(repo, spec(10));
    expect((await applyStopping(repo, url, stateDir, null)).result?.ok).toBe(true);
    // Only creates: written once, ahead (issue 79), each of the 22 pending as none is held; the
    // record replacing the mark settles them.
    expect(inventory().pending).toEqual({ started_at: expect.any(String), held: [] });
    expect(recordedAddresses(inventory())).toHaveLength(22);
    expect(await adopts()).toEqual([]);

    const more = spec(10);
    for (let i = 0; i < 5; i++)
      more.queues![`added${i}`] = { pool: 'p', clusters: ['c1'], run_concurrency: 10 };
    await writeRepo(repo, more);
    expect((await applyStopping(repo, url, stateDir, 2)).result?.aborted).toBe(true);
    const recorded = inventory();
    expect(recorded.pending).toBeUndefined();
    expect(Object.values(recorded.repositories!)[0]).toEqual(
      expect.arrayContaining(['Queue/added0', 'Queue/added1']),
    );
    expect(await adopts()).toEqual([]);
  });
  it("an apply with nothing to do after one killed before its first step records what that one left pending as not poolsync's", async () => {
    const root = await tempDir('poolsync-unfinished-');
    const repo = join(root, 'repo');
    const state = join(root, 'cp.json');
    const url = `file:${state}`;
    const stateDir = join(root, 'state');
    await writeRepo(repo, spec(10));
    expect((await applyStopping(repo, url, stateDir, null)).result?.ok).toBe(true);
    const more = spec(10);
    more.queues!.added = { pool: 'p', clusters: ['c1'], run_concurrency: 10 };
    await writeRepo(repo, more);
    await expect(applyStopping(repo, url, stateDir, 0, 'killed')).rejects.toThrow('killed');

    // The repository drops it again: nothing to do, yet the record says it is not poolsync's,
    // before the last-applied record replaces the mark that kept it pending.
    await writeRepo(repo, spec(10));
    const again = await applyStopping(repo, url, stateDir, null);
    expect(again.result).toBeNull();
    const recorded = JSON.parse(readFileSync(`${state}.inventory.json`, 'utf8')) as InventoryRecord;
    expect(recorded.pending).toBeUndefined();
    expect(Object.values(recorded.repositories!)[0]).not.toContain('Queue/added');
  });
  it('an apply stopped once its creates were made settles what it wrote ahead: the next plan adopts nothing', async () => {
    const root = await tempDir('poolsync-unfinished-');
    const repo = join(root, 'repo');
    const state = join(root, 'cp.json');
    const url = `file:${state}`;
    const stateDir = join(root, 'state');
    await writeRepo(repo, spec(10));
    expect((await applyStopping(repo, url, stateDir, null)).result?.ok).toBe(true);
    // Its create goes before the 20 retunings; stopped after 2 steps, the record has nothing to drop.
    const more = spec(20);
    more.queues!.added = { pool: 'p', clusters: ['c1'], run_concurrency: 20 };
    await writeRepo(repo, more);
    const stopped = await applyStopping(repo, url, stateDir, 2);
    expect(stopped.result?.aborted).toBe(true);
    expect(stopped.plan.steps[0]?.target).toBe('Queue/added');
    const recorded = JSON.parse(readFileSync(`${state}.inventory.json`, 'utf8')) as InventoryRecord;
    expect(recorded.pending).toBeUndefined();
    const r = await runInProcess(
      ['plan', repo, '--output', 'json', '--control-plane', url, '--state-dir', stateDir],
      {},
      root,
    );
    expect((JSON.parse(r.stdout) as Plan).inventory?.adopts).toBeUndefined();
  });
});
