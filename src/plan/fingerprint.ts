/**
 * Fingerprints (plan.md, "Fingerprints and saved plans"), and which default-queue settings a
 * plan reads. They cover what the steps depend on, nothing else: source locations, cluster
 * health and derived views are left out, so a status report does not make a saved plan stale.
 * Every object is rebuilt with a fixed key order (annotations as sorted pairs), so plain
 * JSON.stringify is canonical: much cheaper than sorting keys generically at 10,000 objects.
 */
import { createHash } from 'node:crypto';
import { SPEC_FIELDS } from '../gen/manifests/kinds.js';
import {
  CLUSTER_FIELDS,
  type ClusterDataPlane,
  type ClusterSettings,
  leavesOf,
  type PoolContract,
  type QueueSpec,
  QUEUE_SPEC_FIELDS,
  address,
  defaultQueueKeyString,
} from '../model/common.js';
import { capsForm, declaresCaps } from './forms.js';
import type { Annotations, DesiredState } from '../model/desired.js';
import type { LiveState, SettingsNeed } from '../model/live.js';
import type { ExecutionClusterLabel, FlyteadminLive } from '../model/flyte.js';
import { pruneScope } from './prune-scope.js';
import { sameStrings } from '../util/same-json.js';
import type { Plan, Step } from '../model/plan.js';

/** Each leaf in the schema's order: a field added to it is in the key, defaulted or not. */
const contractKey = (c: PoolContract) => leavesOf(SPEC_FIELDS.ClusterPool, c);
const dataPlaneKey = (d: ClusterDataPlane | null) =>
  d === null ? null : leavesOf(SPEC_FIELDS.Cluster.data_plane.fields, d);
/** A cluster's name and stored fields (CLUSTER_FIELDS: pool, enabled). */
function clusterKey(c: { name: string } & ClusterSettings): unknown[] {
  const key: unknown[] = [c.name];
  for (let i = 0; i < CLUSTER_FIELDS.length; i++) key.push(c[CLUSTER_FIELDS[i]!]);
  return key;
}
const annotated = (key: unknown[], a: Annotations) => (key.push(annotationsKey(a)), key);
/** Most objects have no annotations: their key is this one, not a new empty key list each. */
const NO_ANNOTATIONS: readonly [] = [];
const annotationsKey = (a: Annotations) =>
  hasKeys(a)
    ? Object.keys(a)
        .sort()
        .map((k) => [k, a[k]])
    : NO_ANNOTATIONS;

/** Whether `o` has a key, without listing them. */
function hasKeys(o: object): boolean {
  for (const _ in o) return true;
  return false;
}
/**
 * A queue's spec field by field (not Object.values(settingsOf(s)): two objects a queue, 69,500
 * queues at 100,000 objects, raised the plan's peak RSS by 25-35 MB); its caps only when some
 * are declared or live, so a repository without them keeps its fingerprints.
 */
const specKey = (s: QueueSpec) => {
  // Indexed, not map(): no closure a queue.
  const key: unknown[] = new Array(QUEUE_SPEC_FIELDS.length);
  for (let i = 0; i < key.length; i++) key[i] = s[QUEUE_SPEC_FIELDS[i]!];
  if (declaresCaps(s)) key.push(capsForm(s));
  return key;
};

export function desiredFingerprint(
  desired: DesiredState,
  commit: string | null,
  texts?: KeyTexts,
): string {
  // Hashed as written: built whole, its ~300,000 arrays and one string of the whole repository
  // lived until the end (at 100,000 objects ~55 MB allocated, ~0.2 s with their collection).
  const json = new HashedJsonArray(texts);
  json.item('desired/1');
  json.item(commit);
  json.item(desired.config.prune);
  json.list('pools', desired.pools, (p) => [
    p.name,
    p.contract ? contractKey(p.contract) : null,
    annotationsKey(p.annotations),
  ]);
  json.list('clusters', desired.clusters, (c) => {
    const key = clusterKey(c);
    key.push(dataPlaneKey(c.data_plane), annotationsKey(c.annotations));
    // Only when several, so fingerprints of clusters in one pool are unchanged. Pushed, not
    // spread: no empty list and iterator a cluster.
    if (c.pools) key.push(c.pools);
    return key;
  });
  json.list('queues', desired.queues, (q) => [
    q.name,
    specKey(q.spec),
    annotationsKey(q.annotations),
  ]);
  json.list('assignments', desired.assignments, (a) =>
    annotated(leavesOf(SPEC_FIELDS.PoolAssignment, a), a.annotations),
  );
  for (const key of optionalKeys(desired)) json.item(key);
  return json.digest();
}

