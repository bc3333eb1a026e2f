/**
 * The state of the stand-in flyteadmin (gateway.ts), behaving as upstream
 * flyteadmin does (flyteorg/flyte, flyteadmin/pkg):
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
import type { ProjectState } from '../../model/flyte.js';

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
export type ResourceType = keyof typeof MATCHABLE_RESOURCES;

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

/** A flyteadmin error: the gRPC code the gateway maps to an HTTP status. */
export class FlyteadminError extends Error {
  constructor(
    readonly code: 'INVALID_ARGUMENT' | 'NOT_FOUND' | 'ALREADY_EXISTS' | 'UNAUTHENTICATED',
    message: string,
  ) {
    super(message);
  }
}

export const DEFAULT_DOMAINS = ['development', 'staging', 'production'];
const PROJECT_STATES: readonly ProjectState[] = [
  'ACTIVE',
  'ARCHIVED',
  'SYSTEM_GENERATED',
  'SYSTEM_ARCHIVED',
];

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
  /** Keep each row's org and list by it (a multi-tenant flyteadmin); default: ignore org, as open source does. */
  orgs?: boolean;
}

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
      throw new FlyteadminError('INVALID_ARGUMENT', `invalid project id [${p.id}]`);
    if (p.name === '') throw new FlyteadminError('INVALID_ARGUMENT', 'missing project_name');
    if (this.projects.has(p.id))
      throw new FlyteadminError('ALREADY_EXISTS', `value with matching already exists (${p.id})`);
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
    if (!p) throw new FlyteadminError('NOT_FOUND', `project [${id}] not found`);
    return p;
  }

  /**
   * ListProjects: sorted by identifier; without filters the archived ones are left out, with
   * `eq(state,N)` only state N; `token` is the offset, a next token is given when a full page
   * came back.
   */
  listProjects(q: { limit: number; token: string; filters: string }): {
    projects: StoredProject[];
    token: string;
  } {
    const offset = q.token === '' ? 0 : Number(q.token);
    if (!Number.isInteger(offset) || offset < 0)
      throw new FlyteadminError(
        'INVALID_ARGUMENT',
        `invalid pagination token ${q.token} for ListProjects`,
      );
    let keep: (p: StoredProject) => boolean = (p) => p.state !== 'ARCHIVED';
    if (q.filters !== '') {
      const m = /^eq\(state,\s?(\d+)\)$/.exec(q.filters);
      const state = m ? PROJECT_STATES[Number(m[1])] : undefined;
      if (!state)
        throw new FlyteadminError(
          'INVALID_ARGUMENT',
          `this flyteadmin stand-in understands the filter eq(state,N) only, not ${q.filters}`,
        );
      keep = (p) => p.state === state;
    }
    const all = [...this.projects.values()].filter(keep).sort((a, b) => cmp(a.id, b.id));
    const page = q.limit === 0 ? all.slice(offset) : all.slice(offset, offset + q.limit);
    return { projects: page, token: page.length === q.limit ? String(offset + page.length) : '' };
  }

  /** ValidateProjectAndDomain: a registered ACTIVE project and a configured domain. */
  validateProjectAndDomain(project: string, domain: string): void {
    const p = this.projects.get(project);
    if (!p)
      throw new FlyteadminError(
        'INVALID_ARGUMENT',
        `failed to validate that project [${project}] and domain [${domain}] are registered, err: [project [${project}] not found]`,
      );
    if (p.state !== 'ACTIVE')
      throw new FlyteadminError('INVALID_ARGUMENT', `project [${project}] is not active`);
    if (!this.domains.includes(domain))
      throw new FlyteadminError('INVALID_ARGUMENT', `domain [${domain}] is unrecognized by system`);
  }

  // Resources (resource_repo.go).

  /** The id as stored: without its org unless this flyteadmin keeps orgs. */
  private keyed(id: ResourceId): ResourceId {
    return this.orgs ? id : { ...id, org: '' };
  }

  /** CreateOrUpdate at the level the id names (its priority), replacing the attributes. */
  createOrUpdate(given: ResourceId, attributes: Record<string, unknown>): void {
    const id = this.keyed(given);
    if (!validInput(id))
      throw new FlyteadminError('INVALID_ARGUMENT', `invalid resource input ${JSON.stringify(id)}`);
    const priority = priorityOf(id);
    const at = this.rows.findIndex((r) => sameKey(r, id) && r.priority === priority);
    const row: ResourceRow = { ...id, priority, attributes };
    if (at === -1) this.rows.push(row);
    else this.rows[at] = row;
  }

  /**
   * Delete with a struct condition: every row whose non-empty id fields match, whatever its
   * other fields (GORM skips zero values). Returns the rows deleted; none is not an error.
   */
  delete(given: ResourceId): ResourceRow[] {
    const id = this.keyed(given);
    const matches = (r: ResourceRow) =>
      r.resource_type === id.resource_type &&
      (id.project === '' || r.project === id.project) &&
      (id.domain === '' || r.domain === id.domain) &&
      (id.workflow === '' || r.workflow === id.workflow) &&
      (id.launch_plan === '' || r.launch_plan === id.launch_plan) &&
      (id.org === '' || r.org === id.org);
    const gone = this.rows.filter(matches);
    this.rows = this.rows.filter((r) => !matches(r));
    return gone;
  }

  /** Get: the most specific row among '' and the given value of each field, or null. */
  get(given: ResourceId): ResourceRow | null {
    const id = this.keyed(given);
    const fits = (field: string, wanted: string) => field === '' || field === wanted;
    const found = this.rows
      .filter(
        (r) =>
          r.resource_type === id.resource_type &&
          r.org === id.org &&
          fits(r.project, id.project) &&
          fits(r.domain, id.domain) &&
          fits(r.workflow, id.workflow) &&
          fits(r.launch_plan, id.launch_plan),
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
    a.project === b.project &&
    a.domain === b.domain &&
    a.workflow === b.workflow &&
    a.launch_plan === b.launch_plan &&
    a.resource_type === b.resource_type &&
    a.org === b.org
  );
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
