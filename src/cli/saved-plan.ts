/**
 * The key that seals plan files (docs/plan.md, Sealed plan files; docs/security.md), and saved
 * plans read only once their seal verifies, applied only where and as they were made
 * (docs/apply.md#saved-plans-and-staleness). A key variable set but empty is an error, never
 * "no key": in CI a missing secret is an empty variable, and sealing would turn off in both
 * jobs without a word. The key is a secret: remembered for redaction.
 */
import { controlPlaneEndpoint } from '../util/control-plane-endpoint.js';
import type { Plan } from '../model/plan.js';
import { madeElsewhere } from '../ops/stale-plan.js';
import { PlanFileError, readPlanFile, type PlanKey } from '../render/plan-file.js';
import { readUserFile, SECRET_FILE_BYTES } from '../util/safe-file.js';
import { rememberSecret } from '../util/redact.js';
import { UserError } from '../util/user-error.js';

/** Shorter keys are refused: an HMAC key is only as strong as it is long. */
const MIN_KEY_BYTES = 16;

export async function resolvePlanKey(env: NodeJS.ProcessEnv): Promise<PlanKey> {
  const file = env.POOLSYNC_PLAN_KEY_FILE;
  let key: string;
  let from: string;
  if (file !== undefined) {
    if (file.trim() === '') throw noKey('POOLSYNC_PLAN_KEY_FILE', 'names no file');
    const what = 'the plan key file (POOLSYNC_PLAN_KEY_FILE)';
    const bytes = await readUserFile(file.trim(), { maxBytes: SECRET_FILE_BYTES, what });
    key = bytes.toString('utf8').split(/\r?\n/)[0]!.trim();
    from = `the plan key file ${file.trim()} (POOLSYNC_PLAN_KEY_FILE)`;
  } else if (env.POOLSYNC_PLAN_KEY !== undefined) {
    key = env.POOLSYNC_PLAN_KEY.trim();
    from = 'POOLSYNC_PLAN_KEY';
  } else return null;
  if (key === '') throw noKey(from, 'is empty');
  // eslint-disable-next-line no-control-regex -- NUL bytes are what is refused
  if (/^\u0000+$/.test(key)) throw noKey(from, 'holds only NUL bytes');
  if (Buffer.byteLength(key) < MIN_KEY_BYTES)
    throw new UserError(
      `the key in ${from} is too short to seal plans: use at least ${MIN_KEY_BYTES} random bytes (e.g. \`openssl rand -hex 32\`)`,
    );
  rememberSecret(key, from);
  return Buffer.from(key, 'utf8');
}

function noKey(from: string, why: string): UserError {
  return new UserError(
    `${from} is set but ${why}: nothing was sealed, shown or applied. Set the key (at least ${MIN_KEY_BYTES} random bytes, e.g. \`openssl rand -hex 32\`), or unset the variable to seal without a key (a missing CI secret is an empty variable, which must not turn sealing off)`,
  );
}

/** Refused when it is not exactly what was written. */
export async function readSavedPlan(path: string, env: NodeJS.ProcessEnv): Promise<Plan> {
  try {
    return await readPlanFile(path, { key: await resolvePlanKey(env) });
  } catch (err) {
    if (err instanceof PlanFileError) throw new UserError(err.message);
    throw err;
  }
}

/**
 * Before anything is opened or locked: a plan for another environment or endpoint is refused
 * without touching this one (opening a new `file:` state creates it).
 */
export async function readSavedPlanFor(
  path: string,
  env: string | undefined,
  url: string,
  vars: NodeJS.ProcessEnv,
): Promise<Plan> {
  const plan = await readSavedPlan(path, vars);
  const made = plan.control_plane?.environment;
  if (made !== env)
    throw new UserError(
      made === undefined
        ? `${path} was made without an environment, not for environment ${env}: nothing was applied; apply it without --env, or plan it with --env ${env}`
        : env === undefined
          ? `${path} was made for environment ${made}: nothing was applied; apply it with --env ${made}`
          : `${path} was made for environment ${made}, not ${env}: nothing was applied; apply it with --env ${made}, or plan it with --env ${env}`,
    );
  if (!plan.control_plane) return plan;
  const endpoint = controlPlaneEndpoint(url);
  if (endpoint !== controlPlaneEndpoint(plan.control_plane.endpoint))
    throw new UserError(madeElsewhere(path, plan, endpoint));
  return plan;
}
