/**
 * Whether a unit may apply now: a person suspended it (`poolsync suspend`, kept in
 * `<state-dir>/suspended.json` across restarts) or a sync window of the configuration denies
 * it, as Argo CD's sync windows and `flux suspend` do. A frozen unit still plans and detects
 * drift; its gate applies nothing (stages/plan.ts) unless a run was asked to override the
 * freeze (`poolsync sync --override-freeze`). Windows are read on the injected clock.
 */
import { join } from 'node:path';
import { didYouMean } from '../manifests/suggest.js';
import { freezeWords } from '../render/daemon-words.js';
import type { Clock } from '../util/clock.js';
import { nullable, record, shapeProblem, str } from '../util/json-shape.js';
import { writeOwnFile } from '../util/safe-file.js';
import { readKeptFile } from '../util/state-file.js';
import { NewerFormatError, refuseNewer } from '../util/format-version.js';
import { UserError } from '../util/user-error.js';

/**
 * `allow|deny DAYS HH:MM-HH:MM [TIME_ZONE]`: DAYS is `*` or days and ranges (`Mon-Fri,Sun`); an
 * end at or before the start runs past midnight; the zone is an IANA name (default UTC).
 */
export interface SyncWindow {
  kind: 'allow' | 'deny';
  /** As written (shown). */
  text: string;
  /** `ms`: epoch milliseconds. */
  openAt(ms: number): boolean;
}

const DAYS = ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'];
/** A day's index, by its name or first three letters (any case); -1 for anything else. */
const dayIndex = (d: string) =>
  DAYS.findIndex((n) => d.toLowerCase() === n || d.toLowerCase() === n.slice(0, 3));
const MINUTES = (h: string, m: string) => Number(h) * 60 + Number(m);

/** The windows of `--sync-windows`, separated by `;`; a mistake names where it came from. */
export function parseSyncWindows(text: string, origin: string): SyncWindow[] {
  return text
    .split(';')
    .map((w) => w.trim())
    .filter((w) => w !== '')
    .map((w) => parseWindow(w, origin));
}

function parseWindow(text: string, origin: string): SyncWindow {
  const bad = (why: string) =>
    new UserError(
      `${origin}: sync window "${text}": ${why}; write it like "deny Mon-Fri 18:00-08:00 Europe/Berlin" or "allow * 09:00-17:00" (docs/daemon.md#freeze-and-resume)`,
    );
  const m = /^(allow|deny)\s+(\S+)\s+(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})(?:\s+(\S+))?$/i.exec(text);
  if (!m) throw bad('not KIND DAYS HH:MM-HH:MM [TIME_ZONE]');
  const [, kind, daysText, h1, m1, h2, m2, zone = 'UTC'] = m as unknown as string[];
  const start = MINUTES(h1!, m1!);
  const end = MINUTES(h2!, m2!);
  if (start >= 24 * 60 || end > 24 * 60 || Number(m1) > 59 || Number(m2) > 59)
    throw bad('a time is from 00:00 to 24:00');
  const days = new Set<number>();
  for (const part of daysText!.split(',')) {
    if (part === '*') DAYS.forEach((_, i) => days.add(i));
    else {
      const [from, to = from] = part.split('-').map(dayIndex);
      if (from === undefined || from < 0 || to! < 0 || part.split('-').length > 2)
        throw bad(`"${part}" is not a day (Mon … Sun), a range of days (Mon-Fri) or *`);
      for (let d = from; ; d = (d + 1) % 7) {
        days.add(d);
        if (d === to) break;
      }
    }
  }
  let local: Intl.DateTimeFormat;
  try {
    local = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      weekday: 'short',
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
    });
  } catch {
    const hint = didYouMean(zone, Intl.supportedValuesOf('timeZone'));
    throw bad(`"${zone}" is not a time zone${hint} (an IANA name such as UTC or Europe/Berlin)`);
  }
  return {
    kind: kind!.toLowerCase() as SyncWindow['kind'],
    text: `${kind!.toLowerCase()} ${daysText} ${h1}:${m1}-${h2}:${m2} ${zone}`,
    openAt(ms) {
      const parts = Object.fromEntries(local.formatToParts(ms).map((p) => [p.type, p.value]));
      const day = dayIndex(String(parts.weekday));
      const minute = MINUTES(parts.hour!, parts.minute!);
      // The part of a window that runs past midnight belongs to the day it started.
      if (start < end) return days.has(day) && start <= minute && minute < end;
      return (days.has(day) && minute >= start) || (days.has((day + 6) % 7) && minute < end);
    },
  };
}

export interface Suspension {
  since: string;
  by: string;
  reason: string | null;
}

/** /status `freeze`. */
export interface FreezeStatus {
  frozen: boolean;
  /** In words; null when applies may go. */
  why: string | null;
  suspended: Suspension | null;
  windows: string[];
}

