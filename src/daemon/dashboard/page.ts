/**
 * The dashboard document, every section rendered from one /status document on each request: the
 * live part (`<div id="live">`, alone for `?part=live`, the page's own refresh) inside a shell
 * with the approval panel, and the Content Security Policy that lets exactly the page's own
 * inline style and script run (by hash) and nothing else.
 */
import { policyVerdict } from '../../model/policy.js';
import { policySummary, policyText } from '../../render/policy.js';
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ApprovalStatus, ChangeBrief } from '../approvals.js';
import { lastChanges, totalOf, type DaemonStatus, type RecentRun } from '../status.js';
import { SCRIPT, STYLE } from './assets.js';
import { reachedCommit } from '../run-result.js';
import {
  ansiToHtml,
  badge,
  commitRef,
  type HtmlValue,
  inlineAsset,
  markup,
  SafeHtml,
  withIdPrefix,
} from './html.js';
import { ACTION_STYLE, renderText, renderedOfRun } from '../../render/text.js';
import { closingLine, plural, SYMBOL, warningText } from '../../render/common.js';
import { runbookLines } from '../../render/runbook.js';
import {
  approveCommand,
  leaderWords,
  moreListed,
  problemsNotKept,
  runWords,
} from '../../render/daemon-words.js';
import type { ObjectsView } from '../objects.js';
import { ALL_OBJECTS, objectsQuery, objectsSection, type ObjectsQuery } from './objects.js';

const sha256 = (text: string) => `'sha256-${createHash('sha256').update(text).digest('base64')}'`;

export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  `script-src ${sha256(SCRIPT)}`,
  `style-src ${sha256(STYLE)}`,
  'img-src data:',
  "connect-src 'self'",
  "base-uri 'none'",
  // The Objects filter: a GET form of the page itself.
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/** What `?part=live` returns: the bar to each section shown, then the sections. */
export function liveHtml(s: DaemonStatus, page: PageContext): SafeHtml {
  if (s.environments) return environmentsHtml(s, s.environments, page);
  const shown = SECTIONS.map((entry) => [entry, section(entry, s, page)] as const).filter(
    ([, html]) => html !== '',
  );
  return markup`${jumpBar(
    s,
    shown.map(([entry]) => entry),
  )}${shown.map(([, html]) => html)}`;
}

/**
 * Issue 78: at 10,000 objects the Objects section sat 18,500 px down the page. A bar of links to
 * each section shown, kept at the top of the window as it scrolls (CSS sticky): any section is
 * one click away, from anywhere.
 */
function jumpBar(s: DaemonStatus, entries: readonly SectionEntry[]): SafeHtml {
  const links = entries.map(([id, , , label, count]) => {
    const n = count?.(s) ?? 0;
    return markup`<a href="#${id}">${label}${n > 0 ? markup` <span class="count">${n.toLocaleString('en-US')}</span>` : ''}</a>`;
  });
  return markup`<nav class="jump" aria-label="Sections of this page">${links}</nav>`;
}

