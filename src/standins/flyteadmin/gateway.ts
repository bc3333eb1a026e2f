/**
 * The stand-in flyteadmin's HTTP side: flyteadmin's REST gateway (grpc-gateway over
 * service/admin.proto) for the calls poolsync makes (ROUTES below), served on the embedded
 * control plane's port so the flyteadmin backend runs end to end over real sockets
 * (real-apis.md §2, §4), plus the OAuth2 endpoints (standins/oauth/server.ts, as flyteadmin's
 * authorization server serves them: client_secret_basic, the `flyte-authorization` header).
 * What each call does is flyteadmin's (FlyteadminStore). Errors are grpc-gateway's
 * `{code, message, details}` with its HTTP status per gRPC code.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { posix } from 'node:path';
import { ControlPlaneError, type ControlPlaneErrorCode } from '../../controlplane/errors.js';
import { readLimitedBody } from '../../util/request-body.js';
import { send } from '../../controlplane/embedded/server.js';
import { OAUTH_PATHS, OAuthStandIn, type OAuthStandInOptions } from '../oauth/server.js';
import { isMap, PROJECT_STATES, type ProjectState } from '../../model/flyte.js';

/** flyteadmin's default `httpAuthorizationHeader` (auth/config/config.go). */
export const FLYTE_AUTHORIZATION_HEADER = 'flyte-authorization';

/** The client flyteadmin's authorization server accepts (standins/oauth/server.ts). */
export type FlyteOAuthOptions = Pick<
  OAuthStandInOptions,
  'clientId' | 'clientSecret' | 'tokenTtlSeconds' | 'scopes' | 'audience'
>;

/**
 * Whether a request carries a token `oauth` issued, read as flyteadmin's HTTP gateway reads it
 * (its `httpAuthorizationHeader`, else `Authorization`: auth/handlers.go
 * IdentityContextFromRequest): null when it does, else why not.
 */
export function flyteadminAuth(
  oauth: OAuthStandIn,
  header: string = FLYTE_AUTHORIZATION_HEADER,
): (req: IncomingMessage) => string | null {
  const first = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v) ?? '';
  return (req) => {
    const value = first(req.headers[header.toLowerCase()]) || first(req.headers.authorization);
    const checked = oauth.check(value);
    if (checked === 'ok') return null;
    return checked === 'missing'
      ? `missing 'Authorization: Bearer <token>' (or '${header}') header`
      : checked === 'expired'
        ? 'token has expired'
        : 'token is not one this server issued';
  };
}

/** gRPC status codes and grpc-gateway's HTTP status for each (runtime.HTTPStatusFromCode). */
export const GRPC_STATUS: Record<ControlPlaneErrorCode | 'INTERNAL', [code: number, http: number]> =
  {
    INVALID_ARGUMENT: [3, 400],
    NOT_FOUND: [5, 404],
    ALREADY_EXISTS: [6, 409],
    FAILED_PRECONDITION: [9, 400],
    UNAUTHENTICATED: [16, 401],
    PERMISSION_DENIED: [7, 403],
    UNAVAILABLE: [14, 503],
    INTERNAL: [13, 500],
  };

export interface FlyteadminGatewayOptions {
  /** OAuth2 client credentials clients must present; absent: the API is open (flyteadmin with useAuth off). */
  oauth?: FlyteOAuthOptions;
  /** Another OAuth2 server on the port (the Union API's): its token check replaces `oauth`. */
  sharedAuth?: (req: IncomingMessage) => string | null;
  bodyLimitBytes?: number;
  /** flyteadmin's `httpAuthorizationHeader` (operators behind a proxy set another). */
  httpAuthorizationHeader?: string;
  /** flyteadmin's state; default: a new one from `seed` (projects, domains). */
  store?: FlyteadminStore;
  seed?: FlyteadminStoreOptions;
}

