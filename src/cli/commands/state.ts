/**
 * `poolsync state list|show|forget` (docs/plan.md#what-poolsync-manages): the inventory of the
 * control plane `plan` would use (its --env or --control-plane), each object with what the
 * control plane shows of it now; `forget` takes an object out of management without a call
 * about it: out of the inventory, and marked so that no later prune deletes it.
 */
import {
  forgetInInventory,
  inventoryStore,
  withInventory,
  type InventoryStore,
} from '../../apply/inventory.js';
import { controlPlaneIdentity } from '../../controlplane/identity.js';
import { readLiveState, type ControlPlane } from '../../controlplane/types.js';
import { loadRepository } from '../../manifests/index.js';
import type { InventoryRecord } from '../../model/inventory.js';
import type { LiveState } from '../../model/live.js';
import { declaredAddresses, isLive, managedObjects } from '../../plan/inventory.js';
import { checkAddressSyntax } from '../../plan/target.js';
import { controlPlaneName, plural } from '../../render/common.js';
import { managedStatus } from '../../render/cli-output.js';
import { escapeTerminal } from '../../util/terminal-text.js';
import { UserError } from '../../util/user-error.js';
import type { StateArgs } from '../define.js';
import { oneTarget, openToRead, sharedInventoryOf, type EnvTarget } from '../options.js';
import type { Io } from '../io.js';
import { requireFolder } from '../config-folder.js';
import { underApplyLock } from '../../ops/apply-run.js';

/** The control plane of the command, with its inventory and live state read together. */
interface Read {
  target: EnvTarget;
  cp: ControlPlane;
  store: InventoryStore;
  record: InventoryRecord | null;
  live: LiveState;
}

export function list(args: StateArgs, io: Io): Promise<number> {
  return withState(args, io, async ({ target, cp, store, record, live }) => {
    const managed = managedObjects(live);
    if (args.output === 'json') {
      const objects = managed.objects.map(({ address, status }) => ({ address, status }));
      const inventory = record && {
        where: store.where,
        updated_at: record.updated_at,
        commit: record.commit,
      };
      const json = {
        environment: target.name,
        control_plane: controlPlaneIdentity(target.url, cp),
        inventory,
        objects,
        forgotten: managed.forgotten,
      };
      io.stdout.write(`${JSON.stringify(json, null, 2)}\n`);
      return 0;
    }
    io.stdout.write(header(target, cp));
    if (!managed.recorded) {
      io.stdout.write(
        `No inventory yet (${store.where}): poolsync has applied nothing here. \`poolsync apply\` records what it applies; \`poolsync export\` and \`poolsync import\` adopt what exists.\n`,
      );
      return 0;
    }
    io.stdout.write(
      `Inventory: ${store.where} (updated ${record!.updated_at}${record!.commit ? `, commit ${record!.commit.slice(0, 12)}` : ''})\n\n`,
    );
    const width = Math.min(40, Math.max(0, ...managed.objects.map((o) => o.address.length)));
    for (const o of managed.objects)
      io.stdout.write(`${escapeTerminal(o.address.padEnd(width))}  ${managedStatus(o)}\n`);
    const { count, missing } = managed;
    io.stdout.write(
      `\n${plural(count, 'managed object')}${missing > 0 ? ` (${missing} missing from the control plane: the next apply creates ${missing === 1 ? 'it' : 'them'} again if declared)` : ''}.\n`,
    );
    if (managed.forgotten.length > 0)
      io.stdout.write(
        `Forgotten (never pruned; \`poolsync import\` adopts one again): ${managed.forgotten.map(escapeTerminal).join(', ')}\n`,
      );
    return 0;
  });
}

