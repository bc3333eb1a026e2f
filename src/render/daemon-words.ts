/**
 * The daemon's words (run outcomes, replies to `poolsync apply` comments): its stages decide
 * and pass the facts; every sentence is built here.
 */
import type { Change } from '../model/plan.js';
import type { PolicyApproval } from '../model/policy.js';
import type { PlanCounts } from '../plan/counts.js';
import { plural } from './common.js';
import { listAddresses } from './reasons.js';
import { code } from './markdown.js';
import { escapeTerminal } from '../util/terminal-text.js';
import { formatDuration } from '../util/duration.js';
import {
  NO_API,
  renderedAdvice,
  type RenderedChange,
  type RenderedFilesNote,
  type UnnamedRender,
} from './rendered-files.js';

export function short(commit: string): string {
  return commit.slice(0, 12);
}

/**
 * After `policy safe`: why the last applied commit's policy holds, the loaded commit's being
 * looser (daemon/stages/merged-rules.ts); nothing when the loaded commit's holds. A policy not
 * read yet (a pull request's comment before the daemon's first fetch) holds as `safe`.
 */
export function lastAppliedPolicy(
  lastApplied: { commit: string; policy: string | null } | null,
): string {
  if (lastApplied === null) return '';
  const at = `the last applied commit ${short(lastApplied.commit)}`;
  if (lastApplied.policy === null)
    return ` (as ${at} may set it: the daemon has not read its rules yet)`;
  if (lastApplied.policy === 'safe') return ` (as ${at} sets it)`;
  return ` (${at} sets ${lastApplied.policy}; the loaded commit's all holds from the commit after it)`;
}

/** Whose poolsync.yaml an approvers rule is: the last applied commit's where it holds. */
export function approversFile(lastApplied: string | undefined): string {
  return lastApplied === undefined
    ? 'poolsync.yaml of the followed branch'
    : `poolsync.yaml of the last applied commit ${short(lastApplied)}, as the loaded commit's names more`;
}

/** ` in commit abc…`, or nothing for a folder that is not a Git checkout. */
function inCommit(commit: string | null, preposition: string): string {
  return commit ? ` ${preposition} commit ${short(commit)}` : '';
}

/** The line after a /status list cut at PROBLEMS_LISTED (status.ts), saying where all are. */
export function moreListed(
  what: 'errors' | 'warnings' | 'blocked',
  listed: number,
  total: number | undefined,
): string | null {
  const more = (total ?? 0) - listed;
  if (more <= 0) return null;
  return what === 'errors'
    ? `and ${plural(more, 'more error')}: \`poolsync validate\` (a plan's errors: \`poolsync plan\`) on the commit lists them all`
    : `and ${plural(more, what === 'blocked' ? 'more blocked change' : 'more warning')}: \`poolsync plan\` lists them all`;
}

/** A kept run's plan whose errors and warnings were cut (status.ts planDigest), or ''. */
export const problemsNotKept = (omitted: number | undefined): string =>
  omitted
    ? `… ${plural(omitted, 'more error or warning', 'more errors and warnings')} not kept here: \`poolsync plan\` shows them all.`
    : '';

/** The steps of an apply a newer head or the freeze stopped: `waits` ended by the stop, not failed. */
interface StopCounts {
  ran: number;
  waits: number;
  failed: number;
  notRun: number;
}

const stepsAtStop = (c: StopCounts): string =>
  `${plural(c.ran, 'step')} done${c.waits > 0 ? `, ${plural(c.waits, 'wait')} for in-flight work stopped` : ''}${c.failed > 0 ? `, ${c.failed} failed` : ''}, ${plural(c.notRun, 'step')} not started`;

