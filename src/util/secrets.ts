/**
 * The secrets this process knows: the values of the secret environment variables, and every
 * secret read from a file (token files, API keys, client secrets) as it is read. The CLI
 * scrubs all it writes with them (src/cli/redact-output.ts), as the daemon scrubs its logs.
 */
import { Redactor } from './redact.js';

/** Environment variables whose value is a secret (docs/security.md). */
export const SECRET_ENV = [
  'POOLSYNC_TOKEN',
  'POOLSYNC_GIT_TOKEN',
  'POOLSYNC_ADMIN_TOKEN',
  'POOLSYNC_RECONCILE_TOKEN',
  'POOLSYNC_GITHUB_WEBHOOK_SECRET',
  'POOLSYNC_GITLAB_WEBHOOK_TOKEN',
  'POOLSYNC_UNION_API_KEY',
  'POOLSYNC_FLYTE_CLIENT_SECRET',
  'POOLSYNC_PLAN_KEY',
  'GITHUB_TOKEN',
  'GITLAB_TOKEN',
] as const;

const remembered = new Set<string>();
let cached: { size: number; env: string; redactor: Redactor } | null = null;

/** Adds a secret read from a file (or anywhere but SECRET_ENV). */
export function rememberSecret(value: string | null | undefined): void {
  const v = value?.trim();
  if (v) remembered.add(v);
}

/** A Redactor of every secret known now (rebuilt only when one was added). */
export function processRedactor(env: NodeJS.ProcessEnv = process.env): Redactor {
  const fromEnv = SECRET_ENV.map((k) => env[k]?.trim() ?? '');
  const envKey = fromEnv.join('\0');
  if (cached === null || cached.size !== remembered.size || cached.env !== envKey)
    cached = {
      size: remembered.size,
      env: envKey,
      redactor: new Redactor([...fromEnv, ...remembered]),
    };
  return cached.redactor;
}