export async function show(args: StateArgs, io: Io): Promise<number> {
  const address = checkedAddress('state show', args.address);
  return withState(args, io, async ({ target, cp, live }) => {
    const managed = managedObjects(live);
    const object = managed.objects.find((o) => o.address === address);
    if (!object) throw notManaged(address, managed.forgotten, live);
    if (args.output === 'json') {
      io.stdout.write(`${JSON.stringify({ environment: target.name, ...object }, null, 2)}\n`);
      return 0;
    }
    io.stdout.write(header(target, cp));
    io.stdout.write(`${escapeTerminal(address)}: ${managedStatus(object)}\n`);
    if (object.live) {
      const fields = Object.entries(object.live);
      const width = Math.max(...fields.map(([k]) => k.length));
      for (const [k, v] of fields)
        io.stdout.write(`  ${k.padEnd(width)} = ${escapeTerminal(JSON.stringify(v))}\n`);
    }
    return 0;
  });
}

export async function forget(args: StateArgs, io: Io): Promise<number> {
  const address = checkedAddress('state forget', args.address);
  return withState(args, io, async ({ target, store, record, live }) => {
    if (record?.forgotten?.includes(address)) {
      io.stdout.write(`${address} is already forgotten: poolsync leaves it alone.\n`);
      return 0;
    }
    if (!record?.addresses.includes(address) && !isLive(live, address))
      throw new UserError(
        `${address} is neither in the inventory (${store.where}) nor on the control plane: nothing to forget (\`poolsync state list\` lists what is managed)`,
      );
    // Under the apply lock: an apply recording the inventory meanwhile would undo this.
    await underApplyLock(target.url, args['state-dir'], () => forgetInInventory(store, address));
    io.stdout.write(
      `Forgot ${address}: it left the inventory (${store.where}), and no later prune deletes it. Nothing was sent to the control plane about it.\n`,
    );
    if (await stillDeclared(args, address))
      io.stdout.write(
        `${address} is still declared in ${args.dir}: the next apply keeps updating it as declared (never deleting it); remove its manifest to leave it entirely alone.\n`,
      );
    return 0;
  });
}

function checkedAddress(command: string, address: string | undefined): string {
  if (address === undefined)
    throw new UserError(`${command} needs an address, e.g. Queue/training`);
  checkAddressSyntax(command, address);
  return address;
}

/** Opens the control plane `plan` would use (read only), reads its inventory and live state, runs `fn`. */
async function withState(
  args: StateArgs,
  io: Io,
  fn: (read: Read) => Promise<number>,
): Promise<number> {
  await requireFolder(args.dir);
  const target = await oneTarget(args.dir, args, 'state', io.env);
  const cp = await openToRead(target, args['max-retries']);
  try {
    const shared = sharedInventoryOf(args, io.env);
    const store = inventoryStore(cp, target.url, args['state-dir'], shared);
    const [live, record] = await Promise.all([readLiveState(cp), store.read()]);
    return await fn({ target, cp, store, record, live: withInventory(live, record) });
  } finally {
    await cp.close();
  }
}

function header({ name, url }: EnvTarget, cp: ControlPlane): string {
  const id = controlPlaneIdentity(url, cp);
  return `${name !== null ? `Environment: ${name}\n` : ''}Control plane: ${escapeTerminal(controlPlaneName(id))}\n`;
}

function notManaged(address: string, forgotten: readonly string[], live: LiveState): UserError {
  if (forgotten.includes(address))
    return new UserError(
      `${address} was forgotten (\`poolsync state forget\`): poolsync does not manage it; \`poolsync import ${address}\` adopts it again`,
    );
  return new UserError(
    isLive(live, address)
      ? `${address} is on the control plane, but poolsync does not manage it (it is not in the inventory): \`poolsync import ${address}\` adopts it`
      : `${address} is not managed by poolsync and not on the control plane (\`poolsync state list\` lists what is managed)`,
  );
}

/** DIR (as the environment reads it) declares the address; false when it does not load. */
async function stillDeclared(args: StateArgs, address: string): Promise<boolean> {
  const loaded = await loadRepository(args.dir, { environment: args.env });
  return loaded.valid && declaredAddresses(loaded.desired).includes(address);
}
