/**
 * Loading one environment of a repository with `environments:` (docs/environments.md): which
 * environment, which files are its own (under its folders), and its files read with its
 * patches merged in. The loader (index.ts) calls these; without `environments:` none applies.
 */
import type { Environment, RepoConfig } from '../model/desired.js';
import type { FileAnalysis } from './analysis-port.js';
import { readDocument } from './documents.js';
import { readManifestText } from './files.js';
import type { InputLimits } from './limits.js';
import type { ValidationError } from './types.js';
import { REPO_CONFIG_FILE } from './walk.js';
import { entry, parseYamlFile, type Position, type YMap, type YNode } from './yaml.js';

function configError(message: string): ValidationError {
  return { code: 'SCHEMA', message, file: REPO_CONFIG_FILE, line: 1, column: 1, address: null };
}

/** The names of the environments, for messages. */
export function environmentNames(config: RepoConfig): string {
  return (config.environments ?? []).map((e) => e.name).join(', ');
}

/**
 * The environment a load is for: none without `environments:` (and none asked), else the one
 * named. Asking for one the file does not declare, or for none when it declares some, is an
 * error that lists them.
 */
export function selectEnvironment(
  config: RepoConfig,
  name: string | undefined,
): { env: Environment | null; error: ValidationError | null } {
  const envs = config.environments;
  if (!envs) {
    if (name === undefined) return { env: null, error: null };
    return {
      env: null,
      error: configError(
        `environment '${name}' was asked for, but ${REPO_CONFIG_FILE} declares no environments: leave out --env, or declare environments (docs/environments.md)`,
      ),
    };
  }
  if (name === undefined)
    return {
      env: null,
      error: configError(
        `${REPO_CONFIG_FILE} declares environments (${environmentNames(config)}): name one with --env NAME (or --env all where a command takes it)`,
      ),
    };
  const env = envs.find((e) => e.name === name);
  if (env) return { env, error: null };
  return {
    env: null,
    error: configError(
      `no environment '${name}' in ${REPO_CONFIG_FILE}; its environments: ${environmentNames(config)}`,
    ),
  };
}

/**
 * The walk's files that are the environment's: under one of its folders, in the walk's order.
 * The walk is sorted, so a folder's files are one run of it, found by a binary search: the
 * environment's own files cost, not the whole repository's (docs/environments.md, Speed).
 */
export function environmentFiles(files: string[], env: Environment): string[] {
  if (env.folders.includes('.')) return files;
  const picked = new Set<number>();
  for (const folder of env.folders) {
    const prefix = `${folder}/`;
    let lo = 0;
    for (let hi = files.length; lo < hi;) {
      const mid = (lo + hi) >>> 1;
      if (files[mid]! < prefix) lo = mid + 1;
      else hi = mid;
    }
    for (let i = lo; i < files.length && files[i]!.startsWith(prefix); i++) picked.add(i);
  }
  return [...picked].sort((a, b) => a - b).map((i) => files[i]!);
}

