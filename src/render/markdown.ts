/**
 * Markdown for a pull-request comment: the closing line first, the changes in a fenced `diff`
 * block, then blocked items and warnings. GitHub colours `+` green, `-` red and `!` orange but
 * not `~`, so an update is `!` (blocked items are never in the block; a legend says so). Kept
 * under a size budget (GitHub caps comments at 65,536 characters).
 */
import { escapeTerminal } from '../util/terminal-text.js';
import { visibleChanges, type Change, type Plan } from '../model/plan.js';
import {
  capabilitiesOn,
  capabilitySteps,
  causeText,
  closingLine,
  fieldLines,
  footnotes,
  headerLines,
  hasNoChanges,
  noteText,
  plural,
  SYMBOL,
  unmanagedReason,
  warningText,
  whyText,
} from './common.js';
import { errorText } from './reasons.js';
import { manualSteps, runbookLines, waitingNote } from './runbook.js';

/** An update's line in the diff block: orange on GitHub, where `~` has no colour. */
const UPDATE_IN_DIFF = '!';

const IN_DIFF: ReadonlySet<Change['action']> = new Set(['create', 'update', 'replace', 'delete']);

/** `maxChars`: upper bound of the output length; the change list is cut to fit. */
export function renderMarkdown(plan: Plan, opts: { maxChars?: number } = {}): string {
  const maxChars = opts.maxChars ?? 60_000;
  const head = headLines(plan);
  const changes = visibleChanges(plan);
  const tail = [
    ...capabilitySection(plan),
    ...blockedSection(changes),
    ...manualSection(plan),
    ...warningsSection(plan),
    ...unmanagedSection(changes),
  ];
  const meta = `<sub>commit ${plan.commit ? `\`${plan.commit.slice(0, 12)}\`` : 'unknown (not a clean Git work tree)'} · desired \`${short(plan.desired_fingerprint)}\` · live \`${short(plan.live_fingerprint)}\`</sub>`;
  const applied = changes.filter((c) => IN_DIFF.has(c.action));
  const body =
    applied.length > 0
      ? diffSection(applied, maxChars - [...head, ...tail, meta].join('\n').length - 200)
      : [];
  return [...head, ...body, ...tail, meta].join('\n') + '\n';
}

function headLines(plan: Plan): string[] {
  const head: string[] = [];
  if (plan.errors.length > 0) {
    head.push(
      `**Plan failed** with ${plural(plan.errors.length, 'error')}: nothing will be applied.`,
      '',
    );
    for (const e of plan.errors) {
      const where = [e.address, e.location].flatMap((w) => (w ? [code(w)] : [])).join(' at ');
      head.push(`- :x: **${e.code}**${where ? ` ${where}` : ''}: ${markdownText(errorText(e))}`);
    }
    head.push('');
  }
  head.push(
    hasNoChanges(plan)
      ? '**No changes.** The control plane matches the repository.'
      : `**${closingLine(plan)}**`,
  );
  const header = headerLines(plan, code, (w) => `> :warning: ${markdownText(w)}`);
  for (const line of [...footnotes(plan), ...header]) head.push('', line);
  head.push('');
  return head;
}

/** `### title`, its intro, its lines; nothing when it has no lines. */
function section(title: string, intro: string | null, lines: readonly string[]): string[] {
  if (lines.length === 0) return [];
  return [`### ${title}`, '', ...(intro === null ? [] : [intro, '']), ...lines, ''];
}

function capabilitySection(plan: Plan): string[] {
  return section(
    'Capability steps',
    `The control plane supports ${capabilitiesOn(plan) ?? 'none'}; these steps run in this order:`,
    capabilitySteps(plan).map(
      (s) =>
        `- ${code(s.id)} **${s.op}** ${code(s.target)}${markdownText(s.detail)}: ${markdownText(s.why)}`,
    ),
  );
}

function blockedSection(changes: readonly Change[]): string[] {
  return section(
    'Blocked',
    'Nothing is sent for these; they are reported until the repository or the control plane changes.',
    changes
      .filter((c) => c.action === 'blocked')
      .flatMap((c) => {
        const cause = causeText(c);
        // What another object's step does to it (not in the diff block, which lists what is sent).
        return [
          `- **${code(c.address)}**: ${markdownText(whyText(c) ?? '')}`,
          ...(cause ? [`  - ${markdownText(cause)}`] : []),
        ];
      }),
  );
}

