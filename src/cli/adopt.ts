/**
 * `export` and `import` adopt live objects: their addresses join the control plane's
 * inventory (src/apply/inventory.ts), so that once they leave the repository `prune: true`
 * deletes them as it would what `poolsync apply` created (docs/plan.md, Prune by inventory).
 */
import { adoptIntoInventory, inventoryStore, type SharedInventory } from '../apply/inventory.js';
import type { ControlPlane } from '../controlplane/types.js';
import { plural } from '../render/index.js';

/** The line to print, or a warning on stderr when the inventory cannot be written. */
export async function adopt(
  cp: ControlPlane,
  url: string,
  stateDir: string,
  addresses: readonly string[],
  shared: SharedInventory | null = null,
): Promise<string | null> {
  if (addresses.length === 0) return null;
  const store = inventoryStore(cp, url, stateDir, shared);
  try {
    const added = await adoptIntoInventory(store, addresses);
    return added === 0
      ? `The inventory (${store.where}) already lists ${addresses.length === 1 ? 'it' : 'them all'}.`
      : `Recorded ${plural(added, 'adopted object')} in the inventory (${store.where}): with prune: true, poolsync deletes ${added === 1 ? 'it' : 'them'} once ${added === 1 ? 'it leaves' : 'they leave'} the repository.`;
  } catch (err) {
    process.stderr.write(
      `Warning: could not record the adopted objects in the inventory (${store.where}): ${(err as Error).message}\n`,
    );
    return null;
  }
}
