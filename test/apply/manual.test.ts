/**
 * Manual steps (plan.md, docs/apply.md): a backend with no public API for some ops marks
 * them `manual` in the plan; apply runs every api step it can, leaves the manual ones and
 * their dependents, or runs them with a flyte CLI (a real child process: fake-flyte.ts,
 * which performs them through the REST API of the same embedded control plane).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { executePlan } from '../../src/apply/executor.js';
import { flyteCliRunner, isCliCommand, manualArgv, shellWords } from '../../src/apply/manual.js';
import type { EmbeddedControlPlane } from '../../src/controlplane/embedded/embedded.js';
import type { ControlPlaneServer } from '../../src/controlplane/embedded/server.js';
import { HttpControlPlane } from '../../src/controlplane/rest/http-client.js';
import type { ControlPlane } from '../../src/controlplane/types.js';
import type { Plan } from '../../src/model/plan.js';
import { planRepository } from '../../src/ops/plan-run.js';
import { parsePlanFile, planFileParts } from '../../src/render/plan-file.js';
import { renderMarkdown } from '../../src/render/markdown.js';
import { renderText } from '../../src/render/text.js';
import { installFakeFlyte } from './helpers/install-fake-flyte.js';
import { withManualSteps } from './helpers/manual-backend.js';
import { tempDir, writeRepo, type RepoSpec } from '../support/repo.js';
import { servedControlPlane } from '../support/served-control-plane.js';

const SPEC: RepoSpec = {
  pools: ['gpu'],
  clusters: { 'gpu-1': 'gpu', 'cpu-1': 'default' },
  queues: { training: { pool: 'gpu', clusters: ['gpu-1'] } },
  assignments: { 'ml/prod': 'gpu', 'web/prod': 'default' },
};

let embedded: EmbeddedControlPlane;
let server: ControlPlaneServer;
let cp: ControlPlane;
let root: string;
let repo: string;

beforeEach(async () => {
  root = await tempDir();
  repo = await writeRepo(join(root, 'repo'), SPEC);
  ({ embedded, server } = await servedControlPlane({ port: 0 }));
  cp = withManualSteps(new HttpControlPlane(server.url), new Set(['create_pool']));
});

// The client first: the server and the plane close after it, when the test ends.
afterEach(async () => {
  await cp.close();
});

async function plan(): Promise<Plan> {
  const r = await planRepository(repo, cp);
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.plan;
}

describe('planning', () => {
  it('marks the steps the backend names manual, with its command and file; every other step api', async () => {
    const p = await plan();
    const byOp = (op: string) => p.steps.filter((s) => s.op === op);
    expect(byOp('create_pool').map((s) => [s.target, s.execution])).toEqual([
      ['ClusterPool/gpu', 'manual'],
    ]);
    const pool = byOp('create_pool')[0]!;
    expect(pool.manual).toMatchObject({
      command: 'flyte create cluster-pool gpu --file gpu.yaml',
      file: { name: 'gpu.yaml' },
    });
    expect(JSON.parse(pool.manual!.file!.content)).toMatchObject({ name: 'gpu' });
    expect(p.steps.filter((s) => s.op !== 'create_pool').every((s) => s.execution === 'api')).toBe(
      true,
    );
    expect(p.steps.filter((s) => s.execution === 'api').every((s) => !('manual' in s))).toBe(true);
    // The JSON form carries it and passes the plan schema; a saved plan keeps it.
    const saved = {
      ...p,
      control_plane: { backend: 'union', endpoint: 'union+https://u', organization: 'o' },
    };
    const again = parsePlanFile([...planFileParts(saved, null)].join(''), 'plan.json', {
      key: null,
    });
    expect(again.steps.find((s) => s.op === 'create_pool')).toEqual(pool);
  });

  it('renderers show the manual steps with the exact command and the file content', async () => {
    const p = await plan();
    const text = renderText(p, { color: false });
    expect(text).toContain('ClusterPool/gpu  (manual: no public API, see Manual steps below)');
    expect(text).toContain('Manual steps (1):');
    expect(text).toContain('  # 1. [s1] ClusterPool/gpu: this test backend has no API');
    expect(text).toContain(`  cat > gpu.yaml <<'EOF'\n{\n  "name": "gpu",`);
    expect(text).toContain('EOF\n  flyte create cluster-pool gpu --file gpu.yaml\n');
    expect(text).toMatch(/\(\d+ steps wait on it\)/);
    const md = renderMarkdown(p);
    expect(md).toContain('### Manual steps (1)');
    expect(md).toContain('```sh\n# 1. [s1] ClusterPool/gpu');
    expect(md).toContain('flyte create cluster-pool gpu --file gpu.yaml');
  });
});

describe('apply', () => {
  it('runs every api step it can, leaves the manual step and its dependents waiting', async () => {
    const p = await plan();
    const events: string[] = [];
    const result = await executePlan(p, cp, {
      onEvent: (e) => {
        if (e.type === 'step_manual') events.push(e.step.id);
      },
    });
    expect(result.ok).toBe(false);
    const pool = p.steps.find((s) => s.op === 'create_pool')!;
    expect(result.manual).toEqual([pool.id]);
    expect(events).toEqual([pool.id]);
    const status = new Map(result.steps.map((s) => [s.target + ' ' + s.op, s]));
    expect(status.get('ClusterPool/gpu create_pool')?.status).toBe('manual');
    // Dependents of the pool wait; what lives in `default` is applied.
    for (const waiting of [
      'Cluster/gpu-1 register_cluster',
      'Queue/training create_queue',
      'PoolAssignment/ml/prod set_assignment',
    ]) {
      expect(status.get(waiting)).toMatchObject({
        status: 'waiting',
        note: `waiting on manual step ${pool.id}`,
      });
    }
    expect(status.get('Cluster/cpu-1 register_cluster')?.status).toBe('done');
    expect(status.get('PoolAssignment/web/prod set_assignment')?.status).toBe('done');
    const live = await embedded.listClusters();
    expect(live.map((c) => c.name)).toEqual(['cpu-1']);
  });

  it('--flyte-cli: runs the command as a child process (argv, file), then its dependents', async () => {
    const bin = await installFakeFlyte(root);
    const log = join(root, 'flyte.log');
    process.env.FAKE_FLYTE_LOG = log;
    process.env.FAKE_FLYTE_API = server.url;
    try {
      const p = await plan();
      const output: string[] = [];
      const result = await executePlan(p, cp, {
        runManual: flyteCliRunner(bin, process.env),
        onEvent: (e) => {
          if (e.type === 'manual_output') output.push(`${e.stream}: ${e.line}`);
        },
      });
      expect(result.steps.filter((s) => s.status !== 'done')).toEqual([]);
      expect(result.ok).toBe(true);
      expect(output).toEqual(['stdout: cluster pool gpu created']);
      const calls = (await readFile(log, 'utf8'))
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { argv: string[]; file: string | null });
      expect(calls).toHaveLength(1);
      const [argv] = calls.map((c) => c.argv);
      expect(argv!.slice(0, 4)).toEqual(['create', 'cluster-pool', 'gpu', '--file']);
      // The file was written to a private temporary folder (and removed after the run).
      expect(argv![4]).toMatch(/poolsync-manual-.*[/\\]gpu\.yaml$/);
      expect(JSON.parse(calls[0]!.file!)).toEqual({
        name: 'gpu',
        contract: p.steps.find((s) => s.op === 'create_pool')!.args['contract' as never],
      });
      // Converged: a new plan has nothing to do.
      expect((await plan()).steps).toEqual([]);
    } finally {
      delete process.env.FAKE_FLYTE_LOG;
      delete process.env.FAKE_FLYTE_API;
    }
  });

  it('--flyte-cli: a failing command fails its step (exit code, last output), dependents not run', async () => {
    const bin = await installFakeFlyte(root);
    process.env.FAKE_FLYTE_LOG = join(root, 'flyte.log');
    process.env.FAKE_FLYTE_FAIL = 'not logged in: run flyte login';
    try {
      const p = await plan();
      const result = await executePlan(p, cp, { runManual: flyteCliRunner(bin, process.env) });
      const pool = result.steps.find((s) => s.op === 'create_pool')!;
      expect(pool.status).toBe('failed');
      expect(pool.error).toMatchObject({ code: 'MANUAL_COMMAND_FAILED' });
      expect(pool.error!.message).toContain('exited with code 3');
      expect(pool.error!.message).toContain('not logged in: run flyte login');
      expect(result.steps.find((s) => s.target === 'Cluster/gpu-1')?.status).toBe('not_run');
    } finally {
      delete process.env.FAKE_FLYTE_LOG;
      delete process.env.FAKE_FLYTE_FAIL;
    }
  });

  it('a manual step behind another manual step is left for the person too, not "not run"', async () => {
    const both = withManualSteps(cp, new Set(['create_pool', 'register_cluster']));
    const r = await planRepository(repo, both);
    if (!r.ok) throw new Error('invalid');
    const result = await executePlan(r.plan, both);
    const statusOf = (target: string, op: string) =>
      result.steps.find((s) => s.target === target && s.op === op)?.status;
    expect(statusOf('ClusterPool/gpu', 'create_pool')).toBe('manual');
    expect(statusOf('Cluster/gpu-1', 'register_cluster')).toBe('manual');
    expect(statusOf('Cluster/cpu-1', 'register_cluster')).toBe('manual');
    expect(statusOf('Queue/training', 'create_queue')).toBe('waiting');
    expect(result.steps.filter((s) => s.status === 'not_run' || s.status === 'failed')).toEqual([]);
  });

  it('--flyte-cli leaves a step whose command is not a flyte command (a console action) to the person', async () => {
    const bin = await installFakeFlyte(root);
    process.env.FAKE_FLYTE_LOG = join(root, 'flyte.log');
    process.env.FAKE_FLYTE_API = server.url;
    try {
      await writeRepo(repo, { ...SPEC, clusters: { 'gpu-1': { pool: 'gpu', enabled: false } } });
      const mixed = withManualSteps(cp, new Set(['create_pool', 'update_cluster']));
      const r = await planRepository(repo, mixed);
      if (!r.ok) throw new Error('invalid');
      const disable = r.plan.steps.find((s) => s.op === 'update_cluster')!;
      expect(disable.manual?.command).toBe('# disable cluster gpu-1 in the console');
      expect(isCliCommand(disable)).toBe(false);
      const result = await executePlan(r.plan, mixed, {
        runManual: flyteCliRunner(bin, process.env),
        canRunManual: isCliCommand,
      });
      const statusOf = (op: string) => result.steps.find((s) => s.op === op)?.status;
      expect(statusOf('create_pool')).toBe('done');
      expect(statusOf('register_cluster')).toBe('done');
      expect(statusOf('update_cluster')).toBe('manual');
      expect(result.manual).toEqual([disable.id]);
      expect(() => manualArgv(disable, bin, null)).toThrow(/not a flyte command; do it by hand/);
    } finally {
      delete process.env.FAKE_FLYTE_LOG;
      delete process.env.FAKE_FLYTE_API;
    }
  });

  it('--flyte-cli with a path that does not exist is a clear step failure', async () => {
    const p = await plan();
    const result = await executePlan(p, cp, {
      runManual: flyteCliRunner(join(root, 'no-such-flyte'), process.env),
    });
    const pool = result.steps.find((s) => s.op === 'create_pool')!;
    expect(pool.error?.message).toContain('no such program');
  });
});

describe('commands', () => {
  it('splits shell-quoted commands into argv and refuses what needs a shell', () => {
    expect(shellWords(`flyte create cluster-pool 'my pool' --file "a \\"b\\".yaml" x\\ y`)).toEqual(
      ['flyte', 'create', 'cluster-pool', 'my pool', '--file', 'a "b".yaml', 'x y'],
    );
    expect(() => shellWords('flyte get pools | head')).toThrow(/would need a shell/);
    expect(() => shellWords('flyte "$HOME"')).toThrow(/shell expansion/);
    expect(() => shellWords("flyte 'open")).toThrow(/unterminated/);
  });

  it('runs the CLI given instead of the command word, the file argument replaced by its path', () => {
    const step = {
      id: 's1',
      op: 'create_pool',
      target: 'ClusterPool/gpu',
      depends_on: [],
      args: { name: 'gpu' },
      execution: 'manual',
      manual: {
        reason: 'r',
        command: 'flyte create cluster-pool gpu --file gpu.yaml',
        file: { name: 'gpu.yaml', content: 'x' },
      },
    } as never;
    expect(manualArgv(step, '/opt/flyte', '/tmp/d/gpu.yaml')).toEqual([
      '/opt/flyte',
      'create',
      'cluster-pool',
      'gpu',
      '--file',
      '/tmp/d/gpu.yaml',
    ]);
  });
});
