/** Public types of the manifest loader (docs/architecture.md, manifests.md). */
import type { DesiredState } from '../model/desired.js';

/**
 * Stable error codes: V1–V16 the rules of manifests.md (rules.ts); SCHEMA a document its kind's
 * JSON Schema refuses; YAML unreadable YAML (syntax, duplicate keys, tags, encoding); LIMIT an
 * input limit; IO a file or folder that cannot be read.
 */
export type ValidationCode =
  | `V${1 | 2 | 3 | 4 | 5 | 6 | 7 | 8 | 9 | 10 | 11 | 12 | 13 | 14 | 15 | 16}`
  | 'SCHEMA'
  | 'YAML'
  | 'LIMIT'
  | 'IO';

export interface ValidationError {
  code: ValidationCode;
  /** One line, says what is wrong and, where it helps, what to do. */
  message: string;
  /** Relative to the repository folder, forward slashes; line and column 1-based. */
  file: string;
  line: number;
  column: number;
  /** `<Kind>/<name>`, when known. */
  address: string | null;
}

/** Reports an error of poolsync.yaml at a line and column (config.ts and what it reads with). */
export type AddError = (
  code: ValidationCode,
  message: string,
  at: { line: number; column: number },
) => void;

export interface LoadCounts {
  pools: number;
  clusters: number;
  queues: number;
  assignments: number;
  /** DefaultQueue documents; absent (0) in counts made before the kind existed. */
  default_queues?: number;
  /** Manifest files read (poolsync.yaml not included). */
  files: number;
  /** Non-empty YAML documents read. */
  documents: number;
  /** The Flyte OSS kinds, present when the folder declares any. */
  flyte?: { execution_clusters: number; cluster_labels: number; execution_cluster_labels: number };
}

/** An entry not read: not a regular file or folder. */
export interface SkippedEntry {
  path: string;
  reason: string;
}

export type LoadResult = (
  | { valid: true; desired: DesiredState; errors: []; counts: LoadCounts }
  | { valid: false; desired: null; errors: ValidationError[]; counts: LoadCounts }
) & {
  /** Symbolic links, FIFOs, sockets and devices skipped (absent when there were none). */
  skipped?: SkippedEntry[];
};
