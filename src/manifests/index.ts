/**
 * The manifest loader: config folder → validated DesiredState or every error found
 * (docs/architecture.md). Only reading the folder is I/O. It keeps nothing between calls: a
 * caller that reuses work (src/incremental/analysis-cache.ts) passes an `AnalysisPort`. Without
 * one, manifests are kept without position trees, parsed again only when a rule has an error to
 * locate: ~1 byte kept per byte of YAML instead of ~5, most of a 100,000-object load (issue 25).
 */
import type { HostResolver } from '../util/control-plane-endpoint.js';
import { resolve } from 'node:path';
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { Environment, RepoConfig } from '../model/desired.js';
import { LARGE_INPUT_BYTES, largeInputLoaded, largeInputRead } from '../util/heap-growth.js';
import { environmentRender, readRepoConfig, type FolderRead } from './config.js';
import {
  positionTree,
  readDocument,
  readPlainDocument,
  type DocumentResult,
  type Manifest,
} from './documents.js';
import { buildDesiredState } from './desired.js';
import {
  concernsEnvironment,
  documentAddress,
  environmentConfig,
  environmentFiles,
  mergePatch,
  readPatches,
  selectEnvironment,
  unusedPatches,
  type PatchSet,
} from './environments.js';
import { formatBytes, heapBudget, overBudget, type InputLimits } from './limits.js';
import { sortedErrors } from './report.js';
import { countKind, recheck, type FileLoaded, type FolderCheck } from './recheck.js';
import {
  checkAbsent,
  checkRules,
  groupManifests,
  withheldReferences,
  type Grouped,
} from './rules.js';
import type { LoadCounts, LoadResult, ValidationError } from './types.js';
import {
  checkFolder,
  findManifestFiles,
  readWalkedManifestText,
  MAX_FOLDER_DEPTH,
  MIS_CASED,
  NOT_UTF8,
  TOO_DEEP,
  repoFileFailureMessage,
  unreadableAdvice,
  type ReadResult,
  type WalkResult,
} from './walk.js';
import {
  parseYamlFull,
  type ParsedFile,
  type Position,
  type YDocument,
  type YMap,
  type YMapEntry,
} from './yaml.js';
import { parseSimplePlain, parseSimpleYaml, parseYamlFile } from './yaml-simple.js';
import { append } from '../util/append.js';
import { readRepoFileSync } from '../util/safe-file.js';

/** Everything the loader learns from one file on its own: the parse, each document read. */
export type FileAnalysis = Omit<ParsedFile, 'documents'> & { documents: DocumentResult[] };

/** Everything `analyseFile` of one file is derived from, besides the loader's code. */
export interface AnalysisInput {
  /** The path relative to the config folder (errors name it). */
  readonly file: string;
  readonly text: string;
  readonly limits: Readonly<InputLimits>;
}

/** A walked file as the loader read it: its analysis input, or the error reading it gave. */
export type FileRead = { readonly input: AnalysisInput } | { readonly error: ValidationError };

/** As AnalysisInput, for a folder's result; offered only when no folder-wide limit stopped it. */
export interface FolderInput {
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
  /** `analyseFile` of the input, or one made from the same input before; shared, read only. */
  analyse(input: AnalysisInput): FileAnalysis | Promise<FileAnalysis>;
  /**
   * The folder's result: the one made before, or `finish(previous)` (the rules, the desired
   * state: recheck.ts), `previous` the last FolderCheck of this folder with the same
   * poolsync.yaml, or null; it is consumed.
   */
  folder?(input: FolderInput, finish: (previous: FolderCheck | null) => FolderCheck): LoadResult;
}

export interface LoaderOptions {
  /** The poolsync.yaml environment to load: required when it declares any, refused when not. */
  environment?: string;
  commit?: string | null;
  /** Where the folder must be reached from by real folders (daemon: its checkout; checkFolder). */
  root?: string;
  analyses?: AnalysisPort;
  /** poolsync.yaml and the walk, read once for the loads of several environments. */
  shared?: FolderRead;
  /** Resolves control planes' host names: environments reaching one address are refused. */
  resolveHost?: HostResolver;
}

/**
 * One file on its own: parse, then each document's envelope and schema (`read`; analysePatched's
 * merges the patch in first). Each document is read as soon as parsed, so its tree dies young
 * (issue 25): whole files' trees (~14 bytes per byte of YAML) lived long enough to reach V8's old
 * generation, most of the peak memory of a 100,000-object load.
 */
export function analyseFile(
  file: string,
  text: string,
  limits: InputLimits,
  read = (doc: YDocument): DocumentResult => readDocument(file, doc.root),
): FileAnalysis {
  let documents: DocumentResult[] = [];
  const simple = parseSimpleYaml(text, limits, (doc) => documents.push(read(doc)));
  // The fast path gave up part-way: what it read is read again by the full parser.
  const parsed = simple ?? parseYamlFull(text, limits);
  if (simple === null) documents = parsed.documents.map(read);
  const { issues, documentCount, aliasExpansion, aliasBytes } = parsed;
  return { issues, documentCount, aliasExpansion, aliasBytes, documents };
}

