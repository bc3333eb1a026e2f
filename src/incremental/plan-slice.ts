/**
 * Issue 79 item 2: the daemon plans only what a change can affect. Objects interact only through
 * named relations (a pool and everything in it, a cluster and the queues naming it or named after
 * it, a setting and its queue), so the planner's decision for an object and its warnings read
 * only its connected part of those relations. Given the inputs and plan of the unit's last plan,
 * the objects that differ (desired or live), those the last plan acted on, and everything
 * connected to them in the old or the new inputs are planned by planAgainst itself; every other
 * object's change and warnings are the last plan's, unchanged by construction; the parts of the
 * whole organisation (fingerprints, inventory, summary, order) are made again over it.
 *
 * A plan of the whole organisation is made instead whenever the slice is not known to be safe:
 * no last plan, an option or backend or organisation-wide field changed, the last plan had
 * errors, a kind this does not model is present, the slice plans something outside itself or
 * has errors, or the slice is most of the organisation. test/incremental/plan-slice.test.ts
 * holds it equal to the whole plan.
 */
import {
  address,
  assignmentKeyString,
  DEFAULT_QUEUE,
  defaultQueueKeyString,
  WILDCARD,
} from '../model/common.js';
import type { ObjectKind } from '../model/common.js';
import type { DesiredState } from '../model/desired.js';
import type { LiveState } from '../model/live.js';
import type { Change, Plan, PlanWarning } from '../model/plan.js';
import { organisationParts, planAgainst, type PlanOptions } from '../plan/index.js';
import { summarizeChanges } from '../plan/forms.js';
import { compareChanges, KIND_ORDER } from '../plan/context.js';
import { pruneScope } from '../plan/prune-scope.js';
import { KeyTexts } from '../plan/fingerprint.js';
import { sameStrings } from '../util/same-json.js';

/** The lists of both states this slices, each item's address and relation groups. */
const LISTS = ['pools', 'clusters', 'queues', 'assignments', 'default_queues'] as const;
type ListName = (typeof LISTS)[number];

type Item = Record<string, unknown>;
type Groups = (item: Item, live: boolean) => string[];

const KIND: Record<ListName, ObjectKind> = {
  pools: 'ClusterPool',
  clusters: 'Cluster',
  queues: 'Queue',
  assignments: 'PoolAssignment',
  default_queues: 'DefaultQueue',
};

/** A relation group is named by the address of the object it is about (one that may not exist yet). */
const pool = (name: unknown) => address('ClusterPool', String(name));
const cluster = (name: unknown) => address('Cluster', String(name));
const queue = (name: unknown) => address('Queue', String(name));

/** The name of an item in its kind's changes. */
const NAME: Record<ListName, (i: Item) => string> = {
  pools: (i) => i['name'] as string,
  clusters: (i) => i['name'] as string,
  queues: (i) => i['name'] as string,
  assignments: (i) => assignmentKeyString(i as never),
  default_queues: (i) => defaultQueueKeyString(i as never),
};

/**
 * The relations (context.ts, the passes): a pool's decision reads every cluster, queue and
 * assignment in it (P5, A3); a cluster's, the queues naming it (C8, Q8) and its co-named queue
 * (C2, Q4); a queue's, its pool and the clusters it names; a setting's, its queue.
 */
const GROUPS: Record<ListName, Groups> = {
  pools: (p) => [pool(p['name'])],
  clusters: (c, live) => {
    const out = [pool(c['pool']), cluster(c['name']), queue(c['name'])];
    if (!live) for (const p of (c['pools'] as string[] | undefined) ?? []) out.push(pool(p));
    return out;
  },
  queues: (q, live) => {
    const spec = (live ? q : q['spec']) as { pool: string; clusters: readonly string[] };
    const out = [queue(q['name']), pool(spec.pool)];
    for (const c of spec.clusters) if (c !== WILDCARD) out.push(cluster(c));
    return out;
  },
  assignments: (a) => [pool(a['pool'])],
  default_queues: (s) => [queue(s['queue'])],
};

