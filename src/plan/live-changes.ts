/**
 * What changed on the control plane since a plan was made (docs/apply.md#saved-plans-and-staleness),
 * once its live fingerprint no longer matches: each object in the plan's comparable forms, a
 * queue's serving state, and poolsync's inventory, so a stale plan's refusal names what moved.
 */
import {
  address,
  assignmentKeyString,
  type AssignmentKey,
  type ClusterSettings,
  defaultQueueKeyString,
  type ObjectKind,
} from '../model/common.js';
import {
  MATCHABLE_KIND,
  attributeRowKey,
  routingOf,
  type DeployedRouting,
} from '../model/flyte.js';
import type { LiveQueue, LiveState, QueueState } from '../model/live.js';
import { isActionable, isTargeted, type FieldDiff, type Plan } from '../model/plan.js';
import { isDeepStrictEqual } from 'node:util';
import { KeyTexts, liveFingerprint } from './fingerprint.js';
import {
  clusterForm,
  diffForms,
  poolForm,
  queueForm,
  rowForm,
  specForm,
  type Form,
} from './forms.js';

/** What differs between the state a plan was made against and the live state now. */
export interface LiveChanges {
  /** Addresses whose live object differs from the plan's `before` (appeared, gone, changed, or a queue's serving state), sorted. */
  addresses: string[];
  /** Queues among `addresses` whose serving state moved, as the fingerprint tells them apart. */
  states?: Record<string, { was: ServingState; now: QueueState }>;
  /** Objects among `addresses` there both then and now: the fields that moved, as the plan diffs them. */
  fields?: Record<string, Pick<FieldDiff, 'path' | 'before' | 'after'>[]>;
  /** Addresses among `addresses` the plan did not see (made since), and those gone since, not soft-deleted. */
  appeared?: string[];
  gone?: string[];
  /** Addresses among `addresses` soft-deleted since the plan (`soft_delete`): their names stay reserved. */
  deleted?: string[];
  /**
   * poolsync's own records (the inventory, its marks, `state forget`): what moved when the state
   * the plan was made from is known (`began`: all it added is what this plan records ahead of its
   * first step; `forgotten`: taken out by `state forget`); `changed` when something else of them
   * moved; `maybe` when only the plan is known, no object differs and the state it was made from
   * could not be told from its fingerprint; null otherwise.
   */
  inventory:
    | { added: string[]; removed: string[]; began?: boolean; forgotten?: string[] }
    | 'changed'
    | 'maybe'
    | null;
  /** Addresses among `addresses` now as the plan's change makes them (its `after`), sorted. */
  made?: string[];
  /**
   * Addresses among `addresses` now as the plan's own steps leave them on the way to its change
   * (a queue drained or being deleted, a cluster disabled, before its delete), sorted.
   */
  partWay?: string[];
  /**
   * flyteadmin's: how the cluster configuration it runs with moved, in words (`deployed label 'a'
   * weights c1 0.6 → 0.7`); empty when it did not, absent when the routing it read then or now is
   * not known.
   */
  flyteadmin?: { deployed?: string[] };
  /** Every change the plan shows is made, and nothing else moved: it was applied already. */
  applied?: true;
  /** Some changes the plan shows are made, the rest not begun, and nothing else moved: a cut apply. */
  partly?: true;
}

/** A queue's serving state as the live fingerprint keys it: draining and drained are one. */
export type ServingState = 'active' | 'drained' | 'deleting';

/**
 * `live` against what `plan` was made from: the state itself when it is at hand (`planned`, the
 * plan made in this process), else the plan's `before` forms, and, when none differs, the state
 * rebuilt from the plan whose fingerprint is the plan's (planTimeState), the differing objects
 * put back as the plan saw them when their forms allow (asPlanSaw). A partial plan
 * (`--target`) shows only some objects: one it does not show is not said to have appeared.
 */
