/**
 * The flyteadmins the suite runs against: the real one (scripts/flyte-go.sh, real/server.ts)
 * and the stand-in (src/standins/flyteadmin, helpers.ts). Each test of a file that uses
 * `flyteadminTargets()` runs on both, through the same narrow surface: poolsync's URL, raw
 * REST calls as flytectl would make them, the rows as flyteadmin lists them, a row at a level
 * its API never writes (a launch plan's: the probe writes it through flyteadmin's repository),
 * and project states. The real one runs with auth off, the stand-in with OAuth2: start() sets
 * or clears poolsync's credential variables to match and close() restores them.
 */
import type { ProjectState } from '../../src/model/flyte.js';
import type { ResourceType } from '../../src/standins/flyteadmin/gateway.js';
import { CLIENT_ID, CLIENT_SECRET, startFlyteadmin, token, useCredentials } from './helpers.js';
import { FLYTEADMIN_WITHOUT_DOMAINS, realMissing } from './real/binaries.js';
import { RealFlyteadmins, call as rawCall } from './real/server.js';

export interface Row {
  project: string;
  domain: string;
  workflow: string;
  launch_plan: string;
  value: string;
}

export interface StartOptions {
  projects?: (string | { id: string; state?: ProjectState })[];
  domains?: string[];
  /** flyteadmin's `clusters` section (the real one only reads it). */
  clusters?: unknown;
  /** false: a flyteadmin before v1.13.0, without GetDomains (real: v1.12.0). */
  getDomains?: boolean;
}

export interface FlyteadminUnderTest {
  name: string;
  real: boolean;
  /** flyteadmin+http://127.0.0.1:PORT */
  url: string;
  /** http://127.0.0.1:PORT */
  httpUrl: string;
  /** The gRPC endpoint flytectl dials (the real one only). */
  grpcEndpoint?: string;
  /** A REST call as flytectl makes it (Accept: application/json; a token where auth is on). */
  call(
    method: string,
    path: string,
    body?: unknown,
  ): Promise<{ status: number; json: Record<string, unknown> }>;
  /** Every row of the type, as ListMatchableAttributes answers. */
  rows(type: ResourceType): Promise<Row[]>;
  /** A row at any level, launch plan included (no API writes one: see probe/main.go). */
  insertRow(
    type: ResourceType,
    row: Partial<Row> & { project: string; value: string },
  ): Promise<void>;
  /** UpdateProject's state (flytectl update project --archive / --activate). */
  setProjectState(id: string, state: ProjectState): Promise<void>;
  close(): Promise<void>;
}

export interface Target {
  name: string;
  /** Why this target cannot run here, or null. */
  missing: string | null;
  start(opts?: StartOptions): Promise<FlyteadminUnderTest>;
}

export const DEFAULT_PROJECTS = ['flytesnacks', 'project1', 'team1'];

const ENV = [
  'POOLSYNC_FLYTE_CLIENT_ID',
  'POOLSYNC_FLYTE_CLIENT_SECRET_FILE',
  'POOLSYNC_FLYTE_CLIENT_SECRET',
];

function clearCredentials(): () => Promise<void> {
  const before = ENV.map((k) => [k, process.env[k]] as const);
  for (const k of ENV) delete process.env[k];
  return async () => {
    for (const [k, v] of before) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  };
}

const attributeValue = (type: ResourceType, attrs: Record<string, unknown> | undefined): string => {
  const field =
    type === 'EXECUTION_CLUSTER_LABEL' ? 'execution_cluster_label' : 'cluster_assignment';
  const inner = attrs?.[field] as Record<string, unknown> | undefined;
  return String(
    (type === 'EXECUTION_CLUSTER_LABEL' ? inner?.['value'] : inner?.['cluster_pool_name']) ?? '',
  );
};

const matching = (type: ResourceType, value: string) =>
  type === 'EXECUTION_CLUSTER_LABEL'
    ? { execution_cluster_label: { value } }
    : { cluster_assignment: { cluster_pool_name: value } };

async function listRows(call: FlyteadminUnderTest['call'], type: ResourceType): Promise<Row[]> {
  const res = await call('GET', `/api/v1/matchable_attributes?resource_type=${type}`);
  const configs = (res.json['configurations'] ?? []) as Record<string, unknown>[];
  return configs
    .map((c) => ({
      project: String(c['project'] ?? ''),
      domain: String(c['domain'] ?? ''),
      workflow: String(c['workflow'] ?? ''),
      launch_plan: String(c['launch_plan'] ?? ''),
      value: attributeValue(type, c['attributes'] as Record<string, unknown>),
    }))
    .sort((a, b) => (rowKey(a) < rowKey(b) ? -1 : 1));
}

