/**
 * Options and checks that several commands share, so each flag means and says the same
 * everywhere (plan, apply, export, show, validate).
 */
import { stat } from 'node:fs/promises';
import { DEFAULT_CONTROL_PLANE_URL } from '../controlplane/default-url.js';
import type { SharedInventory } from '../apply/inventory.js';
import { inventoryPlace, leaseNamespace } from '../apply/inventory-place.js';
import { UserError } from '../util/user-error.js';
import { parseDuration } from '../util/duration.js';
import type { Io } from './io.js';

/** The `[dir]` positional of the commands that read a config folder. */
export const configDirPositional = {
  type: 'string',
  default: '.',
  describe: 'Config folder (a Git checkout or any folder of it)',
} as const;

/**
 * `--control-plane URL`: where plans read from and applies write to. No value of its own, so a
 * command knows whether it was written (`--env` names a control plane too): `controlPlaneUrl`.
 */
export function controlPlaneOption(env: NodeJS.ProcessEnv) {
  return {
    type: 'string',
    defaultDescription: `"${controlPlaneUrl({}, env)}"`,
    describe:
      'Control plane (env POOLSYNC_CONTROL_PLANE): file:PATH (embedded), http(s)://HOST (poolsync REST API), union+https://HOST (Union, docs/union.md), flyteadmin+http(s)://HOST (Flyte OSS, docs/flyte-oss.md)',
  } as const;
}

/** --control-plane, else env POOLSYNC_CONTROL_PLANE, else the embedded default. */
export function controlPlaneUrl(
  args: { 'control-plane'?: string | undefined },
  env: NodeJS.ProcessEnv,
): string {
  return args['control-plane'] ?? env.POOLSYNC_CONTROL_PLANE ?? DEFAULT_CONTROL_PLANE_URL;
}

/** `--token-file FILE`: the token never comes from a flag value (it would show in `ps` and shell history). */
export const tokenFileOption = {
  type: 'string',
  describe: 'File holding the control-plane token (or env POOLSYNC_TOKEN_FILE / POOLSYNC_TOKEN)',
} as const;

/** The HTTP client's retries per call when the control-plane option does not say (issue 14). */
export const DEFAULT_MAX_RETRIES = 8;

/**
 * `--max-retries N`: retries of one control-plane call (connection errors, timeouts, 429 and
 * 5xx), with exponential backoff and jitter, before that call fails. A flaky control plane
 * needs more; a CI job that should fail fast, fewer.
 */
export const maxRetriesOption = {
  type: 'string',
  coerce: wholeNumber('max-retries', 0, 100),
  default: DEFAULT_MAX_RETRIES,
  describe:
    'Retries per control-plane call on connection errors, timeouts, 429 and 5xx (backoff 0.1 s doubling to 10 s, with jitter); 0 = none',
} as const;

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

/** `--api-key-file FILE`: the Union API key for `union+https://` control planes (docs/union.md). */
export const apiKeyFileOption = {
  type: 'string',
  describe:
    'File holding the Union API key, for union+https:// control planes (or env POOLSYNC_UNION_API_KEY)',
} as const;

/** `--color` / `--no-color`; unset, see useColor. `what` is what gets coloured. */
export function colorOption(what = 'the text output') {
  return {
    type: 'boolean',
    describe: `Colour ${what} (default: when stdout is a terminal; --no-color to disable)`,
  } as const;
}

/** `control-plane serve`'s address and state (define/control-plane.ts, commands/control-plane.ts). */
export const DEFAULT_LISTEN = '127.0.0.1:7480';
export const DEFAULT_STATE_FILE = '.poolsync/control-plane.json';

/** Where apply keeps its lock, last-applied state and inventory (`--state-dir`). */
export const STATE_DIR = '.poolsync';

/** `--state-dir` of export and import: where they record what they adopted. */
export const inventoryStateDirOption = {
  type: 'string',
  default: STATE_DIR,
  describe:
    'Where the inventory of a control plane that cannot keep it (Union, flyteadmin) is kept, as for apply',
} as const;

/** `--inventory` of plan, apply, export and import (docs/plan.md, Prune by inventory). */
export const inventoryOption = {
  type: 'string',
  describe:
    'k8s:NAMESPACE/NAME: keep the inventory of a control plane that cannot keep it (Union, flyteadmin) in this ConfigMap, shared by every CI job and daemon replica (env POOLSYNC_INVENTORY; default: k8s:<namespace of --lock>/poolsync-inventory when --lock names a Lease, else the state folder; state-dir: the state folder)',
} as const;

