/** `poolsync apply` as a user runs it: a child process against a `file:` control plane. */
import { existsSync } from 'node:fs';
import { cp as copyFolder, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { acquireApplyLock, lockPathFor } from '../../src/apply/lock.js';
import { countPlan } from '../../src/plan/counts.js';
import { spawn } from 'node:child_process';
import { REPO_ROOT, runCli, servedByCli, startCli } from '../support/cli.js';
import { startFaultProxy } from '../support/fault-proxy.js';
import { servedControlPlane } from '../support/served-control-plane.js';
import { tempDir, writeRepo, type RepoSpec } from '../support/repo.js';
import { liveOf, savePlan, snapshotFiles, withState } from './helpers/state.js';
import { poolContract } from '../support/builders.js';
import { until } from '../support/until.js';
import { interruptedWhen } from '../support/memory-io.js';
import type { Plan } from '../../src/model/plan.js';

const V1: RepoSpec = {
  pools: ['legacy', 'prod'],
  clusters: { 'old-1': 'legacy', 'old-2': 'legacy', 'prod-1': 'prod' },
  queues: {
    batch: { pool: 'legacy', clusters: ['old-1', 'old-2'] },
    web: { pool: 'prod', clusters: ['prod-1'] },
  },
  assignments: { 'proj/prod': 'prod' },
};
/** Retires old-1 (prune): repoint batch, wait for old-1's queue, delete. */
const V2: RepoSpec = {
  ...V1,
  clusters: { 'old-2': 'legacy', 'prod-1': 'prod' },
  queues: { ...V1.queues, batch: { pool: 'legacy', clusters: ['old-2'] } },
};

async function setup(spec: RepoSpec = V1) {
  const root = await tempDir();
  const repo = await writeRepo(join(root, 'repo'), spec);
  const state = join(root, 'cp.json');
  return { root, repo, state, url: `file:${state}` };
}

describe('poolsync apply DIR', () => {
  it('without a terminal, --auto-approve or an answer on stdin: the plan is shown, then cancelled, nothing applied nor left', async () => {
    const { repo, url, state } = await setup();
    const r = await runCli(['apply', repo, '--control-plane', url]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/Plan: \d+ to create/);
    expect(r.stdout).not.toContain('Creating...');
    expect(r.stderr).toBe(
      'Error: Apply cancelled (no answer, end of input): nothing was applied. stdin is not a terminal: pipe `yes` into apply, or review the plan above, then run `poolsync apply --auto-approve` (or save it with `poolsync plan --out plan.json` and apply that file)\n',
    );
    // The state this apply created is removed again, as when declined at a terminal.
    expect(existsSync(state)).toBe(false);
  });

  it('without a terminal and nothing to change (`echo yes | poolsync apply`): No changes, exit 0, as at a terminal', async () => {
    const { repo, url } = await setup();
    expect((await runCli(['apply', repo, '--control-plane', url, '--auto-approve'])).code).toBe(0);
    const r = await runCli(['apply', repo, '--control-plane', url]);
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain('No changes.');
    expect(r.code).toBe(0);
  });

  it('shows the plan, one line per step start and end with its duration, and the summary; a second run has no changes', async () => {
    const { repo, url, state } = await setup();
    const r = await runCli(['apply', repo, '--control-plane', url, '--auto-approve', '--no-color']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Plan: \d+ to create/);
    expect(r.stdout).toContain('ClusterPool/prod: Creating... [s');
    expect(r.stdout).toMatch(/ClusterPool\/prod: Creation complete after \d+(\.\d+)?m?s \[s\d+\]/);
    expect(r.stdout).toMatch(/Cluster\/old-1: Registration complete after/);
    expect(r.stdout).toMatch(
      /Apply complete: \d+ created, 0 updated, 0 replaced, 0 deleted; 0 blocked(; \d+ more changes? made by the control plane itself \(marked # in the plan\))?\.\n$/,
    );
    const live = await liveOf(state);
    expect(live.clusters.map((c) => `${c.name}@${c.pool}`)).toEqual([
      'old-1@legacy',
      'old-2@legacy',
      'prod-1@prod',
    ]);

    const again = await runCli(['apply', repo, '--control-plane', url, '--auto-approve']);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('No changes.');
    expect(again.stdout).not.toContain('Apply complete');
    expect(again.stdout).not.toContain('\u001b['); // no colour when stdout is not a terminal
  });

  it('a reader that goes away (`apply | head`) does not end the apply half-way', async () => {
    const { repo, url, state } = await setup();
    const run = startCli(['apply', repo, '--control-plane', url, '--auto-approve']);
    await run.waitForOutput((s) => s.length > 0);
    run.child.stdout!.destroy();
    const r = await run.done;
    expect(r.code).toBe(0);
    const live = await liveOf(state);
    expect(live.clusters.map((c) => c.name)).toEqual(['old-1', 'old-2', 'prod-1']);
    expect(live.assignments).toHaveLength(1);
  });

  it('rejects bad flag values with a clear message', async () => {
    const { repo, url } = await setup();
    const a = await runCli([
      'apply',
      repo,
      '--control-plane',
      url,
      '--auto-approve',
      '--wait-timeout',
      'soon',
    ]);
    expect(a.code).toBe(1);
    expect(a.stderr).toContain(
      '--wait-timeout "soon" is not a duration; write it like 90s, 30m or 1h',
    );
    const b = await runCli([
      'apply',
      repo,
      '--control-plane',
      url,
      '--auto-approve',
      '--parallelism',
      '0',
    ]);
    expect(b.code).toBe(1);
    expect(b.stderr).toContain('--parallelism must be a whole number of at least 1');
    const c = await runCli(['apply', join(repo, 'nope'), '--control-plane', url, '--auto-approve']);
    expect(c.code).toBe(1);
    expect(c.stderr).toContain(
      'does not exist: name a config repository folder or a saved JSON plan',
    );
  });

  it('an invalid repository is never applied', async () => {
    const { repo, url, state } = await setup({
      pools: ['prod'],
      queues: { q: { pool: 'prod', clusters: ['ghost'] } },
    });
    const r = await runCli(['apply', repo, '--control-plane', url, '--auto-approve']);
    expect(r.code).toBe(1);
    expect(r.stderr + r.stdout).toMatch(/ghost/);
    expect(r.stdout).not.toContain('Creating...');
    if (existsSync(state))
      expect((await liveOf(state)).pools.map((p) => p.name)).toEqual(['default']);
  });
});

describe('poolsync apply over HTTP with a token', () => {
  it('takes the token from --token-file or POOLSYNC_TOKEN and never prints it, even when it is refused', async () => {
    const { root, repo } = await setup();
    const { embedded, server } = await servedControlPlane({
      port: 0,
      token: 'sekrit-token-4711',
    });
    const args = ['--control-plane', server.url, '--auto-approve', '--state-dir', root];
    const wrongFile = join(root, 'wrong.token');
    await writeFile(wrongFile, 'wrong-token-0815\n');
    const refused = await runCli(['apply', repo, ...args, '--token-file', wrongFile]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('UNAUTHENTICATED');
    expect(refused.stdout + refused.stderr).not.toContain('wrong-token-0815');
    expect(existsSync(lockPathFor(server.url, root))).toBe(false);

    const ok = await runCli(['apply', repo, ...args], { POOLSYNC_TOKEN: 'sekrit-token-4711' });
    expect(ok.stderr).toBe('');
    expect(ok.code).toBe(0);
    expect(ok.stdout).not.toContain('sekrit-token-4711');
    expect((await embedded.listClusters()).map((c) => c.name).sort()).toEqual([
      'old-1',
      'old-2',
      'prod-1',
    ]);
  });
});

describe('poolsync apply PLANFILE', () => {
  it('applies the plan `poolsync plan --out` saved, and the next plan shows no changes', async () => {
    const { root, repo, url } = await setup();
    const planFile = join(root, 'saved.json');
    const p = await runCli(['plan', repo, '--control-plane', url, '--out', planFile]);
    expect(p.code).toBe(0);
    const r = await runCli(['apply', planFile, '--control-plane', url]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Apply complete: \d+ created/);
    const again = await runCli(['plan', repo, '--control-plane', url, '--detailed-exitcode']);
    expect(again.code).toBe(0);
  });

  it('executes a saved plan without re-planning', async () => {
    const { root, repo, url, state } = await setup();
    const planFile = join(root, 'plan.json');
    const plan = await savePlan(repo, state, planFile);
    const r = await runCli(['apply', planFile, '--control-plane', url]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).not.toMatch(/Plan: /);
    // The plan's one count: the created objects poolsync made a call for (side effects apart).
    expect(r.stdout).toContain(`Apply complete: ${countPlan(plan).create} created`);
  });

  it('refuses a stale plan (live state changed since) without any write', async () => {
    const { root, repo, url, state } = await setup();
    const planFile = join(root, 'plan.json');
    await savePlan(repo, state, planFile);
    await withState(state, async (cp) => {
      await cp.createPool(
        'sneaky',
        poolContract('s3://sneaky', { secret_store: { type: 'VAULT', locator: 'v' } }),
      );
    });
    const before = await snapshotFiles(state);
    const r = await runCli(['apply', planFile, '--control-plane', url]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^Error: stale plan: the control plane changed since .*plan\.json/);
    expect(r.stderr).toContain('Nothing was applied');
    expect(r.stdout).not.toContain('Creating...');
    expect(await snapshotFiles(state)).toEqual(before);
    expect((await liveOf(state)).pools.map((p) => p.name)).toEqual(['default', 'sneaky']);
  });

  it('a failed apply says to plan again: the saved plan it leaves is refused as stale', async () => {
    const { root, repo } = await setup();
    const { server } = await servedControlPlane({ port: 0 });
    // Every queue create is answered 500 by a proxy in front, and not retried.
    const proxy = await startFaultProxy(server.url, (_n, method, path) =>
      method === 'POST' && path === '/v1/queues' ? 'fail' : 'pass',
    );
    try {
      const planFile = join(root, 'plan.json');
      const args = ['--control-plane', proxy.url, '--state-dir', root];
      expect((await runCli(['plan', repo, ...args, '--out', planFile])).code).toBe(0);
      const r = await runCli(['apply', planFile, ...args, '--max-retries', '0']);
      expect(r.code).toBe(1);
      expect(r.stdout).toMatch(/Apply failed: \d+ of \d+ steps done, \d+ failed/);
      expect(r.stdout).toContain(
        'Nothing was rolled back. Fix the cause and plan and apply again (this saved plan is now stale): every step recognises work already done',
      );
      const again = await runCli(['apply', planFile, ...args]);
      expect(again.code).toBe(1);
      expect(again.stderr).toMatch(/^Error: stale plan: /);
    } finally {
      await proxy.close();
    }
  });

  it('a second signal says to plan again: the saved plan is stale once a step ran', async () => {
    const { root, repo } = await setup();
    const { server } = await servedControlPlane({ port: 0 });
    let holding = false;
    const proxy = await startFaultProxy(server.url, (_n, method, path) =>
      holding && method === 'POST' && path === '/v1/queues' ? 'hold' : 'pass',
    );
    try {
      const planFile = join(root, 'plan.json');
      const args = ['--control-plane', proxy.url, '--state-dir', root];
      expect((await runCli(['plan', repo, ...args, '--out', planFile])).code).toBe(0);
      holding = true;
      const run = startCli(['apply', planFile, ...args]);
      await run.waitForOutput((s) => s.includes('Creating...'));
      await until('a queue create held in flight', () => proxy.counts.hold > 0);
      run.child.kill('SIGINT');
      await run.waitForOutput((s) => s.includes('Interrupted: starting no new step'));
      run.child.kill('SIGINT');
      const r = await run.done;
      expect(r.code).toBe(130);
      expect(r.stderr).toContain('Second SIGINT: exiting now; plan and apply again to finish.');
    } finally {
      proxy.release();
      await proxy.close();
    }
  });

  it('refuses a file that is not a plan, naming it', async () => {
    const { root, url } = await setup();
    const bad = join(root, 'notes.txt');
    await writeFile(bad, 'hello');
    const r = await runCli(['apply', bad, '--control-plane', url]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${bad} is not a plan: not JSON`);
  });
});

describe('apply lock, waits and signals', () => {
  it('SIGTERM during a wait: no new step starts, the delete is reported not run, exit 1; the next apply finishes', async () => {
    const { repo, url, state } = await setup();
    expect((await runCli(['apply', repo, '--control-plane', url, '--auto-approve'])).code).toBe(0);
    await withState(state, (cp) =>
      cp.setQueueActivity('old-1', { runs_in_flight: 1, actions_in_flight: 1 }),
    );
    await writeRepo(repo, V2);
    const run = startCli(['apply', repo, '--control-plane', url, '--auto-approve']);
    await run.waitForOutput((s) => s.includes('Waiting for in-flight work'));
    run.child.kill('SIGTERM');
    const r = await run.done;
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('Interrupted: starting no new step');
    expect(r.stdout).toMatch(/Apply interrupted: \d+ of \d+ steps done, 1 failed, 1 not run\./);
    expect(r.stdout).toMatch(/- s\d+ delete_cluster Cluster\/old-1: not run/);
    // A person stopped it: nothing to fix, apply again to finish.
    expect(r.stdout).toContain(
      'Nothing was rolled back. Stopped by SIGTERM: to finish, apply again:',
    );
    expect(existsSync(`${state}.apply.lock`)).toBe(false);
    expect((await liveOf(state)).clusters.map((c) => c.name)).toContain('old-1');

    await withState(state, (cp) =>
      cp.setQueueActivity('old-1', { runs_in_flight: 0, actions_in_flight: 0 }),
    );
    const after = await runCli(['apply', repo, '--control-plane', url, '--auto-approve']);
    expect(after.code).toBe(0);
    expect((await liveOf(state)).clusters.map((c) => c.name)).not.toContain('old-1');
  });

  it('a second signal exits at once (130) even with a call in flight; the lock it leaves is taken over by the next apply', async () => {
    const { root, repo } = await setup();
    const { embedded, server } = await servedControlPlane({ port: 0 });
    // Once `holding`, the update of Queue/batch is held by the proxy at its first call (the
    // read of its read-modify-write): in flight until the end.
    let holding = false;
    const proxy = await startFaultProxy(server.url, (_n, method, path) =>
      holding && (method === 'GET' || method === 'PUT') && path === '/v1/queues/batch'
        ? 'hold'
        : 'pass',
    );
    try {
      const args = ['--control-plane', proxy.url, '--auto-approve', '--state-dir', root];
      expect((await runCli(['apply', repo, ...args])).code).toBe(0);
      await writeRepo(repo, V2);
      holding = true;
      const run = startCli(['apply', repo, ...args]);
      await run.waitForOutput((s) => s.includes('Queue/batch: Updating...'));
      run.child.kill('SIGINT');
      await run.waitForOutput((s) => s.includes('Interrupted: starting no new step'));
      run.child.kill('SIGINT');
      const r = await run.done;
      expect(r.code).toBe(130);
      expect(r.stderr).toContain('Second SIGINT: exiting now; run apply again to finish.');
      expect(existsSync(lockPathFor(proxy.url, root))).toBe(true);
      expect(proxy.counts.hold).toBe(1);

      holding = false;
      proxy.release(); // its client is gone: dropped, never carried out
      const after = await runCli(['apply', repo, ...args]);
      expect(after.stderr).toBe('');
      expect(after.code).toBe(0);
      expect((await embedded.listClusters()).map((c) => c.name).sort()).toEqual([
        'old-2',
        'prod-1',
      ]);
    } finally {
      await proxy.close();
    }
  });

  it('a real SIGINT before the first step (here while it waits for the lock): cancelled in one line, exit 130, nothing made', async () => {
    const { repo, url, state } = await setup();
    const held = await acquireApplyLock(lockPathFor(url));
    try {
      const args = ['--control-plane', url, '--auto-approve', '--lock-timeout', '1m'];
      const run = startCli(['apply', repo, ...args]);
      await until('the wait for the lock', () => run.stderr().includes('Waiting up to'));
      run.child.kill('SIGINT');
      const r = await run.done;
      // Not ended by the signal, silently: the apply said so and let go of what it held.
      expect(r.signal).toBeNull();
      expect(r.code).toBe(130);
      expect(r.stderr).toMatch(/\nError: Apply cancelled \(Ctrl-C\): nothing was applied\.\n$/);
      expect(existsSync(state)).toBe(false);
    } finally {
      await held.release();
    }
  });

  it.each([
    [
      'one SIGINT: said at once; once the call ends, cancelled and what was written ahead taken back',
      1,
    ],
    ['a second SIGINT before any step: said at once, it waits for the take-back', 2],
    ['a third SIGINT: exits at once, saying what the inventory still lists', 3],
  ])('while the inventory is written ahead of the first step, %s', async (_what, signals) => {
    const { root, repo } = await setup({ pools: ['prod'] });
    const { embedded, server } = await servedControlPlane({ port: 0 });
    let holding = false;
    const proxy = await startFaultProxy(server.url, (_n, method, path) =>
      holding && method === 'PUT' && path === '/v1/inventory' ? 'hold' : 'pass',
    );
    try {
      const args = ['--control-plane', proxy.url, '--auto-approve', '--state-dir', root];
      expect((await runCli(['apply', repo, ...args])).code).toBe(0);
      const before = await embedded.inventory.readInventory();
      await writeRepo(repo, { pools: ['prod', 'dev'] });
      holding = true;
      const run = startCli(['apply', repo, ...args]);
      await until('the inventory write held in flight', () => proxy.counts.hold > 0);
      holding = false;
      run.child.kill('SIGINT');
      await until('the interrupt said', () => run.stderr().includes('Interrupt received (SIGINT)'));
      if (signals >= 2) {
        run.child.kill('SIGINT');
        await until('the wait said', () => run.stderr().includes('Second SIGINT'));
      }
      if (signals === 3) run.child.kill('SIGINT');
      else proxy.release();
      const r = await run.done;
      expect(r.code).toBe(130);
      expect(r.stdout).not.toContain('Creating...');
      expect(r.stderr).toContain(
        'Interrupt received (SIGINT): the apply stops before its first step, once what it wrote ahead of it is taken back.\n',
      );
      if (signals >= 2)
        expect(r.stderr).toContain(
          'Second SIGINT: taking back what was written ahead of the first step… (SIGINT again exits without it)\n',
        );
      expect(r.stderr).toMatch(
        signals === 3
          ? /\nSIGINT again: exiting now, before any step was sent; the inventory still lists what this apply would have made as this repository's: run apply again to make them\.\n$/
          : /\nError: Apply cancelled \(Ctrl-C\): nothing was applied\.\n$/,
      );
      if (signals < 3) expect(await embedded.inventory.readInventory()).toEqual(before);
    } finally {
      proxy.release();
      await proxy.close();
    }
  });

  it('on a terminal, applies only after `yes`', async () => {
    const { repo, url, state } = await setup();
    const viaPty = (answer: string) =>
      new Promise<{ code: number | null; out: string }>((resolve) => {
        const cmd = `node --import tsx src/cli/main.ts apply ${repo} --control-plane ${url} --no-color`;
        const child = spawn('script', ['-qec', cmd, '/dev/null'], {
          cwd: REPO_ROOT,
          stdio: ['pipe', 'pipe', 'pipe'],
        });
        let out = '';
        let answered = false;
        child.stdout.setEncoding('utf8').on('data', (d: string) => {
          out += d;
          if (!answered && out.includes('Enter a value:')) {
            answered = true;
            child.stdin.write(`${answer}\r`);
          }
        });
        child.on('close', (code) => resolve({ code, out }));
      });
    const no = await viaPty('no');
    expect(no.out).toContain('Only `yes` will be accepted');
    expect(no.out).toContain('Apply cancelled');
    expect(no.code).toBe(1);
    expect((await liveOf(state)).pools.map((p) => p.name)).toEqual(['default']);
    const yes = await viaPty('yes');
    expect(yes.out).toContain('Apply complete');
    expect(yes.code).toBe(0);
  });

  it('a second apply is refused at once, naming the holder', async () => {
    const { repo, url, state } = await setup();
    const held = await acquireApplyLock(lockPathFor(url));
    try {
      const r = await runCli(['apply', repo, '--control-plane', url, '--auto-approve']);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(
        `another apply is running against this control plane: pid ${process.pid} on `,
      );
      expect(r.stderr).toContain(`${state}.apply.lock`);
      expect(existsSync(state)).toBe(false);
    } finally {
      await held.release();
    }
  });

  it('two concurrent applies (HTTP control plane): the one waiting on in-flight work holds the lock, the other is refused with its pid; the wait then lets the delete run', async () => {
    const { root, repo } = await setup();
    const { embedded, server } = await servedControlPlane({ port: 0, simulate: true });
    const args = ['--control-plane', server.url, '--auto-approve', '--state-dir', root];
    expect((await runCli(['apply', repo, ...args])).code).toBe(0);
    // In flight until the test says otherwise: the first apply cannot finish on its own.
    await embedded.setQueueActivity('old-1', { runs_in_flight: 3, actions_in_flight: 9 });
    await writeRepo(repo, V2);

    const first = startCli(['apply', repo, ...args]);
    // Its first poll, not only its step's start: the activity is cleared below, and a poll
    // after that would find nothing in flight.
    await first.waitForOutput((s) => s.includes('still waiting: queue old-1 has 3 runs'));
    const second = await runCli(['apply', repo, ...args]);
    expect(second.code).toBe(1);
    expect(second.stderr).toContain(
      `another apply is running against this control plane: pid ${first.child.pid} on `,
    );
    expect(second.stdout).toBe('');

    await embedded.setQueueActivity('old-1', { runs_in_flight: 0, actions_in_flight: 0 });
    const r = await first.done;
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/still waiting: queue old-1 has 3 runs, 9 actions in flight/);
    expect(r.stdout).toContain(
      // The co-named queue's selector pruned by the delete (C8) is the control plane's doing.
      'Apply complete: 0 created, 1 updated, 0 replaced, 1 deleted; 0 blocked; 1 more change made by the control plane itself (marked # in the plan).',
    );
    const waitDone = r.stdout.indexOf('Cluster/old-1: Wait complete');
    const deleted = r.stdout.indexOf('Cluster/old-1: Deletion complete');
    expect(waitDone).toBeGreaterThan(0);
    expect(deleted).toBeGreaterThan(waitDone);
    expect((await embedded.listClusters()).map((c) => c.name).sort()).toEqual(['old-2', 'prod-1']);
  });

  it('wait_idle timeout: the step fails, the delete does not run, exit 1 with the failure report', async () => {
    const { repo, url, state } = await setup();
    expect((await runCli(['apply', repo, '--control-plane', url, '--auto-approve'])).code).toBe(0);
    await withState(state, (cp) =>
      cp.setQueueActivity('old-1', { runs_in_flight: 1, actions_in_flight: 4 }),
    );
    await writeRepo(repo, V2);
    const r = await runCli([
      'apply',
      repo,
      '--control-plane',
      url,
      '--auto-approve',
      '--wait-timeout',
      '1s',
    ]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/Apply failed: \d+ of \d+ steps done, 1 failed, 1 not run\./);
    expect(r.stdout).toMatch(
      /✗ s\d+ wait_idle Cluster\/old-1: WAIT_TIMEOUT \(C9\): queues still busy after 1(\.0)?s: old-1 \(1 runs, 4 actions in flight\)/,
    );
    expect(r.stdout).toMatch(/- s\d+ delete_cluster Cluster\/old-1: not run/);
    expect((await liveOf(state)).clusters.map((c) => c.name)).toContain('old-1');
  });

  it('Ctrl-C while a cluster declared disabled registers (C6; the example on `control-plane serve`): its disable runs, the report names it, the cluster reads back disabled', async () => {
    const root = await tempDir();
    const repo = join(root, 'repo');
    // It declares prod-eu-west-1 `enabled: false`: its eu-residency work waits until enabled.
    await copyFolder(join(REPO_ROOT, 'examples', 'config-repo'), repo, { recursive: true });
    const { url } = await servedByCli(['--state', join(root, 'cp.json')]);
    const on = ['--control-plane', url, '--state-dir', join(root, 'state')];
    // Sent from the write of the registration's start line: its call is in flight.
    const r = await interruptedWhen('Cluster/prod-eu-west-1: Registering...', [
      'apply',
      repo,
      '--auto-approve',
      '--parallelism',
      '2',
      ...on,
    ]);
    expect([r.sent, r.code, r.err]).toEqual([true, 1, '']);
    expect(r.out).toMatch(
      /Cluster\/prod-eu-west-1: Updating\.\.\. \[s\d+\] \(disabling it although the apply is stopping: it was just registered, and the repository declares it disabled\)\n/,
    );
    expect(r.out).toMatch(/\nApply interrupted: \d+ of \d+ steps done, 0 failed, \d+ not run\./);
    expect(r.out).toContain('\n  ✓ Cluster/prod-eu-west-1: created\n');
    const read = await fetch(`${url.replace(/\/$/, '')}/v1/clusters/prod-eu-west-1`);
    expect(await read.json()).toMatchObject({ name: 'prod-eu-west-1', enabled: false });
    // The next plan has nothing left to do to it.
    const next = await runCli(['plan', repo, ...on, '--output', 'json']);
    const plan = JSON.parse(next.stdout) as Plan;
    expect(plan.steps.filter((st) => st.target === 'Cluster/prod-eu-west-1')).toEqual([]);
  });
});