export function liveChanges(
  plan: Plan,
  current: LiveState,
  planned?: LiveState | null,
): LiveChanges {
  const read = current.flyteadmin?.deployed;
  const planRead = planned?.flyteadmin?.deployed;
  const deployed = read
    ? routingChanges(
        planRead ? routingOf(planRead) : (plan.deployed_routing ?? null),
        routingOf(read),
      )
    : null;
  // The routing put back as the plan read it, so what else moved can still be told.
  const live =
    deployed?.length && !planned && plan.deployed_routing
      ? withRouting(current, plan.deployed_routing)
      : current;
  const moved = read ? { flyteadmin: deployed ? { deployed } : {} } : {};
  const now = liveForms(current);
  const was = planned ? liveForms(planned) : planForms(plan);
  const partial = !planned && isTargeted(plan);
  const differ = new Set<string>();
  const fields: NonNullable<LiveChanges['fields']> = {};
  for (const [a, form] of was) {
    const is = now.get(a) ?? null;
    if (isDeepStrictEqual(form, is)) continue;
    differ.add(a);
    if (form && is)
      fields[a] = diffForms(form, is).map(({ path, before, after }) => ({ path, before, after }));
  }
  if (!partial) for (const a of now.keys()) if (!was.has(a)) differ.add(a);
  const appeared = [...differ].filter((a) => !was.get(a) && now.has(a)).sort();
  const gone = [...differ].filter((a) => was.get(a) && !now.has(a)).sort();
  const found = {
    ...(Object.keys(fields).length > 0 ? { fields } : {}),
    ...(appeared.length > 0 ? { appeared } : {}),
    ...(gone.length > 0 ? { gone } : {}),
  };
  const undone = planned || differ.size === 0 ? null : asPlanSaw(live, differ, was);
  const then =
    planned ??
    (differ.size === 0
      ? planTimeState(plan, live, was, live !== current)
      : undone && planTimeState(plan, undone, was, true));
  if (!then) {
    const maybe = differ.size === 0 && live.inventory !== undefined;
    // A gone object whose name a soft delete keeps reserved is said to be soft-deleted.
    const reserved = deletedAddresses(live);
    const deleted = [...differ].filter((a) => was.get(a) && !now.has(a) && reserved.has(a));
    return withApplied(plan, now, {
      addresses: [...differ].sort(),
      ...found,
      ...(deleted.length > 0 ? { deleted } : {}),
      ...moved,
      inventory: maybe ? 'maybe' : null,
    });
  }
  const states = stateChanges(then.queues, live.queues);
  for (const a of Object.keys(states)) differ.add(a);
  const deleted = deletedSince(then, live);
  for (const a of deleted) differ.add(a);
  return withApplied(plan, now, {
    addresses: [...differ].sort(),
    ...(Object.keys(states).length > 0 ? { states } : {}),
    ...found,
    ...(deleted.length > 0 ? { deleted } : {}),
    ...moved,
    inventory: inventoryChange(plan, then, live),
  });
}

/**
 * `changed`, marked `applied` when the live state shows every change of `plan` made (each object
 * as its `after`) and nothing else moved, in the objects or the inventory: a saved plan applied
 * a second time, whose refusal says so rather than read as an apply cut short; `partly` when
 * only some are made, and `made` lists the objects already as the plan makes them, so the
 * refusal does not blame the plan's own change on the control plane.
 */
function withApplied(plan: Plan, now: Map<string, Form>, changed: LiveChanges): LiveChanges {
  const made = plan.changes.filter((c) => isActionable(c.action));
  const touched = new Set(made.map((c) => c.address));
  // What its apply records: every address it declares (what it adopts too), less what is gone.
  const recorded = new Set([...touched, ...(plan.inventory?.declared ?? [])]);
  const dropped = new Set([...touched, ...(plan.inventory?.gone ?? [])]);
  const { inventory } = changed;
  const isMade = (c: (typeof made)[number]) =>
    isDeepStrictEqual(now.get(c.address) ?? null, storedForm(c)) && leadsTo(c, changed.states);
  const done = new Set(made.filter(isMade).map((c) => c.address));
  const madeHere = changed.addresses.filter((a) => done.has(a));
  const partWay = changed.addresses.filter((a) => !done.has(a) && onItsWay(plan, changed, a));
  const onlyItsOwn =
    !changed.flyteadmin?.deployed?.length &&
    changed.addresses.every((a) => touched.has(a)) &&
    (inventory === null ||
      (typeof inventory === 'object' &&
        inventory.added.every((a) => recorded.has(a)) &&
        inventory.removed.every((a) => dropped.has(a))));
  const all = made.every(isMade);
  const applied =
    onlyItsOwn && all && (made.length > 0 || (plan.inventory?.adopts?.length ?? 0) > 0);
  // Partly: what differs is all made or on its way, and what is not made is as the plan saw it.
  const partly =
    onlyItsOwn &&
    !all &&
    madeHere.length + partWay.length > 0 &&
    madeHere.length + partWay.length === changed.addresses.length;
  return {
    ...changed,
    ...(madeHere.length > 0 ? { made: madeHere } : {}),
    ...(partWay.length > 0 ? { partWay } : {}),
    ...(applied ? { applied } : {}),
    ...(partly ? { partly } : {}),
  };
}

