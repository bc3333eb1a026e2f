/**
 * The projects and domains flyteadmin knows, read so the plan can refuse an attribute that
 * flyteadmin would refuse (manager/impl/validation/project_validator.go: an unregistered or
 * archived project, an unknown domain is InvalidArgument): `GET /api/v1/projects` (ListProjects,
 * all in one answer without a limit; without filters flyteadmin leaves archived projects out, so
 * they are listed again with `filters=eq(state,1)`, gormimpl/project_repo.go) and `GET /api/v1/domains`
 * (GetDomains, added in flyteadmin v1.13.0, flyteorg/flyte #5443). Before v1.13 the route is
 * absent (the gateway answers 404, code 5 NotFound): the domains are then the ones every project
 * of ListProjects carries, which flyteadmin fills from the same configured list
 * (manager/impl/project_manager.go getDomains).
 */
import type { ProjectState } from '../../model/flyte.js';
import { ControlPlaneError } from '../errors.js';
import type { JsonHttp } from '../json-http.js';

const STATES: readonly ProjectState[] = [
  'ACTIVE',
  'ARCHIVED',
  'SYSTEM_GENERATED',
  'SYSTEM_ARCHIVED',
];

interface ProjectsPage {
  projects?: {
    id?: string;
    state?: string | number;
    org?: string;
    domains?: { id?: string }[];
  }[];
  token?: string;
}

export interface ProjectList {
  projects: { id: string; state: ProjectState }[];
  /** The domains the projects carry (sorted): GetDomains' answer where it is absent. */
  domains: string[];
}

interface ListedProject {
  id: string;
  state: ProjectState;
  domains: string[];
}

export async function listProjects(http: JsonHttp, org: string): Promise<ProjectList> {
  const [current, archived] = await Promise.all([
    listAll(http, org, ''),
    listAll(http, org, 'eq(state,1)'),
  ]);
  const byId = new Map<string, ProjectState>();
  const domains = new Set<string>();
  for (const p of [...current, ...archived]) {
    byId.set(p.id, p.state);
    for (const d of p.domains) domains.add(d);
  }
  return {
    projects: [...byId.entries()]
      .map(([id, state]) => ({ id, state }))
      .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)),
    domains: [...domains].sort(),
  };
}

/**
 * One ListProjects call: without a limit flyteadmin answers every project at once
 * (gormimpl/project_repo.go: no LIMIT when `limit` is 0), so no page waits for another.
 */
async function listAll(http: JsonHttp, org: string, filters: string): Promise<ListedProject[]> {
  const query = new URLSearchParams();
  if (filters !== '') query.set('filters', filters);
  if (org !== '') query.set('org', org);
  const q = query.toString();
  const res = await http.call<ProjectsPage | undefined>(
    'GET',
    `/api/v1/projects${q ? `?${q}` : ''}`,
  );
  const out: ListedProject[] = [];
  for (const p of res?.projects ?? []) {
    if (!p.id || ((p.org ?? '') !== '' && p.org !== org)) continue;
    const domains = (p.domains ?? []).map((d) => d.id ?? '').filter((d) => d !== '');
    out.push({ id: p.id, state: projectState(p.state), domains });
  }
  return out;
}

/** An enum by name (protojson) or number; absent is 0, ACTIVE; one this version does not know is not active. */
function projectState(raw: string | number | undefined): ProjectState {
  if (raw === undefined || raw === '') return 'ACTIVE';
  if (typeof raw === 'number') return STATES[raw] ?? 'ARCHIVED';
  return (STATES as readonly string[]).includes(raw) ? (raw as ProjectState) : 'ARCHIVED';
}

/** GetDomains, or null where this flyteadmin has no such route (before v1.13.0). */
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
