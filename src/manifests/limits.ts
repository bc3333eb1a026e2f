/**
 * Input limits (manifests.md "Limits", docs/security.md): hostile input is an error, never a
 * crash. poolsync.yaml `limits:` may raise three, up to a ceiling: never switch them off.
 */
import { getHeapStatistics } from 'node:v8';

export interface InputLimits {
  /** Bytes per file, checked before the file is read. */
  maxFileBytes: number;
  /** Non-empty documents per folder. */
  maxDocuments: number;
  /**
   * Scalar text in one document, aliases expanded (UTF-16 code units): every later stage
   * (fingerprints, plan JSON) works on the expanded value, so this bounds their memory.
   */
  maxDocumentBytes: number;
  /** Text that aliases add across the whole folder, so many small documents cannot add up. */
  maxAliasBytesTotal: number;
  /** Nodes that aliases add to one document (alias bombs), and across the folder. */
  maxAliasExpansion: number;
  maxAliasExpansionTotal: number;
  /** Collection nesting; manifests need 4 levels, deep nesting only serves to exhaust the stack. */
  maxDepth: number;
}

const KiB = 1024;
const MiB = 1024 * KiB;

/**
 * The defaults hold 100,000 objects in files of a few thousand (1 MiB at most, manifests.md);
 * docs/security.md says why 150,000 documents and the memory heapBudget guards.
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

/** poolsync.yaml `limits:`: key → the limit it sets and its ceiling. */
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

/**
 * The heap budget (issue 23): ceilings are far above what a small heap holds, so the loader also
 * refuses with `LIMIT` where the budget runs out, before the process would (a daemon keeps the
 * last good state; a CLI exits 1, never 134). YAML read so far (aliases expanded) times the heap
 * a byte takes through `plan` or `apply` (30-50 measured at 10,000-100,000 objects: 48 with a
 * margin), against what V8 may still grow to less a reserve. docs/security.md has the figures.
 */
const HEAP_PER_YAML_BYTE = 48;
/** Heap kept free for the program itself (its code, the HTTP server, the executor). */
const RESERVE_BYTES = 24 * 1024 * 1024;

interface HeapBudget {
  /** Heap the rest of the load may use, and the process's whole limit (for the message). */
  readonly bytes: number;
  readonly heapLimit: number;
}

export function heapBudget(): HeapBudget {
  const h = getHeapStatistics();
  const limit = h.heap_size_limit;
  return { bytes: Math.max(0, limit - h.used_heap_size - RESERVE_BYTES), heapLimit: limit };
}

/** Null while `yamlBytes` of YAML fit the budget; else the LIMIT message. */
export function overBudget(budget: HeapBudget, yamlBytes: number): string | null {
  const needed = yamlBytes * HEAP_PER_YAML_BYTE;
  if (needed <= budget.bytes) return null;
  const mb = (n: number) => `${Math.ceil(n / MiB).toLocaleString('en-US')} MB`;
  return (
    `the repository's YAML up to this file (${formatBytes(yamlBytes)}) needs about ${mb(needed)} of memory to validate and plan, ` +
    `more than this process's heap allows (${mb(budget.heapLimit)} in all, ${mb(budget.bytes)} free): reading stopped here. ` +
    `Give the process more memory (NODE_OPTIONS=--max-old-space-size=MB; docs/security.md lists what each size holds) or lower limits.documents / limits.file_bytes`
  );
}
