/**
 * The pull-request handler's own checkout (never the daemon's checkout of the followed branch):
 * a pull request's head commit fetched (the forge's pull-request ref first, then the SHA
 * itself), checked out detached and cleaned; the answer is the manifests' folder in it.
 */
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { simpleGit, type SimpleGit } from 'simple-git';
import { gitEnvironment, type GitAuth } from '../util/git-env.js';
import { scrubUrlUserinfo, type Redactor } from '../util/redact.js';
import type { PullRequestEvent } from './types.js';

export interface CheckoutGit {
  /** Clone URL of the config repository (the daemon's --repo). */
  repo: string;
  auth?: GitAuth;
  /** A work dir of its own. */
  workDir: string;
  timeoutMs?: number;
  env?: Record<string, string | undefined>;
}

/** `checkedOut(e)`: the folder of the manifests at `e.headSha`. */
export function pullRequestCheckout(
  git: CheckoutGit,
  repoPath: string,
  redactor: Redactor,
): (e: PullRequestEvent) => Promise<string> {
  const checkout = join(git.workDir, 'checkout');
  let client_: SimpleGit | null = null;

  async function client(): Promise<SimpleGit> {
    if (client_) return client_;
    await mkdir(checkout, { recursive: true });
    const g = (client_ = checkoutClient(git, checkout));
    if (!existsSync(join(checkout, '.git'))) await g.init();
    const remotes = await g.getRemotes(true);
    const origin = remotes.find((r) => r.name === 'origin');
    if (!origin) await g.addRemote('origin', git.repo);
    else if (origin.refs.fetch !== git.repo) await g.remote(['set-url', 'origin', git.repo]);
    return g;
  }

  async function checkedOut(e: PullRequestEvent): Promise<string> {
    const g = await fetchHead(await client(), e, git.repo, redactor);
    await g.raw(['checkout', '--quiet', '--force', '--detach', e.headSha]);
    await g.raw(['clean', '-ffdxq']);
    return repoPath === '.' ? checkout : join(checkout, repoPath);
  }

  return checkedOut;
}

/** simple-git in `checkout`, with the repository's credentials in its environment. */
function checkoutClient(git: CheckoutGit, checkout: string): SimpleGit {
  return simpleGit({
    baseDir: checkout,
    timeout: { block: git.timeoutMs ?? 120_000 },
    unsafe: { allowUnsafeSshCommand: true, allowUnsafeConfigEnvCount: true },
  }).env(
    gitEnvironment(
      git.repo,
      git.auth ?? {
        token: null,
        username: 'x-access-token',
        sshKeyFile: null,
        sshKnownHostsFile: null,
      },
      git.env ?? process.env,
      checkout,
    ),
  );
}

async function hasCommit(g: SimpleGit, sha: string): Promise<boolean> {
  try {
    await g.raw(['cat-file', '-e', `${sha}^{commit}`]);
    return true;
  } catch {
    return false;
  }
}

/** Brings the head commit in: the forge's pull-request ref first, then the SHA itself. */
async function fetchHead(
  g: SimpleGit,
  e: PullRequestEvent,
  repo: string,
  redactor: Redactor,
): Promise<SimpleGit> {
  if (await hasCommit(g, e.headSha)) return g;
  const ref =
    e.provider === 'github' ? `refs/pull/${e.number}/head` : `refs/merge-requests/${e.number}/head`;
  const errors: string[] = [];
  for (const spec of [`+${ref}:refs/poolsync/pr/${e.number}`, e.headSha]) {
    try {
      await g.raw(['fetch', '--no-tags', '--quiet', 'origin', spec]);
      if (await hasCommit(g, e.headSha)) return g;
    } catch (err) {
      errors.push(explainGit(redactor, err));
    }
  }
  throw new Error(
    `cannot fetch commit ${e.headSha} of ${e.provider === 'github' ? 'pull request #' : 'merge request !'}${e.number} from ${scrubUrlUserinfo(repo)}` +
      (errors.length
        ? `: ${errors.join('; ')}`
        : ': the commit is not on the pull request ref (a newer push replaced it?)'),
  );
}

function explainGit(redactor: Redactor, err: unknown): string {
  const lines = redactor
    .errorMessage(err)
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('hint:'));
  const important = lines.filter((l) => /^(fatal|error|remote):/i.test(l));
  return (important.length ? important : lines).slice(0, 3).join(' ') || 'unknown git error';
}
