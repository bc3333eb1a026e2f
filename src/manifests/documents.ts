/**
 * One YAML document → one typed manifest (envelope, JSON Schema, typed record pointing at its
 * source nodes). No defaults here: V5's co-named queue rules need what was written.
 */
import {
  isMap,
  type ClusterLabelEntry,
  type ExecutionClusterAuth,
  type ExecutionClusterLabel,
} from '../model/flyte.js';
import {
  address,
  assignmentKeyString,
  defaultQueueKeyString,
  type Assignment,
  type ClusterDataPlane,
  type DefaultQueueSetting,
  type PoolContract,
  QUEUE_CAP_FIELDS,
  type QueueSettings,
  type QueueCaps,
} from '../model/common.js';
import { SPEC_FIELDS, type SpecField } from '../gen/manifests/kinds.js';
import {
  CONTRACT_ANNOTATION,
  CONTRACT_UNKNOWN,
  type Annotations,
  type SourceLocation,
} from '../model/desired.js';
import { urlCredentials } from '../util/url-credentials.js';
import {
  MANIFEST_KINDS,
  schemaAccepts,
  show,
  validateAgainstSchema,
  type ManifestKind,
} from './schema.js';
import { didYouMean } from './suggest.js';
import type { ValidationError } from './types.js';
import {
  entry,
  setPlain,
  toPlain,
  type Position,
  type YMap,
  type YMapEntry,
  type YNode,
} from './yaml.js';

export interface ManifestBase {
  name: string;
  annotations: Annotations;
  source: SourceLocation;
  /** The document's root mapping, to find the position of any field. */
  root: YMap;
  /**
   * JSON pointers of the fields that failed the schema (empty if none): the manifest is partial,
   * its values there are placeholders the rules skip (`usable`).
   */
  faults: readonly string[];
  /** `<Kind>/<name>` (assignments: the key), as the document's schema errors give it. */
  address: string | null;
}

/**
 * True when the field at `pointer` (`/spec/pool`) is well-formed: no schema error at it,
 * inside it, or at an ancestor (a `spec` that is not a mapping hides all its fields).
 */
export function usable({ faults }: Pick<ManifestBase, 'faults'>, pointer: string): boolean {
  return usableAmong(faults, pointer);
}

/** `usable` of the faults alone: manifestOf has no manifest yet (and needs no object per call). */
function usableAmong(faults: readonly string[], pointer: string): boolean {
  // Loops, not `faults.every(…)`: a closure per call was ~5 % of what a load allocated.
  for (let i = 0; i < faults.length; i++) {
    const f = faults[i]!;
    if (f === pointer || f.startsWith(pointer + '/') || pointer.startsWith(f + '/')) return false;
  }
  return true;
}

/** Like `usable`, but errors inside the field (one bad list item) do not count. */
export function intact({ faults }: Pick<ManifestBase, 'faults'>, pointer: string): boolean {
  for (let i = 0; i < faults.length; i++) {
    const f = faults[i]!;
    if (f === pointer || pointer.startsWith(f + '/')) return false;
  }
  return true;
}

export interface PoolManifest extends ManifestBase {
  kind: 'ClusterPool';
  /** null when the document marks the contract unknown (`poolsync/contract: unknown`). */
  contract: PoolContract | null;
}

export interface ClusterManifest extends ManifestBase {
  kind: 'Cluster';
  /** null when omitted (→ "default", C1); `pools`: Union self-managed's pool map (rules.ts). */
  pool: string | null;
  pools: string[] | null;
  enabled: boolean | null;
  data_plane: ClusterDataPlane | null;
}

/** A queue's settings as written: null when omitted (or, in a partial manifest, not read). */
export type WrittenSettings = { [K in keyof QueueSettings]: QueueSettings[K] | null };

export interface QueueManifest extends ManifestBase, WrittenSettings {
  kind: 'Queue';
  /** null when omitted: the default depends on whether the queue is managed (C2, P1). */
  pool: string | null;
  clusters: string[] | null;
  /** Union's caps and scheduling as written (quantities as text); absent when omitted. */
  caps: QueueCaps;
}

