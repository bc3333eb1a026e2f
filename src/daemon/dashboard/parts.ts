/** Small pieces every section of the dashboard uses: commits, times, durations, result badges, changes. */
import { ACTION_STYLE, SYMBOL } from '../../render/index.js';
import type { ChangeBrief } from '../status.js';
import { markup, type SafeHtml } from './html.js';

/** A commit as 12 hex digits, the full one on hover; `—` when there is none. */
export function commitRef(commit: string | null | undefined): SafeHtml {
  if (!commit) return markup`<span class="muted">—</span>`;
  return markup`<code title="${commit}">${commit.slice(0, 12)}</code>`;
}

/** An ISO time as `2026-11-22 12:01:07 UTC` (the machine-readable value in a <time>). */
export function when(iso: string | null | undefined): SafeHtml {
  if (!iso) return markup`<span class="muted">never</span>`;
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return markup`${iso}`;
  const text = `${d.toISOString().slice(0, 19).replace('T', ' ')} UTC`;
  return markup`<time datetime="${iso}">${text}</time>`;
}

export function duration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
  const s = Math.round(ms / 1000);
  return `${Math.floor(s / 60)} min ${s % 60} s`;
}

const RESULT_TONE: Record<string, 'ok' | 'warn' | 'bad' | 'info'> = {
  applied: 'ok',
  in_sync: 'ok',
  planned: 'info',
  unchanged: 'info',
  waiting_for_approval: 'warn',
  invalid: 'bad',
  failed: 'bad',
};

/** A run result as a coloured badge: `waiting for approval`. */
export function resultBadge(result: string | null | undefined): SafeHtml {
  if (!result) return markup`<span class="badge info">no run yet</span>`;
  const tone = RESULT_TONE[result] ?? 'info';
  return markup`<span class="badge ${tone}">${result.replace(/_/g, ' ')}</span>`;
}

export function yesNo(ok: boolean | null, yes: string, no: string, unknown = 'unknown'): SafeHtml {
  if (ok === null) return markup`<span class="badge info">${unknown}</span>`;
  return ok
    ? markup`<span class="badge ok">${yes}</span>`
    : markup`<span class="badge bad">${no}</span>`;
}

/** `  - Cluster/prod-2 (delete)` with the terminal's symbol and colour for the action. */
export function changeLine(c: Pick<ChangeBrief, 'address' | 'action'>): SafeHtml {
  const action = c.action as keyof typeof SYMBOL;
  const symbol = SYMBOL[action] ?? '?';
  const style = ACTION_STYLE[action] ?? 'dim';
  return markup`<span class="t-${style}">${symbol.padStart(3)}</span> <span class="t-bold">${c.address}</span> <span class="t-dim">(${c.action})</span>`;
}

export function section(
  id: string,
  title: string,
  body: SafeHtml | SafeHtml[],
  note?: SafeHtml,
): SafeHtml {
  return markup`<section id="${id}" aria-labelledby="${id}-h"><h2 id="${id}-h">${title}</h2>${note ?? ''}${body}</section>`;
}
