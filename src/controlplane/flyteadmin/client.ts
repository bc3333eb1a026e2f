/**
 * The flyteadmin backend (`flyteadmin+https://HOST`) over flyteadmin's REST gateway
 * (real-apis.md §2). flyteadmin keeps matchable attributes, not pools, clusters or queues:
 *  - PoolAssignment ↔ CLUSTER_ASSIGNMENT (`cluster_assignment.cluster_pool_name`, Union
 *    self-managed's `uctl update cluster-pool-attributes`);
 *  - ExecutionClusterLabel ↔ EXECUTION_CLUSTER_LABEL (`flytectl update execution-cluster-label`);
 *  - the project/domain and workflow levels are written, and for labels the project-wide one
 *    (`project_attributes`, flyteadmin's lowest match level: repositories/models/resource.go);
 *    the others (domain-wide, launch plan, project-wide assignments) are reported, though a
 *    delete may take them along (plan/flyteadmin.ts);
 *  - ExecutionCluster, ClusterLabel, ClusterPool and Cluster are configuration (Helm values,
 *    Union's pool mapping): the plan leaves them out and `poolsync render` writes them.
 */
import type { KubeConfig } from '@kubernetes/client-node';
import {
  address,
  type Assignment,
  type AssignmentKey,
  assignmentKeyString,
} from '../../model/common.js';
import {
  type AttributeRow,
  attributeRowKey,
  type ClusterLabelEntry,
  type DeployedClusterConfig,
  deletesAlong,
  type ExecutionClusterLabel,
  type FlyteadminLive,
  type MatchableResourceType,
  isMap,
  PROJECT_STATES,
  type ProjectState,
} from '../../model/flyte.js';
import type { LiveAssignment } from '../../model/live.js';
import { Reach } from '../../util/reach.js';
import { ControlPlaneError, withAddress, type ControlPlaneErrorCode } from '../errors.js';
import { type ErrorBody, JsonHttp } from '../json-http.js';
import { SharedReads } from '../shared-reads.js';
import { type ClientTuning, limitsOf, type OpenOptions, retryPolicy } from '../opener.js';
import { refuseUrlCredentials } from '../../util/url-credentials.js';
import type {
  AssignmentCalls,
  BackendProfile,
  ControlPlane,
  ExecutionClusterLabelCalls,
} from '../types.js';
import { readUserFile, SECRET_FILE_BYTES } from '../../util/safe-file.js';
import { UserError } from '../../util/user-error.js';
import { type K8sPlace, parseK8sPlace } from '../../util/k8s-place.js';
import { rememberSecret } from '../../util/redact.js';
import { checkBound, parseSecretFile } from '../../util/bound-secret.js';
import { type ClientCredentials, discover, type OAuthHttp, TokenSource } from '../oauth.js';
import { transientStatus } from '../retry.js';
import { isLoopback } from '../../util/reach.js';
import { load, yamlFileProblem } from '../../util/js-yaml.js';
import { HTTP_DELAYS } from '../../util/backoff.js';
import type { Env } from '../../util/env.js';

export interface FlyteadminOptions extends ClientTuning {
  /** OAuth2 client credentials; null or absent: no auth (flyteadmin with useAuth off). */
  credentials?: FlyteCredentials | null | undefined;
  /** flyteidl's `org`, sent on every call and matched on every row read. */
  org?: string | undefined;
  /** Where flyteadmin's cluster configuration is read from (absent: not read). */
  clustersConfigMap?: K8sPlace | null | undefined;
  /** The Kubernetes credentials for it (default: none). */
  kubeConfig?: (() => Promise<KubeConfig>) | undefined;
}

/** grpc-gateway's error body `code` (a gRPC status code) → ControlPlaneError code. */
const GRPC_CODES: Record<number, ControlPlaneErrorCode> = {
  3: 'INVALID_ARGUMENT',
  5: 'NOT_FOUND',
  6: 'ALREADY_EXISTS',
  7: 'PERMISSION_DENIED',
  9: 'FAILED_PRECONDITION',
  14: 'UNAVAILABLE',
  16: 'UNAUTHENTICATED',
};

