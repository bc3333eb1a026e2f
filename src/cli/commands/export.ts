/**
 * `poolsync export --dir OUT [--control-plane URL]`: writes the live state as manifests
 * (one file per object, a folder per kind) that validate clean and plan to no changes.
 */
import { exportExecutionClusterLabels, otherRowWarnings } from '../../controlplane/export-flyte.js';
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { exportManifests } from '../../controlplane/export.js';
import { openControlPlane, resolveToken } from '../../controlplane/open.js';
import { readLiveState, type ControlPlane } from '../../controlplane/types.js';
import { UserError } from '../../util/user-error.js';
import { adopt, checkExportedPath, exists, writeExported } from '../exported.js';
import { resolveTargets, withTarget, type EnvArgs, type Targeted } from '../environment.js';
import type { Io } from '../io.js';
import { controlPlaneUrl } from '../options.js';
import { plural } from '../../render/index.js';

export interface ExportArgs extends EnvArgs {
  /** The config folder whose poolsync.yaml declares `env`. */
  'config-dir'?: string;
  dir: string;
  force: boolean;
  'state-dir': string;
  inventory?: string;
}

export async function exportTo(given: ExportArgs, io: Io): Promise<number> {
  // --env: the environment's control plane and credentials (docs/environments.md).
  const args =
    given.env === undefined
      ? { ...given, 'control-plane': controlPlaneUrl(given, io.env) }
      : withTarget(
          given,
          (
            await resolveTargets(given['config-dir'] ?? '.', given, {
              allowAll: false,
              command: 'export',
              env: io.env,
            })
          )[0]!,
        );
  if (args.dir.trim() === '') throw new UserError('--dir is empty: name the folder to write into');
  const url = args['control-plane'];
  const token = await resolveToken(args['token-file'], url, given.env ?? null);
  const cp = await openControlPlane(url, {
    readOnly: true,
    token,
    apiKeyFile: args['api-key-file'],
  });
  try {
    await exportFrom(cp, args, io);
  } finally {
    await cp.close();
  }
  return 0;
}

/** The live state as manifests under --dir, and the objects adopted into the inventory. */
async function exportFrom(cp: ControlPlane, args: Targeted<ExportArgs>, io: Io): Promise<void> {
  const live = await readLiveState(cp);
  const result = exportManifests(live);
  const labels = exportExecutionClusterLabels(live);
  result.files.push(...labels.files);
  result.warnings.push(...labels.warnings, ...otherRowWarnings(live));
  const out = resolve(args.dir);
  for (const f of result.files) checkExportedPath(f.path);
  if (!args.force) {
    const clashes: string[] = [];
    for (const f of result.files) if (await exists(join(out, f.path))) clashes.push(f.path);
    if (clashes.length > 0) {
      throw new UserError(
        `${clashes.length} file(s) already exist in ${out} (first: ${clashes[0]}); export into an empty folder, or pass --force to overwrite`,
      );
    }
  }
  await mkdir(out, { recursive: true });
  for (const f of result.files) await writeExported(out, f);
  for (const w of result.warnings) io.stderr.write(`Warning: ${w}\n`);
  const c = result.counts;
  const parts = [
    `${c.pools} pools`,
    `${c.clusters} clusters`,
    `${c.queues} queues`,
    `${c.assignments} assignments`,
    ...(c.default_queues ? [`${plural(c.default_queues, 'default-queue setting')}`] : []),
    ...(live.execution_cluster_labels ? [`${labels.files.length} execution cluster labels`] : []),
  ];
  io.stdout.write(
    `Exported ${parts.slice(0, -1).join(', ')} and ${parts[parts.length - 1]} to ${out}\n`,
  );
  const adopted = result.files.flatMap((f) => (f.address ? [f.address] : []));
  await adopt(cp, args, adopted, io);
}
