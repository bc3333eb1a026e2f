/**
 * Limits and memory agree (issue 23, item 5): a repository may raise its limits (poolsync.yaml
 * `limits:`) up to ceilings far above what a small heap holds, so the loader also keeps a
 * budget of the process's own heap and refuses with `LIMIT`, at the file where the budget runs
 * out, before the process would run out of memory. A daemon then reports the commit as invalid
 * and keeps the last good state; a CLI exits 1 with the error, never 134.
 *
 * What the budget counts: the YAML text read so far (aliases expanded), times the heap a byte
 * of YAML takes through the whole of a `plan` or `apply` (the analyses, the desired state, the
 * live state of the same objects and the plan). Measured on the benchmark organisation
 * (bench/README.md): ~30-50 bytes of heap per byte of YAML at 10,000-100,000 objects, so
 * HEAP_PER_YAML_BYTE is 48. The budget is the heap V8 may still grow to (`heap_size_limit`,
 * i.e. --max-old-space-size plus the young generation) less what the process already uses and
 * a reserve for the program itself. docs/security.md gives the figures per heap size.
 */
import { getHeapStatistics } from 'node:v8';
import { formatBytes } from './limits.js';

/** Heap a byte of YAML takes through a whole plan or apply (measured ~30-50, with a margin). */
export const HEAP_PER_YAML_BYTE = 48;
/** Heap kept free for the program itself (its code, the HTTP server, the executor). */
const RESERVE_BYTES = 24 * 1024 * 1024;
const MiB = 1024 * 1024;

export interface HeapBudget {
  /** Heap the rest of the load may use, bytes. */
  readonly bytes: number;
  /** The process's whole heap limit, bytes (for the message). */
  readonly heapLimit: number;
}

/** The budget of a load starting now; `heapLimit` overrides V8's limit (tests). */
export function heapBudget(heapLimit?: number): HeapBudget {
  const h = getHeapStatistics();
  const limit = heapLimit ?? h.heap_size_limit;
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
