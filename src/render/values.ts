/**
 * The generated files a repository asks for (poolsync.yaml `render`), rendered from one
 * desired state, and how each compares with the file in the folder (plan's diff, the daemon).
 */
import { describeFailure, readRepoFile, readUserFile } from '../util/safe-file.js';
import { commandLine } from '../util/shell-quote.js';
import { load, dump, yamlFileProblem } from '../util/js-yaml.js';
import type { DesiredState } from '../model/desired.js';
import {
  NO_API,
  renderedFrom,
  unnamedTargets,
  type NoApiChange,
  type RenderKind,
} from './rendered-files.js';
import type { ObjectKind } from '../model/common.js';
import { GENERATED_MARK } from '../manifests/config.js';
import { createHash } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import { posix } from 'node:path';
import { CHART_CREDENTIALS_DIR, CHART_CREDENTIALS_SECRET } from '../manifests/rules.js';
import { DEFAULT_POOL } from '../model/common.js';
import { bucketOf, isMap } from '../model/flyte.js';

/** A generated file larger than this is not read (a hostile commit could put anything there). */
const TARGET_MAX_BYTES = 64 * 1024 * 1024;

/** A render target's content, read as every repository file is; null when it does not exist yet. */
export async function readTarget(dir: string, path: string): Promise<string | null> {
  const read = await readRepoFile(dir, path, { maxBytes: TARGET_MAX_BYTES });
  if (read.ok) return read.bytes.toString('utf8');
  if (read.reason === 'missing') return null;
  throw new Error(`cannot read the render target ${path}: ${describeFailure(read)}`);
}

export { renderCommand, type RenderKind } from './rendered-files.js';

interface RenderOptions {
  /** flyte-core-values: the credentials Secret; none (or empty): the chart's. */
  credentialsSecret?: string | undefined;
  /** flyte-core-values: the operator's own values, parsed (readBaseValues), whose volume lists are kept. */
  base?: BaseValues | undefined;
}

/** Base values: a repository file (`root`), or one the user named (`--base FILE`); `path` for messages. */
export async function readBaseValues(
  where: { root: string; path: string } | { file: string; path: string },
): Promise<BaseValues> {
  const { path } = where;
  let text: string;
  if ('root' in where) {
    const read = await readRepoFile(where.root, path, { maxBytes: TARGET_MAX_BYTES });
    if (!read.ok)
      throw new RenderInputError(`cannot read the base values ${path}: ${describeFailure(read)}`);
    text = read.bytes.toString('utf8');
  } else {
    try {
      const what = 'the base values';
      text = (await readUserFile(where.file, { maxBytes: TARGET_MAX_BYTES, what })).toString();
    } catch (err) {
      throw new RenderInputError((err as Error).message);
    }
  }
  try {
    return { path, values: load(text) };
  } catch (err) {
    throw new RenderInputError(yamlFileProblem(path, err));
  }
}

export interface RenderedTarget {
  kind: RenderKind;
  /** Relative to the config folder. */
  path: string;
  content: string;
}

type TargetResult =
  | ReturnType<typeof compareTarget>
  | { kind: RenderKind; path: string; error: string; unreadable?: true };

/**
 * The targets of poolsync.yaml `render`, each compared with its file under `dir`. A loaded
 * environment's (`desired.config.environment`) paths are its own: `{env}` filled in (config.ts).
 */
