/**
 * Any replica serves the team (docs/daemon.md#high-availability): what needs the leader — a
 * push or a pull-request event, a `poolsync apply` comment, POST /reconcile, POST /approve,
 * GET /status — is handed by a follower to the leader, whose address the leader publishes in
 * the Lease (ADDRESS_ANNOTATION), and the leader's answer is returned as it is.
 *
 * The follower authenticates the request first (nothing unauthenticated is passed on), then
 * forwards it without the credential: no secret ever goes to the address read from the Lease.
 * Instead it signs the request — HMAC-SHA256, keyed by the endpoint's own secret (the webhook
 * secret or token, the reconcile or admin token), over its identity, the time, the method,
 * the path and the body's hash — in X-Poolsync-Forwarded. The leader accepts a signature it
 * can verify with its copy of that secret, within a minute, in place of the credential. A
 * forwarded request is never forwarded again: a replica that is not the leader either answers
 * 503 (the leadership is changing).
 */
import { createHash, createHmac } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { request } from 'undici';
import { leaderWords } from '../render/daemon-words.js';
import { constantTimeEqual } from '../util/constant-time.js';
import { githubSignature } from './webhooks.js';

export const FORWARDED_HEADER = 'x-poolsync-forwarded';
/** Names the replica that answered a request (every answer carries it with --leader-elect). */
export const REPLICA_HEADER = 'x-poolsync-replica';
const MAX_SKEW_MS = 60_000;

/** What the leader's handlers read besides the body; never a credential. */
const PASSED_HEADERS = [
  'content-type',
  'user-agent',
  'x-github-event',
  'x-github-delivery',
  'x-gitlab-event',
  'x-gitlab-event-uuid',
];
/** Of the leader's answer, what the client should see. */
const ANSWER_HEADERS = ['content-type', 'retry-after', 'www-authenticate', REPLICA_HEADER];

export interface Follower {
  /** This replica. */
  identity: string;
  /** The leader as last observed in the Lease (null: none yet). */
  leader: string | null;
  /** Where the leader published it can be reached (null: unknown). */
  leaderAddress: string | null;
  /** Retry-After of a refusal: by then a leader is elected. */
  retryAfterSeconds: number;
}

export type HandOff =
  | { kind: 'local' }
  | { kind: 'refused'; reason: string }
  | { kind: 'answered'; status: number; headers: Record<string, string>; body: Buffer };

const sha256 = (body: Buffer) => createHash('sha256').update(body).digest('hex');

function signature(
  secret: string,
  identity: string,
  t: string,
  method: string,
  path: string,
  body: Buffer,
): string {
  return createHmac('sha256', secret)
    .update(`${identity}\n${t}\n${method} ${path}\n${sha256(body)}`)
    .digest('hex');
}

/** The X-Poolsync-Forwarded value for a request this replica hands on. */
export function signForward(
  secret: string | null,
  identity: string,
  method: string,
  path: string,
  body: Buffer,
  now: number = Date.now(),
): string {
  const id = encodeURIComponent(identity);
  if (secret === null) return `identity=${id}`;
  const t = String(now);
  return `identity=${id}; t=${t}; sig=${signature(secret, identity, t, method, path, body)}`;
}

function parse(headers: IncomingHttpHeaders): Record<string, string> | null {
  const raw = headers[FORWARDED_HEADER];
  const value = Array.isArray(raw) ? raw[0] : raw;
  if (value === undefined) return null;
  const fields: Record<string, string> = {};
  for (const part of value.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0) fields[part.slice(0, eq).trim()] = part.slice(eq + 1).trim();
  }
  return fields;
}

/** The replica that handed this request on, or null when it came from a client. */
export function forwardedBy(headers: IncomingHttpHeaders): string | null {
  const f = parse(headers);
  if (f === null) return null;
  try {
    return decodeURIComponent(f.identity ?? '') || 'unknown';
  } catch {
    return 'unknown';
  }
}

