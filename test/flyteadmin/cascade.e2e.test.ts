/**
 * What a delete takes along, planned against the real flyteadmin and the stand-in, which
 * deletes as upstream does (gormimpl/resource_repo.go: a project/domain delete removes the workflow- and
 * launch-plan-level rows of its type in that project/domain). The plan shows each row taken,
 * sets the rows the repository wants again after the delete in the same apply, and blocks a
 * delete that would take a row poolsync does not manage until it is accepted.
 */
import { whyText } from '../../src/render/common.js';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { executePlan } from '../../src/apply/executor.js';
import { openControlPlane } from '../../src/controlplane/open.js';
import type { ControlPlane } from '../../src/controlplane/types.js';
import type { Plan } from '../../src/model/plan.js';
import { planRepository, type PipelineOptions } from '../../src/ops/plan-run.js';
import { renderText } from '../../src/render/text.js';
import { splitHeld } from '../../src/plan/hold.js';
import {
  FLYTE_CONFIG,
  ecl,
  flyteadminTargets,
  rowKey,
  type FlyteadminUnderTest,
} from './targets.js';

const pa = (name: string, spec: string) =>
  `apiVersion: poolsync/v1\nkind: PoolAssignment\nmetadata: {name: ${name}}\nspec: {${spec}}\n`;
const POOLS = `apiVersion: poolsync/v1
kind: ClusterPool
metadata: {name: gpu}
spec:
  object_store_ref: {uri: s3://acme-gpu/metadata}
  secret_store: {type: AWS_SECRETS_MANAGER, locator: us-east-1}
`;

const targets = flyteadminTargets();
afterAll(() => targets.close());

