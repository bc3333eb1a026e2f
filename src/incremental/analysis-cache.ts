/**
 * Reuse of per-file work: a file's parse and per-document validation depend only on its path,
 * its bytes, the input limits (poolsync.yaml `limits:`) and the loader's own code, so the result (`FileAnalysis`) is
 * stored under a key made of exactly those and reused while none of them changes.
 *
 * Two layers, both content-addressed and both safe to lose, one per kind of process:
 * - in memory, for the life of a long-running process that loads without a cache folder (the
 *   daemon's `--watch` reconciles reuse every unchanged file with no change on their side),
 *   bounded to about MEMORY_BYTES, least recently used dropped first. It holds the analyses
 *   themselves, deeply frozen, so a hit costs nothing and no load can change what another
 *   sees (a write to a frozen object throws in this strict-mode code);
 * - on disk under a cache folder (the CLI: the user's cache folder, env POOLSYNC_CACHE_DIR, `off`
 *   disables; never the checkout: manifestCacheDir in load-cached.ts), one small file per entry, written
 *   atomically while the load goes on, bounded to DISK_BYTES, each entry verified on read
 *   (disk-cache.ts: a forged or stale entry is a miss, never a result); files under
 *   minDiskTextBytes skip it (issue 23: for 10,000
 *   one-object files an entry's system calls cost more than parsing again: `validate` took
 *   8.7 s with the cache off, 49.7 s cold, 15.4 s warm). A one-shot CLI process loads each
 *   file once, so it keeps nothing in memory.
 *
 * The loader (src/manifests/) keeps nothing between calls: this module is its AnalysisPort,
 * and the keys are derived from the port's typed inputs (analysis-key.ts). Only the daemon
 * (the memory layer) and the CLI's disk cache use it, through load-cached.ts.
 *
 * Never trusted across versions: the key includes a fingerprint of the poolsync version and of
 * the loader's code files (so a development build never reads a stale entry either), and
 * entries of other fingerprints are deleted. An entry that is unreadable, of another shape or of
 * another key is a miss. A result that JSON cannot carry exactly (non-finite numbers) is
 * never stored.
 */
import { resolve } from 'node:path';
import { getHeapStatistics } from 'node:v8';
import {
  analyseFile,
  analyseFileLean,
  withLazyRoots,
  withoutRoots,
  LIMITS,
  type AnalysisInput,
  type AnalysisPort,
  type FileAnalysis,
  type FolderInput,
  type InputLimits,
  type LoadResult,
} from '../manifests/index.js';
import { limiter } from '../util/map-limit.js';
import { deepFreeze } from '../util/deep-freeze.js';
import { ANALYSIS_KEY, FOLDER_KEY, keyOf, loaderFingerprint } from './analysis-key.js';
import { DiskCache } from './disk-cache.js';
import { off } from './off.js';

export { analysisKey, loaderFingerprint } from './analysis-key.js';
export type { FileAnalysis } from '../manifests/index.js';

/**
 * At most a quarter of the heap (and 384 MiB): a daemon capped at 256 MB keeps ~75 MB of
 * analyses, so the entries of old commits never crowd out the heap budget of the next load
 * (manifests/memory-budget.ts).
 */
const MEMORY_BYTES = Math.min(
  384 * 1024 * 1024,
  Math.floor(getHeapStatistics().heap_size_limit / 4),
);
const DISK_BYTES = 512 * 1024 * 1024;
/** Heap an analysis takes per byte of its YAML (measured: ~11 at 10,000 objects), with a margin. */
const HEAP_PER_TEXT_BYTE = 14;
/** Files smaller than this skip the disk layer (see above); tests lower it. */
let minDiskTextBytes = 8192;
export function setMinDiskTextBytes(bytes: number): number {
  const before = minDiskTextBytes;
  minDiskTextBytes = bytes;
  return before;
}
/** Entry files written at once: enough to keep the thread pool busy. */
const DISK_CONCURRENCY = 16;
/**
 * The bound on an entry's bytes: its analysis is JSON of the file's documents and issues
 * (measured: about 3 bytes per byte of YAML), with a wide margin; a larger entry is a miss.
 */
const entryMaxBytes = (textBytes: number): number => 16 * textBytes + 64 * 1024;

