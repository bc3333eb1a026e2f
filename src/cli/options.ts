/**
 * What the commands make of their options: the environments a command runs for, with the
 * control plane and credentials each names (docs/environments.md; without `environments:`,
 * `--control-plane` as always), the inventory, colour, the lock timeout and a plan's shape.
 */
import {
  environmentCredentials,
  environmentUrl,
  type EnvironmentCredentials,
  namedSettings,
  settingPlaces,
} from '../manifests/environments.js';
import { readFolderOnce, type ConfigResult, type FolderRead } from '../manifests/config.js';
import type { Environment } from '../model/desired.js';
import type { PlanShape } from '../plan/index.js';
import { UserError } from '../util/user-error.js';
import { scrubUrlUserinfo } from '../util/redact.js';
import { commandLine, shellQuote } from '../util/shell-quote.js';
import { didYouMean } from '../manifests/suggest.js';
import { ControlPlaneError } from '../controlplane/errors.js';
import { openTarget, type Target } from '../ops/open-target.js';
import type { SharedInventory } from '../apply/inventory.js';
import { inventoryPlace, requireK8sPlace, type K8sPlace } from '../util/k8s-place.js';
import { terraformOptionHint } from './usage-error.js';
import { durationRefusal, formatDuration, parseDuration } from '../util/duration.js';
import {
  LIMIT_SETTINGS,
  transportLimits,
  type TransportLimits,
  type WaitListener,
} from '../util/transport-limits.js';
import { lookupHost } from '../util/control-plane-endpoint.js';
import type { ValidationError } from '../manifests/types.js';
import { controlPlaneUrl, type Args } from './define.js';
import type { Io } from './io.js';

/** The Lease of --lock (env POOLSYNC_LOCK), the lock across machines; refused when it names none. */
export function leaseOf(
  args: { lock?: string | undefined },
  env: NodeJS.ProcessEnv,
): K8sPlace | null {
  const lock = args.lock ?? env.POOLSYNC_LOCK;
  if (!lock?.trim()) return null;
  // Named where it came from: plan, export and state once took a bad one as none, and read the
  // inventory from elsewhere than apply keeps it.
  const origin = args.lock === undefined ? 'POOLSYNC_LOCK' : '--lock';
  const onOff = terraformOptionHint('lock', lock);
  if (onOff) throw new UserError(`${origin} ${JSON.stringify(lock)}: ${onOff}.`);
  return requireK8sPlace(lock, origin, ['Lease', 'apply-lock']);
}

/** The ConfigMap of --inventory (env POOLSYNC_INVENTORY), by default beside --lock's Lease. */
export function sharedInventoryOf(
  args: { inventory?: string | undefined; lock?: string | undefined },
  env: NodeJS.ProcessEnv,
  lease: K8sPlace | null = leaseOf(args, env),
): SharedInventory | null {
  const inventory = args.inventory ?? env.POOLSYNC_INVENTORY;
  const origin = args.inventory === undefined ? 'POOLSYNC_INVENTORY' : '--inventory';
  const place = inventoryPlace(inventory, lease, origin);
  return place ? { place } : null;
}

/**
 * `--inventory` (POOLSYNC_INVENTORY) given for a control plane that keeps its own inventory (the
 * embedded `file:` state, the REST API's `/v1/inventory`): its ConfigMap is never read nor
 * written, which a user reading the flag would not know (an unused `--lock` is said too: lock.ts).
 */
export function unusedInventoryNote(
  args: { inventory?: string | undefined },
  env: NodeJS.ProcessEnv,
  url: string,
): string | null {
  const given = (args.inventory ?? env.POOLSYNC_INVENTORY)?.trim();
  if (!given || given === 'state-dir' || !/^(file:|https?:\/\/)/.test(url)) return null;
  const origin = args.inventory === undefined ? 'POOLSYNC_INVENTORY' : '--inventory';
  return `Warning: ${origin} ${given} is not used: this control plane keeps its own inventory, which every plan and apply of it reads.\n`;
}

/**
 * The `poolsync plan` to run next: against the control plane, with the credentials' files, given
 * by flag (a variable stays set for it).
 */
