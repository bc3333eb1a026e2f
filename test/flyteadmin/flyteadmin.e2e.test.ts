/**
 * The flyteadmin backend end to end over real sockets: poolsync's client (undici) against the
 * real flyteadmin (targets.ts: auth off) and the stand-in (OAuth2 client credentials from env
 * and a secret file). plan → apply → plan, drift made the way flytectl makes it,
 * prune, export, Union self-managed cluster assignments, kinds the backend cannot manage, and
 * auth failures.
 */
import { errorText } from '../../src/render/reasons.js';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { load } from 'js-yaml';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { executePlan } from '../../src/apply/executor.js';
import { openControlPlane } from '../../src/controlplane/open.js';
import { exportExecutionClusterLabels } from '../../src/controlplane/export.js';
import { readLiveState, type ControlPlane } from '../../src/controlplane/types.js';
import { ControlPlaneError } from '../../src/controlplane/errors.js';
import type { OAuthHttp } from '../../src/controlplane/oauth.js';
import { flyteTokenSource } from '../../src/controlplane/flyteadmin/client.js';
import { discover as unionDiscover } from '../../src/controlplane/union/oauth.js';
import { planRepository } from '../../src/ops/plan-run.js';
import type { Plan } from '../../src/model/plan.js';
import {
  CLIENT_ID,
  exampleRepo,
  startFlyteadmin,
  useCredentials,
  type Flyteadmin,
} from './helpers.js';
import { flyteadminTargets, type FlyteadminUnderTest } from './targets.js';

async function plan(dir: string, cp: ControlPlane, commit: string | null = null): Promise<Plan> {
  const r = await planRepository(dir, cp, { commit });
  if (!r.ok) throw new Error(`invalid repository: ${JSON.stringify(r.errors)}`);
  return r.plan;
}

const actions = (p: Plan) => p.changes.map((c) => `${c.action} ${c.address}`);

const targets = flyteadminTargets();
afterAll(() => targets.close());

