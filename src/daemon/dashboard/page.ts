/**
 * The dashboard document: every section rendered from one /status document (DaemonStatus),
 * the live part (`<div id="live">`, also served alone for the page's own refresh) inside a
 * shell with the approval panel, and the Content Security Policy that lets exactly the page's
 * own inline style and script run (by hash) and nothing else: no other script, no external
 * asset, no frame, no form submission.
 *
 * GET / (and HEAD) renders it on each request; `?part=live` returns only the part that
 * changes, with an ETag (304 while it is the same), for the page's own refresh. Every answer
 * carries the strict CSP and the headers that keep the page out of frames and other sites' reach.
 */
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { DaemonStatus } from '../status.js';
import { SCRIPT, STYLE } from './assets.js';
import { inlineAsset, markup, withIdPrefix, type SafeHtml } from './html.js';
import {
  connectionsSection,
  driftSection,
  heldSection,
  managedSection,
  manualSection,
  overviewSection,
  problemsSection,
  renderedSection,
  replicasSection,
  resultBadge,
  runsSection,
  type PageContext,
} from './sections.js';

export type { PageContext } from './sections.js';

const sha256 = (text: string) => `'sha256-${createHash('sha256').update(text).digest('base64')}'`;

export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  `script-src ${sha256(SCRIPT)}`,
  `style-src ${sha256(STYLE)}`,
  'img-src data:',
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** The part of the page that changes; what `?part=live` returns. */
export function liveHtml(s: DaemonStatus, page: PageContext): SafeHtml {
  if (s.environments) return environmentsHtml(s, s.environments, page);
  return markup`${[
    overviewSection(s, page),
    heldSection(s, page),
    manualSection(s),
    driftSection(s),
    renderedSection(s),
    problemsSection(s),
    runsSection(s.runs),
    managedSection(s),
    replicasSection(s),
    connectionsSection(s),
  ]}`;
}

/**
 * With environments (docs/environments.md): what holds for all of them, a link to each with its
 * outcome, then each environment's own sections (its ids prefixed with `env-NAME`).
 */
function environmentsHtml(
  s: DaemonStatus,
  environments: Record<string, DaemonStatus>,
  page: PageContext,
): SafeHtml {
  const entries = Object.entries(environments);
  return markup`${overviewSection(s, page)}
<nav class="environments" aria-label="Environments">${entries.map(
    ([name, e]) => markup`<a href="#env-${name}">${name} ${resultBadge(e.outcome)}</a> `,
  )}</nav>
${entries.map(
  ([name, e]) =>
    markup`<section class="environment" id="env-${name}" aria-labelledby="env-${name}-h"><h2 id="env-${name}-h">Environment <code>${name}</code></h2>
${withIdPrefix(liveHtml(e, page), `env-${name}`)}</section>
`,
)}`;
}

/** A strong validator of the live part: the page's refresh gets 304 while nothing changed. */
export function etagOf(live: SafeHtml): string {
  return `"${createHash('sha256').update(live.text).digest('base64url').slice(0, 27)}"`;
}

export function pageHtml(s: DaemonStatus, page: PageContext, renderedAt: Date): string {
  const live = liveHtml(s, page);
  const title =
    s.source.kind === 'git'
      ? `${s.source.repository ?? ''} ${s.source.branch ?? ''}`
      : (s.source.dir ?? 'folder');
  const panel = page.approvals
    ? markup`<section id="approve-panel" class="js-only" aria-label="Approve held changes, sync now">
<label>Your name (recorded as the approver)<input id="approver" name="approver" maxlength="200" autocomplete="username"></label>
<label>Daemon admin token<input id="admin-token" name="admin-token" type="password" autocomplete="off"></label>
<button type="button" id="sync" class="sync">Sync now</button>
<p class="muted">The token goes only with an approval or a sync, to <code>POST /approve</code> or <code>POST /reconcile</code>; the page keeps it nowhere.</p>
<p id="approve-result" role="status" aria-live="polite"></p>
</section>`
    : '';
  return markup`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>poolsync: ${title}</title>
<link rel="icon" href="data:,">
<style>${inlineAsset(STYLE)}</style>
<noscript><meta http-equiv="refresh" content="15"></noscript>
</head>
<body>
<header class="top"><h1>poolsync</h1><span>${title}</span><span id="live-state">refreshes every 15 s</span>
<nav><a href="status">/status</a><a href="metrics">/metrics</a></nav></header>
<main>
${panel}
<div id="live" data-etag="${etagOf(live)}">${live}</div>
</main>
<footer>Rendered ${renderedAt.toISOString()} from the data of <a href="status">/status</a>. Read-only, but for approving held changes and syncing now with the daemon admin token.</footer>
<script>${inlineAsset(SCRIPT)}</script>
</body>
</html>
`.text;
}

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
