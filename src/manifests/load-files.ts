/**
 * The loader's reading of the walked files (index.ts calls it): files read ahead, each one
 * analysed (through the caller's AnalysisPort when it gave one), its documents counted and
 * collected, and the folder-wide limits checked as it goes.
 */
import type { AnalysisInput, AnalysisPort, FileAnalysis, FileRead } from './analysis-port.js';
import {
  readDocument,
  readPlainDocument,
  type DocumentResult,
  type Manifest,
} from './documents.js';
import { analysePatched, isPatched, type PatchSet } from './environments.js';
import { readWalkedManifestText } from './files.js';
import { rootsOnDemand, withPositionsOnDemand } from './lazy-roots.js';
import { formatBytes, type InputLimits } from './limits.js';
import { heapBudget, overBudget } from './memory-budget.js';
import type { LoadCounts, ValidationError } from './types.js';
import { parseYamlFull, plainScalarValue, type ParsedFile, type YDocument } from './yaml.js';
import { parseSimplePlain, parseSimpleYaml } from './yaml-simple.js';
import { LARGE_INPUT_BYTES, capHeapGrowthNow } from '../util/heap-growth.js';

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

/**
 * One file on its own, as a one-shot load keeps it: read as plain values when it can be
 * (analysePlain), else analyseFile's result without its position trees (lazy-roots.ts);
 * `onRebuild` is told when a position tree is parsed again.
 */
export function analyseFileLean(
  file: string,
  text: string,
  limits: InputLimits,
  onRebuild?: () => void,
): FileAnalysis {
  return (
    analysePlain(file, text, limits, onRebuild) ??
    withPositionsOnDemand(analyseFile(file, text, limits), text, limits, onRebuild)
  );
}

/**
 * A file's documents read one at a time (issue 25): each document is turned into what the
 * caller keeps (`read(doc)`) as soon as it is parsed, so its tree dies young. Whole files'
 * trees (~14 bytes of heap per byte of YAML) used to live long enough to be promoted to V8's
 * old generation and pile up there as garbage: most of the peak memory of a 100,000-object
 * load.
 */
function readYamlFile<R>(
  text: string,
  limits: Readonly<InputLimits>,
  read: (doc: YDocument) => R,
): { file: ParsedFile; results: R[] } {
  const source = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  let results: R[] = [];
  const simple = parseSimpleYaml(source, limits, plainScalarValue, (doc) =>
    results.push(read(doc)),
  );
  if (simple) return { file: simple, results };
  // The fast path gave up part-way: what it read is read again by the full parser.
  const file = parseYamlFull(text, limits);
  results = file.documents.map(read);
  return { file, results };
}

/**
 * A one-shot load's analysis of a file (issue 35): its documents read as plain values by the
 * fast path's plain mode (yaml-simple.ts parseSimplePlain), with no tree, no Position object, no toPlain
 * and no position tree; each manifest's `root` is parsed again from the text only if a rule
 * asks for a position (lazy-roots.ts). Null when the file leaves the subset or any of its
 * documents has an error: analyseFileLean then analyses it again by analyseFile, trees and
 * positions included, so every error comes from that one path, worded and located as before.
 */
export function analysePlain(
  file: string,
  text: string,
  limits: Readonly<InputLimits>,
  onRebuild?: () => void,
): FileAnalysis | null {
  const source = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const rootAt = rootsOnDemand(text, limits, onRebuild);
  const documents: DocumentResult[] = [];
  let clean = true;
  const count = parseSimplePlain(source, limits, plainScalarValue, (value, _index, pos) => {
    if (!clean) return;
    const read = readPlainDocument(file, value, rootAt(documents.length), pos);
    if (read === null) clean = false;
    else documents.push(read);
  });
  if (count === null || !clean) return null;
  return { issues: [], documentCount: count, aliasExpansion: 0, aliasBytes: 0, documents };
}

