/**
 * Where the inventory lives, and how an apply records it (docs/plan.md, Prune by inventory).
 * One per control plane: its own when it can hold one (`ControlPlane.inventory`); else a
 * Kubernetes ConfigMap when one is set, else a file keyed by the control plane's identity in the
 * user's state folder or `--state-dir`, never the working folder by default (in CI the pull
 * request's checkout: docs/security.md, "Files poolsync keeps"). One kept outside its control
 * plane is bound to the one it was recorded for: another's (copied, or planted) is refused,
 * never used to decide what prune deletes.
 */
import { createHash } from 'node:crypto';
import type { KubeConfig } from '@kubernetes/client-node';
import { lstat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import {
  controlPlaneIdentity,
  describeControlPlane,
  sameControlPlane,
  type ControlPlaneIdentity,
} from '../controlplane/identity.js';
import { ERROR_STATUS } from '../controlplane/errors.js';
import { InventoryFile } from '../controlplane/inventory-file.js';
import {
  readLiveState,
  readSettingsAgain,
  type ControlPlane,
  type InventoryCalls,
  type LiveLists,
} from '../controlplane/types.js';
import {
  budgetFields,
  INVENTORY_FORMAT,
  isPendingIn,
  protectionFields,
  recordedAddresses,
  unknownFields,
  type DeleteIdentity,
  type InventoryRecord,
  type Pending,
} from '../model/inventory.js';
import type { LiveState, MadeAgain, SettingsNeed } from '../model/live.js';
import { isTargeted, type Plan } from '../model/plan.js';
import {
  deleteIdentities,
  madeAgain,
  nextBudgets,
  nextClusterWaits,
  nextInventory,
  nextProtection,
} from '../plan/inventory.js';
import type { ApplyResult } from './types.js';
import {
  appliersOf,
  formHash,
  nextAppliers,
  sameApplier,
  type ApplierSource,
} from '../model/appliers.js';
import { isNotTheShownOne } from './steps.js';
import { DEFAULT_STATE_DIR } from './lock.js';
import { lastAppliedPathFor, unfinishedApplyStartedAt } from './last-applied.js';
import type { K8sPlace } from '../util/k8s-place.js';
import { userStateDir } from '../util/user-cache.js';
import { UserError } from '../util/user-error.js';
import type { Env } from '../util/env.js';
import {
  DEFAULT_LIMITS,
  type TransportLimits,
  type WaitListener,
} from '../util/transport-limits.js';
import { ascending, sortedHas, sortedUnion } from '../util/sorted.js';
import { sameJson } from '../util/same-json.js';

export interface InventoryStore {
  /** For messages: a file, or the control plane's API. */
  readonly where: string;
  /** A file of this machine's (Union, flyteadmin without a ConfigMap): applies elsewhere are not in it. */
  readonly local?: boolean;
  read(): Promise<InventoryRecord | null>;
  write(record: InventoryRecord): Promise<void>;
  readonly controlPlane: InventoryRecord['control_plane'];
  /** When this machine's apply that never completed began (its mark), null: none (settled). */
  began?: () => Promise<string | null>;
}

export interface SharedInventory {
  place: K8sPlace;
  /** Default: the in-cluster service account, else KUBECONFIG (loaded when first used). */
  kubeConfig?: KubeConfig;
}

export function inventoryStore(
  cp: ControlPlane,
  url: string,
  at: {
    stateDir?: string;
    shared?: SharedInventory | null;
    env: Env;
    /** The daemon's term, carried by the ConfigMap's calls (the control plane's carry it already). */
    signal?: AbortSignal;
    /** The ConfigMap's calls' (--connect-timeout, …); default as the control plane's. */
    limits?: TransportLimits | undefined;
    /** The command's waiting notice, told of a ConfigMap call waiting long. */
    onWait?: WaitListener | undefined;
  },
): InventoryStore {
  const { stateDir = DEFAULT_STATE_DIR, shared = null } = at;
  const id = controlPlaneIdentity(url, cp);
  const part = cp.inventory;
  const began = () => unfinishedApplyStartedAt(lastAppliedPathFor(url, stateDir));
  if (part)
    return {
      began,
      // Said as "the inventory (WHERE)": the file, or the REST API's resource.
      where: id.endpoint.startsWith('file:')
        ? `${id.endpoint.slice('file:'.length)}.inventory.json`
        : `${id.endpoint}/v1/inventory`,
      read: () => part.readInventory(),
      write: (record) => part.writeInventory(record),
      controlPlane: id,
    };
  const key = createHash('sha256')
    .update(JSON.stringify([id.backend, id.endpoint, id.organization]))
    .digest('hex');
  const given = resolve(stateDir) !== resolve(DEFAULT_STATE_DIR);
  const root = given ? resolve(stateDir) : (userStateDir('', at.env) ?? resolve(stateDir));
  const path = join(root, 'inventory', `${key}.json`);
  const file = new InventoryFile(() => ({ root, path }));
  const read = async () =>
    (await file.readInventory()) ?? (given ? null : await refuseOldPlace(stateDir, path, key));
  if (shared)
    return { ...configMapStore(shared, at, `${key}.json`, bound(read, path, id), id), began };
  return {
    began,
    where: path,
    local: true,
    read: bound(read, path, id),
    write: (record) => file.writeInventory(record),
    controlPlane: id,
  };
}

/** `read`, refusing an inventory recorded for another control plane. */
function bound(
  read: () => Promise<InventoryRecord | null>,
  where: string,
  id: ControlPlaneIdentity,
): () => Promise<InventoryRecord | null> {
  return async () => {
    const record = await read();
    if (record === null || (record.control_plane && sameControlPlane(record.control_plane, id)))
      return record;
    const other = record.control_plane
      ? describeControlPlane(record.control_plane)
      : 'no control plane';
    throw new UserError(
      `the inventory in ${where} names ${other}, not ${describeControlPlane(id)}: poolsync uses an inventory only for the control plane it was recorded for (a copied or planted one would choose what prune deletes). Nothing was planned or applied. If this control plane was moved or renamed, set its control_plane.endpoint in the inventory to ${id.endpoint}; otherwise remove the inventory: prune then deletes nothing poolsync did not apply until the next apply records it again (docs/plan.md, Prune by inventory)`,
    );
  };
}

/**
 * The old default place, `.poolsync/inventory/`, is never read (in CI, the pull request's
 * checkout); one found there is an error: without it prune would silently stop deleting.
 */
async function refuseOldPlace(stateDir: string, path: string, key: string): Promise<null> {
  const old = join(resolve(stateDir), 'inventory', `${key}.json`);
  if (old === path || !(await lstat(old).catch(() => null))) return null;
  throw new UserError(
    `found an inventory at ${old}, where poolsync kept it before: it is no longer read from the working folder, which in CI is the checkout of the pull request being judged. If poolsync wrote it on this machine, move it to its new place (mkdir -p ${dirname(path)} && mv ${old} ${path}); if not, delete it. Nothing was planned or applied (docs/security.md, "Files poolsync keeps")`,
  );
}

/** src/lease/k8s-lease.ts is loaded only when used. */
function configMapStore(
  shared: SharedInventory,
  {
    env,
    signal,
    limits,
    onWait,
  }: {
    env: Env;
    signal?: AbortSignal;
    limits?: TransportLimits | undefined;
    onWait?: WaitListener | undefined;
  },
  key: string,
  before: () => Promise<InventoryRecord | null>,
  id: ControlPlaneIdentity,
): InventoryStore {
  let made: Promise<InventoryCalls> | null = null;
  const store = () =>
    (made ??= (async () => {
      const { ConfigMapInventory, loadKubeConfig } = await import('../lease/k8s-lease.js');
      const kc = shared.kubeConfig ?? loadKubeConfig(env, limits ?? DEFAULT_LIMITS, onWait);
      return new ConfigMapInventory(kc, shared.place, key, before, undefined, signal);
    })());
  const where = `ConfigMap ${shared.place.namespace}/${shared.place.name}`;
  return {
    where,
    read: bound(async () => (await store()).readInventory(), where, id),
    write: async (record) => (await store()).writeInventory(record),
    controlPlane: id,
  };
}

/**
 * The live state with the inventory (null: none recorded), read first when the settings to read
 * depend on it (`need`). `before`: a state read already, whose settings only are read again.
 */
export async function readLiveWithInventory(
  cp: ControlPlane,
  store: InventoryStore,
  need?: SettingsNeed,
  shared?: () => Promise<LiveLists | null>,
  before?: LiveState,
): Promise<LiveState> {
  if (before) return readSettingsAgain(cp, before, need?.(before.inventory) ?? 'all');
  if (need === undefined || cp.defaultQueues?.settingsByKey !== true) {
    const [live, record] = await Promise.all([readLiveState(cp, 'all', shared), store.read()]);
    const { kept, again } = await settledIn(store, record, live);
    return withInventory(live, kept, again);
  }
  const record = await store.read();
  // The settings to read follow the inventory as settled without the live state: a superset.
  const early = (await settledIn(store, record)).kept;
  const live = await readLiveState(cp, need(early?.addresses ?? null), shared);
  const { kept, again } = await settledIn(store, record, live);
  return withInventory(live, kept, again);
}

/** The inventory as plans read it: without what an apply that never completed left pending. */
export async function readSettled(
  store: InventoryStore,
  live?: LiveState,
): Promise<InventoryRecord | null> {
  return (await settledIn(store, await store.read(), live)).kept;
}

const NONE_AGAIN: ReadonlyMap<string, MadeAgain> = new Map();

async function settledIn(store: InventoryStore, record: InventoryRecord | null, live?: LiveState) {
  return record?.pending
    ? settled(record, (await store.began?.()) ?? null, live)
    : { kept: record, again: NONE_AGAIN };
}

/**
 * `record` without its pending addresses when `began` is the mark of the apply that wrote them
 * ahead (it never completed: none is poolsync's until a plan adopts it), nor those it set out to
 * delete that `live` shows made again (`again`: never poolsync's); else `record` itself.
 */
function settled(
  record: InventoryRecord,
  began: string | null,
  live: LiveState | undefined,
): { kept: InventoryRecord; again: ReadonlyMap<string, MadeAgain> } {
  if (record.pending === undefined || record.pending.started_at !== began)
    return { kept: record, again: NONE_AGAIN };
  const { pending, ...rest } = record;
  const isPending = isPendingIn(pending);
  const again = live && pending.deletes ? madeAgain(live, pending.deletes) : NONE_AGAIN;
  const stays = (a: string) => !isPending(a) && !again.has(a);
  const lists = Object.entries(rest.repositories ?? {})
    .map(([r, l]) => [r, l.filter(stays)] as const)
    .filter(([, l]) => l.length > 0);
  const { repositories: _, ...others } = rest;
  const kept = {
    ...others,
    addresses: rest.addresses.filter(stays),
    ...(lists.length > 0 ? { repositories: Object.fromEntries(lists) } : {}),
  };
  return { kept, again };
}

export function withInventory(
  live: LiveState,
  record: InventoryRecord | null,
  again: ReadonlyMap<string, MadeAgain> = NONE_AGAIN,
): LiveState {
  const lists = Object.entries(record?.repositories ?? {});
  return {
    ...live,
    ...(again.size > 0 ? { made_again: Object.fromEntries(again) } : {}),
    inventory: record ? Object.freeze([...recordedAddresses(record)]) : null,
    // Read from a store: who applied each address, none in an earlier build's record.
    ...(record
      ? { inventory_owners: Object.fromEntries(lists.map(([r, l]) => [r, Object.freeze([...l])])) }
      : {}),
    ...(record?.forgotten?.length ? { forgotten: Object.freeze([...record.forgotten]) } : {}),
    ...(record?.prevent_destroy?.length
      ? { prevent_destroy: Object.freeze([...record.prevent_destroy]) }
      : {}),
    ...(record?.confirm_destroy?.length
      ? { confirm_destroy: Object.freeze([...record.confirm_destroy]) }
      : {}),
    ...budgetFields(record),
    ...(record?.cluster_waits ? { cluster_waits: record.cluster_waits } : {}),
    ...(record && 'appliers' in record ? { appliers: appliersOf(record) } : {}),
  };
}

/** The addresses an apply deleted (its delete steps done, or the side effects of done steps). */
export function deletedBy(plan: Plan, result: Pick<ApplyResult, 'applied'>): Set<string> {
  // A plan without deletes deleted nothing: its `applied` (100,000 at 100k creates) not made.
  if (!plan.changes.some((c) => c.action === 'delete')) return new Set();
  return new Set(result.applied.filter((a) => a.action === 'delete').map((a) => a.address));
}

/**
 * The addresses whose create found an object another client made, or whose delete (or the drain
 * or disable before it) found another client's made again under its name (CONFLICT): not
 * recorded, or no longer.
 */
export function notOursBy(result: Pick<ApplyResult, 'ok' | 'steps'>): Set<string> {
  if (result.ok) return new Set();
  const creates = new Set(['create_pool', 'register_cluster', 'create_queue']);
  return new Set(
    result.steps
      .filter(
        (s) => (creates.has(s.op) && s.error?.code === 'CONFLICT') || isNotTheShownOne(s.error),
      )
      .map((s) => s.target),
  );
}

/**
 * Declared addresses that do not exist and that this apply did not make (docs/apply.md, What apply
 * records): a blocked create, always; a `--target` plan's declared address no change shows (a
 * create its targets left out, or one the inventory holds, which stays); once the apply did not
 * finish (`result` not ok), a create none of whose steps landed or may have (not run, or refused
 * with nothing made). `result` null: no step ran yet.
 */
export function notMadeBy(
  plan: Plan,
  result: Pick<ApplyResult, 'ok' | 'steps'> | null,
): Set<string> {
  const out = new Set<string>();
  // A targeted plan declares what it adopts only where a change shows it (plan/target.ts
  // adoptingShown): an unshown declared address is recorded already, or does not exist.
  if (plan.inventory && isTargeted(plan)) {
    const shown = new Set(plan.changes.map((c) => c.address));
    for (const a of plan.inventory.declared) if (!shown.has(a)) out.add(a);
  }
  const unfinished = result !== null && !result.ok;
  const stepsOf = unfinished ? stepsByTarget(plan, result) : null;
  for (const c of plan.changes) {
    // A blocked co-named queue is made by its cluster's registration (caused_by), with defaults.
    if (c.action === 'blocked' && c.before === null && !c.caused_by) out.add(c.address);
    else if (c.action === 'create' && stepsOf) {
      const steps = [c.address, c.caused_by].flatMap((t) => (t ? (stepsOf.get(t) ?? []) : []));
      if (steps.length > 0 && !steps.some(mayHaveMade)) out.add(c.address);
    }
  }
  return out;
}

function stepsByTarget(plan: Plan, result: Pick<ApplyResult, 'steps'>) {
  const out = new Map<string, ApplyResult['steps']>();
  const byId = new Map(result.steps.map((s) => [s.id, s]));
  for (const step of plan.steps) {
    const ran = byId.get(step.id);
    if (ran) out.set(step.target, [...(out.get(step.target) ?? []), ran]);
  }
  return out;
}

/**
 * Done, left for a person (the plan's runbook), or failed with an unknown outcome (a timeout, a
 * lost response, a 5xx): only a step not run, or refused (a 4xx-class code), made nothing.
 */
function mayHaveMade(step: ApplyResult['steps'][number]): boolean {
  if (step.status === 'not_run') return false;
  if (step.status !== 'failed') return true;
  const code = step.error?.code ?? 'INTERNAL';
  const status = (ERROR_STATUS as Record<string, number | undefined>)[code];
  return code !== 'CONFLICT' && (status === undefined || status >= 500);
}

/**
 * After an apply (also one with nothing to do): its repository's new addresses, or null if the
 * inventory is unchanged. Only that repository's entries change (docs/plan.md, Prune scope); what
 * it declares that was recorded without a repository becomes its own (adopted), and what another
 * repository applied stays that one's (the plan leaves it to that one: REPOSITORY_CONFLICT).
 */
export async function recordInventory(
  store: InventoryStore,
  plan: Plan,
  deleted: ReadonlySet<string>,
): Promise<string[] | null> {
  return (await changeInventory(store, plan, deleted))?.addresses ?? null;
}

/** What one record changed: the inventory before it (null: none) and as written. */
export interface InventoryChange {
  before: InventoryRecord | null;
  written: InventoryRecord;
  /** The repository's addresses as recorded. */
  addresses: string[];
}

/** recordInventory, saying what it changed (null: nothing written). */
export async function changeInventory(
  store: InventoryStore,
  plan: Plan,
  deleted: ReadonlySet<string>,
  notOurs: ReadonlySet<string> = new Set(),
  /**
   * After the steps: notMadeBy's, with the inventory before the apply's write-ahead (undefined:
   * none was written), and whether the apply failed (its record then settles what was pending).
   */
  notMade?: {
    addresses: ReadonlySet<string>;
    before?: InventoryRecord | null | undefined;
    failed?: boolean;
  },
  /**
   * Ahead of the first step: its apply-started mark's time, under which its creates and deletes
   * are pending; and the live state its plan read, which settles an earlier apply's deletes.
   */
  ahead: { startedAt?: string | undefined; live?: LiveState | null } = {},
  /** Where the apply runs, and the objects it updated or replaced (wroteBy; ahead of the steps: none). */
  applied?: { by: ApplierSource; wrote: Record<string, string> },
): Promise<InventoryChange | null> {
  if (!plan.inventory) return null;
  const { startedAt, live } = ahead;
  // Before the steps, as its plan read it: what an apply that never completed left pending is
  // not poolsync's (the plan adopted what exists and is declared); after, this apply's own.
  const read = await store.read();
  const current =
    notMade === undefined ? (await settledIn(store, read, live ?? undefined)).kept : read;
  // What the inventory held before this apply stays: only what the apply itself added is taken out.
  const drop = notMade?.addresses ?? notMadeBy(plan, null);
  const before = notMade?.before === undefined ? current : notMade.before;
  const held = drop.size > 0 ? new Set(before ? recordedAddresses(before) : []) : null;
  const unrecorded = held
    ? new Set([...notOurs, ...[...drop].filter((a) => !held.has(a))])
    : notOurs;
  // A plan of an earlier build names no repository: recorded as that build did, without one.
  const repository = plan.inventory.repository ?? null;
  const lists = { ...current?.repositories };
  // Recorded under its folder's path before a Git remote named it: its own, under its name now.
  const from = repository === null ? undefined : plan.inventory.renamed_from;
  const renamed = from !== undefined && lists[from] !== undefined;
  if (renamed) {
    lists[repository!] = sortedUnion(lists[repository!] ?? [], lists[from]!);
    delete lists[from];
  }
  const unowned = current?.addresses ?? [];
  const mine = repository === null ? unowned : (lists[repository] ?? []);
  const others = Object.entries(lists).filter(([r, l]) => r !== repository && l.length > 0);
  const taken = others.length > 0 ? new Set(others.flatMap(([, l]) => l)) : null;
  let next = nextInventory(current ? mine : null, plan.inventory, deleted, unrecorded);
  if (next && taken) next = next.filter((a) => !taken.has(a));
  const addresses = next ?? [...mine];
  const isMine = sortedHas(addresses);
  const left = repository === null ? addresses : unowned.filter((a) => !isMine(a));
  const adopted = repository === null ? 0 : unowned.length - left.length;
  if (repository !== null && addresses.length > 0) lists[repository] = addresses;
  else if (repository !== null) delete lists[repository];
  const record = {
    addresses: left,
    ...(Object.keys(lists).length > 0 ? { repositories: lists } : {}),
  };
  // A forgotten object keeps its marks, for `import` to write back (docs/plan.md, Protection).
  const holds = recordedAddresses(record);
  const marked = sortedUnion(holds, current?.forgotten ?? []);
  const marks = nextProtection(current ?? {}, plan.inventory, marked);
  // The budget this commit sets becomes the one its repository's later plans keep.
  const recorded = renamed ? withoutBudgetOf(current!, from) : current;
  const budgets = nextBudgets(recorded ?? {}, plan.inventory);
  // Recorded ahead of the first step too: a wait cut short is watched again by the next plan.
  const waits = nextClusterWaits(current?.cluster_waits ?? {}, plan, deleted);
  const pending = startedAt === undefined ? [] : pendingCreates(plan, current);
  const deletes =
    startedAt === undefined
      ? {}
      : deleteIdentities(plan.changes, sortedHas(current ? recordedAddresses(current) : []));
  // Written when it updated something, or first listed (ahead of the steps): an apply of creates
  // alone still writes the inventory once (issue 79).
  let appliers = applied && repository !== null ? appliersOf(current) : null;
  const listed = appliers?.[repository!]?.some((a) => sameApplier(a, applied!.by));
  if (appliers && (!listed || Object.keys(applied!.wrote).length > 0)) {
    const me = { ...applied!.by, commit: plan.commit, at: new Date().toISOString() };
    appliers[repository!] = nextAppliers(appliers[repository!] ?? [], me, applied!.wrote, deleted);
  } else appliers = null;
  const unchanged = next === null && adopted === 0 && marks === null && budgets === null;
  // Settled here (read so, or its apply failed): written even if nothing else changed, else the
  // mark's replacement would make what was pending poolsync's after all.
  const settles = read?.pending !== undefined && (current !== read || notMade?.failed === true);
  // What it deletes is written ahead too: what the record holds of them says which object was poolsync's.
  const deleting = Object.keys(deletes).length > 0;
  if (unchanged && waits === null && !renamed && !settles && !deleting && appliers === null)
    return null;
  const written: InventoryRecord = {
    ...unknownFields(current),
    format: INVENTORY_FORMAT,
    ...record,
    updated_at: new Date().toISOString(),
    commit: plan.commit,
    control_plane: store.controlPlane,
    ...(current?.forgotten ? { forgotten: current.forgotten } : {}),
    ...protectionFields(marks ?? current ?? {}),
    ...budgetFields(budgets ?? recorded),
    ...waitFields(waits ?? current?.cluster_waits),
    ...(pending.length > 0 || deleting
      ? { pending: pendingField(startedAt!, pending, holds, deletes) }
      : {}),
    ...(appliers ? { appliers } : {}),
  };
  await store.write(written);
  return { before: current, written, addresses };
}

/** The objects an apply updated or replaced, each as it wrote it (its change's `after`, hashed). */
export function wroteBy(plan: Plan, result: Pick<ApplyResult, 'applied'>): Record<string, string> {
  const writes = plan.changes.filter((c) => c.action === 'update' || c.action === 'replace');
  // Read only then: `applied` is made when first read, ~40 MB for 100,000 creates (issue 79).
  if (writes.length === 0) return {};
  const done = new Set(result.applied.map((a) => a.address));
  const wrote: Record<string, string> = {};
  for (const c of writes) if (done.has(c.address)) wrote[c.address] = formHash(c.after);
  return wrote;
}

/** What the plan creates that `current` does not hold, sorted (the plan's declared order). */
function pendingCreates(plan: Plan, current: InventoryRecord | null): string[] {
  const creates = plan.changes.filter((c) => c.action === 'create').map((c) => c.address);
  if (creates.length === 0) return [];
  // Sorted once: as fast as merging the per-kind ascending runs (~15 ms at 100,000 creates).
  const isCreate = sortedHas(ascending(creates));
  const held = sortedHas(current ? recordedAddresses(current) : []);
  return plan.inventory!.declared.filter((a) => isCreate(a) && !held(a));
}

/**
 * `pending` in its shorter form: the pending addresses, or every other one the record `holds`;
 * with the deletes' identities, when it has any.
 */
function pendingField(
  startedAt: string,
  pending: string[],
  holds: readonly string[],
  deletes: Record<string, DeleteIdentity>,
): Pending {
  const more = Object.keys(deletes).length > 0 ? { deletes } : {};
  if (pending.length <= holds.length - pending.length)
    return { started_at: startedAt, addresses: pending, ...more };
  const isPending = sortedHas(pending);
  return { started_at: startedAt, held: holds.filter((a) => !isPending(a)), ...more };
}

/** The budgets without the one recorded under `name`: a repository's earlier name (recordInventory). */
function withoutBudgetOf(current: InventoryRecord, name: string): InventoryRecord {
  const { [name]: _, ...others } = current.repository_guardrails ?? {};
  const kept = Object.keys(others).length > 0 ? others : undefined;
  return { ...current, repository_guardrails: kept };
}

/**
 * An apply cancelled before its first step takes back what it wrote ahead (docs/apply.md, What it
 * prints), read-modify-write: what another writer changed since stays. None before: an empty
 * record, as a store cannot be made to hold none again.
 */
export async function takeBackInventory(
  store: InventoryStore,
  { before, written }: InventoryChange,
): Promise<void> {
  const current = await store.read();
  const kept = without(current, before ?? undefined, written) as InventoryRecord | undefined;
  await store.write({
    format: INVENTORY_FORMAT,
    addresses: [],
    updated_at: new Date().toISOString(),
    commit: null,
    control_plane: store.controlPlane,
    ...kept,
  });
}

/**
 * `current` less the change from `before` to `written` (undefined: absent): a value still as
 * written is as before; a list loses what was added and gets back what was removed; an object,
 * member by member. A value another writer changed since stays theirs.
 */
function without(current: unknown, before: unknown, written: unknown): unknown {
  if (sameJson(current, written)) return before;
  const was = before ?? (isStrings(written) ? [] : {});
  if (isStrings(current) && isStrings(was) && isStrings(written)) {
    const [had, wrote] = [new Set(was), new Set(written)];
    const kept = current.filter((a) => had.has(a) || !wrote.has(a));
    const back = sortedUnion(ascending(kept), ascending(was.filter((a) => !wrote.has(a))));
    return back.length === 0 && before === undefined ? undefined : back;
  }
  if (!isPlainObject(current) || !isPlainObject(was) || !isPlainObject(written)) return current;
  const out: Record<string, unknown> = {};
  for (const key of new Set([current, was, written].flatMap((o) => Object.keys(o)))) {
    const value = sameJson(was[key], written[key])
      ? current[key]
      : without(current[key], was[key], written[key]);
    if (value !== undefined) out[key] = value;
  }
  return Object.keys(out).length === 0 && before === undefined ? undefined : out;
}

const isStrings = (v: unknown): v is string[] =>
  Array.isArray(v) && v.every((a) => typeof a === 'string');
const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * `import` adopts live objects (forgotten ones too) for `repository` (null: recorded without
 * one), taking them from another repository's entries: how many were not its own.
 */
export async function adoptIntoInventory(
  store: InventoryStore,
  addresses: readonly string[],
  repository: string | null,
) {
  const current = await store.read();
  const lists = { ...current?.repositories };
  const unowned = current?.addresses ?? [];
  const have = new Set(repository === null ? unowned : (lists[repository] ?? []));
  const wasForgotten = new Set(current?.forgotten ?? []);
  const adopted = new Set([...addresses].filter((a) => !have.has(a) || wasForgotten.has(a)));
  if (adopted.size === 0 && current !== null) return 0;
  const forgotten = [...wasForgotten].filter((a) => !adopted.has(a));
  const mine = [...new Set([...have, ...adopted])].sort();
  for (const [r, l] of Object.entries(lists)) {
    const kept = l.filter((a) => !adopted.has(a));
    if (kept.length > 0) lists[r] = kept;
    else delete lists[r];
  }
  if (repository !== null) lists[repository] = mine;
  await store.write({
    ...unknownFields(current),
    format: INVENTORY_FORMAT,
    addresses: repository === null ? mine : unowned.filter((a) => !adopted.has(a)),
    ...(Object.keys(lists).length > 0 ? { repositories: lists } : {}),
    updated_at: new Date().toISOString(),
    commit: current?.commit ?? null,
    control_plane: store.controlPlane,
    ...(forgotten.length > 0 ? { forgotten } : {}),
    ...protectionFields(current ?? {}),
    ...budgetFields(current),
    ...waitFields(current?.cluster_waits),
    ...pendingFields(current, adopted),
  });
  return adopted.size;
}

/** `state forget`: marked forgotten, so no later prune deletes it, whatever `manage:` says. */
export async function forgetInInventory(store: InventoryStore, address: string): Promise<void> {
  const current = await store.read();
  const repositories = Object.entries(current?.repositories ?? {})
    .map(([r, l]) => [r, l.filter((a) => a !== address)] as const)
    .filter(([, l]) => l.length > 0);
  await store.write({
    ...unknownFields(current),
    format: INVENTORY_FORMAT,
    addresses: (current?.addresses ?? []).filter((a) => a !== address),
    ...(repositories.length > 0 ? { repositories: Object.fromEntries(repositories) } : {}),
    updated_at: new Date().toISOString(),
    commit: current?.commit ?? null,
    control_plane: store.controlPlane,
    forgotten: [...new Set([...(current?.forgotten ?? []), address])].sort(),
    ...protectionFields(current ?? {}),
    ...budgetFields(current),
    ...waitFields(current?.cluster_waits),
    ...pendingFields(current, new Set([address])),
  });
}

/** `pending` without `taken` (imported: poolsync's now; forgotten: not), absent when empty. */
function pendingFields(current: InventoryRecord | null, taken: ReadonlySet<string>) {
  const { deletes, ...pending } = current?.pending ?? {};
  if (!('started_at' in pending)) return {};
  const left = Object.entries(deletes ?? {}).filter(([a]) => !taken.has(a));
  const more = left.length > 0 ? { deletes: Object.fromEntries(left) } : {};
  if ('held' in pending)
    return {
      pending: { ...pending, held: sortedUnion(pending.held, ascending([...taken])), ...more },
    };
  const addresses = pending.addresses.filter((a) => !taken.has(a));
  return addresses.length > 0 || left.length > 0
    ? { pending: { ...pending, addresses, ...more } }
    : {};
}

/** `cluster_waits` as an optional record member: absent when none, as records without one were. */
function waitFields(waits: InventoryRecord['cluster_waits']) {
  return waits && Object.keys(waits).length > 0 ? { cluster_waits: waits } : {};
}
