/**
 * flyteadmin as a target of the outside-observer property (targets.ts): its matchable
 * attributes (CLUSTER_ASSIGNMENT for PoolAssignment, EXECUTION_CLUSTER_LABEL for
 * ExecutionClusterLabel) read with ListMatchableAttributes and written with the REST calls
 * flytectl makes, at the project/domain and workflow levels and project-wide (poolsync manages a
 * label's project-wide row, not an assignment's). One flyteadmin serves a whole run (starting one costs seconds): each case starts
 * from no rows, those of the case before deleted through the same API.
 */
import type { FlyteadminUnderTest } from '../../../flyteadmin/targets.js';
import type { Fields, Snapshot, Target } from './targets.js';
import { DOMAINS, LABELS, PROJECTS, WORKFLOW, poolName, type Edit } from './world.js';

const TYPES = {
  CLUSTER_ASSIGNMENT: { kind: 'PoolAssignment', field: 'pool' },
  EXECUTION_CLUSTER_LABEL: { kind: 'ExecutionClusterLabel', field: 'label' },
} as const;
type RowType = keyof typeof TYPES;

const matching = (type: RowType, value: string) =>
  type === 'EXECUTION_CLUSTER_LABEL'
    ? { execution_cluster_label: { value } }
    : { cluster_assignment: { cluster_pool_name: value } };

/** The plan's address of a row (model/flyte.ts attributeRowKey: `*` for a level left out). */
function rowAddress(
  type: RowType,
  r: { project: string; domain: string; workflow: string; launch_plan: string },
) {
  const parts = [r.project || '*', r.domain || '*'];
  if (r.workflow !== '' || r.launch_plan !== '') parts.push(r.workflow || '*');
  if (r.launch_plan !== '') parts.push(r.launch_plan);
  return `${TYPES[type].kind}/${parts.join('/')}`;
}

export function flyteadminTarget(fa: FlyteadminUnderTest): Target {
  const call = async (method: string, path: string, body?: unknown) => {
    const res = await fa.call(method, path, body);
    if (res.status !== 200)
      throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(res.json)}`);
    return res.json;
  };
  const path = (project: string, domain: string, workflow: string | null) =>
    workflow === null
      ? `/api/v1/project_domain_attributes/${project}/${domain}`
      : `/api/v1/workflow_attributes/${project}/${domain}/${workflow}`;
  const put = (
    type: RowType,
    project: string,
    domain: string,
    workflow: string | null,
    value: string,
  ) =>
    call('PUT', path(project, domain, workflow), {
      attributes: {
        project,
        domain,
        ...(workflow === null ? {} : { workflow }),
        matching_attributes: matching(type, value),
      },
    });
  const remove = (type: RowType, project: string, domain: string, workflow: string | null) =>
    call('DELETE', path(project, domain, workflow), {
      project,
      domain,
      ...(workflow === null ? {} : { workflow }),
      resource_type: type,
    });
  const observe = async (): Promise<Snapshot> => {
    const s: Snapshot = new Map();
    for (const type of Object.keys(TYPES) as RowType[]) {
      const { field } = TYPES[type];
      for (const r of await fa.rows(type)) {
        // The levels poolsync manages, in the plan's form: a label's project-wide row has domain ''.
        const wide = type === 'EXECUTION_CLUSTER_LABEL' && r.domain === '' && r.workflow === '';
        const managed = r.project !== '' && (r.domain !== '' || wide) && r.launch_plan === '';
        const or = (x: string) => (x === '' ? null : x);
        const fields: Fields = managed
          ? { project: r.project, domain: r.domain, workflow: or(r.workflow), [field]: r.value }
          : {
              project: or(r.project),
              domain: or(r.domain),
              workflow: or(r.workflow),
              launch_plan: or(r.launch_plan),
              [field]: r.value,
            };
        s.set(rowAddress(type, r), fields);
      }
    }
    return s;
  };
  const edit = async (e: Edit) => {
    const key = (x: { project: number; domain: number; workflow: boolean }) =>
      [PROJECTS[x.project]!, DOMAINS[x.domain]!, x.workflow ? WORKFLOW : null] as const;
    switch (e.op) {
      case 'assign':
        await put('CLUSTER_ASSIGNMENT', ...key(e), poolName(e.pool));
        return;
      case 'unassign':
        await remove('CLUSTER_ASSIGNMENT', ...key(e));
        return;
      case 'label':
        if (e.label === null) await remove('EXECUTION_CLUSTER_LABEL', ...key(e));
        else await put('EXECUTION_CLUSTER_LABEL', ...key(e), LABELS[e.label]!);
        return;
      case 'project_row': {
        // Project-wide (flytectl update ... --project only), as another client writes it.
        const type: RowType = e.label ? 'EXECUTION_CLUSTER_LABEL' : 'CLUSTER_ASSIGNMENT';
        const project = PROJECTS[e.project]!;
        await call('PUT', `/api/v1/project_attributes/${project}`, {
          attributes: {
            project,
            matching_attributes: matching(type, e.label ? LABELS[0]! : 'default'),
          },
        });
        return;
      }
      default:
        throw new Error(`no ${e.op} in flyteadmin's API`);
    }
  };
  return {
    backend: 'flyteadmin',
    url: fa.url,
    env: {},
    http: {
      base: fa.httpUrl,
      via: (b) => ({ url: `flyteadmin+${b}`, env: {} }),
      refusal: 'flyteadmin',
    },
    observe,
    edit,
    async close() {
      // The next case starts from no rows: those of every level this API writes are deleted.
      for (const type of Object.keys(TYPES) as RowType[])
        for (const r of await fa.rows(type)) {
          if (r.launch_plan !== '') continue;
          if (r.domain === '')
            await call('DELETE', `/api/v1/project_attributes/${r.project}`, {
              project: r.project,
              resource_type: type,
            });
          else await remove(type, r.project, r.domain, r.workflow === '' ? null : r.workflow);
        }
    },
  };
}
