/**
 * Live state → manifests (manifests.md), the way an organisation adopts poolsync: one file per
 * object in a folder per kind, so that the folder validates clean and plans to no changes.
 */
import { createHash } from 'node:crypto';
import { dump } from '../util/js-yaml.js';
import {
  type AssignmentKey,
  assignmentKeyString,
  CLUSTER_FIELDS,
  DEFAULT_POOL,
  DEFAULT_QUEUE,
  isValidName,
  NAME_MAX_LENGTH,
  type ObjectKind,
  QUEUE_CAP_FIELDS,
  QUEUE_DEFAULTS,
  QUEUE_SETTINGS,
  pick,
  type QueueCaps,
  type QueueSettings,
  WILDCARD,
  writtenOf,
} from '../model/common.js';
import { SPEC_FIELDS } from '../gen/manifests/kinds.js';
import { CONTRACT_ANNOTATION, CONTRACT_UNKNOWN } from '../model/desired.js';
import { MARK_ANNOTATION, PROTECTION_MARKS } from '../model/inventory.js';
import type { LiveCluster, LivePool, LiveQueue, LiveState } from '../model/live.js';
import { escapeTerminal } from '../util/terminal-text.js';
import { attributeRowKey, MATCHABLE_KIND } from '../model/flyte.js';

export interface ExportedFile {
  /** `<kind folder>/<name>.yaml`. */
  path: string;
  content: string;
  /** The live object it declares (`Kind/name`), adopted into the inventory by `export`. */
  address?: string;
}

export interface ExportResult {
  files: ExportedFile[];
  counts: {
    pools: number;
    clusters: number;
    queues: number;
    assignments: number;
    /** Union v2 default-queue settings (control planes that have them). */
    default_queues?: number;
  };
  warnings: string[];
}

const API_VERSION = 'poolsync/v1';

const FOLDER: Partial<Record<ObjectKind, string>> = {
  ClusterPool: 'pools',
  Cluster: 'clusters',
  Queue: 'queues',
  PoolAssignment: 'assignments',
  DefaultQueue: 'default-queues',
  ExecutionClusterLabel: 'execution-cluster-labels',
};

/** Declaring `Kind/<key>` (its name, or the key of an assignment, a label or a setting). */
export function manifestFile(
  kind: ObjectKind,
  name: string,
  spec: Record<string, unknown>,
  key = name,
  comment?: string,
  annotations?: Record<string, string>,
): ExportedFile {
  const header = comment ? `# ${comment}\n` : '';
  const metadata = annotations ? { name, annotations } : { name };
  const body = dump(
    { apiVersion: API_VERSION, kind, metadata, spec },
    { lineWidth: -1, noRefs: true, quoteStyle: 'double' },
  );
  return {
    path: `${FOLDER[kind]}/${name}.yaml`,
    address: `${kind}/${key}`,
    content: header + body,
  };
}

type MakeFile = typeof manifestFile;

/**
 * manifestFile, adding the annotation of each protection mark the inventory keeps for the object
 * (docs/plan.md, Protection): without it, the next apply would lift the mark unreviewed.
 */
function withMarks(live: LiveState): MakeFile {
  const marks = new Map<string, Record<string, string>>();
  for (const m of PROTECTION_MARKS)
    for (const a of live[m] ?? []) marks.set(a, { ...marks.get(a), [MARK_ANNOTATION[m]]: 'true' });
  if (marks.size === 0) return manifestFile;
  return (kind, name, spec, key = name, comment, annotations) => {
    const marked = marks.get(`${kind}/${key}`);
    return manifestFile(kind, name, spec, key, comment, marked && { ...annotations, ...marked });
  };
}

/** The settings, and Union's caps and scheduling where the queue has them (no empty map). */
function settingsOf(q: LiveQueue): QueueSettings & QueueCaps {
  const caps = QUEUE_CAP_FIELDS.map((f) => {
    const v: unknown = q[f];
    return [
      f,
      v === null || (typeof v === 'object' && Object.keys(v).length === 0) ? undefined : v,
    ];
  });
  return { ...pick(q, QUEUE_SETTINGS), ...Object.fromEntries(caps) };
}

function hasDefaultSettings(q: LiveQueue): boolean {
  const s = settingsOf(q);
  return (
    QUEUE_CAP_FIELDS.every((k) => s[k] === undefined) &&
    QUEUE_SETTINGS.every((k) => s[k] === QUEUE_DEFAULTS[k])
  );
}

/** metadata.name of an assignment: its key made a valid name (N1), unique among the exported ones. */
export function assignmentManifestName(a: AssignmentKey, taken: Set<string>): string {
  const raw = [a.project, a.domain, a.workflow ?? '']
    .filter(Boolean)
    .join('-')
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/-+/g, '-')
    .replace(/^-|-$/g, '');
  let name = (raw || 'assignment').slice(0, NAME_MAX_LENGTH).replace(/-$/, '');
  if (taken.has(name) || name !== raw) {
    // Lossy slug (truncated, or characters dropped): add a short hash of the key.
    const hash = createHash('sha256').update(assignmentKeyString(a)).digest('hex').slice(0, 8);
    name = `${name.slice(0, NAME_MAX_LENGTH - 9).replace(/-$/, '')}-${hash}`;
  }
  taken.add(name);
  return name;
}

