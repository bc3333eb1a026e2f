/**
 * The daemon's pull-request path: on a pull/merge request event for the configured
 * repository, fetch the head commit into a work dir of its own, validate and plan it against
 * live state, and upsert the sticky comment and commit status. It never applies anything.
 *
 * Events run one at a time (one checkout); a redelivered event for a commit already queued is
 * dropped. Each plans the pull request's head as the forge reads it when its turn comes: a late
 * or redelivered event of an older commit never puts that commit's plan back on the pull request.
 */
import { join } from 'node:path';
import { checkoutClient, gitError, type GitRemote } from '../util/git-env.js';
import { runGit } from '../util/git.js';
import { Redactor, scrubUrlUserinfo } from '../util/redact.js';
import { commentKey } from './comment.js';
import { createApprovalForge } from './forges.js';
import {
  notPosted,
  publishNotPlanned,
  publishPlan,
  publishStatus,
  type Posted,
  type PublishResult,
  type Seal,
} from './publish.js';
import {
  VcsApiError,
  type ForgeRepository,
  type Provider,
  type PublishOutcome,
  type PullRequestEvent,
} from './types.js';

export interface HandlerLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  debug(obj: object, msg: string): void;
}

/** `repository`: events for other repositories are ignored. */
export interface PullRequestHandlerOptions extends ForgeRepository {
  git: CheckoutGit;
  /** Folder of the manifests inside the repository (`.` for the root). */
  path: string;
  logger: HandlerLogger;
  /** publish.ts planOutcome. */
  plan: (dir: string, commit: string) => Promise<PublishOutcome>;
  /** Before the commit status is set: a reviewer can read the comment, approvals may name it. */
  onPosted?: (e: PullRequestEvent, posted: Posted) => void;
  /** The daemon's seal of its comments (publish.ts sealed). */
  seal?: Seal;
  /** The branch the daemon follows: a pull request into another one is not planned. */
  branch?: string;
  /** A pull request into another branch: told before its comment says it is not planned. */
  onNotPlanned?: (e: PullRequestEvent) => void;
}

/** The head or the base branch of the pull request may have changed. */
const ACTIONS: Record<Provider, Set<string>> = {
  // `edited` only with a new base branch: webhooks.ts drops other edits.
  github: new Set(['opened', 'synchronize', 'reopened', 'edited']),
  // `update` only with new commits or a new target branch: webhooks.ts drops other updates.
  gitlab: new Set(['open', 'reopen', 'update']),
};

export type PullRequestHandler = ((e: PullRequestEvent) => Promise<void>) & {
  /** Every accepted event handled (tests, shutdown). */
  idle(): Promise<void>;
  /**
   * `plan` on the manifests' folder of `headSha` checked out, in turn with the events: how a
   * replica re-plans a commit whose comment another replica posted.
   */
  atCommit<T>(number: number, headSha: string, plan: (dir: string) => Promise<T>): Promise<T>;
};

