/**
 * Stage render (daemon --commit-rendered, off by default): keeps the generated files that
 * poolsync.yaml `render` names (flyte-core values, the Union pool mapping) current in the
 * config repository. Renders them from the loaded commit and commits + pushes those whose
 * content (header aside) would change. The push starts a new run whose render matches, so it
 * never loops. A failure is logged and the run goes on: generated files never block an apply.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
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
  const { renderTargets, compareTarget } = await import('../../render/values/targets.js');
  const changed = [];
  for (const target of renderTargets(desired, snapshot.commit)) {
    const current = await readFile(join(snapshot.dir, target.path), 'utf8').catch(() => null);
    if (compareTarget(target, current).status !== 'same') changed.push(target);
  }
  if (changed.length === 0) return;
  const paths = changed.map((t) => t.path);
  try {
    const pushed = await o.source.commitFiles(
      changed.map((t) => ({ path: t.path, content: t.content })),
      `poolsync: render ${paths.join(', ')}${snapshot.commit ? ` from ${short(snapshot.commit)}` : ''}`,
    );
    o.logger.info({ files: paths, commit: pushed }, 'committed rendered files');
  } catch (err) {
    o.logger.warn(
      { files: paths, err: o.redactor.errorMessage(err) },
      'cannot commit rendered files',
    );
  }
}
