/**
 * What flyteadmin refuses is refused at plan time, and what the REST gateway reads is what
 * poolsync sends: projects and domains checked against ListProjects (paged) and GetDomains
 * (manager/impl/validation/project_validator.go), flyteidl's `org` sent and read, the token as
 * `Authorization: Bearer` (auth/handlers.go reads it in every configuration), and rows at the
 * levels poolsync never writes shown as unmanaged in the plan and named by export.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { executePlan } from '../../src/apply/index.js';
import { otherRowWarnings } from '../../src/controlplane/export-flyte.js';
import { openControlPlane } from '../../src/controlplane/open.js';
import { readLiveState, type ControlPlane } from '../../src/controlplane/types.js';
import type { Plan } from '../../src/model/plan.js';
import { planRepository } from '../../src/plan/pipeline.js';
import { renderText } from '../../src/render/index.js';
import {
  CLIENT_ID,
  CLIENT_SECRET,
  exampleRepo,
  startFlyteadmin,
  token,
  useCredentials,
  type Flyteadmin,
} from './helpers.js';

describe('flyteadmin: projects, domains, org, auth header, other levels', () => {
  let fa: Flyteadmin;
  let undo: () => Promise<void>;
  const cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanup.splice(0).reverse()) await c();
    await fa?.close();
    await undo?.();
  });
  async function open(url: string): Promise<ControlPlane> {
    const cp = await openControlPlane(url);
    cleanup.push(() => cp.close());
    return cp;
  }
  async function plan(dir: string, cp: ControlPlane): Promise<Plan> {
    const r = await planRepository(dir, cp);
    if (!r.ok) throw new Error(JSON.stringify(r.errors));
    expect(r.plan.errors).toEqual([]);
    return r.plan;
  }

  it('an unregistered or archived project, or an unknown domain, is blocked at plan time; registered, it is set', async () => {
    // 250 other projects: ListProjects pages (limit 100) to find the ones the repository names.
    const filler = Array.from({ length: 250 }, (_, i) => `p${String(i).padStart(3, '0')}`);
    fa = await startFlyteadmin(undefined, {
      projects: [...filler, 'team1', { id: 'project1', state: 'ARCHIVED' }],
      domains: ['development', 'staging'],
    });
    undo = await useCredentials(CLIENT_ID, CLIENT_SECRET);
    const repo = await exampleRepo('flyte-oss');
    cleanup.push(repo.cleanup);
    const cp = await open(fa.url);
    const first = await plan(repo.dir, cp);
    const reasons = Object.fromEntries(
      first.changes.filter((c) => c.action === 'blocked').map((c) => [c.address, c.reason]),
    );
    expect(Object.keys(reasons)).toEqual([
      'ExecutionClusterLabel/project1/development',
      'ExecutionClusterLabel/project1/development/example.training_workflow',
      'ExecutionClusterLabel/team1/production',
    ]);
    expect(reasons['ExecutionClusterLabel/project1/development']).toContain(
      "project 'project1' is archived in flyteadmin, which refuses attributes of a project that is not active: activate it (flytectl update project -p project1 --activate)",
    );
    expect(reasons['ExecutionClusterLabel/team1/production']).toBe(
      "domain 'production' is not one of flyteadmin's domains (development, staging), which refuses its attributes: correct the domain",
    );
    // team1 (past the first two pages) is registered: its development label is planned.
    expect(first.steps.map((s) => s.target)).toEqual(['ExecutionClusterLabel/team1/development']);
    // Nothing the plan sends is refused.
    expect((await executePlan(first, cp)).ok).toBe(true);

    fa.store.setProjectState('project1', 'ACTIVE');
    const second = await plan(repo.dir, cp);
    expect(second.steps.map((s) => s.target)).toEqual([
      'ExecutionClusterLabel/project1/development',
      'ExecutionClusterLabel/project1/development/example.training_workflow',
    ]);
  });

  it('a project flyteadmin never registered names the command to register it', async () => {
    fa = await startFlyteadmin(undefined, { projects: ['team1'] });
    undo = await useCredentials(CLIENT_ID, CLIENT_SECRET);
    const repo = await exampleRepo('flyte-oss');
    cleanup.push(repo.cleanup);
    const p = await plan(repo.dir, await open(fa.url));
    expect(
      p.changes.find((c) => c.address === 'ExecutionClusterLabel/project1/development')?.reason,
    ).toBe(
      "project 'project1' is not registered in flyteadmin, which refuses its attributes (InvalidArgument): register it (flytectl create project --id project1 --name project1) or correct the project",
    );
  });

  it('org is sent on every write and read from every row; rows of another org are not this repository’s', async () => {
    fa = await startFlyteadmin();
    undo = await useCredentials(CLIENT_ID, CLIENT_SECRET);
    const repo = await exampleRepo('flyte-oss');
    cleanup.push(repo.cleanup);
    // Another tenant's row, and one of a flyteadmin without orgs.
    for (const org of ['other', ''])
      fa.store.createOrUpdate(
        {
          project: 'team1',
          domain: 'staging',
          workflow: org === '' ? 'wf' : '',
          launch_plan: '',
          resource_type: 'EXECUTION_CLUSTER_LABEL',
          org,
        },
        { execution_cluster_label: { value: 'label1' } },
      );
    const cp = await open(`${fa.url}?org=acme`);
    const p = await plan(repo.dir, cp);
    // Neither the other tenant's row nor the row without an org is listed for acme.
    expect(p.changes.filter((c) => c.action === 'unmanaged')).toEqual([]);
    expect((await executePlan(p, cp)).ok).toBe(true);
    const orgs = fa.store
      .listAll('EXECUTION_CLUSTER_LABEL', '')
      .map((r) => `${r.project}/${r.domain}/${r.workflow}:${r.org}`);
    expect(orgs.sort()).toEqual([
      'project1/development/:acme',
      'project1/development/example.training_workflow:acme',
      'team1/development/:acme',
      'team1/production/:acme',
      'team1/staging/:other',
      'team1/staging/wf:',
    ]);
    expect((await plan(repo.dir, cp)).steps).toEqual([]);
    // Without an org, poolsync keeps the rows without one: another tenant's stay out.
    const plain = await plan(repo.dir, await open(fa.url));
    expect(plain.changes.filter((c) => c.action === 'unmanaged').map((c) => c.address)).toEqual([
      'ExecutionClusterLabel/team1/staging/wf',
    ]);
  });

  it('the token goes in Authorization, which flyteadmin reads whatever its httpAuthorizationHeader is', async () => {
    // An operator behind a proxy set httpAuthorizationHeader; /config/v1/flyte_client still
    // names flyte-authorization (the gRPC key), which this gateway would not read.
    fa = await startFlyteadmin(undefined, undefined, { httpAuthorizationHeader: 'x-flyte-auth' });
    undo = await useCredentials(CLIENT_ID, CLIENT_SECRET);
    const t = await token(fa.server.url);
    const viaGrpcKey = await fetch(`${fa.server.url}/api/v1/domains`, {
      headers: { 'flyte-authorization': `Bearer ${t}` },
    });
    expect(viaGrpcKey.status).toBe(401);
    const cp = await open(fa.url);
    const live = await readLiveState(cp);
    expect(live.flyteadmin?.domains).toEqual(['development', 'production', 'staging']);
  });

  it('project-wide and launch-plan rows are shown as unmanaged in the plan and named by export', async () => {
    fa = await startFlyteadmin();
    undo = await useCredentials(CLIENT_ID, CLIENT_SECRET);
    const repo = await exampleRepo('union-self-managed');
    cleanup.push(repo.cleanup);
    const row = (workflow: string, launchPlan: string, domain: string) => ({
      project: 'flytesnacks',
      domain,
      workflow,
      launch_plan: launchPlan,
      resource_type: 'CLUSTER_ASSIGNMENT' as const,
      org: '',
    });
    fa.store.createOrUpdate(row('', '', ''), {
      cluster_assignment: { cluster_pool_name: 'default' },
    });
    fa.store.createOrUpdate(row('nightly_wf', 'nightly', 'production'), {
      cluster_assignment: { cluster_pool_name: 'production-cp' },
    });
    const cp = await open(fa.url);
    const p = await plan(repo.dir, cp);
    const unmanaged = p.changes.filter((c) => c.action === 'unmanaged');
    expect(unmanaged.map((c) => [c.address, c.before])).toEqual([
      [
        'PoolAssignment/flytesnacks/*',
        {
          project: 'flytesnacks',
          domain: null,
          workflow: null,
          launch_plan: null,
          pool: 'default',
        },
      ],
      [
        'PoolAssignment/flytesnacks/production/nightly_wf/nightly',
        {
          project: 'flytesnacks',
          domain: 'production',
          workflow: 'nightly_wf',
          launch_plan: 'nightly',
          pool: 'production-cp',
        },
      ],
    ]);
    const text = renderText(p, { color: false });
    expect(text).toContain('? PoolAssignment/flytesnacks/*  (unmanaged)');
    expect(text).toContain(
      '# a project-wide row (project flytesnacks, every domain): poolsync manages project/domain and workflow rows only',
    );
    const [warning] = otherRowWarnings(await readLiveState(cp));
    expect(warning).toContain(
      'not exported: PoolAssignment/flytesnacks/* (pool default), PoolAssignment/flytesnacks/production/nightly_wf/nightly (pool production-cp)',
    );
  });
});
