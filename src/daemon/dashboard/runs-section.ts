/**
 * The last runs: trigger, outcome, duration by phase (whatever phases the run recorded, in
 * its order) and the plan each made, rendered by the terminal's renderer (src/render/text.ts)
 * and shown with its colours (ansi.ts).
 */
import { plural, renderText } from '../../render/index.js';
import type { RecentRun } from '../status.js';
import { ansiToHtml } from './ansi.js';
import { markup, type SafeHtml } from './html.js';
import { commitRef, duration, resultBadge, section, when } from './parts.js';

const BAR_WIDTH = 240;

export function runsSection(runs: readonly RecentRun[]): SafeHtml {
  if (runs.length === 0) {
    return section('runs', 'Recent runs', markup`<p class="muted">No run has finished yet.</p>`);
  }
  return section(
    'runs',
    'Recent runs',
    runs.map((run, i) => runEntry(run, i === 0)),
    markup`<p class="muted">The last ${plural(runs.length, 'run')} that evaluated the repository, newest first (polls that found no new commit are left out), kept across restarts; <code>poolsync history</code> lists them.</p>`,
  );
}

function runEntry(run: RecentRun, newest: boolean): SafeHtml {
  const drift = run.drift
    ? markup`<span class="badge warn">drift: ${plural(run.drift.changes.length, 'change')}</span>`
    : '';
  const plan = run.plan
    ? planBlock(run)
    : markup`<p class="muted">No plan: the run ended before planning.</p>`;
  return markup`<details class="run" id="run-${run.id}"${newest ? markup` open` : ''}>
<summary><span class="run-id">#${run.id}</span> ${resultBadge(run.result)} <span class="trigger">${run.trigger.join(', ')}</span> <span class="muted">${when(run.startedAt)}</span> <span class="dur">${duration(run.durationMs)}</span> ${commitRef(run.commit)} ${drift}</summary>
<p class="message">${run.message}</p>
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
  const total = Math.max(
    1,
    entries.reduce((sum, [, ms]) => sum + ms, 0),
  );
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

function planBlock(run: RecentRun): SafeHtml {
  const text = renderText(run.plan!, { color: true });
  const omitted =
    run.planChangesOmitted > 0
      ? markup`\n<span class="t-dim">… ${plural(run.planChangesOmitted, 'more change')} not kept here: \`poolsync plan\` shows them all.</span>`
      : '';
  return markup`<pre class="plan">${ansiToHtml(text)}${omitted}</pre>`;
}
