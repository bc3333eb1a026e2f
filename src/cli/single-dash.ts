/**
 * Terraform spells its options with one dash (`-target=X`, `-out=plan`, `-auto-approve`,
 * `-lock-timeout=5m`); poolsync, like most CLIs, with two. yargs would read `-target` as the
 * short flags t, a, r, g, e and answer `Unknown arguments: t, a, r, g, e`: this says what was
 * meant instead, before yargs parses anything.
 */
import { UserError } from '../util/user-error.js';

/** Terraform options poolsync has under the same name (or the name it has them under). */
const TERRAFORM_NAMES: Record<string, string> = {
  target: 'target',
  replace: 'replace',
  out: 'out',
  'auto-approve': 'auto-approve',
  'lock-timeout': 'lock-timeout',
  'detailed-exitcode': 'detailed-exitcode',
  'no-color': 'no-color',
  'refresh-only': 'refresh-only',
  parallelism: 'parallelism',
  json: 'output json',
};

/**
 * The first argument written as `-name` or `-name=value` with a name of two or more letters
 * (before a `--` that ends the options), as a UserError saying the two-dash spelling; null
 * when there is none.
 */
export function singleDashError(argv: readonly string[]): UserError | null {
  for (const arg of argv) {
    if (arg === '--') return null;
    const m = /^-([a-z][a-z0-9]*(?:-[a-z0-9]+)+|[a-z][a-z0-9]+)(=.*)?$/i.exec(arg);
    if (!m) continue;
    const name = m[1]!;
    const value = m[2] ?? '';
    const known = TERRAFORM_NAMES[name.toLowerCase()];
    const meant = known === 'output json' ? '--output json' : `--${known ?? name}${value}`;
    return new UserError(
      known
        ? `${arg}: poolsync's options take two dashes: did you mean \`${meant}\`?`
        : `${arg}: poolsync's options take two dashes (\`${meant}\`); \`poolsync <command> --help\` lists them`,
    );
  }
  return null;
}