export const nextPlan = (dir: string, given: NextGiven): string =>
  nextCommand(['plan', dir], given);

type NextGiven = {
  'control-plane'?: string;
  'token-file'?: string;
  'api-key-file'?: string;
  env?: string;
};

/** `poolsync WORDS` with the control plane, credentials' files and environment given by flag. */
export function nextCommand(words: string[], given: NextGiven): string {
  const cp = given['control-plane'];
  return commandLine(['poolsync', ...words], {
    'control-plane': cp === undefined ? undefined : scrubUrlUserinfo(cp),
    'token-file': given['token-file'],
    'api-key-file': given['api-key-file'],
    env: given.env,
  });
}

export function useColor(flag: boolean | undefined, io: Pick<Io, 'stdout' | 'env'>): boolean {
  return flag ?? (io.stdout.isTTY === true && !io.env.NO_COLOR);
}

/** In ms; absent (a command called in process, without yargs' defaults): 0. */
export function durationFlag(flag: string, value: string | undefined, examples: string): number {
  if (value === undefined) return 0;
  const ms = parseDuration(value);
  if (ms === null) throw new UserError(`--${flag} ${durationRefusal(value, examples)}`);
  return ms;
}

/** Each PlanShape option's flag (define.ts): the compiler names a new option until it is here. */
export const SHAPE_FLAGS = {
  targets: 'target',
  replace: 'replace',
  acceptCascade: 'accept-cascade',
} as const satisfies Record<keyof PlanShape, keyof Args<'plan'>>;

type PlanShapeArgs = Pick<Args<'plan'>, (typeof SHAPE_FLAGS)[keyof PlanShape]>;

export function planShape(args: PlanShapeArgs): PlanShape {
  const shape: Record<string, readonly string[] | undefined> = {};
  for (const [option, flag] of Object.entries(SHAPE_FLAGS)) shape[option] = args[flag];
  return shape;
}

/** A saved plan is applied exactly as it is: shaping flags (--at's commit too) belong to `plan --out`. */
export function refuseShapingSavedPlan(args: PlanShapeArgs & { at?: string }, path: string): void {
  const flags = Object.values(SHAPE_FLAGS);
  if (flags.some((flag) => args[flag]?.length) || args.at !== undefined) {
    const named = [...flags, 'at'].map((f) => `--${f}`);
    throw new UserError(
      `${named.slice(0, -1).join(', ')} and ${named.at(-1)} shape a plan: give them to \`poolsync plan … --out ${path}\` (a saved plan is applied exactly as it is)`,
    );
  }
}

export const ENV_ALL = 'all';

export interface EnvTarget extends Target {
  /** Credentials not given on the command line: their variable, or poolsync.yaml. */
  from?: EnvironmentCredentials['from'];
  /** poolsync.yaml and the walk, read once for every environment of the command. */
  shared?: FolderRead;
}

/**
 * `shown`: the folder as the user named it when the folder read is a temporary copy of it (`--at`,
 * promote): what the messages name (file paths, the render command), never a folder gone after
 * the command, and where an environment's relative state and credential files are (untracked,
 * they are never in the copy).
 */
export interface Shown {
  shown?: string;
  /** The commit a temporary copy holds (`--at`): advice that reads files again names it. */
  atCommit?: string;
}

/** `control-plane` only when written on the command line. */
type EnvArgs = Pick<Args<'plan'>, 'env' | 'control-plane' | 'token-file' | 'api-key-file'> & Shown;

type NetworkArgs = Partial<
  Record<'connect-timeout' | 'read-timeout' | 'call-timeout' | 'max-response-size', string>
> & { 'max-retries'?: number };

/** Each limit: its flag, else its POOLSYNC_* variable, else the default (transport-limits.ts). */
export function networkOf(
  args: NetworkArgs,
  io: Pick<Io, 'env' | 'stderr'>,
  write: (text: string) => void = (text) => void io.stderr.write(text),
): { maxRetries?: number; limits: TransportLimits; onWait: WaitListener } {
  const limits = transportLimits(
    {
      connect: args['connect-timeout'],
      read: args['read-timeout'],
      call: args['call-timeout'],
      size: args['max-response-size'],
    },
    io.env,
  );
  return { maxRetries: args['max-retries'], limits, onWait: waitNotice(write) };
}

