/** poolsync.yaml `render`: where generated files live; paths stay inside the folder. */
import type { RenderConfig } from '../model/desired.js';
import { entry, type YNode } from './yaml.js';

export function checkRenderConfig(
  value: unknown,
  root: YNode,
  add: (code: 'SCHEMA', message: string, line: number, column: number) => void,
): RenderConfig | undefined {
  const render = (value as { render?: RenderConfig }).render;
  if (!render) return undefined;
  const renderNode = entry(root, 'render')?.value;
  for (const [target, settings] of Object.entries(render) as [string, { path: string }][]) {
    const node = renderNode ? entry(renderNode, target)?.value : undefined;
    const pos = (node ? entry(node, 'path')?.value.pos : undefined) ?? root.pos;
    const path = settings.path;
    if (path.startsWith('/') || path.split('/').includes('..') || path.includes('\\')) {
      add(
        'SCHEMA',
        `render.${target}.path '${path}' must be a path inside the folder (relative, forward slashes, no '..')`,
        pos.line,
        pos.column,
      );
    }
  }
  return render;
}
