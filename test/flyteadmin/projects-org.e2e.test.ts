/**
 * What flyteadmin refuses is refused at plan time, and what the REST gateway reads is what
 * poolsync sends: projects and domains checked against ListProjects (paged) and GetDomains
 * (manager/impl/validation/project_validator.go), flyteidl's `org` sent and read, the token as
 * `Authorization: Bearer` (auth/handlers.go reads it in every configuration), and rows at the
 * levels poolsync never writes shown as unmanaged in the plan and named by export.
 */
import { whyText } from '../../src/render/common.js';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { executePlan } from '../../src/apply/executor.js';
import { otherRowWarnings } from '../../src/controlplane/export.js';
import { openControlPlane } from '../../src/controlplane/open.js';
import { readLiveState, type ControlPlane } from '../../src/controlplane/types.js';
import type { Plan } from '../../src/model/plan.js';
import { planRepository } from '../../src/ops/plan-run.js';
import { renderText } from '../../src/render/text.js';
import {
  CLIENT_ID,
  CLIENT_SECRET,
  EXAMPLE_PROJECTS,
  exampleRepo,
  startFlyteadmin,
  token,
  useCredentials,
  type Flyteadmin,
} from './helpers.js';
import { flyteadminTargets, type FlyteadminUnderTest } from './targets.js';

const targets = flyteadminTargets();
afterAll(() => targets.close());

describe.each(targets.list)('flyteadmin $name: projects, domains, other levels', (target) => {
  let fa: FlyteadminUnderTest;
  const cleanup: (() => Promise<void>)[] = [];
  beforeEach(({ skip }) => {
    if (target.missing) skip(target.missing);
  });
  afterEach(async () => {
    for (const c of cleanup.splice(0).reverse()) await c();
    await fa?.close();
  });
  async function open(url: string): Promise<ControlPlane> {
    const cp = await openControlPlane(url, { env: process.env });
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
    fa = await target.start({
      projects: [...filler, 'team1', { id: 'project1', state: 'ARCHIVED' }],
      domains: ['development', 'staging'],
    });
    const repo = await exampleRepo('flyte-oss');
    cleanup.push(repo.cleanup);
    const cp = await open(fa.url);
    const first = await plan(repo.dir, cp);
    const reasons = Object.fromEntries(
      first.changes.filter((c) => c.action === 'blocked').map((c) => [c.address, whyText(c)]),
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

    await fa.setProjectState('project1', 'ACTIVE');
    const second = await plan(repo.dir, cp);
    expect(second.steps.map((s) => s.target)).toEqual([
      'ExecutionClusterLabel/project1/development',
      'ExecutionClusterLabel/project1/development/example.training_workflow',
    ]);
  });

  it('a delete in an archived project is blocked too: flyteadmin refuses it, and the message says the label stays until the project is active', async () => {
    fa = await target.start();
    const repo = await exampleRepo('flyte-oss');
    cleanup.push(repo.cleanup);
    const cp = await open(fa.url);
    expect((await executePlan(await plan(repo.dir, cp), cp)).ok).toBe(true);
    await fa.setProjectState('team1', 'ARCHIVED');
    // What flyteadmin answers the DELETE poolsync would send (validation/project_validator.go).
    const refused = await fa.call('DELETE', '/api/v1/project_domain_attributes/team1/production', {
      resource_type: 'EXECUTION_CLUSTER_LABEL',
    });
    expect([refused.status, refused.json['code']]).toEqual([400, 3]);
    const { rm: remove, readFile, writeFile } = await import('node:fs/promises');
    await remove(`${repo.dir}/execution-cluster-labels/team1.yaml`);
    const config = `${repo.dir}/poolsync.yaml`;
    await writeFile(
      config,
      (await readFile(config, 'utf8')).replace('prune: false', 'prune: true'),
    );
    const p = await plan(repo.dir, cp);
    const blocked = p.changes.filter((c) => c.action === 'blocked');
    expect(blocked.map((c) => c.address)).toEqual([
      'ExecutionClusterLabel/team1/development',
      'ExecutionClusterLabel/team1/production',
    ]);
    expect(whyText(blocked[0]!)).toBe(
      "project 'team1' is archived in flyteadmin, which refuses attributes of a project that is not active, deletes included: the label stays in flyteadmin until the project is activated (flytectl update project -p team1 --activate), and the next plan deletes it",
    );
    expect(p.steps).toEqual([]);
  });

  it('a project flyteadmin never registered names the command to register it', async () => {
    fa = await target.start({ projects: ['team1'] });
    const repo = await exampleRepo('flyte-oss');
    cleanup.push(repo.cleanup);
    const p = await plan(repo.dir, await open(fa.url));
    expect(
      whyText(p.changes.find((c) => c.address === 'ExecutionClusterLabel/project1/development')!),
    ).toBe(
      "project 'project1' is not registered in flyteadmin, which refuses its attributes (InvalidArgument): register it (flytectl create project --id project1 --name project1) or correct the project",
    );
  });

  it('project-wide and launch-plan rows are shown as unmanaged in the plan and named by export', async () => {
    fa = await target.start();
    const repo = await exampleRepo('union-self-managed');
    cleanup.push(repo.cleanup);
    const row = (workflow: string, launchPlan: string, domain: string) => ({
      project: 'flytesnacks',
      domain,
      workflow,
      launch_plan: launchPlan,
    });
    await fa.insertRow('CLUSTER_ASSIGNMENT', { ...row('', '', ''), value: 'default' });
    await fa.insertRow('CLUSTER_ASSIGNMENT', {
      ...row('nightly_wf', 'nightly', 'production'),
      value: 'production-cp',
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
  it('org: what poolsync writes with an org is what it reads back, whatever flyteadmin keeps', async () => {
    fa = await target.start();
    const repo = await exampleRepo('flyte-oss');
    cleanup.push(repo.cleanup);
    const cp = await open(`${fa.url}?org=acme`);
    expect((await executePlan(await plan(repo.dir, cp), cp)).ok).toBe(true);
    expect((await plan(repo.dir, cp)).steps).toEqual([]);
    // Open-source flyteadmin keeps no org on a row (repositories/models/resource.go has no
    // such column): it lists them with org '', which poolsync reads as its own.
    const orgs = (
      await fa.call('GET', '/api/v1/matchable_attributes?resource_type=EXECUTION_CLUSTER_LABEL')
    ).json['configurations'] as { org: string }[];
    expect([...new Set(orgs.map((c) => c.org))]).toEqual(['']);
  });
});

describe('flyteadmin stand-in as a multi-tenant flyteadmin (orgs): org and auth header', () => {
  let fa: Flyteadmin;
  let undo: () => Promise<void>;
  const cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanup.splice(0).reverse()) await c();
    await fa?.close();
    await undo?.();
  });
  async function open(url: string): Promise<ControlPlane> {
    const cp = await openControlPlane(url, { env: process.env });
    cleanup.push(() => cp.close());
    return cp;
  }
  async function plan(dir: string, cp: ControlPlane): Promise<Plan> {
    const r = await planRepository(dir, cp);
    if (!r.ok) throw new Error(JSON.stringify(r.errors));
    expect(r.plan.errors).toEqual([]);
    return r.plan;
  }

  it('org is sent on every write and read from every row; rows of another org are not this repository’s', async () => {
    fa = await startFlyteadmin(undefined, { projects: EXAMPLE_PROJECTS, orgs: true });
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
});