/**
 * The fingerprint texts a daemon's plan slicer keeps between commits (src/incremental/plan-slice.ts),
 * each list's in runs of its items, each run's text with the objects it was made of: a list whose
 * runs are the same frozen objects again is hashed from their texts, its keys not made again nor
 * its objects looked up one by one; a run with a new object is made again (up to BATCH items).
 * Only frozen objects: one changeable in place could have a new key under the same identity. The
 * digest is that of the whole text, however it is cut into runs.
 */
export class KeyTexts {
  /** Each list's runs of its last fingerprint, by their first object. */
  private readonly lists = new Map<string, ReadonlyMap<object, Run>>();
  /** New objects equal to one a kept run holds (`same`). */
  private readonly equal = new WeakMap<object, object>();
  /** The live inventory's item text, and the (frozen) addresses it is of. */
  inventory: { list: readonly string[]; text: string } | null = null;

  runs(list: string): ReadonlyMap<object, Run> | undefined {
    return this.lists.get(list);
  }

  keep(list: string, runs: ReadonlyMap<object, Run>): void {
    this.lists.set(list, runs);
  }

  /**
   * `now` has `was`'s key text: both frozen, equal as JSON with their keys in the same order (the
   * loader reads every document of a changed file anew; the slicer compares them).
   */
  same(now: object, was: object): void {
    if (Object.isFrozen(now) && Object.isFrozen(was)) this.equal.set(now, was);
  }

  /** The object `now` is equal to (`same`), or `now`. */
  was(now: object): object {
    return this.equal.get(now) ?? now;
  }
}

/** Items of a list, in order, and their keys' JSON texts, comma-separated. */
interface Run {
  items: readonly object[];
  text: string;
}

/** A JSON text made already, hashed as an item (`HashedJsonArray.item`). */
class Json {
  constructor(readonly text: string) {}
}

/**
 * sha256 of the JSON text of an array (the same digest as sha256(JSON.stringify(array))), its
 * items written one by one, a list's in runs of up to BATCH items: neither all their keys nor the
 * whole text are ever held. A run is stringified at once: one string an item, joined, cost more
 * (issue 63). The text is hashed in pieces cut at punctuation: no character's UTF-8 bytes are split.
 */
class HashedJsonArray {
  private readonly hash = createHash('sha256');
  private empty = true;

  /** `texts`: the kept texts (KeyTexts), its lists named `side/list`. */
  constructor(
    private readonly texts?: KeyTexts,
    private readonly side = 'desired',
  ) {}

  item(value: unknown): void {
    this.next();
    this.hash.update(value instanceof Json ? value.text : (JSON.stringify(value) ?? 'null'));
  }

  /** An item that is a list: `key(x)` of each of `items`. */
  list<T extends object>(name: string, items: readonly T[], key: (item: T) => unknown): void {
    this.next();
    this.hash.update('[');
    const list = `${this.side}/${name}`;
    const texts = this.texts;
    const kept = texts?.runs(list);
    const runs = texts && new Map<object, Run>();
    for (let i = 0; i < items.length;) {
      if (i > 0) this.hash.update(',');
      const run =
        (texts && kept && keptRun(items, i, kept, texts)) ?? freshRun(items, i, key, kept, texts);
      this.hash.update(run.text);
      // Only a run of frozen objects is kept (a kept run's are, and those equal to them).
      if (runs && (kept?.get(run.items[0]!) === run || run.items.every((x) => Object.isFrozen(x))))
        runs.set(run.items[0]!, run);
      i += run.items.length;
    }
    this.hash.update(']');
    if (runs) texts!.keep(list, runs);
  }

