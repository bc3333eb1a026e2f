/**
 * The bench rows that run on a copy of the converged seeded state: the copy must be the same
 * state (snapshot, journal and poolsync's inventory), or `plan --detailed-exitcode` over the
 * served copy exits 2 and `npm run bench` stops at its HTTP plan row (it did at N = 100; and
 * once an adopting plan exited 2, a state seeded without an inventory did too).
 */
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { EmbeddedControlPlane } from '../../src/controlplane/embedded/embedded.js';
import { readLiveState } from '../../src/controlplane/types.js';
import type { Cli } from '../../bench/lib/cli.js';
import { commitAll } from '../../bench/lib/git.js';
import { httpPlanRow } from '../../bench/lib/http-plan-rows.js';
import { runProcess } from '../../bench/lib/measure.js';
import {
  parseOptions,
  type Row,
  type RunPoolsync,
  type SizeContext,
} from '../../bench/lib/rows.js';
import { generateScaleModel } from '../../bench/lib/scale.js';
import { copyStateFile, recordSeeded, seedStateFile } from '../../bench/lib/seed.js';
import { writeRepository } from '../../bench/lib/yaml-writer.js';

const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

async function liveOf(path: string) {
  const cp = await EmbeddedControlPlane.open({ path, readOnly: true });
  try {
    return await readLiveState(cp);
  } finally {
    await cp.close();
  }
}

describe('bench rows on a copy of the seeded state', () => {
  it('copyStateFile copies a state whose calls are still in the journal', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'poolsync-bench-'));
    dirs.push(dir);
    const state = join(dir, 'cp', 'state.json');
    await seedStateFile(state, generateScaleModel(100, 1));
    // Fewer than 1,000 calls stay in the journal: the snapshot alone is the empty organisation.
    expect((await stat(`${state}.journal`)).size).toBeGreaterThan(0);
    const copy = join(dir, 'copy', 'state.json');
    await copyStateFile(state, copy);
    const original = await liveOf(state);
    expect(original.clusters.length).toBeGreaterThan(0);
    expect(await liveOf(copy)).toEqual(original);
  });

  it('the HTTP plan row plans no changes over the served copy (N = 100)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'poolsync-bench-'));
    dirs.push(dir);
    const model = generateScaleModel(100, 1);
    const repo = join(dir, 'repo');
    await writeRepository(model, repo);
    await commitAll(repo, 'Scale organisation: 100 objects');
    const noopState = join(dir, 'cp-noop', 'state.json');
    await seedStateFile(noopState, model);
    const cli: Cli = {
      command: process.execPath,
      prefix: ['--import', 'tsx', resolve('src/cli/main.ts')],
      label: 'tsx',
    };
    const poolsync: RunPoolsync = (args, options = {}) =>
      runProcess(cli.command, [...cli.prefix, ...args], options);
    await recordSeeded(poolsync, repo, noopState);
    const rows: Row[] = [];
    const ctx: SizeContext = {
      o: parseOptions(['--sizes', '100', '--runs', '1', '--latency', '1']),
      cli,
      sink: { add: (row) => rows.push(row), target: () => undefined },
      work: dir,
      dir,
      n: 100,
      repo,
      noopState,
      // As run.ts: --detailed-exitcode makes any change (exit 2) a failure of the row.
      poolsync,
      medians: new Map(),
      floorMs: undefined,
      floorCpuMs: undefined,
    };
    await httpPlanRow(ctx);
    expect(rows).toHaveLength(1);
    expect(rows[0]!.name).toMatch(/HTTP control plane/);
    expect(rows[0]!.notes).toMatch(/^\d+ round trips to read live state/);
  });
});