/**
 * One line, the first time a call waits a few seconds for its answer: a server that accepts
 * and never answers holds a command until a limit ends it, which silence makes look hung. It
 * names the limit that ends the wait first; a server that refuses connections is not silent.
 */
function waitNotice(write: (text: string) => void): WaitListener {
  let said = false;
  return ({ url, silentMs, giveUpMs, limit, unreached, answered }) => {
    if (said) return;
    said = true;
    const end = `giving up after ${formatDuration(giveUpMs)} (${LIMIT_SETTINGS[limit].flag})`;
    const what = unreached
      ? `${unreached.code === 'ECONNREFUSED' ? 'connection refused' : 'cannot connect'} (${unreached.code}), retrying (attempt ${unreached.attempt} of at most ${unreached.attempts}, --max-retries); ${end} at the latest`
      : answered
        ? `it answered ${answered}, a failure that may pass, and is asked again (--max-retries); ${end} at the latest`
        : `no answer for ${formatDuration(silentMs)}; ${end}`;
    write(`Waiting for ${url}: ${what}; Ctrl-C stops.\n`);
  };
}

export function openToRead(
  t: EnvTarget,
  io: Pick<Io, 'env'>,
  network: { maxRetries?: number; limits?: TransportLimits; onWait?: WaitListener } = {},
) {
  return openTarget(t, { vars: io.env }, { readOnly: true, http: network });
}

/** A credential given on the command line wins over the environment's (docs/environments.md). */
export function environmentTarget(
  dir: string,
  env: Environment,
  args: EnvArgs,
  vars: NodeJS.ProcessEnv,
): EnvTarget {
  const { from, ...files } = environmentCredentials(dir, env, vars);
  const t: EnvTarget = { name: env.name, url: environmentUrl(dir, env), ...files, env, from, dir };
  if (args['token-file'] !== undefined) {
    t.tokenFile = args['token-file'];
    delete from.tokenFile;
  }
  if (args['api-key-file'] !== undefined) {
    t.apiKeyFile = args['api-key-file'];
    delete from.apiKeyFile;
  }
  return t;
}

/**
 * Without environments `--control-plane` as always (`--env` refused); with them `--env`'s, or all
 * for `--env all` where allowed. A poolsync.yaml that does not read: loading reports its errors.
 */
export async function resolveTargets(
  dir: string,
  args: EnvArgs,
  { allowAll, command, env }: { allowAll: boolean; command: string; env: NodeJS.ProcessEnv },
): Promise<EnvTarget[]> {
  const shared = await readFolderOnce(dir, lookupHost());
  // An environment's relative files are the user's folder's, never a temporary copy's (Shown).
  const home = args.shown ?? dir;
  const { config, errors } = shared.config;
  if (errors.length > 0) {
    // Which control plane --env names is not known: never the default one instead.
    if (args.env !== undefined) throw invalidConfig(home, args.env, errors, args.atCommit);
    return [plainTarget(args, env)];
  }
  const envs = config.environments;
  const names = (envs ?? []).map((e) => e.name);
  if (!envs) {
    if (args.env === undefined) return [plainTarget(args, env)];
    throw noEnvironments(home, args.env, shared.config);
  }
  if (args.env === undefined)
    throw new UserError(
      `poolsync.yaml in ${home} declares environments (${names.join(', ')}): name one with --env NAME${allowAll ? ' or all of them with --env all' : ''}`,
    );
  if (args['control-plane'] !== undefined)
    throw new UserError(
      `--control-plane and --env both name a control plane: environment ${args.env} names its own in poolsync.yaml; leave out --control-plane`,
    );
  const chosen = args.env === ENV_ALL && allowAll ? envs : envs.filter((e) => e.name === args.env);
  if (chosen.length === 0 && args.env === ENV_ALL)
    throw new UserError(
      `\`${command}\` runs for one environment at a time: name one with --env NAME (${names.join(', ')})`,
    );
  if (chosen.length === 0) throw noSuchEnvironment(args.env, names);
  return chosen.map((e) => ({ ...environmentTarget(home, e, args, env), shared }));
}

