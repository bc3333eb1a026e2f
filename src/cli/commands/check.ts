/**
 * `poolsync validate` (schemas, V1–V16, input limits; no control plane) and `poolsync check`
 * (the setup step of docs/union.md and docs/flyte-oss.md). check only reads: a permission to
 * write is shown from the backend's API, never tried.
 */
import { isControlPlaneError } from '../../controlplane/errors.js';
import { backendInfo, readCapabilities, type ControlPlane } from '../../controlplane/types.js';
import type { BackendProfile } from '../../model/backend.js';
import type { Capabilities, ObjectKind } from '../../model/common.js';
import type { DesiredState } from '../../model/desired.js';
import type { PlanError } from '../../model/plan.js';
import { loadDesired } from '../../ops/plan-run.js';
import { UserError } from '../../util/user-error.js';
import { escapeJsonForTerminal, escapeTerminal } from '../../util/terminal-text.js';
import { shellQuote } from '../../util/shell-quote.js';
import { requireConfigFolder } from '../config-folder.js';
import { declaresNothing, OBJECT_KINDS } from '../../plan/inventory.js';
import type { Args } from '../define.js';
import type { Io } from '../io.js';
import {
  ENV_ALL,
  networkOf,
  nextPlan,
  noEnvironments,
  noSuchEnvironment,
  oneTarget,
  openToRead,
  type EnvTarget,
  type Shown,
} from '../options.js';
import { plural } from '../../render/common.js';
import {
  formatSkipped,
  formatSummary,
  formatUnread,
  formatValidationText,
  objectCount,
  skippedOnce,
  toJsonReport,
  unreadOf,
} from '../../manifests/report.js';
import type { LoadResult } from '../../manifests/types.js';
import { nothingDeclared } from '../../render/cli-output.js';
import { errorText } from '../../render/reasons.js';
import { readFolderOnce, type FolderRead } from '../../manifests/config.js';
import { lookupHost } from '../../util/control-plane-endpoint.js';
import type { ValidationError } from '../../manifests/types.js';
import { scrubUrlUserinfo } from '../../util/redact.js';

export async function validate(args: Args<'validate'> & Shown, io: Io): Promise<number> {
  if (args.at !== undefined) {
    const { atCommit } = await import('../at-commit.js');
    // The commit's files, read from a temporary checkout; messages name DIR.
    return atCommit(args.dir, args.at, io.env, (dir) =>
      validate({ ...args, dir, at: undefined, shown: args.dir }, io),
    );
  }
  const shown = args.shown ?? args.dir;
  let note: string | null;
  try {
    note = await requireConfigFolder(args.dir, 'validate', shown);
  } catch (err) {
    if (args.output !== 'json' || !(err instanceof UserError)) throw err;
    // A folder that is no config repository: the same report on stdout, for what parses it.
    io.stdout.write(jsonText(toJsonReport(folderRefused(err.message))));
    return 1;
  }
  if (note !== null) io.stderr.write(note);
  const shared = await readFolderOnce(args.dir, lookupHost());
  const names = environmentNames(args, shared, shown);
  // Each environment is its own desired state: every one is checked, each report named.
  const reports: Record<string, unknown> = {};
  const results: LoadResult[] = [];
  let code = 0;
  for (const environment of names.length === 0 ? [undefined] : names) {
    if (environment !== undefined && args.output === 'text')
      io.stdout.write(`Environment ${environment}:\n`);
    const result = await loadDesired(args.dir, { shared, environment });
    results.push(result);
    if (!result.valid) code = 1;
    if (args.output === 'json') reports[environment ?? ''] = toJsonReport(result);
    else if (result.valid) {
      io.stdout.write(formatSummary(result.counts));
      if (declaresNothing(result.desired))
        io.stdout.write(nothingDeclared(shown, result.desired.config.prune));
    } else io.stdout.write(formatValidationText(result.errors, { baseDir: shown }));
  }
  // Once, whatever number of environments read them; on stderr, so stdout keeps its form.
  const unread = await unreadOf(shared);
  if (args.output === 'text') {
    io.stderr.write(formatSkipped(skippedOnce(results), { baseDir: shown }));
    io.stderr.write(formatUnread(unread, { baseDir: shown }));
  }
  if (args.output === 'json') {
    const json =
      names.length === 0
        ? reports['']
        : { valid: code === 0, environments: reports, ...(unread.length > 0 ? { unread } : {}) };
    io.stdout.write(jsonText(json));
  }
  return code;
}

