/**
 * What the quickstart's terminal says of each run (docs/daemon.md#quickstart): the run's result
 * and message as /status has them, in a line when they say something new. Every apply is new;
 * a failure, a freeze, a hold or a plan left by policy is said once while it stays the same
 * (a retry must not make an outage a line per retry), and the first good run after a failure
 * says it recovered. Drift found by the run is listed under it, put back or not.
 */
import { firstErrors } from '../notify/daemon-hook.js';
import { terminalWords } from '../render/daemon-words.js';
import type { DaemonStatus } from './status.js';

const BAD = new Set(['failed', 'invalid']);

export class RunLines {
  /** `environment`: the one whose runs these are (a daemon with environments has one each). */
  constructor(private readonly environment: string | null = null) {}

  /** What the last line said of a run that repeats (a failure, a freeze …); null after an apply. */
  private said: string | null = null;
  private failing = false;

  /** The lines of the run `status` last recorded (empty when it says nothing new). */
  next(status: Pick<DaemonStatus, 'lastRun' | 'lastDrift' | 'errors'>): string {
    const run = status.lastRun;
    if (!run || run.result === 'unchanged') return '';
    // A run the shutdown stopped before it changed anything: the line saying it stopped says it.
    if (run.result === 'stopped' && run.changedTotal === 0) return '';
    const drift = status.lastDrift?.run === run.id ? status.lastDrift.changes : [];
    const errors = BAD.has(run.result) ? firstErrors(status.errors) : [];
    // Known by what it says, without its numbers or retry note: the same failure, freeze or hold.
    const said = [
      run.result,
      run.message.replace(/; retrying in .*$/, '').replace(/\d+/g, '#'),
      ...status.errors.map((e) => `${e.code}@${e.location ?? e.address ?? ''}`),
      ...drift.map((c) => `${c.action} ${c.address} ${c.corrected}`),
    ].join('\n');
    const recovered = this.failing && !BAD.has(run.result);
    this.failing = BAD.has(run.result);
    // A run that changed something is news, whatever else it says (its plan was printed).
    const repeated = said === this.said && !recovered && !(run.changedTotal > 0);
    // In sync is said only when it tells something: generated files a person must deploy, or
    // objects no file is named for (once).
    const quiet =
      run.result === 'in_sync' && !run.renderedFiles?.length && !run.unnamedRender?.length;
    this.said = run.result === 'applied' || quiet ? null : said;
    if (repeated || (quiet && !recovered)) return '';
    return terminalWords.run(run, { recovered, drift, errors }, this.environment);
  }
}

/** What pino puts in every record; the rest are the record's own fields. */
const BASE_FIELDS = new Set(['level', 'time', 'pid', 'hostname', 'name', 'msg']);

/**
 * A log record (warnings and errors: the quickstart logs no others) as a line of the terminal,
 * or null for those its run lines say already: a run's record and the drift it found.
 */
export function recordLine(record: Record<string, unknown>): string | null {
  const { level, msg } = record;
  if (typeof record.run === 'number' && 'result' in record) return null;
  if (Array.isArray(record.drift)) return null;
  const text = (v: unknown): string | null => (typeof v === 'string' ? v : null);
  // http.ts logs who suspended or resumed (`poolsync suspend`, the dashboard).
  if (msg === 'applies suspended')
    return terminalWords.suspended(text(record.by) ?? 'unknown', text(record.reason));
  if (msg === 'applies resumed') return terminalWords.resumed(text(record.by) ?? 'unknown');
  const fields = Object.entries(record).filter(
    ([key, value]) => !BASE_FIELDS.has(key) && value !== null && value !== undefined,
  );
  return terminalWords.record(
    typeof level === 'number' ? level : 40,
    text(msg) ?? '',
    Object.fromEntries(fields),
  );
}
