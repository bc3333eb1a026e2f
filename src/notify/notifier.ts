/**
 * Daemon notifications: Slack-compatible incoming webhooks (`{"text": …}`) and a generic JSON
 * webhook (the NotifyEvent as-is). Delivery runs in the background, one queue per
 * destination, so a slow receiver never holds the reconcile loop. Each destination is
 * rate-limited (a sliding window; what is dropped is counted and said in the next message)
 * and a failed POST is retried with backoff (network errors, 408, 429 with Retry-After, 5xx).
 * Each POST ends within the call timeout, connect, headers and body (a receiver trickling its
 * answer never holds a queue), and shutdown (close) gives those in flight 10 s, then cuts them.
 * A message of a leadership term (`notify`'s `term`) still queued, or waiting to be tried again,
 * when the term ends is dropped and logged: the next leader reports (docs/daemon.md).
 * The URL is a secret: logs and errors name the destination by its origin only.
 */
import { Agent, request } from 'undici';
import type { Logger } from 'pino';
import { backoffDelay, retryAfterMs } from '../util/backoff.js';
import { SYSTEM_CLOCK, type Clock } from '../util/clock.js';
import {
  NOTIFY_EVENTS,
  type Destination,
  type NotifyEvent,
  type NotifyEventKind,
} from './config.js';
import { nothingToSend } from '../render/rendered-files.js';
import { noAnswerWords, oversizedHeaders, Reach } from '../util/reach.js';
import {
  CallDeadline,
  DEFAULT_LIMITS,
  limitOf,
  limitWords,
  type TransportLimits,
} from '../util/transport-limits.js';
import { formatDuration } from '../util/duration.js';
import { plural } from '../util/plural.js';

export interface NotifierOptions {
  destinations: Destination[];
  /** Events to send (default: all). */
  events?: readonly NotifyEventKind[];
  /** At most this many messages per destination per window (default 10 per minute). */
  rateLimit?: { max: number; windowMs: number };
  logger?: Pick<Logger, 'info' | 'warn' | 'debug'>;
  clock?: Clock;
  /** Each POST's connect, read and call timeouts (the daemon's --connect-timeout, …). */
  limits?: TransportLimits;
}

/** Attempts per message, the first included; the first retry waits 1 s, doubling up to a minute. */
const ATTEMPTS = 5;
/** The most of an answer read: the notifier needs none of it (read, the connection is reused). */
const ANSWER_READ_BYTES = 16 * 1024;
/** What shutdown gives the messages in flight (docs/daemon.md#notifications). */
const SHUTDOWN_GRACE_MS = 10_000;

interface Channel {
  dest: Destination;
  sent: number[];
  suppressed: number;
  queue: Promise<void>;
  /** Whether the receiver answered yet (util/reach.ts): a connection it closes is then no TLS port. */
  reach: Reach;
}

export class Notifier {
  private readonly channels: Channel[];
  private readonly events: ReadonlySet<NotifyEventKind>;
  private readonly clock: Clock;
  private readonly limits: TransportLimits;
  private readonly agent: Agent;
  /** Aborted when shutdown's grace is over: what is in flight, or waiting to retry, ends. */
  private readonly closing = new AbortController();
  private closed = false;

  constructor(private readonly o: NotifierOptions) {
    this.clock = o.clock ?? SYSTEM_CLOCK;
    const limits = (this.limits = o.limits ?? DEFAULT_LIMITS);
    this.agent = new Agent({
      connect: { timeout: limits.connectTimeoutMs },
      headersTimeout: limits.readTimeoutMs,
      bodyTimeout: limits.readTimeoutMs,
    });
    this.channels = o.destinations.map((dest) => ({
      dest,
      sent: [],
      suppressed: 0,
      queue: Promise.resolve(),
      reach: new Reach(),
    }));
    this.events = new Set(o.events ?? NOTIFY_EVENTS);
  }

  /** Returns at once; `term`: the leadership term of the run the event reports (file header). */
  notify(event: NotifyEvent, term?: AbortSignal): void {
    // Repeats were left out by the daemon hook (RunNotifications: by failure identity).
    if (this.closed || !this.events.has(event.event)) return;
    for (const ch of this.channels) {
      if (!this.admit(ch)) {
        ch.suppressed += 1;
        this.o.logger?.warn(
          { destination: ch.dest.origin, event: event.event },
          'notification dropped by the rate limit',
        );
        continue;
      }
      const suppressed = ch.suppressed;
      ch.suppressed = 0;
      ch.queue = ch.queue.then(() => this.deliver(ch, event, suppressed, term));
    }
  }

  /** Every queued message delivered or given up (shutdown, tests). */
  async flush(): Promise<void> {
    await Promise.all(this.channels.map((c) => c.queue));
  }

  /**
   * Shutdown: messages in flight or queued get `graceMs`, then what is left is cut off and
   * logged, and no connection is left open to keep the process alive.
   */
  async close(graceMs = SHUTDOWN_GRACE_MS): Promise<void> {
    this.closed = true;
    const grace = setTimeout(
      () =>
        this.closing.abort(
          new Error(
            `cut off by the shutdown (${formatDuration(graceMs)} given to messages in flight)`,
          ),
        ),
      graceMs,
    );
    await this.flush();
    clearTimeout(grace);
    await this.agent.destroy();
  }

