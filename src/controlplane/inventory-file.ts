/**
 * The inventory in a JSON file: beside an embedded state (`PATH.inventory.json`, so `poolsync
 * control-plane serve` serves the one every opener of that state reads) or in the state folder
 * (src/apply/inventory.ts). Read and replaced whole through util/safe-file.ts; a file that is not
 * an inventory is an error naming it and what to do, never read as "none".
 */
import { parseInventoryText, type InventoryRecord } from '../model/inventory.js';
import { UnsafeFileError, writeOwnFile } from '../util/safe-file.js';
import { readStateBytes } from '../util/state-file.js';
import { refuseTrackedFiles } from '../util/tracked.js';
import { UserError } from '../util/user-error.js';
import type { InventoryCalls } from './types.js';

/**
 * An inventory lists every object poolsync applied: at 100,000 objects, ~3 MB. Five times that
 * is no inventory poolsync wrote, and parsing it could take the heap (a 60 MB one aborted V8 at
 * --max-old-space-size=256): refused, saying what to do.
 */
const MAX_INVENTORY_BYTES = 16 * 1024 * 1024;
const RESTORE =
  'Restore it, or delete it: prune then deletes nothing poolsync did not apply until the next apply records the inventory again (docs/plan.md, Prune by inventory)';
const WHAT = 'inventory';

/** `root`: the folder poolsync owns there (util/safe-file.ts). */
export interface InventoryPath {
  root: string;
  path: string;
}

export class InventoryFile implements InventoryCalls {
  /** An embedded control plane in memory has no file. */
  private memory: InventoryRecord | null = null;

  constructor(private readonly where: () => InventoryPath | null) {}

  async readInventory(): Promise<InventoryRecord | null> {
    const at = this.where();
    if (at === null) return this.memory;
    const { root, path } = at;
    // A committed inventory would let a pull request choose what prune deletes.
    await refuseTrackedFiles(root, [path], WHAT);
    const bytes = await readStateBytes(root, path, {
      maxBytes: MAX_INVENTORY_BYTES,
      what: WHAT,
    }).catch((err: unknown) => {
      throw err instanceof UnsafeFileError
        ? new UnsafeFileError(`${err.message}. ${RESTORE}`)
        : err;
    });
    if (bytes === null) return null;
    const parsed = parseInventoryText(bytes.toString('utf8'), path);
    if (typeof parsed === 'string')
      throw new UserError(`${path} is not a poolsync inventory: ${parsed}. ${RESTORE}`);
    return parsed;
  }

  async writeInventory(record: InventoryRecord): Promise<void> {
    const at = this.where();
    if (at === null) {
      this.memory = record;
      return;
    }
    await refuseTrackedFiles(at.root, [at.path], WHAT);
    await writeOwnFile(at.root, at.path, JSON.stringify(record, null, 1) + '\n', {
      what: WHAT,
      mode: 0o644,
    });
  }
}
