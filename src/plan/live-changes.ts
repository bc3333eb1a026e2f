/**
 * What changed on the control plane since a plan was made (docs/apply.md#saved-plans-and-staleness),
 * once its live fingerprint no longer matches: each object in the plan's comparable forms, so a
 * stale plan's refusal names the addresses, or says that poolsync's inventory moved instead.
 */
import {
  address,
  assignmentKeyString,
  defaultQueueKeyString,
  type ObjectKind,
} from '../model/common.js';
import { MATCHABLE_KIND, attributeRowKey } from '../model/flyte.js';
import type { LiveState } from '../model/live.js';
import type { Plan } from '../model/plan.js';
import { isDeepStrictEqual } from 'node:util';
import { clusterForm, poolForm, queueForm, rowForm, specForm, type Form } from './forms.js';

/** What differs between the state a plan was made against and the live state now. */
export interface LiveChanges {
  /** Addresses whose live object differs from the plan's `before` (appeared, gone or changed), sorted. */
  addresses: string[];
  /**
   * poolsync's own records (the inventory, its marks, `state forget`): `changed` when the state
   * the plan was made from is known and they differ; `maybe` when only the plan is (a saved
   * plan does not keep them) and no object differs; null otherwise.
   */
  inventory: { added: string[]; removed: string[] } | 'changed' | 'maybe' | null;
}

/**
 * `live` against what `plan` was made from: the state itself when it is at hand (`planned`, the
 * plan made in this process), else the plan's `before` forms. A partial plan (`--target`) shows
 * only some objects: one it does not show is not said to have appeared.
 */
export function liveChanges(plan: Plan, live: LiveState, planned?: LiveState | null): LiveChanges {
  const now = liveForms(live);
  const was = planned ? liveForms(planned) : planForms(plan);
  const partial = !planned && plan.warnings.some((w) => w.code === 'PARTIAL_PLAN');
  const differ = new Set<string>();
  for (const [a, form] of was) if (!isDeepStrictEqual(form, now.get(a) ?? null)) differ.add(a);
  if (!partial) for (const a of now.keys()) if (!was.has(a)) differ.add(a);
  const addresses = [...differ].sort();
  return { addresses, inventory: inventoryChange(live, planned, addresses.length === 0) };
}

function inventoryChange(
  live: LiveState,
  planned: LiveState | null | undefined,
  nothingElse: boolean,
): LiveChanges['inventory'] {
  if (!planned) return nothingElse && live.inventory !== undefined ? 'maybe' : null;
  const before = planned.inventory ?? [];
  const after = live.inventory ?? [];
  const was = new Set(before);
  const is = new Set(after);
  const added = after.filter((a) => !was.has(a));
  const removed = before.filter((a) => !is.has(a));
  if (added.length > 0 || removed.length > 0) return { added, removed };
  const records = (s: LiveState) => [
    s.inventory === null,
    s.inventory_owners ?? {},
    s.forgotten ?? [],
    s.prevent_destroy ?? [],
    s.confirm_destroy ?? [],
    s.guardrails ?? null,
    s.repository_guardrails ?? {},
  ];
  return isDeepStrictEqual(records(planned), records(live)) ? null : 'changed';
}

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