/** Returns a handler that answers (true) the gateway's paths and leaves every other path (false). */
export function flyteadminGateway(opts: FlyteadminGatewayOptions = {}) {
  const store = opts.store ?? new FlyteadminStore(opts.seed);
  const oauth = opts.oauth
    ? new OAuthStandIn({
        authMethods: ['client_secret_basic'],
        authorizationMetadataKey: FLYTE_AUTHORIZATION_HEADER,
        audience: '',
        realm: 'flyteadmin',
        ...opts.oauth,
      })
    : null;
  const checkAuth =
    opts.sharedAuth ?? (oauth ? flyteadminAuth(oauth, opts.httpAuthorizationHeader) : () => null);
  const limit = opts.bodyLimitBytes ?? 1024 * 1024;
  return async (req: IncomingMessage, res: ServerResponse, url: URL): Promise<boolean> => {
    // The path as sent: WHATWG's URL takes `%2E` for a dot segment too, Go does not.
    const raw = (req.url ?? '/').split('?', 1)[0]!;
    const path = raw.startsWith('/') ? raw : url.pathname;
    const method = req.method ?? 'GET';
    if (path.startsWith('/api/') && hasDotSegment(path)) {
      // Go's ServeMux (flyteadmin's HTTP server) cleans the path and redirects (307) to it.
      const clean = posix.normalize(path).replace(/(.)\/+$/, '$1');
      res.writeHead(307, { location: `${clean}${url.search}`, 'content-type': 'text/html' });
      res.end(`<a href="${clean}">Temporary Redirect</a>.\n`);
      return true;
    }
    const route = ROUTES.find(([pattern]) => pattern.test(path));
    const isAuth = (OAUTH_PATHS as readonly string[]).includes(path);
    // flyteadmin's gateway answers NotFound for a path it does not route, before any credentials
    // are read (grpc-gateway's mux serves "/", pkg/server/service.go): so here for any API path
    // (under a prefix a wrong URL adds too), the port's other paths left to poolsync's REST API.
    if (!route && !isAuth && !path.includes('/api/')) return false;
    try {
      if (!route && !isAuth) throw notServed();
      if (!route) {
        if (!oauth) throw notFound('authentication is not configured');
        oauth.handle(req, res);
        return true;
      }
      const denied = checkAuth(req);
      if (denied)
        throw new ControlPlaneError('UNAUTHENTICATED', `authentication failed: ${denied}`);
      const params = route[0].exec(path)!.slice(1).map(decode);
      const handler = route[1][method];
      if (!handler) throw notServed();
      const body = () => readJson(req, limit);
      const answer = await handler(store, { query: url.searchParams, body }, params);
      send(res, 200, protoNames(req) ? answer : lowerCamel(answer));
    } catch (err) {
      // A flyteadmin error carries the gRPC code the gateway maps to an HTTP status.
      const [code, message] =
        err instanceof ControlPlaneError
          ? [err.code, err.message]
          : (['INTERNAL', 'internal error of the embedded flyteadmin gateway'] as const);
      const [grpc, http] = GRPC_STATUS[code];
      send(res, http, { code: grpc, message, details: [] });
    }
    return true;
  };
}

/** A literal `.` or `..` segment (`%2E` is not one to Go: grpc-gateway decodes it into a name). */
function hasDotSegment(path: string): boolean {
  return path.split('/').some((part) => part === '.' || part === '..');
}

/**
 * flyteadmin registers its proto-names JSON marshaler for `application/json` only
 * (pkg/server/service.go): grpc-gateway picks it by the request's Accept, else its
 * Content-Type; any other request gets grpc-gateway's default, lowerCamelCase field names
 * (`executionClusterLabel`, `launchPlan`), as the real v1.13.0 answers a bare GET.
 */
function protoNames(req: IncomingMessage): boolean {
  const json = (h: string | string[] | undefined) =>
    (Array.isArray(h) ? h.join(',') : (h ?? '')).includes('application/json');
  return json(req.headers.accept) || json(req.headers['content-type']);
}

function lowerCamel(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(lowerCamel);
  if (!isMap(value)) return value;
  return Object.fromEntries(
    Object.entries(value).map(([k, v]) => [
      k.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase()),
      lowerCamel(v),
    ]),
  );
}

async function readJson(req: IncomingMessage, limit: number): Promise<Record<string, unknown>> {
  const raw = await readLimitedBody(req, limit, (message) => invalid(message));
  if (raw.length === 0) return {};
  let value: unknown;
  try {
    value = JSON.parse(raw.toString('utf8'));
  } catch (err) {
    throw invalid(`invalid JSON body: ${(err as Error).message}`);
  }
  if (!isMap(value)) throw invalid('the body must be a JSON object');
  return value;
}