/** N1: a live name may hold `../x` or control characters (a hostile or foreign control plane). */
export function invalidNameWarning(kind: ObjectKind, name: string): string {
  return `${kind} ${escapeTerminal(JSON.stringify(name))}: left out: not a valid manifest name (N1: at most ${NAME_MAX_LENGTH} lower-case letters, digits and "-", starting and ending with a letter or digit), so it can name neither a manifest nor a file; rename it on the control plane`;
}

export function exportManifests(live: LiveState): ExportResult {
  const files: ExportedFile[] = [];
  const warnings: string[] = [];
  const counts: ExportResult['counts'] = { pools: 0, clusters: 0, queues: 0, assignments: 0 };
  const add = (key: keyof ExportResult['counts'], file: ExportedFile | null) => {
    if (!file) return;
    files.push(file);
    counts[key] = (counts[key] ?? 0) + 1;
  };
  const named = <T extends { name: string }>(
    kind: ObjectKind,
    key: keyof ExportResult['counts'],
    list: readonly T[],
    file: (o: T) => ExportedFile | null,
  ) => {
    for (const o of list)
      if (isValidName(o.name)) add(key, file(o));
      else warnings.push(invalidNameWarning(kind, o.name));
  };
  const clusters = new Map<string, LiveCluster>(live.clusters.map((c) => [c.name, c]));
  const make = withMarks(live);
  named('ClusterPool', 'pools', live.pools, (p) => poolFile(p, warnings, make));
  // data_plane is reported by the cluster itself (C5), not declared here.
  named('Cluster', 'clusters', live.clusters, (c) =>
    make('Cluster', c.name, writtenOf(SPEC_FIELDS.Cluster, pick(c, CLUSTER_FIELDS))),
  );
  named('Queue', 'queues', live.queues, (q) => queueFile(q, clusters, warnings, make));
  const taken = new Set<string>();
  for (const a of live.assignments) add('assignments', keyedFile('PoolAssignment', a, taken, make));
  const dqNames = new Set<string>();
  if (live.default_queues) counts.default_queues = 0;
  for (const d of live.default_queues ?? [])
    add('default_queues', keyedFile('DefaultQueue', { ...d, workflow: null }, dqNames, make));
  return { files, counts, warnings };
}

/**
 * V8: pools the assignments name that the control plane serves no ClusterPool for (flyteadmin has
 * no pool API), so the folder validates only once they are declared; a made-up ClusterPool would
 * render into the pool map handed to Union as a pool without clusters, so none is written. For a
 * whole export only: import's check names what its one manifest lacks.
 */
export function unservedPoolWarnings(live: LiveState): string[] {
  const served = new Set([DEFAULT_POOL, ...live.pools.map((p) => p.name)]);
  const named = [...new Set(live.assignments.map((a) => a.pool))].filter((p) => !served.has(p));
  if (named.length === 0) return [];
  return [
    `the pool assignments name ${named.length === 1 ? 'pool' : 'pools'} ${named
      .sort()
      .map((n) => `'${escapeTerminal(n)}'`)
      .join(
        ', ',
      )}, which this control plane serves no ClusterPool for (flyteadmin has no pool API: ` +
      `Union self-managed keeps its clusterPool → clusterNames map in its own configuration), so none is exported: ` +
      `add a ClusterPool document for each, and a Cluster for each of its clusters with its bucket, from the map Union runs with (docs/union-self-managed.md), before the folder validates (V8)`,
  ];
}

function poolFile(p: LivePool, warnings: string[], make: MakeFile): ExportedFile | null {
  // P1: the default pool exists everywhere and is set when the control plane is provisioned.
  if (p.name === DEFAULT_POOL) return null;
  if (p.contract_known === false) {
    // Union's API does not return a pool's contract (docs/union.md): marked unknown, never made
    // up, it validates (V7 does not apply) and plans to "No changes"; declaring it is the user's.
    warnings.push(
      `ClusterPool/${p.name}: its contract is not readable through this control plane's API; pools/${p.name}.yaml marks it unknown (${CONTRACT_ANNOTATION}: ${CONTRACT_UNKNOWN}), and poolsync leaves it as it is. To manage it, copy it from \`flyte get cluster-pool ${p.name}\` into spec and remove the annotation`,
    );
    return make(
      'ClusterPool',
      p.name,
      {},
      p.name,
      `Contract not readable through the API: marked unknown, so poolsync never compares or changes it. To manage it, copy it from \`flyte get cluster-pool ${p.name}\` into spec and remove the annotation.`,
      { [CONTRACT_ANNOTATION]: CONTRACT_UNKNOWN },
    );
  }
  return make('ClusterPool', p.name, writtenOf(SPEC_FIELDS.ClusterPool, p.contract));
}

