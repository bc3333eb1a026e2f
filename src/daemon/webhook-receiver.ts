/**
 * POST /webhook/github and /webhook/gitlab (docs/daemon.md#webhooks): the body read within its
 * limit, the signature or token checked in constant time (webhooks.ts), a follower handing the
 * delivery to the leader, and the outcome counted and answered.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { handOff, webhookHeaders } from './forward.js';
import { DEFAULT_BODY_LIMIT, type HttpHandlers } from './http-handlers.js';
import { readBody, send, TooLarge } from './http-io.js';
import { answerHandOff, relay } from './http-replies.js';
import { handleGithubWebhook, handleGitlabWebhook, type WebhookOutcome } from './webhooks.js';

export async function webhook(
  req: IncomingMessage,
  res: ServerResponse,
  h: HttpHandlers,
  provider: 'github' | 'gitlab',
): Promise<void> {
  const secret = provider === 'github' ? h.githubWebhookSecret : h.gitlabWebhookToken;
  const body = await webhookBody(req, res, h, provider);
  if (body === null) return;
  if (secret === null) {
    h.metrics.webhookDeliveries.inc({ provider, result: 'not_configured' });
    const env =
      provider === 'github' ? 'POOLSYNC_GITHUB_WEBHOOK_SECRET' : 'POOLSYNC_GITLAB_WEBHOOK_TOKEN';
    return send(res, 404, {
      error: `${provider} webhooks are not configured: set ${env} (or ${env}_FILE)`,
    });
  }
  // A delivery a follower verified and handed on carries its signature instead (forward.ts).
  const request = {
    headers: webhookHeaders(provider, secret, req.headers, req.url ?? '', body),
    body,
  };
  const outcome: WebhookOutcome =
    provider === 'github'
      ? handleGithubWebhook(request, { secret, branch: h.branch })
      : handleGitlabWebhook(request, { token: secret, branch: h.branch });
  h.metrics.webhookDeliveries.inc({ provider, result: outcome.result });
  const delivery = req.headers['x-github-delivery'] ?? req.headers['x-gitlab-event-uuid'] ?? null;
  h.logger.info(
    { provider, delivery, result: outcome.result, status: outcome.status },
    `webhook: ${outcome.message}`,
  );

  if (['push', 'pull_request', 'comment'].includes(outcome.result)) {
    // The leader runs the loop, keeps the plans posted on pull requests and the approvals.
    const route = outcome.result === 'comment' ? { environment: outcome.event.environment } : {};
    const off = await handOff(req, body, h.follower(route), secret, 8_000);
    if (off.kind === 'answered') return relay(res, off);
    // Any replica can plan and comment a pull request (the leader then cannot take approvals of it).
    if (off.kind === 'refused' && outcome.result !== 'pull_request')
      return answerHandOff(
        res,
        h,
        off,
        outcome.result === 'push' ? 'reconcile this push' : 'take approvals',
      );
  }
  return answer(res, h, provider, outcome);
}

/** The delivery's body within its limit; null when it was too large (answered 413). */
async function webhookBody(
  req: IncomingMessage,
  res: ServerResponse,
  h: HttpHandlers,
  provider: 'github' | 'gitlab',
): Promise<Buffer | null> {
  try {
    return await readBody(req, h.bodyLimit ?? DEFAULT_BODY_LIMIT);
  } catch (err) {
    if (err instanceof TooLarge) {
      h.metrics.webhookDeliveries.inc({ provider, result: 'too_large' });
      res.setHeader('connection', 'close');
      send(res, 413, {
        error: `body larger than ${h.bodyLimit ?? DEFAULT_BODY_LIMIT} bytes`,
      });
      return null;
    }
    throw err;
  }
}

/** This replica's part of a verified delivery: reconcile, plan a pull request, or an approval. */
function answer(
  res: ServerResponse,
  h: HttpHandlers,
  provider: 'github' | 'gitlab',
  outcome: WebhookOutcome,
): void {
  if (outcome.result === 'push') {
    void h.requestReconcile('webhook');
    return send(res, 202, { result: outcome.result, message: outcome.message });
  }
  if (outcome.result === 'pull_request' || outcome.result === 'comment') {
    const pr = outcome.result === 'pull_request';
    const handle =
      outcome.result === 'pull_request'
        ? h.onPullRequest?.bind(null, outcome.event)
        : h.onComment?.bind(null, outcome.event);
    if (!handle) {
      const what = pr
        ? 'pull request events are not handled by this daemon'
        : 'approvals by comment are not configured on this daemon';
      return send(res, 202, { result: 'ignored', message: what });
    }
    // Answer at once (GitHub gives up after 10 s); the handler reports its own failures.
    const { repository, number } = outcome.event;
    void handle().catch((err: unknown) =>
      h.logger.warn(
        { provider, repository, number, err: err instanceof Error ? err.message : String(err) },
        pr ? 'pull request handler failed' : 'approval comment handler failed',
      ),
    );
    return send(res, 202, { result: outcome.result, message: outcome.message });
  }
  return send(res, outcome.status, { result: outcome.result, message: outcome.message });
}
