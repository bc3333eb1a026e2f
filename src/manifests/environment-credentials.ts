/**
 * Where an environment's credentials are read from (docs/environments.md): the operator's
 * variable `POOLSYNC_ENV_<NAME>_TOKEN_FILE` / `POOLSYNC_ENV_<NAME>_API_KEY_FILE` (NAME upper
 * case, `-` as `_`) over poolsync.yaml's `tokenFile` / `apiKeyFile` (relative to the config
 * folder). A variable's relative path is from the working folder, as any path given to a command.
 */
import { isAbsolute, resolve } from 'node:path';
import type { Environment } from '../model/desired.js';

export type CredentialField = 'tokenFile' | 'apiKeyFile';

export interface EnvironmentCredentials {
  tokenFile?: string;
  apiKeyFile?: string;
  /** Where each came from: the operator's variable (its name), or poolsync.yaml. */
  from: Partial<Record<CredentialField, { variable: string } | 'config'>>;
}

/** `POOLSYNC_ENV_STAGING_API_KEY_FILE` for environment `staging`'s `apiKeyFile`. */
export function credentialVariable(env: string, field: CredentialField): string {
  const name = env.toUpperCase().replace(/-/g, '_');
  return `POOLSYNC_ENV_${name}_${field === 'tokenFile' ? 'TOKEN_FILE' : 'API_KEY_FILE'}`;
}

export function environmentCredentials(
  dir: string,
  env: Pick<Environment, 'name' | CredentialField>,
  vars: Record<string, string | undefined>,
): EnvironmentCredentials {
  const out: EnvironmentCredentials = { from: {} };
  for (const field of ['tokenFile', 'apiKeyFile'] as const) {
    const variable = credentialVariable(env.name, field);
    const given = vars[variable]?.trim();
    if (given) {
      out[field] = resolve(given);
      out.from[field] = { variable };
    } else if (env[field] !== undefined) {
      out[field] = isAbsolute(env[field]) ? env[field] : resolve(dir, env[field]);
      out.from[field] = 'config';
    }
  }
  return out;
}