export function createPullRequestHandler(opts: PullRequestHandlerOptions): PullRequestHandler {
  const redactor = new Redactor([opts.token, opts.git.auth?.token]);
  const key = commentKey(opts.path);
  const checkedOut = pullRequestCheckout(opts.git, key || '.', redactor);
  let chain: Promise<unknown> = Promise.resolve();
  const inTurn = <T>(run: () => Promise<T>): Promise<T> => {
    const done = chain.then(run);
    chain = done.catch(() => undefined);
    return done;
  };
  const { provider, apiUrl, repository, token, retry } = opts;
  const target = { provider, apiUrl, repository, token, retry };

  /** Merging it applies nothing, so its comment says so instead of a plan (and no status). */
  async function notPlanned(e: PullRequestEvent, base: string, branch: string, log: object) {
    opts.onNotPlanned?.(e);
    published.delete(e.number);
    const comment = await publishNotPlanned({
      ...target,
      number: e.number,
      commit: e.headSha,
      key,
      seal: opts.seal,
      base,
      branch,
    });
    opts.logger.info(
      { ...log, base, branch, comment },
      `${pullRequestName(e)} merges into ${base}, not the followed branch ${branch}: not planned`,
    );
  }

  /** Pending status, checkout + plan, then the sticky comment and final status. */
  async function publish(e: PullRequestEvent): Promise<PublishResult> {
    const pr = { ...target, number: e.number, commit: e.headSha, key };
    try {
      await publishStatus(pr, 'pending', 'Planning…');
    } catch (err) {
      // The final publish reports API problems; a missing pending status is not worth failing for.
      opts.logger.warn(
        { number: e.number, err: redactor.errorMessage(err) },
        'could not set the pending status',
      );
    }
    let outcome: PublishOutcome;
    try {
      outcome = await opts.plan(await checkedOut(e), e.headSha);
    } catch (err) {
      outcome = { kind: 'error', message: redactor.errorMessage(err) };
    }
    try {
      const onCommentPosted = (posted: Posted) => opts.onPosted?.(e, posted);
      return await publishPlan({ ...pr, outcome, onCommentPosted, seal: opts.seal });
    } catch (err) {
      // A rate limit holds every request of the token: the status the failure owes is set at its reset.
      if (err instanceof VcsApiError && err.retryAt !== null)
        endStatusAt(opts, pr, err.retryAt, err);
      throw err;
    }
  }

  /** The head of each pull request whose plan this handler last published. */
  const published = new Map<number, string>();
  const queued = new Set<string>();
  const headOf = async (number: number) => {
    const forge = createApprovalForge(target);
    try {
      return (await forge.pullRequest(number)).headSha;
    } finally {
      await forge.close();
    }
  };
  const handler = async (e: PullRequestEvent): Promise<void> => {
    const log = {
      provider: e.provider,
      repository: e.repository,
      number: e.number,
      commit: e.headSha,
      action: e.action,
    };
    if (!accepted(opts, e, log)) return;
    const { branch } = opts;
    if (branch !== undefined && e.baseRef !== undefined && e.baseRef !== branch) {
      const base = e.baseRef;
      return inTurn(() => notPlanned(e, base, branch, log));
    }
    const id = `${e.number}@${e.headSha}`;
    if (queued.has(id)) {
      opts.logger.debug(log, 'pull request commit already queued: duplicate event dropped');
      return;
    }
    queued.add(id);
    return inTurn(async () => {
      queued.delete(id);
      let head: string;
      try {
        head = await headOf(e.number);
      } catch (err) {
        throw new Error(
          `cannot read the head commit of ${pullRequestName(e)} to plan it, so its plan comment is unchanged (redeliver the event or push again): ${redactor.errorMessage(err)}`,
        );
      }
      if (head !== e.headSha) {
        // Its own event (waiting) or an earlier one planned the head already.
        const planned = published.get(e.number) === head || queued.has(`${e.number}@${head}`);
        opts.logger.info(
          { ...log, head },
          planned
            ? `pull request event superseded: the pull request is at ${head.slice(0, 12)}, whose plan is posted or queued; skipped`
            : `pull request event of a commit that is no longer the head: planning the head ${head.slice(0, 12)} instead`,
        );
        if (planned) return;
      }
      const r = await publish({ ...e, headSha: head });
      published.set(e.number, head);
      opts.logger.info(
        { ...log, commit: head, comment: r.comment, status: r.status, url: r.commentUrl },
        `plan published to the pull request: ${r.description}`,
      );
    });
  };

  const atCommit = <T>(number: number, headSha: string, run: (dir: string) => Promise<T>) =>
    inTurn(async () => {
      try {
        return await run(await checkedOut({ provider: opts.provider, number, headSha }));
      } catch (err) {
        throw new Error(redactor.errorMessage(err));
      }
    });
  return Object.assign(handler, { idle: () => chain.then(() => undefined), atCommit });
}

/** Set once a rate limit resets at `at` (a timer that never holds the process). */
function endStatusAt(
  opts: PullRequestHandlerOptions,
  pr: Parameters<typeof publishStatus>[0],
  at: number,
  err: unknown,
): void {
  const clock = opts.retry?.clock;
  const wait = Math.max(0, at - (clock?.now() ?? Date.now()));
  const reset = clock ? clock.sleep(wait) : new Promise((r) => setTimeout(r, wait).unref());
  void reset
    .then(() => publishStatus(pr, 'error', notPosted(err)))
    .catch((late: unknown) =>
      opts.logger.warn(
        { number: pr.number, err: (late as Error).message },
        'could not end the status',
      ),
    );
}

