/**
 * `poolsync validate [DIR] [--output text|json]`: checks a config folder (schemas, V1–V8,
 * input limits) without contacting a control plane. Exit 0 when valid, 1 when not.
 */
import {
  formatSkipped,
  formatSummary,
  formatValidationText,
  toJsonReport,
} from '../../manifests/report.js';
import { loadDesired } from '../../ops/plan-run.js';
import { declaresNothing, requireConfigFolder } from '../config-folder.js';
import { nothingDeclared } from '../../render/cli-output.js';
import { escapeJsonForTerminal } from '../../util/terminal-text.js';
import { ENV_ALL } from '../options.js';
import type { ValidateArgs } from '../define.js';
import type { Io } from '../io.js';
import { readFolderOnce, type FolderRead } from '../../manifests/config.js';
import { UserError } from '../../util/user-error.js';

export async function validate(args: ValidateArgs, io: Io): Promise<number> {
  const note = await requireConfigFolder(args.dir);
  if (note !== null) io.stderr.write(note);
  const shared = await readFolderOnce(args.dir);
  const names = environmentNames(args, shared);
  // Each environment is its own desired state: every one is checked, each report named.
  const reports: Record<string, unknown> = {};
  let code = 0;
  for (const environment of names.length === 0 ? [undefined] : names) {
    if (environment !== undefined && args.output === 'text')
      io.stdout.write(`Environment ${environment}:\n`);
    const result = await loadDesired(args.dir, { shared, environment });
    if (!result.valid) code = 1;
    if (args.output === 'json') reports[environment ?? ''] = toJsonReport(result);
    else if (result.valid) {
      io.stdout.write(formatSummary(result.counts));
      if (declaresNothing(result.desired))
        io.stdout.write(nothingDeclared(args.dir, result.desired.config.prune));
    } else io.stdout.write(formatValidationText(result.errors, { baseDir: args.dir }));
    // On stderr, so the one-line summary on stdout keeps its form.
    if (args.output === 'text')
      io.stderr.write(formatSkipped(result.skipped, { baseDir: args.dir }));
  }
  if (args.output === 'json') {
    const json = names.length === 0 ? reports[''] : { valid: code === 0, environments: reports };
    io.stdout.write(escapeJsonForTerminal(JSON.stringify(json, null, 2)) + '\n');
  }
  return code;
}

/** The environments to validate: none without environments, else --env's (default all). */
function environmentNames(args: ValidateArgs, { config }: FolderRead): string[] {
  const envs =
    config.errors.length > 0 ? [] : (config.config.environments ?? []).map((e) => e.name);
  if (args.env === undefined || args.env === ENV_ALL) return envs;
  if (envs.length === 0)
    throw new UserError(
      `--env ${args.env}: poolsync.yaml in ${args.dir} declares no environments; leave out --env (docs/environments.md)`,
    );
  if (!envs.includes(args.env))
    throw new UserError(
      `no environment '${args.env}' in poolsync.yaml; its environments: ${envs.join(', ')}`,
    );
  return [args.env];
}