/**
 * Paths, verbs and bodies as flyteadmin's grpc-gateway serves service/admin.proto, JSON as
 * protojson with proto field names and unpopulated fields emitted (enum names, empty strings
 * present). Each handler follows manager/impl/resources/resource_manager.go (attributes),
 * manager/impl/project_manager.go (projects, domains) or
 * manager/impl/validation/attributes_validator.go (which attribute).
 */
type Handler = (store: FlyteadminStore, req: ApiRequest, params: string[]) => unknown;

/** The attribute calls, at project/domain (2 params) or workflow (3) level. */
const ATTRIBUTES = { PUT: putAttributes, GET: getAttributes, DELETE: deleteAttributes };

/** Each path the gateway serves (its params percent-decoded) and its calls by verb. */
const ROUTES: [RegExp, Partial<Record<string, Handler>>][] = [
  [/^\/api\/v1\/matchable_attributes$/, { GET: listAttributes }],
  [/^\/api\/v1\/domains$/, { GET: getDomains }],
  [/^\/api\/v1\/projects$/, { GET: listProjects, POST: registerProject }],
  [
    /^\/api\/v1\/projects\/([^/]+)$/,
    { GET: (store, _, [id]) => projectJson(store, store.getProject(id!)), PUT: updateProject },
  ],
  [
    /^\/api\/v1\/project_attributes\/([^/]+)$/,
    { PUT: putProjectAttributes, GET: getProjectAttributes, DELETE: deleteProjectAttributes },
  ],
  [/^\/api\/v1\/project_domain_attributes\/([^/]+)\/([^/]+)$/, ATTRIBUTES],
  [/^\/api\/v1\/workflow_attributes\/([^/]+)\/([^/]+)\/([^/]+)$/, ATTRIBUTES],
];

type Json = Record<string, unknown>;
const str = (v: unknown): string => (typeof v === 'string' ? v : '');

interface ApiRequest {
  query: URLSearchParams;
  body: () => Promise<Json>;
}

/** ValidateListAllMatchableAttributesRequest: the type must be a MatchableResource. */
function listAttributes(store: FlyteadminStore, { query }: ApiRequest): Json {
  const type = resourceType(query.get('resource_type'));
  return { configurations: store.listAll(type, query.get('org') ?? '').map(configuration) };
}

function getDomains(store: FlyteadminStore): Json {
  if (!store.getDomains) throw notServed();
  return { domains: store.domains.map((d) => ({ id: d, name: d })) };
}

function listProjects(store: FlyteadminStore, { query }: ApiRequest): Json {
  const limit = Number(query.get('limit') ?? '0');
  const page = store.listProjects({
    limit: Number.isInteger(limit) && limit >= 0 ? limit : 0,
    token: query.get('token') ?? '',
    filters: query.get('filters') ?? '',
  });
  return { projects: page.projects.map((x) => projectJson(store, x)), token: page.token };
}

async function registerProject(store: FlyteadminStore, req: ApiRequest): Promise<Json> {
  const project = (await req.body())['project'];
  if (!isMap(project)) throw invalid('missing project');
  store.registerProject({
    id: str(project['id']),
    name: str(project['name']),
    description: str(project['description']),
    org: str(project['org']),
  });
  return {};
}

/** UpdateProject: flytectl update project --archive / --activate sends the state. */
async function updateProject(store: FlyteadminStore, req: ApiRequest, [id]: string[]) {
  const body = await req.body();
  const state = str(body['state']) || 'ACTIVE';
  if (!(PROJECT_STATES as readonly string[]).includes(state))
    throw invalid(`invalid value for enum field state: "${state}"`);
  store.setProjectState(id!, state as ProjectState);
  return {};
}

async function putAttributes(store: FlyteadminStore, req: ApiRequest, params: string[]) {
  const attributes = (await req.body())['attributes'];
  if (!isMap(attributes)) throw invalid('missing attributes');
  store.validateProjectAndDomain(params[0]!, params[1]!);
  const matching = attributes['matching_attributes'];
  const type = matchingType(matching, params.join('-'));
  store.createOrUpdate(rowId(params, type, str(attributes['org'])), matching as Json);
  return {};
}