/** With environments (docs/environments.md): the summary, then each one's sections (`env-NAME`). */
function environmentsHtml(
  s: DaemonStatus,
  environments: Record<string, DaemonStatus>,
  page: PageContext,
): SafeHtml {
  const entries = Object.entries(environments);
  return markup`${section(SECTIONS[0]!, s, page)}
<nav class="environments" aria-label="Environments">${entries.map(
    ([name, e]) => markup`<a href="#env-${name}">${name} ${resultBadge(e.outcome)}</a> `,
  )}</nav>
${entries.map(
  ([name, e]) =>
    markup`<section class="environment" id="env-${name}" aria-labelledby="env-${name}-h"><h2 id="env-${name}-h">Environment <code>${name}</code></h2>
${withIdPrefix(liveHtml(e, { ...page, environment: name }), `env-${name}`)}</section>
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
<p class="muted">The token the daemon was started with (<code>POOLSYNC_ADMIN_TOKEN</code>, <code>--admin-token-file</code>; <code>npm start</code> keeps its own in <code>.poolsync/admin-token</code>) goes only with an approval or a sync, to <code>POST /approve</code> or <code>POST /reconcile</code>; the page keeps it nowhere.</p>
<p id="approve-result" role="status" aria-live="polite"></p>
</section>`
    : markup`<p class="muted" id="no-actions">No Sync now or Approve here: they need the daemon admin token, and this daemon was started without one (<code>POOLSYNC_ADMIN_TOKEN</code> or <code>--admin-token-file</code>).</p>`;
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

export interface DashboardOptions extends Pick<PageContext, 'approvals' | 'objects'> {
  status(): DaemonStatus;
  /** On a follower: the leader's /status; null: the page is this replica's own (it says so). */
  leaderStatus?: () => Promise<{ status: DaemonStatus; relayedBy: string } | null>;
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
      objects: o.objects,
      query: objectsQuery(url),
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
      if (req.headers['if-none-match'] === etag) return void res.writeHead(304, headers).end();
      body = live.text;
    } else body = pageHtml(status, page, new Date());
    headers['content-length'] = String(Buffer.byteLength(body));
    res.writeHead(200, headers);
    res.end(req.method === 'HEAD' ? undefined : body);
  };
}

/* The sections (SECTIONS) and their pieces; a plan as the terminal renders it (ansiToHtml). */
/** `2026-11-22 12:01:07 UTC` (the machine-readable value in a <time>). */
function when(iso: string | null | undefined): SafeHtml {
  if (!iso) return markup`<span class="muted">never</span>`;
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return markup`${iso}`;
  const text = `${d.toISOString().slice(0, 19).replace('T', ' ')} UTC`;
  return markup`<time datetime="${iso}">${text}</time>`;
}

function duration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
  const s = Math.round(ms / 1000);
  return `${Math.floor(s / 60)} min ${s % 60} s`;
}

const RESULT_TONE: Record<string, 'ok' | 'warn' | 'bad' | 'info'> = {
  applied: 'ok',
  in_sync: 'ok',
  left_unpruned: 'warn',
  waiting_for_approval: 'warn',
  frozen: 'warn',
  invalid: 'bad',
  failed: 'bad',
};

export function resultBadge(result: string | null | undefined): SafeHtml {
  if (!result) return badge('info', 'no run yet');
  return badge(RESULT_TONE[result] ?? 'info', result.replace(/_/g, ' '));
}

function yesNo(ok: boolean | null, yes: string, no: string, unknown = 'unknown'): SafeHtml {
  return ok === null ? badge('info', unknown) : ok ? badge('ok', yes) : badge('bad', no);
}

/** `  - Cluster/prod-2 (delete)` with the terminal's symbol and colour for the action. */
function changeLine(c: Pick<ChangeBrief, 'address' | 'action'>): SafeHtml {
  const action = c.action as keyof typeof SYMBOL;
  const symbol = SYMBOL[action] ?? '?';
  const style = ACTION_STYLE[action] ?? 'dim';
  return markup`<span class="t-${style}">${symbol.padStart(3)}</span> <span class="t-bold">${c.address}</span> <span class="t-dim">(${c.action})</span>`;
}

/** A section's content, and the note shown under its title; '' leaves the section out. */
type Content = SafeHtml | HtmlValue[] | { note: SafeHtml | undefined; body: SafeHtml | SafeHtml[] };
type SectionEntry = [
  id: string,
  title: string,
  content: (s: DaemonStatus, page: PageContext) => Content | '',
  /** Its link in the jump bar, and what the link counts (shown when more than 0). */
  label: string,
  count?: (s: DaemonStatus) => number,
];

function section(
  [id, title, content]: SectionEntry,
  s: DaemonStatus,
  page: PageContext,
): SafeHtml | '' {
  const c = content(s, page);
  if (c === '') return '';
  const { note, body } =
    c instanceof SafeHtml || Array.isArray(c) ? { note: undefined, body: c } : c;
  return markup`<section id="${id}" aria-labelledby="${id}-h"><h2 id="${id}-h">${title}</h2>${note ?? ''}${body}</section>`;
}

export interface PageContext {
  /** POST /approve is on (an admin token): the page offers to approve. */
  approvals: boolean;
  /** Each environment's objects (null: the daemon without environments); absent: none listed. */
  objects?: (environment: string | null) => ObjectsView | null;
  query?: ObjectsQuery;
  environment?: string | null;
  /** `http://host:port` for the `poolsync approve --daemon` command shown; null: unknown. */
  daemonUrl: string | null;
  /** A follower's identity showing the leader's /status; null: this daemon's own status. */
  relayedBy?: string | null;
}

