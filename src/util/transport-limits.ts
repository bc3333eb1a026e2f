/**
 * One transport policy for every HTTP client poolsync has (issue 60; docs/control-plane.md,
 * Limits). Each call is bounded four ways, with defaults nobody has to think about:
 *  - connect: the connection is made within `connectTimeoutMs` (a firewall or a missing VPN
 *    drops packets: the system's own timeout is over two minutes);
 *  - read: the server sends something at least every `readTimeoutMs` (headers, then body);
 *  - call: one call, its retries and their waits included, ends within `callTimeoutMs` (a body
 *    trickled a byte at a time never trips the read timeout);
 *  - size: an answer holds at most a cap per kind of call (ANSWER_BYTES), counted after
 *    decompression (a gzip bomb), so an endless body never takes the process's memory.
 * A limit that fires names its value and setting (a flag, else an environment variable).
 */
import { SYSTEM_CLOCK, type Clock } from './clock.js';
import { durationRefusal, formatDuration, parseDuration } from './duration.js';
import { UserError } from './user-error.js';
import type { Env } from './env.js';

export interface TransportLimits {
  connectTimeoutMs: number;
  readTimeoutMs: number;
  callTimeoutMs: number;
  /** The largest answer of a control-plane call or of the daemon (the setting's kind). */
  maxResponseBytes: number;
  /**
   * A proxy variable the environment sets (`HTTPS_PROXY`), which poolsync's HTTP clients do not
   * use: said beside a failure to connect (util/reach.ts), the likely cause behind a proxy.
   */
  proxyVariable?: string | undefined;
}

/** The variables other tools read a proxy from (curl's, git's), upper case first. */
const PROXY_VARIABLES = [
  'HTTPS_PROXY',
  'https_proxy',
  'HTTP_PROXY',
  'http_proxy',
  'ALL_PROXY',
  'all_proxy',
];

const MiB = 1024 * 1024;

/**
 * Dropped packets fail after the connect timeout (no retry yet, util/reach.ts). 32 MiB is ten
 * times the largest real answer (a 5,000-item page, flyteadmin's 50,000 attribute rows) and
 * keeps the ~6 reads of a live state under 200 MB together.
 */
export const DEFAULT_LIMITS: Readonly<TransportLimits> = Object.freeze({
  connectTimeoutMs: 5_000,
  readTimeoutMs: 10_000,
  callTimeoutMs: 60_000,
  maxResponseBytes: 32 * MiB,
});

/** A call that waited this long without an answer is told (ClientTuning.onWait). */
const WAIT_NOTICE_MS = 5_000;
/** A notice's timer this late found the process unable to run (a busy machine), not a silent server. */
const LATE_MS = 1_000;

/** A call still waiting for its answer: where, for how long so far, and its deadline. */
export interface WaitEvent {
  url: string;
  silentMs: number;
  /** From the call's start, and the limit that ends the wait first: its last attempt's read timeout, or the call's. */
  giveUpMs: number;
  limit: 'read' | 'call';
  /** Its last attempt found nothing listening (a server restarting): no silence, retries. */
  unreached?: { code: string; attempt: number; attempts: number };
  /** The last answer heard was a failure being retried (`HTTP 502`): the server answers. */
  answered?: string;
}

/** What a call tells its notice: an answer came; attempt `attempt` of at most `attempts` found nothing listening. */
export interface Heard {
  (): void;
  unreached(code: string, attempt: number, attempts: number): void;
}

export type WaitListener = (e: WaitEvent) => void;

/** When a call told to a listener last heard an answer, and what a retried one said: part of the listener, gone with it. */
const lastAnswer = new WeakMap<WaitListener, { at: number; said?: string }>();

/**
 * Tells `listener` when a call to `url` has had no answer for 5 s, or for one attempt's read
 * timeout if shorter (quality.md: long waits are visible); the function returned says it answered.
 * The notice is of a silent server, not of one slow call among answered ones: while any call the
 * listener watches was answered within that time, it waits on. Checked after the answers that
 * are ready are read (setImmediate follows I/O), and counted again when its timer wakes late: a
 * process that could not run for seconds on a busy machine (its request perhaps not yet sent) is
 * not a server's silence. Time is the client's `clock`, as its backoffs'.
 */
