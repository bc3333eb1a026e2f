/**
 * Stage render (daemon --commit-rendered, off by default): keeps the generated files that
 * poolsync.yaml `render` names current in the config repository. It renders them from the
 * loaded commit and commits + pushes those whose content (header aside) would change; the push
 * starts a new run whose render matches, so it never loops. A failure is logged and the run
 * goes on: the rendered files are a convenience for Helm / Argo CD / Flux, not the reconcile.
 */
import type { DesiredState } from '../../model/desired.js';
import type { SourceSnapshot } from '../git-source.js';
import { short, type RunContext } from './context.js';

export async function renderStage(
  ctx: RunContext,
  snapshot: SourceSnapshot,
  desired: DesiredState,
): Promise<void> {
  const { o } = ctx;
  if (!o.commitRendered || !desired.config.render || !o.source.commitFiles) return;
  const { commit, dir } = snapshot;
  const { renderTargets, compareTarget, readTarget } =
    await import('../../render/values/targets.js');
  const changed = [];
  let paths: string[] = [];
  try {
    for (const target of renderTargets(desired, commit)) {
      const current = await readTarget(dir, target.path);
      if (compareTarget(target, current).status !== 'same') changed.push(target);
    }
    if (changed.length === 0) return;
    paths = changed.map((t) => t.path);
    const pushed = await o.source.commitFiles(
      changed.map((t) => ({ path: t.path, content: t.content })),
      `poolsync: render ${paths.join(', ')}${commit ? ` from ${short(commit)}` : ''}`,
    );
    o.logger.info({ files: paths, commit: pushed }, 'committed rendered files');
  } catch (err) {
    o.logger.warn(
      { files: paths, err: o.redactor.errorMessage(err) },
      'cannot commit rendered files',
    );
  }
}
