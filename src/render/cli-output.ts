/**
 * What the CLI prints of and beside a plan: its formats, the quickstart's words, apply's
 * runbook, the rendered files that would change, and what `promote` changes.
 */
import { dirname, resolve } from 'node:path';
import type { DesiredState } from '../model/desired.js';
import {
  NO_API,
  renderCommand,
  renderedAdvice,
  renderedStatus,
  unnamedSection,
  unnamedTargets,
  type NoApiChange,
  type RenderedFilesNote,
} from './rendered-files.js';
import type { ObjectKind } from '../model/common.js';
import { type Change, visibleChanges, type Plan } from '../model/plan.js';
import { relativeParts, writeRepoFile } from '../util/safe-file.js';
import { escapeTerminal } from '../util/terminal-text.js';
import { UserError } from '../util/user-error.js';
import {
  adoptedOnly,
  adoptionLine,
  adoptsOnly,
  countsText,
  notMatchingLine,
  plural,
  renamedLine,
  SYMBOL,
} from './common.js';
import { countPlan, isSideEffect } from '../plan/counts.js';
import { listAddresses } from './reasons.js';
import { renderJsonParts } from './json.js';
import { renderMarkdown } from './markdown.js';
import { runbookLines } from './runbook.js';
import { renderTextParts } from './text.js';

export function nothingToApply(plan: Plan): string {
  const adopts = adoptsOnly(plan, 'recorded');
  if (plan.summary.blocked)
    return `No changes to apply: ${plural(plan.summary.blocked, 'blocked change')} cannot be applied (see the plan)${adopts === null ? '' : `; ${adopts}`}.`;
  const adopted = adoptedOnly(plan);
  if (adopted !== null) return `${adopted[0]!.toUpperCase()}${adopted.slice(1)}.`;
  const unpruned = notMatchingLine(plan);
  return unpruned === null
    ? 'No changes. The control plane matches the repository.'
    : `No changes to send. ${unpruned}`;
}

/** What `daemon --quickstart` says once it listens (`token.made`: just made, shown this once). */
export function quickstartBanner(
  url: string,
  watching: string,
  token: { path: string; made: string | null } | null,
): string {
  const admin =
    token === null
      ? ''
      : token.made !== null
        ? `Admin token, made now and shown only this once (kept in ${token.path}, mode 0600):\n  ${token.made}\n` +
          `  Paste it into the dashboard's "Daemon admin token" for Sync now and Approve; \`poolsync sync\`,\n` +
          `  \`approve\` and \`suspend\` run in this folder read it from ${token.path} by themselves.\n`
        : `Admin token: ${token.path} (paste it into the dashboard for Sync now and Approve; \`poolsync sync\` here reads it).\n`;
  return (
    `poolsync daemon (quickstart) listening on ${url}, watching ${watching}\n` +
    `  dashboard ${url}/\n  status    ${url}/status\n  metrics   ${url}/metrics\n` +
    admin +
    `Edit a file under it to see the plan applied (\`--watch DIR\` watches another folder). Ctrl-C to stop.\n`
  );
}

/** The quickstart's words on Ctrl-C: once when asked, once when stopped. */
export const quickstartStop = {
  stopping: (signal: string) =>
    `\nStopping (${signal}): no new run starts, a running apply finishes its steps...\n`,
  /** A signal before the first run applied anything: the one line the quickstart says. */
  beforeFirstRun: (signal: string) =>
    `Stopped (${signal}) before the first run finished: nothing was applied.\n`,
  stopped: (finished: boolean, state: string) =>
    finished
      ? `Stopped. The control plane keeps its state in ${state}; the next start goes on from there.\n`
      : `Stopped before every running step finished; the next start picks up from the live state (${state}).\n`,
};

/**
 * A line per kind and action: the whole plan (494 lines) scrolled the dashboard's address away.
 * `plan` is the whole plan, `held` what the gate holds of it (listed with it); each line counts
 * as /status counts the plan (src/plan/counts.ts), the side effects on lines of their own.
 */
