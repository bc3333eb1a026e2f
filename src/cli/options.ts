/**
 * What several commands make of their options (./define.ts declares them): the control plane,
 * daemon and inventory they name, colour, the config folder, the lock timeout, a plan's shape.
 */
import { stat } from 'node:fs/promises';
import { DEFAULT_CONTROL_PLANE_URL } from '../controlplane/default-url.js';
import type { SharedInventory } from '../apply/inventory.js';
import { inventoryPlace, leaseNamespace } from '../apply/inventory-place.js';
import { UserError } from '../util/user-error.js';
import { parseDuration } from '../util/duration.js';
import type { Io } from './io.js';

/** --control-plane, else env POOLSYNC_CONTROL_PLANE, else the embedded default. */
export function controlPlaneUrl(
  args: { 'control-plane'?: string | undefined },
  env: NodeJS.ProcessEnv,
): string {
  return args['control-plane'] ?? env.POOLSYNC_CONTROL_PLANE ?? DEFAULT_CONTROL_PLANE_URL;
}

/**
 * A yargs `coerce` for a whole-number option: the value as typed is checked (yargs's
 * `type: 'number'` would turn `abc` into NaN and the message would say NaN).
 */
export function wholeNumber(flag: string, min: number, max = Number.MAX_SAFE_INTEGER) {
  return (value: unknown): number => {
    const text = String(Array.isArray(value) ? value.at(-1) : value).trim();
    const n = /^\d+$/.test(text) ? Number(text) : NaN;
    if (!Number.isSafeInteger(n) || n < min || n > max)
      throw new UserError(
        `--${flag} must be a whole number ${max === Number.MAX_SAFE_INTEGER ? `of at least ${min}` : `from ${min} to ${max}`} (got ${JSON.stringify(text)})`,
      );
    return n;
  };
}

/** The ConfigMap of --inventory (env POOLSYNC_INVENTORY), by default beside --lock's Lease (env POOLSYNC_LOCK). */
export function sharedInventoryOf(
  args: { inventory?: string | undefined; lock?: string | undefined },
  env: NodeJS.ProcessEnv,
): SharedInventory | null {
  const lock = args.lock ?? env.POOLSYNC_LOCK;
  const place = inventoryPlace(args.inventory ?? env.POOLSYNC_INVENTORY, leaseNamespace(lock));
  return place ? { place } : null;
}

/** The --color flag when given, else colour only on a terminal and when NO_COLOR is not set. */
export function useColor(flag: boolean | undefined, io: Pick<Io, 'stdout' | 'env'>): boolean {
  return flag ?? (io.stdout.isTTY === true && !io.env.NO_COLOR);
}

/** DIR must be an existing folder: a clear UserError otherwise. */
export async function requireFolder(dir: string): Promise<void> {
  try {
    if (!(await stat(dir)).isDirectory()) throw new UserError(`${dir} is not a folder`);
  } catch (err) {
    if (err instanceof UserError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    throw new UserError(
      code === 'ENOENT'
        ? `folder ${dir} does not exist`
        : `cannot read folder ${dir}: ${code ?? String(err)}`,
    );
  }
}

/** --lock-timeout as milliseconds, else a UserError. */
export function checkLockTimeout(value: string | undefined): number {
  if (value === undefined) return 0;
  const ms = parseDuration(value);
  if (ms === null) {
    throw new UserError(
      `--lock-timeout ${JSON.stringify(value)} is not a duration; write e.g. 0s, 30s or 5m`,
    );
  }
  return ms;
}

/** What shapes a plan: `--target`, `--replace`, `--accept-cascade` (plan and apply DIR). */
export interface PlanShapeArgs {
  target?: string[];
  replace?: string[];
  'accept-cascade'?: string[];
}

/** The shaping flags as pipeline options (planRepository). */
export function planShape(args: PlanShapeArgs) {
  return { targets: args.target, replace: args.replace, acceptCascade: args['accept-cascade'] };
}

/** A saved plan is applied exactly as it is: shaping flags belong to `plan --out`. */
export function refuseShapingSavedPlan(args: PlanShapeArgs, path: string): void {
  if (args.target?.length || args.replace?.length || args['accept-cascade']?.length)
    throw new UserError(
      `--target, --replace and --accept-cascade shape a plan: give them to \`poolsync plan … --out ${path}\` (a saved plan is applied exactly as it is)`,
    );
}

/** `--env` (docs/environments.md); resolved in ./environment.ts. */
export const ENV_ALL = 'all';

/** --daemon, else env POOLSYNC_DAEMON_URL, else the daemon's default address; no trailing slash. */
export function daemonUrl(args: { daemon?: string | undefined }, env: NodeJS.ProcessEnv): string {
  return (args.daemon ?? env.POOLSYNC_DAEMON_URL ?? DEFAULT_DAEMON_URL).replace(/\/+$/, '');
}

export const DEFAULT_DAEMON_URL = 'http://127.0.0.1:8080';