/** True when the request carries a valid, recent forward signature made with `secret`. */
export function verifyForward(
  secret: string,
  headers: IncomingHttpHeaders,
  method: string,
  path: string,
  body: Buffer,
  now: number = Date.now(),
): boolean {
  const f = parse(headers);
  if (!f?.t || !f.sig || f.identity === undefined) return false;
  const t = Number(f.t);
  if (!Number.isFinite(t) || Math.abs(now - t) > MAX_SKEW_MS) return false;
  let identity: string;
  try {
    identity = decodeURIComponent(f.identity);
  } catch {
    return false;
  }
  return constantTimeEqual(f.sig, signature(secret, identity, f.t, method, path, body));
}

/**
 * The headers a webhook handler checks, for a request forwarded by a follower that already
 * verified it (a valid signature): the credential is put back as the sender would have sent it.
 */
export function webhookHeaders(
  provider: 'github' | 'gitlab',
  secret: string,
  headers: IncomingHttpHeaders,
  path: string,
  body: Buffer,
): IncomingHttpHeaders {
  if (!verifyForward(secret, headers, 'POST', path, body)) return headers;
  return provider === 'github'
    ? { ...headers, 'x-hub-signature-256': githubSignature(secret, body) }
    : { ...headers, 'x-gitlab-token': secret };
}

/**
 * On the leader (or without --leader-elect): `local`, handle it here. On a follower: the
 * leader's answer, or why it could not be had (then the caller answers 503).
 */
export async function handOff(
  req: { method?: string | undefined; url?: string | undefined; headers: IncomingHttpHeaders },
  body: Buffer,
  follower: Follower | null,
  secret: string | null,
  timeoutMs: number,
): Promise<HandOff> {
  if (follower === null) return { kind: 'local' };
  const by = forwardedBy(req.headers);
  if (by !== null) {
    return { kind: 'refused', reason: leaderWords.handedOnTwice(by) };
  }
  if (follower.leader === null) return { kind: 'refused', reason: leaderWords.noLeader };
  if (follower.leaderAddress === null) {
    return { kind: 'refused', reason: leaderWords.noAddress(follower.leader) };
  }
  const method = req.method ?? 'GET';
  const path = req.url ?? '/';
  const headers: Record<string, string> = {};
  for (const name of PASSED_HEADERS) {
    const v = req.headers[name];
    if (typeof v === 'string') headers[name] = v;
  }
  headers[FORWARDED_HEADER] = signForward(secret, follower.identity, method, path, body);
  try {
    const res = await request(new URL(path, follower.leaderAddress), {
      method: method as 'GET',
      headers,
      body: body.length > 0 ? body : undefined,
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
    });
    const answer = Buffer.from(await res.body.arrayBuffer());
    const kept: Record<string, string> = {};
    for (const name of ANSWER_HEADERS) {
      const v = res.headers[name];
      if (typeof v === 'string') kept[name] = v;
    }
    return { kind: 'answered', status: res.statusCode, headers: kept, body: answer };
  } catch (err) {
    const why = (err as NodeJS.ErrnoException).code ?? (err as Error).name;
    const reason = leaderWords.noAnswer(follower.leader, follower.leaderAddress, why);
    return { kind: 'refused', reason };
  }
}

/**
 * The leader's /status as a follower reads it (for the dashboard, whose runs and held changes
 * live on the leader); null when it cannot be had, and the follower shows its own.
 */
export async function leaderStatus<T>(
  follower: Follower | null,
  timeoutMs: number,
): Promise<{ status: T; relayedBy: string } | null> {
  if (follower === null) return null;
  const off = await handOff(
    { method: 'GET', url: '/status', headers: {} },
    Buffer.alloc(0),
    follower,
    null,
    timeoutMs,
  );
  if (off.kind !== 'answered' || off.status !== 200) return null;
  try {
    return { status: JSON.parse(off.body.toString('utf8')) as T, relayedBy: follower.identity };
  } catch {
    return null;
  }
}
