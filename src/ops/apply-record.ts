/**
 * What an apply records after it ran, under its lock: the inventory (what poolsync
 * applied, which prune reads: src/apply/inventory.ts), also after a failed or partial apply,
 * and after a successful one the live state it left (for `plan --refresh-only`,
 * src/apply/last-applied.ts). A record that cannot be written is a warning: the apply itself is
 * done. `poolsync apply` keeps both; the daemon keeps the inventory (and records it after an
 * in-sync run too).
 */
import {
  deletedBy,
  recordInventory,
  type InventoryStore,
  type SharedInventory,
} from '../apply/inventory.js';
import { inventoryStore } from '../apply/inventory.js';
import { lastAppliedPathFor, writeLastApplied } from '../apply/last-applied.js';
import type { ApplyResult } from '../apply/types.js';
import type { ControlPlane } from '../controlplane/types.js';
import type { LiveState } from '../model/live.js';
import type { Plan } from '../model/plan.js';
import { appliedState } from '../plan/inventory.js';

/** A record that could not be written: which, where, and why. */
export interface RecordWarning {
  record: 'inventory' | 'last-applied';
  where: string;
  err: unknown;
}

/** Where an apply's record goes, and who hears about it. */
export interface ApplyRecording {
  /** The inventory; null: none is kept. */
  inventory: InventoryStore | null;
  /** The last-applied record's file; null: none is kept. */
  lastApplied: string | null;
  warn: (warning: RecordWarning) => void;
  /** The inventory's addresses, when this record changed it. */
  recorded?: (addresses: string[]) => void;
}

/** `poolsync apply`'s record: the inventory and the last-applied state, warnings as whole lines. */
export function cliRecording(
  cp: ControlPlane,
  place: { url: string; stateDir: string; sharedInventory: SharedInventory | null },
  stderr: (line: string) => void,
): ApplyRecording {
  return {
    inventory: inventoryStore(cp, place.url, place.stateDir, place.sharedInventory),
    lastApplied: lastAppliedPathFor(place.url, place.stateDir),
    warn: (w) => stderr(recordWarningLine(w)),
  };
}

/** A record's warning as `poolsync apply` prints it. */
export function recordWarningLine({ record, where, err }: RecordWarning): string {
  const why = (err as Error).message;
  return record === 'inventory'
    ? `Warning: could not record the inventory in ${where} (what prune may delete): ${why}\n`
    : `Warning: could not record the applied state in ${where} (for plan --refresh-only): ${why}\n`;
}

/**
 * Records `plan` applied with `result` (null when there was nothing to run); `live`: the state
 * the plan was made against, which the plan's changes turn into the state the apply left
 * (plan/inventory.ts: no second read of the control plane).
 */
export async function recordApply(
  rec: ApplyRecording,
  live: LiveState | null,
  plan: Plan,
  result: ApplyResult | null,
): Promise<void> {
  const { inventory, lastApplied, warn } = rec;
  if (inventory !== null) {
    try {
      const written = await recordInventory(
        inventory,
        plan,
        result ? deletedBy(result) : new Set(),
      );
      if (written) rec.recorded?.(written);
    } catch (err) {
      warn({ record: 'inventory', where: inventory.where, err });
    }
  }
  if ((result !== null && !result.ok) || lastApplied === null || live === null) return;
  try {
    await writeLastApplied(lastApplied, appliedState(live, plan), plan.commit);
  } catch (err) {
    warn({ record: 'last-applied', where: lastApplied, err });
  }
}