/** Its fields as the model keeps them (keyed ones as written, for messages and V8). */
export interface AssignmentManifest extends ManifestBase, Assignment {
  kind: 'PoolAssignment';
}

export interface DefaultQueueManifest extends ManifestBase, DefaultQueueSetting {
  kind: 'DefaultQueue';
}

/** The Flyte open source kinds (docs/flyte-oss.md). */
export interface ExecutionClusterManifest extends ManifestBase {
  kind: 'ExecutionCluster';
  endpoint: string | null;
  enabled: boolean | null;
  /** null: neither auth nor inCluster given; authConflict: both (SCHEMA errors of the rules). */
  auth: ExecutionClusterAuth | null;
  authConflict: boolean;
}

export interface ClusterLabelManifest extends ManifestBase {
  kind: 'ClusterLabel';
  clusters: ClusterLabelEntry[];
  /** flyte-core's defaultExecutionLabel. */
  isDefault: boolean;
}

export interface ExecutionClusterLabelManifest extends ManifestBase, ExecutionClusterLabel {
  kind: 'ExecutionClusterLabel';
}

export type Manifest =
  | PoolManifest
  | ClusterManifest
  | QueueManifest
  | AssignmentManifest
  | DefaultQueueManifest
  | ExecutionClusterManifest
  | ClusterLabelManifest
  | ExecutionClusterLabelManifest;

export interface DocumentResult {
  /** For counts. */
  kind: ManifestKind | null;
  /** metadata.name when it is a string, even if the document is invalid. */
  name?: string | null;
  manifest: Manifest | null;
  errors: readonly ValidationError[];
}

export function readDocument(file: string, root: YNode): DocumentResult {
  const err = (message: string, pos: Position, addr: string | null = null): ValidationError => ({
    code: 'SCHEMA',
    message,
    file: pos.file ?? file,
    line: pos.line,
    column: pos.column,
    address: addr,
  });
  const kind = manifestKindOf(root, file);
  if (typeof kind !== 'string')
    return { kind: null, manifest: null, errors: [err(kind.message, kind.pos)] };
  root = root as YMap;
  const value = toPlain(root) as Record<string, unknown>;
  const addr = addressOf(kind, value);
  const issues = validateAgainstSchema(kind, value, root);
  for (const { path, found } of credentialsIn(kind, value))
    issues.push({
      message: credentialMessage(kind, path, found),
      pos: positionOf(root, ...path),
      path: '/' + path.join('/'),
    });
  const source: SourceLocation = { file, line: root.pos.line, column: root.pos.column };
  const kept = positionTree(root);
  if (issues.length > 0) {
    const name = (value['metadata'] as Record<string, unknown> | undefined)?.['name'];
    const faults = issues.map((i) => i.path);
    return {
      kind,
      name: typeof name === 'string' ? name : null,
      // All errors are reported together (manifests.md): the rules still see what is right.
      manifest: manifestOf(kind, value, source, kept, addr, faults),
      errors: issues.map((i) => err(i.message, i.pos, addr)),
    };
  }
  return { kind, manifest: manifestOf(kind, value, source, kept, addr), errors: NO_ERRORS };
}

/** analysePlain's reading of a document: null unless it is a manifest with no error. */
export function readPlainDocument(
  file: string,
  value: Record<string, unknown>,
  root: YMap,
  start: Position,
): DocumentResult | null {
  const kind = value['kind'];
  if (!isManifestKind(kind) || !schemaAccepts(kind, value) || credentialsIn(kind, value).length > 0)
    return null;
  const { line, column } = start;
  const manifest = manifestOf(kind, value, { file, line, column }, root, addressOf(kind, value));
  return { kind, manifest, errors: NO_ERRORS };
}

const isManifestKind = (k: unknown): k is ManifestKind =>
  (MANIFEST_KINDS as readonly unknown[]).includes(k);