export class FlyteadminControlPlane implements ControlPlane {
  readonly backend: BackendProfile = {
    name: 'flyteadmin',
    configKinds: ['ExecutionCluster', 'ClusterLabel', 'ClusterPool', 'Cluster'],
  };
  readonly assignments: AssignmentCalls = this;
  readonly executionClusterLabels: ExecutionClusterLabelCalls = this;
  private readonly http: JsonHttp;
  private readonly attributes: FlyteadminAttributes;
  private readonly org: string;
  private readonly clustersConfigMap: K8sPlace | null;
  private readonly kubeConfig: () => Promise<KubeConfig>;
  private kube: Promise<KubeConfig> | null = null;
  readonly credentialsRefused?: () => boolean;

  /** `baseUrl`: without the `flyteadmin+` prefix or a query. */
  constructor(baseUrl: string, opts: FlyteadminOptions = {}) {
    const limits = limitsOf(opts);
    const reach = new Reach();
    // Each OAuth2 request is tried once: the call's retry loop retries it, as its own requests.
    const tokens = opts.credentials
      ? flyteTokenSource(new URL(baseUrl).origin, opts.credentials, {
          limits,
          retry: { maxRetries: 0, minDelayMs: 0, maxDelayMs: 0 },
          reach,
          signal: opts.signal,
          clock: opts.clock,
        })
      : null;
    this.http = new JsonHttp(baseUrl, {
      service: 'flyteadmin',
      label: (method, path) => `flyteadmin ${method} ${path}`,
      apiError: (method, path, status, body) =>
        apiError(method, path, status, body, !!tokens, this.http),
      notHttp1Advice: NOT_HTTP1_ADVICE,
      urlSetting: (url) => `flyteadmin+${url}`,
      // A refused token is fetched anew once (flyteTokenSource: why `Authorization`).
      auth: tokens
        ? {
            header: async () => `Bearer ${await tokens.token()}`,
            refused: () => tokens.invalidate(),
            get asking() {
              return tokens.asking;
            },
          }
        : undefined,
      retry: retryPolicy(opts, { maxRetries: 6, ...HTTP_DELAYS }),
      limits,
      connections: opts.connections ?? 32,
      onPace: opts.onPace,
      onWait: opts.onWait,
      clock: opts.clock,
      reach,
      signal: opts.signal,
    });
    if (tokens) this.credentialsRefused = () => tokens.wasRefused;
    this.org = opts.org ?? '';
    this.attributes = new FlyteadminAttributes(this.http, this.org);
    this.clustersConfigMap = opts.clustersConfigMap ?? null;
    this.kubeConfig =
      opts.kubeConfig ??
      (async () =>
        (await import('../../lease/k8s-lease.js')).loadKubeConfig({}, limits, opts.onWait));
  }

  get url(): string {
    const query = new URLSearchParams();
    if (this.org !== '') query.set('org', this.org);
    if (this.clustersConfigMap)
      query.set(
        'clusters-configmap',
        `${this.clustersConfigMap.namespace}/${this.clustersConfigMap.name}`,
      );
    const q = query.toString();
    return `flyteadmin+${this.http.url}${q ? `?${q}` : ''}`;
  }

  /** What the planner needs beyond the managed rows (docs/flyte-oss.md). */
  async flyteadminState(): Promise<FlyteadminLive> {
    const [labels, assignments, listed, domains, deployed] = await Promise.all([
      this.attributes.others('EXECUTION_CLUSTER_LABEL'),
      this.attributes.others('CLUSTER_ASSIGNMENT'),
      listProjects(this.http, this.org),
      listDomains(this.http),
      this.deployedClusterConfig(),
    ]);
    const key = (r: AttributeRow) => `${r.resource_type}\u0000${attributeRowKey(r)}`;
    const other_rows = [...labels, ...assignments].sort((a, b) =>
      key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0,
    );
    return { other_rows, projects: listed.projects, domains: domains ?? listed.domains, deployed };
  }

  deployedClusterConfig(): Promise<DeployedClusterConfig> {
    return readDeployedConfig(this.clustersConfigMap, () => (this.kube ??= this.kubeConfig()));
  }

  listAssignments(): Promise<LiveAssignment[]> {
    return this.attributes.managed('CLUSTER_ASSIGNMENT', 'pool');
  }