function queueFile(
  q: LiveQueue,
  clusters: Map<string, LiveCluster>,
  warnings: string[],
  make: MakeFile,
): ExportedFile | null {
  const owner = q.cluster_managed ? clusters.get(q.name) : undefined;
  const drained = drainedWarning(q, clusters, owner);
  if (drained) warnings.push(drained);
  if (q.name === DEFAULT_QUEUE || owner) return managedQueueFile(q, owner, warnings, make);
  return make('Queue', q.name, {
    pool: q.pool,
    clusters: [...q.clusters],
    ...settingsOf(q),
  });
}

/**
 * A queue drained on the control plane: no manifest can say so, and the exported folder wants it
 * active, so its first apply re-activates one that routes somewhere (docs/plan.md, A queue's
 * serving state); a co-named queue of a disabled cluster follows it and stays drained.
 */
function drainedWarning(
  q: LiveQueue,
  clusters: Map<string, LiveCluster>,
  owner: LiveCluster | undefined,
): string | null {
  if ((q.state !== 'draining' && q.state !== 'drained') || owner?.enabled === false) return null;
  const routes = q.clusters.includes(WILDCARD)
    ? [...clusters.values()].some((c) => c.pool === q.pool)
    : q.clusters.length > 0;
  if (!routes) return null;
  const leaveOut = owner || q.name === DEFAULT_QUEUE ? '' : `, or leave queues/${q.name}.yaml out`;
  return `Queue/${q.name} is ${q.state} on the control plane, and no manifest can declare a queue drained: the first apply re-activates it (state: "${q.state}" → "active"). To keep it drained, apply nothing here until it may serve again${leaveOut} (docs/plan.md, A queue's serving state)`;
}

/** The default queue, or a cluster's co-named queue (`owner`). */
function managedQueueFile(
  q: LiveQueue,
  owner: LiveCluster | undefined,
  warnings: string[],
  make: MakeFile,
): ExportedFile | null {
  if (owner && (owner.pool !== q.pool || q.clusters.length !== 1 || q.clusters[0] !== q.name)) {
    // C7 trap: the cluster was re-registered elsewhere; its old co-named queue cannot be
    // declared (V5), and the planner reports it from the cluster.
    warnings.push(
      `Queue/${q.name}: left out: it is the co-named queue of cluster "${q.name}" but is in pool "${q.pool}" with selector ${JSON.stringify(q.clusters)} (C7); re-register the cluster under a new name`,
    );
    return null;
  }
  // C2/P1: pool and selector are managed; write the settings only where they differ.
  if (hasDefaultSettings(q)) return null;
  const comment =
    q.name === DEFAULT_QUEUE
      ? 'Settings of the org-wide default queue (pool and selector are fixed, Q5).'
      : `Settings of the co-named queue of cluster ${q.name} (pool and selector follow the cluster, Q4).`;
  return make('Queue', q.name, { ...settingsOf(q) }, q.name, comment);
}

/** An object named by its key (assignments, default-queue settings, labels), unique in `taken`. */
function keyedFile(
  kind: 'PoolAssignment' | 'DefaultQueue' | 'ExecutionClusterLabel',
  o: AssignmentKey,
  taken: Set<string>,
  make: MakeFile,
): ExportedFile {
  const spec = writtenOf(SPEC_FIELDS[kind], o);
  // A project-wide label has no domain (an ExecutionClusterLabel without one).
  if (spec['domain'] === '') delete spec['domain'];
  return make(kind, assignmentManifestName(o, taken), spec, assignmentKeyString(o));
}

/**
 * flyteadmin's execution cluster labels. labelClusterMap and clusterConfigs are config files,
 * with no API, so the warning says what to add for the folder to validate (V11).
 */
export function exportExecutionClusterLabels(live: LiveState) {
  const labels = live.execution_cluster_labels ?? [];
  const taken = new Set<string>();
  const make = withMarks(live);
  const files = labels.map((l) => keyedFile('ExecutionClusterLabel', l, taken, make));
  const named = [...new Set(labels.map((l) => l.label))].sort();
  const warnings =
    named.length > 0
      ? [
          `the execution cluster labels name ${named.map((n) => `'${n}'`).join(', ')}: flyteadmin has no API for labelClusterMap or clusterConfigs, so add a ClusterLabel and its ExecutionCluster documents for each (from configmap.clusters of your flyte-core values, docs/flyte-oss.md) before the folder validates (V11)`,
        ]
      : [];
  return { files, warnings };
}

/** The flyteadmin rows at levels poolsync never writes: no manifest, one warning naming them. */
export function otherRowWarnings(live: LiveState): string[] {
  const rows = live.flyteadmin?.other_rows ?? [];
  if (rows.length === 0) return [];
  const named = rows.map(
    (r) =>
      `${MATCHABLE_KIND[r.resource_type]}/${attributeRowKey(r)} (${r.resource_type === 'EXECUTION_CLUSTER_LABEL' ? 'label' : 'pool'} ${r.value})`,
  );
  return [
    `flyteadmin has ${rows.length} row${rows.length === 1 ? '' : 's'} at levels poolsync does not manage (project-wide, domain-wide or launch plan), not exported: ` +
      `${named.join(', ')}. They stay as they are; plans show them as unmanaged, and a delete of a broader row names them before it takes them along (docs/flyte-oss.md)`,
  ];
}
