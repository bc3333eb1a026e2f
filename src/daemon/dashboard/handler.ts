/**
 * GET / (and HEAD): the dashboard, rendered on each request from the daemon's /status document.
 * `?part=live` returns only the part that changes, with an ETag (304 while it is the same), for
 * the page's own refresh. Every answer carries the strict CSP and the headers that keep the
 * page out of frames and other sites' reach.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { DaemonStatus } from '../status.js';
import { CONTENT_SECURITY_POLICY, etagOf, liveHtml, pageHtml } from './page.js';

export interface DashboardOptions {
  /** The /status document (the one source of the page). */
  status(): DaemonStatus;
  /**
   * On a follower: the leader's /status and this replica's identity, or null when this daemon
   * leads or the leader cannot be reached (then the page is this replica's own, which says so).
   */
  leaderStatus?: () => Promise<{ status: DaemonStatus; relayedBy: string } | null>;
  /** POST /approve is on (an admin token is configured): the page offers to approve. */
  approvals: boolean;
  now?: () => Date;
}

export type DashboardHandler = (
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
) => Promise<void>;

const HOST = /^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;

export function dashboardHandler(o: DashboardOptions): DashboardHandler {
  return async (req, res, url) => {
    const host = req.headers.host ?? '';
    const leader = (await o.leaderStatus?.()) ?? null;
    const status = leader?.status ?? o.status();
    const page = {
      approvals: o.approvals,
      daemonUrl: HOST.test(host) ? `http://${host}` : null,
      relayedBy: leader?.relayedBy ?? null,
    };
    const headers: Record<string, string> = {
      'content-type': 'text/html; charset=utf-8',
      'content-security-policy': CONTENT_SECURITY_POLICY,
      'x-content-type-options': 'nosniff',
      'x-frame-options': 'DENY',
      'referrer-policy': 'no-referrer',
      'cross-origin-opener-policy': 'same-origin',
      'cross-origin-resource-policy': 'same-origin',
      'cache-control': 'no-store',
    };
    let body: string;
    if (url.searchParams.get('part') === 'live') {
      const live = liveHtml(status, page);
      const etag = etagOf(live);
      headers.etag = etag;
      if (req.headers['if-none-match'] === etag) {
        res.writeHead(304, headers);
        res.end();
        return;
      }
      body = live.text;
    } else {
      body = pageHtml(status, page, o.now?.() ?? new Date());
    }
    headers['content-length'] = String(Buffer.byteLength(body));
    res.writeHead(200, headers);
    res.end(req.method === 'HEAD' ? undefined : body);
  };
}