/** The repository settings as the environment sees them: its own `prune`, its name. */
export function environmentConfig(config: RepoConfig, env: Environment): RepoConfig {
  return { ...config, prune: env.prune ?? config.prune, environment: env.name };
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

/** Each patch whose object no folder of the environment declares. */
export function unusedPatches(
  patches: PatchSet,
  used: Set<string>,
  env: Environment,
): ValidationError[] {
  return [...patches.byAddress]
    .filter(([address]) => !used.has(address))
    .map(([address, p]) => ({
      code: 'SCHEMA' as const,
      message: `patches ${address}, which no folder of environment ${env.name} declares (${env.folders.join(', ')}): declare it there, or correct the kind or name`,
      file: p.file,
      line: p.at.line,
      column: p.at.column,
      address,
    }));
}

/**
 * An environment's patches (docs/environments.md): documents naming an object of the
 * environment's folders by `kind` and `metadata.name`, merged into that object's document as a
 * JSON merge patch (RFC 7386: maps merge key by key, `null` removes a field, anything else
 * replaces it, lists whole), before the document is read. The merge is on the YAML trees, and
 * every node a patch brings keeps its position with its own file (`Position.file`), so an
 * invalid patched value is reported at its line in the patch, not in the base.
 */
export interface Patch {
  file: string;
  root: YMap;
  /** Where the patch names its object (`metadata.name`), for "patches nothing". */
  at: Position;
}

export interface PatchSet {
  /** `Kind/name` → the patch of that object. */
  byAddress: Map<string, Patch>;
  errors: ValidationError[];
  /** The patch files' text, part of what a load depends on. */
  texts: string[];
}

/** The `Kind/name` a document names, or null when it names none. */
export function documentAddress(root: YNode): string | null {
  const kind = entry(root, 'kind')?.value;
  const name = entry(entry(root, 'metadata')?.value, 'name')?.value;
  if (kind?.kind !== 'scalar' || name?.kind !== 'scalar') return null;
  if (typeof kind.value !== 'string' || name.value === null) return null;
  return `${kind.value}/${String(name.value)}`;
}

/** The patches of one environment, read from its patch files. */
export async function readPatches(
  dir: string,
  files: readonly string[],
  limits: Readonly<InputLimits>,
): Promise<PatchSet> {
  const set: PatchSet = { byAddress: new Map(), errors: [], texts: [] };
  const error = (file: string, pos: Position, message: string, address: string | null = null) =>
    set.errors.push({
      code: 'SCHEMA',
      message,
      file,
      line: pos.line,
      column: pos.column,
      address,
    });
  for (const file of files) {
    const read = await readManifestText(dir, file, limits);
    if (!read.ok) {
      set.errors.push(read.error);
      continue;
    }
    set.texts.push(read.text);
    const parsed = parseYamlFile(read.text, limits);
    for (const i of parsed.issues)
      set.errors.push({ ...i, file, address: null } as ValidationError);
    for (const doc of parsed.documents) {
      const root = doc.root;
      const address = documentAddress(root);
      if (root.kind !== 'map' || address === null) {
        error(
          file,
          root.pos,
          'a patch names the object it changes: a mapping with kind and metadata.name, and the fields to merge into it',
        );
        continue;
      }
      const at = entry(entry(root, 'metadata')?.value, 'name')!.value.pos;
      const first = set.byAddress.get(address);
      if (first) {
        error(
          file,
          at,
          `${address} is patched twice in this environment: also at ${first.file}:${first.at.line}:${first.at.column}; merge the two patches`,
          address,
        );
        continue;
      }
      set.byAddress.set(address, { file, root, at });
    }
  }
  return set;
}

/** `base` with `patch` merged in (RFC 7386); nodes from the patch carry `file`. */
export function mergePatch(base: YNode, patch: YNode, file: string): YNode {
  if (patch.kind !== 'map' || base.kind !== 'map') return fromPatch(patch, file);
  const entries = [...base.entries];
  for (const e of patch.entries) {
    const i = entries.findIndex((b) => b.key === e.key);
    const removes = e.value.kind === 'scalar' && e.value.value === null;
    if (i < 0) {
      if (!removes)
        entries.push({
          key: e.key,
          keyPos: { ...e.keyPos, file },
          value: fromPatch(e.value, file),
        });
    } else if (removes) entries.splice(i, 1);
    else entries[i] = { ...entries[i]!, value: mergePatch(entries[i]!.value, e.value, file) };
  }
  return { kind: 'map', entries, pos: base.pos };
}

/** A copy of a patch's node whose every position names the patch file. */
function fromPatch(node: YNode, file: string): YNode {
  const pos = { ...node.pos, file };
  switch (node.kind) {
    case 'scalar':
      return { ...node, pos };
    case 'seq':
      return { kind: 'seq', items: node.items.map((n) => fromPatch(n, file)), pos };
    case 'map':
      return {
        kind: 'map',
        entries: node.entries
          .filter((e) => !(e.value.kind === 'scalar' && e.value.value === null))
          .map((e) => ({
            key: e.key,
            keyPos: { ...e.keyPos, file },
            value: fromPatch(e.value, file),
          })),
        pos,
      };
  }
}
