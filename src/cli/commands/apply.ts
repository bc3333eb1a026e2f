/**
 * `poolsync apply [DIR | PLANFILE]`: plan (or read a saved plan), confirm, and execute the
 * step graph under the per-control-plane apply lock. Exit 0 on success or no changes,
 * 1 on any error (invalid repo, stale plan, refused confirmation, failed apply), 2 when
 * manual steps are left for a person (the runbook is printed last; docs/apply.md).
 */
import { access, constants, stat } from 'node:fs/promises';
import { printRunbook } from './apply-runbook.js';
import { flyteCliRunner, isCliCommand } from '../../apply/manual.js';
import { createInterface } from 'node:readline/promises';
import { batchedLines } from '../../util/batched-lines.js';
import { ApplyRefusedError, defaultParallelism, executePlan } from '../../apply/index.js';
import { checkSavedPlanEndpoint, readSavedPlan } from './apply-saved.js';
import { applyArgsForEnv, checkSavedPlanEnvironment } from './apply-env.js';
import { applyRun, type ApplyRunOptions, type ApplySource } from '../../ops/apply-run.js';
import { applyExitCode, applyOutcome, renderApplyJson } from '../../apply/result-json.js';
import { ANSI, NO_COLOR, progressPrinter, renderApplyResult } from '../../apply/report.js';
import { openControlPlane } from '../../controlplane/open.js';
import type { ControlPlane } from '../../controlplane/types.js';
import { parseDuration } from '../../util/duration.js';
import { paceLine } from '../../util/pacer.js';
import type { Plan } from '../../model/plan.js';
import { hasNoChanges, renderTextParts } from '../../render/index.js';
import { writeParts } from '../write-parts.js';
import { UserError } from '../../util/user-error.js';
import {
  checkLockTimeout,
  checkMaxRetries,
  planShape,
  refuseShapingSavedPlan,
  sharedInventoryOf,
  useColor,
} from '../options.js';
import type { ApplyArgs } from '../define/apply.js';
import { requireConfigFolder } from '../config-folder.js';
import { letYoungGenerationGrow } from '../young-generation.js';

/** Steps from which an apply's progress into a pipe or file is gathered (batched-lines.ts). */
const GATHER_FROM_STEPS = 1000;

export async function apply(args: ApplyArgs): Promise<void> {
  process.exitCode = await runApply(await applyArgsForEnv(args));
}

/**
 * The command itself; `open` is how the control plane is opened (tests pass a wrapper that
 * gives a backend manual steps, as the union backend has).
 */
export async function runApply(
  args: ApplyArgs,
  open: typeof openControlPlane = openControlPlane,
): Promise<number> {
  const { parallelism, maxRetries, waitTimeoutMs, lockTimeoutMs } = applySettings(args);
  const json = args.output === 'json';
  const colors = useColor(args.color) && !json ? ANSI : NO_COLOR;
  // --output json: stdout holds the one document; the progress a person follows goes to stderr.
  const lines = batchedLines(json ? process.stderr : process.stdout);
  const out = lines.line;
  const url = args['control-plane'];

  const flyteCli = args['flyte-cli'];
  if (flyteCli !== undefined) await checkCli(flyteCli);
  const target = await openTarget(args.path);
  if (target.kind === 'file') refuseShapingSavedPlan(args, target.path);
  else refuseUnconfirmable(args, json);

  const source = await applySource(args, target);
  try {
    const { plan, result } = await applyRun(source, {
      locks: {
        kind: 'acquire',
        url,
        stateDir: args['state-dir'],
        sharedInventory: sharedInventoryOf(args),
        lockFlag: args.lock ?? process.env.POOLSYNC_LOCK,
        lockTimeoutMs,
        parallelism,
        maxRetries,
        // A throttling server is told among the progress lines.
        onPace: (e) => out(paceLine(e)),
        tokenFile: args['token-file'],
        ...(args['api-key-file'] ? { apiKeyFile: args['api-key-file'] } : {}),
        open,
      },
      ...personHooks(args, target, { lines, colors, json, flyteCli, parallelism, waitTimeoutMs }),
    });
    if (result === null) {
      // The rendered plan already says "No changes." when nothing is blocked either.
      if (json) process.stdout.write(renderApplyJson(plan, null));
      else if (target.kind === 'file' || !hasNoChanges(plan)) out(noChanges(plan));
      return 0;
    }
    const outcome = applyOutcome(result);
    if (outcome === 'manual_steps_left')
      await printRunbook(plan, result, out, target.kind === 'file' ? target.path : null);
    lines.flush();
    if (json) process.stdout.write(renderApplyJson(plan, result));
    return applyExitCode(outcome);
  } finally {
    lines.flush();
  }
}

