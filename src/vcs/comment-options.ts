/**
 * The `--comment` options of `poolsync plan`, apart from the code that posts (cli-options.ts),
 * so that a plan without `--comment` never loads the HTTP and Git clients.
 */
import type { InferredOptionTypes, Options } from 'yargs';
import { wholeNumber } from '../util/option-values.js';

const GROUP = 'Pull-request comment:';

export const pullRequestCommentOptions = {
  comment: {
    type: 'string',
    choices: ['github', 'gitlab'],
    group: GROUP,
    describe:
      'Post the plan as the sticky comment of a pull request (GitHub) or merge request (GitLab) and set the commit status poolsync/plan (for a folder below the repository root: "poolsync/plan: FOLDER"). Token from GITHUB_TOKEN / GITLAB_TOKEN.',
  },
  pr: {
    type: 'string',
    coerce: wholeNumber('pr', 1),
    group: GROUP,
    describe:
      'Pull request number / merge request iid (default in CI: from the GitHub event, or CI_MERGE_REQUEST_IID)',
  },
  repo: {
    type: 'string',
    group: GROUP,
    describe:
      'owner/name on GitHub; project id or path on GitLab (default in CI: GITHUB_REPOSITORY / CI_PROJECT_ID)',
  },
  'api-url': {
    type: 'string',
    group: GROUP,
    describe:
      'API base URL for GitHub Enterprise (https://HOST/api/v3) or self-managed GitLab (https://HOST/api/v4); default in CI: GITHUB_API_URL / CI_API_V4_URL',
  },
  commit: {
    type: 'string',
    group: GROUP,
    describe:
      'Commit the plan is for, which gets the status (default: the pull request head in CI, else `git rev-parse HEAD` of DIR)',
  },
} as const satisfies Record<string, Options>;

/** With the plan command's DIR positional. */
export type CommentArgs = Partial<InferredOptionTypes<typeof pullRequestCommentOptions>> & {
  dir?: string;
  /** DIR as the user named it when `dir` is a temporary copy (`--at`): its folder is the key. */
  shown?: string;
  /** The option that named the forge, for messages (default `--comment`). */
  flag?: '--comment' | '--policy-approvals';
};
