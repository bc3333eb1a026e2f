/**
 * The daemon's reuse of the loader's work (its AnalysisPort): a file's analysis depends only on
 * its path, bytes and input limits, and is kept under a key of exactly those; each folder's last
 * result too, so an unchanged reload skips the cross-document rules. Keys derive from the typed
 * inputs (`Encoders<T>` requires every field: a new one is a compile error until keyed); no
 * fingerprint of the loader's code: they live in one process's memory. One analysis per path
 * (of the latest bytes read), about MEMORY_BYTES in all, least recently used dropped first,
 * deeply frozen (a hit costs nothing, no load changes what another sees). A one-shot CLI keeps
 * nothing: its disk layer saved nothing (issue 51).
 */
import { createHash } from 'node:crypto';
import { getHeapStatistics } from 'node:v8';
import {
  analyseFile,
  type AnalysisInput,
  type AnalysisPort,
  type FileAnalysis,
  type FolderInput,
} from '../manifests/index.js';
import type { FolderCheck } from '../manifests/recheck.js';
import type { LoadResult } from '../manifests/types.js';
import { deepFreeze } from '../util/deep-freeze.js';

/** One encoder per field of T, none optional; `c`: what an encoder may need besides the value. */
export type Encoders<T, C = void> = { readonly [K in keyof T]-?: (value: T[K], c: C) => string };

/** Each field's name and encoding, in a fixed order. */
export function keyOf<T, C>(encoders: Encoders<T, C>, input: T, c: C): string {
  const hash = createHash('sha256');
  for (const name of (Object.keys(encoders) as (keyof T & string)[]).sort())
    hash.update(`\0${name}\0`).update(encoders[name](input[name], c));
  return hash.digest('hex');
}

const json = (v: unknown): string => JSON.stringify(v);

export const ANALYSIS_KEY: Encoders<AnalysisInput> = {
  // Errors name the path: the same bytes under another path are another analysis.
  file: (file) => file,
  text: (text) => text,
  limits: json,
};

/** The folder's key: `c.fileKey` is the key of a file's analysis (the load computed it once). */
export const FOLDER_KEY: Encoders<FolderInput, { fileKey: (input: AnalysisInput) => string }> = {
  dir: (dir) => dir,
  commit: json,
  environment: json,
  config: json,
  configErrors: json,
  limits: json,
  walk: json,
  patches: json,
  files: (files, c) =>
    files.map((f) => ('error' in f ? `error ${json(f.error)}` : c.fileKey(f.input))).join('\n'),
};

/**
 * What a folder's last check must share with the next load to be its start (recheck.ts): all but
 * the files (what recheck follows), the walk (its files; its other findings are errors recheck
 * is given) and the commit.
 */
export const SETUP_KEY: Encoders<Omit<FolderInput, 'files' | 'walk' | 'commit'>> = {
  dir: (dir) => dir,
  environment: json,
  config: json,
  configErrors: json,
  limits: json,
  patches: json,
};

/**
 * A quarter of the heap (at most 384 MiB): a daemon capped at 256 MB keeps ~75 MB of analyses, so
 * old commits' entries never crowd out the next load's heap budget (manifests/limits.ts).
 */
const MEMORY_BYTES = Math.min(
  384 * 1024 * 1024,
  Math.floor(getHeapStatistics().heap_size_limit / 4),
);
/** Heap an analysis takes per byte of its YAML (measured: ~11 at 10,000 objects), with a margin. */
const HEAP_PER_TEXT_BYTE = 14;

/** A daemon unit has one per folder it loads. */
const MAX_FOLDERS = 64;

/**
 * One daemon unit's memory layer (src/daemon/unit.ts): the analyses, and each folder's and
 * environment's last result under a key of its FolderInput, with its FolderCheck (the start of
 * the next load's recheck). One slot per folder and environment: one slot for all was a miss at
 * every run (issue 49).
 */
export class AnalysisCache implements AnalysisPort {
  readonly folder?: AnalysisPort['folder'];
  /** `rechecks`: folder loads started from the last check (recheck.ts). */
  readonly stats = { hits: 0, misses: 0, rechecks: 0 };
  /** Least recently used first, and their heap estimate in all. */
  private readonly analyses = new Map<
    string,
    { analysis: FileAnalysis; bytes: number; file: string; text: string; limits: string }
  >();
  private bytes = 0;
  /** Each path's latest analysis key: an edited file's older bytes are read again by no load. */
  private readonly latest = new Map<string, string>();
  private readonly lastFolders = new Map<
    string,
    { key: string; setup: string; check: FolderCheck }
  >();
  /** Each load's file keys, by input (the folder's key reuses them). */
  private readonly keys = new WeakMap<AnalysisInput, string>();

