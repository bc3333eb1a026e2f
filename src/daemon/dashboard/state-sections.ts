/**
 * The dashboard's picture of where things stand: the outcome, the commits seen and applied,
 * the replicas and who leads, and whether each system the daemon talks to answers.
 */
import { closingLine, plural } from '../../render/index.js';
import type { DaemonStatus } from '../status.js';
import { markup, type SafeHtml } from './html.js';
import { commitRef, resultBadge, section, when, yesNo } from './parts.js';
import type { PageContext } from './work-sections.js';

export function overviewSection(s: DaemonStatus, page?: PageContext): SafeHtml {
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
        ? markup` <span class="badge ok">= seen</span>`
        : markup` <span class="badge warn">behind the commit seen</span>`;
  const lastPlan = planned
    ? markup`<a href="#run-${planned.id}">run #${planned.id}</a>: ${closingLine(planned.plan!)}`
    : markup`<span class="muted">none</span>`;
  const follower = page?.relayedBy
    ? markup`<p class="notice">Served by <code>${page.relayedBy}</code>, a follower: this is the state of the leader <code>${
        s.leader?.identity ?? ''
      }</code>, read from its /status; an approval made here is handed to it.</p>`
    : s.leader?.enabled && !s.leader.isLeader
      ? markup`<p class="notice">This replica (<code>${s.leader.identity}</code>) follows ${
          s.leader.leader ? markup`the leader <code>${s.leader.leader}</code>` : 'no leader yet'
        }: only the leader reconciles, applies and holds approvals, so runs and held changes are on its page.</p>`
      : undefined;
  return section(
    'overview',
    'Overview',
    markup`<dl class="facts">
<div><dt>Outcome</dt><dd id="outcome">${resultBadge(s.outcome)}</dd></div>
<div><dt>Ready</dt><dd>${yesNo(s.ready, 'ready', 'not ready')}</dd></div>
<div><dt>Policy</dt><dd><code>${s.policy}</code></dd></div>
<div><dt>Source</dt><dd>${source}</dd></div>
<div><dt>Commit seen</dt><dd id="commit-seen">${commitRef(s.commit)}</dd></div>
<div><dt>Commit applied</dt><dd id="commit-applied">${commitRef(s.appliedCommit)}${applied}</dd></div>
<div><dt>Last success</dt><dd>${when(s.lastSuccessAt)}</dd></div>
<div><dt>Last plan</dt><dd>${lastPlan}</dd></div>
</dl>`,
    follower,
  );
}

export function replicasSection(s: DaemonStatus): SafeHtml {
  const l = s.leader;
  if (!l || !l.enabled) {
    return section(
      'replicas',
      'Replicas',
      markup`<p>One replica (no <code>--leader-elect</code>): this daemon reconciles and applies.</p>`,
    );
  }
  const role = l.isLeader
    ? markup`<span class="badge ok">leader</span>`
    : markup`<span class="badge info">follower</span>`;
  const leaderRow = l.isLeader
    ? ''
    : markup`<tr><td>${
        l.leader
          ? markup`<code>${l.leader}</code>`
          : markup`<span class="muted">none elected yet</span>`
      }</td><td>${l.leader ? markup`<span class="badge ok">leader</span>` : ''}</td><td></td></tr>`;
  return section(
    'replicas',
    'Replicas',
    markup`<table>
<thead><tr><th>Replica</th><th>Role</th><th>Since</th></tr></thead>
<tbody>
<tr><td><code>${l.identity}</code> <span class="muted">(this page)</span></td><td>${role}</td><td>${when(l.lastTransitionAt)}</td></tr>
${leaderRow}
</tbody>
</table>
<p class="muted">Elected through the Kubernetes Lease <code>${l.lease}</code>, which names only its holder: other followers are not listed.${
      l.isLeader ? '' : ' Only the leader reconciles, applies and holds approvals.'
    }</p>`,
  );
}

export function connectionsSection(s: DaemonStatus): SafeHtml {
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
  if (s.leader?.enabled) {
    rows.push(markup`<tr>
<td>Kubernetes Lease</td>
<td><code>${s.leader.lease}</code></td>
<td>${yesNo(s.leader.leader !== null ? true : null, 'a leader is elected', '', 'no leader known')}</td>
<td>${when(s.leader.lastTransitionAt)}</td>
<td></td>
</tr>`);
  }
  return section(
    'connections',
    'Connections',
    markup`<table>
<thead><tr><th>System</th><th>Where</th><th>State</th><th>Last answered</th><th>Last error</th></tr></thead>
<tbody>${rows}</tbody>
</table>`,
  );
}

/** What poolsync manages here, each with its live status (`poolsync state list` prints the same). */
export function managedSection(s: DaemonStatus): SafeHtml {
  const m = s.managed;
  const title = 'Managed objects';
  if (m === null) return section('managed', title, markup`<p class="muted">Not read yet.</p>`);
  if (!m.recorded)
    return section(
      'managed',
      title,
      markup`<p class="muted">No inventory yet: poolsync has applied nothing to this control plane.</p>`,
    );
  const rows = m.objects.map(
    (o) =>
      markup`<tr><td><code>${o.address}</code></td><td>${o.status ?? markup`<span class="badge bad">missing</span>`}</td></tr>`,
  );
  const more = m.count - m.objects.length;
  const forgotten =
    m.forgotten.length > 0
      ? markup`<p class="muted">Forgotten (never pruned): ${m.forgotten.map((a, i) => markup`${i > 0 ? ', ' : ''}<code>${a}</code>`)}</p>`
      : '';
  return section(
    'managed',
    title,
    markup`<details${m.count <= 50 ? markup` open` : ''}><summary>${plural(m.count, 'object')}${m.missing > 0 ? markup` <span class="badge bad">${m.missing} missing</span>` : ''}</summary>
<table>
<thead><tr><th>Object</th><th>Live</th></tr></thead>
<tbody>${rows}</tbody>
</table>${more > 0 ? markup`<p class="muted">${plural(more, 'more object')}: <code>poolsync state list</code> lists them all.</p>` : ''}</details>
${forgotten}`,
    markup`<p class="muted">What poolsync applied here (its inventory), as the last read of the control plane found it; <code>poolsync state list</code> prints the same.</p>`,
  );
}