const MINUTE = 60_000;
const WEEK = 7 * 24 * 60 * MINUTE;

const FILE = 'suspended.json';
const WHAT = 'suspension';
/** Absent in files written before it was: format 1 (util/format-version.ts). */
const FORMAT = 1;
const SHAPE = record({
  suspended: nullable(record({ since: str, by: str, reason: nullable(str) })),
});

export class Freeze {
  private readonly listeners = new Set<(why: string) => void>();

  private constructor(
    private readonly windows: readonly SyncWindow[],
    private readonly clock: Clock,
    private readonly stateDir: string,
    private suspension: Suspension | null,
  ) {}

  /**
   * A suspension file that does not read is set aside (util/state-file.ts) and applies stay
   * suspended until `poolsync resume`: what it held may have been a suspension.
   */
  static async open(
    windows: readonly SyncWindow[],
    clock: Clock,
    stateDir: string,
    warn: (err: string) => void,
  ): Promise<Freeze> {
    const path = join(stateDir, FILE);
    let unread: string | null = null;
    const kept = await readKeptFile(stateDir, path, {
      maxBytes: 64 * 1024,
      what: WHAT,
      warn: (m) => (unread = m),
      parse: (data) => {
        refuseNewer(path, (data as { format?: unknown })?.format, FORMAT);
        return (
          shapeProblem('suspension', SHAPE, data) ?? (data as { suspended: Suspension | null })
        );
      },
    }).catch((err: unknown) => {
      if (err instanceof NewerFormatError) throw err; // kept for the newer build, never replaced
      unread = (err as Error).message;
      return null;
    });
    const freeze = new Freeze(windows, clock, stateDir, kept?.suspended ?? null);
    if (unread !== null) {
      warn(`${unread}; applies stay suspended until \`poolsync resume\``);
      const reason = `${FILE} could not be read`;
      await freeze.suspend('poolsync', reason).catch(() => {
        freeze.suspension = { since: new Date(clock.now()).toISOString(), by: 'poolsync', reason };
      });
    }
    return freeze;
  }

  /**
   * Kept across restarts; returns the suspension in force before, which a second suspend keeps
   * whole (who, why and since), or null. Each listener is told before this resolves, the second
   * time too (it stops a run that overrides the freeze), so an apply in flight starts no step
   * after `poolsync suspend` is answered.
   */
  async suspend(by: string, reason: string | null): Promise<Suspension | null> {
    const before = this.suspension;
    if (before === null)
      await this.keep({ since: new Date(this.clock.now()).toISOString(), by, reason });
    const why = this.why()!;
    for (const listener of [...this.listeners]) listener(why);
    return before;
  }

  /** `listener` is told of each suspension (stages/apply.ts); returns the unsubscribe. */
  onSuspend(listener: (why: string) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Returns the suspension lifted, or null when applies were not suspended. */
  async resume(): Promise<Suspension | null> {
    const before = this.suspension;
    if (before !== null) await this.keep(null);
    return before;
  }

  private async keep(suspension: Suspension | null): Promise<void> {
    await writeOwnFile(
      this.stateDir,
      join(this.stateDir, FILE),
      JSON.stringify({ format: FORMAT, suspended: suspension }),
      { what: WHAT, mode: 0o600 },
    );
    this.suspension = suspension;
  }

  /** The suspension first, then a deny window, then no allow window open; null: applies may go. */
  why(): string | null {
    if (this.suspension) return freezeWords.suspended(this.suspension);
    return this.windowsWhy(this.clock.now());
  }

  private windowsWhy(ms: number): string | null {
    const deny = this.windows.find((w) => w.kind === 'deny' && w.openAt(ms));
    if (deny) return freezeWords.denyWindow(deny.text);
    const allow = this.windows.filter((w) => w.kind === 'allow');
    if (allow.length > 0 && !allow.some((w) => w.openAt(ms)))
      return freezeWords.outsideAllowWindows(allow.map((w) => w.text));
    return null;
  }

  /**
   * While the sync windows alone freeze applies: the first minute they let applies go (epoch
   * ms), null when none does within a week; undefined when not frozen by windows alone.
   */
  windowsOpenAt(): number | null | undefined {
    const now = this.clock.now();
    if (this.suspension || this.windowsWhy(now) === null) return undefined;
    // Minute by minute (windows are written to the minute), so time zones and DST need no rules.
    for (let ms = Math.floor(now / MINUTE) * MINUTE + MINUTE; ms <= now + WEEK; ms += MINUTE)
      if (this.windowsWhy(ms) === null) return ms;
    return null;
  }

  status(): FreezeStatus {
    const why = this.why();
    return {
      frozen: why !== null,
      why,
      suspended: this.suspension,
      windows: this.windows.map((w) => w.text),
    };
  }
}
