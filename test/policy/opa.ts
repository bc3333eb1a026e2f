/**
 * The real Open Policy Agent for the policy tests (docs/policies.md): found as poolsync finds it
 * (POOLSYNC_OPA, scripts/install-opa.sh's cache, PATH). Without it the tests skip, saying why
 * once (global-setup.ts) and in each skipped test's name.
 */
import { execFileSync } from 'node:child_process';
import { findOpa, OPA_VERSION } from '../../src/policy/opa.js';

function found(): string | null {
  try {
    return findOpa(undefined, process.env);
  } catch {
    return null;
  }
}

/** The OPA binary, or null. */
export const opaPath: string | null = found();

/** Why the tests against the real OPA skip, or null when they run. */
export const opaMissing: string | null = opaPath
  ? null
  : `no OPA ${OPA_VERSION} (POOLSYNC_OPA, the cache of scripts/install-opa.sh, PATH): run scripts/install-opa.sh (needs Go >= 1.26; .ci/run does it)`;

/** The CLI's environment in these tests: no CI variable of this machine names a branch or a pull request. */
export const CLEAN_ENV: NodeJS.ProcessEnv = {
  PATH: process.env.PATH,
  HOME: process.env.HOME,
  XDG_STATE_HOME: process.env.XDG_STATE_HOME,
  TMPDIR: process.env.TMPDIR,
  NO_COLOR: '',
};

/** git in `dir` as a test author, its output trimmed. */
export const git = (dir: string, ...args: string[]) =>
  execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.com', ...args], {
    cwd: dir,
    encoding: 'utf8',
  }).trim();
