/**
 * The manifest loader: config folder → validated DesiredState or every error found
 * (docs/architecture.md). I/O is limited to reading the folder; the rest is pure.
 */
import { createHash } from 'node:crypto';
import { resolve } from 'node:path';
import { readRepoConfig } from './config.js';
import { readDocument, type Manifest } from './documents.js';
import { buildDesiredState } from './desired.js';
import { readManifestText, type ReadResult } from './files.js';
import { checkFolder } from './folder.js';
import { formatBytes, type InputLimits } from './limits.js';
import { LARGE_INPUT_BYTES, capHeapGrowthNow } from '../util/heap-growth.js';
import { heapBudget, overBudget, readAhead } from './memory-budget.js';
import { checkRules, groupManifests } from './rules.js';
import { checkAbsent } from './rules-absent.js';
import type { LoadCounts, LoadOptions, LoadResult, ValidationError } from './types.js';
import { comparePaths, findManifestFiles, MAX_FOLDER_DEPTH, TOO_DEEP } from './walk.js';
import { readYamlFile } from './read-yaml.js';
import {
  AnalysisCache,
  analysisKey,
  folderResult,
  rememberFolderResult,
  type FileAnalysis,
} from './cache.js';
import { withPositionsOnDemand } from './lazy-roots.js';
import { escapeTerminal } from '../util/terminal-text.js';
import {
  analysePatched,
  environmentConfig,
  environmentFiles,
  isPatched,
  selectEnvironment,
  unusedPatches,
} from './environment-load.js';
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

/** One file on its own: parse, then each document's envelope and schema. */
export function analyseFile(file: string, text: string, limits: InputLimits): FileAnalysis {
  const { file: parsed, results } = readYamlFile(text, limits, (doc) =>
    readDocument(file, doc.root),
  );
  return {
    issues: parsed.issues,
    documentCount: parsed.documentCount,
    aliasExpansion: parsed.aliasExpansion,
    aliasBytes: parsed.aliasBytes,
    documents: results,
  };
}

/** The walk reaches files through real folders only: no need to check their parents again. */
const WALKED = { checkParents: false };

/**
 * `onAnalysed` is told each file's analysis as read (before environment patches):
 * src/incremental/ keys what it remembers on them. The analysis is shared: read it only.
 */
