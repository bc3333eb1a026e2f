/**
 * The one retry loop of every backend's calls (json-http.ts, union/transport.ts, oauth.ts).
 * What an attempt met is the caller's to say (`Failed`); the loop owns the rest (quality.md:
 * transient failures retried, the server's throttling obeyed):
 *
 * - the budget: `maxRetries`, but a failure to connect before the server has answered once
 *   gets the fast-fail budget (util/reach.ts), so a wrong URL is said within a second;
 * - the wait: the server's delay, else backoff with jitter, slept by the refused call alone,
 *   ended at once by `signal`; the pacer (util/pacer.ts) bounds the calls in flight;
 * - the time: no wait goes past the call's `deadline`, which the last error then names (a
 *   server's delay longer than it ends the call at once, saying until when the server asked);
 * - the end: once `signal` aborts no attempt starts, and one it cut short is not retried
 *   (docs/daemon.md, "Nothing runs twice").
 */
import { ControlPlaneError, unavailable } from './errors.js';
import { backoffDelay } from '../util/backoff.js';
import { formatDuration } from '../util/duration.js';
import { SYSTEM_CLOCK, type Clock } from '../util/clock.js';
import type { Answer, Lane, Pacer } from '../util/pacer.js';
import type { ConnectFailure, Reach } from '../util/reach.js';
import type { RetryPolicy } from '../util/backoff.js';
import {
  limitErrorOf,
  limitOf,
  limitWords,
  LIMIT_SETTINGS,
  readCutWords,
  type CallDeadline,
  type Heard,
  type LimitName,
  type TransportLimits,
} from '../util/transport-limits.js';

/**
 * Worth asking again: 429 and 5xx, but 501, which a server answers for what it does not
 * implement at all (flyteadmin without auth, to OAuth2 discovery: grpc-gateway's Unimplemented).
 */
export const transientStatus = (status: number): boolean =>
  status === 429 || (status >= 500 && status !== 501);

export interface Failed {
  ok: false;
  transient: boolean;
  /** Nothing was sent (util/reach.ts). */
  failure?: ConnectFailure | null | undefined;
  /** `said` for the pace events; the server's delay, else null for the backoff's. */
  throttled?: { said: string; delayMs: number | null } | undefined;
  /** The error once no attempt is left. */
  error: (attempts: number) => Error;
  /** The limit that ended the attempt (limitFailed): the call's deadline says what cut the others. */
  limit?: LimitName | undefined;
}

export type Attempt<T> = { ok: true; value: T } | Failed;

export interface RetryLoop extends RetryPolicy {
  reach: Reach;
  pacer?: Pacer | undefined;
  /** The pacer's lane: `bulk` for a read fanned out by the thousand (util/pacer.ts). */
  lane?: Lane | undefined;
  clock?: Clock | undefined;
  /** The client closing or its caller's term ending. */
  signal?: AbortSignal | undefined;
  deadline?: CallDeadline | undefined;
  /** `Queue/q1`, for the error its deadline ends. */
  address?: string | null | undefined;
  /** For the message when `signal` ended it: `PUT http://host/v1/clusters/a`. */
  label?: string | undefined;
  /** The call changes nothing (a GET, a List): one abandoned in flight is not said to have landed. */
  read?: boolean | undefined;
  /** The call's wait notice (noticeSilence), told of each attempt that found nothing listening. */
  heard?: Heard | undefined;
}

/** `attempt` (0, 1, …) until it answers, a failure is permanent or the budget is spent. */
export async function retrying<T>(
  loop: RetryLoop,
  attempt: (n: number) => Promise<Attempt<T>>,
): Promise<T> {
  const { pacer, reach, clock = SYSTEM_CLOCK } = loop;
  let readCut = 0;
  for (let n = 0; ; n++) {
    // Checked as the attempt goes, after any wait for the pacer.
    const send = async () => {
      if (loop.signal?.aborted) throw abandoned(loop, n);
      return attempt(n);
    };
    const backoff = backoffDelay(n + 1, loop.minDelayMs, loop.maxDelayMs);
    const got = pacer ? await pacer.run(send, (g) => answer(g, backoff), loop.lane) : await send();
    if (got.ok) return got.value;
    if (loop.signal?.aborted) throw abandoned(loop, n, true);
    if (got.limit === 'read') readCut++;
    // The read timeout cut every attempt before the deadline's: a longer deadline alone adds only more of them.
    if (got.limit === 'call' && n > 0 && readCut === n) throw cutByRead(loop, n + 1);
    const budget = reach.budget(loop.maxRetries, got.failure ?? null);
    // Nothing listens (a server restarting): its notice says so, not "no answer".
    const kind = got.failure?.kind;
    if (kind === 'refused' || kind === 'unreachable')
      loop.heard?.unreached(got.failure!.code, n + 1, budget + 1);
    if (!got.transient || n >= budget) throw got.error(n + 1);
    // The server's own delay, for this call only; never past the call's deadline.
    const asked = got.throttled?.delayMs ?? null;
    const wait = asked ?? backoff;
    if (loop.deadline && !loop.deadline.allows(wait))
      throw asked === null
        ? stopped(got.error(n + 1), loop, n + 1, readCut === n + 1, wait)
        : askedTooLong(loop, got.throttled!.said, asked, n + 1, clock);
    await clock.sleep(wait, loop.signal);
  }
}

