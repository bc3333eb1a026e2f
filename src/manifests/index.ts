/**
 * The manifest loader: config folder → validated DesiredState or every error found
 * (docs/architecture.md). I/O is limited to reading the folder; the rest is pure.
 */
import { resolve } from 'node:path';
import type { Environment, RepoConfig } from '../model/desired.js';
import { LARGE_INPUT_BYTES, capHeapGrowthNow } from '../util/heap-growth.js';
import { escapeTerminal } from '../util/terminal-text.js';
import {
  analyseFileLean,
  analysePatched,
  isPatched,
  type AnalysisInput,
  type FileAnalysis,
  type FileRead,
  type FolderInput,
  type LoaderOptions,
} from './analysis.js';
import { readRepoConfig } from './config.js';
import type { Manifest } from './documents.js';
import { buildDesiredState } from './desired.js';
import {
  environmentConfig,
  environmentFiles,
  readPatches,
  selectEnvironment,
  unusedPatches,
  type PatchSet,
} from './environments.js';
import { formatBytes, heapBudget, overBudget, type InputLimits } from './limits.js';
import { checkAbsent, checkRules, groupManifests } from './rules.js';
import type { LoadCounts, LoadResult, ValidationError } from './types.js';
import {
  checkFolder,
  comparePaths,
  findManifestFiles,
  readWalkedManifestText,
  MAX_FOLDER_DEPTH,
  TOO_DEEP,
  type WalkResult,
} from './walk.js';

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
  const counts: LoadCounts = {
    pools: 0,
    clusters: 0,
    queues: 0,
    assignments: 0,
    files: 0,
    documents: 0,
  };
  const folderError = await checkFolder(dir, opts.root);
  if (folderError) return { valid: false, desired: null, errors: [folderError], counts };
  const errors: ValidationError[] = [];
  const setup = await readSetup(dir, opts, errors);
  if (!setup) return { valid: false, desired: null, errors: sortErrors(errors), counts };
  // The port reuses whole folders (the daemon's memory layer): each file as read, for its key.
  const reads: FileRead[] | null = opts.analyses?.folder ? [] : null;
  const read: Read = {
    counts,
    errors,
    manifests: [],
    broken: { pools: new Set(), clusters: new Set(), queues: new Set() },
    patched: new Set(),
    stopped: false,
  };
  await readFiles(dir, setup, opts, read, reads, onAnalysed);
  const finishNow = () => finish(read, setup, opts.commit ?? null);
  if (reads === null || read.stopped) return finishNow();
  // Everything the folder's result is derived from: AnalysisPort.folder keys on it.
  const { config, configErrors, limits, walk, patches } = setup;
  const input: FolderInput = {
    dir: resolve(dir),
    commit: opts.commit ?? null,
    environment: opts.environment ?? null,
    config,
    configErrors,
    limits,
    walk,
    patches: patches?.texts ?? null,
    files: reads,
  };
  return opts.analyses!.folder!(input, finishNow);
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

