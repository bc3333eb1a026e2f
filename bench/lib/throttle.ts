/**
 * A server that throttles, for the throttling rows of `bench/remote-bench.ts` (quality.md: a
 * refused call waits its own delay; 5 % refused at random costs little; a concurrency cap or a
 * rate limit is adapted to). bench/lib/latency-proxy.ts asks `refuse` for each request it is
 * about to send on, and answers a refused one as the server would:
 *
 * - Connect (Union): HTTP 429 `{"code": "resource_exhausted", "details": [google.rpc.RetryInfo]}`,
 *   the delay in RetryInfo's `retry_delay` (to the millisecond);
 * - else (flyteadmin's gateway): HTTP 429 with `Retry-After` in whole seconds (at least 1).
 *
 * The three ways a server throttles: refusals at random (`randomly`), a cap on the calls it
 * serves at once (`capped`: a call over it refused), a rate (`rated`: a token bucket; a call
 * without a token refused until the next one comes).
 */
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { RetryInfoSchema } from '../../src/gen/google/rpc/error_details_pb.js';

export interface Throttle {
  /** What the row calls it. */
  what: string;
  /** The delay to refuse a call with (ms), or null to let it through; `inFlight` admitted now. */
  refuse(inFlight: number, now: number): number | null;
}

/** `share` of the calls refused at random (a seeded sequence), each with `delayMs`. */
export function randomly(share: number, delayMs: number, seed = 63): Throttle {
  let state = seed >>> 0;
  const random = () => {
    // mulberry32, as bench/lib/scale.ts: the same refusals in every run.
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    what: `${Math.round(share * 100)} % refused at random (${delayMs / 1000} s)`,
    refuse: () => (random() < share ? delayMs : null),
  };
}

/** At most `cap` calls served at once; one more is refused with `delayMs`. */
export function capped(cap: number, delayMs: number): Throttle {
  return {
    what: `at most ${cap} calls at once (${delayMs / 1000} s)`,
    refuse: (inFlight) => (inFlight >= cap ? delayMs : null),
  };
}

/** `perSecond` calls a second, in bursts of `burst` at most; a call without a token waits for one. */
export function rated(perSecond: number, burst: number): Throttle {
  let tokens = burst;
  let at: number | null = null;
  return {
    what: `${perSecond} calls a second (bursts of ${burst})`,
    refuse: (_inFlight, now) => {
      tokens = Math.min(burst, tokens + ((now - (at ?? now)) * perSecond) / 1000);
      at = now;
      if (tokens >= 1) {
        tokens--;
        return null;
      }
      return Math.ceil(((1 - tokens) * 1000) / perSecond);
    },
  };
}

/** The refusal of a request sent with `contentType`, as its server answers it. */
export function refusal(
  contentType: string | undefined,
  delayMs: number,
): { headers: Record<string, string>; body: Buffer } {
  if (/^application\/(connect\+)?proto/.test(contentType ?? '')) {
    const info = create(RetryInfoSchema, {
      retryDelay: { seconds: BigInt(Math.floor(delayMs / 1000)), nanos: (delayMs % 1000) * 1e6 },
    });
    const value = Buffer.from(toBinary(RetryInfoSchema, info)).toString('base64');
    const body = {
      code: 'resource_exhausted',
      message: 'throttled',
      details: [{ type: 'google.rpc.RetryInfo', value }],
    };
    return {
      headers: { 'content-type': 'application/json' },
      body: Buffer.from(JSON.stringify(body)),
    };
  }
  const seconds = String(Math.max(1, Math.ceil(delayMs / 1000)));
  return {
    headers: { 'retry-after': seconds, 'content-type': 'text/plain' },
    body: Buffer.from('slow down'),
  };
}

/** The delay a refusal (`refusal`'s answer) asks for, in ms. */
export function refusedFor(
  headers: Record<string, string | string[] | undefined>,
  body: Buffer,
): number {
  const after = headers['retry-after'];
  if (typeof after === 'string') return Number(after) * 1000;
  const details = (JSON.parse(body.toString()) as { details?: { value: string }[] }).details ?? [];
  const delay = fromBinary(RetryInfoSchema, Buffer.from(details[0]!.value, 'base64')).retryDelay;
  return delay ? Number(delay.seconds) * 1000 + Math.round(delay.nanos / 1e6) : 0;
}