/** Fields of a state that are neither sliced nor compared: the commit is in the fingerprint. */
const FREE = new Set<string>(['commit']);
/** Slicing them is not modelled: present in either state, the whole organisation is planned. */
const UNMODELLED = new Set([
  'execution_clusters',
  'cluster_labels',
  'execution_cluster_labels',
  'deleted_queues',
  'deleted_pools',
  'deleted_clusters',
  'flyteadmin',
]);

/** An item of a state that differs from the last one's at its address. */
interface Differing {
  list: ListName;
  live: boolean;
  was: Item | undefined;
  now: Item | undefined;
}

/**
 * A state's sliced items by address and by relation group, kept up to date from one plan to the
 * next by its differing items only (a one-file commit does not index 10,000 objects again).
 */
class StateIndex {
  /** Each list's items by name (not by address: no string made per item and commit). */
  private readonly byName = Object.fromEntries(
    LISTS.map((name) => [name, new Map<string, Item>()]),
  ) as Record<ListName, Map<string, Item>>;
  readonly byGroup = new Map<string, string[]>();
  /**
   * Every list is sorted by key (no name twice) and every item frozen, as the constructor found
   * them; `differing` keeps both true of each next state (the items it passes by identity were
   * checked when they came in), or says why not.
   */
  readonly sorted: boolean = true;
  frozen = true;
  /** The inventory's addresses as a set, and the list they were read from (sliceOf). */
  private inventory: { list: readonly string[]; set: ReadonlySet<string> } | null = null;

  constructor(
    public state: DesiredState | LiveState,
    readonly live: boolean,
  ) {
    for (const name of LISTS) {
      const items = listOf(state, name);
      let last = '';
      for (let i = 0; i < items.length; i++) {
        const k = NAME[name](items[i]!);
        if (i > 0 && k <= last) this.sorted = false;
        if (changeable(items[i])) this.frozen = false;
        last = k;
        this.add(name, items[i]!);
      }
    }
  }

  get size(): number {
    let n = 0;
    for (const name of LISTS) n += this.byName[name].size;
    return n;
  }

  /**
   * The lists' items that differ in `now`, by address; a string saying why not when a list is
   * not sorted by key or (`frozen`) an item of `now` is changeable.
   */
  differing(
    now: DesiredState | LiveState,
    frozen: boolean,
    texts: KeyTexts,
  ): Map<string, Differing> | string {
    if (!this.sorted) return 'a list not sorted by key';
    const out = new Map<string, Differing>();
    for (const name of LISTS) {
      const a = listOf(this.state, name);
      const b = listOf(now, name);
      // The embedded state cache hands the same lists of an unchanged state (shared-lists).
      if (a === b) continue;
      const why = this.walk(name, a, b, out, frozen, texts);
      if (why !== null) return why;
    }
    return out;
  }

  /**
   * The two sorted lists side by side (no map of either); why not when `b` is not sorted or (when
   * `frozen`) has a changeable item. Runs of the same objects in both are passed by identity,
   * without their keys: `a` is sorted, so they are in `b` (issue 79: 10,000 keys a commit).
   */
  private walk(
    name: ListName,
    a: readonly Item[],
    b: readonly Item[],
    out: Map<string, Differing>,
    frozen: boolean,
    texts: KeyTexts,
  ): string | null {
    const key = NAME[name];
    const kind = KIND[name];
    let i = 0;
    let j = 0;
    let last: string | null = null;
    // The last item passed by identity, its key not made yet.
    let passed: Item | null = null;
    while (i < a.length || j < b.length) {
      if (i < a.length && a[i] === b[j]) {
        passed = a[i++]!;
        j++;
        continue;
      }
      if (passed !== null) last = key(passed);
      passed = null;
      const ka = i < a.length ? key(a[i]!) : null;
      const kb = j < b.length ? key(b[j]!) : null;
      const k = ka === null ? kb! : kb === null ? ka : ka < kb ? ka : kb;
      if (last !== null && k <= last) return 'a list not sorted by key';
      last = k;
      const was = ka === k ? a[i++] : undefined;
      const now = kb === k ? b[j++] : undefined;
      if (frozen && changeable(now)) return 'a live state of changeable objects';
      if (was === undefined || now === undefined || !sameInOrder(was, now))
        out.set(address(kind, k), { list: name, live: this.live, was, now });
      else {
        // An equal item of the next state takes the last one's place, and its key text.
        this.byName[name].set(k, now);
        texts.same(now, was);
      }
    }
    return null;
  }

