/**
 * The operator's own flyte-core values (`render flyte-core-values --base FILE`, poolsync.yaml
 * `render.flyte-core-values.base`) and the rendered ones, as Helm combines `--values base
 * --values rendered`: maps merge, lists are replaced by the later file. So:
 *  - flyteadmin.additionalVolumes / additionalVolumeMounts: the rendered lists hold the base's
 *    entries first, then poolsync's (an entry already there is not repeated; one that names
 *    the same volume or mount path differently is refused);
 *  - configmap.clusters.labelClusterMap is a map, so a label only the base has would be
 *    deployed beside the repository's: refused, declare it as a ClusterLabel;
 *  - configmap.clusters.clusterConfigs is a list the rendered one replaces: a cluster only the
 *    base has would be dropped: refused, declare it as an ExecutionCluster.
 */
import { isDeepStrictEqual } from 'node:util';

export interface BaseValues {
  /** For messages: the file as given. */
  path: string;
  /** The parsed YAML. */
  values: unknown;
}

/** A base file that cannot be combined with the rendered values; the message says why and what to do. */
export class RenderInputError extends Error {
  override readonly name = 'RenderInputError';
}

type Entry = Record<string, unknown>;
const isMap = (v: unknown): v is Entry => typeof v === 'object' && v !== null && !Array.isArray(v);

function list(base: unknown, ...path: string[]): Entry[] {
  let node = base;
  for (const p of path) node = isMap(node) ? node[p] : undefined;
  return Array.isArray(node) ? node.filter(isMap) : [];
}

export function mergeBase(
  rendered: { additionalVolumes: Entry[]; additionalVolumeMounts: Entry[] },
  clusters: { labelClusterMap: Record<string, unknown>; clusterConfigs: Entry[] },
  base: BaseValues | undefined,
): { additionalVolumes: Entry[]; additionalVolumeMounts: Entry[] } {
  if (!base) return rendered;
  const where = base.path;
  if (base.values !== null && base.values !== undefined && !isMap(base.values))
    throw new RenderInputError(`${where}: not a Helm values file (expected a YAML mapping)`);
  const volumes = list(base.values, 'flyteadmin', 'additionalVolumes');
  for (const v of rendered.additionalVolumes) {
    const same = volumes.find((b) => b['name'] === v['name']);
    if (!same) volumes.push(v);
    else if (!isDeepStrictEqual(same, v))
      throw new RenderInputError(
        `${where}: flyteadmin.additionalVolumes already has a volume '${String(v['name'])}' that is not Secret ${JSON.stringify((v['secret'] as Entry)['secretName'])}; rename yours, or remove it and let poolsync mount the credentials`,
      );
  }
  const mounts = list(base.values, 'flyteadmin', 'additionalVolumeMounts');
  for (const m of rendered.additionalVolumeMounts) {
    const same = mounts.find((b) => b['mountPath'] === m['mountPath']);
    if (!same) mounts.push(m);
    else if (same['name'] !== m['name'])
      throw new RenderInputError(
        `${where}: flyteadmin.additionalVolumeMounts already mounts volume '${String(same['name'])}' at ${String(m['mountPath'])}, where the flyte-core chart's syncresources Deployment mounts Secret cluster-credentials; keep the credentials there in that Secret`,
      );
  }
  const baseClusters = isMap(base.values)
    ? (base.values['configmap'] as Entry | undefined)?.['clusters']
    : undefined;
  if (isMap(baseClusters)) {
    const labels = isMap(baseClusters['labelClusterMap'])
      ? Object.keys(baseClusters['labelClusterMap'])
      : [];
    const extra = labels.filter((l) => !(l in clusters.labelClusterMap));
    if (extra.length > 0)
      throw new RenderInputError(
        `${where}: configmap.clusters.labelClusterMap has ${extra.map((l) => `'${l}'`).join(', ')}, which the repository does not declare; ` +
          `Helm merges maps, so flyteadmin would run with ${extra.length === 1 ? 'it' : 'them'} too: declare ${extra.length === 1 ? 'it as a ClusterLabel' : 'them as ClusterLabels'} or remove ${extra.length === 1 ? 'it' : 'them'} from ${where}`,
      );
    const names = new Set(clusters.clusterConfigs.map((c) => c['name']));
    const dropped = list(baseClusters, 'clusterConfigs')
      .map((c) => c['name'])
      .filter((n) => !names.has(n));
    if (dropped.length > 0)
      throw new RenderInputError(
        `${where}: configmap.clusters.clusterConfigs has ${dropped.map((n) => `'${String(n)}'`).join(', ')}, which the repository does not declare; ` +
          `Helm replaces lists, so the rendered clusterConfigs would drop ${dropped.length === 1 ? 'it' : 'them'}: declare ${dropped.length === 1 ? 'it as an ExecutionCluster' : 'them as ExecutionClusters'}`,
      );
  }
  return { additionalVolumes: volumes, additionalVolumeMounts: mounts };
}