/** Each change's line, then its field lines (`fields`) in its colour, as `poolsync plan` shows it. */
function changeBlock(changes: readonly ChangeBrief[]): SafeHtml {
  return markup`<pre class="plan">${changes.map((c) => {
    const style = ACTION_STYLE[c.action as keyof typeof ACTION_STYLE] ?? 'dim';
    const fields = (c.fields ?? []).map(
      (f) => markup`      <span class="t-${style}">${f}</span>\n`,
    );
    return markup`${changeLine(c)}${c.reason ? markup` <span class="t-dim"># ${c.reason}</span>` : ''}\n${fields}`;
  })}</pre>`;
}

function held(s: DaemonStatus, page: PageContext): HtmlValue[] {
  const {
    pending,
    granted = [],
    lastApplied: l,
    lastRefused: r,
    approvers,
  }: Partial<ApprovalStatus> = s.approval ?? {};
  let now: SafeHtml;
  if (pending) {
    const n = plural(pending.changes.length, 'change');
    const daemon = page.daemonUrl ?? 'http://<this daemon>';
    // With environments, this section's, which the button and the command both name.
    const environment = page.environment ?? null;
    const action = page.approvals
      ? markup`<p class="js-only"><button type="button" class="approve" data-fingerprint="${pending.fingerprint}"${environmentOf(page)}>Approve exactly these ${n}</button></p>`
      : markup`<p class="muted">Approving needs the daemon admin token, which is not set (<code>POOLSYNC_ADMIN_TOKEN</code> or <code>--admin-token-file</code>).</p>`;
    now = markup`<div class="held">
<p>${n} held since ${when(pending.since)} (commit ${commitRef(pending.commit)}), fingerprint <code class="fp">${pending.fingerprint}</code>:</p>
${heldByGuardrails(s)}${changeBlock(pending.changes)}
${action}
<p class="muted">Or from a shell: <code>${approveCommand(pending.fingerprint, environment)} --daemon ${daemon}</code>, or comment <code>poolsync apply</code> on the pull request.</p>
</div>`;
  } else if (s.waitingForApproval.length > 0) {
    // A follower sees the held changes in the plan; the leader holds their approval.
    now = markup`${changeBlock(s.waitingForApproval)}
<p class="muted">The leader holds the approval of these: approve on its page or with <code>poolsync approve</code>.</p>`;
  } else {
    const why =
      s.policy === 'safe' ? '' : markup` (policy <code>${s.policy}</code> holds nothing back)`;
    now = markup`<p class="muted">Nothing is held${why}.</p>`;
  }
  // Who may approve (poolsync.yaml `approvers:`, docs/daemon.md#approvers); unknown before a load.
  const who =
    approvers === undefined
      ? ''
      : approvers === null
        ? markup`<p class="approvers muted">Who may approve: a user with write permission, by a <code>poolsync apply</code> comment, or the admin token (poolsync.yaml names no approvers).</p>`
        : markup`<p class="approvers">Who may approve: ${approvers.principals.length === 0 ? 'no one' : approvers.principals.join(', ')} (<code>${approvers.rule}</code> in poolsync.yaml).</p>`;
  return [
    now,
    who,
    granted.map(
      (g) =>
        markup`<p class="granted">Approved by <b>${g.approver}</b> (${g.via}) ${when(g.at)}: <code class="fp">${g.fingerprint}</code>, applied once ${g.pullRequest ? `${g.source} is merged and ` : ''}the daemon holds exactly these changes.</p>`,
    ),
    l &&
      markup`<p class="last-applied">Last approval applied ${when(l.appliedAt)}: approved by <b>${l.approver}</b> (${l.via}${l.source ? ` ${l.source}` : ''}), <code class="fp">${l.fingerprint}</code>, commit ${commitRef(l.commit)}.</p>`,
    r &&
      markup`<p class="last-refused">Last refusal ${when(r.at)} (${r.approver}, ${r.via}): ${r.reason}</p>`,
  ];
}