export const runWords = {
  unchanged: (commit: string) => `no new commit (${short(commit)})`,
  /** A daemon of a build before run history: its /status says its last run alone. */
  unkept: (last: number) =>
    `the daemon keeps no runs, as builds before run history did: its last run, #${last}, is in \`poolsync status\`; upgrade the daemon to keep them`,
  /** A kept line's runs (daemon/status.ts RunRepeats): `26 runs: drift, poll; 20 found no new commit`. */
  folded: (r: { runs: number; trigger: readonly string[]; unchanged?: number }) =>
    `${plural(r.runs + 1, 'run')}: ${r.trigger.join(', ')}${r.unchanged ? `; ${r.unchanged} found no new commit` : ''}`,
  /** Above a kept run's changes (`poolsync history N`, `rollback`): what it did, in the past. */
  actionsLine: (result: string) =>
    result === 'applied'
      ? 'poolsync performed the following actions:'
      : 'The run planned the following actions:',
  fetchFailed: (attempt: number, error: string) =>
    `fetch failed (attempt ${attempt}); the control plane keeps its state: ${error}`,
  noFolder: (path: string, commit: string | null) =>
    `the folder ${path} does not exist${inCommit(commit, 'at')}; check --path`,
  invalid: (errors: number, commit: string | null) =>
    `${plural(errors, 'validation error')}${inCommit(commit, 'in')}; nothing applied`,
  /**
   * A drift run of an invalid head (stages/repository.ts driftBaseStage): `failed` by its plan's
   * errors, else by validation errors; `outcome` its base's.
   */
  driftChecked: (
    head: { commit: string | null; result: string; errors: readonly unknown[]; base: string },
    outcome: string,
  ) =>
    `${head.result === 'failed' ? `the plan${inCommit(head.commit, 'of')} has ${plural(head.errors.length, 'error')}` : `${plural(head.errors.length, 'validation error')}${inCommit(head.commit, 'in')}`}, nothing of it applied; drift checked against commit ${short(head.base)}, the last applied: ${outcome}`,
  driftUnchecked: (why: string) =>
    `drift is not checked while the branch's head is invalid: ${why}`,
  noDriftBase: 'the daemon knows no commit it applied to check it against',
  driftRulesUnknown: (base: string) =>
    `the history names a commit evaluated after ${short(base)}, the last applied, and the branch's approvers, policies and guardrails are not known until a valid commit is loaded`,
  driftBaseUnreadable: (base: string, error: string) =>
    `commit ${short(base)}, the last applied, cannot be read: ${error}`,
  /** Since a restart (stages/plan.ts convergedOf): what drift is measured from is unread. */
  driftUnmeasured: (base: string, error: string) =>
    `no change of this run is counted as drift: commit ${short(base)}, the last applied, cannot be read: ${error}; drift is counted again once a run applies or finds the control plane in sync`,
  planErrors: (errors: number) => `the plan has ${plural(errors, 'error')}; nothing applied`,
  /** Changes another repository's record holds back, and nothing else to do (stages/plan.ts gateStage). */
  heldByOtherRepository: (held: readonly Change[], conflicts: readonly string[]) =>
    `not applied: ${plural(held.length, 'change')} blocked (${listAddresses(held.map((c) => c.address))}). ${conflicts.join(' ')}`,
  liveStateUnreadable: (error: string) => `cannot read live state: ${error}`,
  drift: (objects: number) =>
    `drift: ${plural(objects, 'object')} ${objects === 1 ? 'differs' : 'differ'} from the repository`,
  cannotOpen: (error: string) => `cannot open the control plane: ${error}`,
  probeFailed: (error: string) => `cannot read the control plane's capabilities: ${error}`,
  /** /readyz's 503, with the control plane's last error once a run met one. */
  notReady: (controlPlaneError: string | null) =>
    controlPlaneError === null
      ? 'the first reconcile has not finished or the control plane has not answered'
      : `the control plane has not answered: ${controlPlaneError}`,
  notApplied: (why: string) => `not applied: ${why}`,
  shuttingDown: () => 'shutting down: nothing applied',
  /** A transient failure of a `--once` run (reconcile.ts scheduleRetry). */
  onceNotRetried:
    '; not retried: --once exits after this run (run it again, or the daemon without --once retries with backoff)',
  deposed: (why: string, applied: Omit<PlanCounts, 'blocked' | 'side_effects'> | null) =>
    applied === null
      ? `${why}: the run ended with the term and wrote nothing more; the new leader plans from the live state`
      : `${why}: the leadership term ended while this run applied, after its steps applied ${applied.create} created, ${applied.update} updated, ${applied.replace} replaced, ${applied.delete} deleted (its changes below, kept in this replica's history only); no step started after, nothing more was written, and the new leader plans from the live state`,
  applyRefused: (error: string) => `apply refused: ${error}`,
  /** A run kept as it began to apply, its own record never written (reconcile.ts keepStarted). */
  cutOff:
    "the daemon stopped while this run applied (killed, its machine went down, or its leadership term ended: then its replica's own history keeps what it applied), before it recorded what the apply changed or when it ended (the time shown ends where its apply began): the next run planned again from the live state",
  applied: (counts: string, approver: string | null) =>
    `applied: ${counts}${approver === null ? '' : ` (approved by ${approver})`}`,
  manualStep: (op: string, command: string | undefined) =>
    `${op} has no public API: run \`${command ?? '?'}\` (see \`poolsync plan\` for the runbook)`,
  manualSteps: (manual: number, waiting: number) =>
    `applied what has an API; ${plural(manual, 'manual step')} ${manual === 1 ? 'waits' : 'wait'} for a person (${plural(waiting, 'step')} ${waiting === 1 ? 'waits' : 'wait'} on them): run \`poolsync apply\` for the runbook`,
  stepFailed: (op: string, error: string | undefined) =>
    `${op} failed: ${error ?? 'unknown error'}`,
  /** `stopped`: why the apply stopped early (stopWords), null when steps failed. */
  incomplete: (stopped: string | null, failed: number, notRun: number) =>
    `apply incomplete (${stopped === null ? `${plural(failed, 'step')} failed` : `stopped by ${stopped}`}; ${plural(notRun, 'step')} not run); the next run continues from the live state`,
  rollbackLifted: (run: number, head: string | null) =>
    `the branch moved to ${head ? short(head) : 'a new commit'}: the rollback to run #${run} is lifted and the branch is applied again`,
  rollbackRefused: (run: number, message: string) =>
    `${message}: the rollback to run #${run} is refused, and the branch is followed as before`,
  rollbackUnreadable: (run: number, error: string) =>
    `cannot read the commit of run #${run} (rolled back to): ${error}; nothing applied (\`poolsync resume\` lifts the rollback)`,
  branchInvalid: (head: string | null, errors: number) =>
    `the followed branch's head${head ? ` ${short(head)}` : ''} has ${plural(errors, 'validation error')} and no valid commit of the branch was loaded since the daemon started: who may approve and which policies and guardrails hold are not known, so the rollback applies nothing (a new commit lifts it, as does \`poolsync resume\`)`,
  /** The guardrails (plan/guardrails.ts GuardRule) that hold a plan whatever the policy. */
  heldByGuardrails: (rules: readonly string[]) =>
    `held by ${rules.map((r) => (r === 'confirm_destroy' ? 'poolsync/confirm-destroy' : `guardrails.${r}`)).join(' and ')}`,
  /** An apply a freeze stopped between steps (stages/apply.ts). */
  /** `windowsOpenAt`: when sync windows stopped it (freeze.ts), when they let applies go again. */
  stoppedByFreeze: (
    stopped: string,
    counts: StopCounts,
    windowsOpenAt: number | null | undefined,
  ) =>
    `apply stopped by ${stopped}: ${stepsAtStop(counts)}; ` +
    (windowsOpenAt === undefined
      ? '`poolsync resume` plans again from the live state'
      : freezeWords.windowsOpen(windowsOpenAt)),
  /** An apply a newer head of the branch stopped between steps (stages/apply.ts). */
  superseded: (head: string, counts: StopCounts) =>
    `superseded by ${short(head)}: apply stopped, ${stepsAtStop(counts)}; the next run plans ${short(head)} from the live state`,
  /** A run merged from the history beside the Lease (daemon/shared-history.ts): no plan here. */
  planElsewhere:
    'Plan kept by another replica: this run was made by an earlier leader, whose state folder keeps its full plan.',
  renderCommit: (paths: string[], commit: string | null) =>
    `poolsync: render ${paths.join(', ')}${commit ? ` from ${short(commit)}` : ''}`,
  /**
   * A run whose commit changes generated files (poolsync.yaml `render`), or declares objects no
   * file is named for: what `poolsync apply` says last of them (render/rendered-files.ts), or,
   * once --commit-rendered pushed one, what is left to do with it. Never a bare `in sync`: the
   * control plane alone is.
   */
  renderedFiles: (
    message: string,
    files: readonly (UnnamedRender | (RenderedChange & { committed: string | null }))[],
    where: Omit<RenderedFilesNote, 'files'>,
  ) =>
    [
      `${message}.`,
      ...files.map((f) => {
        if (f.status === 'unnamed' || f.committed === null)
          return `Not applied: ${renderedAdvice(f, where)}`;
        const { why, then } = NO_API[f.kind];
        return `${f.path} was committed (${short(f.committed)}, --commit-rendered), and ${why}: ${then}.`;
      }),
    ].join(' '),
};

