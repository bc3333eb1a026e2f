/**
 * Every git command poolsync runs on a repository folder (docs/security.md,
 * "Environments"). Git looks for the repository from its working folder up, and tries
 * each folder as a bare repository before its parent's `.git`: a pull request that commits a
 * Git directory's files (`HEAD`, `config`, `objects/`, `refs/`) into the config folder would be
 * the repository every command there reads (a forged base branch) and whose `config` runs
 * (`core.fsmonitor`). So a folder on the way that looks like one is refused before the first
 * command, and each command takes `safe.bareRepository=explicit` (Git ≥ 2.38) and
 * `core.fsmonitor=false` from its command line, which no repository's config can undo.
 */
import { spawn } from 'node:child_process';
import { lstat } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { formatDuration } from './duration.js';
import { UserError } from './user-error.js';

/** The default bound on one git command (--git-timeout). */
export const GIT_TIMEOUT_MS = 120_000;

/**
 * On every git command's line. The daemon's `sh` scripts and simple-git (util/git-env.ts) run
 * only at the top of its own clones, whose `.git` Git finds first.
 */
export const SAFE_GIT_ARGS = ['-c', 'safe.bareRepository=explicit', '-c', 'core.fsmonitor=false'];

/** What a git command may print on standard output by default (a fetch's refs, a rev-parse). */
const MAX_OUTPUT = 1024 * 1024;

export interface GitRun {
  cwd: string;
  /** Inherited from the process when not given. */
  env?: Record<string, string | undefined>;
  timeoutMs?: number;
  /** `sh`, running a script of git commands (the daemon's). */
  file?: string;
  signal?: AbortSignal | undefined;
  maxOutput?: number;
}

/** Per folder, once a process: the walk up to its work tree (refuseGitDirectoryFiles). */
const walks = new Map<string, Promise<void>>();

/**
 * Throws a UserError when DIR, or a folder between it and the one holding `.git`, holds a Git
 * directory's files: Git would take that folder for the repository.
 */
export function refuseGitDirectoryFiles(dir: string): Promise<void> {
  const at = resolve(dir);
  let walk = walks.get(at);
  if (walk === undefined) walks.set(at, (walk = walkToWorkTree(at)));
  return walk;
}

const statOf = (path: string) => lstat(path).catch(() => null);

async function walkToWorkTree(dir: string): Promise<void> {
  for (let at = dir; ; at = dirname(at)) {
    // Git's order at each folder: its `.git` (a folder or a gitfile) first, then the folder itself.
    if ((await statOf(join(at, '.git'))) !== null) return;
    const head = await statOf(join(at, 'HEAD'));
    if (head !== null && !head.isDirectory()) {
      const names = ['HEAD'];
      for (const name of ['objects', 'refs', 'commondir'])
        if ((await statOf(join(at, name))) !== null) names.push(name);
      if (names.length > 1) throw gitDirectoryFiles(at, names);
    }
    if (dirname(at) === at) return;
  }
}

function gitDirectoryFiles(folder: string, names: string[]): UserError {
  const rel = relative(process.cwd(), folder);
  const shown = rel === '' ? '.' : rel.startsWith('..') || isAbsolute(rel) ? folder : rel;
  return new UserError(
    `${shown} holds a Git directory's files (${names.join(', ')}), which Git would take for the repository: ` +
      'poolsync runs no Git command there (a pull request could choose its own base branch or run code); remove them',
  );
}

/** git's standard output, or null when git fails; a refused folder still throws. */
export function gitAnswer(args: string[], o: GitRun): Promise<string | null> {
  return gitBytes(args, o).then(
    (out) => out.toString('utf8'),
    (err: unknown) => {
      if (err instanceof UserError) throw err;
      return null;
    },
  );
}

/** One git command's standard output, as text (gitBytes). */
export async function runGit(args: string[], o: GitRun): Promise<string> {
  return (await gitBytes(args, o)).toString('utf8');
}

/**
 * One git command (or `file`, e.g. `sh` running two) in `cwd`, spawned directly, its standard
 * output: simple-git waits 50 ms after any command that prints nothing (its completion plugin,
 * `if (deferClose) await delay(50)`, not configurable), and a checkout, clean or quiet fetch
 * prints nothing (issue 79 item 2). A failure is what git said, not the argv. Run as a process
 * group of its own and stopped whole (time bound, signal): a fetch's `git remote-http` helper
 * outlived a kill of git alone, holding a stalled remote's connection.
 */
export async function gitBytes(args: string[], o: GitRun): Promise<Buffer> {
  await refuseGitDirectoryFiles(o.cwd);
  const timeoutMs = o.timeoutMs ?? GIT_TIMEOUT_MS;
  const maxOutput = o.maxOutput ?? MAX_OUTPUT;
  const file = o.file ?? 'git';
  return new Promise((resolve, reject) => {
    if (o.signal?.aborted) return reject(o.signal.reason as Error);
    const child = spawn(file, file === 'git' ? [...SAFE_GIT_ARGS, ...args] : args, {
      cwd: o.cwd,
      ...(o.env === undefined ? {} : { env: o.env }),
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const stdout: Buffer[] = [];
    let length = 0;
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
    child.stdout.on('data', (d: Buffer) => {
      stdout.push(d);
      length += d.length;
      if (length > maxOutput) stop('output');
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      if (stderr.length < MAX_OUTPUT) stderr += d;
    });
    const settle = (err: Error | null) => {
      clearTimeout(timer);
      o.signal?.removeEventListener('abort', onAbort);
      if (err) reject(err);
      else resolve(Buffer.concat(stdout));
    };
    child.on('error', settle);
    child.on('close', (code) => {
      // What git said (gitError picks its lines), never the argv: a sync's is a shell script.
      const said = (stopped === null ? stderr : saidBefore).trim();
      if (stopped === 'time bound') return settle(new GitTimeout(timeoutMs, said));
      if (stopped === 'signal') return settle(o.signal!.reason as Error);
      if (stopped === 'output')
        return settle(new Error(`git printed more than ${maxOutput} bytes`));
      if (code === 0) return settle(null);
      if (said) return settle(new Error(said));
      settle(Object.assign(new Error(`git exited with status ${code}, saying nothing`), { code }));
    });
  });
}

/**
 * A git command stopped by its time bound (GitRun.timeoutMs); `said`: its stderr on one line
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
