/**
 * What the loader learns of one file (`FileAnalysis`), what it hands a cache and what it asks
 * of one: the loader keeps nothing between calls (docs/architecture.md, "Where state lives"); a
 * caller that reuses work across loads (src/incremental/analysis-cache.ts: a daemon unit's
 * memory layer) passes an `AnalysisPort`. Without one every file is analysed again: a one-shot
 * load.
 */
import type { RepoConfig } from '../model/desired.js';
import type { DocumentResult } from './documents.js';
import type { FolderRead } from './config.js';
import type { InputLimits } from './limits.js';
import type { LoadOptions, LoadResult, ValidationError } from './types.js';
import type { WalkResult } from './walk.js';
import type { YamlIssue } from './yaml.js';

/** Everything the loader learns from one file on its own, before the cross-document rules. */
export interface FileAnalysis {
  issues: YamlIssue[];
  documentCount: number;
  aliasExpansion: number;
  aliasBytes: number;
  documents: DocumentResult[];
}

/** Everything one file's analysis (`analyseFile`) is derived from, besides the loader's code. */
export interface AnalysisInput {
  /** The path relative to the config folder (errors name it). */
  readonly file: string;
  readonly text: string;
  readonly limits: Readonly<InputLimits>;
}

/** A walked file as the loader read it: its analysis input, or the error reading it gave. */
export type FileRead = { readonly input: AnalysisInput } | { readonly error: ValidationError };

/**
 * Everything a whole folder's result is derived from, besides the loader's code: what
 * poolsync.yaml, the environment and the walk decided, and every file as read. Offered only
 * when no folder-wide limit stopped the reading.
 */
export interface FolderInput {
  /** The config folder, resolved. */
  readonly dir: string;
  readonly commit: string | null;
  readonly environment: string | null;
  readonly config: RepoConfig;
  readonly configErrors: readonly ValidationError[];
  readonly limits: Readonly<InputLimits>;
  readonly walk: WalkResult;
  /** The environment's patch files' text (PatchSet.texts), null without an environment. */
  readonly patches: readonly string[] | null;
  readonly files: readonly FileRead[];
}

/** How a load reuses work; every method gets all its result is derived from. */
export interface AnalysisPort {
  /**
   * The file's analysis: the pure `analyseFile` of the input, or one made from the same input
   * before. The result is shared: the loader only reads it.
   */
  analyse(input: AnalysisInput): FileAnalysis | Promise<FileAnalysis>;
  /** The folder's result: `finish()` (the cross-document rules and the desired state), or the one made before. */
  folder?(input: FolderInput, finish: () => LoadResult): LoadResult;
}

/** The loader's options with the port it reuses work through. */
export interface LoaderOptions extends LoadOptions {
  analyses?: AnalysisPort;
  /** poolsync.yaml and the walk, read once for the loads of several environments (config.ts readFolderOnce). */
  shared?: FolderRead;
}