/**
 * A one-shot load's analysis: analysePlain's, else analyseFile's with its position trees parsed
 * again only if read (its own, not shared: the trees are replaced).
 */
export function analyseFileLean(file: string, text: string, limits: InputLimits): FileAnalysis {
  const plain = analysePlain(file, text, limits);
  if (plain) return plain;
  const lean = analyseFile(file, text, limits);
  const rootAt = rootsOnDemand(text, limits);
  lean.documents.forEach((d, i) => {
    if (d.manifest) d.manifest.root = rootAt(i);
  });
  return lean;
}

/**
 * The documents read as plain values (parseSimplePlain, issue 35), with no tree and no Position;
 * null when the file leaves the subset or a document has an error: analyseFile then reads it, so
 * every error comes from that one path.
 */
export function analysePlain(
  file: string,
  text: string,
  limits: Readonly<InputLimits>,
  onRebuild?: () => void,
): FileAnalysis | null {
  const rootAt = rootsOnDemand(text, limits, onRebuild);
  const documents: DocumentResult[] = [];
  let clean = true;
  const count = parseSimplePlain(text, limits, (value, _index, pos) => {
    if (!clean) return;
    const read = readPlainDocument(file, value, rootAt(documents.length), pos);
    if (read === null) clean = false;
    else documents.push(read);
  });
  if (count === null || !clean) return null;
  return { issues: [], documentCount: count, aliasExpansion: 0, aliasBytes: 0, documents };
}

/** Position trees on demand: root i is the parser's i-th document, parsed on first read. */
function rootsOnDemand(
  text: string,
  limits: Readonly<InputLimits>,
  onRebuild?: () => void,
): (i: number) => YMap {
  let roots: YMap[] | null = null;
  const at = (i: number): YMap => {
    if (roots === null) {
      onRebuild?.();
      roots = parseYamlFile(text, limits).documents.map((d) => positionTree(d.root as YMap));
    }
    return roots[i]!;
  };
  return (i) => new LazyRoot(at, i);
}

/**
 * A `root` that parses its file only when read: its own small object, since a getter on each
 * manifest made every manifest a ~1 KB dictionary-mode object; `kind` on the prototype, not a
 * field of each of the 100,000 a large load keeps.
 */
class LazyRoot implements YMap {
  get kind(): 'map' {
    return 'map';
  }
  constructor(
    private readonly at: (i: number) => YMap,
    private readonly index: number,
  ) {}
  get entries(): YMapEntry[] {
    return this.at(this.index).entries;
  }
  get pos(): Position {
    return this.at(this.index).pos;
  }
}
function isPatched(analysis: FileAnalysis, patches: PatchSet): boolean {
  return analysis.documents.some((d) => {
    const name = d.manifest?.name ?? d.name;
    return (
      d.kind !== null && typeof name === 'string' && patches.byAddress.has(`${d.kind}/${name}`)
    );
  });
}

/** The file read again, patches merged (never cached); `used` collects the addresses patched. */
function analysePatched(
  file: string,
  text: string,
  limits: Readonly<InputLimits>,
  patches: PatchSet,
  used: Set<string>,
): FileAnalysis {
  return analyseFile(file, text, limits, (doc) => {
    const address = documentAddress(doc.root);
    const patch = address !== null ? patches.byAddress.get(address) : undefined;
    if (!patch) return readDocument(file, doc.root);
    used.add(address!);
    return readDocument(file, mergePatch(doc.root, patch.root, patch.file));
  });
}