/** The envelope's kind (a manifest kind), or why the document has none and where. */
function manifestKindOf(
  root: YNode,
  file: string,
): ManifestKind | { message: string; pos: Position } {
  if (root.kind !== 'map') {
    const got = root.kind === 'seq' ? 'a list' : show(root.kind === 'scalar' ? root.value : {});
    const message = `a manifest must be a mapping with apiVersion, kind, metadata and spec; got ${got}`;
    return { message, pos: root.pos };
  }
  const kindEntry = entry(root, 'kind');
  if (!kindEntry)
    return {
      message: `missing required field 'kind' (one of ${MANIFEST_KINDS.join(', ')})`,
      pos: root.pos,
    };
  const { pos } = kindEntry.value;
  const kind = kindEntry.value.kind === 'scalar' ? kindEntry.value.value : null;
  if (kind === 'RepoConfig') {
    // A subfolder's own poolsync.yaml: the repository there is read as part of this one.
    const nested = /^(.+)\/poolsync\.yaml$/.exec(file)?.[1];
    const message = nested
      ? `${nested} is a nested config repository (this is its poolsync.yaml), read here as part of this one: to keep it apart, add '${nested}/**' to the ignore: list of the root poolsync.yaml (docs/manifests.md)`
      : 'RepoConfig belongs in poolsync.yaml at the root of the folder, not among the manifests';
    return { message, pos };
  }
  if (isManifestKind(kind)) return kind;
  const hint = typeof kind === 'string' ? didYouMean(kind, MANIFEST_KINDS) : '';
  const got = show(toPlain(kindEntry.value));
  return { message: `kind must be one of ${MANIFEST_KINDS.join(', ')}; got ${got}${hint}`, pos };
}

type Plain = Record<string, unknown>;
type Fields = Readonly<Record<string, SpecField>>;
const NO_FAULTS: readonly string[] = [];
/**
 * Most objects' annotations and caps: one frozen object each, not one per object kept by the
 * desired state (170,000 objects in a 100,000-object load); frozen, so a write fails loudly.
 */
const NO_ANNOTATIONS: Annotations = Object.freeze({});
const NO_CAPS: QueueCaps = Object.freeze({});
/** A valid document's errors: one array, not one per document. */
const NO_ERRORS: readonly ValidationError[] = Object.freeze([]);
const isObject = (v: unknown): v is Plain => typeof v === 'object' && v !== null;
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/** `<Kind>/<name>` when the document says enough to know it (assignments: the key). */
function addressOf(kind: ManifestKind, value: Plain): string | null {
  if (kind === 'PoolAssignment' || kind === 'ExecutionClusterLabel' || kind === 'DefaultQueue') {
    const spec = isMap(value['spec']) ? value['spec'] : {};
    const { project, workflow } = spec;
    // An ExecutionClusterLabel without a domain is the project-wide row (`project/*`).
    const domain =
      kind === 'ExecutionClusterLabel' && spec['domain'] === undefined ? '' : spec['domain'];
    if (typeof project !== 'string' || typeof domain !== 'string') return null;
    if (kind === 'DefaultQueue') return address(kind, defaultQueueKeyString({ project, domain }));
    const key = { project, domain, workflow: typeof workflow === 'string' ? workflow : null };
    return address(kind, assignmentKeyString(key));
  }
  const name = isMap(value['metadata']) ? value['metadata']['name'] : undefined;
  return typeof name === 'string' ? address(kind, name) : null;
}

/** A spec as a kind's reader reads it: fields at fault (`usable`) undefined, or '' as `text`. */
class SpecReader {
  constructor(
    readonly spec: Plain,
    readonly faults: readonly string[],
    readonly annotations: Annotations,
    /** ManifestBase's other fields, for a reader that lays out the whole manifest (Queue). */
    readonly name: string,
    readonly source: SourceLocation,
    readonly root: YMap,
    readonly address: string | null,
  ) {}
  get(a: string, b?: string, c?: string): unknown {
    if (this.faults.length > 0) {
      const pointer = [a, b, c].filter((seg) => seg !== undefined).join('/');
      if (!usable(this, `/spec/${pointer}`)) return undefined;
    }
    let v: unknown = this.spec[a];
    if (b !== undefined) v = isObject(v) ? v[b] : undefined;
    if (c !== undefined) v = isObject(v) ? v[c] : undefined;
    return v;
  }
  text(a: string, b?: string): string {
    return str(this.get(a, b)) ?? '';
  }
  /** A queue setting as written; null when omitted. */
  setting<K extends keyof WrittenSettings>(field: K): WrittenSettings[K] {
    return (this.get(field) ?? null) as WrittenSettings[K];
  }
}