describe.each(targets.list)('flyteadmin backend against $name', (target) => {
  describe.skipIf(target.missing !== null)('Flyte OSS execution cluster labels', () => {
    let fa: FlyteadminUnderTest;
    let repo: Awaited<ReturnType<typeof exampleRepo>>;
    let cp: ControlPlane;

    beforeAll(async () => {
      fa = await target.start();
      repo = await exampleRepo('flyte-oss');
      cp = await openControlPlane(fa.url, { env: process.env });
    });
    afterAll(async () => {
      await cp?.close();
      await fa?.close();
      await repo?.cleanup();
    });

    it('plan → apply → plan: four labels set, then nothing to do', async () => {
      const first = await plan(repo.dir, cp, repo.commit);
      expect(first.errors).toEqual([]);
      expect(first.commit).toBe(repo.commit);
      // Only the labels are planned: ExecutionCluster and ClusterLabel are Helm values (no API).
      expect(actions(first)).toEqual([
        'create ExecutionClusterLabel/project1/development',
        'create ExecutionClusterLabel/project1/development/example.training_workflow',
        'create ExecutionClusterLabel/team1/development',
        'create ExecutionClusterLabel/team1/production',
      ]);
      expect(first.steps.map((s) => s.op)).toEqual(Array(4).fill('set_execution_cluster_label'));
      const applied = await executePlan(first, cp);
      expect(applied.ok).toBe(true);
      const second = await plan(repo.dir, cp, repo.commit);
      expect(second.steps).toEqual([]);
      expect(second.summary.noop).toBe(4);
    });

    it('writes what flyteadmin’s gateway reads: proto field names, enum names, per-level paths', async () => {
      const list = await fa.call(
        'GET',
        '/api/v1/matchable_attributes?resource_type=EXECUTION_CLUSTER_LABEL',
      );
      expect(list.status).toBe(200);
      expect(list.json['configurations']).toContainEqual({
        attributes: { execution_cluster_label: { value: 'training' } },
        domain: 'development',
        project: 'project1',
        workflow: 'example.training_workflow',
        launch_plan: '',
        org: '',
      });
      const one = await fa.call(
        'GET',
        '/api/v1/workflow_attributes/project1/development/example.training_workflow?resource_type=EXECUTION_CLUSTER_LABEL',
      );
      expect(one.json).toEqual({
        attributes: {
          project: 'project1',
          domain: 'development',
          workflow: 'example.training_workflow',
          matching_attributes: { execution_cluster_label: { value: 'training' } },
          org: '',
        },
      });
      // A registered project without the attribute: NotFound (resource_repo.go Get).
      const missing = await fa.call(
        'GET',
        '/api/v1/project_domain_attributes/team1/staging?resource_type=EXECUTION_CLUSTER_LABEL',
      );
      expect([missing.status, missing.json['code']]).toEqual([404, 5]);
      // A project flyteadmin has not registered: InvalidArgument (project_validator.go).
      const unregistered = await fa.call(
        'GET',
        '/api/v1/project_domain_attributes/nobody/development?resource_type=EXECUTION_CLUSTER_LABEL',
      );
      expect([unregistered.status, unregistered.json['code']]).toEqual([400, 3]);
    });

    it('drift made with flytectl shows as an update and an unmanaged label; prune deletes it', async () => {
      const put = (project: string, domain: string, value: string) =>
        fa.call('PUT', `/api/v1/project_domain_attributes/${project}/${domain}`, {
          attributes: {
            project,
            domain,
            matching_attributes: { execution_cluster_label: { value } },
          },
        });
      expect((await put('team1', 'production', 'label1')).status).toBe(200);
      expect((await put('flytesnacks', 'development', 'label2')).status).toBe(200);
      const drifted = await plan(repo.dir, cp);
      const changed = drifted.changes.filter((c) => c.action !== 'noop');
      expect(
        changed.map((c) => [c.action, c.address, c.diff.map((d) => [d.path, d.before, d.after])]),
      ).toEqual([
        ['unmanaged', 'ExecutionClusterLabel/flytesnacks/development', []],
        ['update', 'ExecutionClusterLabel/team1/production', [['label', 'label1', 'label2']]],
      ]);
      expect((await executePlan(drifted, cp)).ok).toBe(true);

      const config = join(repo.dir, 'poolsync.yaml');
      await writeFile(
        config,
        (await readFile(config, 'utf8')).replace('prune: false', 'prune: true'),
      );
      const pruning = await plan(repo.dir, cp);
      expect(pruning.steps.map((s) => [s.op, s.target])).toEqual([
        ['delete_execution_cluster_label', 'ExecutionClusterLabel/flytesnacks/development'],
      ]);
      expect((await executePlan(pruning, cp)).ok).toBe(true);
      expect((await plan(repo.dir, cp)).steps).toEqual([]);
      expect((await fa.rows('EXECUTION_CLUSTER_LABEL')).map((r) => r.project)).not.toContain(
        'flytesnacks',
      );
    });

    it('export writes the labels back as manifests and says what flyteadmin cannot tell', async () => {
      const exported = exportExecutionClusterLabels(await readLiveState(cp));
      expect(exported.files.map((f) => f.path)).toHaveLength(4);
      const specs = exported.files.map(
        (f) => (load(f.content) as { spec: Record<string, string> }).spec,
      );
      expect(specs).toContainEqual({
        project: 'project1',
        domain: 'development',
        workflow: 'example.training_workflow',
        label: 'training',
      });
      expect(exported.warnings[0]).toContain("'label1', 'label2', 'training'");
    });

    it('a kind flyteadmin cannot manage fails the plan, naming the backend, the kind and where it is', async () => {
      await writeFile(
        join(repo.dir, 'queue.yaml'),
        'apiVersion: poolsync/v1\nkind: Queue\nmetadata:\n  name: gpu\nspec:\n  run_concurrency: 1\n  action_concurrency: 1\n',
      );
      try {
        const p = await plan(repo.dir, cp);
        expect(p.errors.map((e) => [e.code, e.location])).toEqual([
          ['BACKEND_KIND', 'queue.yaml:1:1'],
        ]);
        expect(errorText(p.errors[0]!)).toContain('the flyteadmin backend cannot manage Queue');
      } finally {
        await writeFile(join(repo.dir, 'queue.yaml'), '');
      }
    });
  });

  describe.skipIf(target.missing !== null)('Union self-managed cluster assignments', () => {
    it('PoolAssignment ↔ CLUSTER_ASSIGNMENT; pools and clusters stay configuration', async () => {
      const fa = await target.start();
      // Union configures the pools on its side (the rendered mapping); flyteadmin takes any name.
      const repo = await exampleRepo('union-self-managed');
      const cp = await openControlPlane(fa.url, { env: process.env });
      try {
        const first = await plan(repo.dir, cp);
        expect(first.errors).toEqual([]);
        expect(actions(first)).toEqual([
          'create PoolAssignment/flytesnacks/development',
          'create PoolAssignment/flytesnacks/production/my_critical_wf',
        ]);
        expect((await executePlan(first, cp)).ok).toBe(true);
        expect((await plan(repo.dir, cp)).steps).toEqual([]);
        const res = await fa.call(
          'GET',
          '/api/v1/workflow_attributes/flytesnacks/production/my_critical_wf?resource_type=CLUSTER_ASSIGNMENT',
        );
        expect(
          (res.json['attributes'] as { matching_attributes: unknown }).matching_attributes,
        ).toEqual({
          cluster_assignment: { cluster_pool_name: 'production-cp' },
        });
      } finally {
        await cp.close();
        await fa.close();
        await repo.cleanup();
      }
    });
  });
});