/** JSON that parses back to the same values, or null (NaN, ±Infinity, undefined in arrays). */
function exactJson(analysis: FileAnalysis): string | null {
  return jsonExact(analysis) ? JSON.stringify(withoutRoots(analysis)) : null;
}

/** A walk in JS is several times cheaper than a JSON.stringify replacer called per value. */
function jsonExact(value: unknown): boolean {
  if (typeof value === 'number') return Number.isFinite(value);
  if (typeof value !== 'object' || value === null) return true;
  if (Array.isArray(value)) {
    for (const item of value) if (item === undefined || !jsonExact(item)) return false;
    return true;
  }
  for (const key in value) if (!jsonExact((value as Record<string, unknown>)[key])) return false;
  return true;
}

function parseEntry(json: string): FileAnalysis | null {
  try {
    const a = JSON.parse(json) as FileAnalysis;
    if (!a || !Array.isArray(a.documents) || !Array.isArray(a.issues)) return null;
    return a;
  } catch {
    return null;
  }
}

class MemoryLayer {
  private readonly entries = new Map<string, { analysis: FileAnalysis; bytes: number }>();
  private bytes = 0;
  constructor(private readonly maxBytes: number) {}

  get(key: string): FileAnalysis | null {
    const entry = this.entries.get(key);
    if (entry === undefined) return null;
    this.entries.delete(key); // re-inserted: most recently used last
    this.entries.set(key, entry);
    return entry.analysis;
  }

  set(key: string, analysis: FileAnalysis, bytes: number): void {
    if (this.entries.has(key) || bytes > this.maxBytes) return;
    this.entries.set(key, { analysis: deepFreeze(analysis), bytes });
    this.bytes += bytes;
    for (const [k, v] of this.entries) {
      if (this.bytes <= this.maxBytes) break;
      this.entries.delete(k);
      this.bytes -= v.bytes;
    }
  }
}

/**
 * The process's memory layer: the analyses, and each folder's and environment's last
 * whole-folder result under a key of everything it was made from (FolderInput: folder, commit,
 * environment, repository config, limits, the walk, every file's key): a reload with all of
 * them unchanged (a `--watch` reconcile with nothing edited) skips the cross-document rules and
 * the desired state too. One per folder and environment: the daemon's environments load the
 * same folder in turn, and one slot for all of them was a miss at every run (issue 49).
 */
let memory = new MemoryLayer(MEMORY_BYTES);
let lastFolders = new Map<string, { key: string; result: LoadResult }>();
/** A bound on the folders kept (a daemon has one per environment). */
const MAX_FOLDERS = 64;

const stats = { hits: 0, misses: 0, rootsRebuilt: 0 };
const countRebuild = (): void => {
  stats.rootsRebuilt++;
};

/** Drops the in-memory layer (the next load is cold unless the disk has it): tests, benchmarks. */
export function forgetCachedAnalyses(): void {
  memory = new MemoryLayer(MEMORY_BYTES);
  lastFolders = new Map();
}

/**
 * Hits, misses and files whose positions were parsed again from a cache's lean analysis, since
 * the process started (tests, benchmarks).
 */
export function analysisCacheStats(): { hits: number; misses: number; rootsRebuilt: number } {
  return { ...stats };
}

/**
 * One load's view of the cache, the loader's AnalysisPort: look up, and write each miss's
 * entry at once, in the thread pool while the load goes on parsing (written one after the
 * other after the load, they made a cold run several times slower than no cache); `flush`
 * waits for them. In memory it also reuses the whole folder's result (`folder`).
 */
export class AnalysisCache implements AnalysisPort {
  private readonly writes: Promise<boolean>[] = [];
  private readonly limit = limiter(DISK_CONCURRENCY);
  private readonly used = new Set<string>();
  private hits = 0;

  /**
   * `dir`: the disk cache folder; `memory`: the in-memory layer (long-running processes);
   * `none`: no cache at all (a one-shot process with the cache turned off).
   */
  constructor(mode: { dir: string; maxBytes?: number } | 'memory' | 'none') {
    this.disk =
      typeof mode === 'object' ? new DiskCache(resolve(mode.dir), loaderFingerprint()) : null;
    this.maxDiskBytes = typeof mode === 'object' ? (mode.maxBytes ?? DISK_BYTES) : DISK_BYTES;
    this.memoryOn = mode === 'memory';
    if (this.memoryOn && !off('folder'))
      this.folder = (input, finish) => this.folderResult(input, finish);
  }
  readonly folder?: (input: FolderInput, finish: () => LoadResult) => LoadResult;
  /** This load's file keys, by input (the folder's key reuses them). */
  private readonly keys = new Map<AnalysisInput, string>();
  private readonly disk: DiskCache | null;
  private readonly maxDiskBytes: number;
  private readonly memoryOn: boolean;

