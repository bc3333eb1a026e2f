/**
 * The manifest loader: config folder → validated DesiredState or every error found
 * (docs/architecture.md). I/O is limited to reading the folder; the rest is pure.
 */
import { stat } from 'node:fs/promises';
import { readRepoConfig } from './config.js';
import { readDocument, type Manifest } from './documents.js';
import { buildDesiredState } from './desired.js';
import { readManifestText, type ReadResult } from './files.js';
import { formatBytes } from './limits.js';
import { checkRules, groupManifests } from './rules.js';
import type { LoadCounts, LoadOptions, LoadResult, ValidationError } from './types.js';
import { comparePaths, findManifestFiles } from './walk.js';
import { parseYamlFile } from './yaml.js';

export type {
  LoadCounts,
  LoadOptions,
  LoadResult,
  ValidationCode,
  ValidationError,
} from './types.js';
export { formatValidationText, formatSummary, toJsonReport } from './report.js';
export { LIMITS, type InputLimits } from './limits.js';

/** Files read concurrently; parsing stays sequential so results keep the sorted order. */
const READ_AHEAD = 32;

export async function loadRepository(dir: string, opts: LoadOptions = {}): Promise<LoadResult> {
  const counts: LoadCounts = {
    pools: 0,
    clusters: 0,
    queues: 0,
    assignments: 0,
    files: 0,
    documents: 0,
  };
  const errors: ValidationError[] = [];
  const folderError = await checkFolder(dir);
  if (folderError) return { valid: false, desired: null, errors: [folderError], counts };

  const { config, errors: configErrors, limits } = await readRepoConfig(dir);
  errors.push(...configErrors);
  const walk = await findManifestFiles(dir, config.ignore);
  for (const u of walk.unreadable) {
    errors.push({
      code: 'IO',
      message: `cannot read folder: ${u.reason}`,
      file: u.path,
      line: 1,
      column: 1,
      address: null,
    });
  }

  const manifests: Manifest[] = [];
  const broken = {
    pools: new Set<string>(),
    clusters: new Set<string>(),
    queues: new Set<string>(),
  };
  let aliasTotal = 0;
  let aliasBytesTotal = 0;
  const pending: Promise<ReadResult>[] = [];
  const files = walk.files;
  for (let i = 0; i < Math.min(READ_AHEAD, files.length); i++)
    pending.push(readManifestText(dir, files[i]!, limits));
  for (let i = 0; i < files.length; i++) {
    const file = files[i]!;
    const read = await pending[i]!;
    if (i + READ_AHEAD < files.length)
      pending.push(readManifestText(dir, files[i + READ_AHEAD]!, limits));
    counts.files++;
    if (!read.ok) {
      errors.push(read.error);
      continue;
    }
    const parsed = parseYamlFile(read.text, limits);
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
      break;
    }
    if (aliasTotal > limits.maxAliasExpansionTotal) {
      errors.push(
        limitError(
          file,
          `aliases expand to more than ${limits.maxAliasExpansionTotal} nodes across the folder; reading stopped here`,
        ),
      );
      break;
    }
    if (aliasBytesTotal > limits.maxAliasBytesTotal) {
      errors.push(
        limitError(
          file,
          `aliases expand to more than ${formatBytes(limits.maxAliasBytesTotal)} of text across the folder; reading stopped here: write the values out instead of aliasing them`,
        ),
      );
      break;
    }
    for (const doc of parsed.documents) {
      const r = readDocument(file, doc.root);
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

  const grouped = groupManifests(manifests);
  errors.push(...checkRules(grouped, broken));
  if (errors.length > 0) return { valid: false, desired: null, errors: sortErrors(errors), counts };
  return {
    valid: true,
    desired: buildDesiredState(grouped, config, opts.commit ?? null),
    errors: [],
    counts,
  };
}

async function checkFolder(dir: string): Promise<ValidationError | null> {
  const fail = (message: string): ValidationError => ({
    code: 'IO',
    message,
    file: '.',
    line: 1,
    column: 1,
    address: null,
  });
  try {
    if (!(await stat(dir)).isDirectory()) return fail(`${dir} is not a folder`);
  } catch (err) {
    return fail(`cannot read folder ${dir}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  return null;
}

function limitError(file: string, message: string): ValidationError {
  return { code: 'LIMIT', message, file, line: 1, column: 1, address: null };
}

/** By file, line, column, then code and message, so output is stable. */
export function sortErrors(errors: ValidationError[]): ValidationError[] {
  return [...errors].sort(
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