/**
 * Whether `a` differs only as a step of `plan` leaves it before its change is made: a queue
 * drained by its drain_queue or being deleted by its delete_queue, a cluster's `enabled` as its
 * update_cluster sets it (C6: disabled before its delete).
 */
function onItsWay(plan: Plan, changed: LiveChanges, a: string): boolean {
  const { states, fields, appeared, gone, deleted } = changed;
  if ([appeared, gone, deleted].some((xs) => xs?.includes(a))) return false;
  const state = states?.[a];
  const moved = fields?.[a] ?? [];
  const steps = plan.steps.filter((s) => s.target === a);
  if (state)
    return (
      moved.length === 0 &&
      steps.some((s) =>
        state.now === 'deleting'
          ? s.op === 'delete_queue'
          : s.op === 'drain_queue' && (state.now === 'draining' || state.now === 'drained'),
      )
    );
  return (
    moved.length === 1 &&
    moved[0]!.path === 'enabled' &&
    steps.some((s) => s.op === 'update_cluster' && s.args.enabled === moved[0]!.after)
  );
}

/**
 * Whether a queue's serving state, when it moved since the plan, is the one `change` leads to
 * (its `state` diff's `after`): a queue another client put into deleting is not made by an
 * activate or an update, though its form is.
 */
function leadsTo(change: Plan['changes'][number], states: LiveChanges['states']): boolean {
  const moved = states?.[change.address];
  if (!moved) return true;
  const to = change.diff.find((d) => d.path === 'state')?.after;
  return (
    typeof to === 'string' && serving({ state: to as QueueState }) === serving({ state: moved.now })
  );
}

/** A change's `after` as the control plane keeps it: no registration's data plane (C4). */
function storedForm({ kind, after }: Plan['changes'][number]): Form | null {
  return kind === 'Cluster' && after !== null ? clusterForm(after as ClusterSettings) : after;
}

/** What moved from `was` to `now` in the words of a stale plan's refusal; null when either is unknown. */
function routingChanges(was: DeployedRouting | null, now: DeployedRouting | null): string[] | null {
  if (!was || !now) return null;
  const out: string[] = [];
  const names = [...new Set([...Object.keys(was.labels), ...Object.keys(now.labels)])].sort();
  for (const name of names) {
    const [before, after] = [was.labels[name], now.labels[name]];
    const label = `deployed label '${name}'`;
    if (!before) out.push(`${label} added (${weights(after!)})`);
    else if (!after) out.push(`${label} removed`);
    else {
      const b = new Map(before.map((e) => [e.cluster, e.weight]));
      const a = new Map(after.map((e) => [e.cluster, e.weight]));
      const moved = [...new Set([...b.keys(), ...a.keys()])]
        .sort()
        .filter((c) => b.get(c) !== a.get(c))
        .map((c) => `${c} ${b.get(c) ?? 'none'} → ${a.get(c) ?? 'none'}`);
      if (moved.length > 0) out.push(`${label} weights ${moved.join(', ')}`);
    }
  }
  const list = (xs: string[]) => (xs.length > 0 ? [...xs].sort().join(', ') : 'none');
  if (list(was.enabled_clusters) !== list(now.enabled_clusters))
    out.push(
      `deployed enabled clusters ${list(was.enabled_clusters)} → ${list(now.enabled_clusters)}`,
    );
  const label = (l: string | null) => (l === null ? 'none' : `'${l}'`);
  if (was.default_execution_label !== now.default_execution_label)
    out.push(
      `deployed default execution label ${label(was.default_execution_label)} → ${label(now.default_execution_label)}`,
    );
  return out;
}

const weights = (entries: readonly { cluster: string; weight: number }[]) =>
  entries.map((e) => `${e.cluster} ${e.weight}`).join(', ');