  /** The index of `now`, given its items that differ from this state's. */
  advance(now: DesiredState | LiveState, differing: ReadonlyMap<string, Differing>): void {
    differing.forEach((d, at) => {
      if (d.was) this.remove(d.list, at, d.was);
      if (d.now) this.add(d.list, d.now);
    });
    this.state = now;
  }

  private add(name: ListName, item: Item): void {
    const at = address(KIND[name], NAME[name](item));
    this.byName[name].set(NAME[name](item), item);
    for (const g of GROUPS[name](item, this.live)) {
      const list = this.byGroup.get(g);
      if (list === undefined) this.byGroup.set(g, [at]);
      else if (!list.includes(at)) list.push(at);
    }
  }

  private remove(name: ListName, at: string, item: Item): void {
    this.byName[name].delete(NAME[name](item));
    for (const g of GROUPS[name](item, this.live)) {
      const list = this.byGroup.get(g)?.filter((x) => x !== at);
      if (list?.length) this.byGroup.set(g, list);
      else this.byGroup.delete(g);
    }
  }

  /** The relation groups of the item at `at`, or none. */
  groupsOf(at: string): string[] {
    const found = this.at(at);
    return found ? GROUPS[found.list](found.item, this.live) : [];
  }

  /** The item at an address, and its list; undefined when none. */
  at(at: string): { list: ListName; item: Item } | undefined {
    const slash = at.indexOf('/');
    const list = LIST_OF_KIND[at.slice(0, slash)];
    const item = list && this.byName[list].get(at.slice(slash + 1));
    return item ? { list, item } : undefined;
  }

  /**
   * The state with only the sliced lists' items in `slice`, sorted as they are (each list is by
   * key), and of its inventory only the addresses in `slice`: the planner asks the inventory
   * only whether it holds the object it decides (prune-scope.ts, prunes), and whether there is
   * one. The slice's items are looked up, not the lists filtered: 10,000 objects a commit.
   */
  sliceOf<S extends DesiredState | LiveState>(slice: ReadonlySet<string>): S {
    const state = this.state as unknown as Record<string, unknown>;
    const out: Record<string, unknown> = { ...state };
    const picked = Object.fromEntries(LISTS.map((name) => [name, [] as Item[]])) as Record<
      ListName,
      Item[]
    >;
    for (const at of slice) {
      const found = this.at(at);
      if (found) picked[found.list].push(found.item);
    }
    for (const name of LISTS) {
      if (!state[name]) continue;
      const key = NAME[name];
      out[name] = picked[name]
        .map((item) => ({ k: key(item), item }))
        .sort((x, y) => compareStrings(x.k, y.k))
        .map((x) => x.item);
    }
    const inventory = state['inventory'] as readonly string[] | null | undefined;
    if (inventory) {
      // Read again at every run, nearly always the same addresses: its set made once.
      const kept = this.inventory;
      const set =
        kept && (kept.list === inventory || sameStrings(kept.list, inventory))
          ? kept.set
          : new Set(inventory);
      this.inventory = { list: inventory, set };
      out['inventory'] = [...slice].filter((at) => set.has(at)).sort(compareStrings);
    }
    return out as unknown as S;
  }
}

const LIST_OF_KIND: Record<string, ListName> = Object.fromEntries(
  LISTS.map((name) => [KIND[name], name]),
);

/** An object that could change in place (not frozen). */
export const changeable = (e: unknown): boolean =>
  typeof e === 'object' && e !== null && !Object.isFrozen(e);

/**
 * Every object of the state's lists is frozen (the embedded control plane's shared views; the
 * daemon's loaded desired state): none can have changed in place since it was read.
 */
export function allFrozen(state: object): boolean {
  return Object.values(state).every((v) => !Array.isArray(v) || !v.some(changeable));
}

function listOf(state: DesiredState | LiveState, name: ListName): readonly Item[] {
  return (state as unknown as Record<string, Item[] | undefined>)[name] ?? [];
}

