/**
 * flyteadmin's REST gateway (grpc-gateway over service/admin.proto) for the matchable
 * attributes poolsync manages, served by the embedded control plane so the flyteadmin backend
 * runs end to end over real sockets (real-apis.md §2):
 *
 *   PUT|GET|DELETE /api/v1/project_domain_attributes/{project}/{domain}
 *   PUT|GET|DELETE /api/v1/workflow_attributes/{project}/{domain}/{workflow}
 *   GET            /api/v1/matchable_attributes?resource_type=…
 *
 * Bodies as flyteadmin's gateway writes them (protojson with UseProtoNames and
 * EmitUnpopulated: snake_case names, enum names, empty strings present); errors as
 * grpc-gateway's `{code, message, details}` with its HTTP status per gRPC code. Only
 * EXECUTION_CLUSTER_LABEL (kept by cluster-labels.ts) and CLUSTER_ASSIGNMENT (the embedded pool
 * assignments, so the pool must exist, A1) are kept; other resource types are refused with
 * InvalidArgument on write and list as empty. Unlike flyteadmin, projects are not registered
 * here: any project and domain is accepted.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AssignmentKey } from '../../model/common.js';
import { ControlPlaneError, type ControlPlaneErrorCode } from '../errors.js';
import type { EmbeddedControlPlane } from './embedded.js';
import { readLimitedBody } from './request-body.js';
import {
  CLIENT_CONFIG_PATH,
  FlyteOAuthServer,
  METADATA_PATH,
  TOKEN_PATH,
  type FlyteOAuthOptions,
} from './flyteadmin-oauth.js';

/** MatchableResource (matchable_resource.proto): name → number. */
export const MATCHABLE_RESOURCES = {
  TASK_RESOURCE: 0,
  CLUSTER_RESOURCE: 1,
  EXECUTION_QUEUE: 2,
  EXECUTION_CLUSTER_LABEL: 3,
  QUALITY_OF_SERVICE_SPECIFICATION: 4,
  PLUGIN_OVERRIDE: 5,
  WORKFLOW_EXECUTION_CONFIG: 6,
  CLUSTER_ASSIGNMENT: 7,
} as const;
type ResourceType = keyof typeof MATCHABLE_RESOURCES;

/** gRPC status codes and grpc-gateway's HTTP status for each (runtime.HTTPStatusFromCode). */
const GRPC: Record<ControlPlaneErrorCode | 'INTERNAL', [code: number, http: number]> = {
  INVALID_ARGUMENT: [3, 400],
  NOT_FOUND: [5, 404],
  ALREADY_EXISTS: [6, 409],
  FAILED_PRECONDITION: [9, 400],
  UNAUTHENTICATED: [16, 401],
  UNAVAILABLE: [14, 503],
  INTERNAL: [13, 500],
};

class GatewayError extends Error {
  constructor(
    readonly code: keyof typeof GRPC,
    message: string,
  ) {
    super(message);
  }
}

export interface FlyteadminGatewayOptions {
  /** OAuth2 client credentials clients must present; absent: the API is open (flyteadmin with useAuth off). */
  oauth?: FlyteOAuthOptions;
  /**
   * Another OAuth2 server on the same port (the Union API's, embedded/oauth.ts) that owns the
   * discovery and token paths: the gateway checks its tokens instead (null: valid, else why not).
   */
  sharedAuth?: (req: IncomingMessage) => string | null;
  bodyLimitBytes?: number;
}

export type GatewayHandler = (
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
) => Promise<boolean>;

const PROJECT_DOMAIN = /^\/api\/v1\/project_domain_attributes\/([^/]+)\/([^/]+)$/;
const WORKFLOW = /^\/api\/v1\/workflow_attributes\/([^/]+)\/([^/]+)\/([^/]+)$/;
const LIST = '/api/v1/matchable_attributes';