/** Why a unit's applies wait (src/daemon/freeze.ts), and the run that planned only because of it. */
export const freezeWords = {
  suspended: (s: { since: string; by: string; reason: string | null }) =>
    `suspended by ${s.by} since ${s.since}${s.reason ? ` (${s.reason})` : ''}: \`poolsync resume\` lifts it`,
  denyWindow: (window: string) => `inside the sync window "${window}"`,
  outsideAllowWindows: (windows: string[]) =>
    `outside every allow window (${windows.map((w) => `"${w}"`).join(', ')})`,
  /** When the sync windows holding applies let them go (epoch ms; null: not within a week), and the override. */
  windowsOpen: (at: number | null) =>
    `${at === null ? 'the sync windows let no apply go within a week' : `the sync windows let applies go again at ${new Date(at).toISOString()}, and the first run after that (a poll, a drift run, a webhook) plans again from the live state`}; \`poolsync sync --override-freeze\` does it now`,
  /**
   * A run that found changes while frozen: what waits, why, and what lifts it. `once`: a
   * `daemon --once` run, after which no daemon is left to receive `poolsync sync
   * --override-freeze`; `windowsOpenAt` as in windowsOpen (undefined: suspended).
   */
  frozen: (why: string, counts: string, once?: { windowsOpenAt: number | null | undefined }) =>
    `applies frozen, ${why}; planned only: ${counts}; ${once ? freezeWords.onceFrozen(once.windowsOpenAt) : '`poolsync sync --override-freeze` applies it now'}`,
  onceFrozen: (windowsOpenAt: number | null | undefined) =>
    `--once leaves no daemon for \`poolsync sync --override-freeze\` to reach: ${
      windowsOpenAt === undefined
        ? 'run it again once applies are resumed'
        : `run it again ${windowsOpenAt === null ? 'when the sync windows let applies go (none does within a week)' : `once the sync windows let applies go, at ${new Date(windowsOpenAt).toISOString()}`}, or without sync windows (--sync-windows, POOLSYNC_SYNC_WINDOWS, sync-windows: in the config file) to apply now`
    }`,
};

/**
 * Why no kept run answers a run number (daemon/status.ts missingRun): none has finished with it
 * yet (`last`: the newest that has), it is older than the oldest kept, or it left from between.
 */
export type MissingRun =
  | { why: 'later'; last: number | null }
  | { why: 'unkept'; last: number }
  | { why: 'older'; oldest: number }
  | { why: 'dropped'; oldest: number; newest: number; kept: number };

/** `poolsync history N` and `poolsync rollback N` for a run no kept line covers. */
export function missingRunWords(run: number, m: MissingRun): string {
  if (m.why === 'unkept') return `run #${run} is not kept: ${runWords.unkept(m.last)}`;
  if (m.why === 'later')
    return m.last === null
      ? `the daemon has no run #${run}: no run has finished yet`
      : `the daemon has no run #${run} yet: the last run that finished is #${m.last}`;
  if (m.why === 'older')
    return `run #${run} left the history: the oldest run the daemon keeps is #${m.oldest} (older ones go past --history-limit or --history-max-age, or with a history.json set aside as unreadable)`;
  return `run #${run} left the history: past --history-limit or --history-max-age the runs that changed nothing go first (the daemon keeps ${plural(m.kept, 'run')}, #${m.oldest} to #${m.newest})`;
}