  async setAssignment(assignment: Assignment): Promise<LiveAssignment> {
    await this.attributes.put(assignment, 'CLUSTER_ASSIGNMENT', assignment.pool);
    return { ...assignment };
  }

  async deleteAssignment(key: AssignmentKey): Promise<void> {
    await this.attributes.remove(key, 'CLUSTER_ASSIGNMENT');
  }

  assignmentsDeletedWith(key: AssignmentKey): Promise<string[]> {
    return this.attributes.deletedWith(key, 'CLUSTER_ASSIGNMENT');
  }

  listExecutionClusterLabels(): Promise<ExecutionClusterLabel[]> {
    return this.attributes.managed('EXECUTION_CLUSTER_LABEL', 'label');
  }

  async setExecutionClusterLabel(label: ExecutionClusterLabel): Promise<ExecutionClusterLabel> {
    await this.attributes.put(label, 'EXECUTION_CLUSTER_LABEL', label.label);
    return { ...label };
  }

  async deleteExecutionClusterLabel(key: AssignmentKey): Promise<void> {
    await this.attributes
      .remove(key, 'EXECUTION_CLUSTER_LABEL')
      .catch(withAddress(address('ExecutionClusterLabel', assignmentKeyString(key))));
  }

  labelsDeletedWith(key: AssignmentKey): Promise<string[]> {
    return this.attributes.deletedWith(key, 'EXECUTION_CLUSTER_LABEL');
  }

  async close(): Promise<void> {
    await this.http.close();
  }
}

/**
 * `flyteadmin+https://HOST[:PORT][?org=ORG&clusters-configmap=NAMESPACE/NAME]` (`+http://` for a
 * local flyteadmin); else env POOLSYNC_FLYTE_ORG and POOLSYNC_FLYTE_CLUSTERS_CONFIGMAP (the
 * cluster configuration flyteadmin runs with: docs/flyte-oss.md, Labels wait for their deployment).
 */
export async function openFlyteadmin(url: string, opts: OpenOptions): Promise<ControlPlane> {
  const inner = url.slice('flyteadmin+'.length);
  // Before any message repeats the URL: it would hold the secret.
  refuseUrlCredentials(
    url,
    'the control plane URL',
    'set POOLSYNC_FLYTE_CLIENT_ID and POOLSYNC_FLYTE_CLIENT_SECRET_FILE',
  );
  if (!URL.canParse(inner))
    throw new UserError(`control plane "${url}" is not a valid URL; use flyteadmin+https://HOST`);
  const parsed = new URL(inner);
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:')
    throw new UserError(
      `control plane "${url}": use flyteadmin+https://HOST (or flyteadmin+http:// for a local flyteadmin)`,
    );
  const env = opts.env ?? {};
  const params = parsed.searchParams;
  const org = params.get('org') ?? env.POOLSYNC_FLYTE_ORG ?? '';
  const configMap = params.get('clusters-configmap') ?? env.POOLSYNC_FLYTE_CLUSTERS_CONFIGMAP ?? '';
  parsed.search = '';
  const credentials = await credentialsFromEnv(url, env);
  // Refused before any request: discovery over plain http could name any token endpoint.
  if (credentials && parsed.protocol === 'http:' && !isLoopback(parsed.hostname))
    throw new UserError(
      `control plane "${url}": flyteadmin+http:// with client credentials (POOLSYNC_FLYTE_CLIENT_ID) is for a local flyteadmin only (127.0.0.1, ::1, localhost); use flyteadmin+https://${parsed.host}`,
    );
  return new FlyteadminControlPlane(parsed.toString(), {
    ...opts.http,
    credentials,
    org: org.trim(),
    kubeConfig: async () =>
      (await import('../../lease/k8s-lease.js')).loadKubeConfig(
        env,
        limitsOf(opts.http ?? {}),
        opts.http?.onWait,
      ),
    clustersConfigMap:
      configMap.trim() === '' ? null : parseConfigMapRef(configMap, 'clusters-configmap'),
  });
}

/** flyteadmin's defaults (flyteadmin/pkg/config/config.go: defaultServerConfig). */
const NOT_HTTP1_ADVICE =
  "give flyteadmin's HTTP port in --control-plane (server.httpPort, 8088 by default), not its gRPC port (server.grpc.port, 8089 by default)";