  digest(): string {
    this.hash.update(this.empty ? '[]' : ']');
    return `sha256:${this.hash.digest('hex')}`;
  }

  private next(): void {
    this.hash.update(this.empty ? '[' : ',');
    this.empty = false;
  }
}

/**
 * The kept run that `items` go on with at `at` (its objects, or objects equal to them: then its
 * text under these objects), or null.
 */
function keptRun(
  items: readonly object[],
  at: number,
  kept: ReadonlyMap<object, Run>,
  texts: KeyTexts,
): Run | null {
  const run = kept.get(items[at]!) ?? kept.get(texts.was(items[at]!));
  if (run === undefined || at + run.items.length > items.length) return null;
  let identical = true;
  for (let k = 0; k < run.items.length; k++) {
    const item = items[at + k]!;
    if (item === run.items[k]) continue;
    if (texts.was(item) !== run.items[k]) return null;
    identical = false;
  }
  return identical ? run : { items: items.slice(at, at + run.items.length), text: run.text };
}

/** The items from `at` up to BATCH, ending before an object a kept run starts with. */
function freshRun<T extends object>(
  items: readonly T[],
  at: number,
  key: (item: T) => unknown,
  kept: ReadonlyMap<object, Run> | undefined,
  texts: KeyTexts | undefined,
): Run {
  const starts = (item: T) => kept !== undefined && (kept.has(item) || kept.has(texts!.was(item)));
  let end = at + 1;
  while (end < items.length && end - at < BATCH && !starts(items[end]!)) end++;
  const batch = items.slice(at, end);
  // The run's JSON without its brackets: its items' JSON, comma-separated.
  return { items: batch, text: JSON.stringify(batch.map(key)).slice(1, -1) };
}

/** Items a run at most: its keys die young in a 1 MB semi-space, its text is ~50 KB. */
const BATCH = 500;

/**
 * The live inventory as an item (`['inventory', addresses]`), its text kept while a frozen list
 * of the same addresses is read again (every run reads it anew; it changes only with an apply).
 */
function inventoryItem(inventory: readonly string[] | null, texts?: KeyTexts): Json {
  const kept = texts?.inventory;
  if (kept && inventory !== null && sameStrings(kept.list, inventory)) return new Json(kept.text);
  const text = JSON.stringify(['inventory', inventory]);
  if (texts && inventory !== null && Object.isFrozen(inventory))
    texts.inventory = { list: inventory, text };
  return new Json(text);
}

/** Kinds and settings keyed only when present, so older fingerprints are unchanged. */
function optionalKeys(desired: DesiredState): unknown[] {
  const { config } = desired;
  return [
    ...when(desired.default_queues?.length, () =>
      desired.default_queues!.map((d) =>
        annotated(leavesOf(SPEC_FIELDS.DefaultQueue, d), d.annotations),
      ),
    ),
    ...labelsKey(desired.execution_cluster_labels),
    ...when(config.prune, () => ['prune_scope', pruneScope(config)]),
    ...when(config.absent?.length, () => ['absent', [...config.absent!].sort()]),
    // The destroy budget decides the plan's errors (plan/guardrails.ts).
    ...when(config.guardrails, () => [
      'guardrails',
      [config.guardrails!.max_destroy ?? null, config.guardrails!.max_replace ?? null],
    ]),
    ...when(config.accept_cascade?.length, () => [
      'accept_cascade',
      [...config.accept_cascade!].sort(),
    ]),
    // The labels' weights decide whether a label is deployed (flyteadmin.ts).
    ...when(desired.cluster_labels?.length, () => [
      'cluster_labels',
      desired.cluster_labels!.map((l) => [
        l.name,
        l.clusters.map((e) => [e.cluster, e.weight]),
        l.default === true,
      ]),
    ]),
  ];
}

