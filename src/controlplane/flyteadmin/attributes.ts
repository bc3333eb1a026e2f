/**
 * flyteadmin's matchable attributes as poolsync reads and writes them (real-apis.md §2):
 * `GET /api/v1/matchable_attributes?resource_type=…` lists every row of a type, at every level;
 * `PUT|DELETE /api/v1/project_domain_attributes/{project}/{domain}` and
 * `/api/v1/workflow_attributes/{project}/{domain}/{workflow}` write the two levels poolsync
 * manages. `org` (flyteidl's admin protos) is sent on every call and read from every row: a row
 * of another org is not this repository's and is left out; '' is a flyteadmin that keeps no org.
 */
import type { AssignmentKey } from '../../model/common.js';
import type { AttributeRow, MatchableResourceType } from '../../model/flyte.js';
import type { JsonHttp } from '../json-http.js';

/** MatchableAttributesConfiguration (matchable_resource.proto) as the gateway writes it. */
interface Configuration {
  attributes?: {
    execution_cluster_label?: { value?: string };
    cluster_assignment?: { cluster_pool_name?: string };
  };
  project?: string;
  domain?: string;
  workflow?: string;
  launch_plan?: string;
  org?: string;
}

/** A row at a level poolsync writes: project/domain[/workflow]. */
export interface ManagedRow extends AssignmentKey {
  value: string;
}

export class FlyteadminAttributes {
  /** One list call per type at a time: a live-state read asks for each type twice. */
  private readonly inFlight = new Map<MatchableResourceType, Promise<AttributeRow[]>>();

  constructor(
    private readonly http: JsonHttp,
    private readonly org: string,
  ) {}

  /** Every row of the type (of this org), whatever its level. */
  rows(type: MatchableResourceType): Promise<AttributeRow[]> {
    let pending = this.inFlight.get(type);
    if (!pending) {
      pending = this.list(type).finally(() => this.inFlight.delete(type));
      this.inFlight.set(type, pending);
    }
    return pending;
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
        value:
          type === 'EXECUTION_CLUSTER_LABEL'
            ? (c.attributes?.execution_cluster_label?.value ?? '')
            : (c.attributes?.cluster_assignment?.cluster_pool_name ?? ''),
      }))
      .filter((r) => r.value !== '');
  }

  /** The rows at the levels poolsync manages (project/domain and workflow). */
  async managed(type: MatchableResourceType): Promise<ManagedRow[]> {
    return (await this.rows(type)).filter(isManagedLevel).map((r) => ({
      project: r.project,
      domain: r.domain,
      workflow: r.workflow === '' ? null : r.workflow,
      value: r.value,
    }));
  }

  /** The rows at other levels (project-wide, domain-wide, launch plan): never written. */
  async others(type: MatchableResourceType): Promise<AttributeRow[]> {
    return (await this.rows(type)).filter((r) => !isManagedLevel(r));
  }

  async put(key: AssignmentKey, matching: Record<string, unknown>): Promise<void> {
    const attributes = { ...this.keyFields(key), matching_attributes: matching };
    await this.http.call('PUT', attributesPath(key), { attributes });
  }

  async remove(key: AssignmentKey, type: MatchableResourceType): Promise<void> {
    const body = { ...this.keyFields(key), resource_type: type };
    await this.http.call('DELETE', attributesPath(key), body);
  }

  /** project, domain[, workflow] and org, as both bodies carry them. */
  private keyFields(key: AssignmentKey): Record<string, unknown> {
    return {
      project: key.project,
      domain: key.domain,
      ...((key.workflow ?? null) !== null ? { workflow: key.workflow } : {}),
      org: this.org,
    };
  }
}

function isManagedLevel(r: AttributeRow): boolean {
  return r.project !== '' && r.domain !== '' && r.launch_plan === '';
}

function attributesPath(key: AssignmentKey): string {
  const p = `${seg(key.project)}/${seg(key.domain)}`;
  return (key.workflow ?? null) === null
    ? `/api/v1/project_domain_attributes/${p}`
    : `/api/v1/workflow_attributes/${p}/${seg(key.workflow!)}`;
}

/**
 * One path segment, percent-encoded. `.` and `..` are sent as `%2E` and `%2E%2E`: written
 * plainly they are dot segments, which flyteadmin's HTTP server (Go's ServeMux) cleans away
 * and redirects, so a call would reach another object or none and a delete would be reported
 * done while the row stays (issue 38, item 10). Encoded, grpc-gateway decodes them into the
 * name (checked against the real flyteadmin: test/flyteadmin/dot-segments.e2e.test.ts). undici
 * sends the path as given.
 */
function seg(value: string): string {
  if (value === '.') return '%2E';
  if (value === '..') return '%2E%2E';
  return encodeURIComponent(value);
}