/**
 * grpc-gateway's `{code, message}` error, with what to do about auth, or about the URL for a path
 * nothing routes: the gateway's "Not Found" (runtime's routing error), or a proxy's page.
 */
function apiError(
  method: string,
  path: string,
  status: number,
  payload: ErrorBody,
  auth: boolean,
  http: Pick<JsonHttp, 'origin' | 'basePath' | 'url'>,
) {
  const code =
    (typeof payload.code === 'number' ? GRPC_CODES[payload.code] : undefined) ??
    (status === 401
      ? 'UNAUTHENTICATED'
      : status === 403
        ? 'PERMISSION_DENIED'
        : status === 404
          ? 'NOT_FOUND'
          : transientStatus(status)
            ? 'UNAVAILABLE'
            : 'INVALID_ARGUMENT');
  const detail = typeof payload.message === 'string' ? payload.message : `HTTP ${status}`;
  const unrouted = status === 404 && (detail === 'Not Found' || detail === 'HTTP 404');
  const hint = unrouted
    ? ` (HTTP 404 for ${http.url}${path}: nothing serves that path)${
        http.basePath === ''
          ? ''
          : `; the path ${http.basePath} of --control-plane (env POOLSYNC_CONTROL_PLANE) may be wrong: flyteadmin serves its API (/api/v1/…) at the root of its HTTP port, flyteadmin+${http.origin}, unless a proxy in front of it adds that path`
      }`
    : code === 'PERMISSION_DENIED'
      ? auth
        ? ` (the token was accepted but may not make this call: give the client of POOLSYNC_FLYTE_CLIENT_ID a role or scope that allows ${method} ${path.split('?')[0]})`
        : ' (flyteadmin or a proxy before it forbids this call without credentials: set POOLSYNC_FLYTE_CLIENT_ID and POOLSYNC_FLYTE_CLIENT_SECRET_FILE)'
      : code !== 'UNAUTHENTICATED'
        ? ''
        : auth
          ? ' (the token was refused: check the client id and secret and their scopes)'
          : ' (flyteadmin requires authentication: set POOLSYNC_FLYTE_CLIENT_ID and POOLSYNC_FLYTE_CLIENT_SECRET_FILE)';
  return new ControlPlaneError(code, `flyteadmin ${method} ${path}: ${detail}${hint}`);
}

/** MatchableAttributesConfiguration (matchable_resource.proto) as JSON. */
interface Configuration {
  attributes?: Partial<Record<string, Partial<Record<string, string>>>>;
  project?: string;
  domain?: string;
  workflow?: string;
  launch_plan?: string;
  org?: string;
}

/** Where each type keeps its value in MatchingAttributes (matchable_resource.proto). */
const VALUE_AT = {
  EXECUTION_CLUSTER_LABEL: ['execution_cluster_label', 'value'],
  CLUSTER_ASSIGNMENT: ['cluster_assignment', 'cluster_pool_name'],
} as const satisfies Record<MatchableResourceType, readonly [string, string]>;

/**
 * flyteadmin's matchable attributes (real-apis.md §2): a type's list holds its rows at every
 * level; only the levels poolsync manages are written (isManagedLevel, attributesPath). A row of another org
 * is not this repository's and is left out; '' is a flyteadmin that keeps no org.
 */
export class FlyteadminAttributes {
  /** One list call per type at a time: a live-state read asks for each type twice. */
  private readonly reads = new SharedReads();

  constructor(
    private readonly http: JsonHttp,
    private readonly org: string,
  ) {}

  rows(type: MatchableResourceType): Promise<AttributeRow[]> {
    return this.reads.get(type, () => this.list(type));
  }

  private async list(type: MatchableResourceType): Promise<AttributeRow[]> {
    const org = this.org === '' ? '' : `&org=${encodeURIComponent(this.org)}`;
    const res = await this.http.call<{ configurations?: Configuration[] } | undefined>(
      'GET',
      `/api/v1/matchable_attributes?resource_type=${type}${org}`,
    );
    return (res?.configurations ?? [])
      .filter((c) => (c.org ?? '') === '' || c.org === this.org)
      .map((c) => ({
        resource_type: type,
        project: c.project ?? '',
        domain: c.domain ?? '',
        workflow: c.workflow ?? '',
        launch_plan: c.launch_plan ?? '',
        value: c.attributes?.[VALUE_AT[type][0]]?.[VALUE_AT[type][1]] ?? '',
      }))
      .filter((r) => r.value !== '');
  }

