/** What the daemon tells people about (Argo CD notifications, Flux's notification-controller). */
export const NOTIFY_EVENTS = [
  'applied',
  'failed',
  'recovered',
  'held-for-approval',
  'drift-corrected',
] as const;
export type NotifyEventKind = (typeof NOTIFY_EVENTS)[number];

/** At most this many objects are named in one event (`*_total` counts them all). */
export const LISTED_OBJECTS = 20;

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
  /** The plan's one count of what the run applied (src/plan/counts.ts). */
  applied: {
    create: number;
    update: number;
    replace: number;
    delete: number;
    side_effects: number;
  };
  /**
   * applied, drift-corrected: the objects changed (`update Queue/batch`; a side effect the
   * control plane made ends `(side effect)`), the first LISTED_OBJECTS.
   */
  changed: string[];
  changed_total: number;
  /** held-for-approval: the changes waiting (`replace Cluster/x`), the first LISTED_OBJECTS. */
  waiting_for_approval: string[];
  waiting_total: number;
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
