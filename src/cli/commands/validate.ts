/**
 * `poolsync validate [DIR] [--output text|json]`: checks a config folder (schemas, V1–V8,
 * input limits) without contacting a control plane. Exit 0 when valid, 1 when not.
 */
import {
  formatSkipped,
  formatSummary,
  formatValidationText,
  loadRepository,
  manifestCacheDir,
  toJsonReport,
} from '../../manifests/index.js';
import { declaresNothing, nothingDeclared, requireConfigFolder } from '../config-folder.js';
import { escapeJsonForTerminal } from '../../util/terminal-text.js';
import type { ValidateArgs } from '../define/validate.js';

export async function validate(args: ValidateArgs): Promise<void> {
  await requireConfigFolder(args.dir);
  const result = await loadRepository(args.dir, { cacheDir: manifestCacheDir() });
  if (args.output === 'json') {
    process.stdout.write(
      escapeJsonForTerminal(JSON.stringify(toJsonReport(result), null, 2)) + '\n',
    );
  } else if (result.valid) {
    process.stdout.write(formatSummary(result.counts));
    if (declaresNothing(result.desired))
      process.stdout.write(nothingDeclared(args.dir, result.desired.config.prune));
  } else {
    process.stdout.write(formatValidationText(result.errors, { baseDir: args.dir }));
  }
  // On stderr, so the one-line summary on stdout keeps its form.
  if (args.output === 'text')
    process.stderr.write(formatSkipped(result.skipped, { baseDir: args.dir }));
  process.exitCode = result.valid ? 0 : 1;
}
