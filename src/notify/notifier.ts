/**
 * Daemon notifications: Slack-compatible incoming webhooks (`{"text": …}`) and a generic JSON
 * webhook (the NotifyEvent as-is). Delivery runs in the background, one queue per
 * destination, so a slow receiver never holds the reconcile loop. Each destination is
 * rate-limited (a sliding window; what is dropped is counted and said in the next message)
 * and a failed POST is retried with backoff (network errors, 408, 429 with Retry-After, 5xx).
 * The URL is a secret: logs and errors name the destination by its origin only.
 */
import { request } from 'undici';
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
import { noAnswerWords, Reach } from '../util/reach.js';

export interface NotifierOptions {
  destinations: Destination[];
  /** Events to send (default: all). */
  events?: readonly NotifyEventKind[];
  /** At most this many messages per destination per window (default 10 per minute). */
  rateLimit?: { max: number; windowMs: number };
  logger?: Pick<Logger, 'info' | 'warn' | 'debug'>;
  clock?: Clock;
}

/** Attempts per message, the first included; the first retry waits 1 s, doubling up to a minute. */
const ATTEMPTS = 5;
const TIMEOUT_MS = 10_000;

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

  constructor(private readonly o: NotifierOptions) {
    this.clock = o.clock ?? SYSTEM_CLOCK;
    this.channels = o.destinations.map((dest) => ({
      dest,
      sent: [],
      suppressed: 0,
      queue: Promise.resolve(),
      reach: new Reach(),
    }));
    this.events = new Set(o.events ?? NOTIFY_EVENTS);
  }

  /** Returns at once. */
  notify(event: NotifyEvent): void {
    // Repeats were left out by the daemon hook (RunNotifications: by failure identity).
    if (!this.events.has(event.event)) return;
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
      ch.queue = ch.queue.then(() => this.deliver(ch, event, suppressed));
    }
  }

  /** Every queued message delivered or given up (shutdown, tests). */
  async flush(): Promise<void> {
    await Promise.all(this.channels.map((c) => c.queue));
  }

  private admit(ch: Channel): boolean {
    const { max, windowMs } = this.o.rateLimit ?? { max: 10, windowMs: 60_000 };
    const now = this.clock.now();
    ch.sent = ch.sent.filter((t) => now - t < windowMs);
    if (ch.sent.length >= max) return false;
    ch.sent.push(now);
    return true;
  }

  private async deliver(ch: Channel, event: NotifyEvent, suppressed: number): Promise<void> {
    const { dest, reach } = ch;
    const body = JSON.stringify(
      dest.kind === 'slack' ? slackMessage(event, suppressed) : { ...event, suppressed },
    );
    for (let attempt = 1; ; attempt++) {
      let retryable: boolean;
      let wait: number | null = null;
      let why: string;
      try {
        const res = await request(dest.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'user-agent': 'poolsync' },
          body,
          headersTimeout: TIMEOUT_MS,
          bodyTimeout: TIMEOUT_MS,
        });
        reach.answered = true;
        await res.body.dump();
        if (res.statusCode < 300) {
          this.o.logger?.debug(
            { destination: dest.origin, event: event.event },
            'notification sent',
          );
          return;
        }
        why = `HTTP ${res.statusCode}`;
        retryable = res.statusCode === 408 || res.statusCode === 429 || res.statusCode >= 500;
        wait = retryAfterMs(res.headers['retry-after'], this.clock.now());
      } catch (err) {
        // The URL's origin only: its path is the credential.
        why = noAnswerWords(
          err,
          new URL(dest.url).origin,
          `the ${dest.origin} URL`,
          undefined,
          reach,
        );
        retryable = true;
      }
      if (!retryable || attempt >= ATTEMPTS) {
        this.o.logger?.warn(
          { destination: dest.origin, event: event.event, attempts: attempt, error: why },
          'notification not delivered',
        );
        return;
      }
      const max = 60_000;
      await this.clock.sleep(Math.min(wait ?? backoffDelay(attempt, 1000, max), max));
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
    lines.push(`_${suppressed} earlier notification(s) were dropped by the rate limit._`);
  return { text: lines.join('\n') };
}