  /** True for the in-memory layer (long-running processes). */
  get inMemory(): boolean {
    return this.memoryOn;
  }

  /** Whether a file of `textBytes` is looked up at all (callers skip hashing it otherwise). */
  wants(textBytes: number): boolean {
    return this.memoryOn || (this.disk !== null && textBytes >= minDiskTextBytes);
  }

  /** `text` and `limits`: the file's, to rebuild positions of a disk entry if asked for. */
  async get(
    key: string,
    text: string,
    limits: Readonly<InputLimits> = LIMITS,
  ): Promise<FileAnalysis | null> {
    if (!this.wants(text.length)) return null;
    this.used.add(key);
    const fromMemory = this.memoryOn ? memory.get(key) : null;
    if (fromMemory) {
      this.hits++;
      stats.hits++;
      return fromMemory;
    }
    let analysis: FileAnalysis | null = null;
    if (this.disk !== null) {
      const json = await this.disk.read(key, entryMaxBytes(text.length));
      analysis = json === null ? null : parseEntry(json);
      if (analysis) analysis = withLazyRoots(analysis, text, limits, countRebuild);
    }
    if (analysis) {
      this.hits++;
      stats.hits++;
    } else stats.misses++;
    return analysis;
  }

  /** `textBytes`: the size of the file's text, for the memory layer's bound. */
  set(key: string, analysis: FileAnalysis, textBytes: number): void {
    if (this.memoryOn) {
      memory.set(key, analysis, textBytes * HEAP_PER_TEXT_BYTE);
      return;
    }
    if (!this.wants(textBytes)) return;
    const body = exactJson(analysis);
    const disk = this.disk!;
    if (body !== null) this.writes.push(this.limit(() => disk.write(key, body)));
  }

  /**
   * AnalysisPort.analyse: from the cache, or analysed now and stored; the memory layer keeps
   * the position trees with the analyses it keeps, a disk load reads the file without them
   * (analyseFileLean: plain values, lazy-roots.ts) and its entry is stored without them.
   */
  async analyse(input: AnalysisInput): Promise<FileAnalysis> {
    const { file, text, limits } = input;
    const key = this.wants(text.length) ? this.keyOf(input) : '';
    const hit = await this.get(key, text, limits);
    if (hit) return hit;
    const fresh = this.memoryOn
      ? analyseFile(file, text, limits)
      : analyseFileLean(file, text, limits, countRebuild);
    this.set(key, fresh, text.length);
    return fresh;
  }

  private keyOf(input: AnalysisInput): string {
    let key = this.keys.get(input);
    if (key === undefined) {
      key = keyOf(ANALYSIS_KEY, input, undefined, loaderFingerprint());
      // Kept for the folder's key only (memory layer): a disk load holds no extra references.
      if (this.memoryOn) this.keys.set(input, key);
    }
    return key;
  }

  private folderResult(input: FolderInput, finish: () => LoadResult): LoadResult {
    const fileKey = (i: AnalysisInput) => this.keyOf(i);
    const key = keyOf(FOLDER_KEY, input, { fileKey }, loaderFingerprint());
    const slot = `${input.dir}\u0000${input.environment ?? ''}`;
    const last = lastFolders.get(slot);
    if (last?.key === key) return last.result;
    const result = finish();
    lastFolders.delete(slot);
    if (lastFolders.size >= MAX_FOLDERS) lastFolders.delete(lastFolders.keys().next().value!);
    lastFolders.set(slot, { key, result });
    return result;
  }

  get hitCount(): number {
    return this.hits;
  }

  /** Waits for this load's entries, then keeps the folder in its bound; never fails the load. */
  async flush(): Promise<void> {
    const written = await Promise.all(this.writes.splice(0));
    if (!written.includes(true)) return;
    await this.disk!.trim(this.maxDiskBytes, this.used).catch(() => undefined);
  }
}
