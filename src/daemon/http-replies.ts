/**
 * Answers the daemon's HTTP routes share: who is authorized (a bearer token, or a follower's
 * signed forward) and what a follower answers with the leader's reply (forward.ts).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { constantTimeEqual } from '../util/constant-time.js';
import { verifyForward, type HandOff } from './forward.js';
import type { HttpHandlers } from './http-handlers.js';
import { send } from './http-io.js';

/** A bearer token that matches, or a follower's valid forward signature made with it. */
export function authorized(req: IncomingMessage, body: Buffer, token: string): boolean {
  const m = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '');
  if (m && constantTimeEqual((m[1] as string).trim(), token)) return true;
  return verifyForward(token, req.headers, req.method ?? 'POST', req.url ?? '', body);
}

/** The leader's answer to a request a follower handed on, as the leader gave it. */
export function relay(res: ServerResponse, off: Extract<HandOff, { kind: 'answered' }>): void {
  res.writeHead(off.status, { 'cache-control': 'no-store', ...off.headers });
  res.end(off.body);
}

/**
 * The leader's answer; or, when it could not be had, 503 with Retry-After (at most one lease
 * duration: by then a leader is elected), the leader's identity and why.
 */
export function answerHandOff(
  res: ServerResponse,
  h: HttpHandlers,
  off: HandOff,
  what: string,
): void {
  if (off.kind === 'answered') return relay(res, off);
  const f = h.follower();
  const reason = off.kind === 'refused' ? off.reason : 'no leader is known';
  res.setHeader('retry-after', String(f?.retryAfterSeconds ?? 15));
  send(res, 503, {
    error: `this replica is not the leader and could not hand the request to it (${reason}), so it does not ${what}. Retry later`,
    leader: f?.leader ?? null,
  });
}