export async function renderTargets(dir: string, desired: DesiredState): Promise<TargetResult[]> {
  const config = desired.config.render ?? {};
  const out: TargetResult[] = [];
  for (const kind of Object.keys(RENDERERS) as RenderKind[]) {
    const settings = config[kind] as
      { path: string; credentialsSecret?: string; base?: string } | undefined;
    if (!settings) continue;
    const { path, credentialsSecret } = settings;
    // Nothing declared and nothing rendered before (an environment without labels): no file to speak of.
    if (renderedFrom(desired, kind) === 0 && (await readTarget(dir, path).catch(() => '')) === null)
      continue;
    try {
      const base = settings.base
        ? await readBaseValues({ root: dir, path: settings.base })
        : undefined;
      const content = RENDERERS[kind](desired, { credentialsSecret, base });
      const current = await readTarget(dir, path).catch((err: Error) => err);
      out.push(
        current instanceof Error
          ? { kind, path, error: current.message, unreadable: true }
          : compareTarget({ kind, path, content }, current),
      );
    } catch (err) {
      if (!(err instanceof RenderInputError)) throw err;
      out.push({ kind, path, error: err.message });
    }
  }
  return out;
}

/**
 * Refused when the repository (or environment) declares nothing the file is rendered from:
 * flyte-core values without clusters, passed last to Helm (which replaces lists), would leave
 * flyteadmin with no execution clusters, and an empty mapping would empty Union's pools.
 */
function refuseNothingToRender(desired: DesiredState, kind: RenderKind): void {
  if (renderedFrom(desired, kind) > 0) return;
  const env = desired.config.environment;
  const where = env === undefined ? 'the repository' : `environment ${env}`;
  const [a, b] = NO_API[kind].kinds;
  const harm =
    kind === 'flyte-core-values'
      ? 'the values would set an empty labelClusterMap and clusterConfigs, and Helm (which replaces lists) would leave flyteadmin with no execution clusters'
      : 'the mapping handed to Union would have no pool and no cluster';
  const doc = kind === 'flyte-core-values' ? 'docs/flyte-oss.md' : 'docs/union-self-managed.md';
  throw new RenderInputError(
    `nothing to render: ${where} declares no ${a} or ${b}, so ${harm}. Declare them first (${doc}), or render ${env === undefined ? 'from the folder' : 'an environment (--env NAME)'} that declares them`,
  );
}

/**
 * The targets that would change (a file that cannot be rendered or read is the render's to say),
 * after the kinds the backend takes as configuration only (`configKinds`) with no file named.
 */
export async function changedTargets(
  dir: string,
  desired: DesiredState,
  configKinds: readonly ObjectKind[],
): Promise<NoApiChange[]> {
  const unnamed = unnamedTargets(desired, configKinds);
  if (!desired.config.render) return unnamed;
  return [
    ...unnamed,
    ...(await renderTargets(dir, desired)).flatMap((t) =>
      'error' in t || t.status === 'same' ? [] : [{ kind: t.kind, path: t.path, status: t.status }],
    ),
  ];
}

/** The rendered target against `current` (null: no file), and their diff, without the header. */
export function compareTarget(
  target: RenderedTarget,
  current: string | null,
): RenderedTarget & { status: 'same' | 'changed' | 'missing'; diff: string } {
  const diff = unifiedDiff(
    current === null ? '' : body(current),
    body(target.content),
    target.path,
  );
  const status = current === null ? 'missing' : diff === '' ? 'same' : 'changed';
  return { ...target, status, diff };
}

/**
 * A generated file's header: what made it, the command that makes it again (with the environment's
 * `--env`), notes, and the sha256 of the body it heads. It names no commit: the same manifests give
 * the same bytes, so `render` then `git diff --exit-code` is clean once the file is committed (a
 * commit named in it could never be the one that holds it). Comparisons ignore the header.
 */
function withHeader(
  kind: RenderKind,
  desired: DesiredState,
  extra: readonly string[],
  content: string,
): string {
  const env = desired.config.environment;
  const command = commandLine(['poolsync', 'render', kind], { env });
  return [
    `${GENERATED_MARK} from the manifests of ${env === undefined ? 'the config repository' : `environment ${env}`}.`,
    `# Do not edit: change the manifests and run \`${command}\`.`,
    ...extra.map((l) => `# ${l}`),
    `${DIGEST_MARK}${digestOf(content)} ${DIGEST_NOTE}`,
    // A blank line ends the header (body() strips through it).
    '',
    content,
  ].join('\n');
}

