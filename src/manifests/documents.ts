/**
 * One YAML document → one typed manifest: envelope and kind dispatch, JSON Schema
 * validation, then a typed record that still points at its source nodes. Defaults are
 * not applied here (the co-named queue rules of V5 need to know what was written).
 */
import {
  address,
  assignmentKeyString,
  defaultQueueKeyString,
  type ClusterDataPlane,
  type Fairness,
  type Priority,
  type QueueCaps,
  type QueueScheduling,
} from '../model/common.js';
import type { Annotations } from '../model/desired.js';
import { poolContract } from './pool-contract.js';
import {
  MANIFEST_KINDS,
  schemaAccepts,
  show,
  validateAgainstSchema,
  type ManifestKind,
} from './schema.js';
import { URL_FIELDS, carriesCredentials, credentialIssues } from './document-credentials.js';
import { didYouMean } from './suggest.js';
import { flyteManifest } from './flyte-documents.js';
import type { ValidationError } from './types.js';
import { isUsable, type ManifestBase } from './manifest-base.js';
import type { ClusterManifest, DocumentResult, Manifest, QueueManifest } from './manifest-types.js';
import { positionTree } from './document-positions.js';
import { PARTIAL_SPECS } from './partial-specs.js';

export { intact, usable, type ManifestBase } from './manifest-base.js';
export type * from './manifest-types.js';
export { positionOf, positionTree } from './document-positions.js';
import { entry, toPlain, type Position, type YMap, type YNode } from './yaml.js';

export function readDocument(file: string, root: YNode): DocumentResult {
  const err = (message: string, pos: Position, addr: string | null = null): ValidationError => ({
    code: 'SCHEMA',
    message,
    file: pos.file ?? file,
    line: pos.line,
    column: pos.column,
    address: addr,
  });
  if (root.kind !== 'map') {
    return {
      kind: null,
      manifest: null,
      errors: [
        err(
          `a manifest must be a mapping with apiVersion, kind, metadata and spec; got ${describeNode(root)}`,
          root.pos,
        ),
      ],
    };
  }
  const kindOrError = manifestKindOf(root, err);
  if (typeof kindOrError !== 'string') return { kind: null, manifest: null, errors: [kindOrError] };
  const kind = kindOrError;
  const value = toPlain(root) as Record<string, unknown>;
  const addr = addressOf(kind, value);
  const issues = validateAgainstSchema(kind, value, root);
  for (const path of URL_FIELDS[kind] ?? []) issues.push(...credentialIssues(kind, root, path));
  if (issues.length > 0) {
    const name = (value['metadata'] as Record<string, unknown> | undefined)?.['name'];
    return {
      kind,
      name: typeof name === 'string' ? name : null,
      // All errors are reported together (manifests.md): the cross-document rules still
      // see what this document got right.
      manifest: partial(
        kind,
        value,
        { root: positionTree(root), source: root.pos },
        file,
        issues.map((i) => i.path),
        addr,
      ),
      errors: issues.map((i) => err(i.message, i.pos, addr)),
    };
  }
  const kept = { root: positionTree(root), source: root.pos };
  return { kind, manifest: typed(kind, value, kept, file, NO_FAULTS, addr), errors: [] };
}

/**
 * A document read as plain values, without its tree (load-plain.ts): its result when it is a
 * manifest with no error, else null: the caller reads the file again, tree and positions
 * included, through readDocument, so every error is worded and located by one path. `root`
 * is the manifest's position tree (parsed again only if a rule asks for a position), `source`
 * where the document starts.
 */
export function readPlainDocument(
  file: string,
  value: Record<string, unknown>,
  root: YMap,
  source: Position,
): DocumentResult | null {
  const kind = value['kind'];
  if (typeof kind !== 'string' || !(MANIFEST_KINDS as readonly string[]).includes(kind))
    return null;
  const k = kind as ManifestKind;
  if (!schemaAccepts(k, value) || carriesCredentials(k, value)) return null;
  const addr = addressOf(k, value);
  return {
    kind: k,
    manifest: typed(k, value, { root, source }, file, NO_FAULTS, addr),
    errors: [],
  };
}