/** `live` with flyteadmin's deployed routing as `routing`. */
function withRouting(live: LiveState, routing: DeployedRouting): LiveState {
  const fa = live.flyteadmin!;
  return { ...live, flyteadmin: { ...fa, deployed: { ...fa.deployed, ...routing } } };
}

/** Each soft-deleted object's address (`soft_delete`), by the list it is in. */
function deletedAddresses(live: LiveState): Map<string, DeletedList> {
  const out = new Map<string, DeletedList>();
  for (const [list, kind] of DELETED_LISTS)
    for (const x of live[list] ?? []) out.set(address(kind, x.name), list);
  return out;
}

type DeletedList = 'deleted_queues' | 'deleted_pools' | 'deleted_clusters';
const KIND_OF = {
  deleted_queues: 'Queue',
  deleted_pools: 'ClusterPool',
  deleted_clusters: 'Cluster',
} as const satisfies Record<DeletedList, ObjectKind>;
const DELETED_LISTS = Object.entries(KIND_OF) as [DeletedList, ObjectKind][];

/** Addresses soft-deleted now that were not then, sorted. */
function deletedSince(then: LiveState, live: LiveState): string[] {
  const was = deletedAddresses(then);
  return [...deletedAddresses(live).keys()].filter((a) => !was.has(a)).sort();
}

function inventoryChange(plan: Plan, then: LiveState, live: LiveState): LiveChanges['inventory'] {
  const before = then.inventory ?? [];
  const after = live.inventory ?? [];
  const was = new Set(before);
  const is = new Set(after);
  const added = after.filter((a) => !was.has(a));
  const removed = before.filter((a) => !is.has(a));
  if (added.length > 0 || removed.length > 0) {
    const declared = new Set(plan.inventory?.declared);
    const forgot = new Set(then.forgotten);
    const forgotten = (live.forgotten ?? []).filter((a) => !forgot.has(a) && was.has(a));
    return {
      added,
      removed,
      ...(added.length > 0 && added.every((a) => declared.has(a)) ? { began: true } : {}),
      ...(forgotten.length > 0 ? { forgotten } : {}),
    };
  }
  const records = (s: LiveState) => [
    s.inventory === null,
    s.inventory_owners ?? {},
    s.forgotten ?? [],
    s.prevent_destroy ?? [],
    s.confirm_destroy ?? [],
    s.guardrails ?? null,
    s.repository_guardrails ?? {},
  ];
  return isDeepStrictEqual(records(then), records(live)) ? null : 'changed';
}

const serving = (q: Pick<LiveQueue, 'state'> | undefined): ServingState =>
  q?.state === 'deleting'
    ? 'deleting'
    : q?.state === 'draining' || q?.state === 'drained'
      ? 'drained'
      : 'active';

/** Queues on both sides whose serving state moved. */
function stateChanges(
  then: readonly LiveQueue[],
  now: readonly LiveQueue[],
): NonNullable<LiveChanges['states']> {
  const was = new Map(then.map((q) => [q.name, q]));
  const out: NonNullable<LiveChanges['states']> = {};
  for (const q of now) {
    const w = was.get(q.name);
    if (w && serving(w) !== serving(q))
      out[address('Queue', q.name)] = { was: serving(w), now: q.state ?? 'active' };
  }
  return out;
}

/** Queues whose state planTimeState tries, at most: each costs two fingerprints of a base. */
const TRIED = 20;

/**
 * The state a saved plan was made from, when its fingerprint says so (a plan does not keep its
 * queues' serving states nor the inventory): the live state with poolsync's records as the plan
 * read them (what it declares, prunes and finds gone; its forgotten addresses), and/or one queue
 * in another serving state: a queue now not active, or one the plan activates; or without one
 * soft-deleted object the plan saw absent (its create would now be an undelete). Null when none
 * of these is the plan's fingerprint: then nothing is claimed.
 */
