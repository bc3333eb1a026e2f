/**
 * A network with latency, for the round-trip rows of `bench/remote-bench.ts` and the test that
 * counts a plan's round trips: an HTTP/1.1 proxy on 127.0.0.1 that holds each request `oneWayMs`
 * before sending it on and each answer `oneWayMs` before returning it (so a call costs at least
 * 2 × oneWayMs, as over a wide-area link). Upstream connections are kept alive.
 *
 * It logs every exchange (method, path, when it arrived, when its answer left) and counts the
 * round trips in a row: a request's depth is one more than the deepest exchange whose answer
 * had left before it arrived, and the chain is the deepest request. Requests sent at once,
 * whatever their number, are one round trip; a request that waits for an answer is one more.
 *
 * Measured on the clock, that count also grows with the time the client, this proxy and the
 * server spend computing (a slot freed late is refilled late): on a loaded machine it tends to
 * the wall time over the round trip. `rounds` counts what the client waited for instead:
 * requests are held until none has come for `rounds.quietMs` (at least `oneWayMs`: the client
 * is waiting), then sent on together, and their answers returned together `oneWayMs` after the
 * last came back; each such round is one round trip in a row, however long the machine took
 * (the test's mode). A quiet time longer than the client's pauses while it sends (a loaded
 * machine's) never merges two rounds: nothing that waits for an answer can come before it.
 *
 * A server that throttles (`throttle`, bench/lib/throttle.ts): a request it refuses is answered
 * by the proxy a round trip after it came, without reaching the server, as the server would
 * refuse it (Union's RESOURCE_EXHAUSTED with RetryInfo over Connect, else 429 with Retry-After).
 * With `record`, the log keeps each request's headers and body (a reference client replays them).
 */
import { createServer, request, Agent, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { refusal, type Throttle } from './throttle.js';

export interface Exchange {
  method: string;
  path: string;
  /** Milliseconds (performance.now) when the request arrived, and when its answer left. */
  start: number;
  end: number;
  /** `rounds` mode: the round it went in (1, 2, …). */
  round?: number;
  /** Refused by the throttle (never reached the server). */
  refused?: boolean;
  /** With `record`: what was sent, for a replay. */
  sent?: { headers: Record<string, string | string[]>; body: Buffer };
}

export interface LatencyProxy {
  /** `http://127.0.0.1:PORT` */
  url: string;
  /** `127.0.0.1:PORT` */
  host: string;
  /** Every exchange so far (answered ones), in the order they ended. */
  readonly log: readonly Exchange[];
  /** Forgets the log (the next measurement starts here). */
  reset(): void;
  /** From now on, requests refused as `throttle` decides (null: none). */
  throttle(throttle: Throttle | null): void;
  close(): Promise<void>;
}

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'content-length']);

const hold = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function body(msg: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    msg.on('data', (c: Buffer) => chunks.push(c));
    msg.on('end', () => resolve(Buffer.concat(chunks)));
    msg.on('error', reject);
  });
}

/** How a request and its answer are held: for a time, or in rounds. */
interface Holding {
  /** Before the request is sent on; the round it goes in (0: no rounds). */
  request(): Promise<number>;
  /** Before its answer is returned (also when it failed). */
  answer(round: number): Promise<void>;
}