/** Returns a handler that answers (true) the gateway's paths and leaves every other path (false). */
export function flyteadminGateway(
  cp: EmbeddedControlPlane,
  opts: FlyteadminGatewayOptions = {},
): GatewayHandler {
  const oauth = opts.oauth ? new FlyteOAuthServer(opts.oauth) : null;
  const limit = opts.bodyLimitBytes ?? 1024 * 1024;
  return async (req, res, url) => {
    const path = url.pathname;
    const method = req.method ?? 'GET';
    const isApi = path === LIST || PROJECT_DOMAIN.test(path) || WORKFLOW.test(path);
    const isAuth = path === METADATA_PATH || path === CLIENT_CONFIG_PATH || path === TOKEN_PATH;
    if (!isApi && !isAuth) return false;
    try {
      if (isAuth) {
        if (!oauth) throw new GatewayError('NOT_FOUND', 'authentication is not configured');
        const issuer = `http://${req.headers.host ?? 'localhost'}`;
        const reply =
          path === METADATA_PATH && method === 'GET'
            ? oauth.metadata(issuer)
            : path === CLIENT_CONFIG_PATH && method === 'GET'
              ? oauth.clientConfig()
              : path === TOKEN_PATH && method === 'POST'
                ? oauth.token(
                    req,
                    new URLSearchParams((await readBody(req, limit)).toString('utf8')),
                  )
                : null;
        if (!reply) throw new GatewayError('NOT_FOUND', `${method} ${path} is not served`);
        send(res, reply.status, reply.body, reply.headers);
        return true;
      }
      const denied = opts.sharedAuth ? opts.sharedAuth(req) : oauth?.check(req);
      if (denied) throw new GatewayError('UNAUTHENTICATED', `authentication failed: ${denied}`);
      send(res, 200, await api(cp, method, path, url.searchParams, () => readJson(req, limit)));
    } catch (err) {
      const [code, message] =
        err instanceof GatewayError || err instanceof ControlPlaneError
          ? [err.code, err.message]
          : (['INTERNAL', 'internal error of the embedded flyteadmin gateway'] as const);
      const [grpc, http] = GRPC[code];
      send(res, http, { code: grpc, message, details: [] });
    }
    return true;
  };
}

async function api(
  cp: EmbeddedControlPlane,
  method: string,
  path: string,
  query: URLSearchParams,
  body: () => Promise<Record<string, unknown>>,
): Promise<unknown> {
  if (path === LIST) {
    if (method !== 'GET') throw new GatewayError('NOT_FOUND', `${method} ${path} is not served`);
    return { configurations: await list(cp, resourceType(query.get('resource_type'))) };
  }
  const m = PROJECT_DOMAIN.exec(path) ?? WORKFLOW.exec(path)!;
  const key: AssignmentKey = {
    project: decode(m[1]!),
    domain: decode(m[2]!),
    workflow: m[3] === undefined ? null : decode(m[3]),
  };
  if (method === 'GET') {
    const type = resourceType(query.get('resource_type'));
    const found = await get(cp, key, type);
    if (found === null)
      throw new GatewayError(
        'NOT_FOUND',
        `Resource [{Project:${key.project} Domain:${key.domain} Workflow:${key.workflow ?? ''} LaunchPlan: ResourceType:${type}}] not found`,
      );
    return { attributes: attributesJson(key, found) };
  }
  if (method === 'PUT') {
    const attributes = (await body())['attributes'];
    if (!isMap(attributes)) throw new GatewayError('INVALID_ARGUMENT', 'missing attributes');
    const matching = attributes['matching_attributes'];
    if (!isMap(matching)) throw new GatewayError('INVALID_ARGUMENT', 'missing matching_attributes');
    const label = matching['execution_cluster_label'];
    const assignment = matching['cluster_assignment'];
    if (isMap(label)) {
      await cp.setExecutionClusterLabel({ ...key, label: label['value'] as string });
    } else if (isMap(assignment)) {
      await cp.setAssignment({ ...key, pool: assignment['cluster_pool_name'] as string });
    } else {
      throw new GatewayError(
        'INVALID_ARGUMENT',
        `Unrecognized matching attributes type for request ${[key.project, key.domain, key.workflow].filter((x) => x !== null).join('-')}: this embedded flyteadmin keeps execution_cluster_label and cluster_assignment only`,
      );
    }
    return {};
  }
  if (method === 'DELETE') {
    const type = resourceType((await body())['resource_type'] as string | undefined);
    try {
      if (type === 'EXECUTION_CLUSTER_LABEL') await cp.deleteExecutionClusterLabel(key);
      else if (type === 'CLUSTER_ASSIGNMENT') await cp.deleteAssignment(key);
    } catch (err) {
      // flyteadmin's delete of an absent resource succeeds (no rows, no error).
      if (!(err instanceof ControlPlaneError && err.code === 'NOT_FOUND')) throw err;
    }
    return {};
  }
  throw new GatewayError('NOT_FOUND', `${method} ${path} is not served`);
}

