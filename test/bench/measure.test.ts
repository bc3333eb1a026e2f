import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { applyBoundMs, stepGraphShape } from '../../bench/lib/bound.js';
import { median, runProcess } from '../../bench/lib/measure.js';
import { startServer } from '../../bench/lib/server.js';
import { openControlPlane } from '../../src/controlplane/open.js';
import { readLiveState } from '../../src/controlplane/types.js';
import { coreCalls } from '../controlplane/core-calls.js';
import type { Step } from '../../src/model/plan.js';
import { poolContract } from '../support/builders.js';

const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

const step = (id: string, depends_on: string[] = []): Step =>
  ({ id, op: 'delete_pool', args: { name: id }, target: `ClusterPool/${id}`, depends_on }) as Step;

describe('step-graph bound (quality.md)', () => {
  it('is max(critical path, ceil(steps / P)) × latency', () => {
    // s1 → s2 → s4, s3 independent: critical path 3 steps.
    const shape = stepGraphShape([
      step('s1'),
      step('s2', ['s1']),
      step('s3'),
      step('s4', ['s2', 's3']),
    ]);
    expect(shape).toEqual({ steps: 4, criticalPath: 3 });
    expect(applyBoundMs(shape, 1, 20)).toBe(80); // 4 steps one at a time
    expect(applyBoundMs(shape, 8, 20)).toBe(60); // the chain dominates
  });

  it('handles chains deeper than the call stack', () => {
    const steps = Array.from({ length: 50_000 }, (_, i) =>
      step(`s${i + 1}`, i === 0 ? [] : [`s${i}`]),
    );
    expect(stepGraphShape(steps).criticalPath).toBe(50_000);
  });

  it('median of odd and even samples', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 2, 3])).toBe(2.5);
  });
});

describe('measurement helpers', () => {
  it('reports wall time, CPU and peak RSS of a process, and fails with its stderr', async () => {
    const run = await runProcess(
      process.execPath,
      ['-e', 'const a = Buffer.alloc(64 * 1024 * 1024, 1); console.log(a.length)'],
      {
        captureStdout: true,
      },
    );
    expect(run.stdout.trim()).toBe(String(64 * 1024 * 1024));
    expect(run.peakRss).toBeGreaterThan(64 * 1024 * 1024);
    expect(run.ms).toBeGreaterThan(0);
    await expect(
      runProcess(process.execPath, ['-e', 'console.error("boom"); process.exit(3)']),
    ).rejects.toThrow(/exited with 3:\nboom/);
  });

  it('counts the round trips a client makes to the served control plane, sim calls excluded', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'poolsync-bench-'));
    dirs.push(dir);
    const cli = {
      command: process.execPath,
      prefix: ['--import', 'tsx', resolve('src/cli/main.ts')],
      label: 'tsx',
    };
    const server = await startServer(cli, join(dir, 'state.json'));
    try {
      await server.setLatency(5);
      const cp = coreCalls(await openControlPlane(server.url));
      const live = await readLiveState(cp);
      await cp.createPool('bench-pool', poolContract('s3://bench-pool/x'));
      await cp.close();
      expect(live.pools.map((p) => p.name)).toEqual(['default']);
      // The server logs a request once its answer is sent: give the log a moment.
      for (let i = 0; i < 50 && server.requests() < 6; i++)
        await new Promise((r) => setTimeout(r, 20));
      // capabilities + 4 lists (one page each) + 1 create; no deleted lists (no soft_delete)
      expect(server.requests()).toBe(6);
      expect(server.durations().every((ms) => ms >= 5)).toBe(true);
      expect(server.writeWindowMs()).toBeGreaterThanOrEqual(5);
    } finally {
      await server.stop();
    }
  });
});