function jsonText(json: unknown): string {
  return escapeJsonForTerminal(JSON.stringify(json, null, 2)) + '\n';
}

function folderRefused(message: string): LoadResult {
  const error: ValidationError = {
    code: 'IO',
    message,
    file: '.',
    line: 1,
    column: 1,
    address: null,
  };
  const counts = { pools: 0, clusters: 0, queues: 0, assignments: 0, files: 0, documents: 0 };
  return { valid: false, desired: null, errors: [error], counts };
}

/** None without environments, else --env's (default all). */
function environmentNames(args: Args<'validate'>, { config }: FolderRead, shown: string): string[] {
  // A poolsync.yaml that does not read: its errors are the report, whatever --env names.
  if (config.errors.length > 0) return [];
  const envs = (config.config.environments ?? []).map((e) => e.name);
  if (args.env === undefined || args.env === ENV_ALL) return envs;
  if (envs.length === 0) throw noEnvironments(shown, args.env, config);
  if (!envs.includes(args.env)) throw noSuchEnvironment(args.env, envs);
  return [args.env];
}

interface Line {
  ok: boolean;
  text: string;
  /** The control plane did not answer (a REST or flyteadmin client opens without a call). */
  unreachable?: boolean;
}

export async function check(args: Args<'check'>, io: Io): Promise<number> {
  // First, as plan does: with environments, --env names the folders and the control plane checked.
  const target = await oneTarget(args.dir, args, 'check', io.env);
  const folder = await folderLine(args.dir, target);
  const lines: Line[] = [folder];
  // Shown without a user part: a URL that carries one is refused below, and stdout keeps URLs'.
  const url = scrubUrlUserinfo(target.url);
  let cp: ControlPlane | null = null;
  try {
    cp = await openToRead(target, io, networkOf(args, io));
    const refused = await refusedByBackend(cp, folder.desired, args.dir);
    const probed = args.probe
      ? await probeKinds(cp, refused.kinds)
      : [{ ok: true, text: 'not probed (--no-probe): nothing was read from it' }];
    // Not ✓ when a read plan makes fails: an answer that is no list (a redirect) is no working API.
    const unread = probed.some((l) => l.unreachable)
      ? ', not reachable'
      : probed.some((l) => !l.ok)
        ? ', its reads fail (below)'
        : '';
    const deployed = args.probe ? await deployedLines(cp) : [];
    lines.push(
      { ok: unread === '', text: `control plane ${url}: ${cp.backend.name}${unread}` },
      ...probed,
      ...deployed,
      ...refused.lines,
    );
  } catch (err) {
    lines.push({ ok: false, text: `control plane ${url}: ${reason(err)}` });
  } finally {
    await cp?.close();
  }
  for (const l of lines) io.stdout.write(`${l.ok ? '✓' : '✗'} ${escapeTerminal(l.text)}\n`);
  const failed = lines.filter((l) => !l.ok).length;
  io.stdout.write(
    failed === 0
      ? `Ready: \`${nextPlan(args.dir, args)}\` next.\n`
      : `${plural(failed, 'check')} failed.\n`,
  );
  return failed === 0 ? 0 : 1;
}

/** The folder's line, and what it declares when it is valid. */
async function folderLine(
  dir: string,
  target: EnvTarget,
): Promise<Line & { desired?: DesiredState }> {
  try {
    await requireConfigFolder(dir, 'check');
  } catch (err) {
    return { ok: false, text: `config folder: ${(err as Error).message.split('\n').join(' ')}` };
  }
  const environment = target.name ?? undefined;
  const result = await loadDesired(dir, { environment, shared: target.shared });
  const c = result.counts;
  const what = environment === undefined ? '' : ` (environment ${environment})`;
  return result.valid
    ? {
        ok: true,
        text: `config folder ${dir}${what}: valid, ${plural(objectCount(c), 'object')} in ${plural(c.files, 'file')}`,
        desired: result.desired,
      }
    : { ok: false, text: `config folder ${dir}: ${firstError(result.errors, dir)}` };
}

/** The first error at its `file:line:column` (a mistyped policies.path), and how many more. */
function firstError(errors: readonly ValidationError[], dir: string): string {
  const e = errors[0]!;
  const more = errors.length - 1;
  const rest =
    more > 0
      ? ` (and ${plural(more, 'more error')}: \`poolsync validate ${shellQuote(dir)}\` lists them)`
      : '';
  return `${e.file}:${e.line}:${e.column}: ${e.code} ${e.message}${rest}`;
}