type Attribute =
  | { execution_cluster_label: { value: string } }
  | { cluster_assignment: { cluster_pool_name: string } };

async function get(
  cp: EmbeddedControlPlane,
  key: AssignmentKey,
  type: ResourceType,
): Promise<Attribute | null> {
  if (type === 'EXECUTION_CLUSTER_LABEL') {
    const l = await cp.getExecutionClusterLabel(key);
    return l ? { execution_cluster_label: { value: l.label } } : null;
  }
  if (type === 'CLUSTER_ASSIGNMENT') {
    const wanted = [key.project, key.domain, key.workflow].join('\u0000');
    const a = (await cp.listAssignments()).find(
      (x) => [x.project, x.domain, x.workflow].join('\u0000') === wanted,
    );
    return a ? { cluster_assignment: { cluster_pool_name: a.pool } } : null;
  }
  return null;
}

async function list(cp: EmbeddedControlPlane, type: ResourceType): Promise<unknown[]> {
  const entries: [AssignmentKey, Attribute][] =
    type === 'EXECUTION_CLUSTER_LABEL'
      ? (await cp.listExecutionClusterLabels()).map((l) => [
          l,
          { execution_cluster_label: { value: l.label } },
        ])
      : type === 'CLUSTER_ASSIGNMENT'
        ? (await cp.listAssignments()).map((a) => [
            a,
            { cluster_assignment: { cluster_pool_name: a.pool } },
          ])
        : [];
  // MatchableAttributesConfiguration, EmitUnpopulated: every field present.
  return entries.map(([k, attributes]) => ({
    attributes,
    domain: k.domain,
    project: k.project,
    workflow: k.workflow ?? '',
    launch_plan: '',
    org: '',
  }));
}

/** ProjectDomainAttributes / WorkflowAttributes as the gateway writes them. */
function attributesJson(key: AssignmentKey, matching: Attribute): Record<string, unknown> {
  return key.workflow === null
    ? { project: key.project, domain: key.domain, matching_attributes: matching, org: '' }
    : {
        project: key.project,
        domain: key.domain,
        workflow: key.workflow,
        matching_attributes: matching,
        org: '',
      };
}

/** A MatchableResource by name or number, as grpc-gateway accepts enums; absent is 0. */
function resourceType(raw: string | null | undefined): ResourceType {
  if (raw === null || raw === undefined || raw === '') return 'TASK_RESOURCE';
  for (const [name, n] of Object.entries(MATCHABLE_RESOURCES)) {
    if (raw === name || raw === String(n)) return name as ResourceType;
  }
  throw new GatewayError(
    'INVALID_ARGUMENT',
    `invalid value for enum field resource_type: "${raw}"`,
  );
}

function decode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new GatewayError('INVALID_ARGUMENT', `malformed path segment "${segment}"`);
  }
}

const isMap = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

async function readJson(req: IncomingMessage, limit: number): Promise<Record<string, unknown>> {
  const raw = await readBody(req, limit);
  if (raw.length === 0) return {};
  let value: unknown;
  try {
    value = JSON.parse(raw.toString('utf8'));
  } catch (err) {
    throw new GatewayError('INVALID_ARGUMENT', `invalid JSON body: ${(err as Error).message}`);
  }
  if (!isMap(value)) throw new GatewayError('INVALID_ARGUMENT', 'the body must be a JSON object');
  return value;
}

const readBody = (req: IncomingMessage, limit: number): Promise<Buffer> =>
  readLimitedBody(req, limit, (message) => new GatewayError('INVALID_ARGUMENT', message));

function send(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    ...headers,
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}