  /** The rows at the levels poolsync manages (isManagedLevel), the value as `field`. */
  async managed<F extends string>(type: MatchableResourceType, field: F) {
    type Row = AssignmentKey & Record<F, string>;
    return (await this.rows(type)).filter(isManagedLevel).map(
      (r): Row =>
        ({
          project: r.project,
          domain: r.domain,
          workflow: r.workflow === '' ? null : r.workflow,
          [field]: r.value,
        }) as Row,
    );
  }

  async others(type: MatchableResourceType): Promise<AttributeRow[]> {
    return (await this.rows(type)).filter((r) => !isManagedLevel(r));
  }

  /** UpdateProjectDomain/Workflow/ProjectAttributes: the body names the row by its key fields. */
  async put(key: AssignmentKey, type: MatchableResourceType, value: string): Promise<void> {
    const [attribute, field] = VALUE_AT[type];
    const matching = { [attribute]: { [field]: value } };
    const attributes = { ...this.keyFields(key), matching_attributes: matching };
    await this.http.call('PUT', attributesPath(key), { attributes });
  }

  /** The rows of `type` a delete of `key` takes along now (deletesAlong), by attributeRowKey. */
  async deletedWith(key: AssignmentKey, type: MatchableResourceType): Promise<string[]> {
    return (await this.rows(type)).filter((r) => deletesAlong(key, r)).map(attributeRowKey);
  }

  async remove(key: AssignmentKey, type: MatchableResourceType): Promise<void> {
    const body = { ...this.keyFields(key), resource_type: type };
    await this.http.call('DELETE', attributesPath(key), body);
  }

  private keyFields(key: AssignmentKey): Record<string, unknown> {
    return {
      project: key.project,
      // ProjectAttributes has no domain (project_attributes.proto).
      ...(key.domain !== '' ? { domain: key.domain } : {}),
      ...((key.workflow ?? null) !== null ? { workflow: key.workflow } : {}),
      org: this.org,
    };
  }
}

/**
 * Project/domain and workflow rows; for labels the project-wide row too (an
 * ExecutionClusterLabel without a domain). A project-wide CLUSTER_ASSIGNMENT is not declarable
 * (PoolAssignment takes a domain), so it stays reported.
 */
function isManagedLevel(r: AttributeRow): boolean {
  if (r.project === '' || r.launch_plan !== '') return false;
  if (r.domain !== '') return true;
  return r.workflow === '' && r.resource_type === 'EXECUTION_CLUSTER_LABEL';
}

/** The gateway path of a row's level (service/admin.proto's http annotations). */
function attributesPath(key: AssignmentKey): string {
  if (key.domain === '') return `/api/v1/project_attributes/${seg(key.project)}`;
  const p = `${seg(key.project)}/${seg(key.domain)}`;
  return (key.workflow ?? null) === null
    ? `/api/v1/project_domain_attributes/${p}`
    : `/api/v1/workflow_attributes/${p}/${seg(key.workflow!)}`;
}

/**
 * One path segment; `.` and `..` as `%2E` and `%2E%2E`: plain dot segments are cleaned away by
 * Go's ServeMux (a redirect), so a delete was reported done while the row stayed (issue 38, item
 * 10). grpc-gateway decodes them into the name (test/flyteadmin/dot-segments.e2e.test.ts).
 */
function seg(value: string): string {
  if (value === '.') return '%2E';
  if (value === '..') return '%2E%2E';
  return encodeURIComponent(value);
}

interface ProjectsPage {
  projects?: {
    id?: string;
    state?: string | number;
    org?: string;
    domains?: { id?: string }[];
  }[];
}

export type ProjectList = Pick<FlyteadminLive, 'projects' | 'domains'>;

/**
 * The projects flyteadmin knows, so the plan can refuse an attribute flyteadmin would refuse
 * (manager/impl/validation/project_validator.go: an unregistered or archived project, an unknown
 * domain). Without filters ListProjects leaves archived projects out, so they are listed again
 * with `filters=eq(state,1)` (gormimpl/project_repo.go). The domains the projects carry are
 * GetDomains' answer before v1.13.0 (manager/impl/project_manager.go getDomains: the same list).
 */
