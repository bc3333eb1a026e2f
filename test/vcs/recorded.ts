/**
 * GitHub's recorded webhook payloads (npm @octokit/webhooks-examples, "example webhook payloads
 * contributed by the community", from deliveries of api.github.com), by event and action.
 */
import { createRequire } from 'node:module';
import type { WebhookDefinition } from '@octokit/webhooks-examples';

const definitions = createRequire(import.meta.url)(
  '@octokit/webhooks-examples',
) as WebhookDefinition[];

/** The recorded payloads of `event` (with `action`, when given), as plain objects. */
export function recordedPayloads(event: string, action?: string): Record<string, unknown>[] {
  const examples = (definitions.find((d) => d.name === event)?.examples ?? []) as Record<
    string,
    unknown
  >[];
  const found = examples.filter((p) => action === undefined || p.action === action);
  if (found.length === 0) throw new Error(`no recorded ${event} ${action ?? ''} payload`);
  return found.map((p) => structuredClone(p));
}

type Payload = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/**
 * A recorded `issue_comment` delivery, on pull request `number` of `repository`: the recorded
 * payloads are on an issue, so `issue.pull_request` is set as GitHub sets it on a pull request's.
 */
export function issueCommentPayload(o: {
  repository: string;
  number: number;
  login: string;
  body: string;
  action?: 'created' | 'edited';
  state?: 'open' | 'closed';
  /**
   * Its `created_at` (ISO 8601). By default the next whole second: after anything the local
   * forge (whose timestamps are whole seconds, rounded down) has stamped until now.
   */
  createdAt?: string;
}): Payload {
  const p: Payload = recordedPayloads('issue_comment', o.action ?? 'created')[0]!;
  const html = `https://github.com/${o.repository}/pull/${o.number}`;
  p.repository.full_name = o.repository;
  p.issue.number = o.number;
  p.issue.state = o.state ?? 'open';
  p.issue.pull_request = {
    url: `https://api.github.com/repos/${o.repository}/pulls/${o.number}`,
    html_url: html,
    diff_url: `${html}.diff`,
    patch_url: `${html}.patch`,
    merged_at: null,
  };
  p.comment.body = o.body;
  p.comment.user.login = o.login;
  p.comment.user.id = userId(o.login);
  p.comment.created_at = p.comment.updated_at =
    o.createdAt ?? new Date(Math.ceil((Date.now() + 1) / 1000) * 1000).toISOString();
  return p;
}

/** The numeric id of GitHub user `login` in these payloads and the local forge. */
export function userId(login: string): number {
  let h = 7;
  for (const c of login) h = (h * 31 + c.charCodeAt(0)) % 1_000_000;
  return 10_000 + h;
}

/** A recorded `pull_request` delivery of `action`, at pull request `number` and its head. */
export function pullRequestPayload(o: {
  action: 'opened' | 'synchronize' | 'reopened' | 'closed' | 'edited';
  repository: string;
  number: number;
  headSha: string;
  headRef?: string;
  /** The branch it merges into (the recorded ones: `master`); default `main`, the test daemons'. */
  baseRef?: string;
  /** `edited`: the base branch it merged into before (GitHub's `changes.base.ref.from`). */
  baseFrom?: string;
  /** `closed`: merged (the recorded ones are closed unmerged). */
  merged?: boolean;
}): Payload {
  const recorded = o.action === 'edited' ? 'synchronize' : o.action;
  const p: Payload = recordedPayloads('pull_request', recorded)[0]!;
  p.action = o.action;
  if (o.baseFrom !== undefined) p.changes = { base: { ref: { from: o.baseFrom } } };
  if (o.merged) p.pull_request.merged = true;
  p.number = o.number;
  p.repository.full_name = o.repository;
  p.pull_request.number = o.number;
  p.pull_request.head.sha = o.headSha;
  p.pull_request.head.ref = o.headRef ?? 'feature';
  p.pull_request.base.ref = o.baseRef ?? 'main';
  return p;
}

/**
 * POSTs `payload` as GitHub delivers `event`: signed by @octokit/webhooks-methods (GitHub's own
 * code), under `delivery` (X-GitHub-Delivery; a new one by default, as each event has).
 */
export async function deliverGitHub(
  url: string,
  secret: string,
  event: string,
  payload: unknown,
  delivery: string = crypto.randomUUID(),
): Promise<Response> {
  const { sign } = await import('@octokit/webhooks-methods');
  const raw = JSON.stringify(payload);
  return fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-github-event': event,
      'x-github-delivery': delivery,
      'x-hub-signature-256': await sign(secret, raw),
    },
    body: raw,
  });
}
