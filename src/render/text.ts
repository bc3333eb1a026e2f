/** Terraform-style text rendering of a plan; ANSI colour only when asked. */
import type { Change, Plan, Step } from '../model/plan.js';
import { countPlan, type PlanCounts } from '../plan/counts.js';
import { createdFields, type Form } from '../plan/forms.js';
import { isMap } from '../model/flyte.js';
import {
  CreatedLines,
  Pieces,
  SYMBOL,
  addFieldText,
  adoptsOnly,
  capabilitiesOn,
  capabilitySteps,
  causeText,
  closingLine,
  failedLine,
  fieldForm,
  fieldText,
  fieldWidth,
  footnotes,
  headerLines,
  hasNoChanges,
  inWords,
  notMatchingLine,
  noteText,
  unmanagedReason,
  warningText,
  whyText,
} from './common.js';
import { errorText } from './reasons.js';
import { escapeTerminal as esc } from '../util/terminal-text.js';
import { manualSteps, runbookLines, waitingNote } from './runbook.js';
import { isRenderKind, nothingToSend, type UnnamedRender } from './rendered-files.js';

const ANSI = {
  reset: '\x1b[0m',
  bold: '\x1b[1m',
  dim: '\x1b[2m',
  red: '\x1b[31m',
  green: '\x1b[32m',
  yellow: '\x1b[33m',
  magenta: '\x1b[35m',
  cyan: '\x1b[36m',
};
type Paint = (style: keyof typeof ANSI, text: string) => string;

/** The colour of each action (the dashboard paints the same: src/daemon/dashboard). */
export const ACTION_STYLE: Record<Change['action'], keyof typeof ANSI> = {
  create: 'green',
  update: 'yellow',
  replace: 'magenta',
  delete: 'red',
  blocked: 'red',
  unmanaged: 'cyan',
  noop: 'dim',
};

const HEADLINE: Partial<Record<Change['action'], string>> = {
  blocked: 'blocked',
  unmanaged: 'unmanaged: not in the repository, prune is off',
};

/** The whole text at once; `renderTextParts` for output that may run to tens of megabytes. */
export function renderText(plan: Plan, opts: TextOptions): string {
  return [...renderTextParts(plan, opts)].join('');
}

/** Characters kept before they are handed on (the size writeParts batches to). */
const PART_CHARS = 1 << 16;

export interface TextOptions {
  color: boolean;
  /** The whole plan's count, for a plan cut short (the daemon's digest): what the run planned. */
  counts?: PlanCounts;
  /**
   * Generated files that would change (poolsync.yaml `render`): what they carry has no API, so a
   * plan without steps does not say the control plane matches the repository.
   */
  renderedFiles?: readonly ({ path: string } | UnnamedRender)[];
  /** Where what to do with them is said: after the plan (the CLI's diffs), or before it (a run's message). */
  renderedSaid?: 'below' | 'above';
  /** A plan file `show` read (footnotes). */
  saved?: boolean;
  /** The line above the changes: a past run's says what it did, not what poolsync will do. */
  actionsLine?: string;
}

/**
 * A daemon run's rendered files and kinds no file is named for (its message, above its plan,
 * says what to do with them); a kind this build does not know is left out.
 */
export function renderedOfRun(run: {
  renderedFiles?: readonly { path: string }[];
  unnamedRender?: readonly { kind: string }[];
}): Pick<TextOptions, 'renderedFiles' | 'renderedSaid'> {
  const unnamed = (run.unnamedRender ?? []).flatMap(({ kind }): UnnamedRender[] =>
    isRenderKind(kind) ? [{ kind, status: 'unnamed' }] : [],
  );
  const files = [...unnamed, ...(run.renderedFiles ?? [])];
  return files.length > 0 ? { renderedFiles: files, renderedSaid: 'above' } : {};
}