export async function startLatencyProxy(
  upstream: string,
  oneWayMs: number,
  opts: { rounds?: { quietMs: number }; record?: boolean } = {},
): Promise<LatencyProxy> {
  const target = new URL(upstream);
  const agent = new Agent({ keepAlive: true, maxSockets: Infinity });
  const holding: Holding = opts.rounds
    ? inRounds(Math.max(oneWayMs, opts.rounds.quietMs), oneWayMs)
    : { request: () => hold(oneWayMs).then(() => 0), answer: () => hold(oneWayMs) };
  let log: Exchange[] = [];
  let throttle: Throttle | null = null;
  /** Admitted and not yet answered (what a concurrency cap counts). */
  let admitted = 0;
  const server = createServer(async (req, res) => {
    const start = performance.now();
    const sent = await body(req).catch(() => Buffer.alloc(0));
    const round = await holding.request();
    const headers = { ...req.headers };
    delete headers.connection;
    const recorded = opts.record
      ? { sent: { headers: headers as Record<string, string | string[]>, body: sent } }
      : {};
    const delayMs = throttle?.refuse(admitted, performance.now()) ?? null;
    if (delayMs !== null) {
      await holding.answer(round);
      const answer = refusal(req.headers['content-type'], delayMs);
      res.writeHead(429, { ...answer.headers, 'content-length': answer.body.length });
      res.end(answer.body);
      const end = performance.now();
      log.push({ method: req.method ?? '', path: req.url ?? '', start, end, refused: true });
      return;
    }
    admitted++;
    const answered = new Promise<{ up: IncomingMessage; answer: Buffer }>((resolve, reject) => {
      const out = request(
        {
          host: target.hostname,
          port: target.port,
          method: req.method,
          path: req.url,
          headers,
          agent,
        },
        (up) => body(up).then((answer) => resolve({ up, answer }), reject),
      );
      out.on('error', reject);
      out.end(sent);
    }).catch(() => null);
    const got = await answered;
    await holding.answer(round);
    admitted--;
    if (got === null) res.destroy();
    else {
      const back: Record<string, string | string[]> = {};
      for (const [k, v] of Object.entries(got.up.headers))
        if (v !== undefined && !HOP_BY_HOP.has(k)) back[k] = v;
      res.writeHead(got.up.statusCode ?? 502, { ...back, 'content-length': got.answer.length });
      res.end(got.answer);
    }
    const end = performance.now();
    log.push({
      method: req.method ?? '',
      path: req.url ?? '',
      start,
      end,
      ...(round ? { round } : {}),
      ...recorded,
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    host: `127.0.0.1:${port}`,
    get log() {
      return log;
    },
    reset: () => {
      log = [];
    },
    throttle: (t) => {
      throttle = t;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        agent.destroy();
        server.close(() => resolve());
      }),
  };
}

/**
 * Rounds: a request joins the open round, which is sent on once no request has come for
 * `quietMs`; its answers wait for each other, then `answerMs`, and leave together. A request
 * that comes while a round is out joins the next, which opens when those answers have left.
 */
function inRounds(quietMs: number, answerMs: number): Holding {
  interface Round {
    n: number;
    members: number;
    answered: number;
    sent: Promise<void>;
    send: () => void;
    back: Promise<void>;
    release: () => void;
  }
  let count = 0;
  let open: Round | null = null;
  let previous: Promise<void> = Promise.resolve();
  let timer: NodeJS.Timeout | null = null;
  const byNumber = new Map<number, Round>();
  const newRound = (): Round => {
    let send!: () => void;
    let release!: () => void;
    const sent = new Promise<void>((r) => (send = r));
    const back = new Promise<void>((r) => (release = r));
    const r = { n: ++count, members: 0, answered: 0, sent, send, back, release };
    byNumber.set(r.n, r);
    return r;
  };
  return {
    async request() {
      await previous;
      const r = (open ??= newRound());
      r.members++;
      if (timer) clearTimeout(timer);
      timer = setTimeout(() => {
        timer = null;
        open = null;
        previous = r.back;
        r.send();
      }, quietMs);
      await r.sent;
      return r.n;
    },
    async answer(n) {
      const r = byNumber.get(n)!;
      if (++r.answered === r.members) setTimeout(r.release, answerMs);
      await r.back;
    },
  };
}

/** Round trips in a row of `exchanges`: the longest chain of one waiting on another's answer. */
export function roundTripsInARow(exchanges: readonly Exchange[]): number {
  if (exchanges.length > 0 && exchanges.every((e) => e.round !== undefined)) {
    // Rounds are numbered from the proxy's start: these span from their first to their last.
    const rounds = exchanges.map((e) => e.round!);
    return Math.max(...rounds) - Math.min(...rounds) + 1;
  }
  // Answers first at equal times: a request sent the moment an answer came waited for it.
  const events = exchanges.flatMap((e, i) => [
    { t: e.start, kind: 1, i },
    { t: e.end, kind: 0, i },
  ]);
  events.sort((a, b) => a.t - b.t || a.kind - b.kind);
  const depth = new Array<number>(exchanges.length).fill(0);
  let deepestAnswered = 0;
  for (const e of events) {
    if (e.kind === 1) depth[e.i] = deepestAnswered + 1;
    else deepestAnswered = Math.max(deepestAnswered, depth[e.i]!);
  }
  return depth.reduce((most, d) => Math.max(most, d), 0);
}

/** From the first request to the last answer of `exchanges` (ms), or 0. */
export function spanMs(exchanges: readonly Exchange[]): number {
  if (exchanges.length === 0) return 0;
  let first = Infinity;
  let last = -Infinity;
  for (const e of exchanges) {
    first = Math.min(first, e.start);
    last = Math.max(last, e.end);
  }
  return last - first;
}
