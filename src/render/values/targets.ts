/**
 * The generated files a repository asks for (poolsync.yaml `render`), rendered from one
 * desired state, and how each compares with the file in the folder (plan's diff, the daemon).
 */
import type { DesiredState, RenderConfig } from '../../model/desired.js';
import { renderFlyteCoreValues } from './flyte-core.js';
import { body } from './header.js';
import { renderUnionClusterPools } from './union-pools.js';
import { unifiedDiff } from './diff.js';
import { describeFailure, readRepoFile } from '../../util/repo-file.js';

/** A generated file larger than this is not read (a hostile commit could put anything there). */
const TARGET_MAX_BYTES = 64 * 1024 * 1024;

/**
 * The current content of a render target of the folder `dir`, or null when it does not exist
 * yet; read as every repository file is (src/util/repo-file.ts). Throws when it cannot be.
 */
export async function readTarget(dir: string, path: string): Promise<string | null> {
  const read = await readRepoFile(dir, path, { maxBytes: TARGET_MAX_BYTES });
  if (read.ok) return read.bytes.toString('utf8');
  if (read.reason === 'missing') return null;
  throw new Error(`cannot read the render target ${path}: ${describeFailure(read)}`);
}

export type RenderKind = keyof RenderConfig;
export const RENDER_KINDS: readonly RenderKind[] = ['flyte-core-values', 'union-cluster-pools'];

export function renderKind(
  kind: RenderKind,
  desired: DesiredState,
  commit: string | null,
  settings: { credentialsSecret?: string } = {},
): string {
  return kind === 'flyte-core-values'
    ? renderFlyteCoreValues(desired, {
        commit,
        ...(settings.credentialsSecret ? { credentialsSecret: settings.credentialsSecret } : {}),
      })
    : renderUnionClusterPools(desired, { commit });
}

export interface RenderedTarget {
  kind: RenderKind;
  /** Relative to the config folder. */
  path: string;
  content: string;
}

export function renderTargets(desired: DesiredState, commit: string | null): RenderedTarget[] {
  const config = desired.config.render ?? {};
  return RENDER_KINDS.flatMap((kind) => {
    const settings = config[kind] as { path: string; credentialsSecret?: string } | undefined;
    return settings
      ? [{ kind, path: settings.path, content: renderKind(kind, desired, commit, settings) }]
      : [];
  });
}

export interface TargetComparison extends RenderedTarget {
  status: 'same' | 'changed' | 'missing';
  /** Unified diff of the file without its header against the rendered content without its header. */
  diff: string;
}

/** `current` is the file's content, or null when it does not exist. */
export function compareTarget(target: RenderedTarget, current: string | null): TargetComparison {
  if (current === null)
    return {
      ...target,
      status: 'missing',
      diff: unifiedDiff('', body(target.content), target.path),
    };
  const diff = unifiedDiff(body(current), body(target.content), target.path);
  return { ...target, status: diff === '' ? 'same' : 'changed', diff };
}