/** The ConfigMap of --inventory (env POOLSYNC_INVENTORY), by default beside --lock's Lease (env POOLSYNC_LOCK). */
export function sharedInventoryOf(
  args: { inventory?: string | undefined; lock?: string | undefined },
  env: NodeJS.ProcessEnv,
): SharedInventory | null {
  const lock = args.lock ?? env.POOLSYNC_LOCK;
  const place = inventoryPlace(args.inventory ?? env.POOLSYNC_INVENTORY, leaseNamespace(lock));
  return place ? { place } : null;
}

export type OutputFormat = 'text' | 'json' | 'markdown';

/** `--output text|json|markdown` of the commands that render a plan. */
export const planOutputOption = {
  alias: 'o',
  choices: ['text', 'json', 'markdown'] as const,
  default: 'text' as const,
  describe: 'text: Terraform-like; json: the plan.md format; markdown: for a pull-request comment',
} as const;

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

/** `--target ADDRESS` (repeatable) of plan and apply: a partial plan, as Terraform's -target. */
export const targetOption = {
  type: 'string',
  array: true,
  requiresArg: true,
  describe:
    'Plan only this object (Kind/name, repeatable) and what it depends on; the plan says it is partial',
} as const;

/** `--accept-cascade ADDRESS` (repeatable) of plan and apply (docs/flyte-oss.md, What a delete takes along). */
export const acceptCascadeOption = {
  type: 'string',
  array: true,
  requiresArg: true,
  describe:
    'flyteadmin: let this delete (ExecutionClusterLabel/P/D, PoolAssignment/P/D[/W], repeatable) take along the narrower rows poolsync does not manage; else it is blocked. poolsync.yaml acceptCascade: does the same for every run',
} as const;

/** `--replace ADDRESS` (repeatable) of plan and apply: Terraform's -replace. */
export const replaceOption = {
  type: 'string',
  array: true,
  requiresArg: true,
  describe:
    'Delete and create again this object (Kind/name, repeatable) though nothing differs; not for queues (Q6)',
} as const;

/**
 * `--lock-timeout D` (Terraform's -lock-timeout): how long apply waits for a lock another
 * apply holds before giving up. `plan` takes no lock (it reads only) and accepts the flag so
 * Terraform habits and scripts keep working.
 */
export const lockTimeoutOption = {
  type: 'string',
  default: '0s',
  describe:
    'How long to wait for a lock held by another apply (or an embedded state open elsewhere) before failing, e.g. 30s, 5m',
} as const;

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

/** `--env NAME` / `-e NAME`. */
export function envOption(all: boolean) {
  return {
    alias: 'e',
    type: 'string',
    requiresArg: true,
    describe: all
      ? 'The environment of poolsync.yaml to run for (its control plane, folders, patches), or all'
      : 'The environment of poolsync.yaml to run for (its control plane, folders, patches)',
  } as const;
}

/** `--config-dir DIR` of the commands whose positional is not the config folder (apply PLANFILE, export). */
export const configDirOption = {
  type: 'string',
  default: '.',
  describe: 'With --env: the config folder whose poolsync.yaml declares the environment',
} as const;

/** `--daemon URL` of the commands that ask a running daemon (approve, status, sync, history). */
export function daemonOption(env: NodeJS.ProcessEnv) {
  return {
    type: 'string',
    defaultDescription: `"${env.POOLSYNC_DAEMON_URL ?? DEFAULT_DAEMON_URL}"`,
    describe:
      'The daemon: any replica with --leader-elect (a follower hands the request to the leader) (env POOLSYNC_DAEMON_URL)',
  } as const;
}

/** --daemon, else env POOLSYNC_DAEMON_URL, else the daemon's default address; no trailing slash. */
export function daemonUrl(args: { daemon?: string | undefined }, env: NodeJS.ProcessEnv): string {
  return (args.daemon ?? env.POOLSYNC_DAEMON_URL ?? DEFAULT_DAEMON_URL).replace(/\/+$/, '');
}

const DEFAULT_DAEMON_URL = 'http://127.0.0.1:8080';

/** `--admin-token-file FILE`: the daemon admin token, never a flag value. */
export const adminTokenFileOption = {
  type: 'string',
  describe:
    'File holding the daemon admin token (or env POOLSYNC_ADMIN_TOKEN_FILE / POOLSYNC_ADMIN_TOKEN)',
} as const;