// What flyteadmin's client asks first with credentials (Union's: its discover)
const asFlyteadmin = (url: string, http: OAuthHttp) =>
  flyteTokenSource(url, { clientId: 'poolsync', clientSecret: 'unused' }, http).token();

// The stand-in's port serves the poolsync REST API beside its gateway: only the real one.
const real = targets.list.find((t) => t.name !== 'stand-in')!;
describe.skipIf(real.missing !== null)(`${real.name} (auth off), asked as something else`, () => {
  let fa: FlyteadminUnderTest;
  beforeAll(async () => {
    fa = await real.start();
  });
  afterAll(() => fa?.close());

  it("its URL without flyteadmin+ is read as a poolsync REST API's: flyteadmin's 404 names the call and the prefix to use", async () => {
    const cp = await openControlPlane(fa.httpUrl, { env: process.env });
    try {
      const err = await readLiveState(cp).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(ControlPlaneError);
      expect((err as ControlPlaneError).code).toBe('NOT_FOUND');
      expect((err as Error).message).toMatch(
        new RegExp(
          `^GET ${fa.httpUrl}/v1/\\S+ answered HTTP 404 \\(Not Found\\): is ${fa.httpUrl} a poolsync control-plane API\\? A flyteadmin is flyteadmin\\+${fa.httpUrl}, `,
        ),
      );
    } finally {
      await cp.close();
    }
  });

  // Its discovery answers 501 (grpc-gateway's Unimplemented): not worth a retry, said at once.
  it.each([
    [
      'flyteadmin',
      asFlyteadmin,
      /is authentication enabled on http:.*\? \(unset POOLSYNC_FLYTE_CLIENT_ID/,
    ],
    [
      'Union',
      unionDiscover,
      /the server has no OAuth2 discovery there; is --control-plane the Union endpoint/,
    ],
  ] as const)(
    'credentials for %s: discovery fails once, saying what to check',
    async (_, ask, says) => {
      const sleeps: number[] = [];
      const clock = { now: Date.now, sleep: async (ms: number) => void sleeps.push(ms) };
      const err = await ask(fa.httpUrl, { clock }).then(
        () => null,
        (e: unknown) => e,
      );
      expect(sleeps).toEqual([]);
      expect((err as ControlPlaneError).code).toBe('UNAUTHENTICATED');
      expect((err as Error).message).toContain(
        '/.well-known/oauth-authorization-server answered HTTP 501',
      );
      expect((err as Error).message).toMatch(says);
    },
  );
});

describe('flyteadmin backend: authentication', () => {
  let fa: Flyteadmin;
  let undo: (() => Promise<void>) | undefined;
  beforeAll(async () => {
    fa = await startFlyteadmin();
  });
  afterAll(() => fa.close());
  afterEach(async () => {
    await undo?.();
    undo = undefined;
  });

  it('a wrong client secret is UNAUTHENTICATED, and the secret appears in no message', async () => {
    undo = await useCredentials(CLIENT_ID, 'not-the-secret-123');
    const cp = await openControlPlane(fa.url, { env: process.env });
    try {
      const err = await readLiveState(cp).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ControlPlaneError);
      expect((err as ControlPlaneError).code).toBe('UNAUTHENTICATED');
      expect((err as Error).message).toContain(`client '${CLIENT_ID}'`);
      expect((err as Error).message).toContain('invalid_client');
      expect((err as Error).message).toContain('the secret in POOLSYNC_FLYTE_CLIENT_SECRET_FILE (');
      expect((err as Error).message).not.toContain('not-the-secret-123');
    } finally {
      await cp.close();
    }
  });

  it('a wrong secret in POOLSYNC_FLYTE_CLIENT_SECRET: the refusal names that variable, not the file one', async () => {
    const env = { POOLSYNC_FLYTE_CLIENT_ID: CLIENT_ID, POOLSYNC_FLYTE_CLIENT_SECRET: 'wrong-456' };
    const cp = await openControlPlane(fa.url, { env });
    try {
      const err = (await readLiveState(cp).catch((e: unknown) => e)) as ControlPlaneError;
      expect(err.code).toBe('UNAUTHENTICATED');
      expect(err.message).toContain(
        'check POOLSYNC_FLYTE_CLIENT_ID and the secret in POOLSYNC_FLYTE_CLIENT_SECRET',
      );
      expect(err.message).not.toContain('POOLSYNC_FLYTE_CLIENT_SECRET_FILE');
    } finally {
      await cp.close();
    }
  });

  it('no credentials against a flyteadmin with auth: UNAUTHENTICATED with what to set', async () => {
    const cp = await openControlPlane(fa.url, { env: process.env });
    try {
      const err = (await readLiveState(cp).catch((e: unknown) => e)) as ControlPlaneError;
      expect(err.code).toBe('UNAUTHENTICATED');
      expect(err.message).toContain('POOLSYNC_FLYTE_CLIENT_ID');
    } finally {
      await cp.close();
    }
  });

  it('the gateway answers 401 with gRPC code 16 to a missing or forged token', async () => {
    const url = `${fa.server.url}/api/v1/matchable_attributes?resource_type=CLUSTER_ASSIGNMENT`;
    for (const headers of [{}, { 'flyte-authorization': 'Bearer forged' }] as Record<
      string,
      string
    >[]) {
      const res = await fetch(url, { headers });
      expect(res.status).toBe(401);
      expect(((await res.json()) as { code: number }).code).toBe(16);
    }
  });

  it('discovery announces the token endpoint and the flyte-authorization header', async () => {
    const meta = (await (
      await fetch(`${fa.server.url}/.well-known/oauth-authorization-server`)
    ).json()) as Record<string, unknown>;
    expect(meta['token_endpoint']).toBe(`${fa.server.url}/oauth2/token`);
    const client = (await (
      await fetch(`${fa.server.url}/config/v1/flyte_client`)
    ).json()) as Record<string, unknown>;
    expect(client['authorization_metadata_key']).toBe('flyte-authorization');
  });

  it('a secret without a client id is a user error, before any call', async () => {
    const before = process.env.POOLSYNC_FLYTE_CLIENT_SECRET;
    process.env.POOLSYNC_FLYTE_CLIENT_SECRET = 'secret-without-an-id';
    try {
      await expect(openControlPlane(fa.url, { env: process.env })).rejects.toThrow(
        /POOLSYNC_FLYTE_CLIENT_ID is not/,
      );
    } finally {
      if (before === undefined) delete process.env.POOLSYNC_FLYTE_CLIENT_SECRET;
      else process.env.POOLSYNC_FLYTE_CLIENT_SECRET = before;
    }
  });
});

