/** Text and JSON forms of a load result, shared by `validate` and `plan`. */
import { join } from 'node:path';
import type { LoadCounts, LoadResult, ValidationError } from './types.js';
import { comparePaths } from './walk.js';

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

export interface TextOptions {
  /**
   * Folder the error paths are relative to; when given, paths are shown joined to it (as
   * the user typed it), so editors and terminals can open them.
   */
  baseDir?: string;
}

/** One line per error, `path:line:col: CODE message`, sorted by file and line, then a count. */
export function formatValidationText(errors: ValidationError[], opts: TextOptions = {}): string {
  const shown = (file: string): string =>
    opts.baseDir === undefined ? file : join(opts.baseDir, file);
  const sorted = [...errors].sort(
    (a, b) =>
      comparePaths(a.file, b.file) ||
      a.line - b.line ||
      a.column - b.column ||
      comparePaths(a.code, b.code),
  );
  const lines = sorted.map((e) => `${shown(e.file)}:${e.line}:${e.column}: ${e.code} ${e.message}`);
  const files = new Set(errors.map((e) => e.file)).size;
  lines.push(`${plural(errors.length, 'error')} in ${plural(files, 'file')}.`);
  return lines.join('\n') + '\n';
}

/** `Valid: 4 pools, 9 clusters, 12 queues, 5 assignments in 14 files.` */
export function formatSummary(counts: LoadCounts): string {
  return (
    `Valid: ${plural(counts.pools, 'pool')}, ${plural(counts.clusters, 'cluster')}, ` +
    `${plural(counts.queues, 'queue')}, ${plural(counts.assignments, 'assignment')} ` +
    (counts.flyte
      ? `(and ${plural(counts.flyte.execution_clusters, 'execution cluster')}, ${plural(counts.flyte.cluster_labels, 'cluster label')}, ` +
        `${plural(counts.flyte.execution_cluster_labels, 'execution cluster label')}) `
      : '') +
    `in ${plural(counts.files, 'file')}.\n`
  );
}

export interface JsonReport {
  valid: boolean;
  errors: ValidationError[];
  counts: LoadCounts;
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
  };
}
