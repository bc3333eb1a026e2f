/**
 * `poolsync plan … --comment github|gitlab`: the target resolved from flags, the CI
 * environment and Git, and one call that posts the outcome. The token comes from GITHUB_TOKEN /
 * GITLAB_TOKEN only (never a flag); in GitHub Actions and GitLab CI the repository, pull
 * request, API URL and head commit default to what the CI environment says.
 */
import { UserError } from '../util/user-error.js';
import { gitAnswer } from '../util/git.js';
import type { Env } from '../util/env.js';
import { rateLimitWait } from './http.js';
import { transportLimits } from '../util/transport-limits.js';
import { githubEventPullRequest, githubEventUnread } from '../ops/open-target.js';
import type { CommentArgs } from './comment-options.js';
import { publishPlan, type PublishResult } from './publish.js';
import {
  PROVIDER_NAMES,
  VcsApiError,
  VcsConfigError,
  type Provider,
  type PublishOutcome,
  type PullRequestRef,
} from './types.js';
import { headerToken } from '../util/bound-secret.js';
import { rememberSecret } from '../util/redact.js';

export interface CommentTarget extends PullRequestRef {
  commit: string;
  /** Inside the Git repository ('' for its root): one comment per folder. */
  key: string;
}

const TOKEN_ENV: Record<Provider, string> = { github: 'GITHUB_TOKEN', gitlab: 'GITLAB_TOKEN' };

/** `number` as CI gives it: a pull request number read from JSON, or a variable's text. */
type CiDefaults = Partial<Pick<CommentTarget, 'repository' | 'apiUrl' | 'commit'>> & {
  number?: unknown;
};

function ciDefaults(provider: Provider, env: Env): CiDefaults {
  const nonEmpty = (v: string | undefined) => (v && v.trim() !== '' ? v.trim() : undefined);
  if (provider === 'github') {
    if (env.GITHUB_ACTIONS !== 'true') return {};
    // Not a pull-request event, or unreadable: the flags must say.
    const pr = githubEventPullRequest(env);
    return {
      repository: nonEmpty(env.GITHUB_REPOSITORY),
      apiUrl: nonEmpty(env.GITHUB_API_URL),
      number: pr?.number,
      // The checkout of a pull_request run is a merge commit; the status belongs on the head.
      commit: pr?.head?.sha as string | undefined,
    };
  }
  if (env.GITLAB_CI !== 'true') return {};
  const iid = nonEmpty(env.CI_MERGE_REQUEST_IID);
  return {
    repository: nonEmpty(env.CI_PROJECT_ID),
    apiUrl: nonEmpty(env.CI_API_V4_URL),
    number: iid !== undefined && /^\d+$/.test(iid) ? Number(iid) : iid,
    // Merged-results pipelines build a merge commit; the source branch head is the MR's commit.
    commit: nonEmpty(env.CI_MERGE_REQUEST_SOURCE_BRANCH_SHA) ?? nonEmpty(env.CI_COMMIT_SHA),
  };
}

/** Null outside a Git work tree; `head` null in one with no commit yet (`git init` only). */
async function gitFacts(dir: string): Promise<{ head: string | null; prefix: string } | null> {
  const [head, prefix] = await Promise.all([
    gitAnswer(['rev-parse', 'HEAD'], { cwd: dir }),
    gitAnswer(['rev-parse', '--show-prefix'], { cwd: dir }),
  ]);
  return prefix === null
    ? null
    : { head: head?.trim() || null, prefix: prefix.trim().replace(/\/+$/, '') };
}

/**
 * Why CI gave no pull request number: the job runs for something else. A plan's comment belongs
 * to a pull request's job; an apply after the merge names the merged one.
 */
