/**
 * The runbook of a plan's manual steps (plan.md, Manual steps): the commands a person runs, in
 * step order, each with why there is no API call; for the plan renderers and `apply`.
 */
import type { Plan, Step } from '../model/plan.js';
import { isManual, waitingOnManual } from '../plan/steps.js';
import { shellQuote } from '../util/shell-quote.js';
import { plural } from './common.js';

interface RunbookOptions {
  /**
   * Where the `--file` contents were written (next to a saved plan); absent: they are `cat > FILE`
   * here-documents, so the runbook can be pasted into a shell as-is.
   */
  filesDir?: string | null;
  /** Indentation of every line; default two spaces. */
  indent?: string;
}

export function manualSteps(plan: Pick<Plan, 'steps'>): Step[] {
  return plan.steps.filter(isManual);
}

/** One numbered entry per manual step; [] when there are none. */
export function runbookLines(steps: readonly Step[], opts: RunbookOptions = {}): string[] {
  const pad = opts.indent ?? '  ';
  const manual = steps.filter(isManual);
  const out: string[] = [];
  // How the commands get their credentials (never a flag value), once before the first.
  const credentials = [...new Set(manual.map((s) => s.manual?.credentials).filter(Boolean))];
  if (credentials.length > 0) {
    out.push(
      `${pad}# The commands read their credentials from the environment, never from a flag:`,
    );
    for (const line of credentials) out.push(`${pad}${line}`);
    out.push('');
  }
  if (opts.filesDir && manual.some((s) => s.manual?.file)) {
    out.push(`${pad}# The files these commands read were written to ${opts.filesDir}:`);
    out.push(`${pad}cd ${shellQuote(opts.filesDir)}`, '');
  }
  manual.forEach((s, i) => {
    const m = s.manual!;
    out.push(`${pad}# ${i + 1}. [${s.id}] ${s.target}: ${m.reason}`);
    if (m.file && !opts.filesDir) {
      const marker = hereDocMarker(m.file.content);
      out.push(`${pad}cat > ${shellQuote(m.file.name)} <<'${marker}'`);
      for (const line of m.file.content.replace(/\n$/, '').split('\n')) out.push(line);
      out.push(marker);
    }
    out.push(`${pad}${m.command}`, '');
  });
  return out;
}

/** ` (N steps wait on it)`: the steps that run on the apply after the manual ones; or nothing. */
export function waitingNote(plan: Pick<Plan, 'steps'>): string {
  const waiting = waitingOnManual(plan.steps).size;
  return waiting > 0 ? ` (${plural(waiting, 'step')} wait on it)` : '';
}

/** A here-document end marker that no line of the content equals. */
function hereDocMarker(content: string): string {
  const lines = new Set(content.split('\n'));
  let marker = 'EOF';
  for (let i = 1; lines.has(marker); i++) marker = `EOF${i}`;
  return marker;
}