/**
 * A document as its typed manifest, partial (placeholders at `faults`) if it failed its schema;
 * null without a well-formed name: nothing to refer to.
 */
function manifestOf(
  kind: ManifestKind,
  value: Plain,
  source: SourceLocation,
  root: YMap,
  address: string | null,
  faults: readonly string[] = NO_FAULTS,
): Manifest | null {
  const metadata = isMap(value['metadata']) ? value['metadata'] : {};
  const name = metadata['name'];
  if (typeof name !== 'string' || !usableAmong(faults, '/metadata/name')) return null;
  const written = metadata['annotations'];
  const annotations =
    isMap(written) && usableAmong(faults, '/metadata/annotations')
      ? ({ ...written } as Annotations)
      : NO_ANNOTATIONS;
  const spec = isMap(value['spec']) ? value['spec'] : {};
  const own = READERS[kind](new SpecReader(spec, faults, annotations, name, source, root, address));
  // ManifestBase's fields set one by one, never `{ ...base, kind, … }`: in V8 (Node 20) a literal
  // starting with a spread and going on was ~10× slower and ~5 KB per manifest (~1 s of a
  // 100,000-object plan); nor Object.assign from a base: one object less per manifest.
  const manifest = own as Partial<ManifestBase>;
  manifest.name = name;
  manifest.annotations = annotations;
  manifest.source = source;
  manifest.root = root;
  manifest.faults = faults;
  manifest.address = address;
  return manifest as Manifest;
}

/**
 * `fields` of `from` as the model keeps them (model/common.ts Stored), set on `out`: an omitted
 * field its default or null; one of another type (a partial manifest's fault) a placeholder, ''
 * for text: the rules read a field only where it is `usable`.
 */
function storedFields(fields: Fields, from: Plain, out: Plain = {}): Plain {
  // for…in, not Object.keys: no array a document (70,000 of them in a 100,000-object load).
  for (const n in fields) {
    const f = fields[n]!;
    const v = from[n];
    if (v === undefined && !f.required) out[n] = 'default' in f ? structuredClone(f.default) : null;
    else if (f.fields) out[n] = storedFields(f.fields, isObject(v) ? v : {});
    else out[n] = ofType(f, v) ? v : f.type === 'string' || f.type === 'enum' ? '' : null;
  }
  return out;
}

/** Whether `v` is of the JSON type `f` declares. */
function ofType(f: SpecField, v: unknown): boolean {
  if (f.type === 'string' || f.type === 'enum') return typeof v === 'string';
  if (f.type === 'integer' || f.type === 'number') return typeof v === 'number';
  if (f.type === 'array') return Array.isArray(v);
  if (f.type === 'object') return isMap(v);
  return f.type === 'boolean' ? typeof v === 'boolean' : v !== undefined;
}