function accepted(opts: PullRequestHandlerOptions, e: PullRequestEvent, log: object): boolean {
  if (
    e.provider !== opts.provider ||
    !sameRepository(opts.provider, e.repository, opts.repository)
  ) {
    opts.logger.debug(log, 'pull request event for another repository: ignored');
    return false;
  }
  if (!ACTIONS[e.provider].has(e.action)) {
    opts.logger.debug(log, `pull request action ${e.action} does not change the head: ignored`);
    return false;
  }
  if (!/^[0-9a-f]{7,64}$/i.test(e.headSha) || !Number.isInteger(e.number) || e.number < 1) {
    opts.logger.warn(log, 'pull request event without a valid number or head commit: ignored');
    return false;
  }
  return true;
}

function sameRepository(provider: Provider, event: string, configured: string): boolean {
  // GitLab webhooks carry the path; a numeric project id cannot be compared, so it matches.
  if (provider === 'gitlab' && /^\d+$/.test(configured)) return true;
  return event.toLowerCase() === configured.toLowerCase();
}

export interface CheckoutGit extends GitRemote {
  /** Never the daemon's checkout of the followed branch. */
  workDir: string;
}

type Checked = Pick<PullRequestEvent, 'provider' | 'number' | 'headSha'>;

/**
 * `checkedOut(e)`: the manifests' folder in `e`'s head, checked out detached and cleaned. Git
 * runs directly (runGit) once the clone is set up: simple-git waited 50 ms after each command
 * that printed nothing (the quiet fetch, the checkout, the clean: 100-150 ms an event).
 */
export function pullRequestCheckout(
  git: CheckoutGit,
  repoPath: string,
  redactor: Redactor,
): (e: Checked) => Promise<string> {
  const checkout = join(git.workDir, 'checkout');
  let env: Record<string, string> | null = null;

  return async (e) => {
    env ??= (await checkoutClient({ ...git, dir: checkout })).env;
    const run = (args: string[]) =>
      runGit(args, { cwd: checkout, env: env!, timeoutMs: git.timeoutMs });
    await fetchHead(run, e, git.repo, redactor);
    await run(['checkout', '--quiet', '--force', '--detach', e.headSha]);
    await run(['clean', '-ffdxq']);
    return repoPath === '.' ? checkout : join(checkout, repoPath);
  };
}

const pullRequestName = (e: Pick<PullRequestEvent, 'provider' | 'number'>) =>
  e.provider === 'github' ? `pull request #${e.number}` : `merge request !${e.number}`;

type Git = (args: string[]) => Promise<string>;

function hasCommit(run: Git, sha: string): Promise<boolean> {
  return run(['cat-file', '-e', `${sha}^{commit}`]).then(
    () => true,
    () => false,
  );
}

/** The forge's pull-request ref first, then the SHA itself. */
async function fetchHead(run: Git, e: Checked, repo: string, redactor: Redactor): Promise<void> {
  if (await hasCommit(run, e.headSha)) return;
  const ref =
    e.provider === 'github' ? `refs/pull/${e.number}/head` : `refs/merge-requests/${e.number}/head`;
  const errors: string[] = [];
  for (const spec of [`+${ref}:refs/poolsync/pr/${e.number}`, e.headSha]) {
    try {
      await run(['fetch', '--no-tags', '--quiet', 'origin', spec]);
      if (await hasCommit(run, e.headSha)) return;
    } catch (err) {
      errors.push(gitError(redactor, err, 3));
    }
  }
  throw new Error(
    `cannot fetch commit ${e.headSha} of ${pullRequestName(e)} from ${scrubUrlUserinfo(repo)}` +
      (errors.length
        ? `: ${errors.join('; ')}`
        : ': the commit is not on the pull request ref (a newer push replaced it?)'),
  );
}