/** JSON equality, key order included (it is in the plan's JSON: contracts, annotations). */
function sameInOrder(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  // Most fields are equal strings or numbers: compared without a call.
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i] && !sameInOrder(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  for (let i = 0; i < ka.length; i++) {
    const k = ka[i]!;
    if (k !== kb[i]) return false;
    const x = (a as Record<string, unknown>)[k];
    const y = (b as Record<string, unknown>)[k];
    if (x !== y && !sameInOrder(x, y)) return false;
  }
  return true;
}

interface Last {
  desired: StateIndex;
  live: StateIndex;
  key: PlanKey;
  plan: Plan;
  /** The addresses `plan` acts on: its changes but noop and unmanaged ones, its steps' targets. */
  acted: readonly string[];
}

/** What a plan acts on (its causes included): the next slice starts from them. */
function actedOn(plan: Pick<Plan, 'changes' | 'steps'>): string[] {
  const out: string[] = [];
  plan.changes.forEach((c) => {
    if ((c.action !== 'noop' && c.action !== 'unmanaged') || c.caused_by) out.push(c.address);
  });
  plan.steps.forEach((s) => out.push(s.target));
  return out;
}

/**
 * The options as JSON but the commit (a new one at every run: the slice's plan and the desired
 * fingerprint take it; plan-reuse.ts compares it apart), the backend's data and its `manualStep`.
 */
export interface PlanKey {
  options: string;
  backend: string;
  manualStep: unknown;
}

export function keyOf(opts: PlanOptions): PlanKey {
  const shaping: PlanOptions = { ...opts };
  delete shaping.commit;
  delete shaping.backend;
  const { manualStep, ...data } = opts.backend ?? {};
  return { options: JSON.stringify(shaping), backend: JSON.stringify(data), manualStep };
}

export const sameKey = (a: PlanKey, b: PlanKey) =>
  a.options === b.options && a.backend === b.backend && a.manualStep === b.manualStep;

export interface SliceOptions {
  /** Above this share of the organisation's objects, the whole is planned (cheaper then). */
  maxShare?: number;
}

/** A daemon unit's planAgainst over the slice a change touches (one per PlanReuse). */
export class PlanSlicer {
  /** `lastWhy`: 'sliced', or why the last plan was whole; `lastSlice`: the addresses it planned. */
  readonly stats = { sliced: 0, whole: 0, lastWhy: '', lastSlice: 0 };
  private last: Last | null = null;
  private readonly maxShare: number;
  /** Each frozen object's fingerprint key text: a commit makes only the changed objects' keys. */
  private readonly keyTexts = new KeyTexts();

  constructor(opts: SliceOptions = {}) {
    this.maxShare = opts.maxShare ?? 0.25;
  }

  plan(desired: DesiredState, live: LiveState, opts: PlanOptions): Plan {
    const key = keyOf(opts);
    const moved = this.advance(desired, live);
    if (moved === null) return this.unsliceable(desired, live, opts);
    const sliced = moved.why ?? this.sliced(moved, opts, key);
    const whole = typeof sliced === 'string';
    this.stats.lastWhy = whole ? sliced : 'sliced';
    this.stats[whole ? 'whole' : 'sliced']++;
    const plan = whole ? planAgainst(desired, live, opts) : sliced.plan;
    const acted = whole ? actedOn(plan) : sliced.acted;
    this.last = { desired: moved.d, live: moved.l, key, plan, acted };
    // The fingerprint texts of what is kept, made now: the next commit's slice hashes them, not
    // every key (the first commit after a start took ~2x the next ones). The same digests.
    if (whole)
      organisationParts(desired, live, opts, {
        keyTexts: this.keyTexts,
        inventory: plan.inventory,
      });
    return plan;
  }

  /** Whether `live` is the state of the last plan kept (so frozen, as checked). */
  holds(live: LiveState): boolean {
    return this.last?.live.state === live;
  }

  /** The plan of a memo hit is the plan of these inputs too: the next change is taken from them. */
  remember(desired: DesiredState, live: LiveState, opts: PlanOptions, plan: Plan): void {
    const key = keyOf(opts);
    const last = this.last;
    // The last plan's inputs, the live state equal (a memo hit): still the last plan's.
    if (last?.desired.state === desired && sameKey(last.key, key)) return;
    const moved = this.advance(desired, live);
    this.last = moved && { desired: moved.d, live: moved.l, key, plan, acted: actedOn(plan) };
  }

