/**
 * The stand-in flyteadmin behaves as upstream flyteadmin does, over its REST gateway: each case
 * names the upstream file it follows (flyteorg/flyte, flyteadmin/) and runs against the real
 * flyteadmin too (targets.ts), so a case the two answer differently fails here. The rest of the
 * suite plans and applies against both.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startFlyteadmin, token, type Flyteadmin } from './helpers.js';
import { flyteadminTargets, type FlyteadminUnderTest } from './targets.js';

const targets = flyteadminTargets();
afterAll(() => targets.close());

describe.each(targets.list)('flyteadmin $name, as upstream', (target) => {
  let fa: FlyteadminUnderTest | undefined;
  beforeAll(async () => {
    if (target.missing) return;
    fa = await target.start({
      projects: ['team1', 'team2', 'team3', { id: 'old', state: 'ARCHIVED' }],
    });
  });
  beforeEach(({ skip }) => {
    if (target.missing) skip(target.missing);
  });
  afterAll(() => fa?.close());

  const call = async (method: string, path: string, body?: unknown) => {
    const res = await fa!.call(method, path, body);
    return { status: res.status, body: res.json };
  };
  const label = (value: string) => ({ execution_cluster_label: { value } });
  const rows = async () =>
    (await fa!.rows('EXECUTION_CLUSTER_LABEL'))
      .map((r) => [r.project, r.domain, r.workflow, r.launch_plan].join('/'))
      .sort();

  it('DELETE project_domain_attributes takes the workflow and launch-plan rows of P/D along, never answers NotFound (gormimpl/resource_repo.go Delete)', async () => {
    const put = (path: string, attributes: Record<string, unknown>) =>
      call('PUT', path, { attributes });
    expect(
      (
        await put('/api/v1/project_domain_attributes/team1/development', {
          project: 'team1',
          domain: 'development',
          matching_attributes: label('l1'),
        })
      ).status,
    ).toBe(200);
    await put('/api/v1/workflow_attributes/team1/development/wf', {
      project: 'team1',
      domain: 'development',
      workflow: 'wf',
      matching_attributes: label('l2'),
    });
    await put('/api/v1/project_domain_attributes/team1/production', {
      project: 'team1',
      domain: 'production',
      matching_attributes: label('l1'),
    });
    // Rows at levels the REST API does not write (flyteadmin's database holds them).
    for (const [domain, workflow, launchPlan] of [
      ['development', 'wf', 'lp'],
      ['', '', ''],
    ])
      await fa!.insertRow('EXECUTION_CLUSTER_LABEL', {
        project: 'team1',
        domain: domain!,
        workflow: workflow!,
        launch_plan: launchPlan!,
        value: 'l3',
      });
    // A CLUSTER_ASSIGNMENT row of the same project/domain is another type: it stays.
    await put('/api/v1/workflow_attributes/team1/development/wf', {
      project: 'team1',
      domain: 'development',
      workflow: 'wf',
      matching_attributes: { cluster_assignment: { cluster_pool_name: 'gpu' } },
    });
    expect(await rows()).toEqual([
      'team1///', // project-wide
      'team1/development//',
      'team1/development/wf/',
      'team1/development/wf/lp',
      'team1/production//',
    ]);

    // A workflow delete takes that workflow's launch-plan rows.
    const wf = await call('DELETE', '/api/v1/workflow_attributes/team1/development/wf', {
      resource_type: 'EXECUTION_CLUSTER_LABEL',
    });
    expect(wf.status).toBe(200);
    expect(await rows()).toEqual(['team1///', 'team1/development//', 'team1/production//']);

    await fa!.insertRow('EXECUTION_CLUSTER_LABEL', {
      project: 'team1',
      domain: 'development',
      workflow: 'wf',
      launch_plan: 'lp',
      value: 'l3',
    });
    const pd = await call('DELETE', '/api/v1/project_domain_attributes/team1/development', {
      resource_type: 'EXECUTION_CLUSTER_LABEL',
    });
    expect(pd.status).toBe(200);
    // Only the project-wide row and the other domain are left; the assignment too.
    expect(await rows()).toEqual(['team1///', 'team1/production//']);
    expect(await fa!.rows('CLUSTER_ASSIGNMENT')).toHaveLength(1);
    // Nothing left to delete: still 200 (GORM reports no error for no rows).
    const again = await call('DELETE', '/api/v1/project_domain_attributes/team1/development', {
      resource_type: 'EXECUTION_CLUSTER_LABEL',
    });
    expect(again.status).toBe(200);
  });

  it('GET answers the most specific row, NotFound without one (resource_repo.go Get)', async () => {
    // team1/staging has no row of its own: the project-wide one answers.
    const got = await call(
      'GET',
      '/api/v1/project_domain_attributes/team1/staging?resource_type=EXECUTION_CLUSTER_LABEL',
    );
    expect(got.body).toEqual({
      attributes: { project: 'team1', domain: '', matching_attributes: label('l3'), org: '' },
    });
    const none = await call(
      'GET',
      '/api/v1/project_domain_attributes/team2/staging?resource_type=EXECUTION_CLUSTER_LABEL',
    );
    expect([none.status, none.body['code']]).toEqual([404, 5]);
  });

  it('refuses unregistered and archived projects and unknown domains with InvalidArgument (validation/project_validator.go)', async () => {
    const put = (project: string, domain: string) =>
      call('PUT', `/api/v1/project_domain_attributes/${project}/${domain}`, {
        attributes: { project, domain, matching_attributes: label('l1') },
      });
    for (const [project, domain, message] of [
      [
        'ghost',
        'development',
        'failed to validate that project [ghost] and domain [development] are registered',
      ],
      ['old', 'development', 'project [old] is not active'],
      ['team2', 'qa', 'domain [qa] is unrecognized by system'],
    ] as const) {
      const res = await put(project, domain);
      expect([res.status, res.body['code']]).toEqual([400, 3]);
      expect(res.body['message']).toContain(message);
    }
    // Any label value is accepted: flyteadmin does not check it (attributes_validator.go).
    expect((await put('team2', 'development')).status).toBe(200);
    const unknownType = await call('PUT', '/api/v1/project_domain_attributes/team2/development', {
      attributes: { project: 'team2', domain: 'development', matching_attributes: {} },
    });
    expect(unknownType.body['message']).toBe(
      'Unrecognized matching attributes type for request team2-development',
    );
  });

  it('ListProjects pages with offset tokens and leaves archived projects out unless filtered; GetDomains (manager/impl/project_manager.go)', async () => {
    const page1 = await call('GET', '/api/v1/projects?limit=2');
    expect((page1.body['projects'] as { id: string }[]).map((p) => p.id)).toEqual([
      'team1',
      'team2',
    ]);
    expect(page1.body['token']).toBe('2');
    const page2 = await call('GET', '/api/v1/projects?limit=2&token=2');
    expect(
      (page2.body['projects'] as { id: string; state: string }[]).map((p) => [p.id, p.state]),
    ).toEqual([['team3', 'ACTIVE']]);
    expect(page2.body['token']).toBe('');
    const archived = await call('GET', '/api/v1/projects?limit=100&filters=eq(state,1)');
    expect((archived.body['projects'] as { id: string }[]).map((p) => p.id)).toEqual(['old']);
    const domains = await call('GET', '/api/v1/domains');
    expect(domains.body).toEqual({
      domains: ['development', 'staging', 'production'].map((id) => ({ id, name: id })),
    });
    // RegisterProject, and flytectl update project --archive.
    expect(
      (await call('POST', '/api/v1/projects', { project: { id: 'new', name: 'new' } })).status,
    ).toBe(200);
    expect(
      (await call('POST', '/api/v1/projects', { project: { id: 'new', name: 'new' } })).body[
        'code'
      ],
    ).toBe(6);
    expect(
      (await call('PUT', '/api/v1/projects/new', { id: 'new', state: 'ARCHIVED' })).status,
    ).toBe(200);
    expect((await call('GET', '/api/v1/projects/new')).body['state']).toBe('ARCHIVED');
  });

  it('takes an org in bodies and queries and keeps none (repositories/models/resource.go)', async () => {
    await call('PUT', '/api/v1/project_domain_attributes/team2/staging', {
      attributes: {
        project: 'team2',
        domain: 'staging',
        matching_attributes: label('x'),
        org: 'acme',
      },
    });
    for (const query of ['&org=acme', '&org=other', '']) {
      const listed = await call(
        'GET',
        `/api/v1/matchable_attributes?resource_type=EXECUTION_CLUSTER_LABEL${query}`,
      );
      expect(listed.body['configurations']).toContainEqual({
        attributes: label('x'),
        domain: 'staging',
        project: 'team2',
        workflow: '',
        launch_plan: '',
        org: '',
      });
    }
  });
});

describe('stand-in flyteadmin: auth, and orgs as a multi-tenant flyteadmin keeps them', () => {
  let fa: Flyteadmin;
  let auth: Record<string, string>;
  beforeAll(async () => {
    fa = await startFlyteadmin(undefined, { projects: ['team1', 'team2'], orgs: true });
    auth = { authorization: `Bearer ${await token(fa.server.url)}` };
  });
  afterAll(() => fa.close());

  const call = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${fa.server.url}${path}`, {
      method,
      headers: { ...auth, 'content-type': 'application/json' },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  const label = (value: string) => ({ execution_cluster_label: { value } });

  it('reads the token from its httpAuthorizationHeader, else from Authorization (auth/handlers.go)', async () => {
    const t = await token(fa.server.url);
    const path = `${fa.server.url}/api/v1/domains`;
    for (const headers of [
      { authorization: `Bearer ${t}` } as Record<string, string>,
      { 'flyte-authorization': `Bearer ${t}` },
      { 'flyte-authorization': `Bearer ${t}`, authorization: 'Basic ignored' },
    ])
      expect((await fetch(path, { headers })).status).toBe(200);
    const none = await fetch(path);
    expect([none.status, ((await none.json()) as { code: number }).code]).toEqual([401, 16]);
  });

  it('with orgs: true, keeps the org of each row and lists by org (admin/matchable_resource.proto)', async () => {
    await call('PUT', '/api/v1/project_domain_attributes/team2/staging', {
      attributes: {
        project: 'team2',
        domain: 'staging',
        matching_attributes: label('x'),
        org: 'acme',
      },
    });
    const acme = await call(
      'GET',
      '/api/v1/matchable_attributes?resource_type=EXECUTION_CLUSTER_LABEL&org=acme',
    );
    expect(acme.body['configurations']).toEqual([
      {
        attributes: label('x'),
        domain: 'staging',
        project: 'team2',
        workflow: '',
        launch_plan: '',
        org: 'acme',
      },
    ]);
  });
});

describe.each(targets.list)('flyteadmin $name: JSON field names', (target) => {
  it('proto names for Accept: application/json, lowerCamelCase for a request without it (pkg/server/service.go)', async ({
    skip,
  }) => {
    if (target.missing) skip(target.missing);
    const fa = await target.start({ projects: ['team1'] });
    try {
      await fa.call('PUT', '/api/v1/workflow_attributes/team1/development/wf', {
        attributes: {
          project: 'team1',
          domain: 'development',
          workflow: 'wf',
          matching_attributes: { execution_cluster_label: { value: 'l1' } },
        },
      });
      const path = '/api/v1/matchable_attributes?resource_type=EXECUTION_CLUSTER_LABEL';
      const snake = await fa.call('GET', path);
      expect(Object.keys((snake.json['configurations'] as object[])[0]!).sort()).toContain(
        'launch_plan',
      );
      // As curl or a browser asks: no Accept header (the stand-in wants its token).
      const headers: Record<string, string> = fa.real
        ? {}
        : { 'flyte-authorization': `Bearer ${await token(fa.httpUrl)}` };
      const bare = (await (await fetch(`${fa.httpUrl}${path}`, { headers })).json()) as {
        configurations: Record<string, unknown>[];
      };
      expect(bare.configurations[0]).toEqual({
        attributes: { executionClusterLabel: { value: 'l1' } },
        domain: 'development',
        project: 'team1',
        workflow: 'wf',
        launchPlan: '',
        org: '',
      });
    } finally {
      await fa.close();
    }
  });
});