function getAttributes(store: FlyteadminStore, { query }: ApiRequest, params: string[]) {
  const [project, domain, workflow = ''] = params as [string, string, string?];
  store.validateProjectAndDomain(project, domain);
  const id = rowId(params, resourceType(query.get('resource_type')), query.get('org') ?? '');
  const row = store.get(id);
  if (!row)
    throw notFound(
      `Resource [{Project:${project} Domain:${domain} Workflow:${workflow} LaunchPlan: ResourceType:${id.resource_type}}] not found`,
    );
  const attributes: Json = { project: row.project, domain: row.domain };
  if (params.length === 3) attributes['workflow'] = row.workflow;
  return { attributes: { ...attributes, matching_attributes: row.attributes, org: row.org } };
}

async function deleteAttributes(store: FlyteadminStore, req: ApiRequest, params: string[]) {
  const body = await req.body();
  store.validateProjectAndDomain(params[0]!, params[1]!);
  store.delete(rowId(params, resourceType(str(body['resource_type'])), str(body['org'])));
  return {};
}

/**
 * UpdateProjectAttributes (resource_manager.go; ValidateProjectAttributesUpdateRequest): a
 * registered ACTIVE project, one attribute type; the row is the project-wide one (domain '',
 * priority 5: transformers.ProjectAttributesToResourceModel), its attributes kept as given. The
 * path's project is the request's (grpc-gateway sets path fields over the body's).
 */
async function putProjectAttributes(store: FlyteadminStore, req: ApiRequest, [project]: string[]) {
  const attributes = (await req.body())['attributes'];
  if (!isMap(attributes)) throw invalid('missing attributes');
  store.validateProjectForUpdate(project!);
  const matching = attributes['matching_attributes'];
  const type = matchingType(matching, project!);
  store.createOrUpdate(rowId([project!, ''], type, str(attributes['org'])), matching as Json);
  return {};
}

/**
 * GetProjectAttributes: the project need only exist (ValidateProjectExists: archived ones too),
 * and only the project-wide row is read (resource_repo.go GetProjectLevel), never a narrower one.
 */
function getProjectAttributes(store: FlyteadminStore, { query }: ApiRequest, [project]: string[]) {
  store.validateProjectExists(project!);
  const id = rowId(
    [project!, ''],
    resourceType(query.get('resource_type')),
    query.get('org') ?? '',
  );
  const row = store.getProjectLevel(id);
  if (!row)
    throw notFound(
      `Resource [{Project:${project} Domain: Workflow: LaunchPlan: ResourceType:${id.resource_type}}] not found`,
    );
  return { attributes: { project: row.project, matching_attributes: row.attributes, org: '' } };
}

/**
 * DeleteProjectAttributes: ValidateProjectForUpdate, then a Delete by {Project, ResourceType}:
 * the struct condition skips the empty fields, so every row of that type in the project goes,
 * at every level (resource_repo.go Delete).
 */
async function deleteProjectAttributes(
  store: FlyteadminStore,
  req: ApiRequest,
  [project]: string[],
) {
  const body = await req.body();
  store.validateProjectForUpdate(project!);
  store.delete(rowId([project!, ''], resourceType(str(body['resource_type'])), str(body['org'])));
  return {};
}

/** What grpc-gateway answers for a path or verb no rule serves (runtime.ErrNotMatch → NotFound). */
const notServed = () => notFound('Not Found');
const invalid = (message: string) => new ControlPlaneError('INVALID_ARGUMENT', message);
const notFound = (message: string) => new ControlPlaneError('NOT_FOUND', message);

/** The row `[project, domain, workflow?]` of a path names. */
function rowId([project, domain, workflow]: string[], type: ResourceType, org: string): ResourceId {
  return {
    project: project!,
    domain: domain!,
    workflow: workflow ?? '',
    launch_plan: '',
    resource_type: type,
    org,
  };
}

/** MatchableAttributesConfiguration, every field present. */
function configuration({ attributes, domain, project, workflow, launch_plan, org }: ResourceRow) {
  return { attributes, domain, project, workflow, launch_plan, org };
}

function projectJson(store: FlyteadminStore, p: ReturnType<FlyteadminStore['getProject']>): Json {
  return {
    id: p.id,
    name: p.name,
    domains: store.domains.map((d) => ({ id: d, name: d })),
    description: p.description,
    labels: null,
    state: p.state,
    org: p.org,
  };
}

