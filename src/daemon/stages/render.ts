/**
 * Stage render: the generated files that poolsync.yaml `render` names (flyte-core values,
 * Union pool mapping), rendered from the loaded commit and compared with the files committed
 * next to the manifests, which are what Helm / Argo CD / Flux deploy. Those that differ are
 * listed in /status `renderedFiles` (with their diff). With --commit-rendered (off by default)
 * the daemon commits + pushes them; the push starts a new run whose render matches, so it
 * never loops. A failure to commit is logged and the run goes on: the rendered files are a
 * convenience for the deploy pipeline, not the reconcile.
 */
import type { DesiredState } from '../../model/desired.js';
import type { Source, SourceSnapshot } from '../git-source.js';
import type { RenderedFileStatus } from '../status.js';
import { runWords } from '../../render/daemon-words.js';
import { type RunContext, type Staged } from './context.js';

/** A diff longer than this is cut in /status (the file itself is in the repository). */
const DIFF_LIMIT = 64 * 1024;

/** The files' status, and the commit compared (remembered: its files are not compared again). */
export async function renderStage(
  ctx: RunContext,
  snapshot: SourceSnapshot,
  desired: DesiredState,
): Promise<Staged<null>> {
  const { o } = ctx;
  if (!desired.config.render) return { value: null, status: { renderedFiles: [] } };
  const { commit, dir } = snapshot;
  // A commit's files never change: compared once (a folder on disk, every run).
  if (commit !== null && ctx.memory.renderedCommit === commit) return { value: null, status: {} };
  const { changed, contents } = await compared(ctx, dir, desired, commit);
  const status = { renderedFiles: changed };
  if (changed.length === 0 || !o.config.commitRendered || !o.source.commitFiles)
    return { value: null, status, remember: { renderedCommit: commit } };
  const pushed = await commitRendered(
    ctx,
    o.source.commitFiles.bind(o.source),
    changed,
    contents,
    commit,
  );
  // A failed commit is tried again on the next commit or drift run.
  return { value: null, status, remember: { renderedCommit: pushed ? commit : null } };
}

/** The rendered files that differ from the committed ones, with their new contents. */
async function compared(
  ctx: RunContext,
  dir: string,
  desired: DesiredState,
  commit: string | null,
): Promise<{ changed: RenderedFileStatus[]; contents: Map<string, string> }> {
  const { o } = ctx;
  const { renderTargets, compareTarget, readTarget } = await import('../../render/values.js');
  const changed: RenderedFileStatus[] = [];
  const contents = new Map<string, string>();
  for (const target of await renderTargets(dir, desired, commit)) {
    if ('error' in target) {
      o.logger.warn({ file: target.path, err: target.error }, 'cannot render');
      continue;
    }
    // Read as every repository file is: never through a link (validation refuses those).
    let current: string | null;
    try {
      current = await readTarget(dir, target.path);
    } catch (err) {
      o.logger.warn(
        { file: target.path, err: o.redactor.errorMessage(err) },
        'cannot read the rendered file',
      );
      continue;
    }
    const cmp = compareTarget(target, current);
    if (cmp.status === 'same') continue;
    contents.set(target.path, target.content);
    changed.push({
      kind: target.kind,
      path: target.path,
      status: cmp.status,
      diff:
        cmp.diff.length > DIFF_LIMIT
          ? `${cmp.diff.slice(0, DIFF_LIMIT)}\n… (diff cut at ${DIFF_LIMIT} bytes)\n`
          : cmp.diff,
      committed: null,
    });
  }
  return { changed, contents };
}

/**
 * --commit-rendered: the files that differ committed and pushed (`committed` set on each);
 * false when that failed.
 */
async function commitRendered(
  ctx: RunContext,
  commitFiles: NonNullable<Source['commitFiles']>,
  changed: RenderedFileStatus[],
  contents: ReadonlyMap<string, string>,
  commit: string | null,
): Promise<boolean> {
  const { o } = ctx;
  const paths = changed.map((t) => t.path);
  try {
    const pushed = await commitFiles(
      changed.map((t) => ({ path: t.path, content: contents.get(t.path)! })),
      runWords.renderCommit(paths, commit),
    );
    for (const f of changed) f.committed = pushed;
    o.logger.info({ files: paths, commit: pushed }, 'committed rendered files');
    return true;
  } catch (err) {
    o.logger.warn(
      { files: paths, err: o.redactor.errorMessage(err) },
      'cannot commit rendered files',
    );
    return false;
  }
}