/** `poolsync rollback RUN` (daemon/rollback.ts), as /status, the terminal and the page say it. */
export const rollbackWords = {
  watchedFolder:
    'this daemon watches a folder on disk (--watch): it keeps no commits to roll back to; put the files back as they were (your editor, `git checkout`, `git revert`) and the daemon applies them',
  noRun: (run: number, missing: MissingRun) =>
    `${missingRunWords(run, missing)}: \`poolsync history\` lists the runs kept`,
  notDeployed: (run: number, result: string) =>
    `run #${run} ${result.replace(/_/g, ' ')}: only a run that applied its commit or found the control plane equal to it (applied, in sync) can be rolled back to`,
  noCommit: (run: number) => `run #${run} has no commit to roll back to`,
  /** Its first run's plan had errors (or its commit did not load): nothing of it took hold. */
  refused: (
    run: number,
    commit: string,
    errors: readonly { code: string; address: string | null; message: string }[],
    total: number,
  ) =>
    `the commit of run #${run} (${short(commit)}) does not plan against the live state now (${plural(total, 'error')}): nothing of it was applied, and the daemon follows the branch as before. ` +
    errors.map((e) => `${e.address ?? e.code}: ${e.message}`).join('; ') +
    (total > errors.length ? `; and ${total - errors.length} more` : ''),
  held: (run: number) =>
    `rolled back to run #${run}: its commit is applied, not the branch head, until a new commit lands or \`poolsync resume\``,
  nameEnvironment: (names: string[]) =>
    `run numbers are per environment: name one with --env (${names.join(', ')})`,
  /** /status, `poolsync status`, the dashboard: what the unit applies while it holds. */
  holding: (p: {
    run: number;
    commit: string;
    branchHead: string | null;
    by: string;
    reason: string | null;
    since: string;
  }) =>
    `rolled back to run #${p.run} (commit ${short(p.commit)}) by ${p.by}${p.reason ? ` (${p.reason})` : ''} since ${p.since}: the branch head ${p.branchHead ? short(p.branchHead) : '—'} is not applied until a new commit lands or \`poolsync resume\``,
};

/** `state show ADDRESS --daemon URL`: the kept run that last changed it (daemon/status.ts). */
export function lastChangeWords(
  c: {
    run: number;
    action: string;
    commit: string | null;
    approvedBy: string | null;
    rollback: { to: number } | null;
  } | null,
): string {
  if (c === null) return 'Last changed by: none of the runs the daemon keeps (`poolsync history`)';
  const approved = c.approvedBy !== null ? `, approved by ${c.approvedBy}` : '';
  const back = c.rollback !== null ? `, rollback to run #${c.rollback.to}` : '';
  return `Last changed by run #${c.run} (${c.action}, commit ${c.commit ? short(c.commit) : '—'}${approved}${back})`;
}

export const stopWords = {
  shutdown: 'shutdown',
  leadership: 'loss of leadership',
  lock: 'loss of the apply lock (not renewed in time)',
  /** The freeze that began while the apply ran: freezeWords' why. */
  freeze: (why: string) => `the freeze (applies ${why})`,
  /** The branch's newer head (Reconciler.supersede). */
  superseded: (head: string) => `superseded by ${short(head)}`,
  failure: 'failure',
} as const;

/** What --shutdown-timeout cut off, from the phases the runs were in (src/daemon/daemon.ts). */
export const shutdownWords = {
  cutOff: (phases: string[], timeoutMs: number): string => {
    const after = `shutdown timeout (${formatDuration(timeoutMs)}, --shutdown-timeout)`;
    if (phases.includes('apply'))
      return `${after}: steps were still running and were cut off; the next start converges from the live state`;
    if (phases.includes('unlock'))
      return `${after}: no step was running; releasing the apply lock was cut off (it lapses by itself)`;
    if (phases.includes('record'))
      return `${after}: no step was running; writing the run's record (inventory, history) was cut off`;
    return `${after}: a run was cut off in its ${[...new Set(phases)].join(', ')} phase, before any step`;
  },
};

/** Changes a reply names; the plan comment lists them all. */
const REPLY_CHANGES = 10;

/** A forge's time as a reply names it: `2024-05-17 18:08:09 UTC`. */
export const time = (ms: number) =>
  new Date(ms)
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d+Z$/, ' UTC');

const COMMENT_AGAIN = 'Wait for the new plan comment, review it, then comment again.';
const REPLAN = 'Push a commit (or ask for a re-plan), review the new plan, then comment again.';

function ofEnvironment(environment: string | null): string {
  return environment === null ? '' : ` of environment ${environment}`;
}

