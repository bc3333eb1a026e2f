/**
 * The OAuth2 client of the stand-in Union API (`control-plane serve --oauth-client-file F`):
 * the client an API key names, the organisation the API serves, and the stand-in OAuth2
 * server (standins/oauth/server.ts) that issues its tokens.
 */
import { CONFIG_FILE_BYTES, readUserFile } from '../../util/safe-file.js';
import { load, yamlFileProblem } from '../../util/js-yaml.js';
import { OAuthStandIn } from '../oauth/server.js';
import { UserError } from '../../util/user-error.js';

export interface OAuthClientConfig {
  client_id: string;
  client_secret: string;
  /** The organisation the API serves; calls naming another are refused. */
  org: string;
  /** Default 3600. */
  token_ttl_seconds: number;
  /** Header clients must send the token in (discovered as authorization_metadata_key). */
  authorization_metadata_key: string;
}

/** Reads the YAML/JSON client file; errors name the file and the field, never a value. */
export async function readOAuthClientFile(path: string): Promise<OAuthClientConfig> {
  let text: string;
  try {
    const what = '--oauth-client-file';
    text = (await readUserFile(path, { maxBytes: CONFIG_FILE_BYTES, what })).toString();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new UserError(
      `cannot read --oauth-client-file ${path}: ${code ?? (err as Error).message.split('\n')[0]}`,
    );
  }
  let doc: unknown;
  try {
    doc = load(text);
  } catch (err) {
    // js-yaml's reason and position, never its snippet of the file (a secret is in it).
    throw new UserError(`--oauth-client-file ${yamlFileProblem(path, err)}`);
  }
  const d = (doc ?? {}) as Record<string, unknown>;
  const str = (field: string, fallback?: string): string => {
    const v = d[field] ?? fallback;
    if (typeof v !== 'string' || v === '')
      throw new UserError(`${path}: "${field}" must be a non-empty string`);
    return v;
  };
  const ttl = d.token_ttl_seconds ?? 3600;
  if (typeof ttl !== 'number' || !(ttl > 0))
    throw new UserError(`${path}: "token_ttl_seconds" must be a positive number`);
  return {
    client_id: str('client_id'),
    client_secret: str('client_secret'),
    org: str('org'),
    token_ttl_seconds: ttl,
    authorization_metadata_key: str('authorization_metadata_key', 'authorization').toLowerCase(),
  };
}

/** The stand-in OAuth2 server issuing tokens to `config`'s client. */
export function unionOAuthServer(
  config: OAuthClientConfig,
  now: () => number = Date.now,
): OAuthStandIn {
  return new OAuthStandIn(
    {
      clientId: config.client_id,
      clientSecret: config.client_secret,
      tokenTtlSeconds: config.token_ttl_seconds,
      authorizationMetadataKey: config.authorization_metadata_key,
    },
    now,
  );
}
