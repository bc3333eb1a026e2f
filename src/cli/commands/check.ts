/**
 * `poolsync check [DIR]`: the setup step of docs/union.md and docs/flyte-oss.md. One line per
 * check, ✓ or ✗ with what to do: the config folder validates; the control plane's URL is
 * understood and its credentials can be read; with the probe (default), each kind the backend
 * manages is listed (proving the endpoint answers and the credentials may read it), beside what
 * poolsync may change there through the API (create, update, delete) and what is manual. It
 * only reads: a permission to write is shown from the backend's API, never tried.
 */
import { openControlPlane, resolveToken } from '../../controlplane/open.js';
import { isControlPlaneError } from '../../controlplane/errors.js';
import type { ControlPlane } from '../../controlplane/types.js';
import { loadDesired } from '../../ops/plan-run.js';
import { UserError } from '../../util/user-error.js';
import { escapeTerminal } from '../../util/terminal-text.js';
import { requireConfigFolder } from '../config-folder.js';
import type { Io } from '../io.js';
import { controlPlaneUrl } from '../options.js';
import { plural } from '../../render/index.js';

export interface CheckArgs {
  dir: string;
  'control-plane'?: string;
  'token-file'?: string;
  'api-key-file'?: string;
  'max-retries': number;
  probe: boolean;
}

interface Line {
  ok: boolean;
  text: string;
  /** The control plane did not answer (a REST or flyteadmin client opens without a call). */
  unreachable?: boolean;
}

/** One managed kind: how to list it, and what the API lets poolsync change. */
interface KindProbe {
  kind: string;
  list: () => Promise<unknown[]>;
  can: string[];
}

export async function check(args: CheckArgs, io: Io): Promise<number> {
  const lines: Line[] = [await folderLine(args.dir)];
  const url = controlPlaneUrl(args, io.env);
  let cp: ControlPlane | null = null;
  try {
    const token = await resolveToken(args['token-file'], url, null);
    cp = await openControlPlane(url, {
      readOnly: true,
      http: { maxRetries: args['max-retries'] },
      token,
      apiKeyFile: args['api-key-file'],
    });
    const probed = args.probe
      ? await probeKinds(cp)
      : [{ ok: true, text: 'not probed (--no-probe): nothing was read from it' }];
    const answered = !probed.some((l) => l.unreachable);
    lines.push(
      {
        ok: answered,
        text: `control plane ${url}: ${cp.backend.name}${answered ? '' : ', not reachable'}`,
      },
      ...probed,
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
      ? `Ready: \`poolsync plan ${args.dir}\` next.\n`
      : `${plural(failed, 'check')} failed.\n`,
  );
  return failed === 0 ? 0 : 1;
}

async function folderLine(dir: string): Promise<Line> {
  try {
    await requireConfigFolder(dir);
  } catch (err) {
    return { ok: false, text: `config folder: ${(err as Error).message.split('\n').join(' ')}` };
  }
  const result = await loadDesired(dir);
  const c = result.counts;
  const objects = c.pools + c.clusters + c.queues + c.assignments + (c.default_queues ?? 0);
  return result.valid
    ? { ok: true, text: `config folder ${dir}: valid, ${objects} objects in ${c.files} files` }
    : {
        ok: false,
        text: `config folder ${dir}: ${result.errors.length} errors (\`poolsync validate ${dir}\` lists them)`,
      };
}

function kindProbes(cp: ControlPlane): KindProbe[] {
  const queueDelete = cp.capabilityCalls ? ['drain', 'delete (queue_delete)'] : [];
  const probes: (KindProbe | null | undefined)[] = [
    cp.pools && {
      kind: 'ClusterPool',
      list: () => cp.pools!.listPools(),
      can: ['create', 'delete'],
    },
    cp.clusters && {
      kind: 'Cluster',
      list: () => cp.clusters!.listClusters(),
      can: ['register', 'enable/disable', 'delete'],
    },
    cp.queues && {
      kind: 'Queue',
      list: () => cp.queues!.listQueues(),
      can: ['create', 'update', ...queueDelete],
    },
    cp.assignments && {
      kind: 'PoolAssignment',
      list: () => cp.assignments!.listAssignments(),
      can: ['set', 'delete'],
    },
    cp.defaultQueues && {
      kind: 'DefaultQueue',
      list: () => cp.defaultQueues!.listDefaultQueues(),
      can: ['set', 'delete'],
    },
    cp.executionClusterLabels && {
      kind: 'ExecutionClusterLabel',
      list: () => cp.executionClusterLabels!.listExecutionClusterLabels(),
      can: ['set', 'delete'],
    },
  ];
  return probes.filter((p): p is KindProbe => Boolean(p));
}

async function probeKinds(cp: ControlPlane): Promise<Line[]> {
  const lines: Line[] = [];
  const probes = kindProbes(cp);
  for (const p of probes) {
    try {
      const n = (await p.list()).length;
      lines.push({ ok: true, text: `${p.kind}: list (${n} now); by API: ${p.can.join(', ')}` });
    } catch (err) {
      const unreachable = isControlPlaneError(err) && err.code === 'UNAVAILABLE';
      lines.push({ ok: false, text: `${p.kind}: cannot list: ${reason(err)}`, unreachable });
      // Nothing answers: every other call would say the same.
      if (unreachable) return lines;
    }
  }
  const managed = new Set(probes.map((p) => p.kind));
  const manual = ['ClusterPool', 'Cluster', 'Queue', 'PoolAssignment'].filter(
    (k) => !managed.has(k),
  );
  if (manual.length > 0)
    lines.push({
      ok: true,
      text: `${manual.join(', ')}: no API on ${cp.backend.name}; plans show them as manual steps or render them to files (docs/plan.md, Backends)`,
    });
  if (cp.capabilityCalls) {
    try {
      const caps = await cp.capabilityCalls.capabilities();
      const on = Object.entries(caps)
        .filter(([, v]) => v === true)
        .map(([k]) => k);
      lines.push({ ok: true, text: `capabilities: ${on.length ? on.join(', ') : 'none'}` });
    } catch (err) {
      lines.push({ ok: false, text: `capabilities: ${reason(err)}` });
    }
  }
  return lines;
}

/** What went wrong, in the words the rest of the CLI uses; unexpected errors still surface. */
function reason(err: unknown): string {
  if (err instanceof UserError) return err.message.split('\n').join(' ');
  if (isControlPlaneError(err)) return `${err.code}: ${err.message}`;
  throw err;
}