export function noticeSilence(
  limits: TransportLimits,
  /** A function when what is waited for changes (a call waiting on its token request). */
  url: string | (() => string),
  listener: WaitListener | undefined,
  clock: Clock = SYSTEM_CLOCK,
  /** The retries of an attempt its read timeout ended, when it has one: with none that timeout ends the wait first. */
  retries?: number,
): Heard {
  const silentMs = Math.min(WAIT_NOTICE_MS, limits.readTimeoutMs);
  if (!listener || silentMs >= limits.callTimeoutMs)
    return Object.assign(() => {}, { unreached: () => {} });
  const answered = new AbortController();
  const bound =
    retries === 0 && limits.readTimeoutMs < limits.callTimeoutMs
      ? { giveUpMs: limits.readTimeoutMs, limit: 'read' as const }
      : { giveUpMs: limits.callTimeoutMs, limit: 'call' as const };
  let unreached: WaitEvent['unreached'];
  const wait = async (ms: number): Promise<void> => {
    const due = clock.now() + ms;
    await clock.sleep(ms, answered.signal);
    await new Promise((resolve) => setImmediate(resolve));
    if (answered.signal.aborted) return;
    // Woken a second or more late, this process could not run: its request may only now be sent.
    if (clock.now() - due >= LATE_MS) return wait(silentMs);
    const last = lastAnswer.get(listener);
    const quiet = clock.now() - (last?.at ?? -Infinity);
    if (quiet >= silentMs)
      return listener({
        url: typeof url === 'string' ? url : url(),
        silentMs,
        ...bound,
        ...(unreached ? { unreached } : {}),
        ...(last?.said ? { answered: last.said } : {}),
      });
    return wait(silentMs - quiet);
  };
  void wait(silentMs);
  const heard = () => {
    lastAnswer.set(listener, { at: clock.now() });
    answered.abort();
  };
  return Object.assign(heard, {
    unreached: (code: string, attempt: number, attempts: number) =>
      void (unreached = { code, attempt, attempts }),
  });
}

/**
 * An answer to a request the listener's calls wait on (their OAuth2 token): not silence; `said`,
 * a failure that is retried (`HTTP 502`), for the notice to say while the retries wait.
 */
export function heardBy(
  listener: WaitListener | undefined,
  clock: Clock = SYSTEM_CLOCK,
  said?: string,
): void {
  if (listener) lastAnswer.set(listener, { at: clock.now(), ...(said ? { said } : {}) });
}

/** The cap of each kind of answer no setting changes. */
export const ANSWER_BYTES = {
  /** OAuth2 discovery documents and token answers: a few kB. */
  oauth: 1 * MiB,
  /** A forge's page (100 comments of at most 64 kB each, GitHub's and GitLab's bound). */
  forge: 16 * MiB,
} as const;

export type LimitName = 'connect' | 'read' | 'call' | 'size';

/** Each limit's flag (also the daemon's option) and environment variable. */
export const LIMIT_SETTINGS: Record<LimitName, { flag: string; env: string }> = {
  connect: { flag: '--connect-timeout', env: 'POOLSYNC_CONNECT_TIMEOUT' },
  read: { flag: '--read-timeout', env: 'POOLSYNC_READ_TIMEOUT' },
  call: { flag: '--call-timeout', env: 'POOLSYNC_CALL_TIMEOUT' },
  size: { flag: '--max-response-size', env: 'POOLSYNC_MAX_RESPONSE_SIZE' },
};

const FIELD: Record<LimitName, keyof Omit<TransportLimits, 'proxyVariable'>> = {
  connect: 'connectTimeoutMs',
  read: 'readTimeoutMs',
  call: 'callTimeoutMs',
  size: 'maxResponseBytes',
};

/** `32MiB`, `1GB`, `500kB`, `1048576`: bytes, or null when the text is not a size. */
export function parseSize(text: string): number | null {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(b|kb|kib|mb|mib|gb|gib)?\s*$/i.exec(text);
  if (!m) return null;
  const unit = (m[2] ?? 'b').toLowerCase();
  const scale: Record<string, number> = {
    b: 1,
    kb: 1e3,
    kib: 1024,
    mb: 1e6,
    mib: MiB,
    gb: 1e9,
    gib: 1024 * MiB,
  };
  return Math.round(Number(m[1]) * scale[unit]!);
}

