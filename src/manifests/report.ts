/** Text and JSON forms of a load result, shared by `validate` and `plan`. */
import { join } from 'node:path';
import { plural } from '../util/plural.js';
import type { FolderRead } from './config.js';
import { unreadFiles } from './environments.js';
import type { LoadCounts, LoadResult, SkippedEntry, ValidationError } from './types.js';
import { comparePaths } from './walk.js';
import { escapeTerminal } from '../util/terminal-text.js';

/** Lines shown per file, code and object: one 100,000-entry selector must not print 100,000. */
export const REPEATS_SHOWN = 10;

export interface TextOptions {
  /** Paths are shown joined to it (as the user typed it), so editors and terminals open them. */
  baseDir?: string;
}

/** A path as the user names it (joined to `baseDir`), escaped for the terminal. */
const shown = (file: string, { baseDir }: TextOptions): string =>
  escapeTerminal(baseDir === undefined ? file : join(baseDir, file));

/** Another place a message names (rules.ts, environments.ts: `also declared at b.yaml:1:1`, `(b.yaml:1:1)`). */
const PLACE = /(?<=\bat |\()((?:(?! at )[^()\n])+?):(\d+):(\d+)(?=[);,]|$)/g;

/** `e` with its file and the places its message names as `path` makes them, so they read alike. */
export function relocated(e: ValidationError, path: (file: string) => string): ValidationError {
  const message = e.message.replace(
    PLACE,
    (_, f: string, l: string, c: string) => `${path(f)}:${l}:${c}`,
  );
  return { ...e, file: path(e.file), message };
}

/**
 * By file, line, column, then code, message and address, so output is stable: the same errors
 * found in another order (a whole load, a recheck) sort the same.
 */
export function compareErrors(a: ValidationError, b: ValidationError): number {
  return (
    comparePaths(a.file, b.file) ||
    a.line - b.line ||
    a.column - b.column ||
    comparePaths(a.code, b.code) ||
    comparePaths(a.message, b.message) ||
    comparePaths(a.address ?? '', b.address ?? '')
  );
}

const SAFE =
  // eslint-disable-next-line no-control-regex -- one-line messages only
  /^[^\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]*$/;

/** A load's errors as reported: sorted, each message one line. */
export function sortedErrors(errors: ValidationError[]): ValidationError[] {
  // Messages quote YAML values: a newline or ESC inside one must not break the one-line rule.
  return errors
    .map((e) => (SAFE.test(e.message) ? e : { ...e, message: escapeTerminal(e.message) }))
    .sort(compareErrors);
}

/** `path:line:col: CODE message` per error, sorted, then a count; escaped for the terminal. */
export function formatValidationText(errors: ValidationError[], opts: TextOptions = {}): string {
  const { baseDir } = opts;
  const sorted = (
    baseDir === undefined ? [...errors] : errors.map((e) => relocated(e, (f) => join(baseDir, f)))
  ).sort(compareErrors);
  const lines: string[] = [];
  const hidden = new Map<string, { e: ValidationError; n: number }>();
  for (const e of sorted) {
    const key = `${e.file}\0${e.code}\0${e.address ?? ''}`;
    const group = hidden.get(key) ?? { e, n: 0 };
    hidden.set(key, group);
    if (++group.n > REPEATS_SHOWN) continue;
    lines.push(
      `${escapeTerminal(e.file)}:${e.line}:${e.column}: ${e.code} ${escapeTerminal(e.message)}`,
    );
  }
  for (const { e, n } of hidden.values()) {
    if (n <= REPEATS_SHOWN) continue;
    const more = n - REPEATS_SHOWN;
    const errors = more === 1 ? 'error' : 'errors';
    lines.push(
      `${escapeTerminal(e.file)}: ${more.toLocaleString('en-US')} more ${e.code} ${errors}${e.address ? ` of ${escapeTerminal(e.address)}` : ''} not shown (--output json lists every error)`,
    );
  }
  const files = new Set(errors.map((e) => e.file)).size;
  lines.push(
    `${plural(errors.length, 'error').replace(/^\d+/, (n) => Number(n).toLocaleString('en-US'))} in ${plural(files, 'file')}.`,
  );
  return lines.join('\n') + '\n';
}