export function liveFingerprint(live: LiveState, texts?: KeyTexts): string {
  const caps = live.capabilities;
  const deletedPoolsOrClusters = live.deleted_pools?.length || live.deleted_clusters?.length;
  // Hashed as written, as the desired one (the same digest as of the whole array's JSON): built
  // whole, a converged 100,000-object plan made every live object's key and one string of all
  // of them (~37 MB).
  const json = new HashedJsonArray(texts, 'live');
  json.item('live/1');
  json.item([caps.drain, caps.queue_delete, caps.pool_update, caps.cluster_move]);
  json.list('pools', live.pools, (p) => [p.name, contractKey(p.contract)]);
  json.list('clusters', live.clusters, clusterKey);
  // A queue's serving state is planned (issue 73): one another client drained or is deleting
  // makes a saved plan stale. Draining and drained are one key (a drain ending by itself does
  // not), and an active queue has none, so other fingerprints stay as they were.
  json.list('queues', live.queues, (q) =>
    q.state === undefined || q.state === 'active'
      ? [q.name, specKey(q), q.cluster_managed]
      : [q.name, specKey(q), q.cluster_managed, q.state === 'deleting' ? 'deleting' : 'drained'],
  );
  json.list('assignments', live.assignments, (a) => leavesOf(SPEC_FIELDS.PoolAssignment, a));
  const optional = [
    ...when(live.default_queues?.length, () =>
      live.default_queues!.map((d) => leavesOf(SPEC_FIELDS.DefaultQueue, d)),
    ),
    // Broader-scope settings block drains and deletes. Only when read, so other fingerprints stay.
    ...when(live.default_queue_scopes?.length, () => [
      'scopes',
      // An archived project's level, or an unreadable one, only when there is one: other
      // fingerprints stay as they were.
      live.default_queue_scopes!.map((d) =>
        d.project === undefined && !d.unreadable
          ? [d.domain ?? null, d.queue]
          : [d.domain ?? null, d.queue, d.project ?? null, d.unreadable === true],
      ),
    ]),
    ...labelsKey(live.execution_cluster_labels),
    ...when(live.flyteadmin, () => ['flyteadmin', flyteadminKey(live.flyteadmin!)]),
    // What prune may delete depends on it.
    ...when(live.inventory !== undefined, () => inventoryItem(live.inventory ?? null, texts)),
    // Whose each address is decides what prune may delete and what is a conflict (prune-scope.ts).
    ...when(Object.keys(live.inventory_owners ?? {}).length, () => [
      'owners',
      Object.entries(live.inventory_owners!).sort(([a], [b]) => (a < b ? -1 : 1)),
    ]),
    ...when(live.forgotten?.length, () => ['forgotten', live.forgotten]),
    // What the plan may destroy depends on them (plan/guardrails.ts). Only when recorded.
    ...when(live.prevent_destroy?.length, () => ['prevent_destroy', live.prevent_destroy]),
    ...when(live.confirm_destroy?.length, () => ['confirm_destroy', live.confirm_destroy]),
    ...when(live.guardrails, () => [
      'guardrails',
      [live.guardrails!.max_destroy ?? null, live.guardrails!.max_replace ?? null],
    ]),
    ...when(live.repository_guardrails, () => [
      'repository_guardrails',
      Object.entries(live.repository_guardrails!)
        .sort(([a], [b]) => (a < b ? -1 : 1))
        .map(([r, g]) => [r, g.max_destroy ?? null, g.max_replace ?? null]),
    ]),
    // soft_delete: a reserved name plans an undelete, not a create. Only when on.
    ...when(caps.soft_delete, () => [
      'deleted',
      (live.deleted_queues ?? []).map((q) => [q.name, specKey(q)]),
    ]),
    ...when(caps.soft_delete && deletedPoolsOrClusters, () => [
      'deleted_pools_clusters',
      (live.deleted_pools ?? []).map((p) => [p.name, contractKey(p.contract)]),
      (live.deleted_clusters ?? []).map((c) => [c.name, c.pool, c.deleting ?? false]),
    ]),
    // default_delete: `absent: [Queue/default]` plans its delete. Only when on.
    ...when(caps.default_delete, () => ['default_delete']),
  ];
  for (const key of optional) json.item(key);
  return json.digest();
}

/** A key only some states have: `[value()]` when `cond` holds, so older fingerprints stay. */
function when(cond: unknown, value: () => unknown): unknown[] {
  return cond ? [value()] : [];
}

