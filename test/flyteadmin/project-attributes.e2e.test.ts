/**
 * Project-wide ExecutionClusterLabel (issue 73, item 8): flyteadmin's lowest match level
 * (repositories/models/resource.go: ResourcePriorityProjectLevel 5), written through
 * `/api/v1/project_attributes/{project}` (service/admin.proto). On the real flyteadmin v1.13.0
 * and on the stand-in, which must answer those calls as the real one does:
 *  - the CLI applies a repository declaring a label without a domain beside a project/domain
 *    one; flyteadmin's own API (and flytectl on the real one) reads them back, each domain
 *    without a row of its own getting the project's (precedence: project-domain over project);
 *    the next plan says "No changes";
 *  - removed from the repository, the project-wide delete (which takes every row of the type in
 *    the project: resource_repo.go Delete) is blocked while it would take a row poolsync does
 *    not manage, and once applied takes only what the plan showed;
 *  - the stand-in's GET/PUT/DELETE answers are the real one's, field for field.
 */
import { execFile } from 'node:child_process';
import { writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runInProcess } from '../support/memory-io.js';
import { tempFolder } from '../support/temp-folder.js';
import { FLYTECTL, binary } from './real/binaries.js';
import {
  FLYTE_CONFIG,
  ecl,
  flyteadminTargets,
  rowKey,
  type FlyteadminUnderTest,
} from './targets.js';

const LABEL = 'resource_type=EXECUTION_CLUSTER_LABEL';
const NOTHING_TO_SEND =
  'No changes to send to the control plane. The repository declares ExecutionCluster and ClusterLabel objects, which have no API and no rendered file to compare them with';
const flytectlBin = binary(FLYTECTL, 'flytectl');
const run = promisify(execFile);

const targets = flyteadminTargets();
afterAll(() => targets.close());

