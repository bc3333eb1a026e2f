/**
 * The generated files poolsync.yaml `render` names that a repository changes (renderTargets,
 * ./values.ts), in words: why no plan step sends them and what a person does instead. Neither
 * has an API (docs/flyte-oss.md, docs/union-self-managed.md), so a plan without steps must not
 * read as done without them. One source for the CLI's plan and apply (./cli-output.ts, ./text.ts),
 * the pull-request comment (./markdown.ts) and the daemon's runs (./daemon-words.ts).
 */
import { commandLine } from '../util/shell-quote.js';
import type { RenderConfig } from '../model/desired.js';

export type RenderKind = keyof RenderConfig;

/** A generated file the repository changes: what `poolsync render` would write differs. */
export interface RenderedChange {
  kind: RenderKind;
  /** Relative to the config folder. */
  path: string;
  status: 'changed' | 'missing';
}

/** The files, and where a person renders them: the config folder as they name it, and --env. */
export interface RenderedFilesNote {
  files: readonly RenderedChange[];
  dir: string;
  env?: string | undefined;
}

/** Why no plan step sends a rendered file, and who takes it instead. */
export const NO_API: Record<RenderKind, { why: string; then: string }> = {
  'flyte-core-values': {
    why: 'flyteadmin has no API for labelClusterMap and clusterConfigs (it reads them from its Helm values at start-up)',
    then: 'deploy it with `helm upgrade` (the rendered file as the last --values), or let Argo CD / Flux pick up the commit',
  },
  'union-cluster-pools': {
    why: 'Union self-managed has no API for the pool → clusters mapping',
    then: 'hand the file to Union (support), who configure the control plane with it',
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

/**
 * What a plan with nothing to send says when rendered files change (the text's first line, the
 * comment's head): never "No changes", which reads as done.
 */
export function nothingToSend(paths: readonly string[]): { head: string; rest: string } {
  return {
    head: 'No changes to send to the control plane.',
    rest: `The repository changes what it has no API for: rendered ${renderedNames(paths)}`,
  };
}

/** One file: that it changes, why nothing sends it, and what to do (`X would change, and …`). */
export function renderedAdvice(
  { kind, path, status }: RenderedChange,
  { dir, env }: Omit<RenderedFilesNote, 'files'>,
): string {
  const { why, then } = NO_API[kind];
  const command = renderCommand(kind, dir, { env });
  return `${renderedStatus(path, status)}, and ${why}. Render the file (\`${command}\`), then ${then}.`;
}