describe.each(targets.list)('flyteadmin $name: what a delete takes along', (target) => {
  let fa: FlyteadminUnderTest;
  let cp: ControlPlane;
  let dir: string;

  beforeEach(async ({ skip }) => {
    if (target.missing) skip(target.missing);
    fa = await target.start();
    cp = await openControlPlane(fa.url, { env: process.env });
    dir = await mkdtemp(join(tmpdir(), 'poolsync-cascade-'));
  });
  afterEach(async () => {
    await cp?.close();
    await fa?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  async function repo(files: Record<string, string>, config = 'prune: true'): Promise<void> {
    await rm(dir, { recursive: true, force: true });
    const { mkdir } = await import('node:fs/promises');
    await mkdir(dir, { recursive: true });
    await writeFile(
      join(dir, 'poolsync.yaml'),
      `apiVersion: poolsync/v1\nkind: RepoConfig\n${config}\n`,
    );
    for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
  }
  async function plan(opts: PipelineOptions = {}): Promise<Plan> {
    const r = await planRepository(dir, cp, opts);
    if (!r.ok) throw new Error(JSON.stringify(r.errors));
    expect(r.plan.errors).toEqual([]);
    return r.plan;
  }
  const labelRows = async () => (await fa.rows('EXECUTION_CLUSTER_LABEL')).map(rowKey);
  const steps = (p: Plan) =>
    p.steps.map((s) => `${s.id} ${s.op} ${s.target} <- ${s.depends_on.join(',')}`);

  it('a project/domain label removed: the workflow label the repository keeps is set again after the delete, in the same apply', async () => {
    await repo({
      'flyte.yaml': FLYTE_CONFIG,
      'labels.yaml': [
        ecl('pd', 'project: team1, domain: development, label: label1'),
        ecl('wf', 'project: team1, domain: development, workflow: wf.a, label: label2'),
      ].join('---\n'),
    });
    expect((await executePlan(await plan(), cp)).ok).toBe(true);
    expect(await labelRows()).toEqual([
      'team1/development//=label1',
      'team1/development/wf.a/=label2',
    ]);

    await repo({
      'flyte.yaml': FLYTE_CONFIG,
      'labels.yaml': [
        ecl('wf', 'project: team1, domain: development, workflow: wf.a, label: label2'),
        // A new workflow label in the same project/domain: its PUT must not race the delete.
        ecl('new', 'project: team1, domain: development, workflow: wf.c, label: label1'),
      ].join('---\n'),
    });
    const p = await plan();
    const byAddress = new Map(p.changes.map((c) => [c.address, c]));
    expect(byAddress.get('ExecutionClusterLabel/team1/development')?.action).toBe('delete');
    const wf = byAddress.get('ExecutionClusterLabel/team1/development/wf.a')!;
    expect([wf.action, wf.caused_by]).toEqual([
      'replace',
      'ExecutionClusterLabel/team1/development',
    ]);
    // Ordered: the set waits for the delete that takes the row.
    expect(steps(p)).toEqual([
      's1 delete_execution_cluster_label ExecutionClusterLabel/team1/development <- ',
      's2 set_execution_cluster_label ExecutionClusterLabel/team1/development/wf.a <- s1',
      's3 set_execution_cluster_label ExecutionClusterLabel/team1/development/wf.c <- s1',
    ]);
    const text = renderText(p, { color: false });
    expect(text).toContain(
      'deleted along with ExecutionClusterLabel/team1/development (flyteadmin deletes the narrower rows of its project/domain) and set again after it',
    );
    // Once applied (in parallel as far as the graph allows), the workflow label is there.
    expect((await executePlan(p, cp, { parallelism: 8 })).ok).toBe(true);
    expect(await labelRows()).toEqual([
      'team1/development/wf.a/=label2',
      'team1/development/wf.c/=label1',
    ]);
    expect((await plan()).steps).toEqual([]);
  });

  it('a delete that would take a row poolsync does not manage is blocked, naming it, until accepted', async () => {
    await repo({
      'flyte.yaml': FLYTE_CONFIG,
      'labels.yaml': ecl('pd', 'project: team1, domain: development, label: label1'),
    });
    expect((await executePlan(await plan(), cp)).ok).toBe(true);
    // A launch-plan-level row: no REST call writes one, flyteadmin's database may hold one.
    await fa.insertRow('EXECUTION_CLUSTER_LABEL', {
      project: 'team1',
      domain: 'development',
      workflow: 'wf.b',
      launch_plan: 'nightly',
      value: 'label2',
    });
    // No label left in the repository: `manage:` keeps the kind in the prune scope.
    await repo({ 'flyte.yaml': FLYTE_CONFIG }, 'prune: true\nmanage: [ExecutionClusterLabel]');
    const blocked = await plan();
    const pd = blocked.changes.find(
      (c) => c.address === 'ExecutionClusterLabel/team1/development',
    )!;
    expect(pd.action).toBe('blocked');
    expect(whyText(pd)).toContain(
      'DELETE project_domain_attributes/team1/development also deletes',
    );
    expect(whyText(pd)).toContain(
      'ExecutionClusterLabel/team1/development/wf.b/nightly (label label2)',
    );
    expect(whyText(pd)).toContain('--accept-cascade ExecutionClusterLabel/team1/development');
    // Not "declare it": no manifest describes a launch-plan row.
    expect(whyText(pd)).toContain(
      'a launch-plan row cannot be declared in the repository (poolsync manages project/domain and workflow rows, and no flyteadmin API writes one), so accept the delete or keep the row this delete removes',
    );
    expect(blocked.steps).toEqual([]);
    // The launch-plan row is shown, unmanaged, with why.
    const lp = blocked.changes.find(
      (c) => c.address === 'ExecutionClusterLabel/team1/development/wf.b/nightly',
    )!;
    expect([lp.action, whyText(lp)]).toEqual([
      'unmanaged',
      expect.stringContaining('launch-plan-level row'),
    ]);

    // Accepted by flag (one run) or in poolsync.yaml (every run): the same plan.
    const byFlag = await plan({
      plan: { acceptCascade: ['ExecutionClusterLabel/team1/development'] },
    });
    await repo(
      { 'flyte.yaml': FLYTE_CONFIG },
      'prune: true\nmanage: [ExecutionClusterLabel]\nacceptCascade: [ExecutionClusterLabel/team1/development]',
    );
    const accepted = await plan();
    for (const p of [byFlag, accepted]) {
      const taken = p.changes.find(
        (c) => c.address === 'ExecutionClusterLabel/team1/development/wf.b/nightly',
      )!;
      expect([taken.action, taken.caused_by]).toEqual([
        'delete',
        'ExecutionClusterLabel/team1/development',
      ]);
      expect(p.steps.map((s) => s.op)).toEqual(['delete_execution_cluster_label']);
    }
    expect(renderText(accepted, { color: false })).toContain(
      '1 more change follows from these steps (marked #)',
    );
    // policy safe holds the delete and what it takes along.
    expect(
      splitHeld(accepted)
        .held.map((c) => c.address)
        .sort(),
    ).toEqual([
      'ExecutionClusterLabel/team1/development',
      'ExecutionClusterLabel/team1/development/wf.b/nightly',
    ]);
    expect((await executePlan(accepted, cp)).ok).toBe(true);
    expect(await labelRows()).toEqual([]);
    expect((await plan()).changes.filter((c) => c.action !== 'noop')).toEqual([]);
  });

  it('a row made after the plan that the delete would take along: the step is refused at the moment it acts, nothing deleted', async () => {
    await repo({
      'flyte.yaml': FLYTE_CONFIG,
      'pools.yaml': POOLS,
      'labels.yaml': ecl('pd', 'project: team1, domain: production, label: label1'),
      'a.yaml': pa('pd', 'project: flytesnacks, domain: development, pool: gpu'),
    });
    expect((await executePlan(await plan(), cp)).ok).toBe(true);
    await repo(
      { 'flyte.yaml': FLYTE_CONFIG, 'pools.yaml': POOLS },
      'prune: true\nmanage: [ExecutionClusterLabel, PoolAssignment]',
    );
    const p = await plan();
    expect(steps(p)).toEqual([
      's1 delete_assignment PoolAssignment/flytesnacks/development <- ',
      's2 delete_execution_cluster_label ExecutionClusterLabel/team1/production <- ',
    ]);
    // After the plan, as flytectl would (update execution-cluster-label), and a launch-plan row.
    const put = await fa.call('PUT', '/api/v1/workflow_attributes/team1/production/core.hand.wf', {
      attributes: {
        project: 'team1',
        domain: 'production',
        workflow: 'core.hand.wf',
        matching_attributes: { execution_cluster_label: { value: 'label2' } },
      },
    });
    expect(put.status).toBe(200);
    await fa.insertRow('CLUSTER_ASSIGNMENT', {
      project: 'flytesnacks',
      domain: 'development',
      workflow: 'wf.b',
      launch_plan: 'nightly',
      value: 'default',
    });

    const r = await executePlan(p, cp, { parallelism: 1 });
    expect(r.ok).toBe(false);
    expect(r.steps.map((s) => [s.target, s.status, s.error])).toEqual([
      [
        'PoolAssignment/flytesnacks/development',
        'failed',
        {
          code: 'CONFLICT',
          rule: null,
          message:
            "PoolAssignment/flytesnacks/development: flyteadmin's delete of it would also delete PoolAssignment/flytesnacks/development/wf.b/nightly, which the plan did not show (made since the plan; flyteadmin deletes the narrower rows of its type with it); nothing was deleted. Run `poolsync plan` again to see what the delete takes along",
        },
      ],
      // A conflict stops the apply: the next step does not start.
      ['ExecutionClusterLabel/team1/production', 'not_run', null],
    ]);
    // Read back through flyteadmin's own API: nothing was deleted.
    expect(await labelRows()).toEqual([
      'team1/production//=label1',
      'team1/production/core.hand.wf/=label2',
    ]);
    expect((await fa.rows('CLUSTER_ASSIGNMENT')).map(rowKey)).toEqual([
      'flytesnacks/development//=gpu',
      'flytesnacks/development/wf.b/nightly=default',
    ]);
    // The label's step, run alone, is refused the same way.
    const label = await executePlan({ ...p, steps: [p.steps[1]!] }, cp);
    expect(label.steps[0]?.error?.message).toBe(
      "ExecutionClusterLabel/team1/production: flyteadmin's delete of it would also delete ExecutionClusterLabel/team1/production/core.hand.wf, which the plan did not show (made since the plan; flyteadmin deletes the narrower rows of its type with it); nothing was deleted. Run `poolsync plan` again to see what the delete takes along",
    );
    expect(await labelRows()).toEqual([
      'team1/production//=label1',
      'team1/production/core.hand.wf/=label2',
    ]);
  });

  it('CLUSTER_ASSIGNMENT the same way: --replace of a project/domain assignment is blocked by an unmanaged workflow row; with prune, a kept one is set again', async () => {
    await repo(
      {
        'pools.yaml': POOLS,
        'a.yaml': [
          pa('pd', 'project: flytesnacks, domain: development, pool: gpu'),
          pa('wf', 'project: flytesnacks, domain: development, workflow: train, pool: gpu'),
        ].join('---\n'),
      },
      'prune: false',
    );
    expect((await executePlan(await plan(), cp)).ok).toBe(true);
    // Set with uctl, not in the repository (prune is off: unmanaged).
    const put = await fa.call('PUT', '/api/v1/workflow_attributes/flytesnacks/development/eval', {
      attributes: {
        project: 'flytesnacks',
        domain: 'development',
        workflow: 'eval',
        matching_attributes: { cluster_assignment: { cluster_pool_name: 'default' } },
      },
    });
    expect(put.status).toBe(200);
    const replaced = await plan({ plan: { replace: ['PoolAssignment/flytesnacks/development'] } });
    const pd = replaced.changes.find(
      (c) => c.address === 'PoolAssignment/flytesnacks/development',
    )!;
    expect(pd.action).toBe('blocked');
    expect(whyText(pd)).toContain('PoolAssignment/flytesnacks/development/eval (pool default)');
    expect(whyText(pd)).toMatch(/or declare it in the repository$/);
    expect(replaced.steps).toEqual([]);

    // With prune, the eval row goes with the project/domain delete (no step of its own, so a
    // partial plan keeping that delete shows it too) and the kept train row comes back.
    await repo(
      {
        'pools.yaml': POOLS,
        'a.yaml': pa('wf', 'project: flytesnacks, domain: development, workflow: train, pool: gpu'),
      },
      'prune: true',
    );
    const pruned = await plan();
    expect(steps(pruned)).toEqual([
      's1 delete_assignment PoolAssignment/flytesnacks/development <- ',
      's2 set_assignment PoolAssignment/flytesnacks/development/train <- s1',
    ]);
    const evalRow = pruned.changes.find(
      (c) => c.address === 'PoolAssignment/flytesnacks/development/eval',
    );
    expect([evalRow?.action, evalRow?.caused_by]).toEqual([
      'delete',
      'PoolAssignment/flytesnacks/development',
    ]);
    expect((await executePlan(pruned, cp)).ok).toBe(true);
    expect(
      (await fa.rows('CLUSTER_ASSIGNMENT')).map((r) => `${r.project}/${r.domain}/${r.workflow}`),
    ).toEqual(['flytesnacks/development/train']);
    expect((await plan()).steps).toEqual([]);
  });
});