describe.each(targets.list)('flyteadmin $name: project-wide ExecutionClusterLabel', (target) => {
  let fa: FlyteadminUnderTest;
  let dir: string;

  beforeEach(async ({ skip }) => {
    if (target.missing) skip(target.missing);
    fa = await target.start({ projects: ['team1', 'team2', { id: 'old', state: 'ARCHIVED' }] });
    dir = tempFolder('poolsync-project-attributes-');
  });
  afterEach(async () => {
    await fa?.close();
  });

  async function repo(files: Record<string, string>, config = 'prune: true'): Promise<string> {
    const folder = join(dir, `repo-${Object.keys(files).join('-')}-${Date.now()}`);
    await mkdir(folder, { recursive: true });
    // A folder a commit, of one repository (docs/plan.md, Prune scope): one name for all.
    await writeFile(
      join(folder, 'poolsync.yaml'),
      `apiVersion: poolsync/v1\nkind: RepoConfig\nrepository: project-attributes\n${config}\n`,
    );
    for (const [name, text] of Object.entries(files)) await writeFile(join(folder, name), text);
    return folder;
  }
  const poolsync = (...args: string[]) =>
    runInProcess(args, { ...process.env, POOLSYNC_CONTROL_PLANE: fa.url }, dir);
  const value = (json: Record<string, unknown>) =>
    (
      (json['attributes'] as Record<string, unknown> | undefined)?.['matching_attributes'] as
        { execution_cluster_label?: { value?: string } } | undefined
    )?.execution_cluster_label?.value ?? null;
  /** flyteadmin's answer for P/D: its most specific row (resource_repo.go Get, priority desc). */
  const effective = async (project: string, domain: string) =>
    value(
      (await fa.call('GET', `/api/v1/project_domain_attributes/${project}/${domain}?${LABEL}`))
        .json,
    );
  const projectRow = async (project: string) =>
    value((await fa.call('GET', `/api/v1/project_attributes/${project}?${LABEL}`)).json);
  const labelRows = async () => (await fa.rows('EXECUTION_CLUSTER_LABEL')).map(rowKey);

  it('apply writes it through project_attributes; flyteadmin reads it back under every domain without its own row; the next plan has no changes', async () => {
    const folder = await repo({
      'flyte.yaml': FLYTE_CONFIG,
      'labels.yaml': [
        ecl('team1-all', 'project: team1, label: label1'),
        ecl('team1-prod', 'project: team1, domain: production, label: label2'),
      ].join('---\n'),
    });
    const planned = await poolsync('plan', folder, '--output', 'json');
    expect(planned.code, planned.stderr).toBe(0);
    const plan = JSON.parse(planned.stdout) as {
      changes: { address: string; action: string }[];
      steps: { op: string; target: string; args: Record<string, unknown> }[];
    };
    expect(
      plan.changes
        .filter((c) => c.address.startsWith('ExecutionClusterLabel/'))
        .map((c) => [c.address, c.action]),
    ).toEqual([
      ['ExecutionClusterLabel/team1/*', 'create'],
      ['ExecutionClusterLabel/team1/production', 'create'],
    ]);
    expect(plan.steps.find((s) => s.target === 'ExecutionClusterLabel/team1/*')?.args).toEqual({
      project: 'team1',
      domain: '',
      workflow: null,
      label: 'label1',
    });

    const applied = await poolsync('apply', folder, '--auto-approve');
    expect(applied.code, applied.stderr).toBe(0);
    // Read back through flyteadmin's own API: the project row, and each domain's answer.
    expect(await labelRows()).toEqual(['team1///=label1', 'team1/production//=label2']);
    expect(await projectRow('team1')).toBe('label1');
    expect(await effective('team1', 'production')).toBe('label2');
    expect(await effective('team1', 'development')).toBe('label1');
    expect(await effective('team1', 'staging')).toBe('label1');
    // Another project is not covered.
    expect(
      (await fa.call('GET', `/api/v1/project_domain_attributes/team2/development?${LABEL}`)).status,
    ).toBe(404);

    // Nothing to send; the labels' clusters are in no rendered file (no poolsync.yaml render):
    // said as unknown, not counted as a change.
    const again = await poolsync('plan', folder, '--detailed-exitcode');
    expect(again.stdout).toContain(NOTHING_TO_SEND);
    expect(again.code).toBe(0);
    const refresh = await poolsync('plan', folder, '--refresh-only', '--detailed-exitcode');
    expect(refresh.code, refresh.stdout).toBe(0);
  });

  it.skipIf(flytectlBin === null || !target.name.startsWith('flyteadmin v'))(
    'flytectl reads the project-wide label back (real flyteadmin)',
    async () => {
      const folder = await repo({
        'flyte.yaml': FLYTE_CONFIG,
        'labels.yaml': ecl('team1-all', 'project: team1, label: label1'),
      });
      expect((await poolsync('apply', folder, '--auto-approve')).code).toBe(0);
      const config = join(dir, 'flytectl.yaml');
      await writeFile(
        config,
        `admin:\n  endpoint: ${fa.grpcEndpoint}\n  insecure: true\nlogger:\n  level: 0\n`,
      );
      // flytectl v0.9.8's get takes a domain (cmd/core/cmd.go); flyteadmin answers a domain
      // without a row of its own with the project's.
      const child = run(
        flytectlBin!,
        [
          '--config',
          config,
          'get',
          'execution-cluster-label',
          '-p',
          'team1',
          '-d',
          'staging',
          '-o',
          'json',
        ],
        { cwd: dir },
      );
      child.child.stdin?.end();
      expect(JSON.parse((await child).stdout)).toEqual({
        project: 'team1',
        domain: 'staging',
        value: 'label1',
      });
    },
  );

  it('removed: the project-wide delete takes every row of the project, so it is blocked while one is unmanaged, and applied takes only what the plan showed', async () => {
    const both = await repo({
      'flyte.yaml': FLYTE_CONFIG,
      'labels.yaml': [
        ecl('team1-all', 'project: team1, label: label1'),
        ecl('team1-dev', 'project: team1, domain: development, label: label2'),
        ecl('team2-all', 'project: team2, label: label2'),
      ].join('---\n'),
    });
    expect((await poolsync('apply', both, '--auto-approve')).code).toBe(0);
    // A launch-plan row no API writes (flyteadmin's database may hold one).
    await fa.insertRow('EXECUTION_CLUSTER_LABEL', {
      project: 'team1',
      domain: 'production',
      workflow: 'wf.a',
      launch_plan: 'nightly',
      value: 'label2',
    });
    const without = await repo({
      'flyte.yaml': FLYTE_CONFIG,
      'labels.yaml': [
        ecl('team1-dev', 'project: team1, domain: development, label: label2'),
        ecl('team2-all', 'project: team2, label: label2'),
      ].join('---\n'),
    });
    const blocked = await poolsync('plan', without, '--output', 'json');
    const bp = JSON.parse(blocked.stdout) as {
      changes: { address: string; action: string; reason: string | null }[];
      steps: unknown[];
    };
    const team1 = bp.changes.find((c) => c.address === 'ExecutionClusterLabel/team1/*')!;
    expect(team1.action).toBe('blocked');
    expect(team1.reason).toContain(
      'DELETE project_attributes/team1 also deletes the narrower EXECUTION_CLUSTER_LABEL rows of project team1 (every domain)',
    );
    expect(team1.reason).toContain(
      'ExecutionClusterLabel/team1/production/wf.a/nightly (label label2)',
    );
    // Blocked sends nothing.
    expect(bp.steps).toEqual([]);

    // Accepted: the project row goes, the launch-plan row along (shown), the project/domain row
    // the repository keeps is set again after it; team2 is untouched.
    const accepted = await poolsync(
      'apply',
      without,
      '--auto-approve',
      '--accept-cascade',
      'ExecutionClusterLabel/team1/*',
    );
    expect(accepted.code, accepted.stderr + accepted.stdout).toBe(0);
    expect(accepted.stdout).toContain('ExecutionClusterLabel/team1/production/wf.a/nightly');
    expect(await labelRows()).toEqual(['team1/development//=label2', 'team2///=label2']);
    expect(await effective('team1', 'production')).toBeNull();
    const after = await poolsync('plan', without, '--detailed-exitcode');
    expect([after.code, after.stdout]).toEqual([0, expect.stringContaining(NOTHING_TO_SEND)]);
  });

  it('the project_attributes calls answer as the real flyteadmin does', async () => {
    const put = (project: string, body: unknown) =>
      fa.call('PUT', `/api/v1/project_attributes/${project}`, body);
    const attributes = (project: string, label: string) => ({
      attributes: { project, matching_attributes: { execution_cluster_label: { value: label } } },
    });
    // None yet: NotFound, naming the row as flyteadmin's ResourceID prints.
    expect(await fa.call('GET', `/api/v1/project_attributes/team1?${LABEL}`)).toEqual({
      status: 404,
      json: {
        code: 5,
        message:
          'Resource [{Project:team1 Domain: Workflow: LaunchPlan: ResourceType:EXECUTION_CLUSTER_LABEL}] not found',
        details: [],
      },
    });
    expect(await put('team1', attributes('team1', 'label1'))).toEqual({ status: 200, json: {} });
    expect(await fa.call('GET', `/api/v1/project_attributes/team1?${LABEL}`)).toEqual({
      status: 200,
      json: {
        attributes: {
          project: 'team1',
          matching_attributes: { execution_cluster_label: { value: 'label1' } },
          org: '',
        },
      },
    });
    // Only the project row is read, never a narrower one (GetProjectLevel).
    await fa.call('PUT', '/api/v1/project_domain_attributes/team2/development', {
      attributes: {
        project: 'team2',
        domain: 'development',
        matching_attributes: { execution_cluster_label: { value: 'label2' } },
      },
    });
    expect((await fa.call('GET', `/api/v1/project_attributes/team2?${LABEL}`)).status).toBe(404);
    // Unknown and archived projects: refused for a write (InvalidArgument); an archived one is
    // read (ValidateProjectExists).
    const unknown = await put('nope', attributes('nope', 'label1'));
    expect([unknown.status, unknown.json['code']]).toEqual([400, 3]);
    expect(String(unknown.json['message'])).toContain(
      'failed to validate that project [nope] is registered',
    );
    expect(await put('old', attributes('old', 'label1'))).toMatchObject({
      status: 400,
      json: { code: 3, message: 'project [old] is not active' },
    });
    expect((await fa.call('GET', `/api/v1/project_attributes/old?${LABEL}`)).status).toBe(404);
    const missing = await fa.call('GET', `/api/v1/project_attributes/nope?${LABEL}`);
    expect([missing.status, missing.json['code']]).toEqual([400, 3]);
    // The delete takes every row of the type in the project, at every level.
    await fa.call('PUT', '/api/v1/project_domain_attributes/team1/staging', {
      attributes: {
        project: 'team1',
        domain: 'staging',
        matching_attributes: { execution_cluster_label: { value: 'label2' } },
      },
    });
    expect(
      await fa.call('DELETE', '/api/v1/project_attributes/team1', {
        project: 'team1',
        resource_type: 'EXECUTION_CLUSTER_LABEL',
      }),
    ).toEqual({ status: 200, json: {} });
    expect(await labelRows()).toEqual(['team2/development//=label2']);
  });
});