describe('flyteadmin backend: URL', () => {
  it('refuses credentials in the URL without repeating them', async () => {
    const err = (await openControlPlane('flyteadmin+https://id:s3cret@flyte.example.com', {
      env: process.env,
    }).catch((e: unknown) => e)) as Error;
    expect(err.message).toContain('POOLSYNC_FLYTE_CLIENT_ID');
    expect(err.message).not.toContain('s3cret');
  });

  // 192.0.2.2 is TEST-NET-1 (RFC 5737); opening sends nothing, so the refusal is the open's own.
  it('client credentials over plain http go to this machine only: refused when it opens, saying to use https', async () => {
    const url = 'flyteadmin+http://192.0.2.2:18446';
    const env = {
      POOLSYNC_FLYTE_CLIENT_ID: 'poolsync',
      POOLSYNC_FLYTE_CLIENT_SECRET: 'cleartext-7f3a',
    };
    await expect(openControlPlane(url, { env })).rejects.toThrow(
      `control plane "${url}": flyteadmin+http:// with client credentials (POOLSYNC_FLYTE_CLIENT_ID) is for a local flyteadmin only (127.0.0.1, ::1, localhost); use flyteadmin+https://192.0.2.2:18446`,
    );
    // A flyteadmin without auth, and a local one with it, open as before.
    for (const [at, vars] of [
      [url, {}],
      ['flyteadmin+http://127.0.0.1:18446', env],
    ] as const)
      await (await openControlPlane(at, { env: vars })).close();
  });
});
