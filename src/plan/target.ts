/**
 * `--target ADDRESS` (Terraform's -target): a filter over a computed plan. It keeps the targets'
 * changes and steps, what they depend on (changes realised whole), their causes' steps and the
 * kept steps' side effects, with a PARTIAL_PLAN warning. And the `--replace` addresses allowed.
 */
import type { DesiredState } from '../model/desired.js';
import type { LiveState } from '../model/live.js';
import {
  isTargeted,
  type Change,
  type Plan,
  type PlanError,
  type PlanInventory,
  type PlanWarning,
  type Step,
} from '../model/plan.js';
import { address } from '../model/common.js';
import { UserError } from '../util/user-error.js';
import { clusterForm, diffForms, makeChange, queueForm, summarizeChanges } from './forms.js';
import { closestNames, kindTypoHint } from '../manifests/suggest.js';
import { reasonOf, warning } from './reasons.js';
import { OBJECT_KINDS, declaredByKind, isLive } from './inventory.js';
import { compareChanges, push } from './context.js';
import { type BudgetBound, budgetErrors } from './guardrails.js';

/** `Kind/name` with a kind poolsync knows; the message says the accepted form otherwise. */
export function checkAddressSyntax(flag: string, addr: string): void {
  const slash = addr.indexOf('/');
  const kind = slash > 0 ? addr.slice(0, slash) : '';
  if (!(OBJECT_KINDS as string[]).includes(kind) || slash === addr.length - 1) {
    throw new UserError(
      `${flag} ${JSON.stringify(addr)}${kindTypoHint(addr)}: an address is Kind/name with Kind one of ${OBJECT_KINDS.join(', ')} ` +
        `(e.g. Cluster/prod-1, PoolAssignment/project/domain): see the addresses in \`poolsync plan\``,
    );
  }
}

