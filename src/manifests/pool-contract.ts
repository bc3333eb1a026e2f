/**
 * A ClusterPool document's contract (P2, normalised: endpoint "" and image_registry null when
 * absent), or null when the document marks it unknown (`poolsync/contract: unknown`, with
 * `spec: {}`; the schema enforces the pair). The spec's shape is guaranteed by the schema.
 */
import type { PoolContract } from '../model/common.js';
import { CONTRACT_ANNOTATION, CONTRACT_UNKNOWN, type Annotations } from '../model/desired.js';

interface RawPoolSpec {
  object_store_ref: { uri: string; endpoint?: string };
  secret_store: PoolContract['secret_store'];
  image_registry?: { locator: string };
}

export function poolContract(spec: unknown, annotations: Annotations): PoolContract | null {
  if (annotations[CONTRACT_ANNOTATION] === CONTRACT_UNKNOWN) return null;
  const s = spec as RawPoolSpec;
  return {
    object_store_ref: { uri: s.object_store_ref.uri, endpoint: s.object_store_ref.endpoint ?? '' },
    secret_store: { type: s.secret_store.type, locator: s.secret_store.locator },
    image_registry: s.image_registry ? { locator: s.image_registry.locator } : null,
  };
}
