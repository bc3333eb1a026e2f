/**
 * The manifest loader: config folder → validated DesiredState or every error found
 * (docs/architecture.md). I/O is limited to reading the folder; the rest is pure.
 */
import { createHash, type Hash } from 'node:crypto';
import { resolve } from 'node:path';
import type { Environment, RepoConfig } from '../model/desired.js';
import { readRepoConfig } from './config.js';
import { buildDesiredState } from './desired.js';
import { checkFolder } from './folder.js';
import type { InputLimits } from './limits.js';
import { checkRules, groupManifests } from './rules.js';
import { checkAbsent } from './rules-absent.js';
import type { LoadOptions, LoadResult, ValidationError } from './types.js';
import {
  comparePaths,
  findManifestFiles,
  MAX_FOLDER_DEPTH,
  TOO_DEEP,
  type WalkResult,
} from './walk.js';
import { AnalysisCache, folderResult, rememberFolderResult, type FileAnalysis } from './cache.js';
import { escapeTerminal } from '../util/terminal-text.js';
import {
  environmentConfig,
  environmentFiles,
  selectEnvironment,
  unusedPatches,
} from './environment-load.js';
import { emptyCounts, emptyReadState, readFiles, type ReadState } from './load-files.js';
import { readPatches, type PatchSet } from './patches.js';

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
export { manifestCacheDir } from './cache.js';
export { analyseFile } from './load-files.js';

/**
 * `onAnalysed` is told each file's analysis as read (before environment patches):
 * src/incremental/ keys what it remembers on them. The analysis is shared: read it only.
 */
export async function loadRepository(
  dir: string,
  opts: LoadOptions = {},
  onAnalysed?: (file: string, analysis: FileAnalysis) => void,
): Promise<LoadResult> {
  const counts = emptyCounts();
  const folderError = await checkFolder(dir, opts.root);
  if (folderError) return { valid: false, desired: null, errors: [folderError], counts };
  const errors: ValidationError[] = [];
  const setup = await readSetup(dir, opts, errors);
  if (!setup) return { valid: false, desired: null, errors: sortErrors(errors), counts };

  const cache = new AnalysisCache(cacheMode(opts.cacheDir));
  // In memory (a long-running process), everything the result depends on, to reuse it whole.
  const folderKey = cache.inMemory ? folderKeyOf(dir, opts, setup) : null;
  const state = emptyReadState(counts, errors);
  const { limits, walk, patches } = setup;
  const context = { dir, files: walk.files, limits, heapLimit: opts.heapLimit, cache };
  await readFiles({ ...context, folderKey, patches, onAnalysed }, state);

  await cache.flush();
  const whole = folderKey && !state.stopped ? folderKey.digest('hex') : null;
  if (whole !== null) {
    const same = folderResult<LoadResult>(whole);
    if (same) return same;
  }
  const result = finish(state, setup, opts.commit ?? null);
  if (whole !== null) rememberFolderResult(whole, result);
  return result;
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
  opts: LoadOptions,
  errors: ValidationError[],
): Promise<Setup | null> {
  const read = await readRepoConfig(dir);
  const { config: repoConfig, errors: configErrors, limits } = read;
  errors.push(...configErrors);
  // An environment's files are not known while its poolsync.yaml is wrong: none is read.
  if (configErrors.length > 0 && read.declaresEnvironments) return null;
  // environments: (docs/environments.md): the one asked for reads its folders, with its patches.
  const chosen = configErrors.length > 0 ? null : selectEnvironment(repoConfig, opts.environment);
  if (chosen?.error) errors.push(chosen.error);
  const env = chosen?.env ?? null;
  const config = env ? environmentConfig(repoConfig, env) : repoConfig;
  const walk = await findManifestFiles(dir, config.ignore);
  if (env) walk.files = environmentFiles(walk.files, env);
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

function cacheMode(cacheDir: string | null | undefined): { dir: string } | 'memory' | 'none' {
  if (cacheDir === undefined) return 'memory';
  return cacheDir === null ? 'none' : { dir: cacheDir };
}

/** The start of the whole folder's key: each file's key is added as it is read. */
function folderKeyOf(dir: string, opts: LoadOptions, setup: Setup): Hash {
  const { config, configErrors, limits, walk, patches } = setup;
  return createHash('sha256').update(
    JSON.stringify([
      resolve(dir),
      opts.commit ?? null,
      config,
      configErrors,
      limits,
      walk,
      patches?.texts ?? null,
    ]),
  );
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