/** The replies to `poolsync apply` comments (src/daemon/pull-requests.ts). */
export const commentWords = {
  refused: (user: string, reason: string) =>
    `**poolsync**: approval by @${user} refused: ${reason}`,
  withoutEnvironments: (environment: string) =>
    `\`-e ${environment}\` names an environment, and this daemon reconciles one control plane without environments: comment \`poolsync apply\` (docs/environments.md).`,
  environmentNeeded: (names: string[]) =>
    `this daemon reconciles several environments (${names.join(', ')}): name the one to approve, e.g. \`poolsync apply -e ${names.at(-1) ?? 'NAME'}\` (docs/environments.md).`,
  noSuchEnvironment: (environment: string, names: string[]) =>
    `no environment '${environment}' here (environments: ${names.join(', ')}).`,
  notOpen:
    'the pull request is not open: only a comment on an open pull request approves its plan.',
  ownPullRequest: (user: string) =>
    `@${user} opened this pull request, and its author may not approve it: another user with the permission to approve must (the daemon's --allow-self-approval allows it).`,
  writtenBefore: (commit: string, written: number | null, shown: number | null) =>
    written === null || shown === null
      ? `the forge did not say when the comment or the plan comment was written, so poolsync cannot tell which plan was on screen. ${COMMENT_AGAIN}`
      : `the comment was written at ${time(written)}, and the plan comment has shown the plan for commit ${short(commit)} only since ${time(shown)}: a comment approves the plan on screen when it was written, and this one was not. Review the plan comment, then comment again.`,
  unlisted: (held: number) =>
    `the ${plural(held, 'held change')} of this plan are more than the pull request's comments can list, so no comment approves them (nobody could see them all): after merge, review them where the daemon holds them (its dashboard, or \`poolsync approve\`) and approve their fingerprint there.`,
  mayNotApprove: (user: string, github: boolean, level: string) =>
    `@${user} may not approve: approving needs ${github ? 'write permission on the repository' : 'the Developer role or higher in the project'} (has ${level}).`,
  notPosted: (environment: string | null) =>
    `no plan${ofEnvironment(environment)} of this pull request has been posted by this daemon (or it restarted since). Push a commit or wait for the plan comment, review it, then comment \`poolsync apply${environment === null ? '' : ` -e ${environment}`}\` again.`,
  headMoved: (posted: string, head: string) =>
    `stale: the plan was posted for commit ${short(posted)}, the pull request is now at ${short(head)}. ${COMMENT_AGAIN}`,
  liveMoved: `stale: the control plane changed since the plan was posted, so the plan may not be what would be applied. ${REPLAN}`,
  notReplanned: (environment: string, head: string) =>
    `the plan of environment ${environment} for ${short(head)} could not be made again here (invalid, or the control plane unreadable): nothing to approve.`,
  commentDiffers: (environment: string, head: string) =>
    `stale: the plan of environment ${environment} for ${short(head)} is not the one in the plan comment (its desired state or held changes differ). ${REPLAN}`,
  notChecked: (forgeError: string | null) =>
    `it could not be checked (${forgeError ?? "the control plane could not be read: the daemon's log says why"}), and an unchecked comment approves nothing. Comment again.`,
  replyFailed: (why: string) =>
    `the forge did not take the reply that announces it (${why}), and an approval nobody is told of is not granted: whatever a reply above says, nothing is approved. Comment again.`,
  nothingHeld: (environment: string | null) =>
    `**poolsync**: nothing in this plan${ofEnvironment(environment)} waits for approval; the daemon applies it after merge.`,
  /** Approvals a pull-request event withdrew (`why`: approvalWords.newCommits or closedUnmerged). */
  withdrawn: (
    gone: { approver: string; environment: string | null }[],
    why: string,
    closed: boolean,
  ) => {
    const who = gone.map((g) => `@${g.approver}${ofEnvironment(g.environment)}`);
    const commands = [...new Set(gone.map((g) => g.environment))].map(
      (e) => `\`poolsync apply${e === null ? '' : ` -e ${e}`}\``,
    );
    const next = closed
      ? 'reopen it (or open another), review its plan comment'
      : 'wait for the plan comment of the new commit, review it';
    return (
      `**poolsync**: ${gone.length > 1 ? 'the approvals by' : 'the approval by'} ${who.join(', ')} ${gone.length > 1 ? 'were' : 'was'} withdrawn: ${why}, so nothing approved before is applied. ` +
      `To apply the held changes, ${next}, then comment ${commands.join(' or ')} to approve the new plan.`
    );
  },
  approved: (
    by: { user: string; level: string },
    held: Change[],
    environment: string | null,
    commit: string,
    fingerprint: string,
  ) =>
    `**poolsync**: approved by @${by.user} (${by.level}): the ${plural(held.length, 'held change')} of the plan${ofEnvironment(environment)} for ${short(commit)} ` +
    `(${held
      .slice(0, REPLY_CHANGES)
      .map((c) => code(`${c.action} ${c.address}`))
      .join(
        ', ',
      )}${held.length > REPLY_CHANGES ? ` and ${plural(held.length - REPLY_CHANGES, 'more')}, as the plan comment lists them` : ''}), fingerprint \`${fingerprint}\`. ` +
    `The daemon applies them once this pull request is merged at ${short(commit)} and they are exactly the changes it holds; new commits, closing it unmerged or a plan that changes withdraw this approval (approve again).`,
};

/**
 * Refusals by poolsync.yaml `approvers:` (src/vcs/principals.ts, docs/daemon.md#approvers), one
 * line each naming the rule, and why an approval's plan comment no longer counts.
 */
