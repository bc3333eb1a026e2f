/**
 * Every format poolsync writes says its version (docs/versioning.md): an older one is read (an
 * absent field takes its default), a newer one is refused in one line naming both versions,
 * never set aside or overwritten: what a newer build wrote stays for it.
 */
import { packageVersion } from './package-version.js';
import { UserError } from './user-error.js';

/** A file or answer of a format newer than this build reads: callers that set aside let it through. */
export class NewerFormatError extends UserError {}

/** The other side (an earlier server) reads only a format older than the one this build writes. */
export class OlderReaderError extends UserError {}

/** A format number as written (a plan's is a string of digits), or null when it is none. */
function formatNumber(v: unknown): number | null {
  const n = typeof v === 'string' && /^\d{1,9}$/.test(v) ? Number(v) : v;
  return typeof n === 'number' && Number.isSafeInteger(n) ? n : null;
}

/** Whether `found` is a format after `reads`. */
export function isNewerFormat(found: unknown, reads: number | string): boolean {
  const n = formatNumber(found);
  return n !== null && n > formatNumber(reads)!;
}

/** `what` (a path) is format `found`, which this build, reading `reads`, cannot read. */
export function newerFormatMessage(what: string, found: unknown, reads: number | string): string {
  return `${what} is format ${String(found)}, written by a newer poolsync; this poolsync (${packageVersion()}) reads format ${reads}: upgrade poolsync`;
}

/** Throws a NewerFormatError when `found` is a format after `reads`. */
export function refuseNewer(what: string, found: unknown, reads: number | string): void {
  if (isNewerFormat(found, reads))
    throw new NewerFormatError(newerFormatMessage(what, found, reads));
}