/** The text in parts of whole lines, never built whole: at 100,000 creates it is ~32 MB. */
export function* renderTextParts(plan: Plan, opts: TextOptions): Generator<string> {
  const style = textStyle(opts.color);
  const { paint } = style;
  const out: string[] = [];
  // The changes shown (visibleChanges: not the noops) by section, in one pass: at 100,000
  // changes each pass cost ~10 ms, most of it reading changes spread over the heap.
  const actionable: Change[] = [];
  const unmanaged: Change[] = [];
  const blocked: Change[] = [];
  const { changes } = plan;
  // By index: run once, `for of` made an iterator result per change (~4 MB at 100,000).
  for (let i = 0; i < changes.length; i++) {
    const c = changes[i]!;
    if (c.action === 'noop') continue;
    if (c.action === 'unmanaged') unmanaged.push(c);
    else actionable.push(c);
    if (c.action === 'blocked') blocked.push(c);
  }
  const manual = manualSteps(plan);

  pushHeader(out, plan, paint);
  if (hasNoChanges(plan)) {
    // A failed plan says so at its end, never "No changes".
    if (plan.errors.length === 0) out.push(noChangesLine(plan, opts, paint), '');
  } else {
    out.push(opts.actionsLine ?? 'poolsync will perform the following actions:', '');
    const manualTargets = new Set(manual.map((s) => s.target));
    yield* changeParts(out, actionable, style, manualTargets);
  }
  pushManual(out, plan, manual, paint);
  pushCapabilitySteps(out, plan, paint);
  if (unmanaged.length > 0) {
    out.push(
      unmanaged.some((c) => unmanagedReason(c))
        ? 'Unmanaged (reported, never touched):'
        : 'Not in the repository (prune is off: reported, never touched):',
      '',
    );
    // One line each, as Blocked lists its changes: nothing of them is sent, no diff to set apart.
    yield* changeParts(out, unmanaged, style, undefined, '\n');
    out.push('');
  }
  pushProblems(out, plan, blocked, paint);
  pushClosing(out, plan, paint, opts.counts ?? countPlan(plan), opts.saved);
  if (out.length > 0) yield flush(out);
}

function noChangesLine(plan: Plan, opts: TextOptions, paint: Paint): string {
  const rendered = opts.renderedFiles ?? [];
  const adopts = adoptsOnly(plan, 'records');
  if (rendered.length === 0 && adopts !== null)
    return `${paint('bold', 'Nothing to send to the control plane,')} but ${adopts}.`;
  const unpruned = notMatchingLine(plan);
  if (unpruned !== null) return paint('bold', 'No changes to send.') + ' ' + unpruned;
  if (rendered.length === 0)
    return paint('bold', 'No changes.') + ' The control plane matches the repository.';
  const { head, rest } = nothingToSend(rendered);
  return `${paint('bold', head)} ${rest}, ${opts.renderedSaid ?? 'below'}.`;
}

/** Each change's text and `end` (a blank line), in parts of PART_CHARS. */
function* changeParts(
  out: string[],
  changes: readonly Change[],
  style: TextStyle,
  manualTargets: ReadonlySet<string> = new Set(),
  end = CHANGE_END,
): Generator<string> {
  const part = new Pieces();
  const created = new CreatedLines(FIELD_START);
  if (out.length > 0) part.add(flush(out));
  // By index, as above: `for of` made an iterator result per change here too.
  for (let i = 0; i < changes.length; i++) {
    const change = changes[i]!;
    addChangeText(part, change, style, manualTargets.has(change.address), created);
    part.add(end);
    if (part.length >= PART_CHARS) yield part.take();
  }
  if (part.length > 0) yield part.take();
}

/** What ends a change's text: its last line's newline and a blank line. */
const CHANGE_END = '\n\n';

function pushHeader(out: string[], plan: Plan, paint: Paint): void {
  const lines = headerLines(plan, esc, (w) => `${paint('yellow', 'Warning:')} ${esc(w)}`);
  if (lines.length > 0) out.push(...lines, '');
}

