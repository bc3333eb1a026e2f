/**
 * Where the manifests come from. `GitSource` keeps a checkout of one branch in the state
 * directory and, on every sync, fetches and hard-moves to the remote head: a force-push is
 * followed, never merged. Environments each read their own worktree of it, and share one remote
 * read and at most one fetch when syncing at once. `FolderSource` (`--watch`) reads a folder.
 *
 * Credentials never touch the URL, the argv or .git/config: an HTTPS token travels in an
 * `http.<origin>/.extraHeader` set through GIT_CONFIG_* environment variables, an SSH key
 * through GIT_SSH_COMMAND. Every error message is scrubbed before it leaves this module.
 */
import { existsSync, lstatSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { lstat, mkdir, readdir, readFile, realpath, rm } from 'node:fs/promises';
import { basename, dirname, join, resolve, sep } from 'node:path';
import type { Logger } from 'pino';
import type { SimpleGit } from 'simple-git';
import { formatDuration } from '../util/duration.js';
import { checkoutClient, gitError, type GitRemote } from '../util/git-env.js';
import { GitTimeout, runGit } from '../util/git.js';
import { Redactor, scrubUrlUserinfo } from '../util/redact.js';
import { makeFolders, writeRepoFile } from '../util/safe-file.js';
import { underFolder } from '../manifests/environments.js';

export interface SourceSnapshot {
  /** The repository path inside the checkout. */
  dir: string;
  /** Null for a folder on disk. */
  commit: string | null;
  /** Nothing outside it is read. */
  root?: string;
}

export interface Source {
  /**
   * Throws SourceError. What it returns was read from the remote after `notBefore`
   * (performance.now() of the request answered), so a push before the request is seen; a fetch
   * that started after it and failed answers with its error, without fetching again. `'start'`:
   * the daemon's start and its first run share the start's fetch, failed or not. Without either,
   * a fetch in flight is shared, a failed one never.
   */
  sync(notBefore?: number | 'start'): Promise<SourceSnapshot>;
  /** Kept when a later sync fails. */
  readonly last: SourceSnapshot | null;
  /** Safe to show (no credentials). */
  describe(): Record<string, string>;
  /** Commits files (relative to the snapshot's dir) and pushes them; the new commit. Git only. */
  commitFiles?(files: { path: string; content: string }[], message: string): Promise<string>;
  /**
   * An earlier commit of the branch, checked out beside the head (a rollback: daemon/rollback.ts),
   * fetched again when the checkout no longer has it. Git only: a watched folder keeps no commits.
   */
  at?(commit: string): Promise<SourceSnapshot>;
  /** Fetches `commit` when the clone lacks it, checking nothing out (a run may be reading). */
  reach?(commit: string): Promise<void>;
  /**
   * Whether `ancestor` is `commit` or in its history, in the clone (an approval's pull request
   * merged: approvals.ts); a commit the clone lacks is in no history it has. Git only.
   */
  contains?(ancestor: string, commit: string): Promise<boolean>;
  /**
   * The branch head on the remote when it is not `commit` and changes what `commit` declares (a
   * file under the repository path other than documentation: DOCUMENTATION; with `reads`, the
   * files and folders relative to that path the run reads, an environment's: environmentReads);
   * else null. Fetches the branch, checks nothing out (a run may be reading). Git only.
   */
  supersedes?(commit: string, reads?: readonly string[] | null): Promise<string | null>;
  /** A shutdown: the branch's fetch under way is stopped, and none starts. */
  stop?(): void;
  /** Whether `stop` was called: a fetch that failed then was stopped, not refused. */
  readonly stopped?: boolean;
  /**
   * `read` given the branch head last fetched (null before any fetch) in a copy of its own
   * (`<checkout>-tip.` and six hex digits), removed after: pull requests read it at once, while
   * a run may be moving the head's checkout. Git only.
   */
  tip?<T>(read: (snapshot: SourceSnapshot | null) => Promise<T>): Promise<T>;
  /**
   * Removes what is poolsync's beside the checkout and not in use: the rollback's checkout, tip
   * copies, and what a stopped process or an earlier build left there (cleanBeside). Git only.
   */
  clean?(): Promise<void>;
}

/** Who the rendered files' commits are by (--commit-rendered). */
const COMMITTER = ['-c', 'user.name=poolsync', '-c', 'user.email=poolsync@localhost'];

export class SourceError extends Error {
  override readonly name = 'SourceError';
}

export interface GitSourceOptions extends GitRemote {
  branch: string;
  /** `.`: the root. */
  path: string;
  /** Created on first sync. */
  checkoutDir: string;
}

export class GitSource implements Source {
  last: SourceSnapshot | null = null;
  private readonly redactor: Redactor;
  /** Its `origin` checked once per process. */
  private client: { git: SimpleGit; env: Record<string, string> } | null = null;
  /** Callers at once share it. */
  private syncing: { startedAt: number; done: Promise<SourceSnapshot> } | null = null;
  /** For callers the one in flight started too early for. */
  private next: Promise<SourceSnapshot> | null = null;
  /** The last fetch, when it failed. */
  private failed: { startedAt: number; err: unknown } | null = null;
  /** When the first fetch (the start's) began: what `sync('start')` shares. */
  private firstStartedAt = Infinity;
  /**
   * Worktrees are added one at a time (git records each in the checkout), never during a fetch:
   * a fetch reads every worktree's HEAD, which an add writes before it points anywhere.
   */
  private exclusive: Promise<unknown> = Promise.resolve();
  /** The commit each rollback checkout holds (checkOutAt). */
  private readonly checkedOut = new Map<string, string>();
  /** The tip copies being read: left to their readers by `clean`. */
  private readonly reading = new Set<string>();

  private alone<T>(op: () => Promise<T>): Promise<T> {
    const run = this.exclusive.then(op);
    this.exclusive = run.catch(() => {});
    return run;
  }

  constructor(private readonly options: GitSourceOptions) {
    this.redactor = new Redactor([options.auth.token]);
  }

  private async git(): Promise<SimpleGit> {
    this.client ??= await checkoutClient({ ...this.options, dir: this.options.checkoutDir });
    return this.client.git;
  }

  /**
   * One git command in the checkout (or `cwd`) once the clone is set up, spawned directly
   * (runGit): a commit run's fetch, checkout and clean print nothing, and simple-git's wait
   * after each was 150 of its ~160 ms fetch phase (issue 79 item 2).
   */
  private async run(
    args: string[],
    cwd = this.options.checkoutDir,
    file = 'git',
    signal?: AbortSignal,
  ): Promise<string> {
    await this.git();
    const { timeoutMs } = this.options;
    return runGit(args, { cwd, env: this.client!.env, timeoutMs, file, signal });
  }

  private readonly stopping = new AbortController();

  stop(): void {
    this.stopping.abort(new Error('the daemon is shutting down'));
  }

  get stopped(): boolean {
    return this.stopping.signal.aborted;
  }

  describe(): Record<string, string> {
    return {
      kind: 'git',
      repository: scrubUrlUserinfo(this.options.repo),
      branch: this.options.branch,
      path: this.options.path,
    };
  }

  async commitFiles(files: { path: string; content: string }[], message: string): Promise<string> {
    const { checkoutDir, branch, repo, path } = this.options;
    const dir = join(checkoutDir, path);
    try {
      for (const f of files) {
        // Never through a committed link, never outside the checkout (src/util/safe-file.ts).
        await writeRepoFile(dir, f.path, f.content);
        await this.run(['add', '--', join(dir, f.path)]);
      }
      await this.run([...COMMITTER, 'commit', '-q', '-m', message]);
      // A push that is not a fast-forward fails: the next sync fetches, re-renders and tries again.
      await this.run(['push', 'origin', `HEAD:refs/heads/${branch}`]);
      return (await this.run(['rev-parse', 'HEAD'])).trim();
    } catch (err) {
      throw new SourceError(
        `cannot commit the rendered files to branch ${branch} of ${scrubUrlUserinfo(repo)}: ${gitError(this.redactor, err, 4)}`,
      );
    }
  }

  /**
   * Calls while one runs share it when it started no earlier than `notBefore`; else (it may have
   * read the remote before a push the caller was told of) they share the next one.
   */
  sync(notBefore?: number | 'start'): Promise<SourceSnapshot> {
    const after = notBefore === 'start' ? this.firstStartedAt : (notBefore ?? -Infinity);
    const current = this.syncing;
    if (current && current.startedAt >= after) return current.done;
    if (current)
      return (this.next ??= current.done
        .catch(() => {})
        .then(() => {
          this.next = null;
          return this.sync(notBefore);
        }));
    // A failed fetch answers as one in flight would: a stalled remote is not waited for twice.
    // A caller that names no moment never takes it: it may be a failure of long ago.
    const failed = this.failed;
    if (failed && notBefore !== undefined && failed.startedAt >= after)
      return Promise.reject(failed.err);
    const startedAt = performance.now();
    this.firstStartedAt = Math.min(this.firstStartedAt, startedAt);
    const started = {
      startedAt,
      done: this.alone(() => this.fetch())
        .then(
          (snapshot) => {
            this.failed = null;
            return snapshot;
          },
          (err: unknown) => {
            this.failed = { startedAt, err };
            throw err;
          },
        )
        .finally(() => {
          if (this.syncing === started) this.syncing = null;
        }),
    };
    this.syncing = started;
    return started.done;
  }

  async supersedes(commit: string, reads?: readonly string[] | null): Promise<string | null> {
    const { branch, repo } = this.options;
    try {
      return await this.declaringHead(commit, reads ?? null);
    } catch (err) {
      throw new SourceError(
        `cannot read the head of branch ${branch} of ${scrubUrlUserinfo(repo)} during the apply: ${gitError(this.redactor, err, 4)}; the apply goes on and the follow-up run fetches the branch again`,
      );
    }
  }

  private async declaringHead(
    commit: string,
    reads: readonly string[] | null,
  ): Promise<string | null> {
    const { branch, path } = this.options;
    const ref = `refs/remotes/origin/${branch}`;
    const head = await this.alone(async () => {
      await this.run(
        [...FETCH_FLAGS, 'origin', `+refs/heads/${branch}:${ref}`],
        undefined,
        'git',
        this.stopping.signal,
      );
      return (await this.run(['rev-parse', '--verify', `${ref}^{commit}`])).trim();
    });
    if (head === commit) return null;
    const changed = await this.run([
      'diff',
      '--name-only',
      '--no-renames',
      '-z',
      commit,
      head,
      '--',
      path,
    ]);
    // Git names files from the repository's root, `reads` from the repository path (normalized).
    const read = (file: string) => {
      const f = path === '.' ? file : file.slice(path.length + 1);
      return reads === null || reads.some((r) => f === r || underFolder(f, r));
    };
    return changed.split('\0').some((f) => f !== '' && !DOCUMENTATION.test(f) && read(f))
      ? head
      : null;
  }

  /** An environment's own worktree at `checkoutDir`, whatever the others check out. */
  environment(checkoutDir: string): Source {
    return new WorktreeSource(this, checkoutDir, this.options.path);
  }

  /** `<checkout>-rollback`: the head's checkout is left to the branch. */
  at(commit: string): Promise<SourceSnapshot> {
    return this.checkOutAt(`${this.options.checkoutDir}-rollback`, commit);
  }

  /**
   * The copy is made through an index of its own, never a worktree: nothing of the clone changes,
   * so reads at once need no turn. `dir`: an environment's own checkout (WorktreeSource).
   */
  async tip<T>(
    read: (snapshot: SourceSnapshot | null) => Promise<T>,
    dir = this.options.checkoutDir,
  ): Promise<T> {
    const commit = this.last?.commit;
    if (!commit) return read(null);
    // Named, and held, before it exists: a clean at the same time never takes it for a leftover.
    const copy = `${dir}-tip.${randomBytes(3).toString('hex')}`;
    this.reading.add(copy);
    // An environment's folder may not be there before its first run.
    const made = makeFolders(dirname(dir), 0o700).then(() => mkdir(copy, { mode: 0o700 }));
    await made.catch((err: unknown) => {
      this.reading.delete(copy);
      throw new SourceError(
        `cannot copy ${commit} of branch ${this.options.branch} into ${copy}: ${gitError(this.redactor, err, 2)}`,
      );
    });
    try {
      const tree = join(copy, 'tree');
      const args = ['-c', COPY, 'sh', join(copy, 'index'), commit, `${tree}/`];
      await this.run(args, undefined, 'sh').catch((err: unknown) => {
        throw new SourceError(
          `cannot copy ${commit} of branch ${this.options.branch} into ${copy}: ${gitError(this.redactor, err, 4)}`,
        );
      });
      return await read({ dir: join(tree, this.options.path), commit, root: tree });
    } finally {
      this.reading.delete(copy);
      // One that stays (a full disk) goes at the next clean: this read's answer stands.
      await rm(copy, { recursive: true, force: true }).catch(() => {});
    }
  }

  /**
   * Beside `dir` (the head's checkout, or an environment's): its rollback checkout and the tip
   * checkout of earlier builds when this clone added them (their `.git` names one of its
   * worktrees), and tip copies (`-tip.` and six random characters) no read holds.
   */
  async clean(dir = this.options.checkoutDir): Promise<void> {
    const name = basename(dir);
    const clone = this.options.checkoutDir;
    const ours = async (path: string, n: string): Promise<boolean> => {
      // A copy may be gone already: its read removes it.
      if (!(await lstat(path).catch(() => null))?.isDirectory()) return false;
      if (/^-tip\.[0-9a-f]{6}$/.test(n.slice(name.length))) return !this.reading.has(path);
      if (n !== `${name}-rollback` && n !== `${name}-tip`) return false;
      const link = await readFile(join(path, '.git'), 'utf8').catch(() => '');
      const gitdir = /^gitdir: (.+)$/m.exec(link)?.[1];
      if (gitdir === undefined) return false;
      // git writes the clone's real path there.
      const parents = [dirname(clone), await realpath(dirname(clone)).catch(() => dirname(clone))];
      const worktrees = parents.map((p) => join(p, basename(clone), '.git', 'worktrees') + sep);
      return worktrees.some((w) => resolve(path, gitdir).startsWith(w));
    };
    let removed = false;
    try {
      // No folder yet (an environment's first start): nothing beside it.
      for (const n of await readdir(dirname(dir)).catch(() => [])) {
        const path = join(dirname(dir), n);
        if (!n.startsWith(`${name}-`) || !(await ours(path, n))) continue;
        await rm(path, { recursive: true, force: true });
        this.checkedOut.delete(path);
        removed = true;
      }
      // The clone's records of them too (one at a time with fetches: `exclusive`).
      if (removed && existsSync(join(clone, '.git', 'worktrees')))
        await this.alone(() => this.run(['worktree', 'prune']));
    } catch (err) {
      throw new SourceError(
        `cannot remove the checkouts beside ${dir}: ${gitError(this.redactor, err, 4)}; the next start tries again`,
      );
    }
  }

  /** `commit` checked out at `dir`, fetched by its id first when this clone lacks it. */
  async checkOutAt(dir: string, commit: string): Promise<SourceSnapshot> {
    const snapshot = { dir: join(dir, this.options.path), commit, root: dir };
    // Every run of a rollback reads the same commit: checked out once.
    if (this.checkedOut.get(dir) === commit && existsSync(dir)) return snapshot;
    await this.reach(commit);
    await this.checkOut(dir, commit);
    this.checkedOut.set(dir, commit);
    return snapshot;
  }

  /** Fetched by its id when this clone lacks it (kept by the worktree that checks it out). */
  async reach(commit: string): Promise<void> {
    const { branch, repo } = this.options;
    const present = await this.run(['cat-file', '-e', `${commit}^{commit}`]).then(
      () => true,
      () => false,
    );
    if (!present) {
      // GitHub and GitLab serve a commit by id when some branch or tag still reaches it.
      await this.alone(() =>
        this.run(['fetch', '--no-tags', '--quiet', '--no-write-fetch-head', 'origin', commit]),
      ).catch((err: unknown) => {
        throw new SourceError(
          `commit ${commit} is neither in the checkout nor fetchable from ${scrubUrlUserinfo(repo)} (was branch ${branch} rewritten?): ${gitError(this.redactor, err, 4)}`,
        );
      });
    }
  }

  async contains(ancestor: string, commit: string): Promise<boolean> {
    try {
      await this.run(['merge-base', '--is-ancestor', ancestor, commit]);
      return true;
    } catch (err) {
      // Exit 1: not an ancestor; "Not a valid commit name": a commit the clone never fetched.
      const said = (err as Error).message;
      if ((err as { code?: unknown }).code === 1 || /not a valid (commit|object) name/i.test(said))
        return false;
      throw new SourceError(
        `cannot tell whether commit ${ancestor} is in the history of ${commit}: ${gitError(this.redactor, err, 4)}`,
      );
    }
  }

  /**
   * `commit` checked out (detached, forced) at `dir` and whatever is not in it removed, in one
   * process the daemon starts: each is a fork of the daemon, whose cost grows with its resident
   * memory (2.3 ms at 47 MB, 10 at 230, 17 at 590, on the bench's machine), so each process
   * costs a 10,000-object daemon several times what it costs a 100-object one (issue 79 item 2).
   */
  private moveTo(dir: string, commit: string): Promise<string> {
    const move = 'git checkout --quiet --force --detach "$1" && exec git clean -ffdxq';
    return this.run(['-c', move, 'sh', commit], dir, 'sh');
  }

  /** Added, or made again from an old clone. */
  async checkOut(dir: string, commit: string): Promise<void> {
    try {
      // A worktree's .git is a file; a folder (an environment's own clone, before) is replaced.
      const worktree = existsSync(dir) && lstatSync(join(dir, '.git'), { throwIfNoEntry: false });
      if (!worktree || !worktree.isFile()) {
        await rm(dir, { recursive: true, force: true });
        // Made here, not by git (the umask's mode): the daemon's folders are 0700 (docs/security.md).
        await makeFolders(dir, 0o700);
        await this.alone(async () => {
          await this.run(['worktree', 'prune']);
          await this.run(['worktree', 'add', '--quiet', '--force', '--detach', dir, commit]);
        });
        return;
      }
      await this.moveTo(dir, commit);
    } catch (err) {
      throw new SourceError(
        `cannot check out ${commit} of branch ${this.options.branch} in ${dir}: ${gitError(this.redactor, err, 4)}`,
      );
    }
  }

  private async fetch(): Promise<SourceSnapshot> {
    const { checkoutDir, branch, repo, path } = this.options;
    try {
      // One process the daemon starts (SYNC): the fetch, which transfers nothing when nothing
      // was pushed (as `ls-remote` would read the head), and the move when the head moved.
      const commit = (
        await this.run(
          ['-c', SYNC, 'sh', branch, this.last?.commit ?? ''],
          checkoutDir,
          'sh',
          this.stopping.signal,
        )
      ).trim();
      this.last = { dir: join(checkoutDir, path), commit, root: checkoutDir };
      return this.last;
    } catch (err) {
      const cannot = `cannot fetch branch ${branch} of ${scrubUrlUserinfo(repo)}`;
      if (err instanceof GitTimeout) {
        const bound = formatDuration(err.timeoutMs);
        const said = err.said
          ? `; git said: ${gitError(this.redactor, new Error(err.said), 4)}`
          : '';
        throw new SourceError(
          `${cannot}: git fetch did not finish within ${bound} and was stopped (the remote stalled or is too slow)${said}: check the URL, the network or a proxy; the bound is --git-timeout, ${bound} (docs/daemon.md#the-git-source)`,
        );
      }
      throw new SourceError(
        `${cannot}: ${gitError(this.redactor, err, 4)}; check --repo, --branch and the Git credentials (docs/daemon.md#the-git-source)`,
      );
    }
  }
}

/** Files no run reads: a commit changing only these does not stop an apply (Source.supersedes). */
const DOCUMENTATION = /\.(md|markdown|txt|rst|adoc)$/i;

const FETCH_FLAGS = [
  'fetch',
  '--prune',
  '--no-tags',
  '--quiet',
  '--no-auto-maintenance',
  '--no-write-fetch-head',
  '--no-show-forced-updates',
];

/**
 * A sync as one process of the daemon's (`sh -c SYNC sh BRANCH LAST`): each the daemon starts is
 * a fork of it, whose cost grows with its resident memory (moveTo), and the programs this one
 * runs are forks of a small shell. `+` makes the fetch forced: a rewritten branch replaces what
 * we had. Nothing else runs after it (maintenance, FETCH_HEAD): the checkout is poolsync's alone.
 * The head checked out (detached, forced) and whatever is not in it removed, unless it is LAST;
 * prints the head.
 */
const SYNC = [
  // The fetch waited for, so that a timeout's SIGTERM to this shell stops it too.
  'trap \'kill "$fetch" 2>/dev/null; exit 143\' TERM',
  `git ${FETCH_FLAGS.join(' ')} origin "+refs/heads/$1:refs/remotes/origin/$1" & fetch=$!`,
  'wait "$fetch" || exit',
  'head=$(git rev-parse --verify "refs/remotes/origin/$1^{commit}") || exit',
  '[ "$head" = "$2" ] || { git checkout --quiet --force --detach "$head" && git clean -ffdxq; } || exit',
  'echo "$head"',
].join('\n');

/**
 * A tip copy (`sh -c COPY sh INDEX COMMIT PREFIX/`): COMMIT's files under PREFIX through the
 * index file INDEX, so neither the clone's index nor any worktree is touched.
 */
const COPY =
  'export GIT_INDEX_FILE="$1" && git read-tree "$2" && exec git checkout-index --all --force --prefix="$3"';

class WorktreeSource implements Source {
  last: SourceSnapshot | null = null;

  constructor(
    private readonly fetcher: GitSource,
    private readonly checkoutDir: string,
    private readonly path: string,
  ) {}

  describe(): Record<string, string> {
    return this.fetcher.describe();
  }

  get stopped(): boolean {
    return this.fetcher.stopped;
  }

  at(commit: string): Promise<SourceSnapshot> {
    return this.fetcher.checkOutAt(`${this.checkoutDir}-rollback`, commit);
  }

  reach(commit: string): Promise<void> {
    return this.fetcher.reach(commit);
  }

  contains(ancestor: string, commit: string): Promise<boolean> {
    return this.fetcher.contains(ancestor, commit);
  }

  tip<T>(read: (snapshot: SourceSnapshot | null) => Promise<T>): Promise<T> {
    return this.fetcher.tip(read, this.checkoutDir);
  }

  clean(): Promise<void> {
    return this.fetcher.clean(this.checkoutDir);
  }

  supersedes(commit: string, reads?: readonly string[] | null): Promise<string | null> {
    return this.fetcher.supersedes(commit, reads);
  }

  async sync(notBefore?: number | 'start'): Promise<SourceSnapshot> {
    const { commit } = await this.fetcher.sync(notBefore);
    if (commit !== null && commit !== this.last?.commit)
      await this.fetcher.checkOut(this.checkoutDir, commit);
    this.last = { dir: join(this.checkoutDir, this.path), commit, root: this.checkoutDir };
    return this.last;
  }
}

/** The checkouts beside the source's that nothing needs now (Source.clean); what stays is said. */
export async function cleanBeside(
  source: Source,
  logger: Pick<Logger, 'warn'>,
  redactor: Redactor,
): Promise<void> {
  await source
    .clean?.()
    .catch((err: unknown) =>
      logger.warn(
        { err: redactor.errorMessage(err) },
        'checkouts beside the branch’s left in place',
      ),
    );
}

/** `--watch DIR`: the folder as it is on disk. */
export class FolderSource implements Source {
  last: SourceSnapshot | null = null;
  constructor(private readonly dir: string) {}

  describe(): Record<string, string> {
    return { kind: 'watch', dir: this.dir };
  }

  async sync(): Promise<SourceSnapshot> {
    if (!existsSync(this.dir))
      throw new SourceError(`the watched folder ${this.dir} does not exist`);
    this.last = { dir: this.dir, commit: null, root: this.dir };
    return this.last;
  }
}
