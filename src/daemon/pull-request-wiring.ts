/**
 * The daemon's pull-request side, wired to its units (unit.ts): plan comments on pull requests
 * (pull-requests.ts; with environments one comment with a section per environment) and
 * approvals by `poolsync apply` comments (comment-approvals.ts; with environments
 * `poolsync apply -e NAME` approves that environment's held changes).
 */
import { createApprovalForge, type ApprovalForge } from '../vcs/approvers.js';
import type { SettingsNeed } from '../model/live.js';
import type { Provider } from '../vcs/types.js';
import {
  commentApprovalHandler,
  environmentTarget,
  soleTarget,
  type ApprovalTarget,
} from './comment-approvals.js';
import type { DaemonConfig } from './config.js';
import type { Logger } from 'pino';
import type { TriggerReason } from './loop.js';
import { forgeTargets, PostedPlans, pullRequestHandlerForDaemon } from './pull-requests.js';
import type { Unit } from './unit.js';
import type { CommentEvent, PullRequestEvent } from './webhooks.js';

export interface PullRequestWiring {
  onPullRequest: ((e: PullRequestEvent) => Promise<void>) | null | undefined;
  onComment: ((e: CommentEvent) => Promise<void>) | undefined;
  forges: Map<Provider, { repository: string; forge: ApprovalForge }>;
}

export function pullRequestWiring(
  config: DaemonConfig,
  deps: { logger: Logger; onPullRequest?: (event: PullRequestEvent) => Promise<void> },
  units: Unit[],
  requestAll: (reason: TriggerReason) => Promise<void>,
): PullRequestWiring {
  const single = units.length === 1 && units[0]!.name === null ? units[0]! : null;
  const readLive = (u: Unit) => (need?: SettingsNeed) =>
    u.controlPlane.read((cp) => u.pipeline.readLiveState(cp, need));
  const posted = new PostedPlans();
  const backend = single?.backend();
  const controlPlane = single?.identity();
  const own = deps.onPullRequest
    ? null
    : pullRequestHandlerForDaemon({
        config,
        readLiveState: single ? readLive(single) : () => Promise.reject(new Error('environments')),
        ...(backend ? { backend } : {}),
        ...(controlPlane ? { controlPlane } : {}),
        logger: deps.logger,
        posted,
        ...(single
          ? {}
          : {
              environments: units.map((u) => ({
                name: u.name!,
                readLiveState: readLive(u),
                backend: () => u.backend(),
                controlPlane: () => u.identity(),
                policy: u.config.policy,
              })),
            }),
      });
  const onPullRequest = deps.onPullRequest ?? own;
  // Approval by `poolsync apply` comments: on where plan comments are (their token and repository).
  const forges = approvalForges(config);
  const targetOf = (u: Unit): Omit<ApprovalTarget, 'environment'> => ({
    approvals: u.approvals,
    readLiveState: readLive(u),
    requestReconcile: () => void (single ? requestAll('manual') : u.request('manual')),
  });
  const onComment =
    forges.size > 0 && !deps.onPullRequest
      ? commentApprovalHandler({
          posted,
          ...(own && !single ? { recover: own.recover } : {}),
          forges,
          target: single
            ? soleTarget(targetOf(single))
            : environmentTarget(new Map(units.map((u) => [u.name!, targetOf(u)]))),
          logger: deps.logger,
        })
      : undefined;
  return { onPullRequest, onComment, forges };
}

/** The forge of each provider plan comments are on, for approvals by comment. */
function approvalForges(config: DaemonConfig): PullRequestWiring['forges'] {
  return new Map(
    [...forgeTargets(config)].map(([provider, t]) => [
      provider,
      {
        repository: t.repository,
        forge: createApprovalForge({
          provider,
          repository: t.repository,
          token: t.token,
          retry: t.retry,
          ...(t.apiUrl ? { apiUrl: t.apiUrl } : {}),
        }),
      },
    ]),
  );
}