function manualSection(plan: Plan): string[] {
  const manual = manualSteps(plan);
  const runbook = runbookLines(plan.steps, { indent: '' }).map(escapeTerminal);
  const fence = fenceFor(runbook);
  return section(
    `Manual steps (${manual.length})`,
    'The control plane has no public API for these: `poolsync apply` runs every other step it can, ' +
      `then stops with exit code 2 and this runbook${waitingNote(plan)}; ` +
      'with `--flyte-cli PATH` it runs these commands itself.',
    manual.length === 0 ? [] : [`${fence}sh`, ...runbook, fence],
  );
}

function warningsSection(plan: Plan): string[] {
  return section(
    'Warnings',
    null,
    plan.warnings.map(
      (w) => `- :warning: **${w.code}** ${code(w.address)}: ${markdownText(warningText(w))}`,
    ),
  );
}

function unmanagedSection(changes: readonly Change[]): string[] {
  const unmanaged = changes.filter((c) => c.action === 'unmanaged');
  if (unmanaged.length === 0) return [];
  const lines = [
    `<details><summary>Unmanaged (${unmanaged.some((c) => unmanagedReason(c)) ? 'reported, never touched' : 'not in the repository, prune is off'})</summary>`,
    '',
  ];
  for (const c of unmanaged) {
    const why = unmanagedReason(c);
    lines.push(`- ${code(c.address)}${why ? `: ${markdownText(why)}` : ''}`);
  }
  lines.push('', '</details>', '');
  return lines;
}

function diffSection(applied: readonly Change[], budget: number): string[] {
  const lines: string[] = [];
  let shown = 0;
  for (const c of applied) {
    const block = diffBlock(c);
    const size = block.join('\n').length + 1;
    if (budget < size) break;
    lines.push(...block);
    budget -= size;
    shown += 1;
  }
  const fence = fenceFor(lines);
  const more = applied.length - shown;
  return [
    `${fence}diff`,
    ...lines,
    fence,
    '<sub>`+` create · `!` update · `-/+` replace · `-` delete</sub>',
    ...(more > 0
      ? ['', `_…and ${more} more changes not shown here: run \`poolsync plan\` for the full plan._`]
      : []),
    '',
  ];
}

function diffBlock(change: Change): string[] {
  const prefix = change.action === 'update' ? UPDATE_IN_DIFF : SYMBOL[change.action];
  // Field lines take the change's marker, so the block takes its colour (a replace's: an update's).
  const marker = prefix === '-/+' ? UPDATE_IN_DIFF : prefix;
  // Names and values come from the repository and the control plane: one line each, escaped.
  const lines = [`${prefix} ${escapeTerminal(change.address)}`];
  for (const comment of [causeText(change), noteText(change)])
    if (comment) lines.push(`${marker}     # ${escapeTerminal(comment)}`);
  for (const f of fieldLines(change))
    lines.push(
      `${marker}     ${escapeTerminal(f.text)}${f.forces ? '  # forces replacement' : ''}`,
    );
  return lines;
}

function short(fingerprint: string): string {
  return fingerprint.replace(/^sha256:/, '').slice(0, 12);
}

/** Plain text with HTML and link syntax neutralised (a name could add an image, a tracking pixel). */
export function markdownText(text: string): string {
  return escapeTerminal(
    text
      .replace(/</g, '&lt;')
      .replace(/>/g, '&gt;')
      .replace(/[[\]]/g, (c) => `\\${c}`)
      .replace(/\r?\n/g, ' '),
  );
}

const longestTicks = (text: string): number =>
  Math.max(0, ...(text.match(/`+/g) ?? []).map((m) => m.length));

/** `text` as a code span nothing in it can end: more backticks than its longest run (CommonMark). */
export function code(text: string): string {
  const safe = escapeTerminal(text);
  const ticks = '`'.repeat(longestTicks(safe) + 1);
  const pad = safe.startsWith('`') || safe.endsWith('`') ? ' ' : '';
  return `${ticks}${pad}${safe}${pad}${ticks}`;
}

/** A code fence longer than any run of backticks in `lines`, so no line can close it. */
function fenceFor(lines: readonly string[]): string {
  return '`'.repeat(Math.max(2, ...lines.map(longestTicks)) + 1);
}