export async function listProjects(http: JsonHttp, org: string): Promise<ProjectList> {
  const lists = await Promise.all(['', 'eq(state,1)'].map((f) => listAll(http, org, f)));
  const byId = new Map<string, ProjectState>();
  const domains = new Set<string>();
  for (const p of lists.flat()) {
    if (!p.id || ((p.org ?? '') !== '' && p.org !== org)) continue;
    byId.set(p.id, projectState(p.state));
    for (const d of p.domains ?? []) if (d.id) domains.add(d.id);
  }
  return {
    projects: [...byId.keys()].sort().map((id) => ({ id, state: byId.get(id)! })),
    domains: [...domains].sort(),
  };
}

/** One ListProjects call: without a limit, every project at once (gormimpl/project_repo.go). */
async function listAll(http: JsonHttp, org: string, filters: string) {
  const query = new URLSearchParams();
  if (filters !== '') query.set('filters', filters);
  if (org !== '') query.set('org', org);
  const q = query.toString();
  const res = await http.call<ProjectsPage | undefined>(
    'GET',
    `/api/v1/projects${q ? `?${q}` : ''}`,
  );
  return res?.projects ?? [];
}

/** An enum by name (protojson) or number; absent is 0, ACTIVE; one this version does not know is not active. */
function projectState(raw: string | number | undefined): ProjectState {
  if (raw === undefined || raw === '') return 'ACTIVE';
  if (typeof raw === 'number') return PROJECT_STATES[raw] ?? 'ARCHIVED';
  return (PROJECT_STATES as readonly string[]).includes(raw) ? (raw as ProjectState) : 'ARCHIVED';
}

/** GetDomains, or null before flyteadmin v1.13.0 (flyteorg/flyte #5443: 404, code 5 NotFound). */
export async function listDomains(http: JsonHttp): Promise<string[] | null> {
  let res: { domains?: { id?: string }[] } | undefined;
  try {
    res = await http.call<typeof res>('GET', '/api/v1/domains');
  } catch (err) {
    if (err instanceof ControlPlaneError && err.code === 'NOT_FOUND') return null;
    throw err;
  }
  return (res?.domains ?? [])
    .map((d) => d.id ?? '')
    .filter((d) => d !== '')
    .sort();
}

/**
 * POOLSYNC_FLYTE_CLIENT_ID and the secret from POOLSYNC_FLYTE_CLIENT_SECRET_FILE or
 * POOLSYNC_FLYTE_CLIENT_SECRET (both set is refused: one would silently win); never from a flag
 * value; none set: null (no auth). A secret that
 * names its flyteadmin (util/bound-secret.ts) is refused for any other `url`, before discovery.
 */
export async function credentialsFromEnv(url: string, env: Env): Promise<FlyteCredentials | null> {
  const clientId = env.POOLSYNC_FLYTE_CLIENT_ID?.trim() ?? '';
  const file = env.POOLSYNC_FLYTE_CLIENT_SECRET_FILE?.trim() ?? '';
  let secret = '';
  let secretFrom = 'POOLSYNC_FLYTE_CLIENT_SECRET';
  if (file !== '' && env.POOLSYNC_FLYTE_CLIENT_SECRET?.trim())
    throw new UserError(
      `both POOLSYNC_FLYTE_CLIENT_SECRET and POOLSYNC_FLYTE_CLIENT_SECRET_FILE (${file}) are set, and poolsync will not guess which client secret is meant: unset one of them`,
    );
  if (file !== '') {
    secretFrom = `POOLSYNC_FLYTE_CLIENT_SECRET_FILE (${file})`;
    const what = 'POOLSYNC_FLYTE_CLIENT_SECRET_FILE';
    const bytes = await readUserFile(file, { maxBytes: SECRET_FILE_BYTES, what });
    const read = parseSecretFile(bytes.toString('utf8'), 'secret', `${what} ${file}`);
    secret = read.secret;
    if (secret === '') throw new UserError(`POOLSYNC_FLYTE_CLIENT_SECRET_FILE ${file} is empty`);
    checkBound(`the client secret file (${what}) ${file}`, read.endpoint, url);
  } else if (env.POOLSYNC_FLYTE_CLIENT_SECRET?.trim()) {
    const read = parseSecretFile(
      env.POOLSYNC_FLYTE_CLIENT_SECRET.trim(),
      'secret',
      'POOLSYNC_FLYTE_CLIENT_SECRET',
    );
    secret = read.secret;
    checkBound('POOLSYNC_FLYTE_CLIENT_SECRET', read.endpoint, url);
  }
  rememberSecret(secret, secretFrom);
  if (clientId === '' && secret === '') return null;
  if (clientId === '')
    throw new UserError(
      'a flyteadmin client secret is set but POOLSYNC_FLYTE_CLIENT_ID is not: set the OAuth2 client id',
    );
  if (secret === '')
    throw new UserError(
      'POOLSYNC_FLYTE_CLIENT_ID is set but no secret: put it in a file named by POOLSYNC_FLYTE_CLIENT_SECRET_FILE (or in POOLSYNC_FLYTE_CLIENT_SECRET)',
    );
  return { clientId, clientSecret: secret, secretFrom };
}