/**
 * Given up before the backoff `wait`, which would pass the deadline: an answer (not a
 * ControlPlaneError) passes as it is; `readCut`: the read timeout ended every attempt.
 */
function stopped(
  last: Error,
  { deadline, address = null }: RetryLoop,
  attempts: number,
  readCut: boolean,
  wait: number,
): Error {
  if (!(last instanceof ControlPlaneError)) return last;
  const limits = deadline!.limits;
  if (readCut)
    return unavailable(
      `${last.message}; stopped: ${readCutWords(limits, attempts, false)}`,
      address,
    );
  // The deadline has not run out: the wait before the next attempt would pass it.
  const { flag, env } = LIMIT_SETTINGS.call;
  const spent = formatDuration(limits.callTimeoutMs - deadline!.remainingMs());
  return unavailable(
    `${last.message}; stopped after ${spent}: the next retry, in ${formatDuration(wait)}, would pass ` +
      `the deadline of one call with its retries, ${formatDuration(limits.callTimeoutMs)} (${flag}, env ${env}); raise ${flag} to wait longer`,
    address,
  );
}

/** The call's deadline ended its `attempts`th attempt; the read timeout had ended each before it. */
function cutByRead({ deadline, address = null }: RetryLoop, attempts: number): ControlPlaneError {
  const where = deadline!.label ? `${deadline!.label}: ` : '';
  return unavailable(`${where}${readCutWords(deadline!.limits, attempts, true)}`, address);
}

/** The server answered, asking for a wait the call's deadline cannot hold: not silence. */
function askedTooLong(
  { deadline, label, address = null }: RetryLoop,
  said: string,
  ms: number,
  attempts: number,
  clock: Clock,
): ControlPlaneError {
  const until = new Date(clock.now() + ms).toISOString().replace(/\.\d+Z$/, 'Z');
  const { flag, env } = LIMIT_SETTINGS.call;
  const left = formatDuration(deadline!.remainingMs());
  const tries = `${attempts} attempt${attempts === 1 ? '' : 's'}`;
  return unavailable(
    `${label ? `${label}: ` : ''}the server answered ${said} and asked to wait ${formatDuration(ms)}, until ${until}, ` +
      `longer than the call's deadline allows (${left} left of ${formatDuration(deadline!.limits.callTimeoutMs)}, ${flag}, env ${env}); ` +
      `stopped after ${tries}. Try again after ${until}, or raise ${flag} past the wait`,
    address,
  );
}

/**
 * A limit that fired, else null (a connect timeout is a failure to connect, util/reach.ts): a
 * read timeout is retried (the connection may have stalled); the deadline and the size end it.
 */
export function limitFailed(err: unknown, label: string, limits: TransportLimits): Failed | null {
  const limit = limitOf(err);
  if (limit === null || limit === 'connect') return null;
  const ours = limitErrorOf(err);
  const words = ours ? ours.message : limitWords(limit, limits, undefined, err);
  const tries = (n: number) => (limit === 'read' ? ` (${n} attempt${n === 1 ? '' : 's'})` : '');
  return {
    ok: false,
    transient: limit === 'read',
    limit,
    // The deadline's words name what was called already (CallDeadline's label).
    error: (n) => unavailable(limit === 'call' ? words : `${label}: ${words}${tries(n)}`),
  };
}

/** A call its signal ended before attempt `n` (`inFlight`: during it, so a write may have landed). */
function abandoned(
  { signal, label, read }: RetryLoop,
  n: number,
  inFlight = false,
): ControlPlaneError {
  const reason: unknown = signal!.reason;
  const why = reason instanceof Error ? reason.message : String(reason);
  const landed = read ? '' : '; it may have been carried out: the next plan reads what it did';
  const said = inFlight
    ? `abandoned in flight (${why})${landed}`
    : `${n === 0 ? 'not sent' : 'not retried'} (${why})`;
  return unavailable(label ? `${label}: ${said}` : said);
}

/** Answered, refused (with the delay it waits), or neither. */
function answer(got: Attempt<unknown>, backoff: number): Answer {
  if (got.ok) return { refused: false };
  const t = got.throttled;
  return t ? { refused: true, delayMs: t.delayMs ?? backoff, said: t.said } : null;
}