/**
 * A saved plan was reviewed when it was made; a folder is planned now and must be confirmed,
 * which needs `--auto-approve` when nobody can answer (JSON output, or stdin not a terminal).
 */
function refuseUnconfirmable(args: ApplyArgs, json: boolean): void {
  if (args['auto-approve']) return;
  if (json) {
    throw new UserError(
      'apply --output json does not ask for confirmation: review the plan with `poolsync plan`, then run `poolsync apply --output json --auto-approve` (or apply a saved plan)',
    );
  }
  if (!process.stdin.isTTY) {
    throw new UserError(
      'apply needs confirmation but stdin is not a terminal: review the plan with `poolsync plan`, then run `poolsync apply --auto-approve`',
    );
  }
}

/** What a person sees and answers during an apply: the plan, the confirmation, progress, the result. */
function personHooks(
  args: ApplyArgs,
  target: Target,
  p: {
    lines: ReturnType<typeof batchedLines>;
    colors: typeof ANSI;
    json: boolean;
    flyteCli: string | undefined;
    parallelism: number;
    waitTimeoutMs: number;
  },
): Pick<ApplyRunOptions, 'stderr' | 'planned' | 'approve' | 'execute' | 'executed'> {
  const { lines, colors, json, flyteCli, parallelism, waitTimeoutMs } = p;
  const out = lines.line;
  return {
    stderr: (text) => {
      lines.flush();
      process.stderr.write(text);
    },
    planned: async (plan) => {
      if (!json)
        await writeParts(process.stdout, renderTextParts(plan, { color: colors !== NO_COLOR }));
    },
    approve: async (plan) => {
      if (target.kind === 'dir' && !args['auto-approve'] && !(await confirm()))
        throw new UserError('Apply cancelled: only `yes` is accepted as approval.');
      // A large apply into a pipe or a file gathers its progress for 50 ms (batched-lines.ts); a
      // terminal, or a small apply someone follows line by line, sees each line as it happens.
      if (!process.stdout.isTTY && plan.steps.length >= GATHER_FROM_STEPS) lines.gather(50);
    },
    execute: (plan, cp, lockLost) =>
      executeWithSignals(plan, cp, lockLost, {
        parallelism,
        waitTimeoutMs,
        onEvent: progressPrinter(out, colors),
        ...(flyteCli !== undefined
          ? { runManual: flyteCliRunner(flyteCli, cp.manual), canRunManual: isCliCommand }
          : {}),
      }),
    executed: (_plan, result) => {
      lines.flush();
      if (!json) process.stdout.write(renderApplyResult(result, colors));
      return Promise.resolve();
    },
  };
}

/** The numbers an apply runs with, checked before anything is opened. */
function applySettings(args: ApplyArgs) {
  const parallelism = args.parallelism ?? defaultParallelism(args['control-plane']);
  if (!Number.isInteger(parallelism) || parallelism < 1) {
    throw new UserError(
      `--parallelism must be a whole number of at least 1 (got ${String(args.parallelism)})`,
    );
  }
  const maxRetries = checkMaxRetries(args['max-retries']);
  const waitTimeoutMs = parseDuration(args['wait-timeout']);
  if (waitTimeoutMs === null) {
    throw new UserError(
      `--wait-timeout ${JSON.stringify(args['wait-timeout'])} is not a duration; write e.g. 90s, 30m or 1h`,
    );
  }
  const lockTimeoutMs = checkLockTimeout(args['lock-timeout']);
  return { parallelism, maxRetries, waitTimeoutMs, lockTimeoutMs };
}

