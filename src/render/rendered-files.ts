/**
 * The generated files poolsync.yaml `render` names that a repository changes (renderTargets,
 * ./values.ts), in words: why no plan step sends them and what a person does instead. Neither
 * has an API (docs/flyte-oss.md, docs/union-self-managed.md), so a plan without steps must not
 * read as done without them, nor without the objects of a kind `render` names no file for (an
 * UnnamedRender: nothing to compare them with). One source for the CLI's plan and apply
 * (./cli-output.ts, ./text.ts), the pull-request comment (./markdown.ts) and the daemon's runs
 * (./daemon-words.ts).
 */
import { commandLine } from '../util/shell-quote.js';
import type { ObjectKind } from '../model/common.js';
import type { DesiredState, RenderConfig } from '../model/desired.js';

export type RenderKind = keyof RenderConfig;

/** A generated file the repository changes: what `poolsync render` would write differs. */
export interface RenderedChange {
  kind: RenderKind;
  /** Relative to the config folder. */
  path: string;
  status: 'changed' | 'missing';
}

/**
 * Objects of a kind the control plane takes as configuration only, with no file in poolsync.yaml
 * `render` to compare them with: whether they changed is unknown, so never "No changes".
 */
export interface UnnamedRender {
  kind: RenderKind;
  status: 'unnamed';
}

/** What a plan cannot send: a rendered file that changes, or a kind with no file named. */
export type NoApiChange = RenderedChange | UnnamedRender;

/** The files, and where a person renders them: the config folder as they name it, and --env. */
export interface RenderedFilesNote {
  files: readonly NoApiChange[];
  dir: string;
  env?: string | undefined;
}

/** Why no plan step sends a rendered file, who takes it instead, and the kinds it is rendered from. */
export const NO_API: Record<
  RenderKind,
  { why: string; then: string; kinds: readonly ObjectKind[] }
> = {
  'flyte-core-values': {
    why: 'flyteadmin has no API for labelClusterMap and clusterConfigs (it reads them from its Helm values at start-up)',
    then: 'deploy it with `helm upgrade` (the rendered file as the last --values), or let Argo CD / Flux pick up the commit',
    kinds: ['ExecutionCluster', 'ClusterLabel'],
  },
  'union-cluster-pools': {
    why: 'Union self-managed has no API for the pool → clusters mapping',
    then: 'hand the file to Union (support), who configure the control plane with it',
    kinds: ['ClusterPool', 'Cluster'],
  },
};

export const isRenderKind = (kind: string): kind is RenderKind => Object.hasOwn(NO_API, kind);

export function renderedStatus(path: string, status: RenderedChange['status']): string {
  return `${path} ${status === 'missing' ? 'does not exist yet' : 'would change'}`;
}

/** The `poolsync render` that writes `what` from `dir`, with the options given. */
export function renderCommand(
  what: string,
  dir: string,
  given: { env?: string; out?: string; base?: string; 'credentials-secret'?: string },
): string {
  const { env, out, base } = given;
  const flags = { env, out, base, 'credentials-secret': given['credentials-secret'] };
  return commandLine(['poolsync', 'render', what, dir], flags);
}

/** `file a.yaml`, `files a.yaml, b.yaml`. */
export function renderedNames(paths: readonly string[]): string {
  return paths.length === 1 ? `file ${paths[0]!}` : `files ${paths.join(', ')}`;
}

/** How many objects the file of `kind` is rendered from (NO_API's kinds): none, nothing to render. */
export function renderedFrom(desired: DesiredState, kind: RenderKind): number {
  if (kind === 'union-cluster-pools') return desired.pools.length + desired.clusters.length;
  return (desired.execution_clusters?.length ?? 0) + (desired.cluster_labels?.length ?? 0);
}

/**
 * The kinds whose objects the repository declares, the backend takes as configuration only
 * (`configKinds`) and poolsync.yaml `render` names no file for: no plan can tell if they changed.
 */
export function unnamedTargets(
  desired: DesiredState,
  configKinds: readonly ObjectKind[],
): UnnamedRender[] {
  return (Object.keys(NO_API) as RenderKind[])
    .filter(
      (kind) =>
        desired.config.render?.[kind] === undefined &&
        NO_API[kind].kinds.every((k) => configKinds.includes(k)) &&
        renderedFrom(desired, kind) > 0,
    )
    .map((kind) => ({ kind, status: 'unnamed' }));
}

/** `ExecutionCluster and ClusterLabel objects`: what the unnamed kinds' files are rendered from. */
export function unnamedObjects(kinds: readonly RenderKind[]): string {
  const all = kinds.flatMap((k) => NO_API[k].kinds);
  return `${all.slice(0, -1).join(', ')} and ${all.at(-1)!} objects`;
}

/**
 * What a plan with nothing to send says when rendered files change, or objects no file is named
 * for are declared (the text's first line, the comment's head): never "No changes", which reads
 * as done.
 */
export function nothingToSend(items: readonly ({ path: string } | UnnamedRender)[]): {
  head: string;
  rest: string;
} {
  const paths = items.flatMap((f) => ('path' in f ? [f.path] : []));
  const unnamed = items.flatMap((f) => ('path' in f ? [] : [f.kind]));
  const said = [
    ...(paths.length > 0
      ? [`changes what it has no API for: rendered ${renderedNames(paths)}`]
      : []),
    ...(unnamed.length > 0
      ? [
          `declares ${unnamedObjects(unnamed)}, which have no API and no rendered file to compare them with (poolsync.yaml render): whether they changed is unknown`,
        ]
      : []),
  ];
  return {
    head: 'No changes to send to the control plane.',
    rest: `The repository ${said.join(', and ')}`,
  };
}

/** The render that writes an unnamed kind's file, and where to name it so plans compare it. */
function unnamedCommand(kind: RenderKind, { dir, env }: Omit<RenderedFilesNote, 'files'>) {
  const command = renderCommand(kind, dir, { env, out: 'FILE' });
  return {
    command,
    name: `name it in poolsync.yaml (render.${kind}.path${env === undefined ? '' : ', with {env}'}) and every plan shows what changes`,
  };
}

/** One file: that it changes, why nothing sends it, and what to do (`X would change, and …`). */
export function renderedAdvice(f: NoApiChange, where: Omit<RenderedFilesNote, 'files'>): string {
  const { why, then } = NO_API[f.kind];
  if (f.status === 'unnamed') {
    const { command, name } = unnamedCommand(f.kind, where);
    return `${unnamedObjects([f.kind])} are in no rendered file (poolsync.yaml render names none), and ${why}. Render the file (\`${command}\`), then ${then}; ${name}.`;
  }
  const command = renderCommand(f.kind, where.dir, { env: where.env });
  return `${renderedStatus(f.path, f.status)}, and ${why}. Render the file (\`${command}\`), then ${then}.`;
}

/** The section a plan shows for an unnamed kind (beside each changed file's diff). */
export function unnamedSection(kind: RenderKind, where: Omit<RenderedFilesNote, 'files'>): string {
  const { why, then } = NO_API[kind];
  const { command, name } = unnamedCommand(kind, where);
  const objects = unnamedObjects([kind]);
  return `No rendered file for the ${objects}: poolsync.yaml render names none (render.${kind}.path), so this plan cannot show whether they changed. ${why}, so no plan or apply sends them: render the file (\`${command}\`), then ${then}; ${name}.`;
}