/** Guardrails hold these whatever the policy (docs/daemon.md#guardrails). */
function heldByGuardrails(s: DaemonStatus): SafeHtml | '' {
  if (!s.heldBy?.length) return '';
  return markup`<p class="held-by">${runWords.heldByGuardrails(s.heldBy)}, whatever the policy.</p>
`;
}

/** docs/policies.md: the last plan's policy results, as the plan text shows them. */
function policies(s: DaemonStatus): Content | '' {
  const r = s.policies;
  if (!r) return '';
  const tone = { pass: 'ok', warn: 'warn', approved: 'ok', deny: 'bad', error: 'bad' } as const;
  const verdict = policyVerdict(r);
  return {
    note: markup`<p>${badge(tone[verdict], verdict)} ${policySummary(r)}</p>`,
    body: markup`<pre class="plan">${policyText(r).trim()}</pre>`,
  };
}

function manual(s: DaemonStatus): Content | '' {
  const n = s.manualSteps.length;
  if (n === 0) return '';
  const lines = runbookLines(s.manualSteps, { indent: '' });
  return {
    body: markup`<pre class="plan runbook">${ansiToHtml(lines.join('\n'))}</pre>`,
    note: markup`<p>The control plane has no public API for ${n === 1 ? 'this step' : 'these steps'}: a person runs ${n === 1 ? 'it' : 'them'} (or <code>poolsync apply --flyte-cli PATH</code>); the daemon never does.</p>`,
  };
}

function drift(s: DaemonStatus): SafeHtml {
  const d = s.lastDrift;
  if (!d)
    return markup`<p class="muted">No drift found: nothing was changed on the control plane behind the repository's back.</p>`;
  const fixed = d.changes.filter((c) => c.corrected).length;
  const put = fixed === d.changes.length ? 'all were put back' : `${fixed} put back`;
  const state = (corrected: boolean) =>
    corrected
      ? markup`<span class="t-green">corrected</span>`
      : markup`<span class="t-red">not corrected</span>`;
  return markup`<p>Run #${d.run} (${when(d.at)}, commit ${commitRef(d.commit)}) found ${plural(d.changes.length, 'change')} made on the control plane while the repository had not moved; ${put}.</p>
<pre class="plan">${d.changes.map((c) => markup`${changeLine(c)}  ${state(c.corrected)}\n`)}</pre>`;
}

function rendered(s: DaemonStatus): Content | '' {
  if (s.renderedFiles.length === 0) return '';
  return {
    body: s.renderedFiles.map((f) => {
      const what =
        f.status === 'missing'
          ? 'not committed yet'
          : 'the committed file differs from the rendering';
      const committed = f.committed ? markup`; committed ${commitRef(f.committed)}` : '';
      return markup`<details class="rendered">
<summary><code>${f.path}</code> (${f.kind}): ${what}${committed}</summary>
<pre class="plan">${diffLines(f.diff)}</pre>
</details>`;
    }),
    note: markup`<p>What Helm / Argo CD / Flux deploy is the committed file: run <code>poolsync render</code> and commit it, or run the daemon with <code>--commit-rendered</code>.</p>`,
  };
}

/** How git colours a unified diff's lines, by how they start (the first that matches). */
const DIFF_STYLE = {
  '+++': 't-bold',
  '---': 't-bold',
  '+': 't-green',
  '-': 't-red',
  '@@': 't-cyan',
};

function diffLines(diff: string): SafeHtml[] {
  return diff.split('\n').map((line) => {
    const style = Object.entries(DIFF_STYLE).find(([start]) => line.startsWith(start))?.[1];
    return style ? markup`<span class="${style}">${line}</span>\n` : markup`${line}\n`;
  });
}

