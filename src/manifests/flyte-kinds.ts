/** The Flyte open source manifest kinds (docs/flyte-oss.md), kept apart so schema.ts imports a constant only. */
export const FLYTE_MANIFEST_KINDS = [
  'ExecutionCluster',
  'ClusterLabel',
  'ExecutionClusterLabel',
] as const;
export type FlyteManifestKind = (typeof FLYTE_MANIFEST_KINDS)[number];