/** validateMatchingAttributes: the type of the one attribute a MatchingAttributes carries. */
function matchingType(matching: unknown, identifier: string): ResourceType {
  if (!isMap(matching)) throw invalid('missing matching_attributes');
  for (const [type, [, field]] of Object.entries(MATCHABLE_RESOURCES))
    if (field !== null && isMap(matching[field])) return type as ResourceType;
  throw invalid(`Unrecognized matching attributes type for request ${identifier}`);
}

/** A MatchableResource by name or number, as grpc-gateway accepts enums; absent is 0. */
export function resourceType(raw: string | null | undefined): ResourceType {
  if (raw === null || raw === undefined || raw === '') return 'TASK_RESOURCE';
  for (const [name, [n]] of Object.entries(MATCHABLE_RESOURCES)) {
    if (raw === name || raw === String(n)) return name as ResourceType;
  }
  throw invalid(`invalid value for enum field resource_type: "${raw}"`);
}

function decode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw invalid(`malformed path segment "${segment}"`);
  }
}

/**
 * MatchableResource (matchable_resource.proto): name → number, and the MatchingAttributes field
 * whose value has that type (validateMatchingAttributes; it takes no quality_of_service).
 */
const MATCHABLE_RESOURCES = {
  TASK_RESOURCE: [0, 'task_resource_attributes'],
  CLUSTER_RESOURCE: [1, 'cluster_resource_attributes'],
  EXECUTION_QUEUE: [2, 'execution_queue_attributes'],
  EXECUTION_CLUSTER_LABEL: [3, 'execution_cluster_label'],
  QUALITY_OF_SERVICE_SPECIFICATION: [4, null],
  PLUGIN_OVERRIDE: [5, 'plugin_overrides'],
  WORKFLOW_EXECUTION_CONFIG: [6, 'workflow_execution_config'],
  CLUSTER_ASSIGNMENT: [7, 'cluster_assignment'],
} as const;
export type ResourceType = keyof typeof MATCHABLE_RESOURCES;

/** The id columns that say a row's level, broadest first ('' where the row is broader). */
const LEVELS = ['project', 'domain', 'workflow', 'launch_plan'] as const;

/** repositories/models/resource.go ResourcePriority. */
const PRIORITY = { project: 5, projectDomain: 10, workflow: 100, launchPlan: 1000 } as const;

/** The identifying columns of a row ('' is the zero value). */
export interface ResourceId {
  project: string;
  domain: string;
  workflow: string;
  launch_plan: string;
  resource_type: ResourceType;
  org: string;
}

export interface ResourceRow extends ResourceId {
  priority: number;
  /** MatchingAttributes as protojson (e.g. `{execution_cluster_label: {value: "l1"}}`). */
  attributes: Record<string, unknown>;
}

export interface StoredProject {
  id: string;
  name: string;
  description: string;
  state: ProjectState;
  org: string;
}

export const DEFAULT_DOMAINS = ['development', 'staging', 'production'];

export interface FlyteadminStoreOptions {
  /** Projects registered at start (flyteadmin's `migrate seed-projects`); ACTIVE unless said. */
  projects?: (string | { id: string; state?: ProjectState; org?: string })[];
  /** The configured domains (default development, staging, production). */
  domains?: string[];
  /**
   * Serve GetDomains (`GET /api/v1/domains`), which flyteadmin has from v1.13.0 (flyteorg/flyte
   * #5443); false: answer it as v1.12 does, the gateway's NotFound for an unknown route.
   */
  getDomains?: boolean;
  /** Keep each row's org and list by it (see the store's doc on `org`). */
  orgs?: boolean;
}