/** A titled section: its title line, its lines, a blank line; nothing when it has no lines. */
function section(out: string[], title: string, lines: readonly string[]): void {
  if (lines.length > 0) out.push(title, ...lines, '');
}

function pushManual(out: string[], plan: Plan, manual: readonly Step[], paint: Paint): void {
  if (manual.length === 0) return;
  out.push(
    paint('bold', `Manual steps (${manual.length}):`) +
      ` the control plane has no public API for these. \`poolsync apply\` runs every other step it can,` +
      ` then stops with exit code 2 and this runbook${waitingNote(plan)};` +
      ` with --flyte-cli PATH it runs these commands itself.`,
    '',
    ...runbookLines(plan.steps).map(esc),
  );
}

function pushCapabilitySteps(out: string[], plan: Plan, paint: Paint): void {
  const steps = capabilitySteps(plan).map((s) => ({
    head: esc(`${s.id} ${s.op} ${s.target}${s.detail}`),
    why: esc(s.why),
  }));
  const width = Math.max(...steps.map((s) => s.head.length));
  section(
    out,
    paint('bold', 'Capability steps') +
      ` (the control plane supports ${capabilitiesOn(plan) ?? 'none'}), in order:`,
    steps.map((s) => `  ${s.head.padEnd(width)}  ${paint('dim', `# ${s.why}`)}`),
  );
}

function pushProblems(out: string[], plan: Plan, blocked: readonly Change[], paint: Paint): void {
  section(
    out,
    paint('bold', 'Blocked') +
      ' (nothing is sent for these; reported until the repository or the control plane changes):',
    blocked.map(
      (c) => `  ${paint('red', '!')} ${paint('bold', esc(c.address))}: ${esc(whyText(c) ?? '')}`,
    ),
  );
  section(
    out,
    paint('bold', 'Warnings:'),
    plan.warnings.map(
      (w) => `  ${paint('yellow', 'warning')} ${w.code} ${esc(w.address)}: ${esc(warningText(w))}`,
    ),
  );
  section(
    out,
    paint('bold', 'Errors:'),
    plan.errors.map((e) => {
      const where = [e.address, e.location].filter(Boolean).join(' at ');
      return `  ${paint('red', 'error')} ${e.code}${where ? ` ${esc(where)}` : ''}: ${esc(errorText(e))}`;
    }),
  );
}

function pushClosing(
  out: string[],
  plan: Plan,
  paint: Paint,
  counts: PlanCounts,
  saved = false,
): void {
  if (!hasNoChanges(plan)) out.push(paint('bold', closingLine(plan, counts)));
  // A repository name is read from the inventory: escaped like every other name.
  out.push(...footnotes(plan, counts, saved).map(esc));
  if (plan.errors.length > 0) out.push(paint('red', failedLine(plan)));
}

/** The lines so far as one part (joined as the whole text joins them), emptying `out`. */
function flush(out: string[]): string {
  return out.splice(0).join('\n') + '\n';
}

/** One change as the plan text shows it (the dashboard's diff of an object). */
export function renderChangeText(change: Change, opts: { color: boolean }): string {
  const text = new Pieces();
  addChangeText(text, change, textStyle(opts.color), false, new CreatedLines(FIELD_START));
  return text.take();
}

const painter = (color: boolean): Paint =>
  color ? (style, text) => `${ANSI[style]}${text}${ANSI.reset}` : (_s, text) => text;

/** What every change's text starts from, painted once per render rather than once per change. */
interface TextStyle {
  paint: Paint;
  /** Each action's symbol, right-aligned in three columns, painted in its colour, and a space. */
  symbol: Record<Change['action'], string>;
  forces: string;
}

function makeStyle(color: boolean): TextStyle {
  const paint = painter(color);
  const symbol = {} as Record<Change['action'], string>;
  for (const action of Object.keys(SYMBOL) as Change['action'][])
    symbol[action] = `${paint(ACTION_STYLE[action], SYMBOL[action].padStart(3))} `;
  return { paint, symbol, forces: paint('red', '  # forces replacement') };
}

const STYLES = { plain: makeStyle(false), color: makeStyle(true) };
const textStyle = (color: boolean): TextStyle => (color ? STYLES.color : STYLES.plain);

/** One change's lines, each after the first starting with its newline. */
function addChangeText(
  text: Pieces,
  change: Change,
  style: TextStyle,
  manual: boolean,
  lines: CreatedLines,
): void {
  const { paint } = style;
  const why = unmanagedReason(change);
  const headline = manual
    ? 'manual: no public API, see Manual steps below'
    : why
      ? 'unmanaged'
      : HEADLINE[change.action];
  text.add(style.symbol[change.action]);
  text.add(paint('bold', esc(change.address)));
  if (headline) text.add(paint('dim', `  (${headline})`));
  const unverified = inWords(change.unverified);
  addComment(text, paint, 'dim', causeText(change));
  addComment(text, paint, 'dim', why);
  addComment(text, paint, 'yellow', unverified && `unverified: ${unverified}`);
  addComment(text, paint, 'dim', noteText(change));
  if (change.action === 'delete') return;
  const created = change.action === 'create' ? createdFields(change) : null;
  if (created) {
    addCreatedLines(text, lines, created, '', createdWidth(created, 0));
    return;
  }
  // Read once: a create's diff is computed where it is read (plan/forms.ts DIFF_OF_AFTER).
  const diff = change.diff;
  const width = fieldWidth(diff);
  const form = fieldForm(change);
  // By index: `for of` made an iterator result per field (~26 MB at 100,000 creates).
  for (let i = 0; i < diff.length; i++) {
    const d = diff[i]!;
    text.add(FIELD_START);
    const start = text.size;
    // Escaped unless printable ASCII (escapeTerminal would keep such a line as it is).
    if (!addFieldText(text, form, d, width)) {
      text.cutTo(start);
      text.add(esc(fieldText(form, d, width)));
    }
    if (d.forces_replacement) text.add(style.forces);
  }
}

/** What starts a field line: the previous line's newline and the indent. */
const FIELD_START = '\n      ';

/**
 * A create's field lines straight from its `after`, in its diff's order and paths
 * (plan/forms.ts addCreatedFields): at 100,000 creates no ~700,000 field objects (~56 MB).
 */
function addCreatedLines(
  text: Pieces,
  lines: CreatedLines,
  form: Form,
  prefix: string,
  width: number,
): void {
  for (const key in form) {
    const value = form[key];
    const path = prefix ? `${prefix}.${key}` : key;
    if (isMap(value)) addCreatedLines(text, lines, value, path, width);
    else if (value !== null) {
      const start = text.size;
      // Escaped unless printable ASCII, as addChangeText's lines; a created field never forces.
      if (!lines.add(text, path, value ?? null, width)) {
        text.cutTo(start);
        const d = { path, before: null, after: value ?? null, forces_replacement: false };
        text.add(FIELD_START);
        text.add(esc(fieldText('create', d, width)));
      }
    }
  }
}

/** fieldWidth of a create's diff: its longest path (`prefix` characters before `form`'s keys). */
function createdWidth(form: Form, prefix: number): number {
  let width = 0;
  for (const key in form) {
    const value = form[key];
    const length = prefix > 0 ? prefix + 1 + key.length : key.length;
    if (isMap(value)) width = Math.max(width, createdWidth(value, length));
    else if (value !== null) width = Math.max(width, length);
  }
  return width;
}

/** A comment line under a change's headline, its newline first; nothing without words. */
function addComment(text: Pieces, paint: Paint, color: keyof typeof ANSI, words: string | null) {
  if (words) text.add(`\n${paint(color, `      # ${esc(words)}`)}`);
}
