/**
 * The REST calls of the stand-in flyteadmin (gateway.ts routes here), over
 * store.ts. Paths, verbs and bodies as flyteadmin's grpc-gateway serves
 * service/admin.proto, JSON as protojson with proto field names and unpopulated fields
 * emitted (enum names, empty strings present). Each handler follows the manager it names:
 * manager/impl/resources/resource_manager.go (attributes), manager/impl/project_manager.go
 * (projects, domains), manager/impl/validation/attributes_validator.go (which attribute).
 */
import {
  FlyteadminError,
  MATCHABLE_RESOURCES,
  type FlyteadminStore,
  type ResourceId,
  type ResourceRow,
  type ResourceType,
} from './store.js';
import type { ProjectState } from '../../model/flyte.js';

export const ATTRIBUTE_PATHS = {
  projectDomain: /^\/api\/v1\/project_domain_attributes\/([^/]+)\/([^/]+)$/,
  workflow: /^\/api\/v1\/workflow_attributes\/([^/]+)\/([^/]+)\/([^/]+)$/,
  list: '/api/v1/matchable_attributes',
  projects: '/api/v1/projects',
  project: /^\/api\/v1\/projects\/([^/]+)$/,
  domains: '/api/v1/domains',
};

export function isApiPath(path: string): boolean {
  const p = ATTRIBUTE_PATHS;
  return (
    path === p.list ||
    path === p.projects ||
    path === p.domains ||
    p.projectDomain.test(path) ||
    p.workflow.test(path) ||
    p.project.test(path)
  );
}

/** validateMatchingAttributes: the one attribute a MatchingAttributes carries → its type. */
const ATTRIBUTE_TYPES: [string, ResourceType][] = [
  ['task_resource_attributes', 'TASK_RESOURCE'],
  ['cluster_resource_attributes', 'CLUSTER_RESOURCE'],
  ['execution_queue_attributes', 'EXECUTION_QUEUE'],
  ['execution_cluster_label', 'EXECUTION_CLUSTER_LABEL'],
  ['plugin_overrides', 'PLUGIN_OVERRIDE'],
  ['workflow_execution_config', 'WORKFLOW_EXECUTION_CONFIG'],
  ['cluster_assignment', 'CLUSTER_ASSIGNMENT'],
];

type Json = Record<string, unknown>;
export const isMap = (v: unknown): v is Json =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string => (typeof v === 'string' ? v : '');

export interface ApiRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  body: () => Promise<Json>;
}

export async function flyteadminApi(store: FlyteadminStore, req: ApiRequest): Promise<unknown> {
  const { method, path, query } = req;
  const p = ATTRIBUTE_PATHS;
  if (path === p.list && method === 'GET') {
    // ValidateListAllMatchableAttributesRequest: the type must be a MatchableResource.
    const type = resourceType(query.get('resource_type'));
    return {
      configurations: store.listAll(type, query.get('org') ?? '').map(configuration),
    };
  }
  if (path === p.domains && method === 'GET' && store.getDomains)
    return { domains: store.domains.map((d) => ({ id: d, name: d })) };
  if (path === p.projects && method === 'GET') return listProjects(store, query);
  if (path === p.projects && method === 'POST') return registerProject(store, req);
  const projectPath = p.project.exec(path);
  if (projectPath) {
    const id = decode(projectPath[1]!);
    if (method === 'GET') return projectJson(store, store.getProject(id));
    if (method === 'PUT') return updateProject(store, id, req);
  }
  const pd = p.projectDomain.exec(path);
  const wf = pd ? null : p.workflow.exec(path);
  if (!pd && !wf) throw notServed();
  return attributesCall(store, req, (pd ?? wf)!, wf !== null);
}

function listProjects(store: FlyteadminStore, query: URLSearchParams): Json {
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
  if (!isMap(project)) throw new FlyteadminError('INVALID_ARGUMENT', 'missing project');
  store.registerProject({
    id: str(project['id']),
    name: str(project['name']),
    description: str(project['description']),
    org: str(project['org']),
  });
  return {};
}

