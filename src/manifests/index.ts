/**
 * The manifest loader: config folder → validated DesiredState or every error found
 * (docs/architecture.md). I/O is limited to reading the folder; the rest is pure.
 */
import { resolve } from 'node:path';
import type { Environment, RepoConfig } from '../model/desired.js';
import { readRepoConfig } from './config.js';
import { buildDesiredState } from './desired.js';
import { checkFolder } from './folder.js';
import type { InputLimits } from './limits.js';
import { checkAbsent, checkRules, groupManifests } from './rules.js';
import type { LoadOptions, LoadResult, ValidationError } from './types.js';
import {
  comparePaths,
  findManifestFiles,
  MAX_FOLDER_DEPTH,
  TOO_DEEP,
  type WalkResult,
} from './walk.js';
import type { FileAnalysis, FileRead, FolderInput, LoaderOptions } from './analysis-port.js';
import { escapeTerminal } from '../util/terminal-text.js';
import {
  environmentConfig,
  environmentFiles,
  readPatches,
  selectEnvironment,
  unusedPatches,
  type PatchSet,
} from './environments.js';
import { emptyCounts, emptyReadState, readFiles, type ReadState } from './load-files.js';

export type {
  LoadCounts,
  LoadOptions,
  LoadResult,
  SkippedEntry,
  ValidationCode,
  ValidationError,
} from './types.js';
export { formatValidationText, formatSummary, formatSkipped, toJsonReport } from './report.js';
export { LIMITS, type InputLimits } from './limits.js';
export type {
  AnalysisInput,
  AnalysisPort,
  FileAnalysis,
  FileRead,
  FolderInput,
  LoaderOptions,
} from './analysis-port.js';
export { analyseFile } from './load-files.js';
export { withoutRoots } from './lazy-roots.js';

/**
 * Keeps nothing between calls: `opts.analyses` (src/incremental/analysis-cache.ts) reuses work
 * across loads; without it every file is analysed. `onAnalysed` is told each file's analysis
 * as read (before environment patches): src/incremental/ keys what it remembers on them. The
 * analysis is shared: read it only.
 */
export async function loadRepository(
  dir: string,
  opts: LoaderOptions = {},
  onAnalysed?: (file: string, analysis: FileAnalysis) => void,
): Promise<LoadResult> {
  const counts = emptyCounts();
  const folderError = await checkFolder(dir, opts.root);
  if (folderError) return { valid: false, desired: null, errors: [folderError], counts };
  const errors: ValidationError[] = [];
  const setup = await readSetup(dir, opts, errors);
  if (!setup) return { valid: false, desired: null, errors: sortErrors(errors), counts };

  const { analyses } = opts;
  // The port reuses whole folders (the daemon's memory layer): each file as read, for its key.
  const reads: FileRead[] | null = analyses?.folder ? [] : null;
  const state = emptyReadState(counts, errors);
  const { limits, walk, patches } = setup;
  const context = { dir, files: walk.files, limits, heapLimit: opts.heapLimit, analyses };
  await readFiles({ ...context, reads, patches, onAnalysed }, state);

  const finishNow = () => finish(state, setup, opts.commit ?? null);
  if (reads === null || state.stopped) return finishNow();
  return analyses!.folder!(folderInput(dir, opts, setup, reads), finishNow);
}

/** What poolsync.yaml, the environment asked for and the walk decide before any file is read. */
interface Setup {
  config: RepoConfig;
  configErrors: ValidationError[];
  limits: Readonly<InputLimits>;
  env: Environment | null;
  walk: WalkResult;
  patches: PatchSet | null;
}