/**
 * `onAnalysed` is told each file's analysis before environment patches (src/incremental/ keys
 * what it remembers on them); the analysis is shared: read it only.
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
  if (!setup) return { valid: false, desired: null, errors: sortedErrors(errors), counts };
  const load: Load = {
    ...setup,
    counts,
    errors,
    grouped: groupManifests([]),
    broken: new Set(),
    patched: new Set(),
    stopped: false,
    // The port reuses whole folders (the daemon's memory layer): each file as read, for its key,
    // and as analysed, for recheck.ts.
    reads: opts.analyses?.folder ? [] : null,
    loaded: opts.analyses?.folder ? [] : null,
  };
  await readFiles(dir, load, opts, onAnalysed).finally(largeInputLoaded);
  const commit = opts.commit ?? null;
  const finishNow = () => finish(load, commit);
  const { config, configErrors, limits, walk, patches, reads, loaded, env } = load;
  if (reads === null || loaded === null || load.stopped) return finishNow();
  // Everything the folder's result is derived from: AnalysisPort.folder keys on it.
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
  const others = [...load.errors];
  if (env && patches)
    others.push(...unusedPatches(patches, load.patched, env, () => addressesIn(loaded)));
  const { skipped } = walk;
  return opts.analyses!.folder!(input, (previous) =>
    recheck(previous, { files: loaded, errors: others, counts, config, commit, skipped }),
  );
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
  const read = opts.shared?.config ?? (await readRepoConfig(dir, opts.resolveHost));
  const { config: repoConfig, errors: configErrors, limits } = read;
  errors.push(...configErrors);
  // An environment's files are not known while its poolsync.yaml is wrong, nor whether it has
  // environments while it does not parse: none is read (each folder read as one: spurious V1s).
  if (configErrors.length > 0 && read.declaresEnvironments !== false) return null;
  const chosen = configErrors.length > 0 ? null : selectEnvironment(repoConfig, opts.environment);
  // Nor without the environment: which files are manifests, which patches, is its to say.
  if (chosen?.error) {
    errors.push(chosen.error);
    return null;
  }
  const env = chosen?.env ?? null;
  const config = env ? environmentOwnConfig(repoConfig, env) : repoConfig;
  // A command's loads of one folder share its walk; a load of its own walks the environment's folders only.
  const all = await (opts.shared?.walk() ?? findManifestFiles(dir, config.ignore, env?.folders));
  // A shared walk is of the whole folder: the environment's part of it, each entry said once.
  const walk = env
    ? {
        files: environmentFiles(all.files, env),
        unreadable: all.unreadable.filter((u) => concernsEnvironment(u.path, env)),
        skipped: all.skipped.filter((s) => concernsEnvironment(s.path, env)),
        // Its patch files are read as patches, and said there when not regular.
        notRegular: all.notRegular.filter(
          (n) => concernsEnvironment(n.path, env) && !env.patches.includes(n.path),
        ),
      }
    : all;
  const patches: PatchSet | null = env ? await readPatches(dir, env.patches, limits) : null;
  if (patches) errors.push(...patches.errors);
  errors.push(...walk.unreadable.map(unreadableError));
  for (const { path, kind } of walk.notRegular) {
    const message = repoFileFailureMessage({ reason: 'not-regular', kind }, true);
    errors.push({ code: 'IO', message, file: path, line: 1, column: 1, address: null });
  }
  return { config, configErrors, limits, env, walk, patches };
}

/** The settings as the environment sees them, its render files its own (`{env}` filled in). */
function environmentOwnConfig(repoConfig: RepoConfig, env: Environment): RepoConfig {
  const config = environmentConfig(repoConfig, env);
  return config.render ? { ...config, render: environmentRender(config.render, env.name) } : config;
}

function unreadableError({ path, reason }: { path: string; reason: string }): ValidationError {
  const message =
    reason === TOO_DEEP
      ? `folder nested more than ${MAX_FOLDER_DEPTH} levels below the config folder: not read (manifests need far fewer); move its files up, or list it under ignore in poolsync.yaml`
      : reason === NOT_UTF8
        ? 'its name is not UTF-8, so it was not read (errors and plans name files as text): rename it'
        : reason === MIS_CASED
          ? 'not read: only names ending in .yaml or .yml (lower case) are manifests, and its objects would count as removed: rename it with a lower-case extension, or list it under ignore in poolsync.yaml'
          : `cannot read folder: ${reason}${unreadableAdvice(reason, true)}`;
  return { code: 'IO', message, file: path, line: 1, column: 1, address: null };
}

function finish(s: Load, commit: string | null): LoadResult {
  const { config, env, patches, walk, errors, counts } = s;
  // Read for recheck.ts, then stopped by a limit: their documents counted now.
  for (const { analysis } of s.loaded ?? []) collectDocuments(s, analysis);
  const grouped = s.grouped;
  // Cross-document rules over a folder read only in part would report the unread files'
  // objects as missing (a cascade of V2/V3 errors): the LIMIT error alone says what to fix.
  if (!s.stopped) append(errors, checkRules(grouped, s.broken));
  if (!s.stopped) append(errors, checkAbsent(grouped, config));
  if (!s.stopped && env && patches)
    errors.push(...unusedPatches(patches, s.patched, env, () => declaredAddresses(s)));
  const skipped = walk.skipped.length > 0 ? { skipped: walk.skipped } : {};
  if (errors.length > 0)
    return {
      valid: false,
      desired: null,
      errors: withheldReferences(sortedErrors(errors)),
      counts,
      ...skipped,
    };
  const desired = buildDesiredState(grouped, config, commit);
  return { valid: true, desired, errors: [], counts, ...skipped };
}

