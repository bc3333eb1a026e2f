/** `poolsync render WHAT [DIR]`: its options; the work is in ../commands/render.ts. */
import type { RenderArgs } from '../commands/render.js';
import { configDirPositional, envOption } from '../options.js';
import type { Command } from './command.js';

/** What `render` writes (poolsync.yaml's render: keys). */
const RENDER_KINDS = ['flyte-core-values', 'union-cluster-pools'] as const;

export const render: Command<RenderArgs> = {
  command: 'render <what> [dir]',
  describe:
    'Write a generated configuration file from the manifests: flyte-core Helm values (labelClusterMap, clusterConfigs) or the Union self-managed pool -> clusters mapping',
  builder: (yargs) =>
    yargs
      .positional('what', {
        choices: RENDER_KINDS,
        describe: 'flyte-core-values | union-cluster-pools',
      })
      .positional('dir', configDirPositional)
      .option('env', envOption(false))
      .option('out', {
        type: 'string',
        describe:
          'File to write (- for stdout); default: the path in poolsync.yaml render (written only when it changes, never over uncommitted edits), else stdout',
      })
      .option('stdout', {
        type: 'boolean',
        default: false,
        describe: 'Print to stdout even when poolsync.yaml names a file',
      })
      .option('check', {
        type: 'boolean',
        default: false,
        describe: 'Write nothing; exit 1 when the file differs from what would be rendered',
      })
      .option('credentials-secret', {
        type: 'string',
        describe:
          'flyte-core-values: the Secret with the data-plane credentials; the chart mounts only cluster-credentials (V14)',
      })
      .option('base', {
        type: 'string',
        describe:
          'flyte-core-values: your own values file; its flyteadmin.additionalVolumes and additionalVolumeMounts are kept in the rendered lists (Helm replaces lists). Default: poolsync.yaml render.flyte-core-values.base',
      })
      .example(
        '$0 render flyte-core-values examples/flyte-oss --out values-clusters.yaml',
        'Helm values for flyte-core',
      )
      .example(
        '$0 render flyte-core-values . --base values-override.yaml --out values-clusters.yaml',
        'Keep your own flyteadmin volumes in the rendered lists',
      )
      .example(
        '$0 render union-cluster-pools examples/union-self-managed',
        'The mapping to hand to Union',
      ),
  run: async (args, io) => (await import('../commands/render.js')).render(args, io),
};