/** At most this many ✗ lines per object code; the rest are counted on one more (a plan lists them all). */
const SHOWN_PER_CODE = 3;

/**
 * What every plan of the folder against this backend fails on, whatever the live state: the
 * plan's own errors (backendErrors: BACKEND_KIND, MULTI_POOL_CLUSTER, QUEUE_CAPS), each a ✗ line
 * in the plan's words, so the setup is not ready (no read needed). `kinds`: those BACKEND_KIND
 * refuses, said on their ✗ line instead of a line of their own.
 */
async function refusedByBackend(
  cp: ControlPlane,
  desired: DesiredState | undefined,
  dir: string,
): Promise<{ kinds: Set<ObjectKind>; lines: Line[] }> {
  if (desired === undefined) return { kinds: new Set(), lines: [] };
  const { backendErrors } = await import('../../plan/index.js');
  const kinds = new Set<ObjectKind>();
  const lines: Line[] = [];
  const byCode = new Map<string, PlanError[]>();
  for (const e of backendErrors(desired, backendInfo(cp))) {
    const same = byCode.get(e.code);
    if (same) same.push(e);
    else byCode.set(e.code, [e]);
  }
  for (const [code, errors] of byCode) {
    // BACKEND_KIND is one error per kind already.
    const shown = code === 'BACKEND_KIND' ? errors.length : SHOWN_PER_CODE;
    for (const e of errors.slice(0, shown)) {
      const kind = code === 'BACKEND_KIND' ? (e.params!['kind'] as ObjectKind) : null;
      if (kind !== null) kinds.add(kind);
      // The kind refused, else where the plan points (validate's file:line:column).
      const at = kind ?? e.location ?? e.address ?? code;
      lines.push({ ok: false, text: `${at}: ${errorText(e)} (${code})` });
    }
    const more = errors.length - shown;
    if (more > 0)
      lines.push({
        ok: false,
        text: `${code}: ${more} more like these (\`poolsync plan ${shellQuote(dir)}\` lists each)`,
      });
  }
  return { kinds, lines };
}

async function probeKinds(cp: ControlPlane, refused: ReadonlySet<ObjectKind>): Promise<Line[]> {
  const { pools, clusters, queues, assignments, defaultQueues } = cp;
  const labels = cp.executionClusterLabels;
  // Read once, after a list answered: each kind's line and the capabilities line say it.
  let caps: Promise<Capabilities> | undefined;
  const capabilities = () => (caps ??= readCapabilities(cp));
  const setDelete = ['set', 'delete'];
  const probes: [string, (() => Promise<unknown[]>) | false | undefined, string[]][] = [
    ['ClusterPool', pools && (() => pools.listPools()), ['create', 'delete']],
    [
      'Cluster',
      clusters && (() => clusters.listClusters()),
      ['register', 'enable/disable', 'delete'],
    ],
    ['Queue', queues && (() => queues.listQueues()), ['create', 'update']],
    ['PoolAssignment', assignments && (() => assignments.listAssignments()), setDelete],
    ['DefaultQueue', defaultQueues && (() => defaultQueues.listDefaultQueues()), setDelete],
    ['ExecutionClusterLabel', labels && (() => labels.listExecutionClusterLabels()), setDelete],
  ];
  const lines: Line[] = [];
  for (const [kind, list, can] of probes) {
    if (!list) continue;
    try {
      const n = (await list()).length;
      const more = await capabilities().then(
        (caps) => callsByCapability(caps)[kind] ?? [],
        () => [],
      );
      lines.push({
        ok: true,
        text: `${kind}: list (${n} now); by API: ${[...can, ...more].join(', ')}`,
      });
    } catch (err) {
      const unreachable = isControlPlaneError(err) && err.code === 'UNAVAILABLE';
      lines.push({ ok: false, text: `${kind}: cannot list: ${reason(err)}`, unreachable });
      // Nothing answers: every other call would say the same.
      if (unreachable) return lines;
    }
  }
  // Every other kind, said as the planner treats it (docs/plan.md, Backends), those treated
  // alike on one line; one the folder declares and the plan refuses has its own ✗ line.
  const unmanaged = new Map<string, string[]>();
  for (const kind of OBJECT_KINDS) {
    if (refused.has(kind) || probes.some(([k, list]) => k === kind && list)) continue;
    const why = withoutApi(cp.backend, kind);
    unmanaged.set(why, [...(unmanaged.get(why) ?? []), kind]);
  }
  for (const [why, kinds] of unmanaged)
    lines.push({ ok: true, text: `${kinds.join(', ')}: no API on ${cp.backend.name}; ${why}` });
  if (cp.capabilityCalls) {
    try {
      const on = Object.entries(await capabilities())
        .filter(([, v]) => v === true)
        .map(([k]) => k);
      lines.push({ ok: true, text: `capabilities: ${on.length ? on.join(', ') : 'none'}` });
    } catch (err) {
      lines.push({ ok: false, text: `capabilities: ${reason(err)}` });
    }
  }
  return lines;
}