export const rowKey = (r: Row) =>
  `${r.project}/${r.domain}/${r.workflow}/${r.launch_plan}=${r.value}`;

const standIn: Target = {
  name: 'stand-in',
  missing: null,
  async start(opts = {}) {
    const fa = await startFlyteadmin(undefined, {
      projects: opts.projects ?? DEFAULT_PROJECTS,
      ...(opts.domains ? { domains: opts.domains } : {}),
      ...(opts.getDomains === false ? { getDomains: false } : {}),
    });
    const undo = await useCredentials(CLIENT_ID, CLIENT_SECRET);
    const httpUrl = fa.server.url;
    const call: FlyteadminUnderTest['call'] = async (method, path, body) => {
      const t = await token(httpUrl);
      const res = await fetch(`${httpUrl}${path}`, {
        method,
        headers: {
          accept: 'application/json',
          'flyte-authorization': `Bearer ${t}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const text = await res.text();
      return { status: res.status, json: text === '' ? {} : JSON.parse(text) };
    };
    return {
      name: 'stand-in',
      real: false,
      url: fa.url,
      httpUrl,
      call,
      rows: (type) => listRows(call, type),
      insertRow: async (type, row) =>
        fa.store.createOrUpdate(
          {
            project: row.project,
            domain: row.domain ?? '',
            workflow: row.workflow ?? '',
            launch_plan: row.launch_plan ?? '',
            resource_type: type,
            org: '',
          },
          matching(type, row.value),
        ),
      setProjectState: async (id, state) => fa.store.setProjectState(id, state),
      close: async () => {
        await fa.close();
        await undo();
      },
    };
  },
};

function realTarget(pool: RealFlyteadmins): Target {
  return {
    name: 'flyteadmin v1.13.0',
    missing: realMissing,
    async start(opts = {}) {
      const fa = await pool.start({
        ...(opts.getDomains === false ? { release: FLYTEADMIN_WITHOUT_DOMAINS } : {}),
        projects: opts.projects ?? DEFAULT_PROJECTS,
        ...(opts.domains ? { domains: opts.domains } : {}),
        ...(opts.clusters !== undefined ? { clusters: opts.clusters } : {}),
      });
      const undo = clearCredentials();
      const call: FlyteadminUnderTest['call'] = (method, path, body) =>
        rawCall(fa.httpUrl, method, path, body);
      return {
        name: fa.release,
        real: true,
        url: fa.url,
        httpUrl: fa.httpUrl,
        grpcEndpoint: fa.grpcEndpoint,
        call,
        rows: (type) => listRows(call, type),
        insertRow: async (type, row) => {
          const args = ['-type', type, '-project', row.project, '-value', row.value];
          if (row.domain) args.push('-domain', row.domain);
          if (row.workflow) args.push('-workflow', row.workflow);
          if (row.launch_plan) args.push('-launch-plan', row.launch_plan);
          await fa.probe('insert-row', args);
        },
        setProjectState: async (id, state) => {
          const res = await call('PUT', `/api/v1/projects/${id}`, { id, name: id, state });
          if (res.status !== 200)
            throw new Error(`UpdateProject ${id}: ${JSON.stringify(res.json)}`);
        },
        close: async () => {
          await fa.close();
          await undo();
        },
      };
    },
  };
}

/** The targets of one test file; `close` in afterAll stops what the real one shares. */
export function flyteadminTargets(): { list: Target[]; close(): Promise<void> } {
  const pool = new RealFlyteadmins();
  return { list: [realTarget(pool), standIn], close: () => pool.close() };
}

/** An ExecutionCluster and two ClusterLabels on it: what label and assignment tests route to. */
export const FLYTE_CONFIG = `apiVersion: poolsync/v1
kind: ExecutionCluster
metadata: {name: dp1}
spec:
  endpoint: https://dp1.example.com:443
  auth: {type: file_path, tokenPath: /var/run/credentials/dp1_token, certPath: /var/run/credentials/dp1_cacert}
---
apiVersion: poolsync/v1
kind: ClusterLabel
metadata: {name: label1}
spec: {clusters: [{cluster: dp1, weight: 1}]}
---
apiVersion: poolsync/v1
kind: ClusterLabel
metadata: {name: label2}
spec: {clusters: [{cluster: dp1, weight: 1}]}
`;

export const ecl = (name: string, spec: string) =>
  `apiVersion: poolsync/v1\nkind: ExecutionClusterLabel\nmetadata: {name: ${name}}\nspec: {${spec}}\n`;