  /**
   * A live state of changeable objects (read over HTTP: Union, flyteadmin) could change in place
   * after it is planned; comparing it with the next one needs its copy or JSON kept, ~10 MB at
   * 10,000 objects (issue 79's memory budget): planned whole, nothing kept.
   */
  private unsliceable(desired: DesiredState, live: LiveState, opts: PlanOptions): Plan {
    this.last = null;
    this.stats.whole++;
    this.stats.lastWhy = 'a live state of changeable objects';
    return planAgainst(desired, live, opts);
  }

  /**
   * The indexes moved on to these states, and what differs from the last plan's; null when the
   * live state has a changeable object (its lists' items checked as they come in: those passed
   * by identity were checked with the state they came in with).
   */
  private advance(desired: DesiredState, live: LiveState) {
    const last = this.last;
    // The states the last plan was made from (the indexes move on to the new ones).
    const was = last && { desired: last.desired.state, live: last.live.state };
    this.last = null;
    if (!otherArraysFrozen(live)) return null;
    const step = (ix: StateIndex | undefined, now: DesiredState | LiveState, isLive: boolean) => {
      if (ix?.state === now) return { ix, differing: new Map<string, Differing>() };
      const differing = ix?.differing(now, isLive, this.keyTexts) ?? 'no last plan';
      if (typeof differing !== 'string') {
        ix!.advance(now, differing);
        return { ix: ix!, differing };
      }
      const fresh = new StateIndex(now, isLive);
      return { ix: fresh, differing, changeable: isLive && !fresh.frozen };
    };
    const dd = step(last?.desired, desired, false);
    const ll = step(last?.live, live, true);
    if (ll.differing === 'a live state of changeable objects' || ll.changeable) return null;
    const why =
      typeof dd.differing === 'string'
        ? dd.differing
        : typeof ll.differing === 'string'
          ? ll.differing
          : null;
    return {
      d: dd.ix,
      l: ll.ix,
      last,
      was,
      why,
      differing: [
        ...(typeof dd.differing === 'string' ? [] : dd.differing.entries()),
        ...(typeof ll.differing === 'string' ? [] : ll.differing.entries()),
      ],
    };
  }

  /** The plan of the slice spliced into the last plan (and what it acts on), or why the whole is planned. */
  private sliced(
    moved: NonNullable<ReturnType<PlanSlicer['advance']>>,
    opts: PlanOptions,
    key: PlanKey,
  ): { plan: Plan; acted: string[] } | string {
    const { d, l } = moved;
    const last = moved.last!;
    if (!sameKey(last.key, key)) return 'options or backend changed';
    if (opts.targets?.length || opts.replace?.length || opts.acceptCascade?.length)
      return 'targets, replace or accept-cascade';
    // Union v2's blocked assignments name the setting of their key: a relation not modelled.
    if (Object.keys(opts.backend?.replacedKinds ?? {}).length > 0) return 'a kind replaced';
    if (last.plan.errors.length > 0) return 'the last plan had errors';
    const seeds = new Set<string>();
    const was = moved.was!;
    const prunes = pruneScope((d.state as DesiredState).config) !== undefined;
    const record = { record: false };
    const other =
      otherFields(was.desired, d.state, seeds, prunes, record) ??
      otherFields(was.live, l.state, seeds, prunes, record);
    if (other !== null) return other;
    // An equal live state has the last plan's live fingerprint (plan/fingerprint.ts: live only);
    // the same objects, inventory and marks, its inventory (plan/inventory.ts planInventory).
    const liveSame = !record.record && moved.differing.every(([, x]) => !x.live);
    const inventoryKnown =
      !record.record &&
      moved.differing.every(
        ([, x]) =>
          x.was !== undefined &&
          x.now !== undefined &&
          (x.live || sameInOrder(x.was['annotations'], x.now['annotations'])),
      );
    // The groups an item was in before it changed (the index now has the new ones).
    const before = new Map<string, string[]>();
    for (const [at, x] of moved.differing) {
      seeds.add(at);
      if (x.was) before.set(at, [...(before.get(at) ?? []), ...GROUPS[x.list](x.was, x.live)]);
    }
    // What the last plan acted on: every other change of it is a noop or unmanaged one, so the
    // budget, confirm-destroy and steps are the slice's, and its changes outside are kept.
    for (const at of last.acted) seeds.add(at);
    // Any registration creates the `default` queue (C3): its decision names the first.
    for (const s of seeds) if (s.startsWith('Cluster/')) seeds.add(address('Queue', DEFAULT_QUEUE));
    const slice = closure(seeds, before, [d, l]);
    const total = Math.max(d.size, l.size, 1);
    this.stats.lastSlice = slice.size;
    if (slice.size > this.maxShare * total) return `slice of ${slice.size} of ${total}`;
    const part = planAgainst(d.sliceOf(slice), l.sliceOf(slice), opts);
    if (part.errors.length > 0) return 'the slice has errors';
    const outside = (a: string | null) => a === null || !slice.has(a);
    const beyond =
      part.changes.find((c) => outside(c.address))?.address ??
      part.steps.find((s) => outside(s.target))?.target ??
      part.warnings.find((w) => outside(w.address))?.address;
    if (beyond !== undefined) return `the slice planned ${beyond}, outside itself`;
    const changes = merged(withoutSlice(last.plan.changes, slice), part.changes, compareChanges);
    const warnings = merged(
      last.plan.warnings.filter((w) => !slice.has(w.address)),
      part.warnings,
      compareWarnings,
    );
    const whole = organisationParts(d.state as DesiredState, l.state as LiveState, opts, {
      keyTexts: this.keyTexts,
      ...(liveSame ? { live_fingerprint: last.plan.live_fingerprint } : {}),
      ...(inventoryKnown ? { inventory: last.plan.inventory } : {}),
    });
    const plan = {
      ...part,
      desired_fingerprint: whole.desired_fingerprint,
      live_fingerprint: whole.live_fingerprint,
      summary: summarizeChanges(changes),
      changes,
      warnings,
      ...('inventory' in part ? { inventory: whole.inventory } : {}),
    };
    // The changes kept are noop and unmanaged ones: what the plan acts on is the slice's.
    return { plan, acted: actedOn(part) };
  }
}