/** The position tree a manifest keeps, and where its document starts. */
interface Kept {
  root: YMap;
  source: Position;
}

type ErrorAt = (message: string, pos: Position, addr?: string | null) => ValidationError;

/** The envelope's kind (a manifest kind), or the error that says why the document has none. */
function manifestKindOf(root: YMap, err: ErrorAt): ManifestKind | ValidationError {
  const kindEntry = entry(root, 'kind');
  if (!kindEntry) {
    return err(`missing required field 'kind' (one of ${MANIFEST_KINDS.join(', ')})`, root.pos);
  }
  const kindValue = kindEntry.value.kind === 'scalar' ? kindEntry.value.value : null;
  if (kindValue === 'RepoConfig') {
    return err(
      'RepoConfig belongs in poolsync.yaml at the root of the folder, not among the manifests',
      kindEntry.value.pos,
    );
  }
  if (typeof kindValue !== 'string' || !(MANIFEST_KINDS as readonly string[]).includes(kindValue)) {
    const hint = typeof kindValue === 'string' ? didYouMean(kindValue, MANIFEST_KINDS) : '';
    return err(
      `kind must be one of ${MANIFEST_KINDS.join(', ')}; got ${show(toPlain(kindEntry.value))}${hint}`,
      kindEntry.value.pos,
    );
  }
  return kindValue as ManifestKind;
}

const NO_FAULTS: readonly string[] = [];

type Plain = Record<string, unknown>;
const isMap = (v: unknown): v is Plain => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * A document that failed its schema, as a manifest the rules can read: the fields free of
 * errors keep their values, every other one gets a placeholder of the right type and stays
 * in `faults`. Without a well-formed name there is nothing to refer to: no manifest.
 */
function partial(
  kind: ManifestKind,
  value: Plain,
  kept: Kept,
  file: string,
  faults: readonly string[],
  addr: string | null,
): Manifest | null {
  const ok = (pointer: string): boolean => isUsable(faults, pointer);
  const metadata = isMap(value['metadata']) ? value['metadata'] : {};
  if (!ok('/metadata/name') || typeof metadata['name'] !== 'string') return null;
  const spec = isMap(value['spec']) ? value['spec'] : {};
  const get = (pointer: string, read: (v: unknown) => unknown): unknown => {
    let v: unknown = value;
    for (const seg of pointer.slice(1).split('/')) v = isMap(v) ? v[seg] : undefined;
    return ok(pointer) ? read(v) : undefined;
  };
  const clean: Plain = {
    metadata: {
      name: metadata['name'],
      annotations: get('/metadata/annotations', (v) => (isMap(v) ? v : undefined)),
    },
  };
  if (kind === 'ExecutionCluster' || kind === 'ClusterLabel' || kind === 'ExecutionClusterLabel')
    return flyteManifest(kind, value, baseOf(clean, kept, file, faults, addr), ok);
  clean['spec'] = PARTIAL_SPECS[kind]({ get, spec, faults });
  return typed(kind, clean, kept, file, faults, addr);
}

function describeNode(node: YNode): string {
  return node.kind === 'seq' ? 'a list' : show(node.kind === 'scalar' ? node.value : {});
}

/** `<Kind>/<name>` when the document says enough to know it (assignments: the key). */
function addressOf(kind: ManifestKind, value: Record<string, unknown>): string | null {
  if (kind === 'PoolAssignment' || kind === 'ExecutionClusterLabel') {
    const spec = value['spec'] as Record<string, unknown> | undefined;
    const project = spec?.['project'];
    const domain = spec?.['domain'];
    const workflow = spec?.['workflow'];
    if (typeof project !== 'string' || typeof domain !== 'string') return null;
    return address(
      kind,
      assignmentKeyString({
        project,
        domain,
        workflow: typeof workflow === 'string' ? workflow : null,
      }),
    );
  }
  if (kind === 'DefaultQueue') {
    const spec = value['spec'] as Record<string, unknown> | undefined;
    const project = spec?.['project'];
    const domain = spec?.['domain'];
    if (typeof project !== 'string' || typeof domain !== 'string') return null;
    return address(kind, defaultQueueKeyString({ project, domain }));
  }
  const name = (value['metadata'] as Record<string, unknown> | undefined)?.['name'];
  return typeof name === 'string' ? address(kind, name) : null;
}