/** `bounds`: the destroy budget's, counted on what the targeted plan does (docs/plan.md). */
export function targetPlan(
  plan: Plan,
  targets: readonly string[],
  bounds: readonly BudgetBound[],
): Plan {
  if (targets.length === 0) return plan;
  const known = new Set(plan.changes.map((c) => c.address));
  for (const t of targets) {
    checkAddressSyntax('--target', t);
    if (!known.has(t)) {
      throw new UserError(
        `--target ${t}: no such object in the repository or on the control plane` +
          suggestion(t, [...known]),
      );
    }
  }
  const byId = new Map(plan.steps.map((s) => [s.id, s]));
  const stepsOf = new Map<string, Step[]>();
  for (const s of plan.steps) push(stepsOf, s.target, s);
  const causeOf = new Map(plan.changes.map((c) => [c.address, c.caused_by ?? null]));
  const lostBy = new Map(plan.changes.map((c) => [c.address, selectorLostBy(c)]));
  const keptSteps = new Set<string>();
  const shown = new Set<string>();
  // A change is realised whole (an undelete with its activation), with what those steps wait
  // for, and with its cause's steps (a side effect happens only with its cause).
  const show = (address: string) => {
    if (shown.has(address)) return;
    shown.add(address);
    for (const s of stepsOf.get(address) ?? []) visit(s);
    const by = causeOf.get(address);
    if (!by) return;
    show(by);
    for (const c of lostBy.get(address) ?? []) if (stepsOf.has(c)) show(c);
  };
  const visit = (step: Step) => {
    if (keptSteps.has(step.id)) return;
    keptSteps.add(step.id);
    show(step.target);
    for (const dep of step.depends_on) visit(byId.get(dep)!);
  };
  const wanted = new Set(targets);
  for (const t of targets) show(t);
  // A queue with a change of its own that a kept step changes too is kept whole: C8 takes a
  // kept cluster's name out of its selector; a kept cluster takes its co-named queue along
  // (cluster_move) or drains or activates it (U25, U27: the queue's `state`).
  const kept = (c: string) => shown.has(c) && stepsOf.has(c);
  const follows = (c: Change) =>
    kept(address('Cluster', c.name)) &&
    (c.diff.some((d) => d.path === 'state') ||
      stepsOf.get(address('Cluster', c.name))!.some((s) => s.op === 'move_cluster'));
  // What a kept step causes and the plan's own steps undo is kept whole: a flyteadmin row a kept
  // broader delete takes along and the plan sets again (`replace`, plan/flyteadmin.ts
  // planCascade), `default` a kept registration brings back and the plan deletes again (C3).
  const restored = (c: Change) =>
    (c.kind === 'ExecutionClusterLabel' || c.kind === 'PoolAssignment' || c.action === 'delete') &&
    !!c.caused_by &&
    kept(c.caused_by) &&
    stepsOf.has(c.address);
  for (let more = true; more;) {
    more = false;
    for (const c of plan.changes) {
      if (!shown.has(c.address) && restored(c)) {
        show(c.address);
        more = true;
        continue;
      }
      if (c.caused_by || shown.has(c.address) || c.kind !== 'Queue') continue;
      if (lostBy.get(c.address)!.some(kept) || follows(c)) {
        show(c.address);
        more = true;
      }
    }
  }

  const steps = plan.steps.filter((s) => keptSteps.has(s.id));
  const addresses = new Set(shown);
  // Side effects of kept steps (C2 queues of a registration, C8 selectors of a delete).
  const stays = (c: string) => !kept(c);
  for (const c of plan.changes)
    if (c.caused_by && (addresses.has(c.caused_by) || lostBy.get(c.address)!.some(kept)))
      addresses.add(c.address);

  const seen = routingSeen(plan.changes, steps);
  const changes: Change[] = plan.changes.flatMap((c) => {
    if (!addresses.has(c.address)) return seen(c) ? [asRead(c)] : [];
    const left = asLeftByCause(c, plan.steps, keptSteps);
    return [shown.has(c.address) ? left : selectorAsLeft(left, lostBy.get(c.address)!, stays)];
  });
  const ids = new Map(steps.map((s, i) => [s.id, `s${i + 1}`]));
  const renumbered = steps.map((s) => ({
    ...s,
    id: ids.get(s.id)!,
    depends_on: s.depends_on.map((d) => ids.get(d)!),
  }));
  const keep = (x: PlanWarning | PlanError) => x.address === null || addresses.has(x.address);
  const extra = [...addresses].filter((a) => !wanted.has(a)).sort();
  const sorted = [...targets].sort();
  const partial = warning('PARTIAL_PLAN', sorted.join(', '), { targets: sorted, extra });
  // Guardrails count what this plan destroys: PREVENT_DESTROY by address above, the rest here.
  const own = plan.errors.filter((e) => e.code !== 'DESTROY_BUDGET' && keep(e));
  const confirm = plan.confirm_destroy?.filter((a) => addresses.has(a)) ?? [];
  const { confirm_destroy: _whole, ...rest } = plan;
  return {
    ...rest,
    ...(plan.inventory ? { inventory: adoptingShown(plan.inventory, changes) } : {}),
    summary: summarizeChanges(changes),
    changes,
    steps: renumbered as Step[],
    warnings: [partial, ...plan.warnings.filter(keep)],
    errors: [...own, ...budgetErrors({ changes, steps }, bounds)],
    ...(confirm.length > 0 ? { confirm_destroy: confirm } : {}),
  };
}

/**
 * The inventory a partial plan records: it adopts only the objects its changes show (Terraform's
 * -target imports only its targets), so `apply PLANFILE` can refuse a declared live object no
 * change shows that the inventory does not record (saved-plan.ts savedPlanInventory).
 */
