/**
 * `apply --env NAME` (docs/environments.md): a folder is applied to the environment's control
 * plane with its credentials; a saved plan names its environment and is applied only there.
 */
import { stat } from 'node:fs/promises';
import type { Plan } from '../../model/plan.js';
import { UserError } from '../../util/user-error.js';
import { resolveTargets, withTarget, type EnvArgs } from '../environment.js';

export interface ApplyEnvArgs extends EnvArgs {
  path: string;
  /** The config folder whose poolsync.yaml names the environment of a saved plan. */
  'config-dir'?: string;
}

/** The arguments with the environment's control plane in place (`env` left set only with one). */
export async function applyArgsForEnv<A extends ApplyEnvArgs>(args: A): Promise<A> {
  const isDir = (await stat(args.path).catch(() => null))?.isDirectory() ?? false;
  if (!isDir && args.env === undefined) return args;
  const dir = isDir ? args.path : (args['config-dir'] ?? '.');
  const [t] = await resolveTargets(dir, args, { allowAll: false, command: 'apply' });
  const out = withTarget(args, t!);
  if (t!.name === null) delete out.env;
  else out.env = t!.name;
  return out;
}

/** A saved plan is applied in the environment it was made for, and only there. */
export function checkSavedPlanEnvironment(path: string, plan: Plan, env: string | undefined): void {
  const made = plan.control_plane?.environment;
  if (made === env) return;
  if (made === undefined)
    throw new UserError(
      `${path} was made without an environment, not for environment ${env}: nothing was applied; apply it without --env, or plan it with --env ${env}`,
    );
  throw new UserError(
    env === undefined
      ? `${path} was made for environment ${made}: nothing was applied; apply it with --env ${made}`
      : `${path} was made for environment ${made}, not ${env}: nothing was applied; apply it with --env ${made}, or plan it with --env ${env}`,
  );
}
