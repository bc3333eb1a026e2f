/** Terraform-style text rendering of a plan; ANSI colour only when asked. */
import type { Change, Plan } from '../model/plan.js';
import {
  SYMBOL,
  capabilitiesOn,
  capabilitySteps,
  causeText,
  warningText,
  whyText,
  noteText,
  unverifiedText,
  closingLine,
  controlPlaneHeader,
  fieldLines,
  hasNoChanges,
  plural,
  pruneScopeLine,
  sideEffectLine,
  unmanagedReason,
  unmanagedWhy,
  visibleChanges,
} from './common.js';
import { errorText } from './reasons.js';
import { escapeTerminal as esc } from '../util/terminal-text.js';
import { manualSteps, runbookLines, waitingCount } from './runbook.js';

export interface TextOptions {
  color: boolean;
}

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

/** Lines kept before they are handed on: a 100,000-change plan never sits in memory as text. */
const PART_LINES = 2048;

/**
 * The text in parts, each whole lines ending in a newline, in order; their concatenation is
 * `renderText`. A writer hands each on as it comes, so the text of a large plan is never built
 * whole (at 100,000 creates it is ~32 MB, and its lines several times that while joined).
 */
export function* renderTextParts(plan: Plan, opts: TextOptions): Generator<string> {
  const paint: Paint = opts.color
    ? (style, text) => `${ANSI[style]}${text}${ANSI.reset}`
    : (_s, text) => text;
  const out: string[] = [];
  const changes = visibleChanges(plan);
  const actionable = changes.filter((c) => c.action !== 'unmanaged');

  pushHeader(out, plan, paint);
  if (hasNoChanges(plan)) {
    out.push(paint('bold', 'No changes.') + ' The control plane matches the repository.', '');
  } else {
    out.push('poolsync will perform the following actions:', '');
    const manualTargets = new Set(manualSteps(plan).map((s) => s.target));
    yield* changeParts(out, actionable, paint, manualTargets);
  }
  pushManual(out, plan, paint);
  pushCapabilitySteps(out, plan, paint);
  const unmanaged = changes.filter((c) => c.action === 'unmanaged');
  if (unmanaged.length > 0) {
    out.push(
      unmanaged.some((c) => unmanagedReason(c))
        ? 'Unmanaged (reported, never touched):'
        : 'Not in the repository (prune is off: reported, never touched):',
      '',
    );
    yield* changeParts(out, unmanaged, paint);
  }
  pushBlocked(out, changes, paint);
  pushWarnings(out, plan, paint);
  pushErrors(out, plan, paint);
  pushClosing(out, plan, paint);
  if (out.length > 0) yield flush(out);
}

/** Each change's lines and a blank one, handing on a part whenever `PART_LINES` are kept. */
function* changeParts(
  out: string[],
  changes: readonly Change[],
  paint: Paint,
  manualTargets?: ReadonlySet<string>,
): Generator<string> {
  for (const change of changes) {
    const lines = manualTargets
      ? renderChange(change, paint, manualTargets.has(change.address))
      : renderChange(change, paint);
    out.push(...lines, '');
    if (out.length >= PART_LINES) yield flush(out);
  }
}

function pushHeader(out: string[], plan: Plan, paint: Paint): void {
  const header = controlPlaneHeader(plan);
  if (!header) return;
  if (header.environment) out.push(`Environment: ${esc(header.environment)}`);
  out.push(`Control plane: ${esc(header.name)}`);
  if (header.warning) out.push(`${paint('yellow', 'Warning:')} ${esc(header.warning)}`);
  out.push('');
}

function pushManual(out: string[], plan: Plan, paint: Paint): void {
  const manual = manualSteps(plan);
  if (manual.length === 0) return;
  const waiting = waitingCount(plan.steps);
  out.push(
    paint('bold', `Manual steps (${manual.length}):`) +
      ` the control plane has no public API for these. \`poolsync apply\` runs every other step it can,` +
      ` then stops with exit code 2 and this runbook${waiting > 0 ? ` (${plural(waiting, 'step')} wait on it)` : ''};` +
      ` with --flyte-cli PATH it runs these commands itself.`,
    '',
    ...runbookLines(plan.steps).map(esc),
  );
}