export function formatSize(bytes: number): string {
  if (bytes >= MiB && bytes % MiB === 0) return `${bytes / MiB} MiB`;
  if (bytes >= 1024 && bytes % 1024 === 0) return `${bytes / 1024} KiB`;
  return `${bytes} bytes`;
}

/** The limits (`given`: a flag's text, or a value already read); a bad value is a UserError. */
export function transportLimits(
  given: Partial<Record<LimitName, string | number | undefined>>,
  env: Env,
): TransportLimits {
  const out: TransportLimits = { ...DEFAULT_LIMITS };
  const proxy = PROXY_VARIABLES.find((v) => env[v]?.trim());
  if (proxy !== undefined) out.proxyVariable = proxy;
  for (const name of Object.keys(FIELD) as LimitName[]) {
    const { flag, env: variable } = LIMIT_SETTINGS[name];
    const flagValue = given[name];
    const raw = flagValue ?? env[variable]?.trim();
    if (raw === undefined || raw === '') continue;
    if (typeof raw === 'number') {
      out[FIELD[name]] = raw;
      continue;
    }
    const from = flagValue !== undefined ? flag : `environment variable ${variable}`;
    const value = name === 'size' ? parseSize(raw) : parseDuration(raw);
    if (value === 0) throw new UserError(`${from}: "${raw}" is no limit: give more than zero`);
    if (value === null)
      throw new UserError(
        name === 'size'
          ? `${from}: "${raw}" is not a size; write it like 32MiB or 100MB`
          : `${from}: ${durationRefusal(raw, '5s, 30s or 2m')}`,
      );
    out[FIELD[name]] = value;
  }
  return out;
}

/**
 * A limit that fired, in words; `cap`: the size of a fixed kind (ANSWER_BYTES); `err`: the error,
 * whose read timeout may be of headers that began but never ended (not of silence); `flags`:
 * false for a command without the limit flags (the daemon client's), which names the variable.
 */
export function limitWords(
  name: LimitName,
  limits: TransportLimits,
  cap?: number,
  err?: unknown,
  flags = true,
): string {
  const { env } = LIMIT_SETTINGS[name];
  const flag = flags ? LIMIT_SETTINGS[name].flag : env;
  const setting = flags ? `${flag}, env ${env}` : `env ${env}`;
  switch (name) {
    case 'connect':
      return `no connection within ${formatDuration(limits.connectTimeoutMs)} (${setting}): a firewall or a missing VPN may be dropping its packets; check the address and the network, or raise ${flag}`;
    case 'read':
      // Headers trickled a byte at a time arrive, and still time out: not silence.
      return headersTimedOut(err)
        ? `the answer's headers did not complete within ${formatDuration(limits.readTimeoutMs)} (${setting}): the server or the network stalled, or is slow; raise ${flag} if it is only slow`
        : `nothing was received for ${formatDuration(limits.readTimeoutMs)} (${setting}): the server or the network stalled; raise ${flag} if it is only slow`;
    case 'call':
      return `no complete answer within ${formatDuration(limits.callTimeoutMs)}, the deadline of one call with its retries (${setting}); raise ${flag} to wait longer`;
    case 'size':
      return cap !== undefined
        ? `the answer is larger than ${formatSize(cap)}, the most this kind of answer may hold: is it the right server?`
        : `the answer is larger than ${formatSize(limits.maxResponseBytes)} (${setting}): is it the right server? raise ${flag} if the answer is really that large`;
  }
}

/**
 * The call's deadline after the read timeout ended each of its `attempts` (the last excepted
 * when `lastByDeadline`): a longer read timeout lets a slow server answer; a longer deadline alone
 * only adds attempts cut the same way, so it is named only for an answer slower than itself.
 */
export function readCutWords(
  limits: TransportLimits,
  attempts: number,
  lastByDeadline: boolean,
): string {
  const call = LIMIT_SETTINGS.call;
  const read = LIMIT_SETTINGS.read;
  const within = formatDuration(limits.callTimeoutMs);
  const [which, cut] =
    attempts === 1
      ? ['its one attempt got no complete answer', 'cut it']
      : [
          `none of its ${attempts} attempts got a complete answer`,
          lastByDeadline ? 'cut each before the last, and this deadline the last' : 'cut each',
        ];
  return (
    `no complete answer within ${within}, the deadline of one call with its retries (${call.flag}, env ${call.env}): ` +
    `${which}: the read timeout of ${formatDuration(limits.readTimeoutMs)} (${read.flag}, env ${read.env}) ${cut}; ` +
    `raise ${read.flag} past the time the server takes to answer (and ${call.flag} above that if it is ${within} or more)`
  );
}

