/**
 * `poolsync apply --output json` (docs/apply.md#json-output): one document on stdout, valid
 * against schemas/apply-result.schema.json, whose outcome and exit_code are the process's; the
 * progress a person follows goes to stderr. Run as a user runs it (a child process).
 */
import { readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { cleanup } from '../support/cleanup.js';
import { EmbeddedControlPlane } from '../../src/controlplane/embedded/embedded.js';
import { startControlPlaneServer } from '../../src/controlplane/embedded/server.js';
import { startFaultProxy } from '../support/fault-proxy.js';
import { REPO_ROOT, runCli } from '../support/cli.js';
import { tempDir, writeRepo } from '../support/repo.js';

const schema = JSON.parse(
  readFileSync(join(REPO_ROOT, 'schemas/apply-result.schema.json'), 'utf8'),
) as object;
const validate = new Ajv2020({ strict: true, allErrors: true }).compile(schema);

interface Doc {
  outcome: string;
  exit_code: number;
  control_plane: { backend: string; endpoint: string } | null;
  counts: Record<string, number>;
  steps_by_status: Record<string, number>;
  steps: {
    id: string;
    op: string;
    target: string;
    status: string;
    error: { code: string } | null;
  }[];
  applied: { address: string; action: string }[];
}

/** The one document on stdout, checked against the schema. */
function documentOf(stdout: string): Doc {
  const doc = JSON.parse(stdout) as unknown;
  expect(validate(doc), JSON.stringify(validate.errors)).toBe(true);
  return doc as Doc;
}

async function setup() {
  const root = await tempDir();
  cleanup.add(() => rm(root, { recursive: true, force: true }));
  const repo = await writeRepo(join(root, 'repo'), {
    pools: ['prod'],
    clusters: { 'prod-1': 'prod', 'prod-2': 'prod' },
  });
  return { root, repo, url: `file:${join(root, 'cp.json')}` };
}

describe('poolsync apply --output json', () => {
  it('applied, then no_changes: one document each, the outcome and exit code are the process’s', async () => {
    const { repo, url } = await setup();
    const r = await runCli(['apply', repo, '--control-plane', url, '--auto-approve', '-o', 'json']);
    expect(r.code).toBe(0);
    const doc = documentOf(r.stdout);
    expect(doc.outcome).toBe('applied');
    expect(doc.exit_code).toBe(0);
    expect(doc.control_plane?.backend).toBe('embedded');
    expect(doc.counts).toMatchObject({ created: 3, updated: 0, deleted: 0, replaced: 0 });
    expect(doc.steps.map((s) => `${s.op} ${s.target} ${s.status}`)).toEqual([
      'create_pool ClusterPool/prod done',
      'register_cluster Cluster/prod-1 done',
      'register_cluster Cluster/prod-2 done',
    ]);
    expect(doc.steps_by_status).toEqual({ done: 3, failed: 0, not_run: 0, manual: 0, waiting: 0 });
    expect(doc.applied.map((a) => `${a.action} ${a.address}`)).toContain('create ClusterPool/prod');
    // The progress went to stderr; the plan's text is not printed.
    expect(r.stderr).toContain('ClusterPool/prod: Creation complete after');
    expect(r.stdout).not.toContain('Plan:');

    const again = await runCli([
      'apply',
      repo,
      '--control-plane',
      url,
      '--auto-approve',
      '--output',
      'json',
    ]);
    expect(again.code).toBe(0);
    const none = documentOf(again.stdout);
    expect(none).toMatchObject({ outcome: 'no_changes', exit_code: 0, steps: [], applied: [] });
    expect(again.stderr).toBe('');
  });

  it('a failed step: outcome failed, exit 1, the step’s error and the steps not run', async () => {
    const { root, repo } = await setup();
    const embedded = await EmbeddedControlPlane.open({ path: join(root, 'served.json') });
    const server = await startControlPlaneServer({ controlPlane: embedded, port: 0 });
    const proxy = await startFaultProxy(server.url, (_n, method, path) =>
      method === 'POST' && path.startsWith('/v1/clusters') ? 'fail' : 'pass',
    );
    cleanup.add(async () => {
      await proxy.close();
      await server.close();
      await embedded.close();
    });
    const r = await runCli([
      'apply',
      repo,
      '--control-plane',
      proxy.url,
      '--auto-approve',
      '--output',
      'json',
      '--max-retries',
      '0',
      '--parallelism',
      '1',
      '--state-dir',
      join(root, 'state'),
    ]);
    expect(r.code).toBe(1);
    const doc = documentOf(r.stdout);
    expect(doc).toMatchObject({ outcome: 'failed', exit_code: 1 });
    expect(doc.steps[0]).toMatchObject({ target: 'ClusterPool/prod', status: 'done' });
    expect(doc.steps[1]).toMatchObject({ target: 'Cluster/prod-1', status: 'failed' });
    expect(doc.steps[1]!.error?.code).toMatch(/\S/);
    expect(doc.steps[2]).toMatchObject({ target: 'Cluster/prod-2', status: 'not_run' });
    expect(doc.steps_by_status).toEqual({ done: 1, failed: 1, not_run: 1, manual: 0, waiting: 0 });
    expect(doc.counts.created).toBe(1);
    expect(r.stderr).toContain('A step failed');
  });

  it('a folder without --auto-approve is refused: JSON output never asks', async () => {
    const { repo, url } = await setup();
    const r = await runCli(['apply', repo, '--control-plane', url, '--output', 'json']);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('apply --output json does not ask for confirmation');
  });
});
