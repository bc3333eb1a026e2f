/**
 * The spec of a document that failed its schema, for each core kind (documents.ts `partial`):
 * the fields free of errors keep their values, every other one gets a placeholder of the
 * right type (the Flyte kinds: flyte-documents.ts).
 */
import { isIntact } from './manifest-base.js';
import type { ManifestKind } from './schema.js';

type Plain = Record<string, unknown>;
const isMap = (v: unknown): v is Plain => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/** What a kind's spec is read with. */
export interface PartialReader {
  /** The value at a JSON pointer, read by `read`; undefined when the field is at fault. */
  get: (pointer: string, read: (v: unknown) => unknown) => unknown;
  /** The spec as written (a mapping, or empty). */
  spec: Plain;
  faults: readonly string[];
}

type CoreKind = Exclude<
  ManifestKind,
  'ExecutionCluster' | 'ClusterLabel' | 'ExecutionClusterLabel'
>;

export const PARTIAL_SPECS: Record<CoreKind, (r: PartialReader) => Plain> = {
  ClusterPool: ({ get, spec }) => {
    const uri = get('/spec/object_store_ref/uri', str);
    const type = get('/spec/secret_store/type', str);
    const locator = get('/spec/secret_store/locator', str);
    const registry = get('/spec/image_registry/locator', str);
    return {
      object_store_ref: {
        uri: uri ?? '',
        endpoint: get('/spec/object_store_ref/endpoint', str),
      },
      secret_store: { type: type ?? '', locator: locator ?? '' },
      // Absent when not written; a broken one is a fault and is never compared (V6).
      image_registry:
        spec['image_registry'] !== undefined ? { locator: registry ?? '' } : undefined,
    };
  },
  Cluster: ({ get, spec }) => ({
    pool: get('/spec/pool', str),
    pools: get('/spec/pools', (v) => v as string[]),
    enabled: get('/spec/enabled', (v) => (typeof v === 'boolean' ? v : undefined)),
    data_plane: isMap(spec['data_plane'])
      ? {
          object_store_uri: get('/spec/data_plane/object_store_uri', str),
          image_registry: get('/spec/data_plane/image_registry', str),
          secret_store: {
            type: get('/spec/data_plane/secret_store/type', str),
            locator: get('/spec/data_plane/secret_store/locator', str),
          },
        }
      : undefined,
  }),
  Queue: ({ get, spec, faults }) => {
    // Intact, not usable: one bad entry does not hide the others from V3 and V4.
    const clusters = isIntact(faults, '/spec/clusters') ? spec['clusters'] : undefined;
    return {
      pool: get('/spec/pool', str),
      clusters: Array.isArray(clusters)
        ? clusters.map((c) => (typeof c === 'string' ? c : ''))
        : undefined,
      run_concurrency: 0,
      action_concurrency: 0,
    };
  },
  PoolAssignment: ({ get, spec }) => ({
    // The key as written, for messages; V8's duplicate-key check needs it usable.
    project: str(spec['project']) ?? '',
    domain: str(spec['domain']) ?? '',
    workflow: str(spec['workflow']),
    pool: get('/spec/pool', str) ?? '',
  }),
  DefaultQueue: ({ get, spec }) => ({
    // As for assignments: the key as written, for messages and the V12 duplicate check.
    project: str(spec['project']) ?? '',
    domain: str(spec['domain']) ?? '',
    queue: get('/spec/queue', str) ?? '',
  }),
};
