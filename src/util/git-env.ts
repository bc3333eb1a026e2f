/**
 * Git as the daemon and src/vcs run it. Credentials never touch the URL, the argv or
 * .git/config: an HTTPS token travels in an `http.<origin>/.extraHeader` set through
 * GIT_CONFIG_* variables, an SSH key through GIT_SSH_COMMAND.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { simpleGit, type SimpleGit } from 'simple-git';
import type { Redactor } from './redact.js';
import type { Env } from './env.js';
import { GIT_TIMEOUT_MS } from './git.js';
import { makeFolders } from './safe-file.js';
import { shellQuote } from './shell-quote.js';

export interface GitAuth {
  /** HTTPS token, sent as an `Authorization: Basic` header (never in the URL). */
  token: string | null;
  /** User name paired with the token (`x-access-token` works for GitHub, `oauth2` for GitLab). */
  username: string;
  /** Private key file for SSH remotes (used through GIT_SSH_COMMAND). */
  sshKeyFile: string | null;
  /** known_hosts file for SSH remotes; without one, unknown hosts are accepted on first use. */
  sshKnownHostsFile: string | null;
}

export interface GitRemote {
  /** Clone URL of the config repository (the daemon's --repo). */
  repo: string;
  auth: GitAuth;
  /** Bound on each git command (--git-timeout; default GIT_TIMEOUT_MS). */
  timeoutMs?: number;
  /** The environment git's allow-listed variables (PASSTHROUGH_ENV) are taken from. */
  env: Env;
}

/** Environment passed to git: a short allow-list, so a stray GIT_* or PAGER of the host cannot interfere. */
const PASSTHROUGH_ENV = [
  'PATH',
  'HOME',
  'USER',
  'TMPDIR',
  'LANG',
  'LC_ALL',
  'SSL_CERT_FILE',
  'SSL_CERT_DIR',
  'GIT_SSL_CAINFO',
  'HTTPS_PROXY',
  'HTTP_PROXY',
  'NO_PROXY',
  'https_proxy',
  'http_proxy',
  'no_proxy',
  'SSH_AUTH_SOCK',
];

export function gitEnvironment(
  repo: string,
  auth: GitAuth,
  env: Record<string, string | undefined>,
  checkoutDir: string,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const key of PASSTHROUGH_ENV) {
    const v = env[key];
    if (v !== undefined) out[key] = v;
  }
  out.GIT_TERMINAL_PROMPT = '0';
  if (auth.token) {
    const origin = httpOrigin(repo);
    if (origin !== null) {
      const basic = Buffer.from(`${auth.username}:${auth.token}`).toString('base64');
      out.GIT_CONFIG_COUNT = '1';
      // Scoped to the repository's origin so the header is never sent to another host.
      out.GIT_CONFIG_KEY_0 = `http.${origin}/.extraHeader`;
      out.GIT_CONFIG_VALUE_0 = `Authorization: Basic ${basic}`;
    }
  }
  if (auth.sshKeyFile) {
    const knownHosts = auth.sshKnownHostsFile
      ? `-o StrictHostKeyChecking=yes -o UserKnownHostsFile=${shellQuote(auth.sshKnownHostsFile)}`
      : // Trust on first use, remembered next to the checkout.
        `-o StrictHostKeyChecking=accept-new -o UserKnownHostsFile=${shellQuote(join(checkoutDir, '..', 'known_hosts'))}`;
    out.GIT_SSH_COMMAND = `ssh -i ${shellQuote(auth.sshKeyFile)} -o IdentitiesOnly=yes -o BatchMode=yes ${knownHosts}`;
  }
  return out;
}

function httpOrigin(url: string): string | null {
  if (!/^https?:\/\//i.test(url) || !URL.canParse(url)) return null;
  const u = new URL(url);
  return `${u.protocol}//${u.host}`;
}

/** simple-git in poolsync's own checkout folder of `repo`, and its environment (for spawning git). */
export async function checkoutClient(
  o: GitRemote & { dir: string },
): Promise<{ git: SimpleGit; env: Record<string, string> }> {
  // The daemon's checkouts are its own, as its state folder (docs/security.md).
  await makeFolders(o.dir, 0o700);
  const env = gitEnvironment(o.repo, o.auth, o.env, o.dir);
  const git = simpleGit({
    baseDir: o.dir,
    timeout: { block: o.timeoutMs ?? GIT_TIMEOUT_MS },
    // We set these two ourselves, to fixed values: the key command and the auth header.
    unsafe: { allowUnsafeSshCommand: true, allowUnsafeConfigEnvCount: true },
  }).env(env);
  if (!existsSync(join(o.dir, '.git'))) await git.init();
  const origin = (await git.getRemotes(true)).find((r) => r.name === 'origin');
  if (!origin) await git.addRemote('origin', o.repo);
  else if (origin.refs.fetch !== o.repo) await git.remote(['set-url', 'origin', o.repo]);
  return { git, env };
}

/** What a failed git command says, scrubbed: its error lines, not the hints and progress around them. */
export function gitError(redactor: Redactor, err: unknown, lines: number): string {
  const said = redactor
    .errorMessage(err)
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('hint:'));
  const important = said.filter((l) => /^(fatal|error|remote):/i.test(l));
  return (important.length ? important : said).slice(0, lines).join(' ') || 'unknown git error';
}