/**
 * The state of the stand-in flyteadmin, behaving as upstream flyteadmin does (flyteorg/flyte, flyteadmin/pkg):
 *  - matchable attributes are rows of one `resources` table keyed by project, domain,
 *    workflow, launch plan, resource type and priority (repositories/models/resource.go);
 *    an update is FirstOrCreate + Save on that key (gormimpl/resource_repo.go CreateOrUpdate);
 *  - a delete is a GORM struct condition, which skips zero-value fields: deleting the
 *    project/domain row of a type deletes the workflow- and launch-plan-level rows of that
 *    project/domain too, and a workflow delete its launch-plan rows (resource_repo.go Delete,
 *    called by manager/impl/resources/resource_manager.go); it never answers NotFound;
 *  - a read takes the most specific row (resource_repo.go Get: priority desc);
 *  - writes and reads name a registered, ACTIVE project and a configured domain, else
 *    InvalidArgument (manager/impl/validation/project_validator.go ValidateProjectAndDomain);
 *  - ListProjects leaves archived projects out unless filtered, pages by offset tokens
 *    (manager/impl/project_manager.go, gormimpl/project_repo.go List); the domains are the
 *    configured ones (runtime/application_config_provider.go: development, staging, production).
 * `org` (flyteidl admin protos): open-source flyteadmin accepts it in every body and query and
 * keeps none (repositories/models/resource.go has no org column; checked against the real
 * v1.13.0), so by default the stand-in stores '' and lists every row. With `orgs: true` it keeps
 * each row's org as the key the protos document and filters the list by it, as a multi-tenant
 * (Union) flyteadmin does.
 * In memory: the stand-in is for tests and `control-plane serve`.
 */
export class FlyteadminStore {
  private rows: ResourceRow[] = [];
  private readonly projects = new Map<string, StoredProject>();
  readonly domains: readonly string[];
  readonly getDomains: boolean;
  readonly orgs: boolean;

  constructor(opts: FlyteadminStoreOptions = {}) {
    this.domains = opts.domains ?? DEFAULT_DOMAINS;
    this.getDomains = opts.getDomains ?? true;
    this.orgs = opts.orgs ?? false;
    for (const p of opts.projects ?? []) {
      const project = typeof p === 'string' ? { id: p } : p;
      this.registerProject({ id: project.id, name: project.id, org: project.org ?? '' });
      if (project.state) this.setProjectState(project.id, project.state);
    }
  }

  // Projects (project_manager.go, project_repo.go).