function problems(s: DaemonStatus): SafeHtml | '' {
  if (s.errors.length + s.blocked.length + s.warnings.length === 0) return '';
  const errors = s.errors.map(
    (e) =>
      markup`<li><span class="t-red">error</span> <code>${e.code}</code>${e.location ? markup` <code>${e.location}</code>` : ''}${e.address ? markup` <b>${e.address}</b>` : ''}: ${e.message}</li>`,
  );
  const blocked = s.blocked.map(
    (b) => markup`<li><code>${changeLine(b)}</code>: ${b.reason ?? 'blocked'}</li>`,
  );
  const more = (line: string | null) => (line ? [markup`<li class="muted">${line}</li>`] : []);
  errors.push(...more(moreListed('errors', s.errors.length, s.errorsTotal)));
  blocked.push(...more(moreListed('blocked', s.blocked.length, s.blockedTotal)));
  const moreWarnings = moreListed('warnings', s.warnings.length, s.warningsTotal);
  return markup`${errors.length > 0 ? markup`<ul class="errors">${errors}</ul>` : ''}${
    blocked.length > 0 ? markup`<ul class="blocked">${blocked}</ul>` : ''
  }${s.warnings.length > 0 ? warningGroups(s.warnings) : ''}${
    moreWarnings ? markup`<p class="muted">${moreWarnings}</p>` : ''
  }`;
}

/** Warnings of a code beyond this many are folded under one line (issue 78: 344 filled the page). */
const UNFOLDED_WARNINGS = 3;

/** A list per warning code: a few shown as they are, more folded in a `<details>` that counts them. */
function warningGroups(warnings: DaemonStatus['warnings']): SafeHtml {
  const byCode = new Map<string, DaemonStatus['warnings']>();
  for (const w of warnings) byCode.set(w.code, [...(byCode.get(w.code) ?? []), w]);
  const item = (w: DaemonStatus['warnings'][number]) =>
    markup`<li><span class="t-yellow">warning</span> <code>${w.code}</code> <b>${w.address}</b>: ${warningText(w)}</li>`;
  return markup`${[...byCode].map(([code, ws]) =>
    ws.length <= UNFOLDED_WARNINGS
      ? markup`<ul class="warnings">${ws.map(item)}</ul>`
      : markup`<details class="warnings" id="warnings-${code}"><summary><span class="t-yellow">warning</span> <code>${code}</code> × ${ws.length.toLocaleString('en-US')}: <b>${ws[0]!.address}</b>, <b>${ws[1]!.address}</b> and ${(ws.length - 2).toLocaleString('en-US')} more</summary><ul class="warnings">${ws.map(item)}</ul></details>`,
  )}`;
}

function overview(s: DaemonStatus, page: PageContext): Content {
  const inLine = s.commit !== null && s.commit === s.appliedCommit;
  // Counted as the terminal counts: the closing line of the plan text.
  const planned = s.runs.find((r) => r.plan !== null);
  const source =
    s.source.kind === 'git'
      ? markup`<code>${s.source.repository ?? ''}</code> branch <code>${s.source.branch ?? ''}</code>${
          s.source.path && s.source.path !== '.'
            ? markup` folder <code>${s.source.path}</code>`
            : ''
        }`
      : markup`folder <code>${s.source.dir ?? ''}</code> (watched on disk)`;
  const applied =
    s.commit === null
      ? ''
      : inLine
        ? markup` ${badge('ok', '= seen')}`
        : markup` ${badge('warn', 'behind the commit seen')}`;
  const lastPlan = planned
    ? markup`<a href="#run-${planned.id}">run #${planned.id}</a>: ${closingLine(planned.plan!, planned.counts ?? undefined)}`
    : markup`<span class="muted">none</span>`;
  const follower = page.relayedBy
    ? markup`<p class="notice">Served by <code>${page.relayedBy}</code>, a follower: this is the state of the leader <code>${
        s.leader?.identity ?? ''
      }</code>, read from its /status; an approval made here is handed to it.</p>`
    : s.leader?.enabled && !s.leader.isLeader
      ? markup`<p class="notice">This replica (<code>${s.leader.identity}</code>) follows ${
          s.leader.leader
            ? markup`the leader <code>${s.leader.leader}</code>`
            : `no leader (${leaderWords.noLeader(s.leader)})`
        }: only the leader reconciles, applies and holds approvals, so runs and held changes are on its page.</p>`
      : undefined;
  // Applies frozen: what waits is in the last plan; plans and drift detection go on.
  const f = s.freeze;
  const frozen =
    f?.why &&
    markup`<p class="notice" id="frozen">Applies are frozen${f.frozen ? '' : ' in some environments'}: ${f.why}. The daemon still plans and detects drift; what waits is in the last run below. <code>poolsync sync --override-freeze</code> applies it now.</p>`;
  // A rollback holds: its commit is applied, not the branch head (docs/daemon.md#rollback).
  const back =
    s.rollback &&
    markup`<p class="notice" id="rollback">Rolled back to run #${s.rollback.run}: ${s.rollback.why}.</p>`;
  return {
    note: markup`${follower}${frozen}${back}`,
    body: markup`<dl class="facts">
<div><dt>Outcome</dt><dd id="outcome">${resultBadge(s.outcome)}${running(s.running)}</dd></div>
<div><dt>Applies</dt><dd id="applies">${f?.frozen ? badge('warn', f.suspended ? 'suspended' : 'outside sync window') : badge('ok', 'allowed')}${f?.windows.length ? markup` <span class="muted">windows: ${f.windows.join('; ')}</span>` : ''}</dd></div>
<div><dt>Ready</dt><dd>${yesNo(s.ready, 'ready', 'not ready')}</dd></div>
<div><dt>Policy</dt><dd><code>${s.policy}</code></dd></div>
<div><dt>Source</dt><dd>${source}</dd></div>
<div><dt>Commit seen</dt><dd id="commit-seen">${commitRef(s.commit)}</dd></div>
<div><dt>Commit applied</dt><dd id="commit-applied">${commitRef(s.appliedCommit)}${applied}</dd></div>
<div><dt>Last success</dt><dd>${when(s.lastSuccessAt)}</dd></div>
<div><dt>Last plan</dt><dd>${lastPlan}</dd></div>
</dl>`,
  };
}