export async function loadRepository(
  dir: string,
  opts: LoadOptions = {},
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
  const errors: ValidationError[] = [];
  const folderError = await checkFolder(dir, opts.root);
  if (folderError) return { valid: false, desired: null, errors: [folderError], counts };

  const read = await readRepoConfig(dir);
  const { config: repoConfig, errors: configErrors, limits } = read;
  errors.push(...configErrors);
  // An environment's files are not known while its poolsync.yaml is wrong: none is read.
  if (configErrors.length > 0 && read.declaresEnvironments)
    return { valid: false, desired: null, errors: sortErrors(errors), counts };
  // environments: (docs/environments.md): the one asked for reads its folders, with its patches.
  const chosen = configErrors.length > 0 ? null : selectEnvironment(repoConfig, opts.environment);
  if (chosen?.error) errors.push(chosen.error);
  const env = chosen?.env ?? null;
  const config = env ? environmentConfig(repoConfig, env) : repoConfig;
  const walk = await findManifestFiles(dir, config.ignore);
  if (env) walk.files = environmentFiles(walk.files, env);
  const patches: PatchSet | null = env ? await readPatches(dir, env.patches, limits) : null;
  if (patches) errors.push(...patches.errors);
  const patched = new Set<string>();
  for (const u of walk.unreadable) {
    errors.push({
      code: 'IO',
      message:
        u.reason === TOO_DEEP
          ? `folder nested more than ${MAX_FOLDER_DEPTH} levels below the config folder: not read (manifests need far fewer); move its files up, or list it under ignore in poolsync.yaml`
          : `cannot read folder: ${u.reason}${u.reason === 'EACCES' || u.reason === 'EPERM' ? ' (permission denied): make it readable by the user poolsync runs as, or list it under ignore in poolsync.yaml' : ''}`,
      file: u.path,
      line: 1,
      column: 1,
      address: null,
    });
  }

  const cache = new AnalysisCache(
    opts.cacheDir === undefined
      ? 'memory'
      : opts.cacheDir === null
        ? 'none'
        : { dir: opts.cacheDir },
  );
  const manifests: Manifest[] = [];
  const broken = {
    pools: new Set<string>(),
    clusters: new Set<string>(),
    queues: new Set<string>(),
  };
  // In memory (a long-running process), everything the result depends on, to reuse it whole.
  const folderKey = cache.inMemory
    ? createHash('sha256').update(
        JSON.stringify([
          resolve(dir),
          opts.commit ?? null,
          config,
          configErrors,
          limits,
          walk,
          patches?.texts ?? null,
        ]),
      )
    : null;
  let aliasTotal = 0;
  let aliasBytesTotal = 0;
  /** YAML read so far, for the heap budget (memory-budget.ts). */
  let yamlBytes = 0;
  const budget = heapBudget(opts.heapLimit);
  // Files read concurrently; parsing stays sequential so results keep the sorted order.
  const READ_AHEAD = readAhead(limits.maxFileBytes);
  /** A folder-wide limit stopped the reading: the files after it were never read. */
  let stopped = false;
  const pending: Promise<ReadResult>[] = [];
  const files = walk.files;
  for (let i = 0; i < Math.min(READ_AHEAD, files.length); i++)
    pending.push(readManifestText(dir, files[i]!, limits, WALKED));
  for (let i = 0; i < files.length; i++) {
    const file = files[i]!;
    const read = await pending[i]!;
    if (i + READ_AHEAD < files.length)
      pending.push(readManifestText(dir, files[i + READ_AHEAD]!, limits, WALKED));
    counts.files++;
    if (!read.ok) {
      errors.push(read.error);
      folderKey?.update(JSON.stringify(read.error));
      continue;
    }
    yamlBytes += read.text.length;
    if (yamlBytes > LARGE_INPUT_BYTES) capHeapGrowthNow();
    const tooBig = overBudget(budget, yamlBytes + aliasBytesTotal);
    if (tooBig !== null) {
      errors.push(limitError(file, tooBig));
      stopped = true;
      break;
    }
    const key = cache.wants(read.text.length) ? analysisKey(file, read.text, limits) : '';
    folderKey?.update(key);
    let parsed = await cache.get(key, read.text, limits);
    if (!parsed) {
      parsed = analyseFile(file, read.text, limits);
      cache.set(key, parsed, read.text.length);
      // The daemon's memory layer keeps the trees with the analyses it keeps; others drop them.
      if (!cache.inMemory) parsed = withPositionsOnDemand(parsed, read.text, limits);
    }
    onAnalysed?.(file, parsed);
    if (patches && patches.byAddress.size > 0 && isPatched(parsed, patches))
      parsed = analysePatched(file, read.text, limits, patches, patched);
    for (const issue of parsed.issues) {
      errors.push({
        code: issue.code,
        message: issue.message,
        file,
        line: issue.line,
        column: issue.column,
        address: null,
      });
    }
    counts.documents += parsed.documentCount;
    aliasTotal += parsed.aliasExpansion;
    aliasBytesTotal += parsed.aliasBytes;
    if (counts.documents > limits.maxDocuments) {
      errors.push(
        limitError(
          file,
          `the folder holds more than ${limits.maxDocuments.toLocaleString('en-US')} documents; reading stopped here (raise limits.documents in poolsync.yaml if the repository really is this large)`,
        ),
      );
      stopped = true;
      break;
    }
    if (aliasTotal > limits.maxAliasExpansionTotal) {
      errors.push(
        limitError(
          file,
          `aliases expand to more than ${limits.maxAliasExpansionTotal} nodes across the folder; reading stopped here`,
        ),
      );
      stopped = true;
      break;
    }
    if (aliasBytesTotal > limits.maxAliasBytesTotal) {
      errors.push(
        limitError(
          file,
          `aliases expand to more than ${formatBytes(limits.maxAliasBytesTotal)} of text across the folder; reading stopped here: write the values out instead of aliasing them`,
        ),
      );
      stopped = true;
      break;
    }
    for (const r of parsed.documents) {
      errors.push(...r.errors);
      if (r.kind === 'ClusterPool') counts.pools++;
      else if (r.kind === 'Cluster') counts.clusters++;
      else if (r.kind === 'Queue') counts.queues++;
      else if (r.kind === 'PoolAssignment') counts.assignments++;
      else if (r.kind === 'DefaultQueue') counts.default_queues = (counts.default_queues ?? 0) + 1;
      else if (r.kind !== null) countFlyte(counts, r.kind);
      if (r.manifest) manifests.push(r.manifest);
      else if (r.name && r.kind === 'ClusterPool') broken.pools.add(r.name);
      else if (r.name && r.kind === 'Cluster') broken.clusters.add(r.name);
      else if (r.name && r.kind === 'Queue') broken.queues.add(r.name);
    }
  }

  await cache.flush();
  const whole = folderKey && !stopped ? folderKey.digest('hex') : null;
  if (whole !== null) {
    const same = folderResult<LoadResult>(whole);
    if (same) return same;
  }
  const result = finish();
  if (whole !== null) rememberFolderResult(whole, result);
  return result;

  function finish(): LoadResult {
    const grouped = groupManifests(manifests);
    // Cross-document rules over a folder read only in part would report the unread files'
    // objects as missing (a cascade of V2/V3 errors): the LIMIT error alone says what to fix.
    if (!stopped) errors.push(...checkRules(grouped, broken), ...checkAbsent(grouped, config));
    if (!stopped && env && patches) errors.push(...unusedPatches(patches, patched, env));
    const skipped = walk.skipped.length > 0 ? { skipped: walk.skipped } : {};
    if (errors.length > 0)
      return { valid: false, desired: null, errors: sortErrors(errors), counts, ...skipped };
    return {
      valid: true,
      desired: buildDesiredState(grouped, config, opts.commit ?? null),
      errors: [],
      counts,
      ...skipped,
    };
  }
}

function limitError(file: string, message: string): ValidationError {
  return { code: 'LIMIT', message, file, line: 1, column: 1, address: null };
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

function countFlyte(counts: LoadCounts, kind: string): void {
  const f = (counts.flyte ??= {
    execution_clusters: 0,
    cluster_labels: 0,
    execution_cluster_labels: 0,
  });
  if (kind === 'ExecutionCluster') f.execution_clusters++;
  else if (kind === 'ClusterLabel') f.cluster_labels++;
  else if (kind === 'ExecutionClusterLabel') f.execution_cluster_labels++;
}
