/**
 * `union+https://HOST[:PORT]` (and `union+http://` for a loopback test server), `?protocol=grpc`
 * for plain gRPC instead of Connect. Resolves the API key, checks it was issued for HOST (the
 * client secret is only ever sent to the endpoint of the key), discovers the OAuth2 endpoints
 * and builds the transport.
 */
import { Pacer } from '../../util/pacer.js';
import { Reach } from '../../util/reach.js';
import { DEFAULT_RETRY } from '../../util/backoff.js';
import { UserError } from '../../util/user-error.js';
import { retryPolicy, type ClientTuning } from '../opener.js';
import { discover, isLoopback, resolveApiKey, TokenSource } from './oauth.js';
import { createUnionTransport, type UnionProtocol } from './transport.js';
import { UnionControlPlane } from './union.js';

export function parseUnionUrl(url: string): {
  baseUrl: string;
  host: string;
  protocol: UnionProtocol;
} {
  let parsed: URL;
  try {
    parsed = new URL(url.slice('union+'.length));
  } catch {
    throw new UserError(`control plane "${url}" is not a valid URL (expected union+https://HOST)`);
  }
  if (parsed.username || parsed.password) {
    throw new UserError(
      'control plane URL must not carry credentials; put the Union API key in POOLSYNC_UNION_API_KEY or an --api-key-file',
    );
  }
  if (parsed.protocol === 'http:' && !isLoopback(parsed.hostname)) {
    throw new UserError(
      `control plane "${url}": union+http:// is for a local test server only (127.0.0.1, ::1, localhost); use union+https://${parsed.host}`,
    );
  }
  const protocol = parsed.searchParams.get('protocol') ?? 'connect';
  if (protocol !== 'connect' && protocol !== 'grpc') {
    throw new UserError(
      `control plane "${url}": protocol must be connect (default) or grpc, got "${protocol}"`,
    );
  }
  const extra = [...parsed.searchParams.keys()].filter((k) => k !== 'protocol');
  if (extra.length > 0 || (parsed.pathname !== '/' && parsed.pathname !== '')) {
    throw new UserError(
      `control plane "${url}": a Union URL is union+https://HOST[:PORT][?protocol=grpc], without a path or other parameters`,
    );
  }
  return { baseUrl: parsed.origin, host: parsed.host, protocol };
}

/**
 * `apiKeyFile`: --api-key-file, else env POOLSYNC_UNION_API_KEY. Of `tuning`: the retries, the
 * page size, the deadline of a call (default 30 s), the calls in flight (--parallelism, default
 * 32), the pace listener and the clock.
 */
export async function openUnion(
  url: string,
  apiKeyFile: string | undefined,
  tuning: ClientTuning = {},
): Promise<UnionControlPlane> {
  const { baseUrl, host, protocol } = parseUnionUrl(url);
  const key = await resolveApiKey(apiKeyFile);
  if (key.endpoint.toLowerCase() !== host.toLowerCase()) {
    throw new UserError(
      `the Union API key was issued for ${key.endpoint}, but the control plane is ${host}: use --control-plane union+https://${key.endpoint} or the key of ${host}`,
    );
  }
  // The OAuth2 requests retry what is transient with the RPCs' backoff; until the endpoint has
  // answered once, a failure to connect fails fast (util/reach.ts), for discovery and RPCs alike.
  const retry = retryPolicy(tuning, DEFAULT_RETRY);
  const reach = new Reach();
  const http = { retry, reach };
  const discovery = await discover(baseUrl, http);
  const tokens = new TokenSource(key, discovery, http);
  const { transport, close } = createUnionTransport({
    baseUrl,
    protocol,
    tokens,
    timeoutMs: tuning.requestTimeoutMs ?? 30_000,
  });
  const parallelism = tuning.connections || 32;
  const { clock } = tuning;
  return new UnionControlPlane({
    transport,
    org: key.org,
    url: `union+${baseUrl}`,
    onClose: close,
    retry: {
      ...retry,
      reach,
      pacer: new Pacer('Union', parallelism, clock, tuning.onPace),
      clock,
      origin: baseUrl,
    },
    parallelism,
    pageSize: tuning.pageSize || 1000,
  });
}