/** The setup, its errors added to `errors`; null when no manifest may be read at all. */
async function readSetup(
  dir: string,
  opts: LoaderOptions,
  errors: ValidationError[],
): Promise<Setup | null> {
  const read = opts.shared?.config ?? (await readRepoConfig(dir));
  const { config: repoConfig, errors: configErrors, limits } = read;
  errors.push(...configErrors);
  // An environment's files are not known while its poolsync.yaml is wrong: none is read.
  if (configErrors.length > 0 && read.declaresEnvironments) return null;
  // environments: (docs/environments.md): the one asked for reads its folders, with its patches.
  const chosen = configErrors.length > 0 ? null : selectEnvironment(repoConfig, opts.environment);
  if (chosen?.error) errors.push(chosen.error);
  const env = chosen?.env ?? null;
  const config = env ? environmentConfig(repoConfig, env) : repoConfig;
  // A command's loads of one folder share its walk; a load of its own walks the environment's folders only.
  const all = await (opts.shared?.walk() ?? findManifestFiles(dir, config.ignore, env?.folders));
  const walk = env ? { ...all, files: environmentFiles(all.files, env) } : all;
  const patches: PatchSet | null = env ? await readPatches(dir, env.patches, limits) : null;
  if (patches) errors.push(...patches.errors);
  errors.push(...walk.unreadable.map(unreadableError));
  return { config, configErrors, limits, env, walk, patches };
}

function unreadableError(u: { path: string; reason: string }): ValidationError {
  return {
    code: 'IO',
    message:
      u.reason === TOO_DEEP
        ? `folder nested more than ${MAX_FOLDER_DEPTH} levels below the config folder: not read (manifests need far fewer); move its files up, or list it under ignore in poolsync.yaml`
        : `cannot read folder: ${u.reason}${u.reason === 'EACCES' || u.reason === 'EPERM' ? ' (permission denied): make it readable by the user poolsync runs as, or list it under ignore in poolsync.yaml' : ''}`,
    file: u.path,
    line: 1,
    column: 1,
    address: null,
  };
}

/** Everything the folder's result is derived from (AnalysisPort.folder keys on it). */
function folderInput(
  dir: string,
  opts: LoadOptions,
  setup: Setup,
  files: readonly FileRead[],
): FolderInput {
  const { config, configErrors, limits, walk, patches } = setup;
  return {
    dir: resolve(dir),
    commit: opts.commit ?? null,
    environment: opts.environment ?? null,
    config,
    configErrors,
    limits,
    walk,
    patches: patches?.texts ?? null,
    files,
  };
}

function finish(s: ReadState, setup: Setup, commit: string | null): LoadResult {
  const { config, env, patches, walk } = setup;
  const { errors, counts } = s;
  const grouped = groupManifests(s.manifests);
  // Cross-document rules over a folder read only in part would report the unread files'
  // objects as missing (a cascade of V2/V3 errors): the LIMIT error alone says what to fix.
  if (!s.stopped) errors.push(...checkRules(grouped, s.broken), ...checkAbsent(grouped, config));
  if (!s.stopped && env && patches) errors.push(...unusedPatches(patches, s.patched, env));
  const skipped = walk.skipped.length > 0 ? { skipped: walk.skipped } : {};
  if (errors.length > 0)
    return { valid: false, desired: null, errors: sortErrors(errors), counts, ...skipped };
  return {
    valid: true,
    desired: buildDesiredState(grouped, config, commit),
    errors: [],
    counts,
    ...skipped,
  };
}

/* eslint-disable no-control-regex -- one-line messages only */
const SAFE =
  /^[^\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]*$/;
/* eslint-enable no-control-regex */

/** By file, line, column, then code and message, so output is stable. */
export function sortErrors(errors: ValidationError[]): ValidationError[] {
  // Messages quote YAML values: a newline or ESC inside one must not break the one-line rule.
  return errors
    .map((e) => (SAFE.test(e.message) ? e : { ...e, message: escapeTerminal(e.message) }))
    .sort(
      (a, b) =>
        comparePaths(a.file, b.file) ||
        a.line - b.line ||
        a.column - b.column ||
        comparePaths(a.code, b.code) ||
        comparePaths(a.message, b.message),
    );
}
