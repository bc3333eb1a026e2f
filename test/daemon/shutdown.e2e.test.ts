/**
 * SIGTERM during an apply, with the daemon in a child process (`node --import tsx
 * src/cli/main.ts daemon`) against a control-plane API server on 127.0.0.1 whose calls are
 * slowed by simulated latency: running steps finish, no new step starts, exit 0, and a
 * restart converges. A notification receiver that answers 200 and then trickles its body
 * forever holds neither `--once` (the call timeout ends the POST) nor SIGTERM (the 10 s grace
 * ends it).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cleanup } from '../support/cleanup.js';
import { manifests } from './fixtures.js';
import { TestRepo, tempDir } from './helpers.js';
import { servedControlPlane } from '../support/served-control-plane.js';
import { until } from '../support/until.js';
import { stopsWithThisProcess } from '../support/stops-with-this-process.js';
import { startHostileServer } from '../support/hostile-server.js';

const ROOT = resolve(__dirname, '../..');
const CLUSTERS = ['prod-1', 'prod-2', 'prod-3', 'prod-4', 'prod-5', 'prod-6'];

function daemon(
  args: string[],
  cwd: string,
): { child: ChildProcess; lines: Record<string, unknown>[]; exit: Promise<number | null> } {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', resolve(ROOT, 'src/cli/main.ts'), 'daemon', ...args],
    {
      cwd: ROOT,
      env: { ...process.env, POOLSYNC_STATE_DIR: resolve(cwd, 'daemon'), FORCE_COLOR: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  stopsWithThisProcess(child, 'SIGKILL');
  const lines: Record<string, unknown>[] = [];
  let buffer = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    buffer += chunk.toString();
    let nl: number;
    while ((nl = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      try {
        lines.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        lines.push({ text: line });
      }
    }
  });
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  const exit = new Promise<number | null>((r) =>
    child.on('exit', (code) => {
      if (code !== 0 && stderr) process.stderr.write(stderr);
      r(code);
    }),
  );
  cleanup.add(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  return { child, lines, exit };
}

describe('daemon shutdown', () => {
  it('SIGTERM during an apply: running steps finish, no new step starts, exit 0; a restart converges', async () => {
    const repo = new TestRepo();
    cleanup.add(() => repo.cleanup());
    repo.commit(manifests({ clusters: CLUSTERS }));
    const { embedded: cp, server } = await servedControlPlane({ simulate: true });
    const faults = await fetch(`${server.url}/v1/sim/faults`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ latency_ms: 250 }),
    });
    expect(faults.status).toBe(200);

    const state = tempDir();
    const args = [
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
      '--log-format',
      'json',
      '--log-level',
      'debug',
      '--shutdown-timeout',
      '20s',
    ];
    const first = daemon(args, state);
    await until('the first step to finish', () => first.lines.some((l) => l.msg === 'step done'));
    first.child.kill('SIGTERM');
    expect(await first.exit).toBe(0);

    const stepsDone = first.lines.filter((l) => l.msg === 'step done').length;
    const runLine = first.lines.find((l) => 'run' in l);
    expect(runLine).toMatchObject({ result: 'stopped' });
    expect(String(runLine!.msg)).toMatch(/stopped by shutdown/);
    expect(first.lines.some((l) => l.msg === 'step failed')).toBe(false);
    expect(first.lines.at(-1)).toMatchObject({ msg: 'poolsync daemon stopped', finished: true });
    // Stopped part-way: some steps done, not all of them (pool + 6 clusters + queue = 8).
    expect(stepsDone).toBeGreaterThanOrEqual(1);
    expect(stepsDone).toBeLessThan(8);
    const clustersAfterStop = (await cp.listClusters()).length;
    expect(clustersAfterStop).toBeLessThan(CLUSTERS.length);

    // Restart: one reconcile, then exit 0 when converged.
    const second = daemon([...args, '--once'], state);
    expect(await second.exit).toBe(0);
    expect((await cp.listClusters()).map((c) => c.name).sort()).toEqual(CLUSTERS);
    expect((await cp.getQueue('batch')).run_concurrency).toBe(50);
  });

  describe('a notification receiver that trickles its answer forever', () => {
    /** Arguments of a daemon applying a copy of the example repository, notifying `receiver`. */
    async function trickled(): Promise<{ args: string[]; state: string; hostile: () => number }> {
      const receiver = await startHostileServer({ mode: 'trickle' });
      cleanup.add(() => receiver.close());
      const state = tempDir();
      cpSync(resolve(ROOT, 'examples/config-repo'), join(state, 'pools'), { recursive: true });
      writeFileSync(join(state, 'hook-url'), `${receiver.url}/hooks/poolsync?key=s3cr3t`);
      const args = [
        '--watch',
        join(state, 'pools'),
        '--control-plane',
        `file:${join(state, 'cp.json')}`,
        '--policy',
        'all',
        '--listen',
        '127.0.0.1:0',
        '--log-format',
        'json',
        '--notify-webhook-url-file',
        join(state, 'hook-url'),
      ];
      return { args, state, hostile: () => receiver.counts.hostile };
    }

    it('--once exits once the POST reaches its call timeout', async () => {
      const { args, state, hostile } = await trickled();
      const once = daemon([...args, '--once', '--call-timeout', '2s'], state);
      expect(await once.exit).toBe(0);
      expect(hostile()).toBe(1);
      const cut = once.lines.find((l) => l.msg === 'notification sent, but its answer was cut off');
      expect(String(cut?.error)).toMatch(
        /^http:\/\/127\.0\.0\.1:\d+: no complete answer within 2\.0s, the deadline of one call/,
      );
      expect(JSON.stringify(once.lines)).not.toContain('s3cr3t');
    });

    it('SIGTERM exits once the notification in flight had its 10 s', async () => {
      const { args, state, hostile } = await trickled();
      // Longer than this test may last: only the shutdown's grace can end the POST.
      const run = daemon([...args, '--call-timeout', '10m'], state);
      await until('the receiver to be sent the first notification', () => hostile() === 1);
      run.child.kill('SIGTERM');
      expect(await run.exit).toBe(0);
      expect(run.lines).toContainEqual(
        expect.objectContaining({
          msg: 'notification sent, but its answer was cut off',
          error: 'cut off by the shutdown (10s given to messages in flight)',
        }),
      );
    });
  });
});