/** The run in progress beside the last outcome: a long first apply is not "no run yet". */
function running(r: DaemonStatus['running']): SafeHtml | '' {
  if (!r) return '';
  return markup` <span class="muted">run #${r.id} running since ${when(r.startedAt)} (${r.trigger.join(', ')}), ${r.phase}</span>`;
}

function replicas(s: DaemonStatus): SafeHtml {
  const l = s.leader;
  if (!l || !l.enabled)
    return markup`<p>One replica (no <code>--leader-elect</code>): this daemon reconciles and applies.</p>`;
  const role = l.isLeader ? badge('ok', 'leader') : badge('info', 'follower');
  const leaderRow = l.isLeader
    ? ''
    : markup`<tr><td>${
        l.leader
          ? markup`<code>${l.leader}</code>`
          : markup`<span class="muted">${leaderWords.noLeader(l)}</span>`
      }</td><td>${l.leader ? badge('ok', 'leader') : ''}</td><td></td></tr>`;
  return markup`<table>
<thead><tr><th>Replica</th><th>Role</th><th>Since</th></tr></thead>
<tbody>
<tr><td><code>${l.identity}</code> <span class="muted">(this page)</span></td><td>${role}</td><td>${when(l.lastTransitionAt)}</td></tr>
${leaderRow}
</tbody>
</table>
<p class="muted">Elected through the Kubernetes Lease <code>${l.lease}</code>, which names only its holder: other followers are not listed.${
    l.isLeader ? '' : ' Only the leader reconciles, applies and holds approvals.'
  }</p>`;
}