/** `secretFrom`: where the secret was read, for a refusal to name (a variable, or its file). */
export interface FlyteCredentials extends ClientCredentials {
  secretFrom?: string;
}

/**
 * OAuth2 client credentials for flyteadmin, as flytectl does it (real-apis.md §2), discovered on
 * the first call (controlplane/oauth.ts). The token goes in `Authorization`, which flyteadmin's
 * HTTP gateway reads in every configuration (auth/handlers.go IdentityContextFromRequest);
 * `authorization_metadata_key` names the header of its gRPC port, which poolsync does not use.
 */
export function flyteTokenSource(
  origin: string,
  credentials: FlyteCredentials,
  http: OAuthHttp,
): TokenSource {
  const service = 'flyteadmin';
  const hint = (_message: string, code: string) =>
    code === 'INVALID_ARGUMENT'
      ? `: is --control-plane (env POOLSYNC_CONTROL_PLANE) the URL of flyteadmin's API, not of a web page or another server?`
      : `; is authentication enabled on ${origin}? (unset POOLSYNC_FLYTE_CLIENT_ID for a flyteadmin without auth)`;
  return new TokenSource(credentials, () => discover(origin, { service, http, hint }), {
    service,
    http,
    refusal: (status, code) =>
      // A 5xx or 429 is the server failing (or a proxy), retried already: no verdict on the credentials.
      transientStatus(status)
        ? new ControlPlaneError(
            'UNAVAILABLE',
            `flyteadmin's token endpoint answered HTTP ${status}${code ? ` (${code})` : ''} to the token request of client '${credentials.clientId}' after its retries (--max-retries): ${status === 429 ? 'it is throttling requests' : 'a proxy or server error'}, not a verdict on the credentials; try again, and if it lasts check flyteadmin's OAuth2 server and any proxy in front of it`,
          )
        : new ControlPlaneError(
            'UNAUTHENTICATED',
            `flyteadmin refused the client credentials of client '${credentials.clientId}': token endpoint answered HTTP ${status}${code ? ` (${code})` : ''}; check POOLSYNC_FLYTE_CLIENT_ID and the secret in ${credentials.secretFrom ?? 'POOLSYNC_FLYTE_CLIENT_SECRET_FILE or POOLSYNC_FLYTE_CLIENT_SECRET'}`,
          ),
  });
}

export const CLUSTERS_KEY = 'clusters.yaml';

/** `NAMESPACE/NAME` (optionally `k8s:NAMESPACE/NAME`), e.g. `flyte/flyte-admin-clusters-config`. */
export function parseConfigMapRef(text: string, origin: string): K8sPlace {
  const ref = parseK8sPlace(text, true);
  if (!ref)
    throw new UserError(
      `${origin}: "${text}" is not a ConfigMap; write NAMESPACE/NAME, e.g. flyte/flyte-admin-clusters-config`,
    );
  return ref;
}

export const NOT_CONFIGURED =
  'poolsync is not configured to read it: give the flyteadmin URL clusters-configmap=NAMESPACE/NAME (or set POOLSYNC_FLYTE_CLUSTERS_CONFIGMAP), e.g. flyte/flyte-admin-clusters-config';