/** The header's last line: the sha256 of the body below it, as poolsync wrote it. */
const DIGEST_MARK = '# Content sha256:';
const DIGEST_NOTE = '(poolsync renders over this file while what follows is unchanged)';

function digestOf(content: string): string {
  return createHash('sha256').update(content).digest('hex');
}

/**
 * Whose a generated file is: `own` when its body is still what poolsync wrote (the digest in its
 * header matches), `edited` when someone changed it since, `unknown` when it carries no digest
 * (written by poolsync before digests, or not generated at all).
 */
export function renderedOwnership(text: string): 'own' | 'edited' | 'unknown' {
  const file = headed(text);
  const digest = file?.header
    .find((l) => l.startsWith(DIGEST_MARK))
    ?.slice(DIGEST_MARK.length)
    .split(' ', 1)[0];
  if (digest === undefined || !/^[0-9a-f]{64}$/.test(digest)) return 'unknown';
  return digestOf(file!.body) === digest ? 'own' : 'edited';
}

/** The content without the generated header (through its closing blank line), for comparisons. */
export function body(text: string): string {
  return headed(text)?.body ?? text;
}

/** A generated file's header lines (to its closing blank line) and its body; null when not generated. */
function headed(text: string): { header: string[]; body: string } | null {
  const lines = text.split('\n');
  if (!lines[0]?.startsWith(GENERATED_MARK)) return null;
  const end = lines.indexOf('');
  if (end === -1) return { header: lines, body: '' };
  return { header: lines.slice(0, end), body: lines.slice(end + 1).join('\n') };
}

/** A unified diff by LCS: quadratic in lines, fine for rendered values files (hundreds of lines). */
export function unifiedDiff(before: string, after: string, name: string, context = 3): string {
  const a = before === '' ? [] : before.replace(/\n$/, '').split('\n');
  const b = after === '' ? [] : after.replace(/\n$/, '').split('\n');
  const n = a.length;
  const m = b.length;
  const lcs: number[][] = Array.from({ length: n + 1 }, () => new Array<number>(m + 1).fill(0));
  for (let i = n - 1; i >= 0; i--)
    for (let j = m - 1; j >= 0; j--)
      lcs[i]![j] =
        a[i] === b[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
  const ops: { t: ' ' | '-' | '+'; line: string; ai: number; bi: number }[] = [];
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[i] === b[j]) ops.push({ t: ' ', line: a[i]!, ai: i++, bi: j++ });
    else if (i < n && (j === m || lcs[i + 1]![j]! >= lcs[i]![j + 1]!))
      ops.push({ t: '-', line: a[i]!, ai: i++, bi: j });
    else ops.push({ t: '+', line: b[j]!, ai: i, bi: j++ });
  }
  const changed = ops.map((o, k) => (o.t !== ' ' ? k : -1)).filter((k) => k >= 0);
  if (changed.length === 0) return '';
  // Hunks: each change with `context` lines around it, merged where they touch.
  const hunks: [start: number, end: number][] = [];
  for (const k of changed) {
    const last = hunks.at(-1);
    if (last && k - context <= last[1]) last[1] = Math.min(ops.length, k + context + 1);
    else hunks.push([Math.max(0, k - context), Math.min(ops.length, k + context + 1)]);
  }
  const out = [`--- ${name}`, `+++ ${name} (rendered)`];
  for (const [start, end] of hunks) {
    const hunk = ops.slice(start, end);
    const aStart = hunk[0]!.ai + 1;
    const bStart = hunk[0]!.bi + 1;
    const aLen = hunk.filter((o) => o.t !== '+').length;
    const bLen = hunk.filter((o) => o.t !== '-').length;
    out.push(
      `@@ -${aLen === 0 ? aStart - 1 : aStart},${aLen} +${bLen === 0 ? bStart - 1 : bStart},${bLen} @@`,
    );
    for (const o of hunk) out.push(`${o.t}${o.line}`);
  }
  return out.join('\n') + '\n';
}