function connections(s: DaemonStatus): SafeHtml {
  const cp = s.controlPlane;
  const g = s.git;
  const rows: SafeHtml[] = [
    markup`<tr>
<td>Control plane${cp.backend ? markup` <span class="muted">(${cp.backend})</span>` : ''}</td>
<td>${cp.url ? markup`<code>${cp.url}</code>` : ''}</td>
<td>${yesNo(cp.reachable, 'reachable', 'unreachable', 'not tried yet')}</td>
<td>${when(cp.lastAnsweredAt)}</td>
<td>${cp.lastError ?? ''}</td>
</tr>`,
  ];
  if (s.source.kind === 'git') {
    const ok = g.lastError === null ? (g.lastFetchAt === null ? null : true) : false;
    const failing = `failing (${g.consecutiveFailures} in a row)`;
    const retry = g.nextRetryAt
      ? markup` <span class="muted">next try ${when(g.nextRetryAt)}</span>`
      : '';
    rows.push(markup`<tr>
<td>Git remote</td>
<td><code>${s.source.repository ?? ''}</code></td>
<td>${yesNo(ok, 'reachable', failing, 'not fetched yet')}</td>
<td>${when(g.lastFetchAt)}</td>
<td>${g.lastError ?? ''}${retry}</td>
</tr>`);
  }
  if (s.leader?.enabled)
    rows.push(markup`<tr>
<td>Kubernetes Lease</td>
<td><code>${s.leader.lease}</code></td>
<td>${yesNo(s.leader.leader !== null ? true : null, 'a leader is elected', '', 'no leader known')}</td>
<td>${when(s.leader.lastTransitionAt)}</td>
<td></td>
</tr>`);
  return markup`<table>
<thead><tr><th>System</th><th>Where</th><th>State</th><th>Last answered</th><th>Last error</th></tr></thead>
<tbody>${rows}</tbody>
</table>`;
}

/** Every object of the last plan: status, health, tree, filter, diff (objects.ts). */
function objects(s: DaemonStatus, page: PageContext): Content {
  const note = markup`<p class="muted">Each object the last plan names, with its sync status and its live state as the control plane reports it, under its pool and the clusters its queues route to; open one for where it is declared and its change.</p>`;
  if (page.relayedBy)
    return { note, body: markup`<p class="muted">Listed on the leader's page.</p>` };
  const view = page.objects?.(page.environment ?? null) ?? null;
  const last = lastChanges(s.runs);
  return { note, body: objectsSection(view, page.query ?? ALL_OBJECTS, s.managed, last) };
}

const BAR_WIDTH = 240;

function runs({ runs, source }: DaemonStatus, page: PageContext): Content {
  if (runs.length === 0) return markup`<p class="muted">No run has finished yet.</p>`;
  // Rollback needs the admin token and commits to go back to (docs/daemon.md#rollback).
  const back = page.approvals && source.kind === 'git' ? environmentOf(page) : null;
  return {
    body: runs.map((run, i) => runEntry(run, i === 0, back)),
    note: markup`<p class="muted">What the runs that evaluated the repository did, newest first, kept across restarts (runs that found nothing new, polls that found no new commit among them, are folded into the line before them); <code>poolsync history</code> lists them.</p>`,
  };
}

const SECTIONS: SectionEntry[] = [
  ['overview', 'Overview', overview, 'Overview'],
  ['held', 'Held for approval', held, 'Held', (s) => heldChanges(s).length],
  ['policies', 'Policies', policies, 'Policies', (s) => s.policies?.deny.length ?? 0],
  ['manual', 'Manual steps waiting', manual, 'Manual steps', (s) => s.manualSteps.length],
  ['drift', 'Drift', drift, 'Drift', (s) => s.lastDrift?.changes.length ?? 0],
  ['rendered', 'Rendered files that differ', rendered, 'Rendered files'],
  [
    'problems',
    'Errors, blocked changes and warnings',
    problems,
    'Problems',
    (s) =>
      totalOf(s.errors, s.errorsTotal) +
      totalOf(s.blocked, s.blockedTotal) +
      totalOf(s.warnings, s.warningsTotal),
  ],
  ['runs', 'Recent runs', runs, 'Runs'],
  ['objects', 'Objects', objects, 'Objects'],
  ['replicas', 'Replicas', replicas, 'Replicas'],
  ['connections', 'Connections', connections, 'Connections'],
];

/** What waits for approval: on the leader its pending record, on a follower the plan's. */
function heldChanges(s: DaemonStatus): readonly ChangeBrief[] {
  return s.approval?.pending?.changes ?? s.waitingForApproval;
}

/** A run's plan longer than this is folded under its closing line. */
const FOLDED_PLAN_LINES = 60;

/**
 * The environment a button of this section acts on, as its attribute: with environments a
 * request naming none is refused, or acts on whichever holds the same changes.
 */
function environmentOf(page: PageContext): SafeHtml | '' {
  return page.environment == null ? '' : markup` data-environment="${page.environment}"`;
}