export const approverWords = {
  /** `who`: `@bob` or `token:admin`; `what`: `approve`, `sync`, `suspend`, `override`. */
  notListed: (
    who: string,
    what: string,
    environment: string | null,
    rule: { rule: string; principals: readonly string[]; lastApplied?: string },
  ) =>
    `${who} may not ${ACTION_WORDS[what] ?? what}${environment === null ? '' : ` in environment ${environment}`}: ${rule.rule} (${approversFile(rule.lastApplied)}) names ${rule.principals.join(', ') || 'no one'}, and ${who} is none of them`,
  /** The admin token refused: how the operator lets it. */
  adminToken: (refusal: string) =>
    `${refusal}: add token:admin to the rule, or start the daemon with --admin-token-bypasses-approvers`,
  unread: (what: string) =>
    `who may ${ACTION_WORDS[what] ?? what} is not known yet: the daemon has not loaded a valid commit of the branch it follows, whose poolsync.yaml names them (approvers:). Try again once it has`,
  /** The plan comment (or a held list) as the forge has it now (vcs/publish.ts shownChange). */
  commentChanged: (change: {
    kind: 'deleted' | 'not_own' | 'edited' | 'unsealed';
    at?: number | null;
  }) =>
    `${
      change.kind === 'deleted'
        ? "poolsync's plan comment was deleted"
        : change.kind === 'not_own'
          ? "poolsync's plan comment is no longer poolsync's (its marker is gone)"
          : change.kind === 'unsealed'
            ? "poolsync's plan comment carries no seal of this daemon (posted by an earlier version, or under another webhook secret), so it cannot be told unchanged"
            : `poolsync's plan comment was edited${change.at ? ` at ${time(change.at)}` : ''} after poolsync posted it`
    }, so the plan on the pull request may not be the one poolsync posted, and nothing is approved. ${REPLAN}`,
};

const ACTION_WORDS: Record<string, string> = {
  approve: 'approve held changes',
  sync: 'sync',
  suspend: 'suspend or resume applies',
  override: 'override the freeze',
};

/** ` --env NAME` with environments, so a command printed under one approves that one only. */
const envFlag = (environment: string | null) =>
  environment !== null ? ` --env ${environment}` : '';

/** The command that approves held changes `fingerprint` (of `environment`). */
export const approveCommand = (fingerprint: string, environment: string | null) =>
  `poolsync approve ${fingerprint}${envFlag(environment)}`;

/**
 * The command that approves policy failures `failures` (of `environment`): through the daemon
 * `--as` names a user owner (docs/policies.md, Owners), the first one listed.
 */
export function approvePoliciesCommand(
  failures: string,
  owners: readonly string[],
  environment: string | null,
): string {
  const user = owners.find((o) => !o.includes(':')) ?? 'OWNER';
  return `poolsync approve --policies ${failures} --reason WHY --as ${user}${envFlag(environment)}`;
}

/** An environment's policy failures, as the words that name them and their command need. */
interface Failing {
  environment: string | null;
  owners: readonly string[];
}

/** Each environment's command, quoted: `` `poolsync approve --policies … --env dev` or `…` ``. */
const policyCommands = (failures: string, failing: readonly Failing[]) =>
  failing
    .map((f) => `\`${approvePoliciesCommand(failures, f.owners, f.environment)}\``)
    .join(' or ');

/** ` of environment dev` (` of environments dev, prod`), nothing without environments. */
const ofEnvironments = (names: readonly (string | null)[]) =>
  names[0] === null ? '' : ` of environment${names.length > 1 ? 's' : ''} ${names.join(', ')}`;