/**
 * The operator's own flyte-core values (`--base FILE`, `render.flyte-core-values.base`), combined
 * by Helm with the rendered ones (`--values base --values rendered`: maps merge, the later file's
 * lists win). So the rendered volume lists hold the base's entries first (one that names the same
 * volume or mount path differently is refused), and a labelClusterMap label (Helm would deploy
 * it) or a clusterConfigs cluster (Helm would drop it) only the base has is refused.
 */
interface BaseValues {
  /** For messages: the file as given. */
  path: string;
  values: unknown;
}

/** A base file that cannot be combined with the rendered values (the message says what to do). */
export class RenderInputError extends Error {
  override readonly name = 'RenderInputError';
}

type Entry = Record<string, unknown>;

function list(base: unknown, ...path: string[]): Entry[] {
  let node = base;
  for (const p of path) node = isMap(node) ? node[p] : undefined;
  return Array.isArray(node) ? node.filter(isMap) : [];
}

function mergeBase(
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

/**
 * flyte-core Helm values for multi-cluster Flyte (seed flyte-multi-cluster.md, "Control Plane
 * configuration"): `configmap.clusters` from the ClusterLabel and ExecutionCluster manifests,
 * and the volume that mounts the credentials Secret where their tokenPath and certPath point, so
 * the pods start on the real chart (flyteorg/flyte charts/flyte-core/templates):
 *  - the paths are files of /var/run/credentials and the Secret is cluster-credentials (V14):
 *    the syncresources Deployment mounts exactly that, whatever the values say
 *    (clusterresourcesync/deployment.yaml:68-71, 86-90);
 *  - flyteadmin.additionalVolumes/additionalVolumeMounts reach the flyteadmin container
 *    (admin/deployment.yaml:192-194, 232-234) and the sync-cluster-resources init container
 *    (admin/deployment.yaml:113-117, only with a non-empty labelClusterMap, which V14 requires);
 *    no chart version reads `initContainerClusterSyncAdditionalVolumeMounts`: not written;
 *  - with the operator's own values (`base`), their volumes and mounts are kept (BaseValues).
 * Pure and stable: the same desired state (and base) gives the same bytes.
 */
export function renderFlyteCoreValues(desired: DesiredState, opts: RenderOptions): string {
  refuseNothingToRender(desired, 'flyte-core-values');
  const secret = opts.credentialsSecret || CHART_CREDENTIALS_SECRET;
  const clusters = desired.execution_clusters ?? [];
  // The files the Secret must hold: any means the credentials volume is mounted.
  const keys = [
    ...new Set(
      clusters.flatMap((c) =>
        c.auth.type === 'file_path'
          ? [posix.basename(c.auth.tokenPath), posix.basename(c.auth.certPath)]
          : [],
      ),
    ),
  ].sort();
  const volumes = keys.length > 0 ? [{ name: secret, secret: { secretName: secret } }] : [];
  const mounts = keys.length > 0 ? [{ name: secret, mountPath: CHART_CREDENTIALS_DIR }] : [];
  const labelClusterMap: Record<string, { id: string; weight: number }[]> = {};
  for (const l of desired.cluster_labels ?? [])
    labelClusterMap[l.name] = l.clusters.map((e) => ({ id: e.cluster, weight: e.weight }));
  const defaultLabel = (desired.cluster_labels ?? []).find((l) => l.default)?.name;
  const clusterConfigs = clusters.map((c) =>
    c.auth.type === 'in_cluster'
      ? { name: c.name, enabled: c.enabled, inCluster: true }
      : {
          name: c.name,
          endpoint: c.endpoint,
          enabled: c.enabled,
          auth: { type: 'file_path', tokenPath: c.auth.tokenPath, certPath: c.auth.certPath },
        },
  );
  const clustersValues = {
    labelClusterMap,
    clusterConfigs,
    ...(defaultLabel ? { defaultExecutionLabel: defaultLabel } : {}),
  };
  const merged = mergeBase(
    { additionalVolumes: volumes, additionalVolumeMounts: mounts },
    clustersValues,
    opts.base,
  );
  const values = {
    ...(merged.additionalVolumes.length + merged.additionalVolumeMounts.length > 0
      ? { flyteadmin: merged }
      : {}),
    configmap: { clusters: clustersValues },
  };
  const extra = [
    'Use with: helm upgrade flyte-core flyteorg/flyte-core -n flyte --values <your values> --values <this file>',
    opts.base
      ? `Keeps the volumes and mounts of ${opts.base.path} (Helm replaces lists).`
      : 'Helm replaces lists: if your values set flyteadmin.additionalVolumes or additionalVolumeMounts, render with --base <your values>.',
    ...(keys.length > 0
      ? [
          `Secret ${secret} (namespace flyte) must hold: ${keys.join(', ')}`,
          'flyteadmin reads every one at start-up, disabled clusters included, and does not start without them.',
        ]
      : []),
  ];
  const yaml = dump(values, { lineWidth: -1, noRefs: true, sortKeys: false });
  return withHeader('flyte-core-values', desired, extra, yaml);
}

/**
 * Union self-managed (seed union-selfmanaged-multiple-clusters.md): the clusterPool →
 * clusterNames mapping of its control plane (a cluster under each of its `pools`, as the seed
 * lists my-dev-cluster under `default` and development-cp), with each pool's bucket as a comment
 * (every cluster of a pool must use it as `storage.bucketName`; V13). Pure and stable.
 */
export function renderUnionClusterPools(desired: DesiredState, _opts: RenderOptions): string {
  refuseNothingToRender(desired, 'union-cluster-pools');
  const pools = new Map<string, string[]>(desired.pools.map((p) => [p.name, []]));
  for (const c of desired.clusters) {
    for (const pool of c.pools ?? [c.pool]) {
      if (!pools.has(pool)) pools.set(pool, []);
      pools.get(pool)!.push(c.name);
    }
  }
  // `default` first (where executions run without a mapping), then by name.
  const names = [...pools.keys()].sort((a, b) =>
    a === DEFAULT_POOL ? -1 : b === DEFAULT_POOL ? 1 : a < b ? -1 : a > b ? 1 : 0,
  );
  const buckets = new Map(desired.pools.map((p) => [p.name, p.contract?.object_store_ref.uri]));
  const out: string[] = [];
  for (const pool of names) {
    const clusters = pools.get(pool)!.sort();
    const bucket = buckets.get(pool);
    if (bucket) {
      const name = bucketOf(bucket)?.replace(/^[a-z0-9]+:\/\//i, '') ?? bucket;
      out.push(`# ${pool}: storage.bucketName ${name} for every cluster (object store ${bucket})`);
    }
    out.push(
      dump(
        { [pool]: clusters },
        { lineWidth: -1, flowLevel: clusters.length === 0 ? 1 : -1 },
      ).trimEnd(),
    );
  }
  const extra = [
    'The clusterPool -> clusterNames mapping to hand to Union (support) for its control plane;',
    'project/domain[/workflow] -> pool mappings are applied by `poolsync apply` (PoolAssignment).',
  ];
  return withHeader('union-cluster-pools', desired, extra, out.join('\n') + '\n');
}

/** Each generated file's renderer (a RenderInputError when the base values do not combine). */
export const RENDERERS = {
  'flyte-core-values': renderFlyteCoreValues,
  'union-cluster-pools': renderUnionClusterPools,
} satisfies Record<RenderKind, (desired: DesiredState, opts: RenderOptions) => string>;