export function briefPlan(plan: Plan, held: readonly Change[] = []): string {
  const groups = new Map<string, string[]>();
  const waits = new Set(held);
  const targets = new Set(plan.steps.map((s) => s.target));
  for (const c of visibleChanges(plan)) {
    if (c.action === 'unmanaged') continue;
    const [kind] = c.address.split('/', 1);
    const side = isSideEffect(c, targets) ? ', side effects' : '';
    const key = `${SYMBOL[c.action].padStart(3)} ${kind}${side}${waits.has(c) ? ', held for approval' : ''}`;
    groups.set(key, [...(groups.get(key) ?? []), c.address.slice(kind!.length + 1)]);
  }
  const lines = [...groups].map(([key, names]) => {
    const list = names.join(', ');
    return `${key} (${names.length}): ${list.length > 90 ? `${list.slice(0, 87)}...` : list}`;
  });
  const waiting =
    held.length === 0
      ? ''
      : ` ${plural(held.length, 'change')} of it ${held.length === 1 ? 'waits' : 'wait'} for approval.`;
  return `\n${lines.join('\n')}\nPlan: ${countsText(countPlan(plan))}.${waiting} The whole plan: the dashboard, or \`poolsync history\`.\n`;
}

/** The runbook `apply` prints last (exit 2); `--file` contents go next to a saved plan. */
export async function printRunbook(
  plan: Plan,
  result: { manual: readonly string[]; steps: readonly { status: string }[] },
  out: (line: string) => void,
  planFile: string | null,
): Promise<void> {
  const left = new Set(result.manual);
  const steps = plan.steps.filter((s) => left.has(s.id));
  const waiting = result.steps.filter((s) => s.status === 'waiting').length;
  const filesDir =
    planFile !== null && steps.some((s) => s.manual?.file) ? resolve(dirname(planFile)) : null;
  for (const file of filesDir === null ? [] : steps.map((s) => s.manual?.file)) {
    if (!file) continue;
    // The name is the plan's: only its last segment is used, never `.` or `..`, and it is
    // written through no link (writeRepoFile), so nothing lands outside the folder.
    const name = file.name.replace(/^.*[/\\]/, '');
    if (relativeParts(name) === null)
      throw new UserError(
        `the plan names a manual step's file "${escapeTerminal(name)}", which is not a file name`,
      );
    await writeRepoFile(filesDir!, name, file.content);
  }
  out('');
  out(
    `Runbook: the control plane has no public API for ${steps.length === 1 ? 'this step' : `these ${steps.length} steps`}. ` +
      `Run ${steps.length === 1 ? 'it' : 'them in this order'}, then ` +
      (planFile === null
        ? 'run `poolsync apply` again'
        : 'plan and apply again (this saved plan is then stale)') +
      (waiting > 0
        ? ` for the ${plural(waiting, 'step')} waiting on ${steps.length === 1 ? 'it' : 'them'}`
        : '') +
      ' (or apply with --flyte-cli PATH to have poolsync run them):',
  );
  out('');
  for (const line of runbookLines(steps, { filesDir })) out(escapeTerminal(line));
}

/** The generated files poolsync.yaml names that differ from what `render` would write now. */
export interface RenderedFiles {
  /** The section printed after a plan: each file, why nothing sent it, what to do, its diff. */
  text: string;
  /** The files that would change (or do not exist yet), and the kinds with no file named: the plan's first line names them. */
  changed: NoApiChange[];
}

/**
 * What `poolsync render` would change in the generated files poolsync.yaml names, as diffs:
 * rendered from `dir`, the render command named with `where` (the folder as the user gave it);
 * and the objects the backend takes as configuration only (`configKinds`) with no file named.
 */
export async function renderedFileChanges(
  dir: string,
  desired: DesiredState,
  where: Omit<RenderedFilesNote, 'files'>,
  configKinds: readonly ObjectKind[],
): Promise<RenderedFiles> {
  const { renderTargets } = await import('./values.js');
  const changed: RenderedFiles['changed'] = unnamedTargets(desired, configKinds);
  const out = changed.map((u) => `\n${unnamedSection(u.kind, where)}\n`);
  if (!desired.config.render) return { text: out.join(''), changed };
  for (const target of await renderTargets(dir, desired)) {
    if ('unreadable' in target) throw new UserError(target.error);
    if ('error' in target)
      out.push(`\nRendered file ${target.path} cannot be rendered: ${target.error}\n`);
    else if (target.status !== 'same') {
      const { kind, path, status } = target;
      changed.push({ kind, path, status });
      const { why, then } = NO_API[kind];
      const { env } = where;
      out.push(
        `\nRendered file ${renderedStatus(path, status)}. ${why}, so no plan or apply sends this change: ` +
          `render the file (\`${renderCommand(kind, where.dir, { env })}\`${env === undefined ? ', or let the daemon commit it' : ''}), then ${then}:\n${target.diff}`,
      );
    }
  }
  return { text: out.join(''), changed };
}