const unionObjects = (c: LoadCounts) =>
  c.pools + c.clusters + c.queues + c.assignments + (c.default_queues ?? 0);

/** The objects a load declared, of every kind. */
export const objectCount = (c: LoadCounts) =>
  unionObjects(c) + Object.values(c.flyte ?? {}).reduce((sum, n) => sum + n, 0);

/**
 * `Valid: 4 pools, 9 clusters, 12 queues, 5 assignments in 14 files.`; a Flyte OSS folder,
 * which declares none of those, names only its own kinds.
 */
export function formatSummary(counts: LoadCounts): string {
  const union =
    `${plural(counts.pools, 'pool')}, ${plural(counts.clusters, 'cluster')}, ` +
    `${plural(counts.queues, 'queue')}, ${plural(counts.assignments, 'assignment')}` +
    (counts.default_queues ? `, ${plural(counts.default_queues, 'default-queue setting')}` : '');
  const flyte = counts.flyte
    ? `${plural(counts.flyte.execution_clusters, 'execution cluster')}, ${plural(counts.flyte.cluster_labels, 'cluster label')}, ` +
      plural(counts.flyte.execution_cluster_labels, 'execution cluster label')
    : '';
  const kinds = !flyte ? union : unionObjects(counts) === 0 ? flyte : `${union} (and ${flyte})`;
  return `Valid: ${kinds} in ${plural(counts.files, 'file')}.\n`;
}

/** `Skipped 2 entries that are not … : a.yaml (symbolic link), f.yaml (FIFO) ...`, or ''. */
export function formatSkipped(
  skipped: readonly SkippedEntry[] | undefined,
  opts: TextOptions = {},
): string {
  if (!skipped || skipped.length === 0) return '';
  const list = skipped.slice(0, 5).map((s) => `${shown(s.path, opts)} (${s.reason})`);
  if (skipped.length > 5) list.push(`and ${skipped.length - 5} more`);
  return (
    `Skipped ${plural(skipped.length, 'entry', 'entries')} that ${skipped.length === 1 ? 'is' : 'are'} not a regular file or folder: ${list.join(', ')}. ` +
    'poolsync reads regular files only: a link could pull in files from outside the folder, a FIFO would block.\n'
  );
}

/** Skipped entries of several loads (each environment's), each entry once. */
export function skippedOnce(results: readonly Pick<LoadResult, 'skipped'>[]): SkippedEntry[] {
  const byPath = new Map(results.flatMap((r) => r.skipped ?? []).map((s) => [s.path, s]));
  return [...byPath.values()].sort((a, b) => comparePaths(a.path, b.path));
}

/**
 * The YAML files no environment reads, neither as a manifest nor as a patch (docs/environments.md):
 * none without environments, nor while poolsync.yaml has errors.
 */
export async function unreadOf({ config, walk }: FolderRead): Promise<string[]> {
  const envs = config.errors.length === 0 ? config.config.environments : undefined;
  return envs ? unreadFiles((await walk()).files, envs) : [];
}

/** `Note: 2 YAML files are in no environment's folders …: a.yaml, b/c.yaml. …`, or ''. */
export function formatUnread(files: readonly string[], opts: TextOptions = {}): string {
  if (files.length === 0) return '';
  const list = files.slice(0, 5).map((f) => shown(f, opts));
  if (files.length > 5) list.push(`and ${files.length - 5} more`);
  const one = files.length === 1;
  return (
    `Note: ${plural(files.length, 'YAML file')} ${one ? 'is' : 'are'} in no environment's folders, so no environment reads ${one ? 'it' : 'them'} (not validated, never planned): ${list.join(', ')}. ` +
    `Add ${one ? 'its' : 'their'} folder to an environment's folders in poolsync.yaml, or list ${one ? 'it' : 'them'} under ignore.\n`
  );
}

export interface JsonReport {
  valid: boolean;
  errors: ValidationError[];
  counts: LoadCounts;
  skipped?: SkippedEntry[];
}

export function toJsonReport(result: LoadResult): JsonReport {
  return {
    valid: result.valid,
    errors: result.errors.map((e) => ({
      code: e.code,
      message: e.message,
      file: e.file,
      line: e.line,
      column: e.column,
      address: e.address,
    })),
    counts: result.counts,
    ...(result.skipped ? { skipped: result.skipped } : {}),
  };
}