/**
 * The cluster configuration flyteadmin runs with: flyte-core renders `configmap.clusters` into
 * ConfigMap `flyte-admin-clusters-config`, key `clusters.yaml` (charts/flyte-core/templates/admin/
 * configmap.yaml); flyteadmin reads it at start-up only (executioncluster/impl/
 * random_cluster_selector.go), and its Deployment carries the ConfigMap's checksum
 * (templates/admin/deployment.yaml), so once the ConfigMap holds a label, flyteadmin routes it.
 * Never fatal: what cannot be read is reported as such.
 */
export async function readDeployedConfig(
  ref: K8sPlace | null,
  kubeConfig: () => Promise<KubeConfig>,
): Promise<DeployedClusterConfig> {
  const unread = (source: string | null, why: string): DeployedClusterConfig => ({
    source,
    labels: null,
    enabled_clusters: null,
    default_execution_label: null,
    unavailable: why,
  });
  if (!ref) return unread(null, NOT_CONFIGURED);
  const source = `k8s:${ref.namespace}/${ref.name}`;
  let text: string | undefined;
  let kc: KubeConfig | undefined;
  try {
    const { CoreV1Api } = await import('@kubernetes/client-node');
    kc = await kubeConfig();
    const api = kc.makeApiClient(CoreV1Api);
    const cm = await api.readNamespacedConfigMap({ name: ref.name, namespace: ref.namespace });
    text = cm.data?.[CLUSTERS_KEY];
  } catch (err) {
    const why = await reason(err, kc);
    return unread(source, `cannot read ConfigMap ${ref.namespace}/${ref.name}: ${why}`);
  }
  if (text === undefined)
    return unread(source, `ConfigMap ${ref.namespace}/${ref.name} has no key ${CLUSTERS_KEY}`);
  try {
    return { source, unavailable: null, ...parseClustersYaml(text) };
  } catch (err) {
    // Where, in one line: js-yaml's message quotes the ConfigMap's text over several lines.
    return unread(source, yamlFileProblem(`${source} ${CLUSTERS_KEY}`, err));
  }
}

/** `clusters: {labelClusterMap, clusterConfigs, defaultExecutionLabel}` (runtime/interfaces/cluster_configuration.go). */
export function parseClustersYaml(
  text: string,
): Pick<DeployedClusterConfig, 'labels' | 'enabled_clusters' | 'default_execution_label'> {
  const doc = load(text) as { clusters?: unknown } | null;
  const clusters = isMap(doc?.clusters) ? doc.clusters : {};
  const labels: Record<string, ClusterLabelEntry[]> = {};
  const map = clusters['labelClusterMap'];
  if (isMap(map)) {
    for (const [label, entries] of Object.entries(map)) {
      labels[label] = (Array.isArray(entries) ? entries : []).filter(isMap).map((e) => ({
        cluster: String(e['id'] ?? ''),
        // As written; compared as the float32 flyteadmin reads (plan/flyteadmin.ts).
        weight: Number(e['weight'] ?? 0),
      }));
    }
  }
  const configs = Array.isArray(clusters['clusterConfigs']) ? clusters['clusterConfigs'] : [];
  const enabled = configs
    .filter(isMap)
    .filter((c) => c['enabled'] === true)
    .map((c) => String(c['name'] ?? ''))
    .sort();
  const def = clusters['defaultExecutionLabel'];
  return {
    labels,
    enabled_clusters: enabled,
    default_execution_label: typeof def === 'string' && def !== '' ? def : null,
  };
}

async function reason(err: unknown, kc: KubeConfig | undefined): Promise<string> {
  const code = (err as { code?: unknown }).code;
  if (code === 403) return 'forbidden (grant get on configmaps in that namespace)';
  if (code === 404) return 'not found';
  // Another answer, none, or a limit: in the Lease client's words (a kubeconfig that did not load: its own).
  const lease = await import('../../lease/k8s-lease.js');
  if (err instanceof lease.KubeAnswerError) return err.message;
  const server = kc?.getCurrentCluster()?.server ?? '';
  const origin = URL.canParse(server) ? new URL(server).origin : 'the Kubernetes API';
  if (typeof code === 'number') return lease.statusWords(code, origin);
  if (kc === undefined) return (err as Error).message ?? String(err);
  return lease.unansweredCall(err, kc);
}