function pushCapabilitySteps(out: string[], plan: Plan, paint: Paint): void {
  const capSteps = capabilitySteps(plan);
  if (capSteps.length === 0) return;
  out.push(
    paint('bold', 'Capability steps') +
      ` (the control plane supports ${capabilitiesOn(plan) ?? 'none'}), in order:`,
  );
  const width = Math.max(
    ...capSteps.map((s) => esc(`${s.id} ${s.op} ${s.target}${s.detail}`).length),
  );
  for (const s of capSteps) {
    const head = esc(`${s.id} ${s.op} ${s.target}${s.detail}`);
    out.push(`  ${head.padEnd(width)}  ${paint('dim', `# ${esc(s.why)}`)}`);
  }
  out.push('');
}

function pushBlocked(out: string[], changes: readonly Change[], paint: Paint): void {
  const blocked = changes.filter((c) => c.action === 'blocked');
  if (blocked.length === 0) return;
  out.push(
    paint('bold', 'Blocked') +
      ' (nothing is sent for these; reported until the repository or the control plane changes):',
  );
  for (const c of blocked)
    out.push(`  ${paint('red', '!')} ${paint('bold', esc(c.address))}: ${esc(whyText(c) ?? '')}`);
  out.push('');
}

function pushWarnings(out: string[], plan: Plan, paint: Paint): void {
  if (plan.warnings.length === 0) return;
  out.push(paint('bold', 'Warnings:'));
  for (const w of plan.warnings)
    out.push(`  ${paint('yellow', 'warning')} ${w.code} ${esc(w.address)}: ${esc(warningText(w))}`);
  out.push('');
}

function pushErrors(out: string[], plan: Plan, paint: Paint): void {
  if (plan.errors.length === 0) return;
  out.push(paint('bold', 'Errors:'));
  for (const e of plan.errors) {
    const where = [e.address, e.location].filter(Boolean).join(' at ');
    out.push(
      `  ${paint('red', 'error')} ${e.code}${where ? ` ${esc(where)}` : ''}: ${esc(errorText(e))}`,
    );
  }
  out.push('');
}

/** The closing line, side effects, unmanaged count, prune scope and the failure line. */
function pushClosing(out: string[], plan: Plan, paint: Paint): void {
  if (!hasNoChanges(plan)) out.push(paint('bold', closingLine(plan)));
  const sideEffects = sideEffectLine(plan);
  if (sideEffects) out.push(sideEffects);
  if (plan.summary.unmanaged > 0)
    out.push(`${plural(plan.summary.unmanaged, 'object')} unmanaged (${unmanagedWhy(plan)}).`);
  const scope = pruneScopeLine(plan);
  if (scope) out.push(scope);
  if (plan.errors.length > 0) {
    out.push(
      paint(
        'red',
        `Plan failed with ${plural(plan.errors.length, 'error')}: nothing will be applied.`,
      ),
    );
  }
}

/** The lines so far as one part (joined as the whole text joins them), emptying `out`. */
function flush(out: string[]): string {
  return out.splice(0).join('\n') + '\n';
}

function renderChange(change: Change, paint: Paint, manual = false): string[] {
  const style = ACTION_STYLE[change.action];
  const symbol = SYMBOL[change.action].padStart(3);
  const why = unmanagedReason(change);
  const headline = manual
    ? 'manual: no public API, see Manual steps below'
    : why
      ? 'unmanaged'
      : HEADLINE[change.action];
  const lines = [
    `${paint(style, symbol)} ${paint('bold', esc(change.address))}${headline ? paint('dim', `  (${headline})`) : ''}`,
  ];
  const note = causeText(change);
  if (note) lines.push(paint('dim', `      # ${esc(note)}`));
  if (why) lines.push(paint('dim', `      # ${esc(why)}`));
  const unverified = unverifiedText(change);
  if (unverified) lines.push(paint('yellow', `      # unverified: ${esc(unverified)}`));
  const notes = noteText(change);
  if (notes) lines.push(paint('dim', `      # ${esc(notes)}`));
  for (const f of fieldLines(change)) {
    lines.push(`      ${esc(f.text)}${f.forces ? paint('red', '  # forces replacement') : ''}`);
  }
  return lines;
}