/** Why `POST /approve` approves nothing (src/daemon/approvals.ts, unit.ts). */
export const approvalWords = {
  notAFingerprint: (fingerprint: string) =>
    `"${fingerprint}" is not a plan fingerprint (sha256:<64 hex digits>)`,
  nothingHeld: 'nothing is waiting for approval',
  /** `asked` is no plan this daemon holds or held: a typo, not a moved plan (`meant`: close to `held`). */
  noSuchPlan: (asked: string, held: string, commit: string | null, meant: boolean) =>
    `no plan with fingerprint ${asked}${meant ? ` (did you mean ${held}?)` : ''}: not the changes waiting for approval (${held}${commit ? `, commit ${short(commit)}` : ''}) nor any this daemon held before. ` +
    'Review the current plan (GET /status, `poolsync approve`) and approve its fingerprint',
  heldMoved: (held: string, commit: string | null, asked: string) =>
    `stale: the changes waiting for approval are now ${held}${commit ? ` (commit ${short(commit)})` : ''}, not ${asked}: ` +
    'the live state or the commit moved since that plan. Review the current plan (GET /status) and approve its fingerprint',
  noSuchEnvironment: (environment: string, names: string[]) =>
    `no environment '${environment}' (environments: ${names.join(', ')})`,
  withoutEnvironments: (environment: string) =>
    `"environment": ${environment}: this daemon reconciles one control plane without environments; leave it out`,
  noEnvironmentHolds: (fingerprint: string, names: string[]) =>
    `no environment holds changes with fingerprint ${fingerprint}: name the environment ("environment": one of ${names.join(', ')}) or approve the fingerprint GET /status shows under environments.NAME.approval.pending`,
  noEnvironmentFails: (failures: string, names: string[]) =>
    `no environment's policy failures have the digest ${failures}: name the environment ("environment": one of ${names.join(', ')}) or approve the digest GET /status shows under environments.NAME.policies.failures`,
  /** Environments that hold the same changes: approving one is naming it, never the first. */
  heldBySeveral: (fingerprint: string, names: string[]) =>
    `environments ${names.join(', ')} all hold changes with fingerprint ${fingerprint}: name the one you approve (${names.map((n) => `\`${approveCommand(fingerprint, n)}\``).join(' or ')}; "environment" in POST /approve)`,
  failingInSeveral: (failures: string, failing: Failing[]) =>
    `environments ${failing.map((f) => f.environment).join(', ')} all have policy failures with digest ${failures}: name the one you approve (${policyCommands(failures, failing)}; "environment" in POST /approve)`,
  /** A policy failures' digest given as held changes' fingerprint. */
  policyDigest: (digest: string, failing: Failing[]) =>
    `${digest} is the digest of the policy failures${ofEnvironments(failing.map((f) => f.environment))}, not of changes held for approval: an owner of the policies approves them with ${policyCommands(digest, failing)}`,
  /** The last plan of `environment` has no policy failure: `asked` approves nothing. */
  noPolicyFailure: (asked: string, environment: string | null) =>
    `nothing is waiting for approval: the last plan${ofEnvironments([environment])} has no policy failure, so ${asked} approves nothing`,
  /** Held changes approved and not applied yet (applies frozen): one approval suffices. */
  heldApproved: (a: { fingerprint: string; approver: string; at: string }) =>
    `the changes ${a.fingerprint} are approved already, by ${a.approver} at ${a.at}: the next run that may apply applies them (GET /status approval.granted)`,
  /** Approved and not applied yet: a second approval would replace who and why. */
  policiesApproved: (a: PolicyApproval, environment: string | null) =>
    `the policy failures ${a.failures}${ofEnvironments([environment])} are approved already, by ${a.by} at ${a.at} (${a.why}): the next run that may apply releases them`,
  /** An approval is used by the run it released once that run applied (docs/policies.md, Owners). */
  policiesApplied: (a: PolicyApproval, environment: string | null) =>
    `nothing is waiting for approval: the policy failures ${a.failures}${ofEnvironments([environment])} were approved by ${a.by} at ${a.at} (${a.why}), and the run they held has applied; a plan with them again waits for a new approval`,
  /**
   * Why an approval by comment does not release the held changes of this run (approvals.ts
   * `take`): it approves its pull request's head commit merged, nothing else.
   */
  withdrawn: (a: Granted, why: string) =>
    `${approvalOf(a)} was withdrawn: ${why}; ${APPROVE_AGAIN}`,
  /** `withdrawn`'s reasons (pull-requests.ts). */
  newCommits: (head: string) => `the pull request got new commits (now at ${short(head)})`,
  closedUnmerged: 'the pull request was closed without merge',
  noCommit: (a: Granted) =>
    `${approvalOf(a)} approves its pull request merged, and this run read no commit`,
  notMerged: (a: Granted, commit: string, now: { merged: boolean; mergeCommit: string | null }) =>
    `${approvalOf(a)} approves that pull request merged, and commit ${short(commit)} does not contain its approved commit ${short(a.pullRequest!.head)}` +
    (now.merged && now.mergeCommit !== null
      ? ` nor the commit it was merged as (${short(now.mergeCommit)})`
      : ', nor is it merged') +
    `: merge it, or ${APPROVE_AGAIN}`,
  mergeUnchecked: (a: Granted, why: string) =>
    `whether the pull request of ${approvalOf(a)} is merged into this commit could not be checked (${why}); the next run checks again`,
};

/** An approval as the held message names it (approvals.ts ApprovalRecord). */
type Granted = { approver: string; source: string | null; pullRequest?: { head: string } };

const approvalOf = (a: Granted) => `${a.approver}'s approval on ${a.source ?? 'the API'}`;

const APPROVE_AGAIN =
  'approve the changes held now (a `poolsync apply` comment on the pull request that makes them, or `poolsync approve`)';

/** A replica's Lease reads as /status gives them (LeaderStatus). */
interface LeaseRead {
  identity: string;
  leaseUnreadSince?: string | null | undefined;
  leaseError?: string | null | undefined;
}

/** Why no replica is known to lead, when the Lease is not read; null: it is. */
const unreadLease = ({ identity, leaseUnreadSince: since, leaseError: error }: LeaseRead) =>
  since
    ? `no replica is known to lead: ${identity} has not read or renewed the Lease since ${since}${error ? ` (${error})` : ''}`
    : null;
/**
 * How a leader's refusal of a request a follower handed on begins: the caller's credential was
 * accepted, so the refusal is of the replicas' settings or clocks (the CLI then names no token).
 */
export const HANDED_ON = 'accepted the credential and handed the request to the leader';
const handedTo = (by: string, leader: string | undefined) =>
  `${by} ${HANDED_ON}${leader ? ` ${leader}` : ''}`;

