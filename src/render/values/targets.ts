/**
 * The generated files a repository asks for (poolsync.yaml `render`), rendered from one
 * desired state, and how each compares with the file in the folder (plan's diff, the daemon).
 */
import { describeFailure, readRepoFile, readUserFile } from '../../util/safe-file.js';
import { load } from '../../util/js-yaml.js';
import type { DesiredState, RenderConfig } from '../../model/desired.js';
import { renderFlyteCoreValues } from './flyte-core.js';
import { RenderInputError, type BaseValues } from './flyte-core-base.js';
import { body } from './header.js';
import { renderUnionClusterPools } from './union-pools.js';
import { unifiedDiff } from './diff.js';

/** A generated file larger than this is not read (a hostile commit could put anything there). */
const TARGET_MAX_BYTES = 64 * 1024 * 1024;

/**
 * The current content of a render target of the folder `dir`, or null when it does not exist
 * yet; read as every repository file is (src/util/safe-file.ts). Throws when it cannot be.
 */
export async function readTarget(dir: string, path: string): Promise<string | null> {
  const read = await readRepoFile(dir, path, { maxBytes: TARGET_MAX_BYTES });
  if (read.ok) return read.bytes.toString('utf8');
  if (read.reason === 'missing') return null;
  throw new Error(`cannot read the render target ${path}: ${describeFailure(read)}`);
}

export { RenderInputError } from './flyte-core-base.js';

export type RenderKind = keyof RenderConfig;
export const RENDER_KINDS: readonly RenderKind[] = ['flyte-core-values', 'union-cluster-pools'];

export interface RenderSettings {
  credentialsSecret?: string;
  /** flyte-core-values: the operator's own values, parsed (readBaseValues). */
  base?: BaseValues;
}

/** Throws RenderInputError when the base values cannot be combined with the rendered ones. */
export function renderKind(
  kind: RenderKind,
  desired: DesiredState,
  commit: string | null,
  settings: RenderSettings = {},
): string {
  return kind === 'flyte-core-values'
    ? renderFlyteCoreValues(desired, {
        commit,
        // An empty name is none: the default secret.
        credentialsSecret: settings.credentialsSecret || undefined,
        base: settings.base,
      })
    : renderUnionClusterPools(desired, { commit });
}

/**
 * Reads and parses base values: a file of the repository (`root` and `path`, read as every
 * repository file is: never through a link, bounded) or a file the user named (`--base FILE`,
 * read as given). `path` is how messages show it.
 */
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
    throw new RenderInputError(
      `${path} is not valid YAML: ${(err as Error).message.split('\n')[0]}`,
    );
  }
}

export interface RenderedTarget {
  kind: RenderKind;
  /** Relative to the config folder. */
  path: string;
  content: string;
}

/** The targets of poolsync.yaml `render`, reading their base values under `dir`. */
export async function renderTargets(
  dir: string,
  desired: DesiredState,
  commit: string | null,
): Promise<(RenderedTarget | { kind: RenderKind; path: string; error: string })[]> {
  const config = desired.config.render ?? {};
  const out: (RenderedTarget | { kind: RenderKind; path: string; error: string })[] = [];
  for (const kind of RENDER_KINDS) {
    const settings = config[kind] as
      { path: string; credentialsSecret?: string; base?: string } | undefined;
    if (!settings) continue;
    try {
      const base = settings.base
        ? await readBaseValues({ root: dir, path: settings.base })
        : undefined;
      const { credentialsSecret } = settings;
      const content = renderKind(kind, desired, commit, { credentialsSecret, base });
      out.push({ kind, path: settings.path, content });
    } catch (err) {
      if (!(err instanceof RenderInputError)) throw err;
      out.push({ kind, path: settings.path, error: err.message });
    }
  }
  return out;
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