/** What is applied: a saved plan (refused before the lock is taken when it is bad), or the folder. */
async function applySource(args: ApplyArgs, target: Target): Promise<ApplySource> {
  const url = args['control-plane'];
  // A bad plan file is refused before the lock is taken or the control plane opened.
  const saved = target.kind === 'file' ? await readSavedPlan(target.path) : null;
  if (saved !== null) checkSavedPlanEnvironment(target.path, saved, args.env);
  if (saved !== null) checkSavedPlanEndpoint(target.path, saved, url);
  return saved !== null
    ? { kind: 'saved', path: target.path, plan: saved }
    : {
        kind: 'dir',
        path: target.path,
        ...(args.env !== undefined ? { environment: args.env } : {}),
        shape: planShape(args),
      };
}

/** What apply says when the plan has no step. */
function noChanges(plan: Plan): string {
  const blocked = plan.summary.blocked ?? 0;
  return blocked > 0
    ? `No changes to apply: ${blocked} blocked change(s) cannot be applied (see the plan).`
    : 'No changes. The control plane matches the repository.';
}

/** `--flyte-cli PATH`: a path must name an executable file; a bare name is looked up in PATH when run. */
async function checkCli(path: string): Promise<void> {
  if (path.trim() === '') throw new UserError('--flyte-cli needs the path of the flyte CLI binary');
  if (!path.includes('/')) return;
  try {
    await access(path, constants.X_OK);
  } catch {
    throw new UserError(
      `--flyte-cli ${path}: not an executable file; install the flyte CLI (https://www.union.ai/docs) or give its path`,
    );
  }
}

type Target = { kind: 'dir'; path: string } | { kind: 'file'; path: string };

async function openTarget(path: string): Promise<Target> {
  let st;
  try {
    st = await stat(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new UserError(
        `${path} does not exist: name a config repository folder or a saved JSON plan`,
      );
    }
    throw new UserError(`cannot read ${path}: ${(err as Error).message}`);
  }
  if (st.isFile()) return { kind: 'file', path };
  if (!st.isDirectory()) throw new UserError(`${path} is neither a folder nor a file`);
  const note = await requireConfigFolder(path);
  if (note !== null) process.stderr.write(note);
  return { kind: 'dir', path };
}

/** SIGINT/SIGTERM: start no new step, let running ones finish, report the rest not run. */
async function executeWithSignals(
  plan: Plan,
  cp: ControlPlane,
  lockLost: AbortSignal,
  opts: Parameters<typeof executePlan>[2],
) {
  const ac = new AbortController();
  // First signal: finish gracefully. A second one means "now": every step is idempotent, so
  // the next apply converges even from calls cut short (the lock is taken over as stale).
  const onSignal = (signal: NodeJS.Signals) => {
    if (!ac.signal.aborted) return ac.abort();
    process.stderr.write(`Second ${signal}: exiting now; run apply again to finish.\n`);
    process.exit(130);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const onLost = () => {
      process.stderr.write(
        `The apply lock was lost (${String(lockLost.reason instanceof Error ? lockLost.reason.message : lockLost.reason)}): no new step starts; run apply again.\n`,
      );
      ac.abort();
    };
    lockLost.addEventListener('abort', onLost, { once: true });
    letYoungGenerationGrow();
    return await executePlan(plan, cp, { ...opts, signal: ac.signal });
  } catch (err) {
    if (err instanceof ApplyRefusedError) throw new UserError(err.message);
    throw err;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

async function confirm(): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  try {
    const answer = await rl.question(
      '\nDo you want to perform these actions?\n  Only `yes` will be accepted to approve.\n\n  Enter a value: ',
    );
    return answer.trim() === 'yes';
  } finally {
    rl.close();
  }
}
