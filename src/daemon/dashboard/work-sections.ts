/**
 * The dashboard's sections about what waits or went wrong: changes held for approval (the only
 * thing a person can act on from the page), manual steps (the runbook), drift and what was put
 * back, generated files that differ from the committed ones, and the last plan's problems.
 */
import { runbookLines } from '../../render/runbook.js';
import { warningText } from '../../plan/reasons.js';
import type { ChangeBrief, DaemonStatus } from '../status.js';
import { ansiToHtml } from './ansi.js';
import { markup, type SafeHtml } from './html.js';
import { plural } from '../../render/index.js';
import { changeLine, commitRef, section, when } from './parts.js';

export interface PageContext {
  /** POST /approve is on (the daemon has an admin token). */
  approvals: boolean;
  /** `http://host:port` for the `poolsync approve --daemon` command shown; null: unknown. */
  daemonUrl: string | null;
  /**
   * This replica's identity when it is a follower showing the leader's /status (runs and held
   * changes live on the leader); null: the page shows this daemon's own status.
   */
  relayedBy?: string | null;
}

/** Changes one per line, in a terminal-like block. */
function changeBlock(changes: readonly ChangeBrief[]): SafeHtml {
  return markup`<pre class="plan">${changes.map(
    (c) =>
      markup`${changeLine(c)}${c.reason ? markup` <span class="t-dim"># ${c.reason}</span>` : ''}\n`,
  )}</pre>`;
}

export function heldSection(s: DaemonStatus, page: PageContext): SafeHtml {
  const a = s.approval;
  const pending = a?.pending ?? null;
  const parts: SafeHtml[] = [];
  if (pending) {
    const n = plural(pending.changes.length, 'change');
    const daemon = page.daemonUrl ?? 'http://<this daemon>';
    const action = page.approvals
      ? markup`<p class="js-only"><button type="button" class="approve" data-fingerprint="${pending.fingerprint}">Approve exactly these ${n}</button></p>`
      : markup`<p class="muted">Approving needs the daemon admin token, which is not set (<code>POOLSYNC_ADMIN_TOKEN</code> or <code>--admin-token-file</code>).</p>`;
    parts.push(markup`<div class="held">
<p>${n} held since ${when(pending.since)} (commit ${commitRef(pending.commit)}), fingerprint <code class="fp">${pending.fingerprint}</code>:</p>
${changeBlock(pending.changes)}
${action}
<p class="muted">Or from a shell: <code>poolsync approve ${pending.fingerprint} --daemon ${daemon}</code>, or comment <code>poolsync apply</code> on the pull request.</p>
</div>`);
  } else if (s.waitingForApproval.length > 0) {
    // A follower sees the held changes in the plan; the leader holds their approval.
    parts.push(markup`${changeBlock(s.waitingForApproval)}
<p class="muted">The leader holds the approval of these: approve on its page or with <code>poolsync approve</code>.</p>`);
  } else {
    const why =
      s.policy === 'safe' ? '' : markup` (policy <code>${s.policy}</code> holds nothing back)`;
    parts.push(markup`<p class="muted">Nothing is held${why}.</p>`);
  }
  for (const g of a?.granted ?? []) {
    parts.push(
      markup`<p class="granted">Approved by <b>${g.approver}</b> (${g.via}) ${when(g.at)}: <code class="fp">${g.fingerprint}</code>, applied once the daemon holds exactly these changes.</p>`,
    );
  }
  if (a?.lastApplied) {
    const l = a.lastApplied;
    const source = l.source ? ` ${l.source}` : '';
    parts.push(
      markup`<p class="last-applied">Last approval applied ${when(l.appliedAt)}: approved by <b>${l.approver}</b> (${l.via}${source}), <code class="fp">${l.fingerprint}</code>, commit ${commitRef(l.commit)}.</p>`,
    );
  }
  if (a?.lastRefused) {
    const r = a.lastRefused;
    parts.push(
      markup`<p class="last-refused">Last refusal ${when(r.at)} (${r.approver}, ${r.via}): ${r.reason}</p>`,
    );
  }
  return section('held', 'Held for approval', parts);
}

