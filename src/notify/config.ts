/**
 * Where the daemon's notification destinations come from: their URLs are secrets (a Slack
 * webhook URL is its own credential), so they are read from a file (`--notify-slack-url-file`,
 * env POOLSYNC_NOTIFY_SLACK_URL_FILE) or from the environment (POOLSYNC_NOTIFY_SLACK_URL),
 * never from a flag value, and never appear in logs or errors.
 */
import type { InferredOptionTypes, Options } from 'yargs';
import type { PlanCounts } from '../plan/counts.js';
import type { RenderedChange } from '../render/rendered-files.js';
import { readUserFile, SECRET_FILE_BYTES } from '../util/safe-file.js';
import { rememberSecret } from '../util/redact.js';
import { UserError } from '../util/user-error.js';
import { wholeNumber } from '../util/option-values.js';

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
  /** One line for people, with counts or the error. */
  message: string;
  commit: string | null;
  /** Repository and branch, or folder. */
  source: Record<string, string>;
  run: number;
  at: string;
  /** src/plan/counts.ts. */
  applied: Omit<PlanCounts, 'blocked'>;
  /** applied, drift-corrected: the first LISTED_OBJECTS changed (`update Queue/batch`, `… (side effect)`). */
  changed: string[];
  changed_total: number;
  /** held-for-approval: the changes waiting (`replace Cluster/x`), the first LISTED_OBJECTS. */
  waiting_for_approval: string[];
  waiting_total: number;
  /** failed: the first errors (file:line:col or address, code, message). */
  errors: string[];
  /** The generated files the commit changes, which no API sends: the message says what to do. */
  rendered_files: readonly RenderedChange[];
}

export interface Destination {
  kind: 'slack' | 'webhook';
  /** A secret: never logged, never in an error message. */
  url: string;
  /** Where the URL came from (`env POOLSYNC_NOTIFY_SLACK_URL`, `file /run/secrets/slack`): what logs name. */
  origin: string;
}

const GROUP = 'Notifications:';

export const notifyOptions = {
  'notify-slack-url-file': {
    type: 'string',
    group: GROUP,
    describe:
      'File holding a Slack (or compatible) incoming-webhook URL [env POOLSYNC_NOTIFY_SLACK_URL_FILE, or the URL in POOLSYNC_NOTIFY_SLACK_URL]',
  },
  'notify-webhook-url-file': {
    type: 'string',
    group: GROUP,
    describe:
      'File holding the URL of a webhook that receives each event as JSON [env POOLSYNC_NOTIFY_WEBHOOK_URL_FILE, or POOLSYNC_NOTIFY_WEBHOOK_URL]',
  },
  'notify-on': {
    type: 'string',
    group: GROUP,
    describe: `Events to send, comma-separated: ${NOTIFY_EVENTS.join(', ')} (default: all) [env POOLSYNC_NOTIFY_ON]`,
  },
  'notify-max-per-minute': {
    type: 'string',
    coerce: wholeNumber('notify-max-per-minute', 1),
    group: GROUP,
    describe:
      'Most notifications per destination per minute; more are dropped and counted (default 10) [env POOLSYNC_NOTIFY_MAX_PER_MINUTE]',
  },
} as const satisfies Record<string, Options>;

export type NotifyArgs = Partial<InferredOptionTypes<typeof notifyOptions>>;

type Env = Record<string, string | undefined>;

export async function resolveNotifyConfig(args: NotifyArgs, env: Env) {
  const destinations: Destination[] = [];
  for (const [kind, flag, name] of [
    ['slack', 'notify-slack-url-file', 'SLACK'],
    ['webhook', 'notify-webhook-url-file', 'WEBHOOK'],
  ] as const) {
    const d = await destination(kind, args[flag], env, `POOLSYNC_NOTIFY_${name}_URL`);
    if (d) destinations.push(d);
  }
  const onText = args['notify-on'] ?? env.POOLSYNC_NOTIFY_ON;
  const events = onText
    ? onText
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)
    : [...NOTIFY_EVENTS];
  for (const e of events) {
    if (!(NOTIFY_EVENTS as readonly string[]).includes(e))
      throw new UserError(
        `--notify-on: unknown event ${JSON.stringify(e)}; the events are ${NOTIFY_EVENTS.join(', ')}`,
      );
  }
  const maxText = args['notify-max-per-minute'] ?? env.POOLSYNC_NOTIFY_MAX_PER_MINUTE;
  const maxPerMinute = maxText === undefined ? 10 : Number(maxText);
  if (!Number.isInteger(maxPerMinute) || maxPerMinute < 1)
    throw new UserError(
      `POOLSYNC_NOTIFY_MAX_PER_MINUTE must be a whole number of at least 1, got ${String(maxText)}`,
    );
  return { destinations, events: events as NotifyEventKind[], maxPerMinute };
}

async function destination(
  kind: Destination['kind'],
  flagFile: string | undefined,
  env: Env,
  envName: string,
): Promise<Destination | null> {
  const file = flagFile ?? env[`${envName}_FILE`];
  let url: string;
  let origin: string;
  if (file !== undefined && file !== '') {
    origin = `${kind} (file ${file})`;
    const what = `the ${kind} notification URL file`;
    url = (await readUserFile(file, { maxBytes: SECRET_FILE_BYTES, what })).toString().trim();
  } else if (env[envName]) {
    origin = `${kind} (env ${envName})`;
    url = env[envName].trim();
  } else return null;
  rememberSecret(url, `the ${origin} notification URL`);
  const protocol = URL.canParse(url) ? new URL(url).protocol : null;
  if (protocol !== 'https:' && protocol !== 'http:')
    throw new UserError(
      `the ${origin} notification URL is not an http(s) URL (its value is a secret and is not shown): put only the URL in it`,
    );
  return { kind, url, origin };
}
