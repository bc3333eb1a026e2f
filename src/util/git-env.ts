/**
 * Git as the daemon and src/vcs run it. Credentials never touch the URL, the argv or
 * .git/config: an HTTPS token travels in an `http.<origin>/.extraHeader` set through
 * GIT_CONFIG_* variables, an SSH key through GIT_SSH_COMMAND.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { simpleGit, type SimpleGit } from 'simple-git';
import type { Redactor } from './redact.js';
import type { Env } from './env.js';
import { formatDuration } from './duration.js';
import { makeFolders } from './safe-file.js';
import { shellQuote } from './shell-quote.js';

/** The default bound on one git command (--git-timeout). */
export const GIT_TIMEOUT_MS = 120_000;

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

/** What a git command may print on standard output (a fetch's refs, a rev-parse). */
const MAX_OUTPUT = 1024 * 1024;

/**
 * One git command (or `file`, e.g. `sh` running two) in `cwd` with `env`, spawned directly, its
 * standard output: simple-git waits 50 ms after any command that prints nothing (its completion
 * plugin, `if (deferClose) await delay(50)`, not configurable), and a checkout, clean or quiet
 * fetch prints nothing (issue 79 item 2). A failure is what git said, not the argv. Run as a
 * process group of its own and stopped whole (time bound, signal): a fetch's `git remote-http`
 * helper outlived a kill of git alone, holding a stalled remote's connection.
 */
export function runGit(
  args: string[],
  o: {
    cwd: string;
    env: Record<string, string>;
    timeoutMs?: number;
    file?: string;
    signal?: AbortSignal | undefined;
  },
): Promise<string> {
  const timeoutMs = o.timeoutMs ?? GIT_TIMEOUT_MS;
  return new Promise((resolve, reject) => {
    if (o.signal?.aborted) return reject(o.signal.reason as Error);
    const child = spawn(o.file ?? 'git', args, {
      cwd: o.cwd,
      env: o.env,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let stopped: 'time bound' | 'signal' | 'output' | null = null;
    // What git said before it was stopped (a shell running it then says only "Terminated").
    let saidBefore = '';
    const stop = (why: NonNullable<typeof stopped>) => {
      if (stopped === null) saidBefore = stderr;
      stopped ??= why;
      try {
        // SIGTERM, as execFile's bound sent: git removes its lock files on it.
        process.kill(-child.pid!, 'SIGTERM');
      } catch {
        // Already gone.
      }
    };
    const timer = setTimeout(() => stop('time bound'), timeoutMs);
    const onAbort = () => stop('signal');
    o.signal?.addEventListener('abort', onAbort, { once: true });
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
      if (stdout.length > MAX_OUTPUT) stop('output');
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      if (stderr.length < MAX_OUTPUT) stderr += d;
    });
    const settle = (err: Error | null) => {
      clearTimeout(timer);
      o.signal?.removeEventListener('abort', onAbort);
      if (err) reject(err);
      else resolve(stdout);
    };
    child.on('error', settle);
    child.on('close', (code) => {
      // What git said (gitError picks its lines), never the argv: a sync's is a shell script.
      const said = (stopped === null ? stderr : saidBefore).trim();
      if (stopped === 'time bound') return settle(new GitTimeout(timeoutMs, said));
      if (stopped === 'signal') return settle(o.signal!.reason as Error);
      if (stopped === 'output')
        return settle(new Error(`git printed more than ${MAX_OUTPUT} bytes`));
      if (code === 0) return settle(null);
      if (said) return settle(new Error(said));
      settle(Object.assign(new Error(`git exited with status ${code}, saying nothing`), { code }));
    });
  });
}

/**
 * A git command stopped by its time bound (GitRemote.timeoutMs); `said`: its stderr on one line
 * (one message: gitError would keep only its `fatal:` lines), maybe empty.
 */
export class GitTimeout extends Error {
  readonly said: string;
  constructor(
    readonly timeoutMs: number,
    stderr: string,
  ) {
    const said = stderr
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '' && !l.startsWith('hint:'))
      .join(' ');
    super(
      `git did not finish within ${formatDuration(timeoutMs)} and was stopped${said ? `; git said: ${said}` : ''}`,
    );
    this.said = said;
  }
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