  registerProject(p: { id: string; name: string; description?: string; org?: string }): void {
    if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(p.id) || p.id.length > 63)
      throw invalid(`invalid project id [${p.id}]`);
    if (p.name === '') throw invalid('missing project_name');
    if (this.projects.has(p.id))
      throw new ControlPlaneError('ALREADY_EXISTS', `value with matching already exists (${p.id})`);
    this.projects.set(p.id, {
      id: p.id,
      name: p.name,
      description: p.description ?? '',
      state: 'ACTIVE',
      org: p.org ?? '',
    });
  }

  /** UpdateProject's state change (flytectl update project --archive / --activate). */
  setProjectState(id: string, state: ProjectState): void {
    const p = this.getProject(id);
    this.projects.set(id, { ...p, state });
  }

  getProject(id: string): StoredProject {
    const p = this.projects.get(id);
    if (!p) throw notFound(`project [${id}] not found`);
    return p;
  }

  /** ListProjects; `eq(state,N)` is the one filter, a next token is given after a full page. */
  listProjects(q: { limit: number; token: string; filters: string }) {
    const offset = q.token === '' ? 0 : Number(q.token);
    if (!Number.isInteger(offset) || offset < 0)
      throw invalid(`invalid pagination token ${q.token} for ListProjects`);
    let keep: (p: StoredProject) => boolean = (p) => p.state !== 'ARCHIVED';
    if (q.filters !== '') {
      const m = /^eq\(state,\s?(\d+)\)$/.exec(q.filters);
      const state = m ? PROJECT_STATES[Number(m[1])] : undefined;
      if (!state)
        throw new ControlPlaneError(
          'INVALID_ARGUMENT',
          `this flyteadmin stand-in understands the filter eq(state,N) only, not ${q.filters}`,
        );
      keep = (p) => p.state === state;
    }
    const all = [...this.projects.values()].filter(keep).sort((a, b) => (a.id < b.id ? -1 : 1));
    const page = q.limit === 0 ? all.slice(offset) : all.slice(offset, offset + q.limit);
    return { projects: page, token: page.length === q.limit ? String(offset + page.length) : '' };
  }

  /** ValidateProjectAndDomain: a registered ACTIVE project and a configured domain. */
  validateProjectAndDomain(project: string, domain: string): void {
    const p = this.projects.get(project);
    if (!p)
      throw invalid(
        `failed to validate that project [${project}] and domain [${domain}] are registered, err: [project [${project}] not found]`,
      );
    if (p.state !== 'ACTIVE') throw invalid(`project [${project}] is not active`);
    if (!this.domains.includes(domain))
      throw invalid(`domain [${domain}] is unrecognized by system`);
  }

  /** ValidateProjectForUpdate (project_validator.go): registered and ACTIVE. */
  validateProjectForUpdate(project: string): void {
    const p = this.projects.get(project);
    if (!p)
      throw invalid(
        `failed to validate that project [${project}] is registered, err: [project [${project}] not found]`,
      );
    if (p.state !== 'ACTIVE') throw invalid(`project [${project}] is not active`);
  }

  /** ValidateProjectExists (project_validator.go): registered, whatever its state. */
  validateProjectExists(project: string): void {
    if (!this.projects.has(project))
      throw invalid(
        `failed to validate that project [${project}] exists, err: [project [${project}] not found]`,
      );
  }

  // Resources (resource_repo.go).

  /** GetProjectLevel: the project-wide row of a type only, or null. */
  getProjectLevel(given: ResourceId): ResourceRow | null {
    const id = this.keyed(given);
    return this.rows.find((r) => sameKey(r, id) && r.priority === PRIORITY.project) ?? null;
  }

  /** The id as stored: without its org unless this flyteadmin keeps orgs. */
  private keyed(id: ResourceId): ResourceId {
    return this.orgs ? id : { ...id, org: '' };
  }

  /** CreateOrUpdate at the level the id names (its priority), replacing the attributes. */
  createOrUpdate(given: ResourceId, attributes: Record<string, unknown>): void {
    const id = this.keyed(given);
    if (!validInput(id)) throw invalid(`invalid resource input ${JSON.stringify(id)}`);
    const priority = priorityOf(id);
    const at = this.rows.findIndex((r) => sameKey(r, id) && r.priority === priority);
    const row: ResourceRow = { ...id, priority, attributes };
    if (at === -1) this.rows.push(row);
    else this.rows[at] = row;
  }

  /** Delete with a struct condition (see the store's doc); none deleted is not an error. */
  delete(given: ResourceId): ResourceRow[] {
    const id = this.keyed(given);
    const matches = (r: ResourceRow) =>
      r.resource_type === id.resource_type &&
      [...LEVELS, 'org' as const].every((f) => id[f] === '' || r[f] === id[f]);
    const gone = this.rows.filter(matches);
    this.rows = this.rows.filter((r) => !matches(r));
    return gone;
  }

  /** Get: the most specific row among '' and the given value of each field, or null. */
  get(given: ResourceId): ResourceRow | null {
    const id = this.keyed(given);
    const found = this.rows
      .filter(
        (r) =>
          r.resource_type === id.resource_type &&
          r.org === id.org &&
          LEVELS.every((f) => r[f] === '' || r[f] === id[f]),
      )
      .sort((a, b) => b.priority - a.priority);
    return found[0] ?? null;
  }

  /** ListAll of one type (with an org: of that org), highest priority first. */
  listAll(type: ResourceType, org: string): ResourceRow[] {
    return this.rows
      .filter((r) => r.resource_type === type && (!this.orgs || org === '' || r.org === org))
      .sort((a, b) => b.priority - a.priority);
  }
}

/** resource_repo.go validateCreateOrUpdateResourceInput. */
function validInput(id: ResourceId): boolean {
  if (id.domain === '' && id.project === '') return false;
  if (id.project === '' && (id.workflow !== '' || id.launch_plan !== '')) return false;
  if (id.workflow === '' && id.launch_plan !== '') return false;
  return true;
}

function priorityOf(id: ResourceId): number {
  if (id.launch_plan !== '') return PRIORITY.launchPlan;
  if (id.workflow !== '') return PRIORITY.workflow;
  return id.domain === '' ? PRIORITY.project : PRIORITY.projectDomain;
}

function sameKey(a: ResourceId, b: ResourceId): boolean {
  return (
    a.resource_type === b.resource_type && a.org === b.org && LEVELS.every((f) => a[f] === b[f])
  );
}