/** What the reading gathers: the loader finishes with it. */
export interface ReadState {
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

/** What each file is read and analysed with. */
export interface ReadContext {
  dir: string;
  files: string[];
  limits: Readonly<InputLimits>;
  heapLimit: number | undefined;
  /** The caller's reuse of analyses; absent: each file analysed now (a one-shot load). */
  analyses: AnalysisPort | undefined;
  /** When the port memoizes whole folders: each file as read, in order (FolderInput.files). */
  reads: FileRead[] | null;
  patches: PatchSet | null;
  onAnalysed: ((file: string, analysis: FileAnalysis) => void) | undefined;
}

export function emptyCounts(): LoadCounts {
  return { pools: 0, clusters: 0, queues: 0, assignments: 0, files: 0, documents: 0 };
}

export function emptyReadState(counts: LoadCounts, errors: ValidationError[]): ReadState {
  return {
    counts,
    errors,
    manifests: [],
    broken: { pools: new Set(), clusters: new Set(), queues: new Set() },
    patched: new Set(),
    stopped: false,
  };
}

/**
 * Files between two turns of the event loop: reading and parsing are synchronous (the walk's
 * files are read in synchronous calls, readWalkedManifestText), and a long-running process
 * (the daemon) still answers its HTTP requests while a large folder loads.
 */
const FILES_PER_TURN = 16;

const nextTurn = () => new Promise<void>((done) => setImmediate(done));

/** Reads every walked file into `s`, in order, until a folder-wide limit stops it. */
export async function readFiles(c: ReadContext, s: ReadState): Promise<void> {
  const totals = { yamlBytes: 0, aliasNodes: 0, aliasBytes: 0 };
  const budget = heapBudget(c.heapLimit);
  for (let i = 0; i < c.files.length; i++) {
    const file = c.files[i]!;
    if (i > 0 && i % FILES_PER_TURN === 0) await nextTurn();
    // The walk reaches files through real folders only: their parents are not checked again.
    const read = readWalkedManifestText(c.dir, file, c.limits);
    s.counts.files++;
    if (!read.ok) {
      s.errors.push(read.error);
      c.reads?.push({ error: read.error });
      continue;
    }
    // YAML read so far, for the heap budget (memory-budget.ts).
    totals.yamlBytes += read.text.length;
    if (totals.yamlBytes > LARGE_INPUT_BYTES) capHeapGrowthNow();
    const tooBig = overBudget(budget, totals.yamlBytes + totals.aliasBytes);
    if (tooBig !== null) return stop(s, file, tooBig);
    const parsed = await analysed(c, s, file, read.text);
    s.errors.push(...issueErrors(file, parsed));
    s.counts.documents += parsed.documentCount;
    totals.aliasNodes += parsed.aliasExpansion;
    totals.aliasBytes += parsed.aliasBytes;
    const over = folderLimit(c.limits, s.counts.documents, totals);
    if (over !== null) return stop(s, file, over);
    collectDocuments(s, parsed);
  }
}

function stop(s: ReadState, file: string, message: string): void {
  s.errors.push(limitError(file, message));
  s.stopped = true;
}

/**
 * The file's analysis: through the port, or made now and made lean (a one-shot load keeps no
 * position trees: lazy-roots.ts); with the environment's patches merged.
 */
async function analysed(
  c: ReadContext,
  s: ReadState,
  file: string,
  text: string,
): Promise<FileAnalysis> {
  const { analyses, limits, patches } = c;
  const input: AnalysisInput = { file, text, limits };
  c.reads?.push({ input });
  let parsed = analyses ? await analyses.analyse(input) : analyseFileLean(file, text, limits);
  c.onAnalysed?.(file, parsed);
  if (patches && patches.byAddress.size > 0 && isPatched(parsed, patches))
    parsed = analysePatched(file, text, limits, patches, s.patched);
  return parsed;
}

function issueErrors(file: string, parsed: FileAnalysis): ValidationError[] {
  return parsed.issues.map((issue) => ({
    code: issue.code,
    message: issue.message,
    file,
    line: issue.line,
    column: issue.column,
    address: null,
  }));
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

function collectDocuments(s: ReadState, parsed: FileAnalysis): void {
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
  else countFlyte(counts, kind);
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

function limitError(file: string, message: string): ValidationError {
  return { code: 'LIMIT', message, file, line: 1, column: 1, address: null };
}
