/** `plan --refresh-only`: the drift since the last apply, as text, JSON or markdown. */
import type { RefreshReport } from '../plan/refresh.js';
import { fieldLines, plural } from './common.js';

const SYMBOL = { changed: '~', appeared: '+', gone: '-' } as const;
const NOTE = {
  changed: '',
  appeared: '  (appeared outside poolsync)',
  gone: '  (removed outside poolsync)',
} as const;
/** While an apply from here did not finish, what changed may be its own: not said to be outside. */
const NOTE_SINCE = { changed: '', appeared: '  (appeared since)', gone: '  (removed since)' };

function since(r: RefreshReport): string {
  const c = r.last_applied.commit;
  return `the last apply (${r.last_applied.applied_at}${c ? `, commit ${c.slice(0, 12)}` : ''})`;
}

/** `an apply from here started at T (commit C) and did not finish`, or null. */
function unfinished(r: RefreshReport): string | null {
  const u = r.unfinished_apply;
  if (!u) return null;
  const c = u.commit ? ` (commit ${u.commit.slice(0, 12)})` : '';
  return `an apply from here started at ${u.started_at}${c} and did not finish`;
}

function lines(r: RefreshReport): string[] {
  const out: string[] = [];
  const note = r.unfinished_apply ? NOTE_SINCE : NOTE;
  for (const d of r.drift) {
    out.push(`${SYMBOL[d.drift].padStart(3)} ${d.address}${note[d.drift]}`);
    if (d.drift !== 'changed') continue;
    for (const f of fieldLines({ action: 'update', diff: d.diff })) out.push(`      ${f.text}`);
  }
  return out;
}

/** No drift: the control plane is as the last apply left it, and an unfinished one changed nothing. */
function asLeft(r: RefreshReport): string {
  const began = unfinished(r);
  const also = began === null ? '' : `; ${began}, before it changed anything compared here`;
  return `The control plane is as ${since(r)} left it${also}.`;
}

function renderRefreshText(r: RefreshReport): string {
  const began = unfinished(r);
  if (r.drift.length === 0) return `No drift. ${asLeft(r)}\n`;
  if (began === null)
    return (
      [
        `Objects changed outside poolsync since ${since(r)}:`,
        '',
        ...lines(r),
        '',
        `Drift: ${plural(r.drift.length, 'object')} changed outside poolsync. This is a refresh-only plan: ` +
          'nothing is proposed; run `poolsync plan` to see what apply would do about it.',
      ].join('\n') + '\n'
    );
  return (
    [
      `Objects changed since ${since(r)}; ${began}, so some or all of these may be its own changes, not changes outside poolsync:`,
      '',
      ...lines(r),
      '',
      `Drift: ${plural(r.drift.length, 'object')} changed since the last apply, some or all perhaps by the apply that did not finish. ` +
        'This is a refresh-only plan: nothing is proposed; run `poolsync plan` to see what apply would do (it finishes what that apply began).',
    ].join('\n') + '\n'
  );
}

function renderRefreshMarkdown(r: RefreshReport): string {
  const began = unfinished(r);
  if (r.drift.length === 0) return `**No drift.** ${asLeft(r)}\n`;
  const headline =
    began === null
      ? `**Drift: ${plural(r.drift.length, 'object')} changed outside poolsync since ${since(r)}.**`
      : `**Drift: ${plural(r.drift.length, 'object')} changed since ${since(r)}, some or all perhaps by an apply that did not finish** (${began}).`;
  return (
    [
      `${headline} Refresh-only: nothing is proposed.`,
      '',
      '```diff',
      ...lines(r).map((l) => l.replace(/^ {2}~/, '~').replace(/^ {2}([+-])/, '$1')),
      '```',
    ].join('\n') + '\n'
  );
}

/** The drift report in each format of `plan --output`. */
export const renderRefresh = {
  text: renderRefreshText,
  json: (r: RefreshReport): string => JSON.stringify(r, null, 2) + '\n',
  markdown: renderRefreshMarkdown,
};
