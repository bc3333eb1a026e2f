/**
 * The key that seals plan files (docs/plan.md, Sealed plan files; docs/security.md): env
 * `POOLSYNC_PLAN_KEY_FILE` (a file holding it, first line) else `POOLSYNC_PLAN_KEY`; none means
 * an unkeyed seal. The same key must be set where the plan is made and where it is shown or
 * applied. It is a secret: remembered for redaction, never printed.
 */
import { readFile } from 'node:fs/promises';
import type { PlanKey } from '../render/plan-file.js';
import { rememberSecret } from '../util/secrets.js';
import { UserError } from '../util/user-error.js';

/** Shorter keys are refused: an HMAC key is only as strong as it is long. */
const MIN_KEY_BYTES = 16;

export async function resolvePlanKey(env: NodeJS.ProcessEnv = process.env): Promise<PlanKey> {
  const file = env.POOLSYNC_PLAN_KEY_FILE?.trim();
  let key: string;
  let from: string;
  if (file) {
    try {
      key = (await readFile(file, 'utf8')).split(/\r?\n/)[0]?.trim() ?? '';
    } catch (err) {
      throw new UserError(
        `cannot read the plan key file ${file} (POOLSYNC_PLAN_KEY_FILE): ${(err as NodeJS.ErrnoException).code ?? 'error'}`,
      );
    }
    from = `the plan key file ${file} (POOLSYNC_PLAN_KEY_FILE)`;
  } else {
    const value = env.POOLSYNC_PLAN_KEY;
    if (value === undefined || value.trim() === '') return null;
    key = value.trim();
    from = 'POOLSYNC_PLAN_KEY';
  }
  if (Buffer.byteLength(key) < MIN_KEY_BYTES)
    throw new UserError(
      `the key in ${from} is too short to seal plans: use at least ${MIN_KEY_BYTES} random bytes (e.g. \`openssl rand -hex 32\`)`,
    );
  rememberSecret(key);
  return Buffer.from(key, 'utf8');
}
