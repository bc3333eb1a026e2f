/**
 * What an apply records after it ran, under its lock: the inventory (what poolsync
 * applied, which prune reads: src/apply/inventory.ts), also after a failed or partial apply,
 * and after a successful one the live state it left (for `plan --refresh-only`,
 * src/apply/last-applied.ts). A record that cannot be written is a warning: the apply itself is
 * done.
 */
import { deletedBy, recordInventory, type InventoryStore } from '../apply/inventory.js';
import { lastAppliedPathFor, writeLastApplied } from '../apply/last-applied.js';
import type { ApplyResult } from '../apply/types.js';
import { readLiveState, type ControlPlane } from '../controlplane/types.js';
import type { Plan } from '../model/plan.js';

export async function recordApply(opts: {
  url: string;
  stateDir: string;
  cp: ControlPlane;
  plan: Plan;
  inventory: InventoryStore;
  /** Null when there was nothing to run. */
  result: ApplyResult | null;
  /** Where a warning goes (a whole line). */
  warn: (line: string) => void;
}): Promise<void> {
  const { url, stateDir, cp, plan, inventory, result, warn } = opts;
  try {
    await recordInventory(inventory, plan, result ? deletedBy(result) : new Set());
  } catch (err) {
    warn(
      `Warning: could not record the inventory in ${inventory.where} (what prune may delete): ${(err as Error).message}\n`,
    );
  }
  if (result !== null && !result.ok) return;
  const path = lastAppliedPathFor(url, stateDir);
  try {
    await writeLastApplied(path, await readLiveState(cp), plan.commit);
  } catch (err) {
    warn(
      `Warning: could not record the applied state in ${path} (for plan --refresh-only): ${(err as Error).message}\n`,
    );
  }
}
