/**
 * One file on its own: what the loader learns of it (`FileAnalysis`: parse, then each
 * document's envelope and schema), and the port through which a caller reuses analyses across
 * loads: the loader keeps nothing between calls; a daemon unit's memory layer
 * (src/incremental/analysis-cache.ts) is an `AnalysisPort`. Without one every file is analysed
 * again (a one-shot load), and manifests are kept without their position trees, parsed again
 * from the text only when a rule has an error to locate: ~1 byte kept per byte of YAML instead
 * of ~5 bytes of trees, most of what a load of 100,000 objects held live (issue 25).
 */
import type { RepoConfig } from '../model/desired.js';
import type { FolderRead } from './config.js';
import { positionTree, readDocument, readPlainDocument, type DocumentResult } from './documents.js';
import { documentAddress, mergePatch, type PatchSet } from './environments.js';
import type { InputLimits } from './limits.js';
import type { LoadOptions, LoadResult, ValidationError } from './types.js';
import type { WalkResult } from './walk.js';
import {
  parseYamlFile,
  parseYamlFull,
  plainScalarValue,
  type ParsedFile,
  type Position,
  type YDocument,
  type YamlIssue,
  type YMap,
  type YMapEntry,
} from './yaml.js';
import { parseSimplePlain, parseSimpleYaml } from './yaml-simple.js';

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
  /** poolsync.yaml and the walk, read once for the loads of several environments. */
  shared?: FolderRead;
}

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
 * (analysePlain), else analyseFile's result with its position trees parsed again only if read;
 * `onRebuild` is told when they are.
 */
export function analyseFileLean(
  file: string,
  text: string,
  limits: InputLimits,
  onRebuild?: () => void,
): FileAnalysis {
  const plain = analysePlain(file, text, limits, onRebuild);
  if (plain) return plain;
  const lean = withoutRoots(analyseFile(file, text, limits));
  const rootAt = rootsOnDemand(text, limits, onRebuild);
  lean.documents.forEach((d, i) => {
    if (d.manifest) d.manifest.root = rootAt(i);
  });
  return lean;
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
 * fast path's plain mode (parseSimplePlain), with no tree and no Position; null when the file
 * leaves the subset or a document has an error: analyseFileLean then reads it by analyseFile,
 * so every error comes from that one path, worded and located as before.
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

/** The analysis with every manifest's `root` left out (null), as a disk entry stores it. */
export function withoutRoots(analysis: FileAnalysis): FileAnalysis {
  return {
    ...analysis,
    documents: analysis.documents.map((d) =>
      d.manifest ? { ...d, manifest: { ...d.manifest, root: null as unknown as YMap } } : d,
    ),
  };
}

/**
 * Position trees on demand: the i-th root made is the i-th document the parser kept, all of the
 * file's parsed again from `text` the first time one is read.
 */
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
 * A manifest's `root` that parses its file only when read: a small object of its own rather
 * than a getter on each manifest, which made every manifest a ~1 KB dictionary-mode object.
 */
class LazyRoot implements YMap {
  readonly kind = 'map';
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
/** Whether any of the file's documents is patched. */
export function isPatched(analysis: FileAnalysis, patches: PatchSet): boolean {
  return analysis.documents.some((d) => {
    const name = d.manifest?.name ?? d.name;
    return (
      d.kind !== null && typeof name === 'string' && patches.byAddress.has(`${d.kind}/${name}`)
    );
  });
}

/**
 * The file read again with its patched documents merged (never cached: the result depends on
 * the patch too). `used` collects the addresses patched, for the patches that patch nothing.
 */
export function analysePatched(
  file: string,
  text: string,
  limits: Readonly<InputLimits>,
  patches: PatchSet,
  used: Set<string>,
): FileAnalysis {
  const parsed = parseYamlFile(text, limits);
  return {
    issues: parsed.issues,
    documentCount: parsed.documentCount,
    aliasExpansion: parsed.aliasExpansion,
    aliasBytes: parsed.aliasBytes,
    documents: parsed.documents.map((doc) => {
      const address = documentAddress(doc.root);
      const patch = address !== null ? patches.byAddress.get(address) : undefined;
      if (!patch) return readDocument(file, doc.root);
      used.add(address!);
      return readDocument(file, mergePatch(doc.root, patch.root, patch.file));
    }),
  };
}
