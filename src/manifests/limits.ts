/**
 * Input limits of manifests.md ("Limits") and docs/security.md: hostile input is an error,
 * never a crash. Three of them can be changed per repository in poolsync.yaml (`limits:`),
 * up to a ceiling no setting can pass, so a commit can raise them but never switch them off.
 */
export interface InputLimits {
  /** Bytes per file, checked before the file is read. */
  maxFileBytes: number;
  /** Non-empty documents per folder. */
  maxDocuments: number;
  /**
   * Scalar text in one document with aliases expanded (UTF-16 code units: a byte per ASCII
   * character). Aliases of a large string multiply it; every later stage (fingerprints,
   * plan JSON) works on the expanded value, so this bounds their memory.
   */
  maxDocumentBytes: number;
  /** Text that aliases add across the whole folder, so many small documents cannot add up. */
  maxAliasBytesTotal: number;
  /** Nodes that aliases add to one document when expanded (alias bombs). */
  maxAliasExpansion: number;
  /** Nodes that aliases add across the whole folder. */
  maxAliasExpansionTotal: number;
  /** Collection nesting; manifests need 4 levels, deep nesting only serves to exhaust the stack. */
  maxDepth: number;
}

const KiB = 1024;
const MiB = 1024 * KiB;

/**
 * The defaults hold an organisation of 100,000 objects in files of a few thousand objects
 * (1 MiB each at most, manifests.md); docs/security.md says why 150,000 documents and what
 * memory they need, which the heap budget (memory-budget.ts) guards.
 */
export const LIMITS: Readonly<InputLimits> = {
  maxFileBytes: 1 * MiB,
  maxDocuments: 150_000,
  maxDocumentBytes: 1 * MiB,
  maxAliasBytesTotal: 64 * MiB,
  maxAliasExpansion: 10_000,
  maxAliasExpansionTotal: 1_000_000,
  maxDepth: 64,
};

/** The `limits:` settings of poolsync.yaml: key → the limit it sets and its ceiling. */
export const LIMIT_SETTINGS = {
  file_bytes: { limit: 'maxFileBytes', ceiling: 64 * MiB, unit: 'bytes' },
  document_bytes: { limit: 'maxDocumentBytes', ceiling: 64 * MiB, unit: 'bytes' },
  documents: { limit: 'maxDocuments', ceiling: 1_000_000, unit: 'documents' },
} as const satisfies Record<
  string,
  { limit: keyof InputLimits; ceiling: number; unit: 'bytes' | 'documents' }
>;
export type LimitSetting = keyof typeof LIMIT_SETTINGS;

/** A limit's value from poolsync.yaml: a positive whole number, else null (the schema says why). */
export function parseLimitValue(value: unknown): number | null {
  return typeof value === 'number' && Number.isSafeInteger(value) && value > 0 ? value : null;
}

/** `1,048,576 bytes (1 MiB)`: exact bytes first, so `1.0 MiB, over 1 MiB` cannot happen. */
export function formatBytes(n: number): string {
  const exact = `${n.toLocaleString('en-US')} bytes`;
  if (n >= MiB) return `${exact} (${+(n / MiB).toFixed(2)} MiB)`;
  if (n >= KiB) return `${exact} (${+(n / KiB).toFixed(2)} KiB)`;
  return exact;
}
