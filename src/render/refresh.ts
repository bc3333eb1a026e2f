/** `plan --refresh-only`: the drift since the last apply, as text, JSON or markdown. */
import type { RefreshReport } from '../plan/refresh.js';
import { fieldLines, plural } from './common.js';

const SYMBOL = { changed: '~', appeared: '+', gone: '-' } as const;
const NOTE = {
  changed: '',
  appeared: '  (appeared outside poolsync)',
  gone: '  (removed outside poolsync)',
} as const;

function since(r: RefreshReport): string {
  const c = r.last_applied.commit;
  return `the last apply (${r.last_applied.applied_at}${c ? `, commit ${c.slice(0, 12)}` : ''})`;
}

function lines(r: RefreshReport): string[] {
  const out: string[] = [];
  for (const d of r.drift) {
    out.push(`${SYMBOL[d.drift].padStart(3)} ${d.address}${NOTE[d.drift]}`);
    if (d.drift !== 'changed') continue;
    for (const f of fieldLines({ action: 'update', diff: d.diff })) out.push(`      ${f.text}`);
  }
  return out;
}

function renderRefreshText(r: RefreshReport): string {
  if (r.drift.length === 0) return `No drift. The control plane is as ${since(r)} left it.\n`;
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
}

function renderRefreshMarkdown(r: RefreshReport): string {
  if (r.drift.length === 0) return `**No drift.** The control plane is as ${since(r)} left it.\n`;
  return (
    [
      `**Drift: ${plural(r.drift.length, 'object')} changed outside poolsync since ${since(r)}.** Refresh-only: nothing is proposed.`,
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
