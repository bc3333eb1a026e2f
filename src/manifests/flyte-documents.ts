/**
 * Typed records of the Flyte open source kinds (ExecutionCluster, ClusterLabel,
 * ExecutionClusterLabel), for documents.ts: from a document that passed its schema, and the
 * partial form of one that did not (fields at fault get placeholders and stay in `faults`).
 */
import type { AssignmentKey } from '../model/common.js';
import type { ClusterLabelEntry, ExecutionClusterAuth } from '../model/flyte.js';
import type { ManifestBase } from './manifest-base.js';
import type { FlyteManifestKind } from './flyte-kinds.js';

export interface ExecutionClusterManifest extends ManifestBase {
  kind: 'ExecutionCluster';
  endpoint: string | null;
  enabled: boolean | null;
  /** null when neither auth nor inCluster is given (a SCHEMA error of the rules pass). */
  auth: ExecutionClusterAuth | null;
  /** Both auth and inCluster: true were written (a SCHEMA error of the rules pass). */
  authConflict: boolean;
}

export interface ClusterLabelManifest extends ManifestBase {
  kind: 'ClusterLabel';
  clusters: ClusterLabelEntry[];
  /** `spec.default: true`: flyte-core's defaultExecutionLabel. */
  isDefault: boolean;
}

export interface ExecutionClusterLabelManifest extends ManifestBase {
  kind: 'ExecutionClusterLabel';
  key: AssignmentKey;
  label: string;
}

export type FlyteManifest =
  ExecutionClusterManifest | ClusterLabelManifest | ExecutionClusterLabelManifest;

type Plain = Record<string, unknown>;
const isMap = (v: unknown): v is Plain => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);

/** `ok(pointer)`: the field is free of schema errors (always true for a valid document). */
export function flyteManifest(
  kind: FlyteManifestKind,
  value: Plain,
  base: ManifestBase,
  ok: (pointer: string) => boolean = () => true,
): FlyteManifest {
  const spec = isMap(value['spec']) ? value['spec'] : {};
  const get = (field: string): unknown => (ok(`/spec/${field}`) ? spec[field] : undefined);
  switch (kind) {
    case 'ExecutionCluster': {
      const rawAuth = get('auth');
      const inCluster = get('inCluster') === true;
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
        ...base,
        kind,
        endpoint: str(get('endpoint')),
        enabled: typeof get('enabled') === 'boolean' ? (get('enabled') as boolean) : null,
        auth,
        authConflict: isMap(rawAuth) && inCluster,
      };
    }
    case 'ClusterLabel': {
      const raw = Array.isArray(spec['clusters']) ? (spec['clusters'] as unknown[]) : [];
      const clusters = raw.map((e, i) => {
        const item = isMap(e) ? e : {};
        const cluster = ok(`/spec/clusters/${i}/cluster`) ? str(item['cluster']) : null;
        const weight = ok(`/spec/clusters/${i}/weight`) ? item['weight'] : null;
        return { cluster: cluster ?? '', weight: typeof weight === 'number' ? weight : NaN };
      });
      return { ...base, kind, clusters, isDefault: get('default') === true };
    }
    case 'ExecutionClusterLabel':
      return {
        ...base,
        kind,
        key: {
          project: str(spec['project']) ?? '',
          domain: str(spec['domain']) ?? '',
          workflow: str(spec['workflow']),
        },
        label: str(get('label')) ?? '',
      };
  }
}