function planTimeState(
  plan: Plan,
  live: LiveState,
  was: ReadonlyMap<string, Form | null>,
  itself = false,
): LiveState | null {
  // Frozen copies share their fingerprint texts (KeyTexts) between the tries.
  const texts = new KeyTexts();
  const frozen = <T extends object>(xs: readonly T[]) =>
    xs.map((x) => (Object.isFrozen(x) ? x : Object.freeze({ ...x })));
  const base: LiveState = {
    ...live,
    pools: frozen(live.pools),
    clusters: frozen(live.clusters),
    queues: frozen(live.queues),
    assignments: frozen(live.assignments),
  };
  const activated = new Set(
    plan.steps.filter((s) => s.op === 'activate_queue').map((s) => s.target),
  );
  const tried = base.queues
    .filter((q) => serving(q) !== 'active' || activated.has(address('Queue', q.name)))
    .slice(0, TRIED);
  const deleted = [...deletedAddresses(base)]
    .filter(([a]) => was.has(a) && was.get(a) === null)
    .slice(0, TRIED);
  const records = recordsAsPlanned(plan, base);
  for (const b of records ? [records, base] : [base]) {
    if ((b !== base || itself) && liveFingerprint(b, texts) === plan.live_fingerprint) return b;
    for (const [a, list] of deleted) {
      const kept = (b[list] ?? []).filter((x) => address(KIND_OF[list], x.name) !== a);
      const then = { ...b, [list]: kept };
      if (liveFingerprint(then, texts) === plan.live_fingerprint) return then;
    }
    for (const q of tried)
      for (const s of ['active', 'drained', 'deleting'] as const) {
        if (s === serving(q)) continue;
        const queues = b.queues.map((x) => (x === q ? Object.freeze({ ...q, state: s }) : x));
        const then = { ...b, queues };
        if (liveFingerprint(then, texts) === plan.live_fingerprint) return then;
      }
  }
  return null;
}

/**
 * `live` with each object in `differ` as the plan saw it (its `before` form), so what else moved
 * (a queue's serving state, the inventory) can still be told by the fingerprint: one changed
 * since over the live object, one gone since put back where its list's order has it (and out of
 * the soft-deleted ones), one made since left out. Null when one is of a kind not kept here.
 */
function asPlanSaw(
  live: LiveState,
  differ: ReadonlySet<string>,
  was: ReadonlyMap<string, Form | null>,
): LiveState | null {
  let left = differ.size;
  const out: LiveState = { ...live };
  const keyOf = (list: (typeof UNDONE_LISTS)[number][0], x: object) =>
    list === 'assignments' ? assignmentKeyString(x as AssignmentKey) : (x as { name: string }).name;
  for (const [list, kind] of UNDONE_LISTS) {
    const before = left;
    const seen = new Set<string>();
    const xs = live[list].flatMap((x: object) => {
      const a = address(kind, keyOf(list, x));
      seen.add(a);
      if (!differ.has(a)) return [x];
      left -= 1;
      const form = was.get(a);
      return form ? [{ ...x, ...form }] : [];
    });
    const gone = [...differ].filter((a) => a.startsWith(address(kind, '')) && !seen.has(a));
    for (const a of gone) {
      const form = was.get(a);
      if (!form) continue;
      left -= 1;
      xs.push(rebuilt(kind, a.slice(address(kind, '').length), form, was));
    }
    if (gone.length > 0) xs.sort(LIST_ORDER[list]);
    if (left < before) (out[list] as object[]) = xs;
  }
  // An object gone by a soft delete was not among the deleted ones then.
  for (const [list, kind] of DELETED_LISTS) {
    const kept = (live[list] ?? []) as { name: string }[];
    if (kept.some((x) => differ.has(address(kind, x.name))))
      (out[list] as object[]) = kept.filter((x) => !differ.has(address(kind, x.name)));
  }
  return left === 0 ? out : null;
}

/**
 * A pool, cluster, queue or assignment gone since the plan, from the plan's `before` form: the
 * fields the fingerprint keys; a queue is the cluster's co-named one (C2) when the plan saw it.
 */
function rebuilt(
  kind: (typeof UNDONE_LISTS)[number][1],
  name: string,
  form: Form,
  was: ReadonlyMap<string, Form | null>,
): object {
  switch (kind) {
    case 'ClusterPool':
      return { name, ...form, member_clusters: [] };
    case 'Cluster':
      return {
        name,
        ...form,
        health: 'unknown',
        unhealthy_reasons: [],
        config_drift: [],
        bound_queues: [],
      };
    case 'Queue': {
      const coNamed = !!was.get(address('Cluster', name));
      return { name, ...form, cluster_managed: coNamed, available_clusters: [] };
    }
    case 'PoolAssignment':
      return { ...form };
  }
}