/** Every object in the live state's other lists is frozen (the sliced lists: StateIndex). */
function otherArraysFrozen(live: LiveState): boolean {
  for (const [key, value] of Object.entries(live))
    if (
      Array.isArray(value) &&
      !(LISTS as readonly string[]).includes(key) &&
      value.some(changeable)
    )
      return false;
  return true;
}

/**
 * `changes` (sorted by kind, then name) without those at an address of `slice`, each found by
 * binary search: the slice's few, not 10,000 look-ups a commit.
 */
function withoutSlice(changes: readonly Change[], slice: ReadonlySet<string>): Change[] {
  const drop: number[] = [];
  for (const at of slice) {
    const slash = at.indexOf('/');
    const probe = { kind: at.slice(0, slash), name: at.slice(slash + 1) } as Change;
    if (KIND_ORDER[probe.kind] === undefined) continue;
    const i = after(changes, probe, compareChanges) - 1;
    if (i >= 0 && changes[i]!.address === at) drop.push(i);
  }
  drop.sort((x, y) => x - y);
  const out: Change[] = [];
  let from = 0;
  for (const i of drop) {
    for (let k = from; k < i; k++) out.push(changes[k]!);
    from = i + 1;
  }
  for (let k = from; k < changes.length; k++) out.push(changes[k]!);
  return out;
}

/**
 * Fields of a live state that list addresses the planner asks only about the object it decides:
 * the inventory whether prune may delete it (prune-scope.ts, prunes), the recorded marks whether
 * a destroy of it is refused or held (guardrails.ts).
 */
const ADDRESSES = new Set(['inventory', 'prevent_destroy', 'confirm_destroy']);

/**
 * Null when every field but the sliced lists is equal, else why the whole organisation is
 * planned. A list of ADDRESSES that changed sets `record.record`; under prune, the inventory's
 * addresses in one list and not the other join the seeds, and an inventory coming or going (read
 * or not, recorded or not) changes the prune scope: the whole. A mark changes no decision, only
 * the errors and holds of destroys, which are all in the slice (a destroy is never a change kept).
 */
