/** Vocabulary shared by the pull-request integrations (GitHub, GitLab). */
import type { PolicyReport } from '../model/policy.js';
import type { TransportLimits } from '../util/transport-limits.js';
import type { Change, Plan } from '../model/plan.js';
import type { RenderedFilesNote } from '../render/rendered-files.js';
import type { RetryPolicy } from '../util/backoff.js';
import type { Clock } from '../util/clock.js';

export type Provider = 'github' | 'gitlab';

/** Defaults in http.ts ApiClient; `deadlineMs`: one call's longest wait in all. */
export interface RetryTuning extends Partial<RetryPolicy> {
  deadlineMs?: number;
  clock?: Clock;
  /** util/transport-limits.ts. */
  limits?: TransportLimits;
}

export interface ForgeRepository {
  provider: Provider;
  /** Default: the public service's (normalizeGitHubApiUrl, normalizeGitLabApiUrl). */
  apiUrl?: string;
  /** `owner/name` (GitHub); project id (`1234`) or path (`group/subgroup/project`) (GitLab). */
  repository: string;
  /** From GITHUB_TOKEN / GITLAB_TOKEN; never logged, never in errors. */
  token: string;
  retry?: RetryTuning;
}

/** A pull request: its number (GitHub) or merge request iid (GitLab, the `!12` of the web UI). */
export interface PullRequestRef extends ForgeRepository {
  number: number;
}
export const PROVIDER_NAMES = { github: 'GitHub', gitlab: 'GitLab' } as const;
export type ProviderName = (typeof PROVIDER_NAMES)[Provider];

/** The commit status context (GitHub) / name (GitLab) of the repository's root folder (comment.ts statusContext). */
export const STATUS_CONTEXT = 'poolsync/plan';

export type PublishOutcome =
  | EnvironmentOutcome
  /** One outcome per environment (docs/environments.md): one comment, a section each. */
  | { kind: 'environments'; environments: { name: string; outcome: EnvironmentOutcome }[] };

/** What a plan holds for approval (policy `safe`, plan/hold.ts), and the comment approving it. */
export interface HeldNote {
  fingerprint: string;
  changes: readonly Pick<Change, 'action' | 'address'>[];
  /** `poolsync apply`, or `poolsync apply -e NAME`. */
  command: string;
  /** poolsync.yaml `approvers:`'s rule for approving them (docs/daemon.md#approvers); absent: none. */
  approvers?: { rule: string; principals: readonly string[]; lastApplied?: string };
}

export type EnvironmentOutcome =
  /**
   * `held`: what the daemon will hold for approval (policy `safe`), shown first in the comment;
   * `policy`: the daemon's, which the comment's last line words (absent: a CI comment).
   */
  | {
      kind: 'plan';
      plan: Plan;
      held?: HeldNote;
      policy?: 'safe' | 'all' | 'none';
      /**
       * The last applied commit whose policy holds, the pull request's being looser (daemon);
       * `policy` null: not read yet (before the daemon's first fetch), held as `safe`.
       */
      policyLastApplied?: { commit: string; policy: string | null };
      /** What the plan's policies said (docs/policies.md), shown before the plan. */
      policies?: PolicyReport;
      /** The generated files the commit changes: no plan sends them (render/rendered-files.ts). */
      rendered?: RenderedFilesNote;
    }
  | InvalidOutcome
  /** Planning failed for a reason outside the repository (live state unreadable, fetch failed). */
  | { kind: 'error'; message: string };

export interface InvalidOutcome {
  kind: 'invalid';
  errorsText: string;
  errorCount?: number;
}

export type StatusState = 'pending' | 'success' | 'failure' | 'error';

/** GitHub login / GitLab username, and the numeric id when known. */
export interface ForgeUser {
  login: string;
  id: number | null;
}

export interface IssueComment {
  id: number;
  body: string;
  /** In the web UI. */
  url: string | null;
  /** GitHub's `user`, GitLab's `author`; null when the forge names none (a deleted user). */
  author: ForgeUser | null;
  /** GitHub: the slug of the app it was posted through (`performed_via_github_app`), else null. */
  app: string | null;
  /** Its `created_at` (the forge's clock), epoch ms; null when the forge did not say. */
  createdAt: number | null;
  /** Its `updated_at` (the forge's clock), epoch ms; null when the forge did not say. */
  updatedAt: number | null;
}

/** `status` null: no answer came; `retryAt` (epoch ms): a rate limit holds the token until then. */
export class VcsApiError extends Error {
  override readonly name = 'VcsApiError';
  constructor(
    readonly provider: ProviderName,
    readonly status: number | null,
    message: string,
    readonly retryAt: number | null = null,
    /** A time limit fired (util/transport-limits.ts): the forge let the call run out of time. */
    readonly outOfTime = false,
  ) {
    super(message);
  }
}

/** As the daemon parses it from a webhook. */
export interface PullRequestEvent {
  provider: Provider;
  /** `owner/name` (GitHub) or `group/project` (GitLab). */
  repository: string;
  number: number;
  headSha: string;
  headRef: string;
  /** The branch it merges into (GitHub `pull_request.base.ref`, GitLab `target_branch`); absent: unknown. */
  baseRef?: string;
  action: string;
  /** GitHub `closed`: whether it was merged (`pull_request.merged`); GitLab says `merge` instead. */
  merged?: boolean;
  /** GitLab: the project's page (`project.web_url`), which shows a relative URL root. */
  webUrl?: string | null;
}

/** A new comment on a pull/merge request (GitHub `issue_comment`, GitLab `Note Hook`). */
export interface CommentEvent extends Pick<
  PullRequestEvent,
  'provider' | 'repository' | 'number' | 'webUrl'
> {
  body: string;
  user: ForgeUser;
  /** When it was written (its `created_at`, epoch ms): what the pull request showed then counts. */
  createdAt: number | null;
  /** Whether the pull request was open when the comment was written (`issue.state`, `merge_request.state`). */
  open: boolean;
  /** `poolsync apply -e NAME`: the environment the approval is for (comment.ts parseCommentCommand). */
  environment?: string;
  /** `poolsync approve-policies DIGEST WHY` (comment.ts parsePolicyApproval): an owner's release. */
  policies?: { digest: string; why: string };
}

/** A wrong repository name, API URL or pull request number. */
export class VcsConfigError extends Error {
  override readonly name = 'VcsConfigError';
}