function notForPullRequest(provider: Provider, flag: CommentArgs['flag'], env: Env): string {
  const fix =
    flag === '--policy-approvals'
      ? 'pass --pr N, the one whose comments approve (the merged one)'
      : provider === 'github'
        ? 'run the job `on: pull_request` (examples/github-actions/poolsync-plan.yml), or pass --pr N'
        : 'run the job in merge request pipelines (examples/gitlab-ci/.gitlab-ci.yml), or pass --pr N';
  if (provider === 'github' && env.GITHUB_ACTIONS === 'true') {
    const name = env.GITHUB_EVENT_NAME;
    // A pull request's run whose event cannot be read (a container without the file).
    const unread = (!name || name.startsWith('pull_request')) && githubEventUnread(env);
    if (unread)
      return `: ${unread}, so this run's pull request is unknown; in a container, pass the file in (-e GITHUB_EVENT_PATH -v "$GITHUB_EVENT_PATH:$GITHUB_EVENT_PATH"), or pass --pr N`;
    return `: this run is not for a pull request${name ? ` (it is for ${name})` : ''}; ${fix}`;
  }
  if (provider === 'gitlab' && env.GITLAB_CI === 'true')
    return `: this pipeline is not for a merge request (CI_MERGE_REQUEST_IID is unset); ${fix}`;
  return '';
}

/** A UserError says what is missing. */
export async function resolveCommentTarget(argv: CommentArgs, env: Env): Promise<CommentTarget> {
  const provider = argv.comment;
  const flag = argv.flag ?? '--comment';
  if (provider !== 'github' && provider !== 'gitlab')
    throw new UserError(`${flag} must be github or gitlab, got ${JSON.stringify(provider)}.`);
  const name = PROVIDER_NAMES[provider];
  const tokenVar = TOKEN_ENV[provider];
  const token = env[tokenVar]?.trim();
  if (!token)
    throw new UserError(
      `${flag} ${provider} needs a ${name} token in the ${tokenVar} environment variable (it is never read from a flag).`,
    );
  rememberSecret(token, tokenVar);
  headerToken(token, tokenVar);
  const ci = ciDefaults(provider, env);
  const repository = argv.repo ?? ci.repository;
  const github = provider === 'github';
  if (!repository)
    throw new UserError(
      `${flag} ${provider} needs --repo (${github ? 'owner/name' : 'the project id or path'}); ${github ? 'GitHub Actions gives it (GITHUB_REPOSITORY)' : 'GitLab CI gives it (CI_PROJECT_ID)'}, elsewhere pass it.`,
    );
  const number = argv.pr ?? ci.number;
  if (typeof number !== 'number' || !Number.isInteger(number) || number < 1)
    throw new UserError(
      `${flag} ${provider} needs --pr, the ${github ? 'pull request number' : 'merge request iid'} (a positive integer)${number !== undefined ? `, got ${String(number)}` : ''}${number === undefined ? notForPullRequest(provider, flag, env) : ''}.`,
    );
  const dir = argv.shown ?? argv.dir ?? '.';
  const git = await gitFacts(dir);
  const commit = argv.commit ?? ci.commit ?? git?.head;
  if (!commit)
    throw new UserError(
      `${flag} needs the commit the plan is for: ${git ? `the Git repository of ${dir} has no commit yet; commit the manifests first, or` : `${dir} is not inside a Git repository, so`} pass --commit SHA.`,
    );
  if (!/^[0-9a-f]{7,64}$/i.test(commit))
    throw new UserError(
      `--commit must be a commit SHA (hexadecimal), got ${JSON.stringify(commit)}.`,
    );
  let deadlineMs: number;
  try {
    deadlineMs = rateLimitWait(env);
  } catch (err) {
    throw new UserError((err as Error).message);
  }
  return {
    provider,
    repository,
    number,
    apiUrl: argv['api-url'] ?? ci.apiUrl,
    commit,
    key: git?.prefix ?? '',
    token,
    retry: { deadlineMs, limits: transportLimits({}, env) },
  };
}

/** Null without `--comment`. API and configuration failures become UserErrors (message only). */
export async function publishFromCliArgs(
  argv: CommentArgs,
  outcome: PublishOutcome,
  env: Env,
): Promise<PublishResult | null> {
  if (argv.comment === undefined) return null;
  const target = await resolveCommentTarget(argv, env);
  try {
    return await publishPlan({ ...target, outcome });
  } catch (err) {
    if (err instanceof VcsApiError || err instanceof VcsConfigError)
      throw new UserError(err.message);
    throw err;
  }
}

export function describePublish(r: PublishResult): string {
  const where = r.commentUrl ? `: ${r.commentUrl}` : '';
  return `Plan comment ${r.comment}${where}; status "${r.context}": ${r.status} (${r.description}).`;
}