function otherFields(
  a: object,
  b: object,
  seeds: Set<string>,
  prunes: boolean,
  record: { record: boolean },
): string | null {
  const ra = a as Record<string, unknown>;
  const rb = b as Record<string, unknown>;
  for (const key of new Set([...Object.keys(ra), ...Object.keys(rb)])) {
    if ((LISTS as readonly string[]).includes(key) || FREE.has(key)) continue;
    const x = ra[key];
    const y = rb[key];
    if (UNMODELLED.has(key)) {
      if (present(x) || present(y)) return `${key} present`;
      continue;
    }
    if (x === y) continue;
    // Whose each address is: read again at every run, nearly always the same (prune-scope.ts).
    if (key === 'inventory_owners' && sameOwners(x, y)) continue;
    if (ADDRESSES.has(key)) {
      // Read again at every run: nearly always the same addresses in the same order.
      if (Array.isArray(x) && Array.isArray(y) && sameStrings(x as string[], y as string[]))
        continue;
      // A mark list is written only when it has an address (withInventory): none is empty.
      if (key !== 'inventory' && !present(x) && !present(y)) continue;
      record.record = true;
      if (key !== 'inventory' || !prunes) continue;
      if (!Array.isArray(x) || !Array.isArray(y)) return 'inventory changed';
      const was = new Set<string>(x as string[]);
      const now = new Set<string>(y as string[]);
      for (const s of was) if (!now.has(s)) seeds.add(s);
      for (const s of now) if (!was.has(s)) seeds.add(s);
      continue;
    }
    if (JSON.stringify(x) !== JSON.stringify(y)) return `${key} changed`;
  }
  return null;
}

function sameOwners(x: unknown, y: unknown): boolean {
  const a = Object.entries((x ?? {}) as Record<string, string[]>);
  const b = (y ?? {}) as Record<string, string[] | undefined>;
  return a.length === Object.keys(b).length && a.every(([k, l]) => b[k] && sameStrings(l, b[k]));
}

const present = (v: unknown) =>
  v !== undefined && v !== null && (!Array.isArray(v) || v.length > 0);

/**
 * Every address connected to a seed by a relation group, in the new states or (`before`: the
 * groups the differing items left) the old: an item that did not differ has the same groups.
 */
function closure(
  seeds: ReadonlySet<string>,
  before: ReadonlyMap<string, readonly string[]>,
  states: readonly StateIndex[],
): Set<string> {
  const slice = new Set(seeds);
  const groups = new Set<string>();
  const todo = [...seeds];
  const visit = (g: string) => {
    if (groups.has(g)) return;
    groups.add(g);
    // The object the group is named after, though neither state has it (a co-named queue
    // a registration creates, C2).
    if (!slice.has(g)) {
      slice.add(g);
      todo.push(g);
    }
    for (const s of states)
      for (const other of s.byGroup.get(g) ?? [])
        if (!slice.has(other)) {
          slice.add(other);
          todo.push(other);
        }
  };
  while (todo.length > 0) {
    const at = todo.pop()!;
    for (const s of states) s.groupsOf(at).forEach(visit);
    before.get(at)?.forEach(visit);
  }
  return slice;
}

const compareStrings = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** The index of the first of sorted `a` (from `lo`) after `item` in `order`: by bisection. */
function after<T>(a: readonly T[], item: T, order: (x: T, y: T) => number, lo = 0): number {
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (order(a[mid]!, item) <= 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** computePlan's order of warnings: by address, then code. */
function compareWarnings(a: PlanWarning, b: PlanWarning): number {
  return compareStrings(a.address, b.address) || compareStrings(a.code, b.code);
}

/**
 * Two lists sorted by `order`, as one (ties: `a`'s first; they never share an address). `b` is
 * the slice's, a few items: each is placed by binary search, `a` copied between them, not compared
 * item by item (10,000 kept changes a commit).
 */
function merged<T>(a: readonly T[], b: readonly T[], order: (x: T, y: T) => number): T[] {
  const out: T[] = [];
  let from = 0;
  for (const item of b) {
    // The first of `a` after `item` (ties stay before it).
    const lo = after(a, item, order, from);
    for (let i = from; i < lo; i++) out.push(a[i]!);
    out.push(item);
    from = lo;
  }
  for (let i = from; i < a.length; i++) out.push(a[i]!);
  return out;
}