/** `Kind/name` of every document read (a patch's address), for a did-you-mean. */
function declaredAddresses({ grouped, broken }: Load): string[] {
  const read = Object.values(grouped).flatMap((ms: Manifest[]) =>
    ms.map((m) => `${m.kind}/${m.name}`),
  );
  return [...read, ...broken];
}

function addressesIn(loaded: readonly FileLoaded[]): string[] {
  return loaded.flatMap(({ analysis }) =>
    analysis.documents.flatMap((d) => {
      const name = d.manifest?.name ?? d.name;
      return d.kind !== null && typeof name === 'string' ? [`${d.kind}/${name}`] : [];
    }),
  );
}

interface Load extends Setup {
  counts: LoadCounts;
  errors: ValidationError[];
  /** The manifests read, by kind, in the order read. */
  grouped: Grouped;
  /** `Kind/name` of objects whose document did not validate (the rules do not call them missing). */
  broken: Set<string>;
  patched: Set<string>;
  /** A folder-wide limit stopped the reading: the files after it were never read. */
  stopped: boolean;
  /** When the port reuses whole folders: each file as read, in order (FolderInput.files). */
  reads: FileRead[] | null;
  /** And each file's analysis, in order, its documents not collected (recheck.ts does). */
  loaded: FileLoaded[] | null;
}

/**
 * Files between two turns of the event loop: reading and parsing are synchronous, and the
 * daemon still answers its HTTP requests while a large folder loads.
 */
const FILES_PER_TURN = 16;

async function readFiles(
  dir: string,
  s: Load,
  { analyses }: LoaderOptions,
  onAnalysed: ((file: string, analysis: FileAnalysis) => void) | undefined,
): Promise<void> {
  const { walk, limits, patches, reads } = s;
  const totals = { yamlBytes: 0, aliasNodes: 0, aliasBytes: 0 };
  const budget = heapBudget();
  const stop = (file: string, message: string): void => {
    s.errors.push({ code: 'LIMIT', message, file, line: 1, column: 1, address: null });
    s.stopped = true;
  };
  for (let i = 0; i < walk.files.length; i++) {
    const file = walk.files[i]!;
    if (i > 0 && i % FILES_PER_TURN === 0) await nextTurn();
    // The walk reaches files through real folders only: their parents are not checked again.
    let read = readWalkedManifestText(dir, file, limits);
    s.counts.files++;
    // A plan saved into the folder (`plan --out plan.yaml`) is JSON, so YAML: named as what it is.
    if (isSavedPlan(dir, file, read)) read = { ok: false, error: savedPlanError(file) };
    if (!read.ok) {
      s.errors.push(read.error);
      reads?.push({ error: read.error });
      continue;
    }
    totals.yamlBytes += read.text.length;
    if (totals.yamlBytes > LARGE_INPUT_BYTES) largeInputRead();
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
    if (s.loaded) s.loaded.push({ file, analysis: parsed });
    else collectDocuments(s, parsed);
  }
}

/** How a saved plan file begins (src/render/plan-file.ts PLAN_HEAD): its format marker. */
const SAVED_PLAN_HEAD = /^\{\s*"format_version"\s*:\s*"[^"]*"\s*,\s*"desired_fingerprint"\s*:/;

/** By its first bytes: one over the size limit (a large plan) is not read whole for it. */
function isSavedPlan(dir: string, file: string, read: ReadResult): boolean {
  if (read.ok) return SAVED_PLAN_HEAD.test(read.text.slice(0, 200));
  if (read.error.code !== 'LIMIT') return false;
  const head = readRepoFileSync(dir, file, { maxBytes: 200, prefix: 200 });
  return head.ok && SAVED_PLAN_HEAD.test(head.bytes.toString('utf8'));
}

function savedPlanError(file: string): ValidationError {
  const message =
    'a plan poolsync saved (`poolsync plan --out`), not a manifest: move it out of the config folder or list it under ignore in poolsync.yaml; a plan saved with a .json name is never read as a manifest';
  return { code: 'SCHEMA', message, file, line: 1, column: 1, address: null };
}

// Its own (synchronous) function, not a loop inside readFiles: inside the async function the
// loop cost `validate` of 10,000 objects 20-30 ms of CPU (5-7 %; 31 and 41 interleaved runs).
// An index loop: `for…of` made an iterator result per document (~4 MB at 100,000).
function collectDocuments(s: Load, parsed: FileLoaded['analysis']): void {
  const documents = parsed.documents;
  for (let i = 0; i < documents.length; i++) {
    const r = documents[i]!;
    if (r.errors.length > 0) s.errors.push(...r.errors);
    if (r.kind !== null) countKind(s.counts, r.kind);
    // Grouped as read: one list of 100,000 manifests fewer, regrouped after.
    if (r.manifest) (s.grouped[r.manifest.kind] as Manifest[]).push(r.manifest);
    else if (r.name && r.kind !== null) s.broken.add(`${r.kind}/${r.name}`);
  }
}

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
