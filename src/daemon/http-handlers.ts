/** What the daemon's HTTP surface (http.ts) asks of the daemon: its state, triggers and secrets. */
import type { Logger } from 'pino';
import type { ApprovalAnswer } from './approvals.js';
import type { DashboardHandler } from './dashboard/handler.js';
import type { Follower } from './forward.js';
import type { TriggerReason } from './loop.js';
import type { DaemonMetrics } from './metrics.js';
import type { DaemonStatus } from './status.js';
import type { CommentEvent, PullRequestEvent } from './webhooks.js';

/** Largest request body a route reads unless `bodyLimit` says otherwise. */
export const DEFAULT_BODY_LIMIT = 2 * 1024 * 1024;

export interface HttpHandlers {
  status(): DaemonStatus;
  /**
   * GET /status without `?local=1`, when it needs more than this replica's state (with
   * environments and several replicas: each environment as its leader says); else `status()`.
   */
  fullStatus?(): Promise<DaemonStatus>;
  ready(): boolean;
  metrics: DaemonMetrics;
  /** Asks the loop for a run; resolves when that run finished. */
  requestReconcile(reason: TriggerReason): Promise<void>;
  githubWebhookSecret: string | null;
  gitlabWebhookToken: string | null;
  reconcileToken: string | null;
  /** The followed branch (null in --watch mode: pushes are ignored). */
  branch: string | null;
  onPullRequest?: (event: PullRequestEvent) => Promise<void>;
  /** `poolsync apply` comments on pull/merge requests (approvals, comment-approvals.ts). */
  onComment?: (event: CommentEvent) => Promise<void>;
  /** Bearer token of POST /approve (null: approvals by API are off). */
  adminToken: string | null;
  /** POST /approve: approve exactly this fingerprint (approvals.ts). */
  approve(request: { fingerprint: string; approver: string; environment?: string }): ApprovalAnswer;
  /**
   * With --leader-elect: null while this replica leads; else the leader as last observed and
   * where it is reached, for handing requests to it (forward.ts). With environments, the leader
   * of the environment `route` names (an approval), and null for the rest (answered here).
   */
  follower(route?: { environment?: string }): Follower | null;
  /** This replica's identity with --leader-elect (the X-Poolsync-Replica of every answer). */
  replica?: string;
  logger: Logger;
  bodyLimit?: number;
  /** GET / (docs/daemon.md#dashboard); absent: the page is off (--dashboard=false). */
  dashboard?: DashboardHandler;
}