/* The shapes below are guaranteed by the schema that just passed. */
interface RawClusterSpec {
  pool?: string;
  pools?: string[];
  enabled?: boolean;
  data_plane?: ClusterDataPlane;
}
interface RawQueueSpec {
  pool?: string;
  clusters?: string[];
  run_concurrency: number;
  action_concurrency: number;
  depth?: number;
  priority?: Priority;
  fairness?: Fairness;
  max_resources?: Record<string, string | number>;
  max_accelerators?: Record<string, number>;
  scheduling?: QueueScheduling;
}
interface RawAssignmentSpec {
  project: string;
  domain: string;
  workflow?: string;
  pool: string;
}

function typed(
  kind: ManifestKind,
  value: Record<string, unknown>,
  kept: Kept,
  file: string,
  faults: readonly string[],
  addr: string | null,
): Manifest {
  const base = baseOf(value, kept, file, faults, addr);
  switch (kind) {
    case 'ClusterPool': {
      return {
        ...base,
        kind,
        contract: poolContract(value['spec'], base.annotations),
      };
    }
    case 'Cluster':
      return clusterManifest(value, base);
    case 'Queue':
      return queueManifest(value, base);
    case 'PoolAssignment': {
      const spec = value['spec'] as RawAssignmentSpec;
      return {
        ...base,
        kind,
        key: { project: spec.project, domain: spec.domain, workflow: spec.workflow ?? null },
        pool: spec.pool,
      };
    }
    case 'DefaultQueue': {
      const spec = value['spec'] as { project: string; domain: string; queue: string };
      return { ...base, kind, project: spec.project, domain: spec.domain, queue: spec.queue };
    }
    case 'ExecutionCluster':
    case 'ClusterLabel':
    case 'ExecutionClusterLabel':
      return flyteManifest(kind, value, base);
  }
}

function clusterManifest(value: Record<string, unknown>, base: ManifestBase): ClusterManifest {
  const spec = (value['spec'] ?? {}) as RawClusterSpec;
  return {
    ...base,
    kind: 'Cluster',
    pool: spec.pool ?? null,
    pools: spec.pools ?? null,
    enabled: spec.enabled ?? null,
    data_plane: spec.data_plane ?? null,
  };
}

function queueManifest(value: Record<string, unknown>, base: ManifestBase): QueueManifest {
  const spec = value['spec'] as RawQueueSpec;
  return {
    ...base,
    kind: 'Queue',
    pool: spec.pool ?? null,
    clusters: spec.clusters ?? null,
    run_concurrency: spec.run_concurrency,
    action_concurrency: spec.action_concurrency,
    depth: spec.depth ?? null,
    priority: spec.priority ?? null,
    fairness: spec.fairness ?? null,
    caps: queueCaps(spec),
  };
}

function baseOf(
  value: Record<string, unknown>,
  kept: Kept,
  file: string,
  faults: readonly string[],
  addr: string | null,
): ManifestBase {
  const metadata = value['metadata'] as { name: string; annotations?: Annotations };
  return {
    name: metadata.name,
    annotations: metadata.annotations ? { ...metadata.annotations } : {},
    source: { file, line: kept.source.line, column: kept.source.column },
    root: kept.root,
    faults,
    address: addr,
  };
}

/** Union's caps as declared; a quantity written as a YAML number is kept as its text. */
function queueCaps(spec: RawQueueSpec): QueueCaps {
  const caps: QueueCaps = {};
  if (spec.max_resources) {
    caps.max_resources = Object.fromEntries(
      Object.entries(spec.max_resources).map(([k, v]) => [k, String(v)]),
    );
  }
  if (spec.max_accelerators) caps.max_accelerators = { ...spec.max_accelerators };
  if (spec.scheduling) caps.scheduling = spec.scheduling;
  return caps;
}