  /**
   * `folders`: whether a folder's whole result is reused too (POOLSYNC_CACHE_OFF=folder: not);
   * `recheck`: whether a changed folder starts from its last check (POOLSYNC_CACHE_OFF=recheck:
   * every object checked again).
   */
  constructor(
    folders = true,
    private readonly recheck = true,
  ) {
    if (folders) this.folder = (input, finish) => this.folderResult(input, finish);
  }

  analyse(input: AnalysisInput): FileAnalysis {
    const { analyses } = this;
    const key = this.sameAsLatest(input) ?? this.keyOf(input);
    const hit = analyses.get(key);
    this.keepOnly(input.file, key);
    if (hit) {
      this.stats.hits++;
      analyses.delete(key); // re-inserted: most recently used last
      analyses.set(key, hit);
      return hit.analysis;
    }
    this.stats.misses++;
    const fresh = analyseFile(input.file, input.text, input.limits);
    // The text is kept to compare the next load's with: one byte per byte (Latin-1) or two.
    const bytes = input.text.length * (HEAP_PER_TEXT_BYTE + 2);
    if (bytes > MEMORY_BYTES) return fresh;
    const limits = json(input.limits);
    analyses.set(key, {
      analysis: deepFreeze(fresh),
      bytes,
      file: input.file,
      text: input.text,
      limits,
    });
    this.bytes += bytes;
    for (const [k] of analyses) {
      if (this.bytes <= MEMORY_BYTES) break;
      this.drop(k);
    }
    return fresh;
  }

  /**
   * The key of the path's latest analysis when the input is the same bytes and limits: the texts
   * compared, not hashed (hashing every file's text was ~3 ms of a 10,000-object load, issue 79).
   */
  private sameAsLatest(input: AnalysisInput): string | null {
    const key = this.latest.get(input.file);
    const entry = key === undefined ? undefined : this.analyses.get(key);
    if (entry?.text !== input.text || entry.limits !== json(input.limits)) return null;
    this.keys.set(input, key!);
    return key!;
  }

  /**
   * The path's analysis is now `key`'s: its previous one goes. Kept up to the budget, one old
   * version per commit made the daemon's heap grow ~0.3 MB a commit at 10,000 objects (issue 79).
   */
  private keepOnly(file: string, key: string): void {
    const before = this.latest.get(file);
    if (before !== undefined && before !== key) this.drop(before);
    this.latest.set(file, key);
  }

  private drop(key: string): void {
    const entry = this.analyses.get(key);
    if (!entry) return;
    this.analyses.delete(key);
    this.bytes -= entry.bytes;
    // A path no load reads any more (deleted, renamed) leaves nothing behind either.
    if (this.latest.get(entry.file) === key) this.latest.delete(entry.file);
  }

  private keyOf(input: AnalysisInput): string {
    let key = this.keys.get(input);
    if (key === undefined) {
      key = keyOf(ANALYSIS_KEY, input, undefined);
      this.keys.set(input, key);
    }
    return key;
  }

  private folderResult(
    input: FolderInput,
    finish: (previous: FolderCheck | null) => FolderCheck,
  ): LoadResult {
    const key = keyOf(FOLDER_KEY, input, { fileKey: (i) => this.keyOf(i) });
    const setup = keyOf(SETUP_KEY, input, undefined);
    const slot = `${input.dir}\u0000${input.environment ?? ''}`;
    const { lastFolders } = this;
    const last = lastFolders.get(slot);
    if (last?.key === key) return last.check.result;
    // Out before finish: it updates the last check in place, and a throw must leave none.
    lastFolders.delete(slot);
    const previous = this.recheck && last?.setup === setup ? last.check : null;
    if (previous) this.stats.rechecks++;
    const check = finish(previous);
    // Frozen, its unchanged objects kept by the next load (recheck.ts) are known unchanged by
    // identity: the plan slicer keeps their fingerprint key texts (plan/fingerprint.ts KeyTexts).
    // Only the new objects are walked: the kept ones are frozen already.
    if (check.result.desired) deepFreeze(check.result.desired);
    if (lastFolders.size >= MAX_FOLDERS) lastFolders.delete(lastFolders.keys().next().value!);
    lastFolders.set(slot, { key, setup, check });
    return check.result;
  }
}
