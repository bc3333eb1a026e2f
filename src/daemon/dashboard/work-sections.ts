/**
 * The dashboard's sections about what waits or went wrong: changes held for approval (the only
 * thing a person can act on from the page), manual steps (the runbook), drift and what was put
 * back, generated files that differ from the committed ones, and the last plan's problems.
 */
import { runbookLines } from '../../render/runbook.js';
import type { DaemonStatus } from '../status.js';
import { ansiToHtml } from './ansi.js';
import { html, type SafeHtml } from './html.js';
import { changeLine, commitRef, plural, section, when } from './parts.js';

export interface PageContext {
  /** POST /approve is on (the daemon has an admin token). */
  approvals: boolean;
  /** `http://host:port` for the `poolsync approve --daemon` command shown; null: unknown. */
  daemonUrl: string | null;
}

export function heldSection(s: DaemonStatus, page: PageContext): SafeHtml {
  const a = s.approval;
  const pending = a?.pending ?? null;
  const parts: SafeHtml[] = [];
  if (pending) {
    const daemon = page.daemonUrl ?? 'http://<this daemon>';
    parts.push(
      html`<div class="held" data-fingerprint="${pending.fingerprint}">
        <p>
          ${plural(pending.changes.length, 'change')} held since ${when(pending.since)} (commit
          ${commitRef(pending.commit)}), fingerprint <code class="fp">${pending.fingerprint}</code>:
        </p>
        <pre class="plan">
${pending.changes.map((c) => html`${changeLine(c)}${c.reason ? html` <span class="t-dim"># ${c.reason}</span>` : ''} `)}</pre>
        ${
          page.approvals
            ? html`<p class="js-only">
                <button type="button" class="approve" data-fingerprint="${pending.fingerprint}">
                  Approve exactly these ${plural(pending.changes.length, 'change')}
                </button>
              </p>`
            : html`<p class="muted">
                Approving needs the daemon admin token, which is not set (<code
                  >POOLSYNC_ADMIN_TOKEN</code
                >
                or <code>--admin-token-file</code>).
              </p>`
        }
        <p class="muted">
          Or from a shell: <code>poolsync approve ${pending.fingerprint} --daemon ${daemon}</code>,
          or comment <code>poolsync apply</code> on the pull request.
        </p>
      </div>`,
    );
  } else if (s.waitingForApproval.length > 0) {
    // A follower sees the held changes in the plan but the leader holds the approval.
    parts.push(
      html`<pre class="plan">${s.waitingForApproval.map((c) => html`${changeLine(c)} `)}</pre>
        <p class="muted">
          The leader holds the approval of these: approve on its page or with
          <code>poolsync approve</code>.
        </p>`,
    );
  } else {
    parts.push(
      html`<p class="muted">
        Nothing is
        held${s.policy === 'safe' ? '' : html` (policy <code>${s.policy}</code> holds nothing back)`}.
      </p>`,
    );
  }
  for (const g of a?.granted ?? []) {
    parts.push(
      html`<p class="granted">
        Approved by <b>${g.approver}</b> (${g.via}) ${when(g.at)}:
        <code class="fp">${g.fingerprint}</code>, applied once the daemon holds exactly these
        changes.
      </p>`,
    );
  }
  if (a?.lastApplied) {
    const l = a.lastApplied;
    parts.push(
      html`<p class="last-applied">
        Last approval applied ${when(l.appliedAt)}: approved by
        <b>${l.approver}</b> (${l.via}${l.source ? html` ${l.source}` : ''}),
        <code class="fp">${l.fingerprint}</code>, commit ${commitRef(l.commit)}.
      </p>`,
    );
  }
  if (a?.lastRefused) {
    const r = a.lastRefused;
    parts.push(
      html`<p class="last-refused">
        Last refusal ${when(r.at)} (${r.approver}, ${r.via}): ${r.reason}
      </p>`,
    );
  }
  return section('held', 'Held for approval', parts);
}

export function manualSection(s: DaemonStatus): SafeHtml | '' {
  if (s.manualSteps.length === 0) return '';
  const lines = runbookLines(s.manualSteps, { indent: '' });
  return section(
    'manual',
    'Manual steps waiting',
    html`<pre class="plan runbook">${ansiToHtml(lines.join('\n'))}</pre>`,
    html`<p>
      The control plane has no public API for
      ${s.manualSteps.length === 1 ? 'this step' : 'these steps'}: a person runs
      ${s.manualSteps.length === 1 ? 'it' : 'them'} (or
      <code>poolsync apply --flyte-cli PATH</code>); the daemon never does.
    </p>`,
  );
}

export function driftSection(s: DaemonStatus): SafeHtml {
  const d = s.lastDrift;
  if (!d) {
    return section(
      'drift',
      'Drift',
      html`<p class="muted">
        No drift found: nothing was changed on the control plane behind the repository's back.
      </p>`,
    );
  }
  const fixed = d.changes.filter((c) => c.corrected).length;
  return section(
    'drift',
    'Drift',
    html`<p>
        Run #${d.run} (${when(d.at)}, commit ${commitRef(d.commit)}) found
        ${plural(d.changes.length, 'change')} made on the control plane while the repository had not
        moved; ${fixed === d.changes.length ? 'all were put back' : `${fixed} put back`}.
      </p>
      <pre class="plan">
${d.changes.map(
          (c) =>
            html`${changeLine(c)}
            ${c.corrected ? html`<span class="t-green">corrected</span>` : html`<span class="t-red">not corrected</span>`} `,
        )}</pre>`,
  );
}

export function renderedSection(s: DaemonStatus): SafeHtml | '' {
  if (s.renderedFiles.length === 0) return '';
  return section(
    'rendered',
    'Rendered files that differ',
    s.renderedFiles.map(
      (f) =>
        html`<details class="rendered">
          <summary>
            <code>${f.path}</code> (${f.kind}):
            ${f.status === 'missing' ? 'not committed yet' : 'the committed file differs from the rendering'}${f.committed ? html`; committed ${commitRef(f.committed)}` : ''}
          </summary>
          <pre class="plan">${diffLines(f.diff)}</pre>
        </details>`,
    ),
    html`<p>
      What Helm / Argo CD / Flux deploy is the committed file: run <code>poolsync render</code> and
      commit it, or run the daemon with <code>--commit-rendered</code>.
    </p>`,
  );
}

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
              : '';
    return style
      ? html`<span class="${style}">${ansiToHtml(line)}</span> `
      : html`${ansiToHtml(line)} `;
  });
}

export function problemsSection(s: DaemonStatus): SafeHtml | '' {
  if (s.errors.length + s.blocked.length + s.warnings.length === 0) return '';
  return section(
    'problems',
    'Errors, blocked changes and warnings',
    html`${
      s.errors.length > 0
        ? html`<ul class="errors">
            ${s.errors.map((e) => html`<li><span class="t-red">error</span> <code>${e.code}</code>${e.location ? html` <code>${e.location}</code>` : ''}${e.address ? html` <b>${e.address}</b>` : ''}: ${e.message}</li>`)}
          </ul>`
        : ''
    }${
      s.blocked.length > 0
        ? html`<ul class="blocked">
            ${s.blocked.map((b) => html`<li>${changeLine(b)}: ${b.reason ?? 'blocked'}</li>`)}
          </ul>`
        : ''
    }${
      s.warnings.length > 0
        ? html`<ul class="warnings">
            ${s.warnings.map((w) => html`<li><span class="t-yellow">warning</span> <code>${w.code}</code> <b>${w.address}</b>: ${w.message}</li>`)}
          </ul>`
        : ''
    }`,
  );
}