/** Each kind's own fields (ManifestBase's aside), from its spec. */
const READERS: {
  [K in ManifestKind]: (r: SpecReader) => Omit<Extract<Manifest, { kind: K }>, keyof ManifestBase>;
} = {
  ClusterPool: (r) => ({
    kind: 'ClusterPool',
    // P2; null when marked unknown (the schema then enforces `spec: {}`).
    contract:
      r.annotations[CONTRACT_ANNOTATION] === CONTRACT_UNKNOWN
        ? null
        : (storedFields(SPEC_FIELDS.ClusterPool, r.spec) as PoolContract),
  }),
  Cluster: (r) => ({
    kind: 'Cluster',
    pool: str(r.get('pool')) ?? null,
    pools: (r.get('pools') as string[] | undefined) ?? null,
    enabled: boolOrNull(r.get('enabled')),
    // As written: V6 and V13 read only its fields free of faults.
    data_plane: isMap(r.spec['data_plane']) ? (r.spec['data_plane'] as ClusterDataPlane) : null,
  }),
  Queue: (r) => {
    // Intact, not usable: one bad entry does not hide the others from V3 and V4.
    const clusters = intact(r, '/spec/clusters') ? r.spec['clusters'] : undefined;
    // The whole manifest in one literal, ManifestBase's fields too (manifestOf sets them again,
    // to the same values): fields added to a literal go to a store of their own, copied as it
    // grows by 3, four times per queue (~21 MB of a 100,000-object load's 69,500 queues).
    const queue: QueueManifest = {
      kind: 'Queue',
      pool: str(r.get('pool')) ?? null,
      // A bad entry (of a partial manifest) reads as ''.
      clusters: !Array.isArray(clusters)
        ? null
        : r.faults.length === 0
          ? clusters
          : clusters.map((c) => (typeof c === 'string' ? c : '')),
      // V15 checks the caps of a queue that passed its schema only.
      caps: r.faults.length > 0 ? NO_CAPS : queueCaps(r.spec),
      run_concurrency: r.setting('run_concurrency'),
      action_concurrency: r.setting('action_concurrency'),
      depth: r.setting('depth'),
      priority: r.setting('priority'),
      fairness: r.setting('fairness'),
      // In the order manifestOf sets them: the key order of every manifest stays as it was.
      name: r.name,
      annotations: r.annotations,
      source: r.source,
      root: r.root,
      faults: r.faults,
      address: r.address,
    };
    return queue;
  },
  // The key as written (a string), for messages and the V8/V12 duplicate checks.
  PoolAssignment: (r) =>
    storedFields(SPEC_FIELDS.PoolAssignment, r.spec, { kind: 'PoolAssignment' }) as never,
  DefaultQueue: (r) =>
    storedFields(SPEC_FIELDS.DefaultQueue, r.spec, { kind: 'DefaultQueue' }) as never,
  ExecutionCluster: (r) => {
    const rawAuth = r.get('auth');
    const inCluster = r.get('inCluster') === true;
    const auth: ExecutionClusterAuth | null = isMap(rawAuth)
      ? {
          type: 'file_path',
          tokenPath: str(rawAuth['tokenPath']) ?? '',
          certPath: str(rawAuth['certPath']) ?? '',
        }
      : inCluster
        ? { type: 'in_cluster' }
        : null;
    return {
      kind: 'ExecutionCluster',
      endpoint: str(r.get('endpoint')) ?? null,
      enabled: boolOrNull(r.get('enabled')),
      auth,
      authConflict: isMap(rawAuth) && inCluster,
    };
  },
  ClusterLabel: (r) => ({
    kind: 'ClusterLabel',
    clusters: (Array.isArray(r.spec['clusters']) ? r.spec['clusters'] : []).map((_: unknown, i) => {
      const weight = r.get('clusters', `${i}`, 'weight');
      const cluster = str(r.get('clusters', `${i}`, 'cluster')) ?? '';
      return { cluster, weight: typeof weight === 'number' ? weight : NaN };
    }),
    isDefault: r.get('default') === true,
  }),
  ExecutionClusterLabel: (r) =>
    storedFields(SPEC_FIELDS.ExecutionClusterLabel, r.spec, {
      kind: 'ExecutionClusterLabel',
    }) as never,
};

const boolOrNull = (v: unknown): boolean | null => (typeof v === 'boolean' ? v : null);

/** Union's caps as declared; a quantity written as a YAML number is kept as its text. */
function queueCaps(spec: Plain): QueueCaps {
  let caps: Record<string, unknown> | null = null;
  // An index loop: `for…of` made an iterator result per field, ~10 MB over 70,000 queues.
  for (let i = 0; i < QUEUE_CAP_FIELDS.length; i++) {
    const f = QUEUE_CAP_FIELDS[i]!;
    const v = spec[f];
    if (!v) continue;
    if (!isMap(v)) (caps ??= {})[f] = v;
    else {
      const cap: Record<string, unknown> = {};
      for (const k of Object.keys(v)) setPlain(cap, k, f === 'max_resources' ? String(v[k]) : v[k]);
      (caps ??= {})[f] = cap;
    }
  }
  return (caps ?? NO_CAPS) as QueueCaps;
}