export function manualSection(s: DaemonStatus): SafeHtml | '' {
  const n = s.manualSteps.length;
  if (n === 0) return '';
  const lines = runbookLines(s.manualSteps, { indent: '' });
  return section(
    'manual',
    'Manual steps waiting',
    markup`<pre class="plan runbook">${ansiToHtml(lines.join('\n'))}</pre>`,
    markup`<p>The control plane has no public API for ${n === 1 ? 'this step' : 'these steps'}: a person runs ${n === 1 ? 'it' : 'them'} (or <code>poolsync apply --flyte-cli PATH</code>); the daemon never does.</p>`,
  );
}

export function driftSection(s: DaemonStatus): SafeHtml {
  const d = s.lastDrift;
  if (!d) {
    return section(
      'drift',
      'Drift',
      markup`<p class="muted">No drift found: nothing was changed on the control plane behind the repository's back.</p>`,
    );
  }
  const fixed = d.changes.filter((c) => c.corrected).length;
  const put = fixed === d.changes.length ? 'all were put back' : `${fixed} put back`;
  const state = (corrected: boolean) =>
    corrected
      ? markup`<span class="t-green">corrected</span>`
      : markup`<span class="t-red">not corrected</span>`;
  return section(
    'drift',
    'Drift',
    markup`<p>Run #${d.run} (${when(d.at)}, commit ${commitRef(d.commit)}) found ${plural(d.changes.length, 'change')} made on the control plane while the repository had not moved; ${put}.</p>
<pre class="plan">${d.changes.map((c) => markup`${changeLine(c)}  ${state(c.corrected)}\n`)}</pre>`,
  );
}

export function renderedSection(s: DaemonStatus): SafeHtml | '' {
  if (s.renderedFiles.length === 0) return '';
  return section(
    'rendered',
    'Rendered files that differ',
    s.renderedFiles.map((f) => {
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
    markup`<p>What Helm / Argo CD / Flux deploy is the committed file: run <code>poolsync render</code> and commit it, or run the daemon with <code>--commit-rendered</code>.</p>`,
  );
}

/** A unified diff coloured as git colours it. */
function diffLines(diff: string): SafeHtml[] {
  return diff.split('\n').map((line) => {
    const style =
      line.startsWith('+++') || line.startsWith('---')
        ? 't-bold'
        : line.startsWith('+')
          ? 't-green'
          : line.startsWith('-')
            ? 't-red'
            : line.startsWith('@@')
              ? 't-cyan'
              : null;
    return style ? markup`<span class="${style}">${line}</span>\n` : markup`${line}\n`;
  });
}

export function problemsSection(s: DaemonStatus): SafeHtml | '' {
  if (s.errors.length + s.blocked.length + s.warnings.length === 0) return '';
  const errors = s.errors.map(
    (e) =>
      markup`<li><span class="t-red">error</span> <code>${e.code}</code>${e.location ? markup` <code>${e.location}</code>` : ''}${e.address ? markup` <b>${e.address}</b>` : ''}: ${e.message}</li>`,
  );
  const blocked = s.blocked.map(
    (b) => markup`<li><code>${changeLine(b)}</code>: ${b.reason ?? 'blocked'}</li>`,
  );
  const warnings = s.warnings.map(
    (w) =>
      markup`<li><span class="t-yellow">warning</span> <code>${w.code}</code> <b>${w.address}</b>: ${warningText(w)}</li>`,
  );
  return section(
    'problems',
    'Errors, blocked changes and warnings',
    markup`${errors.length > 0 ? markup`<ul class="errors">${errors}</ul>` : ''}${
      blocked.length > 0 ? markup`<ul class="blocked">${blocked}</ul>` : ''
    }${warnings.length > 0 ? markup`<ul class="warnings">${warnings}</ul>` : ''}`,
  );
}