/** UpdateProject: flytectl update project --archive / --activate sends the state. */
async function updateProject(store: FlyteadminStore, id: string, req: ApiRequest): Promise<Json> {
  const body = await req.body();
  const state = str(body['state']) || 'ACTIVE';
  if (!['ACTIVE', 'ARCHIVED', 'SYSTEM_GENERATED', 'SYSTEM_ARCHIVED'].includes(state))
    throw new FlyteadminError('INVALID_ARGUMENT', `invalid value for enum field state: "${state}"`);
  store.setProjectState(id, state as ProjectState);
  return {};
}

/** A project/domain (`m` of projectDomain) or workflow (`m` of workflow) attributes call. */
async function attributesCall(
  store: FlyteadminStore,
  req: ApiRequest,
  m: RegExpExecArray,
  isWorkflow: boolean,
): Promise<unknown> {
  const { method, query } = req;
  const project = decode(m[1]!);
  const domain = decode(m[2]!);
  const workflow = isWorkflow ? decode(m[3]!) : '';
  if (method === 'PUT') {
    const attributes = (await req.body())['attributes'];
    if (!isMap(attributes)) throw new FlyteadminError('INVALID_ARGUMENT', 'missing attributes');
    store.validateProjectAndDomain(project, domain);
    const matching = attributes['matching_attributes'];
    const type = matchingType(matching, [project, domain, workflow].filter(Boolean).join('-'));
    const id = rowId(project, domain, workflow, type, str(attributes['org']));
    store.createOrUpdate(id, matching as Json);
    return {};
  }
  if (method === 'GET') {
    store.validateProjectAndDomain(project, domain);
    const id = rowId(project, domain, workflow, resourceType(query.get('resource_type')), '');
    const row = store.get({ ...id, org: query.get('org') ?? '' });
    if (!row)
      throw new FlyteadminError(
        'NOT_FOUND',
        `Resource [{Project:${project} Domain:${domain} Workflow:${workflow} LaunchPlan: ResourceType:${id.resource_type}}] not found`,
      );
    const attributes: Json = { project: row.project, domain: row.domain };
    if (isWorkflow) attributes['workflow'] = row.workflow;
    return { attributes: { ...attributes, matching_attributes: row.attributes, org: row.org } };
  }
  if (method === 'DELETE') {
    const body = await req.body();
    store.validateProjectAndDomain(project, domain);
    // The struct condition: a project/domain delete takes every narrower row along.
    store.delete(
      rowId(project, domain, workflow, resourceType(str(body['resource_type'])), str(body['org'])),
    );
    return {};
  }
  throw notServed();
}

/** What grpc-gateway answers for a path or verb no rule serves (runtime.ErrNotMatch → NotFound). */
const notServed = () => new FlyteadminError('NOT_FOUND', 'Not Found');

function rowId(
  project: string,
  domain: string,
  workflow: string,
  type: ResourceType,
  org: string,
): ResourceId {
  return { project, domain, workflow, launch_plan: '', resource_type: type, org };
}

/** MatchableAttributesConfiguration, every field present. */
function configuration(row: ResourceRow): Json {
  return {
    attributes: row.attributes,
    domain: row.domain,
    project: row.project,
    workflow: row.workflow,
    launch_plan: row.launch_plan,
    org: row.org,
  };
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

function matchingType(matching: unknown, identifier: string): ResourceType {
  if (!isMap(matching))
    throw new FlyteadminError('INVALID_ARGUMENT', 'missing matching_attributes');
  for (const [field, type] of ATTRIBUTE_TYPES) if (isMap(matching[field])) return type;
  throw new FlyteadminError(
    'INVALID_ARGUMENT',
    `Unrecognized matching attributes type for request ${identifier}`,
  );
}

/** A MatchableResource by name or number, as grpc-gateway accepts enums; absent is 0. */
export function resourceType(raw: string | null | undefined): ResourceType {
  if (raw === null || raw === undefined || raw === '') return 'TASK_RESOURCE';
  for (const [name, n] of Object.entries(MATCHABLE_RESOURCES)) {
    if (raw === name || raw === String(n)) return name as ResourceType;
  }
  throw new FlyteadminError(
    'INVALID_ARGUMENT',
    `invalid value for enum field resource_type: "${raw}"`,
  );
}

function decode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new FlyteadminError('INVALID_ARGUMENT', `malformed path segment "${segment}"`);
  }
}
