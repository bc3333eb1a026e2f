/** What the daemon tells people about (Argo CD notifications, Flux's notification-controller). */
export const NOTIFY_EVENTS = ['applied', 'failed', 'held-for-approval', 'drift-corrected'] as const;
export type NotifyEventKind = (typeof NOTIFY_EVENTS)[number];

export interface NotifyEvent {
  event: NotifyEventKind;
  /** One line for people: what happened, with counts or the error. */
  message: string;
  commit: string | null;
  /** The daemon's source (repository and branch, or folder). */
  source: Record<string, string>;
  /** The reconcile run that produced it. */
  run: number;
  at: string;
  applied: { create: number; update: number; replace: number; delete: number };
  /** held-for-approval: the changes waiting (`replace Cluster/x`). */
  waiting_for_approval: string[];
  /** failed: the first errors (file:line:col or address, code, message). */
  errors: string[];
}

export type DestinationKind = 'slack' | 'webhook';

export interface Destination {
  kind: DestinationKind;
  /** A secret: never logged, never in an error message. */
  url: string;
  /** Where the URL came from (`env POOLSYNC_NOTIFY_SLACK_URL`, `file /run/secrets/slack`): what logs name. */
  origin: string;
}