/** What `apply` says last: the files it could not send, and what to do with them. */
export function renderedFilesReminder(note: RenderedFilesNote): string {
  return note.files.map((f) => `\nNot applied: ${renderedAdvice(f, note)}\n`).join('');
}

/** The plan in the format asked for, in parts for writeParts: a large plan's text is never held whole. */
export function renderParts(
  plan: Plan,
  output: 'text' | 'json' | 'markdown',
  color: boolean,
  /** The rendered files that would change (RenderedFiles.changed): the text's first line names them. */
  rendered?: RenderedFilesNote,
  /** A plan file `show` read (footnotes). */
  saved = false,
): Iterable<string> {
  if (output === 'json') return renderJsonParts(plan);
  if (output === 'markdown')
    return [renderMarkdown(plan, { saved, ...(rendered ? { rendered } : {}) })];
  return renderTextParts(plan, {
    color,
    saved,
    ...(rendered ? { renderedFiles: rendered.files } : {}),
  });
}

export function nothingDeclared(dir: string, prune: boolean): string {
  return (
    `Nothing declared: ${dir} holds no poolsync manifests` +
    (prune
      ? ' (prune is on: read what the plan deletes before applying it).\n'
      : `, so nothing on the control plane is changed (prune is off). Add manifests (examples/config-repo has each kind), or start from what the control plane holds: \`poolsync export --dir ${dir}\` (docs/getting-started.md).\n`)
  );
}

/**
 * `export`: objects it wrote that an earlier poolsync recorded without a repository (inventory
 * format 1): the next apply of `repository` adopts them, said once.
 */
export function adoptionNote(addresses: readonly string[], repository: string): string {
  const one = addresses.length === 1;
  const them = one ? 'it' : 'them';
  return escapeTerminal(
    `${plural(addresses.length, 'object')} written ${one ? 'was' : 'were'} recorded in the inventory by an earlier poolsync, without the repository that applied ${them}: ${listAddresses(addresses)}. ` +
      `The next apply of ${repository} records ${them} as its own, and with prune: true then deletes ${one ? 'it' : 'each'} once its manifest is removed (docs/plan.md, Prune scope).`,
  );
}

/** What the plan's apply adopts, as a line of its own (beside a JSON plan, which has no footnotes). */
export function adoptionText(plan: Plan): string {
  const lines = [adoptionLine(plan), renamedLine(plan)].filter((l) => l !== null);
  return lines.map((l) => `${escapeTerminal(l)}\n`).join('');
}

const SIGN = { add: '+', change: '~', remove: '-' } as const;

export function describePromotion(
  from: string,
  to: string,
  changes: readonly { path: string; action: keyof typeof SIGN }[],
): string {
  if (changes.length === 0)
    return `Promoting ${from} to ${to} changes no file: ${to}'s own folder already holds ${from}'s manifests.\n`;
  const lines = changes.map((c) => `  ${SIGN[c.action]} ${c.path}`);
  return `Promoting ${from} to ${to} changes ${plural(changes.length, 'file')}:\n${lines.join('\n')}\n`;
}

/** After `plan --out`: how to apply the saved plan, or, when confirm-destroy refuses it, what to run instead. */
/** `apply`: the command that applies `out`, with the flags that name its control plane. */
export function savedPlanLine(out: string, plan: Plan, apply: string): string {
  const marked = plan.confirm_destroy ?? [];
  if (marked.length === 0) return `\nSaved the plan to ${out}: apply it with \`${apply}\`.\n`;
  return `\nSaved the plan to ${out} for review (\`poolsync show ${out}\`), but a saved plan is no approval for ${listAddresses(marked, 10)} (poolsync/confirm-destroy): \`${apply}\` is refused. Run \`poolsync apply DIR\` at a terminal, with this plan's options, and answer yes.\n`;
}

/**
 * `apply --auto-approve`, a saved plan or a piped answer (`how`) destroying what is marked
 * confirm-destroy (docs/plan.md, Guardrails).
 */
export function confirmDestroyRefused(addresses: readonly string[], how: string): string {
  return `${listAddresses(addresses, 10)} ${addresses.length === 1 ? 'is' : 'are'} marked poolsync/confirm-destroy: a person approves ${addresses.length === 1 ? 'its' : 'their'} delete or replace, and ${how} is no approval. Nothing was applied. Run \`poolsync apply DIR\` at a terminal and answer yes, or let the daemon hold it for \`poolsync approve\` (docs/plan.md, Guardrails)`;
}
