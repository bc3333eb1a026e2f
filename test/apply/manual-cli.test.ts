/**
 * `apply` with manual steps, as a user runs it (a child process): exit 2 and the runbook,
 * files written next to a saved plan, and `--flyte-cli` running the commands (fake-flyte.ts
 * as the CLI) before the steps that wait on them. The backend is the REST API of an embedded
 * control plane with create_pool made manual (helpers/manual-backend.ts).
 */
import { spawn } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import type { EmbeddedControlPlane } from '../../src/controlplane/embedded/embedded.js';
import type { ControlPlaneServer } from '../../src/controlplane/embedded/server.js';
import { HttpControlPlane } from '../../src/controlplane/rest/http-client.js';
import { controlPlaneIdentity } from '../../src/controlplane/identity.js';
import { planRepository } from '../../src/ops/plan-run.js';
import { planFileParts } from '../../src/render/plan-file.js';
import { REPO_ROOT, runCli } from '../support/cli.js';
import { installFakeFlyte } from './helpers/install-fake-flyte.js';
import { withManualSteps } from './helpers/manual-backend.js';
import { tempDir, writeRepo } from '../support/repo.js';
import { servedControlPlane } from '../support/served-control-plane.js';

const CHILD = join(REPO_ROOT, 'test/apply/helpers/manual-apply-child.ts');

let embedded: EmbeddedControlPlane;
let server: ControlPlaneServer;
let root: string;
let repo: string;

beforeEach(async () => {
  root = await tempDir();
  repo = await writeRepo(join(root, 'repo'), {
    pools: ['gpu'],
    clusters: { 'gpu-1': 'gpu', 'cpu-1': 'default' },
  });
  ({ embedded, server } = await servedControlPlane({ port: 0 }));
});

function apply(
  target: string,
  extra: Record<string, unknown> = {},
  env: Record<string, string> = {},
) {
  const args = {
    path: target,
    'control-plane': server.url,
    'auto-approve': true,
    parallelism: 8,
    'wait-timeout': '30m',
    'max-retries': 8,
    'state-dir': root,
    ...extra,
  };
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', CHILD, JSON.stringify(args), 'create_pool'],
    {
      cwd: REPO_ROOT,
      env: { ...process.env, NO_COLOR: '1', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
    child.on('close', (code) => resolve({ code, stdout, stderr })),
  );
}

describe('apply with manual steps', () => {
  it('applies what it can, then exits 2 with the runbook (file content as a here-document)', async () => {
    const r = await apply(repo);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(2);
    expect(r.stdout).toContain('ClusterPool/gpu  (manual: no public API, see Manual steps below)');
    expect(r.stdout).toMatch(
      /ClusterPool\/gpu: manual step, left for you \(no public API\) \[s1\]: flyte create cluster-pool gpu --file gpu\.yaml/,
    );
    expect(r.stdout).toContain('Cluster/cpu-1: Registration complete');
    expect(r.stdout).toContain(
      'Apply stopped at 1 manual step: 1 of 3 steps done, 1 waiting on a manual step.',
    );
    expect(r.stdout).toContain('register_cluster Cluster/gpu-1: waiting on manual step s1');
    const runbook = r.stdout.slice(r.stdout.indexOf('Runbook:'));
    expect(runbook).toContain(
      'Run it, then run `poolsync apply` again for the 1 step waiting on it (or apply with --flyte-cli PATH',
    );
    expect(runbook).toContain(`  cat > gpu.yaml <<'EOF'\n{\n  "name": "gpu",\n  "contract": {`);
    expect(runbook).toMatch(/\nEOF\n {2}flyte create cluster-pool gpu --file gpu\.yaml\n/);
    expect((await embedded.listClusters()).map((c) => c.name)).toEqual(['cpu-1']);
  });

  it('--output json: outcome manual_steps_left, exit 2, the manual step ids; the runbook on stderr', async () => {
    const r = await apply(repo, { output: 'json' });
    expect(r.code).toBe(2);
    const doc = JSON.parse(r.stdout) as {
      outcome: string;
      exit_code: number;
      manual: string[];
      steps_by_status: Record<string, number>;
    };
    expect(doc).toMatchObject({ outcome: 'manual_steps_left', exit_code: 2, manual: ['s1'] });
    expect(doc.steps_by_status).toEqual({ done: 1, failed: 0, not_run: 0, manual: 1, waiting: 1 });
    expect(r.stderr).toContain('Runbook:');
    expect(r.stderr).toContain('flyte create cluster-pool gpu --file gpu.yaml');
  });

  it('a saved plan: the --file contents are written next to it and the runbook says where', async () => {
    const cp = withManualSteps(new HttpControlPlane(server.url), new Set(['create_pool']));
    const planned = await planRepository(repo, cp);
    await cp.close();
    if (!planned.ok) throw new Error('invalid');
    const planFile = join(root, 'plan.json');
    const control_plane = controlPlaneIdentity(server.url, cp);
    await writeFile(
      planFile,
      [...planFileParts({ ...planned.plan, control_plane }, null)].join(''),
    );
    const r = await apply(planFile);
    expect(r.code).toBe(2);
    const written = await readFile(join(root, 'gpu.yaml'), 'utf8');
    expect(written).toBe(planned.plan.steps[0]!.manual!.file!.content);
    expect(r.stdout).toContain(`# The files these commands read were written to ${root}:`);
    expect(r.stdout).toContain('then plan and apply again (this saved plan is then stale)');
    expect(r.stdout).not.toContain("<<'EOF'");
  });

  it('--flyte-cli runs the manual command, then the steps that waited on it: exit 0', async () => {
    const bin = await installFakeFlyte(root);
    const log = join(root, 'flyte.log');
    const r = await apply(
      repo,
      { 'flyte-cli': bin },
      { FAKE_FLYTE_LOG: log, FAKE_FLYTE_API: server.url },
    );
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('ClusterPool/gpu: | cluster pool gpu created');
    expect(r.stdout).toMatch(
      /ClusterPool\/gpu: Creation complete after .* \(ran .*flyte create cluster-pool gpu --file gpu\.yaml\)/,
    );
    expect(r.stdout).toContain(
      'Apply complete: 3 created, 0 updated, 0 replaced, 0 deleted; 0 blocked; 2 more changes made by the control plane itself',
    );
    expect(r.stdout).not.toContain('Runbook');
    const [call] = (await readFile(log, 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { argv: string[] });
    expect(call!.argv.slice(0, 3)).toEqual(['create', 'cluster-pool', 'gpu']);
    expect((await embedded.listClusters()).map((c) => `${c.name}@${c.pool}`)).toEqual([
      'cpu-1@default',
      'gpu-1@gpu',
    ]);
  });

  it('--flyte-cli naming no executable is refused before anything is applied', async () => {
    const r = await runCli([
      'apply',
      repo,
      '--control-plane',
      server.url,
      '--auto-approve',
      '--flyte-cli',
      join(root, 'no-such-flyte'),
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('--flyte-cli');
    expect(r.stderr).toContain('not an executable file');
    expect(await embedded.listClusters()).toEqual([]);
  });
});