/** Why a replica that does not lead cannot do what needs the leader (src/daemon/http.ts, leader.ts). */
export const leaderWords = {
  notLeader: (leader: string | null, read: LeaseRead) =>
    `this replica (${read.identity}) is not the leader (${unreadLease(read) ?? `leader: ${leader ?? 'none yet'}`})`,
  handedOnTwice: (by: string, read: LeaseRead) =>
    `${by} handed it here, but this replica is not the leader either: ${unreadLease(read) ?? 'the leadership is changing'}`,
  noLeader: (read: LeaseRead) => unreadLease(read) ?? 'no leader is elected yet',
  /** `poolsync status` of a follower's own view: who leads, as it knows. */
  ownView: (leader: string | null, read: LeaseRead) => {
    const unread = unreadLease(read);
    return unread
      ? `Leader: none known, ${unread}; nothing is reconciled or applied until a replica leads again: this is ${read.identity}'s own view (retry in a few seconds)`
      : `Leader: ${leader ?? 'none yet'}, not reached: this is ${read.identity}'s own view, a follower's; only the leader reconciles, applies and holds approvals (retry in a few seconds)`;
  },
  noAddress: (leader: string) =>
    `the leader is ${leader}, which has not published its address in the Lease`,
  noAnswer: (leader: string, address: string, why: string) =>
    `the leader ${leader} did not answer at ${address} (${why})`,
  notRelayed: (leader: string, address: string, why: string) =>
    `the leader ${leader} at ${address} got the request, but its answer was not relayed: ${why}`,
  handedUnset: (by: string, leader: string | undefined, setting: string) =>
    `${handedTo(by, leader)}, which has no ${setting}: give every replica the same ${setting}`,
  handedUnverified: (by: string, leader: string | undefined, setting: string) =>
    `${handedTo(by, leader)}, whose ${setting} does not verify its signature: give every replica the same ${setting}`,
  /**
   * A forward whose signature verifies, signed more than MAX_SKEW_MS from this replica's clock:
   * from its future only the clocks explain (a wait makes a signature older, never newer).
   */
  handedExpired: (by: string, leader: string | undefined, ageSeconds: number) =>
    `${handedTo(by, leader)}, which got it signed ${
      ageSeconds < 0
        ? `${-ageSeconds} s ahead of its clock, past the minute a hand-off is accepted: the clocks of ${by} and of ${leader ?? 'the leader'} disagree by at least ${-ageSeconds} s (a wait cannot sign a request in the future); synchronise the clock of the replica that is off (NTP) and send the request again; nothing was done`
        : `${ageSeconds} s ago, past the minute a hand-off is accepted: the replicas' clocks differ by more than a minute (keep them synchronised, e.g. NTP), or the hand-off waited that long on a leader that did not answer; nothing was done, send the request again`
    }`,
  /** A hand-off's wait cut because the Lease changed hands meanwhile. */
  leadershipChanged: (now: string | null) =>
    `the leadership changed meanwhile; the leader is ${now ?? 'not known yet'}`,
};

/** A drift change as the terminal lists it: put back, or still as someone changed it. */
interface DriftChange {
  action: string;
  address: string;
  corrected: boolean;
}

/** Run results whose message does not already say them (`applied: …`, `in sync`, `applies frozen, …`). */
const RESULT_LABEL: Record<string, string> = {
  invalid: 'invalid',
  failed: 'failed',
  waiting_for_approval: 'waits for approval',
};

/**
 * The quickstart's terminal (src/daemon/terminal.ts): a run in the words /status has for it,
 * and the records of its log that are not a run's (src/daemon/logger.ts `recordLines`).
 */
export const terminalWords = {
  /** `Run #7 invalid: 2 validation errors; nothing applied`, then its drift and first errors. */
  run(
    run: { id: number; result: string; message: string },
    how: { recovered: boolean; drift: readonly DriftChange[]; errors: readonly string[] },
    environment: string | null = null,
  ): string {
    const putBack = how.drift.filter((c) => c.corrected);
    const label = how.recovered
      ? ' recovered'
      : putBack.length > 0
        ? ' put back what was changed on the control plane'
        : RESULT_LABEL[run.result] === undefined
          ? ''
          : ` ${RESULT_LABEL[run.result]}`;
    const drift = [
      ...putBack.map((c) => `${c.action} ${c.address}`),
      ...how.drift
        .filter((c) => !c.corrected)
        .map((c) => `${c.action} ${c.address}: changed on the control plane, not put back`),
    ];
    const shown = drift.slice(0, 5);
    const details = [
      ...shown,
      ...(drift.length > shown.length ? [`… ${drift.length - shown.length} more`] : []),
      ...how.errors.slice(0, 3),
    ];
    const of = environment === null ? '' : `[${environment}] `;
    return lines([`${of}Run #${run.id}${label}: ${run.message}`, ...details.map((d) => `  ${d}`)]);
  },
  suspended: (by: string, reason: string | null) =>
    lines([
      `Applies suspended by ${by}${reason ? ` (${reason})` : ''}: runs go on planning and finding drift, and apply nothing until \`poolsync resume\`.`,
    ]),
  resumed: (by: string) => lines([`Applies resumed by ${by}: the next run applies what waited.`]),
  /** A log record the terminal has no words of its own for: its message and fields, one line. */
  record(level: number, msg: string, fields: Record<string, unknown>): string {
    const shown = Object.entries(fields).map(
      ([key, value]) =>
        `${key}: ${typeof value === 'string' ? value : Array.isArray(value) ? value.join(', ') : JSON.stringify(value)}`,
    );
    const details = shown.length > 0 ? ` (${shown.join('; ')})` : '';
    return lines([`${level >= 50 ? 'Error' : 'Warning'}: ${msg}${details}`]);
  },
};

/** Each line ends with a newline, its control characters escaped (file names, server text). */
const lines = (texts: readonly string[]): string =>
  texts.map((t) => `${escapeTerminal(t)}\n`).join('');

/** A /status error in one line: its file:line:col or object when it has one, its code, its message. */
export function errorLine(e: {
  location: string | null;
  address: string | null;
  code: string;
  message: string;
}): string {
  const where = e.location ?? e.address;
  return `${where ? `${where}: ` : ''}${e.code}: ${e.message}`;
}