/**
 * The parts of a tree the rules ask positions of, all a manifest keeps of it. A rule needing a
 * position elsewhere adds its path here (test/manifests/cache.test.ts compares every error of the
 * invalid corpus with a cold run).
 */
const POSITION_PATHS: Record<string, true | Record<string, true>> = {
  metadata: { name: true },
  spec: true,
};

/** `node` cut down to `keep` (positions of every kept node unchanged). */
export function positionTree(node: YMap, keep: Record<string, unknown> = POSITION_PATHS): YMap {
  const entries: YMapEntry[] = [];
  for (const e of node.entries) {
    const k = keep[e.key];
    if (k === undefined) continue;
    if (k === true || e.value.kind !== 'map') entries.push(e);
    else
      entries.push({
        key: e.key,
        keyPos: e.keyPos,
        value: positionTree(e.value, k as Record<string, unknown>),
      });
  }
  return { kind: 'map', entries, pos: node.pos };
}

/** Position of a field (`spec.pool`), else of its nearest present ancestor's key. */
export function positionOf(root: YMap, ...path: (string | number)[]): Position {
  let node: YNode = root;
  let pos = root.pos;
  for (const seg of path) {
    if (typeof seg === 'number') {
      if (node.kind !== 'seq' || !node.items[seg]) return pos;
      node = node.items[seg]!;
      pos = node.pos;
    } else {
      const e = entry(node, seg);
      if (!e) return pos;
      node = e.value;
      pos = e.value.pos;
    }
  }
  return pos;
}

/** Fields holding URLs: none may carry credentials (docs/security.md; manifests are not secret). */
const URL_FIELDS: Partial<Record<ManifestKind, string[][]>> = {
  ClusterPool: [
    ['spec', 'object_store_ref', 'uri'],
    ['spec', 'object_store_ref', 'endpoint'],
  ],
  Cluster: [['spec', 'data_plane', 'object_store_uri']],
  // Rendered into flyte-core's Helm values (render flyte-core-values): a token there would
  // land in a values file and a ConfigMap.
  ExecutionCluster: [['spec', 'endpoint']],
};

function credentialMessage(kind: ManifestKind, path: string[], found: 'user' | 'password') {
  const instead =
    kind === 'ExecutionCluster'
      ? "flyteadmin reads the cluster's credentials from the files of spec.auth (tokenPath, certPath), not the URL"
      : "give the object store its credentials through the data plane's secret store, not the URL";
  return `${path.slice(1).join('.')} carries ${found === 'password' ? 'a password or key (user:secret@)' : 'a user part (name@)'}: manifests live in Git and are shown in plans; ${instead}`;
}

function credentialIn(url: string): 'user' | 'password' | null {
  const found = urlCredentials(url);
  // abfs://container@account.dfs.core.windows.net names a container before '@': only an
  // http(s) endpoint's user part is a credential; a password is one everywhere.
  return found === 'user' && !/^https?:/i.test(url) ? null : found;
}

function credentialsIn(kind: ManifestKind, value: unknown): readonly CredentialFound[] {
  const fields = URL_FIELDS[kind];
  if (fields === undefined) return NO_CREDENTIALS;
  let found: CredentialFound[] | null = null;
  // Index loops: `for…of` made an iterator result per field and key (~6 MB over 20,000 clusters).
  for (let i = 0; i < fields.length; i++) {
    const path = fields[i]!;
    let v = value;
    for (let k = 0; k < path.length; k++) v = isMap(v) ? v[path[k]!] : undefined;
    const what = typeof v === 'string' ? credentialIn(v) : null;
    if (what !== null) (found ??= []).push({ path, found: what });
  }
  return found ?? NO_CREDENTIALS;
}

type CredentialFound = { path: string[]; found: 'user' | 'password' };
/** Nearly every document's: one array, not a new one each time. */
const NO_CREDENTIALS: readonly CredentialFound[] = [];