function adoptingShown(inventory: PlanInventory, changes: readonly Change[]): PlanInventory {
  if (!inventory.adopts) return inventory;
  const shown = new Set(changes.map((c) => c.address));
  const left = new Set(inventory.adopts.filter((a) => !shown.has(a)));
  if (left.size === 0) return inventory;
  const { adopts, adopts_recorded_without_repository: earlier, ...rest } = inventory;
  const kept = (list: string[]) => list.filter((a) => !left.has(a));
  const adopted = kept(adopts);
  const recorded = kept(earlier ?? []);
  return {
    ...rest,
    declared: kept(inventory.declared),
    ...(adopted.length > 0 ? { adopts: adopted } : {}),
    ...(recorded.length > 0 ? { adopts_recorded_without_repository: recorded } : {}),
  };
}

/**
 * The queues routing to a cluster the kept steps delete or move, and the clusters of its pool,
 * whatever their own change: what the C9 check at the delete reads as the routing the plan saw
 * (apply/steps.ts checkedWrites), or a `*` queue of the pool counts as made since the plan.
 */
function routingSeen(changes: readonly Change[], steps: readonly Step[]): (c: Change) => boolean {
  const leaving = new Set<string>();
  for (const s of steps)
    if (s.op === 'delete_cluster' || s.op === 'move_cluster') leaving.add(s.args.name);
  const pools = new Set<unknown>();
  for (const c of changes)
    if (c.kind === 'Cluster' && leaving.has(c.name)) pools.add(c.before?.pool);
  return (c) => {
    if (c.before === null || !pools.has(c.before.pool)) return false;
    if (c.kind === 'Cluster') return true;
    const clusters = c.kind === 'Queue' ? c.before.clusters : undefined;
    return Array.isArray(clusters) && clusters.some((n) => n === '*' || leaving.has(n as string));
  };
}

/**
 * A `--target` plan file of an earlier build, which kept no routing it read (routingSeen), with
 * that routing read from `live`: the state its live fingerprint proved unchanged since the plan,
 * so what routes there now was there when it was made. Else the C9 check at the delete counts a
 * `*` queue of the pool as made since the plan, after the steps before it ran.
 */
export function withRoutingRead(plan: Plan, live: LiveState): Plan {
  if (!isTargeted(plan)) return plan;
  const has = new Set(plan.changes.map((c) => c.address));
  const asIs = (kind: 'Cluster' | 'Queue', name: string, form: Record<string, unknown>) =>
    makeChange(kind, name, 'noop', form, form, []);
  const read = [
    ...live.clusters.map((c) => asIs('Cluster', c.name, clusterForm(c))),
    ...live.queues.map((q) => asIs('Queue', q.name, queueForm(q))),
  ].filter((c) => !has.has(c.address));
  const seen = routingSeen([...plan.changes, ...read], plan.steps);
  const added = read.filter(seen);
  if (added.length === 0) return plan;
  const changes = [...plan.changes, ...added].sort(compareChanges);
  return { ...plan, changes, summary: summarizeChanges(changes) };
}

/**
 * An object whose change the partial plan leaves out, as the plan read it: nothing is sent. An
 * unmanaged one stays so: as a noop it would read as declared, and an edited file could make it
 * poolsync's (saved-plan.ts savedPlanInventory).
 */
function asRead(c: Change): Change {
  if (c.action === 'unmanaged' || c.action === 'noop') return c;
  return makeChange(c.kind, c.name, 'noop', c.before, c.before, []);
}

/**
 * C8: the clusters whose names a queue's selector loses (by address). Each leaves by its own
 * cluster's delete or move (or the queue's own update), and `caused_by` names only one.
 */
function selectorLostBy(c: Change): string[] {
  if (c.kind !== 'Queue') return [];
  const names = (f: Record<string, unknown> | null) =>
    Array.isArray(f?.clusters) ? (f.clusters as string[]) : [];
  const kept = new Set(names(c.after));
  return names(c.before)
    .filter((n) => !kept.has(n))
    .map((n) => address('Cluster', n));
}