/** `rollback`: its button's environment attribute (environmentOf); null: no Roll back button. */
function runEntry(run: RecentRun, newest: boolean, rollback: SafeHtml | '' | null): SafeHtml {
  const drift = run.drift
    ? badge('warn', `drift: ${plural(run.drift.changes.length, 'change')}`)
    : '';
  const omitted =
    run.planChangesOmitted > 0
      ? markup`\n<span class="t-dim">… ${plural(run.planChangesOmitted, 'more change')} not kept here: \`poolsync plan\` shows them all.</span>`
      : '';
  const problemsOmitted = problemsNotKept(run.planProblemsOmitted);
  const counts = run.counts ?? undefined;
  let plan: SafeHtml = run.planElsewhere
    ? markup`<p class="muted">${runWords.planElsewhere}</p>`
    : markup`<p class="muted">No plan: the run ended before planning.</p>`;
  if (run.plan) {
    const text = renderText(run.plan, {
      color: true,
      counts,
      ...renderedOfRun(run),
      actionsLine: runWords.actionsLine(run.result),
    });
    plan = markup`<pre class="plan">${ansiToHtml(text)}${omitted}${problemsOmitted ? markup`\n<span class="t-dim">${problemsOmitted}</span>` : ''}</pre>`;
    // A long plan folded (issue 78: 23,500 px of the newest run's at 10,000 objects).
    const lines = text.split('\n').length;
    if (lines > FOLDED_PLAN_LINES)
      plan = markup`<details class="plan" id="run-${run.id}-plan"><summary>The plan (${lines.toLocaleString('en-US')} lines): ${closingLine(run.plan, counts)}</summary>${plan}</details>`;
  }
  const r = run.repeats;
  // Runs that said the same again: one line, `in sync since …` (status.ts withRecentRun).
  const head = r
    ? markup`<span class="run-id">#${run.id}–#${r.lastId}</span> ${resultBadge(run.result)} <span class="muted">since ${when(run.finishedAt)}, last ${when(r.lastFinishedAt)}</span> <span class="trigger">${runWords.folded(r)}</span>`
    : markup`<span class="run-id">#${run.id}</span> ${resultBadge(run.result)} <span class="trigger">${run.trigger.join(', ')}</span> <span class="muted">${when(run.startedAt)}</span> <span class="dur">${duration(run.durationMs)}</span>`;
  return markup`<details class="run" id="run-${run.id}"${newest ? markup` open` : ''}>
<summary>${head} ${commitRef(run.commit)} ${drift}</summary>
<p class="message">${run.message}${run.rollback ? markup` <span class="muted">(rollback to run #${run.rollback.to})</span>` : ''}</p>
${rollback !== null && run.commit !== null && reachedCommit(run.result) ? markup`<p class="js-only"><button type="button" class="rollback" data-run="${run.id}"${rollback}>Roll back to run #${run.id}</button></p>` : ''}
${phases(run)}
${plan}
</details>`;
}

/** Duration by phase: a bar (inline SVG: no style attributes, which the CSP forbids) and a list. */
function phases(run: RecentRun): SafeHtml {
  const entries = Object.entries(run.phasesMs);
  const named = entries.reduce((sum, [, ms]) => sum + ms, 0);
  const rest = Math.max(0, run.durationMs - named);
  if (rest > 0) entries.push(['other', rest]);
  if (entries.length === 0) return markup``;
  const total = Math.max(1, named + rest);
  const colour = (name: string, i: number) => (name === 'other' ? 'other' : String(i % 6));
  let x = 0;
  const rects = entries.map(([name, ms], i) => {
    const w = (ms / total) * BAR_WIDTH;
    const rect = markup`<rect class="ph-${colour(name, i)}" x="${x.toFixed(1)}" y="0" width="${w.toFixed(1)}" height="10"><title>${name} ${duration(ms)}</title></rect>`;
    x += w;
    return rect;
  });
  const items = entries.map(
    ([name, ms], i) =>
      markup`<li><span class="key ph-${colour(name, i)}"></span>${name} ${duration(ms)}</li>`,
  );
  return markup`<div class="phases"><svg width="${BAR_WIDTH}" height="10" role="img" aria-label="duration by phase">${rects}</svg><ul>${items}</ul></div>`;
}