/** At most this many names on a line that lists what a ConfigMap holds. */
const SHOWN_NAMES = 10;

const named = (names: readonly string[]) =>
  names.length > SHOWN_NAMES
    ? `${names.slice(0, SHOWN_NAMES).join(', ')} and ${names.length - SHOWN_NAMES} more`
    : names.join(', ');

/**
 * flyteadmin's cluster configuration, when the URL names its ConfigMap, read as every plan reads
 * it: one that cannot be read leaves each label change of a plan unverified.
 */
async function deployedLines(cp: ControlPlane): Promise<Line[]> {
  const deployed = await cp.deployedClusterConfig?.();
  if (!deployed?.source) return [];
  const where = `clusters-configmap ${deployed.source.replace(/^k8s:/, '')}`;
  if (deployed.labels === null)
    return [
      {
        ok: false,
        text:
          `${where}: ${deployed.unavailable}. Every plan warns LABEL_DEPLOYMENT_UNKNOWN and marks each label change unverified (policy safe holds them): ` +
          "check the URL's clusters-configmap=NAMESPACE/NAME (flyte-core's is flyte-admin-clusters-config) and poolsync's access to it (docs/flyte-oss.md, Labels wait for helm upgrade)",
      },
    ];
  const labels = Object.keys(deployed.labels).sort();
  const clusters = deployed.enabled_clusters ?? [];
  const fallback = deployed.default_execution_label;
  return [
    {
      ok: true,
      text:
        `${where}: flyteadmin runs with ${labels.length === 0 ? 'no labels' : `${plural(labels.length, 'label')} (${named(labels)})`}` +
        ` on ${clusters.length === 0 ? 'no enabled cluster' : `${plural(clusters.length, 'enabled cluster')} (${named(clusters)})`}` +
        (fallback === null ? '' : `, default label ${fallback}`),
    },
  ];
}

/**
 * What poolsync may do to each kind beyond the baseline on this control plane, named with the
 * capability that allows it (docs/plan.md, Capabilities): the capabilities line's words, per kind.
 */
function callsByCapability(caps: Capabilities): Partial<Record<string, string[]>> {
  const on = (capability: boolean | undefined, call: string) => (capability ? [call] : []);
  const undelete = on(caps.soft_delete, 'undelete (soft_delete)');
  // Queue deletes and moves run on drained queues only (Q6, Q3): without drain, never.
  const drained = caps.drain === true;
  const deletes = drained && caps.queue_delete === true;
  return {
    ClusterPool: [
      ...on(caps.pool_update, 'update (pool_update)'),
      ...undelete,
      ...on(deletes && caps.default_delete, 'delete default (default_delete)'),
    ],
    Cluster: [...on(caps.cluster_move, 'move (cluster_move)'), ...undelete],
    Queue: [
      ...on(drained, 'drain'),
      ...on(deletes, 'delete (queue_delete)'),
      ...on(drained && caps.queue_move, 'move (queue_move)'),
      ...undelete,
      ...on(deletes && caps.default_delete, 'delete default (default_delete)'),
    ],
  };
}

/** What went wrong, in the words the rest of the CLI uses; unexpected errors still surface. */
function reason(err: unknown): string {
  if (err instanceof UserError) return err.message.split('\n').join(' ');
  if (isControlPlaneError(err)) return `${err.code}: ${err.message}`;
  throw err;
}

/** What a plan does with a kind the backend has no calls for (docs/plan.md, Backends). */
function withoutApi(backend: BackendProfile, kind: ObjectKind): string {
  if (backend.configKinds?.includes(kind))
    return 'configuration only: validated and rendered to files (`poolsync render`), never planned';
  const by = kind === 'PoolAssignment' ? backend.replacedKinds?.PoolAssignment : undefined;
  if (by !== undefined)
    return `replaced by ${by}: each is planned blocked, naming the ${by} to declare instead`;
  return 'a repository declaring it fails the plan (BACKEND_KIND)';
}