/** C8 in a partial plan: a queue kept as a side effect loses only kept clusters' names. */
function selectorAsLeft(c: Change, lost: string[], stays: (cluster: string) => boolean): Change {
  const kept = lost.filter((l) => !stays(l));
  if (kept.length === lost.length) return c;
  const before = c.before!;
  const staying = new Set(lost.filter(stays));
  const clusters = (before.clusters as string[]).filter(
    (n) => !lost.includes(address('Cluster', n)) || staying.has(address('Cluster', n)),
  );
  const after = { ...c.after!, clusters };
  const causedBy = c.caused_by && !stays(c.caused_by) ? c.caused_by : kept[0]!;
  const state = c.diff.filter((d) => d.path === 'state');
  return { ...c, after, caused_by: causedBy, diff: [...diffForms(before, after), ...state] };
}

/**
 * A side effect kept without its own steps (a co-named queue whose update is not targeted)
 * shows what apply will leave: the object as its cause creates it (`caused_after`).
 */
function asLeftByCause(change: Change, steps: readonly Step[], kept: ReadonlySet<string>): Change {
  if (change.caused_after === undefined || change.caused_after === null) return change;
  const own = steps.filter((s) => s.target === change.address);
  if (own.length === 0 || own.some((s) => kept.has(s.id))) return change;
  const { caused_after: after, cause, ...rest } = change;
  // Its cause's words say no update follows (an undelete's `updated`): this plan sends none.
  const alone = cause?.params.updated
    ? { ...cause, params: { ...cause.params, updated: false } }
    : cause;
  return {
    ...rest,
    ...(alone ? { cause: alone } : {}),
    after,
    // A queue's drain state is not in its form: what the cause does to it stays in the diff.
    diff: [...diffForms(change.before, after), ...change.diff.filter((d) => d.path === 'state')],
    note: [
      reasonOf('TARGET_SETTINGS_NOT_APPLIED', {
        by: change.caused_by ?? null,
        address: change.address,
      }),
    ],
  };
}

/** `--replace`: in the repository and on the control plane, of a kind that can be recreated. */
export function checkReplaceAddresses(
  addresses: readonly string[],
  desired: DesiredState,
  live: LiveState,
): void {
  let inRepo: Set<string> | undefined;
  for (const addr of addresses) {
    checkAddressSyntax('--replace', addr);
    const kind = addr.slice(0, addr.indexOf('/'));
    if (kind === 'Queue') {
      throw new UserError(
        `--replace ${addr}: a queue cannot be replaced: the control plane has no queue delete (Q6). ` +
          `Change its settings in the repository (they are updated in place), or declare a new queue under another name`,
      );
    }
    if (!['ClusterPool', 'Cluster', 'PoolAssignment'].includes(kind)) {
      throw new UserError(
        `--replace ${addr}: only pools, clusters and assignments can be replaced (deleted and created again); ` +
          `change a ${kind} in the repository and it is updated in place`,
      );
    }
    inRepo ??= new Set(
      declaredByKind(desired)
        .filter(([k]) => ['ClusterPool', 'Cluster', 'Queue', 'PoolAssignment'].includes(k))
        .flatMap(([, objects]) => objects.map((o) => o.address)),
    );
    if (!inRepo.has(addr)) {
      // A live object named exactly is no typo: no "did you mean" another one.
      throw new UserError(
        isLive(live, addr)
          ? `--replace ${addr}: live on the control plane but not declared in the repository, so there is nothing to create again: ` +
              `declare it (or adopt it with \`poolsync import ${addr}\`), then replace it`
          : `--replace ${addr}: not in the repository, so there is nothing to create again` +
              suggestion(addr, [...inRepo]),
      );
    }
    if (!isLive(live, addr)) {
      throw new UserError(
        `--replace ${addr}: not on the control plane yet, so there is nothing to replace: a plain apply creates it`,
      );
    }
  }
}

/** The closest known addresses (typos, another kind of the same name, a partial name). */
function suggestion(addr: string, known: string[]): string {
  const name = addr.slice(addr.indexOf('/') + 1);
  const sameName = known.filter((k) => k.endsWith(`/${name}`));
  const close = [...new Set([...sameName, ...closestNames(addr, known)])].slice(0, 3);
  return close.length > 0 ? ` (did you mean ${close.join(', ')}?)` : '';
}