  private admit(ch: Channel): boolean {
    const { max, windowMs } = this.o.rateLimit ?? { max: 10, windowMs: 60_000 };
    const now = this.clock.now();
    ch.sent = ch.sent.filter((t) => now - t < windowMs);
    if (ch.sent.length >= max) return false;
    ch.sent.push(now);
    return true;
  }

  private async deliver(
    ch: Channel,
    event: NotifyEvent,
    suppressed: number,
    term: AbortSignal | undefined,
  ): Promise<void> {
    const { dest, reach } = ch;
    const body = JSON.stringify(
      dest.kind === 'slack' ? slackMessage(event, suppressed) : { ...event, suppressed },
    );
    // The URL's origin only: its path is the credential.
    const origin = new URL(dest.url).origin;
    const { closing } = this;
    for (let attempt = 1; ; attempt++) {
      // A POST already sent went out within the term; none starts after it.
      if (term?.aborted) {
        this.o.logger?.warn(
          {
            destination: dest.origin,
            event: event.event,
            run: event.run,
            reason: (term.reason as Error | undefined)?.message ?? String(term.reason),
          },
          'notification dropped: the leadership term of its run ended, the new leader reports',
        );
        return;
      }
      let retryable: boolean;
      let wait: number | null = null;
      let why: string;
      let status: number | null = null;
      // One bound for connect, headers and the whole body: undici's timers are idle timers,
      // which an answer trickled a byte at a time never trips.
      const deadline = new CallDeadline(this.limits, Date.now, origin);
      const signal = AbortSignal.any([deadline.signal, closing.signal]);
      try {
        const res = await request(dest.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'user-agent': 'poolsync' },
          body,
          dispatcher: this.agent,
          signal,
        });
        reach.answered = true;
        status = res.statusCode;
        await res.body.dump({ limit: ANSWER_READ_BYTES, signal });
        if (status < 300) {
          this.o.logger?.debug(
            { destination: dest.origin, event: event.event },
            'notification sent',
          );
          return;
        }
        why = `HTTP ${status}`;
        retryable = status === 408 || status === 429 || status >= 500;
        wait = retryAfterMs(res.headers['retry-after'], this.clock.now());
      } catch (err) {
        const timedOut = !closing.signal.aborted && limitOf(err) === 'call';
        // Answered: the receiver answers the same way again.
        const answered = oversizedHeaders(err);
        why = closing.signal.aborted
          ? (closing.signal.reason as Error).message
          : timedOut
            ? `${origin}: ${limitWords('call', this.limits)}`
            : answered
              ? `${origin}: ${answered}`
              : noAnswerWords(err, origin, `the ${dest.origin} URL`, undefined, reach);
        // The receiver took the message (its status said so); only its answer never ended.
        if (status !== null && status < 300) {
          this.o.logger?.warn(
            { destination: dest.origin, event: event.event, error: why },
            'notification sent, but its answer was cut off',
          );
          return;
        }
        // The receiver refused it before its answer was cut: the status is what says why.
        if (status !== null) why = `HTTP ${status}, its answer cut off: ${why}`;
        // Another try would wait the whole call timeout again, or meet the same headers.
        retryable = !timedOut && !answered;
      } finally {
        deadline.done();
      }
      if (!retryable || attempt >= ATTEMPTS || closing.signal.aborted) {
        this.o.logger?.warn(
          { destination: dest.origin, event: event.event, attempts: attempt, error: why },
          'notification not delivered',
        );
        return;
      }
      const max = 60_000;
      await this.clock.sleep(
        Math.min(wait ?? backoffDelay(attempt, 1000, max), max),
        term ? AbortSignal.any([closing.signal, term]) : closing.signal,
      );
    }
  }
}

const TITLE: Record<NotifyEventKind, string> = {
  applied: ':white_check_mark: poolsync applied',
  'drift-corrected': ':arrows_counterclockwise: poolsync corrected drift',
  failed: ':x: poolsync failed',
  recovered: ':large_green_circle: poolsync recovered',
  'held-for-approval': ':raised_hand: poolsync is holding changes for approval',
};

/** Per list in a Slack message; the rest are counted. */
const SLACK_LISTED = 10;

function bullets(items: readonly string[], total: number): string[] {
  const lines = items.slice(0, SLACK_LISTED).map((c) => `• ${c}`);
  const more = total - lines.length;
  if (more > 0) lines.push(`… and ${more} more (see the daemon's /status)`);
  return lines;
}

/** Slack incoming-webhook payload (also accepted by Mattermost, Rocket.Chat, Discord's /slack). */
export function slackMessage(event: NotifyEvent, suppressed = 0): { text: string } {
  const where = Object.values(event.source).filter(Boolean).join(' ');
  // An `applied` that sent nothing (daemon-hook.ts) is about the generated files alone.
  const title =
    event.event === 'applied' && event.changed_total === 0 && event.rendered_files.length > 0
      ? `:page_facing_up: poolsync: ${nothingToSend(event.rendered_files).rest}`
      : TITLE[event.event];
  const lines = [
    `*${title}*${event.commit ? ` commit \`${event.commit.slice(0, 12)}\`` : ''}${where ? ` (${where})` : ''}`,
    event.message,
    ...bullets(event.changed, event.changed_total),
    ...bullets(event.waiting_for_approval, event.waiting_total),
    ...event.errors.slice(0, 5).map((e) => `• ${e}`),
  ];
  if (suppressed > 0)
    lines.push(
      `_${plural(suppressed, 'earlier notification was', 'earlier notifications were')} dropped by the rate limit._`,
    );
  return { text: lines.join('\n') };
}
