/**
 * The wrong folder (issue 35): `poolsync validate` or `plan` run at the root of a code
 * project (a clone of poolsync itself, an application) would read every YAML file of its
 * tests and dependencies and report hundreds of errors; an empty folder would plan "No
 * changes". Both get one message saying what the folder is and how to make a config
 * repository (`poolsync init`, docs/getting-started.md).
 */
import { lstat } from 'node:fs/promises';
import { join } from 'node:path';
import type { DesiredState } from '../model/desired.js';
import { UserError } from '../util/user-error.js';
import { requireFolder } from './options.js';

/** Files or folders that only a code project has at its root, never a config repository. */
export const CODE_PROJECT_MARKERS = [
  'package.json',
  'node_modules',
  'go.mod',
  'pyproject.toml',
  'setup.py',
  'Cargo.toml',
  'pom.xml',
  'build.gradle',
  'Gemfile',
] as const;

const exists = (path: string): Promise<boolean> =>
  lstat(path).then(
    () => true,
    () => false,
  );

/** A UserError when DIR has no poolsync.yaml and holds what a code project has at its root. */
export async function refuseCodeProject(dir: string): Promise<void> {
  if (await exists(join(dir, 'poolsync.yaml'))) return;
  const found: string[] = [];
  for (const marker of CODE_PROJECT_MARKERS)
    if (await exists(join(dir, marker))) found.push(marker);
  if (found.length === 0) return;
  throw new UserError(
    `${dir} is not a poolsync config repository: it has no poolsync.yaml, and its ${found.slice(0, 2).join(' and ')} ${found.length === 1 ? 'says' : 'say'} it is a code project ` +
      `(its YAML files are tests and dependencies, not manifests).\n` +
      `Point poolsync at the config folder (e.g. \`poolsync validate examples/config-repo\`), or start one: ` +
      `\`poolsync init DIR\` writes a commented poolsync.yaml, \`poolsync init DIR --from-live\` also exports what the control plane holds ` +
      `(docs/getting-started.md).`,
  );
}

/** DIR is an existing folder and not a code project's root (what validate, plan and apply read). */
export async function requireConfigFolder(dir: string): Promise<void> {
  await requireFolder(dir);
  await refuseCodeProject(dir);
}

/** Nothing declared: no object of any kind (poolsync.yaml alone declares none). */
export function declaresNothing(desired: DesiredState): boolean {
  return (
    desired.pools.length +
      desired.clusters.length +
      desired.queues.length +
      desired.assignments.length +
      (desired.default_queues?.length ?? 0) +
      (desired.execution_clusters?.length ?? 0) +
      (desired.cluster_labels?.length ?? 0) +
      (desired.execution_cluster_labels?.length ?? 0) ===
    0
  );
}

/** The line for a folder that declares nothing, with what prune does then. */
export function nothingDeclared(dir: string, prune: boolean): string {
  return (
    `Nothing declared: ${dir} holds no poolsync manifests` +
    (prune
      ? ' (prune is on: read what the plan deletes before applying it).\n'
      : `, so nothing on the control plane is changed (prune is off). Add manifests (examples/config-repo has each kind), or start from what the control plane holds: \`poolsync export --dir ${dir}\` (docs/getting-started.md).\n`)
  );
}
