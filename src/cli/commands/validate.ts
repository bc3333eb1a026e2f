/**
 * `poolsync validate [DIR] [--output text|json]`: checks a config folder (schemas, V1–V8,
 * input limits) without contacting a control plane. Exit 0 when valid, 1 when not.
 */
import type { Argv, CommandModule } from 'yargs';
import {
  formatSkipped,
  formatSummary,
  formatValidationText,
  loadRepository,
  manifestCacheDir,
  toJsonReport,
} from '../../manifests/index.js';
import { configDirPositional, requireFolder } from '../options.js';
import { escapeJsonForTerminal } from '../../util/terminal-text.js';

interface ValidateArgs {
  dir: string;
  output: 'text' | 'json';
}

export const validateCommand: CommandModule<object, ValidateArgs> = {
  command: 'validate [dir]',
  describe:
    'Check the manifests of a config folder and report every error with its file:line:column',
  builder: (yargs: Argv) =>
    yargs
      .positional('dir', configDirPositional)
      .option('output', {
        alias: 'o',
        choices: ['text', 'json'] as const,
        default: 'text' as const,
        describe: 'text: one line per error; json: {valid, errors, counts}',
      })
      .example('$0 validate examples/config-repo', 'Validate the bundled example')
      .example(
        '$0 validate . --output json',
        'Machine-readable result for CI',
      ) as unknown as Argv<ValidateArgs>,
  handler: async (args) => {
    await requireFolder(args.dir);
    const result = await loadRepository(args.dir, { cacheDir: manifestCacheDir() });
    if (args.output === 'json') {
      process.stdout.write(
        escapeJsonForTerminal(JSON.stringify(toJsonReport(result), null, 2)) + '\n',
      );
    } else if (result.valid) {
      process.stdout.write(formatSummary(result.counts));
    } else {
      process.stdout.write(formatValidationText(result.errors, { baseDir: args.dir }));
    }
    // On stderr, so the one-line summary on stdout keeps its form.
    if (args.output === 'text')
      process.stderr.write(formatSkipped(result.skipped, { baseDir: args.dir }));
    process.exitCode = result.valid ? 0 : 1;
  },
};
