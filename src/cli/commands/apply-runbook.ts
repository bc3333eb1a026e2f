/**
 * What `apply` prints last when manual steps are left (exit 2): the runbook of the manual
 * steps that did not run, in order. For a saved plan the `--file` contents are written next
 * to the plan file; for a folder they are printed as here-documents in the runbook.
 */
import { dirname, resolve } from 'node:path';
import type { ApplyResult } from '../../apply/index.js';
import type { Plan } from '../../model/plan.js';
import { runbookLines } from '../../render/runbook.js';
import { relativeParts, writeRepoFile } from '../../util/repo-file.js';
import { escapeTerminal } from '../../util/terminal-text.js';
import { UserError } from '../../util/user-error.js';

export async function printRunbook(
  plan: Plan,
  result: ApplyResult,
  out: (line: string) => void,
  planFile: string | null,
): Promise<void> {
  const left = new Set(result.manual);
  const steps = plan.steps.filter((s) => left.has(s.id));
  const waiting = result.steps.filter((s) => s.status === 'waiting').length;
  let filesDir: string | null = null;
  if (planFile !== null && steps.some((s) => s.manual?.file)) {
    filesDir = resolve(dirname(planFile));
    for (const s of steps) {
      const file = s.manual?.file;
      if (!file) continue;
      // The name is the plan's: only its last segment is used, never `.` or `..`, and it is
      // written through no link (writeRepoFile), so nothing lands outside the folder.
      const name = file.name.replace(/^.*[/\\]/, '');
      if (relativeParts(name) === null)
        throw new UserError(
          `the plan names a manual step's file "${escapeTerminal(name)}", which is not a file name`,
        );
      await writeRepoFile(filesDir, name, file.content);
    }
  }
  out('');
  out(
    `Runbook: the control plane has no public API for ${steps.length === 1 ? 'this step' : `these ${steps.length} steps`}. ` +
      `Run ${steps.length === 1 ? 'it' : 'them in this order'}, then ` +
      (planFile === null
        ? 'run `poolsync apply` again'
        : 'plan and apply again (this saved plan is then stale)') +
      (waiting > 0
        ? ` for the ${waiting} step(s) waiting on ${steps.length === 1 ? 'it' : 'them'}`
        : '') +
      ' (or apply with --flyte-cli PATH to have poolsync run them):',
  );
  out('');
  for (const line of runbookLines(steps, { filesDir })) out(escapeTerminal(line));
}
