/**
 * How `export`, `import` and `init --from-live` write manifests under `--dir`, and adopt what
 * they wrote. Never outside `--dir`, whatever a live object's name (docs/security.md, "What is
 * written"): the paths come from names the control plane gave; export leaves out names that
 * are not valid (N1), and this refuses any path that is not a plain relative path of file-name
 * characters, and writes through no link. The adopted addresses join the control plane's
 * inventory (src/apply/inventory.ts), so that once they leave the repository `prune: true`
 * deletes them as it would what `poolsync apply` created (docs/plan.md, Prune by inventory).
 */
import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { adoptIntoInventory, inventoryStore } from '../apply/inventory.js';
import type { ExportedFile } from '../controlplane/export.js';
import type { ControlPlane } from '../controlplane/types.js';
import { relativeParts, writeRepoFile } from '../util/safe-file.js';
import { escapeTerminal } from '../util/terminal-text.js';
import { UserError } from '../util/user-error.js';
import type { Io } from './io.js';
import { sharedInventoryOf } from './options.js';
import { plural } from '../render/index.js';

const SAFE_PATH = /^[A-Za-z0-9._/-]+$/;

/** Refuses a path that could leave `--dir` or carry control characters. */
export function checkExportedPath(path: string): void {
  if (relativeParts(path) === null || !SAFE_PATH.test(path))
    throw new UserError(
      `refusing to write ${escapeTerminal(JSON.stringify(path))}: not a plain file path inside --dir (a live object's name is not a valid manifest name)`,
    );
}

export async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

/** Writes `file` under `out` (checked first); returns its full path. */
export async function writeExported(out: string, file: ExportedFile): Promise<string> {
  checkExportedPath(file.path);
  try {
    await writeRepoFile(out, file.path, file.content);
  } catch (err) {
    throw new UserError(`${(err as Error).message} (under ${out})`);
  }
  return join(out, file.path);
}

/**
 * ADDRESSES recorded in the inventory of the control plane of ARGS, and a line saying so (a
 * warning on stderr when the inventory cannot be written).
 */
export async function adopt(
  cp: ControlPlane,
  args: { 'control-plane': string; 'state-dir': string; inventory?: string },
  addresses: readonly string[],
  io: Io,
): Promise<void> {
  if (addresses.length === 0) return;
  const shared = sharedInventoryOf(args, io.env);
  const store = inventoryStore(cp, args['control-plane'], args['state-dir'], shared);
  try {
    const added = await adoptIntoInventory(store, addresses);
    io.stdout.write(
      added === 0
        ? `The inventory (${store.where}) already lists ${addresses.length === 1 ? 'it' : 'them all'}.\n`
        : `Recorded ${plural(added, 'adopted object')} in the inventory (${store.where}): with prune: true, poolsync deletes ${added === 1 ? 'it' : 'them'} once ${added === 1 ? 'it leaves' : 'they leave'} the repository.\n`,
    );
  } catch (err) {
    io.stderr.write(
      `Warning: could not record the adopted objects in the inventory (${store.where}): ${(err as Error).message}\n`,
    );
  }
}