/** `--env NAME` for a folder without environments, or without poolsync.yaml (a subfolder). */
export function noEnvironments(dir: string, name: string, config: ConfigResult): UserError {
  return new UserError(
    config.absent
      ? `--env ${name}: ${dir} has no poolsync.yaml, so no environments; give the folder whose poolsync.yaml declares them, or leave out --env`
      : `--env ${name}: poolsync.yaml in ${dir} declares no environments; leave out --env, or declare them (docs/environments.md)`,
  );
}

export function noSuchEnvironment(name: string, names: readonly string[]): UserError {
  return new UserError(
    `no environment '${name}' in poolsync.yaml${didYouMean(name, names, { prefixes: true })}; its environments: ${names.join(', ')}`,
  );
}

/**
 * `--env NAME` with a poolsync.yaml that does not read: what is wrong with it, and where; at a
 * commit (`--at`), the validate that reads that commit's files, not the working tree's.
 */
function invalidConfig(
  dir: string,
  name: string,
  errors: ValidationError[],
  atCommit?: string,
): UserError {
  const [e] = errors;
  const more = errors.length > 1 ? ` (and ${errors.length - 1} more)` : '';
  const at = atCommit?.slice(0, 12) ?? '';
  return new UserError(
    `--env ${name}: poolsync.yaml in ${dir}${at && ` at commit ${at}`} is not valid, so environment ${name} is not known: ${e!.file}:${e!.line}:${e!.column}: ${e!.message}${more}; \`poolsync validate ${shellQuote(dir)}${at && ` --at ${at}`}\` lists every error`,
  );
}

function plainTarget(args: EnvArgs, env: NodeJS.ProcessEnv): EnvTarget {
  return {
    name: null,
    url: controlPlaneUrl(args, env),
    tokenFile: args['token-file'],
    apiKeyFile: args['api-key-file'],
    env: null,
  };
}

/** `--env`'s environment in DIR's poolsync.yaml (null: --config-dir's), else `--control-plane`. */
export async function oneTarget(
  dir: string | null,
  args: EnvArgs & { 'config-dir'?: string },
  command: string,
  env: NodeJS.ProcessEnv,
): Promise<EnvTarget> {
  if (dir === null && args.env === undefined) return plainTarget(args, env);
  const [t] = await resolveTargets(dir ?? args['config-dir'] ?? '.', args, {
    allowAll: false,
    command,
    env,
  });
  return t!;
}

/**
 * `work` for environment `t`, its errors named as `inEnvironment` names them: the one way every
 * command that takes --env reports an environment's failure (plan, promote, apply).
 */
export async function forEnvironment<T>(
  dir: string,
  t: EnvTarget,
  work: () => Promise<T>,
): Promise<T> {
  try {
    return await work();
  } catch (err) {
    throw await inEnvironment(err, dir, t);
  }
}

/**
 * An environment's error named by it, each flag it names that nobody passed replaced by where
 * the value came from (the line of poolsync.yaml, or the operator's variable).
 */
async function inEnvironment(err: unknown, dir: string, t: EnvTarget): Promise<unknown> {
  if (!(err instanceof UserError || err instanceof ControlPlaneError)) return err;
  if (t.name === null || !(err instanceof Error)) return err;
  const places = await settingPlaces(dir, t.name, { from: t.from, tokenFile: t.tokenFile });
  const message = namedSettings(err.message, places);
  const code = err instanceof ControlPlaneError ? `control plane: ${err.code}: ` : '';
  // A message that names its environment already (a pull-request refusal, a token file's) is
  // kept as it is.
  const named = [' ', ':'].some((c) => message.startsWith(`environment ${t.name}${c}`));
  if (code === '' && named) return new UserError(message);
  return new UserError(`environment ${t.name}: ${code}${message}`);
}
