/**
 * `poolsync apply [DIR | PLANFILE]` (docs/apply.md): exit 0 on success or no changes, 1 on any
 * error, 2 when manual steps are left for a person (the runbook is printed last).
 */
import { access, constants, stat } from 'node:fs/promises';
import { statSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { flyteCliRunner, isCliCommand } from '../../apply/manual.js';
import { batchedLines } from '../../util/batched-lines.js';
import { executePlan } from '../../apply/executor.js';
import { ApplyRefusedError, defaultParallelism } from '../../apply/types.js';
import { readSavedPlanFor } from '../saved-plan.js';
import { applyRun, type ApplySource } from '../../ops/apply-run.js';
import {
  ANSI,
  APPLY_EXIT_CODE,
  applyOutcome,
  NO_COLOR,
  applyJsonParts,
  progressPrinter,
  renderApplyResult,
} from '../../apply/report.js';
import { openControlPlane } from '../../controlplane/open.js';
import type { ControlPlane } from '../../controlplane/types.js';
import { paceLine } from '../../util/pacer.js';
import type { Plan } from '../../model/plan.js';
import { hasNoChanges } from '../../render/common.js';
import { renderTextParts } from '../../render/text.js';
import {
  adoptionText,
  confirmDestroyRefused,
  nothingToApply,
  printRunbook,
  renderedFileChanges,
  renderedFilesReminder,
  type RenderedFiles,
} from '../../render/cli-output.js';
import { UserError } from '../../util/user-error.js';
import {
  networkOf,
  durationFlag,
  forEnvironment,
  planShape,
  oneTarget,
  refuseShapingSavedPlan,
  leaseOf,
  sharedInventoryOf,
  unusedInventoryNote,
  useColor,
  type EnvTarget,
  type Shown,
} from '../options.js';
import { requireConfigFolder, stateInFolderNote } from '../config-folder.js';
import type { Args } from '../define.js';
import { terminalOf, writeParts, type Io } from '../io.js';
import { tuneForExecution } from '../one-shot-v8.js';
import { savedPlanApply } from '../../util/heap-growth.js';
import { checkPolicies } from '../policies.js';
import { readRepoConfig } from '../../manifests/config.js';
import type { DesiredState } from '../../model/desired.js';
import { policyAllows, type PolicyReport } from '../../model/policy.js';
import { plural } from '../../render/common.js';
import { NO_OWNER, policyText } from '../../render/policy.js';

/** Steps from which an apply's progress into a pipe or file is gathered (batched-lines.ts). */
const GATHER_FROM_STEPS = 1000;

/** Tests pass an `open` that gives a backend manual steps, as the union backend has. */
export async function apply(
  args: Args<'apply'> & Shown,
  io: Io,
  open: typeof openControlPlane = openControlPlane,
): Promise<number> {
  // From the command's start to its end (docs/apply.md#what-it-prints): a signal before the first
  // step cancels the apply, undoing what it made; during the steps none starts after it (the
  // executor's stop). A second one means "now": the next apply converges from calls cut short,
  // and takes over the lock left behind as stale.
  const interrupted = new AbortController();
  // Where the apply is, for what a signal's line says: at the question, the cancel says it.
  const at: ApplyAt = { stage: 'preparing' };
  const stopListening = io.onSignal((signal) => {
    if (!interrupted.signal.aborted) {
      at.signal = signal;
      if (at.stage !== 'asking' && at.stage !== 'steps')
        io.stderr.write(interruptReceived(signal, at.stage === 'recording'));
      return interrupted.abort(cancelled('interrupted', true, signal));
    }
    // Exiting while the records written ahead are in flight would leave them listing what no
    // step made (prune's scope): the second signal waits for their take-back, a third does not.
    if (at.stage === 'recording' && !at.waited) {
      at.waited = true;
      io.stderr.write(
        `Second ${signal}: taking back what was written ahead of the first step… (${signal} again exits without it)\n`,
      );
      return;
    }
    if (at.stage === 'recording') {
      io.stderr.write(
        `${signal} again: exiting now, before any step was sent; the inventory still lists what this apply would have made as this repository's: run apply again to make them.\n`,
      );
      process.exit(130);
    }
    if (at.stage !== 'steps') {
      io.stderr.write(`Second ${signal}: exiting now, before any step was sent.\n`);
      process.exit(130);
    }
    // A saved plan is stale once a step of it ran: apply refuses it.
    const saved = statSync(args.path, { throwIfNoEntry: false })?.isFile() === true;
    io.stderr.write(
      `Second ${signal}: exiting now; ${saved ? 'plan and apply again' : 'run apply again'} to finish.\n`,
    );
    process.exit(130);
  });
  try {
    return await applyPath(args, io, open, interrupted.signal, at);
  } finally {
    stopListening();
  }
}

async function applyPath(
  args: Args<'apply'> & Shown,
  io: Io,
  open: typeof openControlPlane,
  interrupted: AbortSignal,
  at: ApplyAt,
  /** The commit a folder read by --at holds (src/cli/at-commit.ts). */
  commit?: string,
): Promise<number> {
  const found = await stat(args.path).catch(() => null);
  // Before --at reads PATH as a folder in Git: a saved plan is refused any shaping flag.
  if (found?.isFile()) refuseShapingSavedPlan(args, args.path);
  if (args.at !== undefined) {
    const { atCommit } = await import('../at-commit.js');
    // The commit's files are read from a temporary checkout; messages name PATH.
    return atCommit(args.path, args.at, io.env, (dir, sha) =>
      applyPath(
        { ...args, path: dir, at: undefined, shown: args.path, atCommit: sha },
        io,
        open,
        interrupted,
        at,
        sha,
      ),
    );
  }
  const isDir = found?.isDirectory() ?? false;
  const to = await oneTarget(isDir ? args.path : null, args, 'apply', io.env);
  // An environment's failure named by it and by where its values came from, as plan's.
  const configDir = isDir ? args.path : (args['config-dir'] ?? '.');
  return forEnvironment(configDir, to, () => applyTo(args, io, open, commit, to, interrupted, at));
}

async function applyTo(
  args: Args<'apply'> & Shown,
  io: Io,
  open: typeof openControlPlane,
  commit: string | undefined,
  to: EnvTarget,
  interrupted: AbortSignal,
  at: ApplyAt,
): Promise<number> {
  const url = to.url;
  const parallelism = args.parallelism ?? defaultParallelism(url);
  const waitTimeoutMs = durationFlag('wait-timeout', args['wait-timeout'], '90s, 30m or 1h');
  const lockTimeoutMs = durationFlag('lock-timeout', args['lock-timeout'], '0s, 30s or 5m');
  const lease = leaseOf(args, io.env);
  const json = args.output === 'json';
  const colors = useColor(args.color, io) && !json ? ANSI : NO_COLOR;
  // --output json: stdout holds the one document; the progress a person follows goes to stderr.
  const lines = batchedLines(json ? io.stderr : io.stdout);
  const out = lines.line;
  const stderr = (text: string) => {
    lines.flush();
    io.stderr.write(text);
  };
  const flyteCli = args['flyte-cli'];
  if (flyteCli !== undefined) await checkCli(flyteCli);
  const target = await openTarget(args.path, io, args.shown);
  const state =
    target.kind === 'dir' && (await stateInFolderNote(args.shown ?? args.path, url, 'apply'));
  if (state) stderr(state);
  const unused = unusedInventoryNote(args, io.env, url);
  if (unused !== null) stderr(unused);
  if (target.kind === 'file') savedPlanApply();
  // A saved plan was reviewed when it was made; a folder is planned now and must be confirmed,
  // which needs `--auto-approve` when nobody can answer: JSON output never asks (refused here),
  // stdin not a terminal answers with its first line, as Terraform reads it (approve, below).
  else if (!args['auto-approve'] && json)
    throw new UserError(
      'apply --output json does not ask for confirmation: review the plan with `poolsync plan`, then run `poolsync apply --output json --auto-approve` (or apply a saved plan)',
    );
  // A bad plan file is refused before the lock is taken or the control plane opened.
  const source: ApplySource =
    target.kind === 'file'
      ? {
          ...target,
          kind: 'saved',
          plan: await readSavedPlanFor(target.path, args.env, url, io.env),
        }
      : { ...target, environment: args.env, shape: planShape(args), commit, shown: args.shown };
  const policies = policyGate(args, target, io, json ? io.stderr : io.stdout);
  let rendered: RenderedFiles | undefined;
  /** Last, whatever the apply did: the rendered files it could not send. */
  const where = { dir: args.path, env: args.env };
  const remind = () => {
    if (!rendered?.changed.length) return;
    lines.flush();
    const text = renderedFilesReminder({ ...where, files: rendered.changed });
    (json ? io.stderr : io.stdout).write(text);
  };
  try {
    const { plan, result } = await applyRun(source, {
      cancelled: interrupted,
      locks: {
        kind: 'acquire',
        target: to,
        opening: { vars: io.env },
        stateDir: args['state-dir'],
        sharedInventory: sharedInventoryOf(args, io.env, lease),
        lease,
        lockTimeoutMs,
        parallelism,
        ...networkOf(args, io, stderr),
        maxRetries: args['max-retries'],
        onPace: (e) => out(paceLine(e)),
        open,
      },
      stderr,
      planned: async (plan, folder) => {
        // Generated files the repository changes have no API: shown after the plan, said again
        // at the end (renderedFilesReminder), never applied. Not for --at: its folder is a
        // checkout of another commit, rendered from the branch.
        if (folder && target.kind === 'dir' && commit === undefined)
          rendered = await renderedFileChanges(
            target.path,
            folder.desired,
            where,
            folder.configKinds,
          );
        const renderedFiles = rendered?.changed ?? [];
        if (!json)
          await writeParts(
            io.stdout,
            renderTextParts(plan, { color: colors !== NO_COLOR, renderedFiles }),
          );
        const notes = json ? io.stderr : io.stdout;
        if (rendered && rendered.text !== '') notes.write(rendered.text);
        // The text plan says what it adopts; JSON's reader is told too, before the question.
        if (json) notes.write(adoptionText(plan));
        await policies.check(plan, folder?.desired);
      },
      approve: async (plan) => {
        // docs/policies.md: a failure, or policies that cannot be evaluated, stop apply here.
        await policies.refuse(plan);
        // Only a person's `yes` approves what is marked confirm-destroy (docs/plan.md, Guardrails):
        // a line piped into stdin is any script's, so it is refused before it is read.
        const noPerson =
          target.kind === 'file'
            ? 'a saved plan'
            : args['auto-approve']
              ? '--auto-approve'
              : io.stdin.isTTY !== true && 'a line piped into apply (stdin is not a terminal)';
        if (plan.confirm_destroy?.length && noPerson)
          throw new UserError(confirmDestroyRefused(plan.confirm_destroy, noPerson));
        if (target.kind === 'dir' && !args['auto-approve']) {
          at.stage = 'asking';
          const answer = await confirm(io, interrupted);
          at.stage = 'preparing';
          // A signal's cancel names it; readline's Ctrl-C (a raw terminal's byte) is no signal.
          if (interrupted.aborted) throw interrupted.reason;
          if (answer !== 'yes') throw cancelled(answer, io.stdin.isTTY === true);
        }
        // Into a pipe or a file a large apply's progress is gathered for 50 ms (batched-lines.ts);
        // a terminal, or a small apply followed line by line, sees each line as it happens.
        if (!io.stdout.isTTY && plan.steps.length >= GATHER_FROM_STEPS) lines.gather(50);
        return target.kind === 'dir' && !args['auto-approve'] ? 'waited' : undefined;
      },
      writingAhead: (writing) => (at.stage = writing ? 'recording' : 'preparing'),
      execute: (plan, cp, lockLost) => {
        at.stage = 'steps';
        return executeWithSignals(plan, cp, interrupted, lockLost, io, {
          parallelism,
          waitTimeoutMs,
          onEvent: progressPrinter(out, colors),
          runManual: flyteCli === undefined ? undefined : flyteCliRunner(flyteCli, io.env),
          canRunManual: isCliCommand,
        });
      },
      executed: (executed, result) => {
        lines.flush();
        const stoppedBy = interrupted.aborted && !result.ok ? at.signal : undefined;
        if (!json)
          io.stdout.write(
            renderApplyResult(result, executed, colors, target.kind === 'file', stoppedBy),
          );
        return Promise.resolve();
      },
    });
    if (result === null) {
      // The rendered plan already says "No changes." when nothing is blocked, adopted nor renamed either.
      const recorded = plan.inventory?.adopts?.length || plan.inventory?.renamed_from;
      if (json) await writeParts(io.stdout, applyJsonParts(plan, null));
      else if (target.kind === 'file' || !hasNoChanges(plan) || recorded) out(nothingToApply(plan));
      remind();
      return 0;
    }
    const outcome = applyOutcome(result);
    if (outcome === 'manual_steps_left')
      await printRunbook(plan, result, out, target.kind === 'file' ? target.path : null);
    lines.flush();
    if (json) await writeParts(io.stdout, applyJsonParts(plan, result));
    remind();
    return APPLY_EXIT_CODE[outcome];
  } finally {
    lines.flush();
  }
}

/**
 * The policies of the plan applied (docs/policies.md): checked once the plan is shown (a folder's,
 * with its desired state) or, for a saved plan, before its first step; their failures refuse it.
 */
function policyGate(
  args: Args<'apply'> & Shown,
  target: { kind: 'dir' | 'file'; path: string },
  io: Io,
  out: Io['stdout'],
) {
  let report: PolicyReport | null | undefined;
  const check = async (plan: Plan, desired?: DesiredState) => {
    const dir = target.kind === 'dir' ? target.path : (args['config-dir'] ?? '.');
    const config = desired
      ? desired.config.policies
      : (await readRepoConfig(dir).catch(() => null))?.config.policies;
    const opening = { vars: io.env };
    const provider = args['policy-approvals'] as 'github' | 'gitlab' | undefined;
    const { pr, repo, 'api-url': apiUrl } = args;
    // Git is asked in the user's folder: a temporary checkout (--at) is no repository.
    const shown = args.shown;
    const approvals = provider
      ? {
          comment: provider,
          flag: '--policy-approvals' as const,
          pr,
          repo,
          'api-url': apiUrl,
          dir: shown ?? dir,
        }
      : undefined;
    const check = { args, dir, shown, config, opening, desired, approvals };
    report = await checkPolicies(plan, check);
    if (report) out.write(policyText(report));
  };
  return {
    check,
    async refuse(plan: Plan) {
      if (report === undefined) await check(plan);
      if (report && !policyAllows(report))
        throw new UserError(
          report.error !== undefined || report.rules === 0
            ? 'the policies could not be evaluated (above): they fail closed, nothing was applied'
            : `the policies deny this plan (${plural(report.deny.length, 'failure')}, above): nothing was applied; ${report.owners.length > 0 ? 'an owner of the policies may approve them' : `nobody can approve them: ${NO_OWNER}`} (docs/policies.md)`,
        );
    },
  };
}

/** `--flyte-cli PATH`: a path must name an executable file; a bare name is looked up in PATH when run. */
async function checkCli(path: string): Promise<void> {
  if (!path.includes('/')) return;
  try {
    await access(path, constants.X_OK);
  } catch {
    throw new UserError(
      `--flyte-cli ${path}: not an executable file; install the flyte CLI (https://www.union.ai/docs) or give its path`,
    );
  }
}

/** A saved plan, or a config folder (its note said when it has no poolsync.yaml). */
async function openTarget(
  path: string,
  io: Io,
  shown?: string,
): Promise<{ kind: 'dir'; path: string } | { kind: 'file'; path: string }> {
  const st = await stat(path).catch((err: NodeJS.ErrnoException) => {
    throw new UserError(
      err.code === 'ENOENT'
        ? `${path} does not exist: name a config repository folder or a saved JSON plan`
        : `cannot read ${path}: ${err.message}`,
    );
  });
  // Anything but a folder is a plan file: its reader refuses a FIFO or a device, as `show` does.
  if (!st.isDirectory()) return { kind: 'file', path };
  const note = await requireConfigFolder(path, 'apply', shown);
  if (note !== null) io.stderr.write(note);
  return { kind: 'dir', path };
}

/**
 * SIGINT/SIGTERM or the lock lost: start no new step, let running ones finish, report the rest
 * not run. The lock lost is a halt (not even a registration's disable starts without it), said
 * while the steps run only: after them it stops nothing.
 */
async function executeWithSignals(
  plan: Plan,
  cp: ControlPlane,
  interrupted: AbortSignal,
  lockLost: AbortSignal,
  io: Io,
  opts: Parameters<typeof executePlan>[2],
) {
  const onLost = () => {
    io.stderr.write(
      `The apply lock was lost (${String(lockLost.reason instanceof Error ? lockLost.reason.message : lockLost.reason)}): no new step starts; run apply again.\n`,
    );
  };
  if (lockLost.aborted) onLost();
  else lockLost.addEventListener('abort', onLost, { once: true });
  try {
    tuneForExecution();
    return await executePlan(plan, cp, {
      ...opts,
      signal: AbortSignal.any([interrupted, lockLost]),
      halt: lockLost,
    });
  } catch (err) {
    if (err instanceof ApplyRefusedError) throw new UserError(err.message);
    throw err;
  } finally {
    lockLost.removeEventListener('abort', onLost);
  }
}

/** What became of Terraform's question (docs/apply.md#what-it-prints). */
type Answer = 'yes' | 'no' | 'interrupted' | 'ended';

/**
 * Terraform's question: only `yes` approves, typed or the first line of a stdin that is no
 * terminal (`echo yes | poolsync apply`). Ctrl-C (readline's, the terminal being raw; or a
 * signal) and Ctrl-D or the end of stdin are no answer either, never an internal error.
 */
async function confirm(io: Io, interrupted: AbortSignal): Promise<Answer> {
  // The question and the echo of the answer go to the terminal as they are: `yes` as typed.
  const output = terminalOf(io.stdout) as NodeJS.WritableStream;
  const typed = io.stdin.isTTY === true;
  const rl = createInterface({
    input: io.stdin,
    output,
    terminal: typed && io.stdout.isTTY === true,
  });
  let stopListening = () => {};
  const answer = await new Promise<Answer>((resolve) => {
    // With a SIGINT listener readline leaves the interface open on Ctrl-C and only tells it.
    rl.once('SIGINT', () => resolve('interrupted'));
    const onSignal = () => resolve('interrupted');
    interrupted.addEventListener('abort', onSignal, { once: true });
    stopListening = () => interrupted.removeEventListener('abort', onSignal);
    const answered = (line: string) => resolve(line.trim() === 'yes' ? 'yes' : 'no');
    // A piped last line without a newline: readline gives it as a 'line' event as stdin ends.
    rl.once('line', answered);
    // Ctrl-D on an empty line or stdin ending: the question is never answered.
    rl.once('close', () => resolve('ended'));
    // Called as the line is read, so a line after it (piped) never answers instead.
    rl.question(
      '\nDo you want to perform these actions?\n  Only `yes` will be accepted to approve.\n\n  Enter a value: ',
      answered,
    );
  });
  stopListening();
  rl.close();
  // Nothing was echoed after the prompt: what follows goes on a line of its own.
  if (!typed || answer === 'interrupted' || answer === 'ended') output.write('\n');
  return answer;
}

/**
 * Where the apply is when a signal comes (`recording`: its records written ahead of the first
 * step, or taken back), the first signal's name, and whether a second one waits for the take-back.
 */
interface ApplyAt {
  stage: 'preparing' | 'asking' | 'recording' | 'steps';
  signal?: NodeJS.Signals;
  waited?: boolean;
}

/**
 * Said at once, as Terraform's "Interrupt received": a call in flight (a slow control plane) may
 * take a while to end, and only then does the apply stop. During the steps the progress says it.
 */
const interruptReceived = (signal: NodeJS.Signals, recording: boolean) =>
  recording
    ? `Interrupt received (${signal}): the apply stops before its first step, once what it wrote ahead of it is taken back.\n`
    : `Interrupt received (${signal}): the apply stops before its first step, once what it is doing ends; ${signal} again exits at once.\n`;

/**
 * One line, nothing applied; Ctrl-C or SIGTERM exits 130 as an interrupted command does
 * (docs/apply.md#exit-status). `typed`: at a terminal; else how to approve without one.
 */
function cancelled(
  answer: Exclude<Answer, 'yes'>,
  typed = true,
  signal: NodeJS.Signals = 'SIGINT',
): UserError {
  if (answer === 'interrupted')
    return new UserError(
      `Apply cancelled (${signal === 'SIGINT' ? 'Ctrl-C' : signal}): nothing was applied.`,
      130,
    );
  const hint = typed
    ? ''
    : ' stdin is not a terminal: pipe `yes` into apply, or review the plan above, then run `poolsync apply --auto-approve` (or save it with `poolsync plan --out plan.json` and apply that file)';
  if (answer === 'ended')
    return new UserError(`Apply cancelled (no answer, end of input): nothing was applied.${hint}`);
  return new UserError(`Apply cancelled: only \`yes\` is accepted as approval.${hint}`);
}