/** What the flyteadmin pass reads: a change in any makes a saved plan stale. */
function flyteadminKey(f: FlyteadminLive): unknown[] {
  const d = f.deployed;
  return [
    f.other_rows.map((r) => [
      r.resource_type,
      r.project,
      r.domain,
      r.workflow,
      r.launch_plan,
      r.value,
    ]),
    f.projects.map((p) => [p.id, p.state]),
    f.domains,
    [
      d.source,
      d.labels === null
        ? null
        : Object.keys(d.labels)
            .sort()
            .map((k) => [k, d.labels![k]!.map((e) => [e.cluster, e.weight])]),
      d.enabled_clusters,
      d.default_execution_label,
      d.unavailable === null,
    ],
  ];
}

function labelsKey(labels: readonly ExecutionClusterLabel[] | undefined): unknown[] {
  return when(labels?.length, () => [
    'execution_cluster_labels',
    labels!.map((l) => leavesOf(SPEC_FIELDS.ExecutionClusterLabel, l)),
  ]);
}

const PREFIX = address('DefaultQueue', '');

/**
 * Which default-queue settings a plan needs read (docs/union.md, Round trips; one call each):
 * the declared ones; under prune, the inventory's, or all when prune may delete others; all when
 * the plan drains, deletes or moves a live queue, which Union refuses while any setting names it.
 */
export function settingsNeed(desired: DesiredState): SettingsNeed {
  const declared = (desired.default_queues ?? []).map(({ project, domain }) => ({
    project,
    domain,
  }));
  const prune = pruneScope(desired.config);
  return (inventory) => {
    if (prune === undefined) return declared;
    const claimed = desired.config.manage?.includes('DefaultQueue') === true;
    if (claimed || (inventory === undefined && prune.kinds.includes('DefaultQueue'))) return 'all';
    const keys = new Map(declared.map((k) => [defaultQueueKeyString(k), k]));
    for (const a of inventory ?? []) {
      if (!a.startsWith(PREFIX)) continue;
      // DefaultQueue/PROJECT/DOMAIN: names carry no "/" (V12).
      const [project, domain] = a.slice(PREFIX.length).split('/');
      if (project && domain) keys.set(`${project}/${domain}`, { project, domain });
    }
    return [...keys.values()];
  };
}

/** Steps that Union refuses for a queue a default-queue setting names (its co-named queue too). */
const BLOCKED_BY_SETTINGS: ReadonlySet<Step['op']> = new Set([
  'drain_queue',
  'delete_queue',
  'move_queue',
  'delete_cluster',
  'move_cluster',
]);

/** Whether `plan`, made with some settings only, must be made again with every one. */
export function needsEverySetting(plan: Plan): boolean {
  return (
    plan.default_queues_read !== undefined && plan.steps.some((s) => BLOCKED_BY_SETTINGS.has(s.op))
  );
}

export function settingsOfPlan(plan: Plan): SettingsNeed {
  return () => plan.default_queues_read ?? 'all';
}

/**
 * The plan with the settings it needs: `read(need)` (or `first`, when it holds just those); read
 * again with every setting when that plan needs them, the first state given as `before`.
 */
export async function planWithSettings(
  desired: DesiredState,
  read: (need: SettingsNeed, before?: LiveState) => Promise<LiveState>,
  plan: (live: LiveState) => Plan,
  first: LiveState | null = null,
): Promise<{ plan: Plan; live: LiveState }> {
  const need = settingsNeed(desired);
  // A state that read every setting (or a backend that lists them) holds what any plan needs.
  const read0 = first?.default_queues_read;
  const wanted = first ? need(first.inventory) : 'all';
  const fits =
    first !== null &&
    (read0 === undefined || (wanted !== 'all' && keysOf(read0) === keysOf(wanted)));
  let live = fits ? first : await read(need);
  let made = plan(live);
  if (needsEverySetting(made)) {
    live = await read(() => 'all', live);
    made = plan(live);
  }
  return { plan: made, live };
}

const keysOf = (scope: readonly { project: string; domain: string }[]) =>
  scope.map(defaultQueueKeyString).sort().join('\n');