/** Each list's order as readLiveState sorts it (code units). */
const byText = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
const byName = (a: object, b: object) =>
  byText((a as { name: string }).name, (b as { name: string }).name);
const LIST_ORDER = {
  pools: byName,
  clusters: byName,
  queues: byName,
  assignments: (a: object, b: object) => {
    const [x, y] = [a as AssignmentKey, b as AssignmentKey];
    return (
      byText(x.project, y.project) ||
      byText(x.domain, y.domain) ||
      byText(x.workflow ?? '', y.workflow ?? '')
    );
  },
};

const UNDONE_LISTS = [
  ['pools', 'ClusterPool'],
  ['clusters', 'Cluster'],
  ['queues', 'Queue'],
  ['assignments', 'PoolAssignment'],
] as const satisfies readonly (readonly [keyof LiveState, ObjectKind])[];

/**
 * `live` with poolsync's records as `plan` read them: without the addresses it creates (an apply
 * records them ahead of its first step), with those it deletes itself and finds gone (only
 * recorded ones are pruned or gone), and with its forgotten addresses. Null without an inventory.
 */
function recordsAsPlanned(plan: Plan, live: LiveState): LiveState | null {
  const inv = plan.inventory;
  if (!inv || live.inventory === undefined) return null;
  // None was recorded: an apply's first record brings the inventory and its marks at once.
  if (!inv.found) {
    const none: LiveState = { ...live, inventory: null };
    for (const k of RECORDS) delete none[k];
    return none;
  }
  const created = new Set(
    plan.changes.filter((c) => c.before === null && c.after !== null).map((c) => c.address),
  );
  const pruned = plan.changes
    .filter((c) => c.action === 'delete' && !c.caused_by)
    .map((c) => c.address)
    .concat(inv.gone);
  const redo = (xs: readonly string[]) =>
    [...new Set(xs.filter((a) => !created.has(a)).concat(pruned))].sort();
  const owners = { ...live.inventory_owners };
  const repo = inv.repository;
  if (repo !== undefined && live.inventory_owners) {
    const mine = redo(owners[repo] ?? []);
    if (mine.length > 0) owners[repo] = mine;
    else delete owners[repo];
  }
  const forgotten = plan.prune_scope?.forgotten ?? [];
  const { forgotten: _, ...rest } = live;
  return {
    ...rest,
    inventory: redo(live.inventory ?? []),
    ...(live.inventory_owners ? { inventory_owners: owners } : {}),
    ...(forgotten.length > 0 ? { forgotten } : {}),
  };
}

/** poolsync's records beside the inventory's addresses (model/inventory.ts). */
const RECORDS = [
  'inventory_owners',
  'forgotten',
  'prevent_destroy',
  'confirm_destroy',
  'guardrails',
  'repository_guardrails',
] as const;

/** The plan's `before` of each object it shows (null: absent when it was made). */
function planForms(plan: Plan): Map<string, Form | null> {
  const forms = new Map<string, Form | null>();
  for (const c of plan.changes) if (!forms.has(c.address)) forms.set(c.address, c.before);
  return forms;
}

/** Each live object's comparable form, as the planner makes its `before`. */
function liveForms(live: LiveState): Map<string, Form> {
  const forms = new Map<string, Form>();
  const put = (kind: ObjectKind, name: string, form: Form) => forms.set(address(kind, name), form);
  for (const p of live.pools) put('ClusterPool', p.name, poolForm(p.contract));
  for (const c of live.clusters) put('Cluster', c.name, clusterForm(c));
  for (const q of live.queues) put('Queue', q.name, queueForm(q));
  for (const a of live.assignments)
    put('PoolAssignment', assignmentKeyString(a), specForm('PoolAssignment', a));
  for (const d of live.default_queues ?? [])
    put('DefaultQueue', defaultQueueKeyString(d), specForm('DefaultQueue', d));
  for (const l of live.execution_cluster_labels ?? [])
    put('ExecutionClusterLabel', assignmentKeyString(l), specForm('ExecutionClusterLabel', l));
  for (const r of live.flyteadmin?.other_rows ?? [])
    put(MATCHABLE_KIND[r.resource_type], attributeRowKey(r), rowForm(r));
  return forms;
}
