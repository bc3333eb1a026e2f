/** The typed manifests of poolsync's own kinds, and what reading one document gives. */
import type {
  AssignmentKey,
  ClusterDataPlane,
  Fairness,
  PoolContract,
  Priority,
  QueueCaps,
} from '../model/common.js';
import type { FlyteManifest } from './flyte-documents.js';
import type { ManifestBase } from './manifest-base.js';
import type { ManifestKind } from './schema.js';
import type { ValidationError } from './types.js';

export interface PoolManifest extends ManifestBase {
  kind: 'ClusterPool';
  /** null when the document marks the contract unknown (`poolsync/contract: unknown`). */
  contract: PoolContract | null;
}

export interface ClusterManifest extends ManifestBase {
  kind: 'Cluster';
  /** null when omitted (→ "default", C1); `pools`: Union self-managed's pool map (rules-buckets.ts). */
  pool: string | null;
  pools: string[] | null;
  enabled: boolean | null;
  data_plane: ClusterDataPlane | null;
}

export interface QueueManifest extends ManifestBase {
  kind: 'Queue';
  /** null when omitted: the default depends on whether the queue is managed (C2, P1). */
  pool: string | null;
  clusters: string[] | null;
  run_concurrency: number;
  action_concurrency: number;
  depth: number | null;
  priority: Priority | null;
  fairness: Fairness | null;
  /** Union's caps and scheduling as written (quantities as text); absent when omitted. */
  caps: QueueCaps;
}

export interface AssignmentManifest extends ManifestBase {
  kind: 'PoolAssignment';
  key: AssignmentKey;
  pool: string;
}

/** Union v2: project/domain → default queue. */
export interface DefaultQueueManifest extends ManifestBase {
  kind: 'DefaultQueue';
  project: string;
  domain: string;
  queue: string;
}

export type Manifest =
  | PoolManifest
  | ClusterManifest
  | QueueManifest
  | AssignmentManifest
  | DefaultQueueManifest
  | FlyteManifest;

export interface DocumentResult {
  /** The kind, when the document names a known one (for counts). */
  kind: ManifestKind | null;
  /** metadata.name when it is a string, even if the document is invalid. */
  name?: string | null;
  manifest: Manifest | null;
  errors: ValidationError[];
}