/** The code of a connect timeout that fired after the TCP connection was made (Reach.failureOf). */
export const HANDSHAKE_TIMEOUT = 'POOLSYNC_TLS_HANDSHAKE_TIMEOUT';

/** The connect timeout fired with the TCP connection made: the TLS handshake got no answer. */
export function handshakeWords(limits: TransportLimits, origin: string): string {
  const { flag, env } = LIMIT_SETTINGS.connect;
  return `the TCP connection to ${origin} was made, but the TLS handshake got no answer within ${formatDuration(limits.connectTimeoutMs)} (${flag}, env ${env}): is it a TLS (HTTPS) port? If it serves plain HTTP, use http:// in its URL; raise ${flag} if the server is only slow`;
}

/** An error for a limit that fired: its `code` (never shown) tells it apart from the network's own. */
export class LimitError extends Error {
  override readonly name = 'LimitError';
  readonly code: string;
  constructor(
    readonly limit: LimitName,
    message: string,
    code = `POOLSYNC_LIMIT_${limit.toUpperCase()}`,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.code = code;
  }
}

/** The limit an error is (ours, or undici's own for connect, read and size), else null. */
export function limitOf(err: unknown): LimitName | null {
  for (const e of causes(err)) {
    if (e instanceof LimitError) return e.limit;
    switch ((e as { code?: unknown }).code) {
      case 'UND_ERR_CONNECT_TIMEOUT':
        return 'connect';
      case 'UND_ERR_HEADERS_TIMEOUT':
      case 'UND_ERR_BODY_TIMEOUT':
        return 'read';
      case 'UND_ERR_RES_EXCEEDED_MAX_SIZE':
        return 'size';
    }
  }
  return null;
}

/** `err` and its causes, nearest first: a few deep at most (undici and node:http wrap once or twice). */
function* causes(err: unknown): Generator<Error> {
  for (let e: unknown = err, i = 0; e instanceof Error && i < 5; e = e.cause, i++) yield e;
}

/** Our LimitError in `err` or its causes (node:http wraps a signal's reason in an AbortError). */
export function limitErrorOf(err: unknown): LimitError | null {
  for (const e of causes(err)) if (e instanceof LimitError) return e;
  return null;
}

/** Whether `err` is undici's headers timeout: it runs from the request to the headers' end. */
function headersTimedOut(err: unknown): boolean {
  for (const e of causes(err))
    if ((e as { code?: unknown }).code === 'UND_ERR_HEADERS_TIMEOUT') return true;
  return false;
}

/** One call's deadline, retries included: `signal` aborts what is in flight with a LimitError. */
export class CallDeadline {
  readonly endsAt: number;
  private readonly controller = new AbortController();
  private readonly timer: NodeJS.Timeout;

  constructor(
    readonly limits: TransportLimits,
    private readonly now: () => number = Date.now,
    /** What is called, for the error: `GET http://host/v1/pools`. */
    readonly label = '',
  ) {
    this.endsAt = now() + limits.callTimeoutMs;
    this.timer = setTimeout(() => this.controller.abort(this.error()), limits.callTimeoutMs);
    this.timer.unref();
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  remainingMs(): number {
    return Math.max(0, this.endsAt - this.now());
  }

  allows(ms: number): boolean {
    return this.now() + ms < this.endsAt;
  }

  /**
   * What the call waits for before it is sent (its token): the deadline's error and the wait
   * notice name it. A function when what it is changes meanwhile (a token endpoint discovered).
   */
  waitingFor: string | (() => string) | null = null;

  /** `waitingFor`, as it is now. */
  get waitingOn(): string | null {
    return typeof this.waitingFor === 'function' ? this.waitingFor() : this.waitingFor;
  }

  error(detail = ''): LimitError {
    const waiting = this.waitingOn;
    const label = waiting ? `${waiting} (for ${this.label})` : this.label;
    const where = label ? `${label}: ` : '';
    return new LimitError('call', `${where}${limitWords('call', this.limits)}${detail}`);
  }

  done(): void {
    clearTimeout(this.timer);
  }
}