function finish(s: Read, setup: Setup, commit: string | null): LoadResult {
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
  const desired = buildDesiredState(grouped, config, commit);
  return { valid: true, desired, errors: [], counts, ...skipped };
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

/** What reading the files gathers: the loader finishes with it. */
interface Read {
  counts: LoadCounts;
  errors: ValidationError[];
  manifests: Manifest[];
  /** Names of objects whose document did not validate (the rules do not call them missing). */
  broken: { pools: Set<string>; clusters: Set<string>; queues: Set<string> };
  /** Addresses the environment's patches were applied to. */
  patched: Set<string>;
  /** A folder-wide limit stopped the reading: the files after it were never read. */
  stopped: boolean;
}

/**
 * Files between two turns of the event loop: reading and parsing are synchronous (the walk's
 * files are read in synchronous calls, readWalkedManifestText), and a long-running process
 * (the daemon) still answers its HTTP requests while a large folder loads.
 */
const FILES_PER_TURN = 16;

const nextTurn = () => new Promise<void>((done) => setImmediate(done));

/** Reads every walked file into `s`, in order, until a folder-wide limit stops it. */
async function readFiles(
  dir: string,
  { walk, limits, patches }: Setup,
  { analyses, heapLimit }: LoaderOptions,
  s: Read,
  reads: FileRead[] | null,
  onAnalysed: ((file: string, analysis: FileAnalysis) => void) | undefined,
): Promise<void> {
  const totals = { yamlBytes: 0, aliasNodes: 0, aliasBytes: 0 };
  const budget = heapBudget(heapLimit);
  const stop = (file: string, message: string): void => {
    s.errors.push({ code: 'LIMIT', message, file, line: 1, column: 1, address: null });
    s.stopped = true;
  };
  for (let i = 0; i < walk.files.length; i++) {
    const file = walk.files[i]!;
    if (i > 0 && i % FILES_PER_TURN === 0) await nextTurn();
    // The walk reaches files through real folders only: their parents are not checked again.
    const read = readWalkedManifestText(dir, file, limits);
    s.counts.files++;
    if (!read.ok) {
      s.errors.push(read.error);
      reads?.push({ error: read.error });
      continue;
    }
    // YAML read so far, for the heap budget (limits.ts heapBudget).
    totals.yamlBytes += read.text.length;
    if (totals.yamlBytes > LARGE_INPUT_BYTES) capHeapGrowthNow();
    const tooBig = overBudget(budget, totals.yamlBytes + totals.aliasBytes);
    if (tooBig !== null) return stop(file, tooBig);
    const input: AnalysisInput = { file, text: read.text, limits };
    reads?.push({ input });
    // Through the port, or made now and made lean (a one-shot load keeps no position trees).
    let parsed = analyses
      ? await analyses.analyse(input)
      : analyseFileLean(file, read.text, limits);
    onAnalysed?.(file, parsed);
    if (patches && patches.byAddress.size > 0 && isPatched(parsed, patches))
      parsed = analysePatched(file, read.text, limits, patches, s.patched);
    for (const { code, message, line, column } of parsed.issues)
      s.errors.push({ code, message, file, line, column, address: null });
    s.counts.documents += parsed.documentCount;
    totals.aliasNodes += parsed.aliasExpansion;
    totals.aliasBytes += parsed.aliasBytes;
    const over = folderLimit(limits, s.counts.documents, totals);
    if (over !== null) return stop(file, over);
    collectDocuments(s, parsed);
  }
}

/** The first folder-wide limit the totals so far pass, or null. */
function folderLimit(
  limits: Readonly<InputLimits>,
  documents: number,
  totals: { aliasNodes: number; aliasBytes: number },
): string | null {
  if (documents > limits.maxDocuments)
    return `the folder holds more than ${limits.maxDocuments.toLocaleString('en-US')} documents; reading stopped here (raise limits.documents in poolsync.yaml if the repository really is this large)`;
  if (totals.aliasNodes > limits.maxAliasExpansionTotal)
    return `aliases expand to more than ${limits.maxAliasExpansionTotal} nodes across the folder; reading stopped here`;
  if (totals.aliasBytes > limits.maxAliasBytesTotal)
    return `aliases expand to more than ${formatBytes(limits.maxAliasBytesTotal)} of text across the folder; reading stopped here: write the values out instead of aliasing them`;
  return null;
}

function collectDocuments(s: Read, parsed: FileAnalysis): void {
  for (const r of parsed.documents) {
    if (r.errors.length > 0) s.errors.push(...r.errors);
    if (r.kind !== null) countKind(s.counts, r.kind);
    if (r.manifest) s.manifests.push(r.manifest);
    else if (r.name && r.kind === 'ClusterPool') s.broken.pools.add(r.name);
    else if (r.name && r.kind === 'Cluster') s.broken.clusters.add(r.name);
    else if (r.name && r.kind === 'Queue') s.broken.queues.add(r.name);
  }
}

function countKind(counts: LoadCounts, kind: string): void {
  if (kind === 'ClusterPool') counts.pools++;
  else if (kind === 'Cluster') counts.clusters++;
  else if (kind === 'Queue') counts.queues++;
  else if (kind === 'PoolAssignment') counts.assignments++;
  else if (kind === 'DefaultQueue') counts.default_queues = (counts.default_queues ?? 0) + 1;
  else {
    const f = (counts.flyte ??= {
      execution_clusters: 0,
      cluster_labels: 0,
      execution_cluster_labels: 0,
    });
    if (kind === 'ExecutionCluster') f.execution_clusters++;
    else if (kind === 'ClusterLabel') f.cluster_labels++;
    else if (kind === 'ExecutionClusterLabel') f.execution_cluster_labels++;
  }
}
