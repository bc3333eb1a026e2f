/** poolsync.yaml `render`: where generated files live; paths stay inside the folder. */
import type { RenderConfig } from '../model/desired.js';
import { CHART_CREDENTIALS_SECRET } from './flyte-core-chart.js';
import { entry, type YNode } from './yaml.js';

export function checkRenderConfig(
  value: unknown,
  root: YNode,
  add: (code: 'SCHEMA' | 'V14', message: string, line: number, column: number) => void,
): RenderConfig | undefined {
  const render = (value as { render?: RenderConfig }).render;
  if (!render) return undefined;
  const renderNode = entry(root, 'render')?.value;
  for (const [target, settings] of Object.entries(render) as [
    string,
    { path: string; base?: string; credentialsSecret?: string },
  ][]) {
    const node = renderNode ? entry(renderNode, target)?.value : undefined;
    const posOf = (field: string) => (node ? entry(node, field)?.value.pos : undefined) ?? root.pos;
    for (const field of ['path', 'base'] as const) {
      const path = settings[field];
      if (path === undefined) continue;
      if (path.startsWith('/') || path.split('/').includes('..') || path.includes('\\')) {
        const pos = posOf(field);
        add(
          'SCHEMA',
          `render.${target}.${field} '${path}' must be a path inside the folder (relative, forward slashes, no '..')`,
          pos.line,
          pos.column,
        );
      }
    }
    const secret = settings.credentialsSecret;
    if (secret !== undefined && secret !== CHART_CREDENTIALS_SECRET) {
      const pos = posOf('credentialsSecret');
      add('V14', credentialsSecretMessage(secret), pos.line, pos.column);
    }
  }
  return render;
}

/** Why another Secret than cluster-credentials leaves syncresources without credentials. */
export function credentialsSecretMessage(secret: string): string {
  return (
    `credentials Secret '${secret}': the flyte-core chart's syncresources Deployment mounts Secret ${CHART_CREDENTIALS_SECRET} ` +
    `whatever the values say (templates/clusterresourcesync/deployment.yaml:86-90), so it would run without credentials; ` +
    `keep the credentials in Secret ${CHART_CREDENTIALS_SECRET}`
  );
}
