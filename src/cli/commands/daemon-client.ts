/**
 * The commands that ask a running daemon (docs/daemon.md#from-the-command-line), with the admin
 * token where they act. `approve` (docs/daemon.md#approvals): without FINGERPRINT what a daemon
 * holds under policy `safe`; with it exactly that, a stale fingerprint refused with the reason.
 */
import { NO_OWNER, policySummary, policyText } from '../../render/policy.js';
import type { PolicyReport } from '../../model/policy.js';
import { existsSync } from 'node:fs';
import { hostname, userInfo } from 'node:os';
import { LOCAL_ADMIN_TOKEN_FILE, LOCAL_DAEMON_URL_FILE } from '../../daemon/config-options.js';
import type { FreezeStatus } from '../../daemon/freeze.js';
import { HAND_OFF_WAIT_MS, WRONG_BEARER, type FreezeBefore } from '../../daemon/http.js';
import { renderText, renderedOfRun } from '../../render/text.js';
import {
  countsText,
  EARLIER_UNPRUNED,
  earlierUnprunedWarning,
  plural,
} from '../../render/common.js';
import {
  approveCommand,
  approvePoliciesCommand,
  errorLine,
  freezeWords,
  leaderWords,
  HANDED_ON,
  missingRunWords,
  moreListed,
  problemsNotKept,
  runWords,
} from '../../render/daemon-words.js';
import {
  findKeptRun,
  initialStatus,
  missingRun,
  objectChanges,
  RECENT_RUN_SHAPE,
  type DaemonStatus,
  type ObjectChange,
  type RecentRun,
  type RunMade,
  type RunRecord,
} from '../../daemon/status.js';
import { MANIFEST_KINDS } from '../../gen/manifests/kinds.js';
import { readUserFile, SECRET_FILE_BYTES } from '../../util/safe-file.js';
import { rememberSecret } from '../../util/redact.js';
import { UserError } from '../../util/user-error.js';
import { closestAddress, didYouMean, kindTypoHint } from '../../manifests/suggest.js';
import { escapeTerminal } from '../../util/terminal-text.js';
import { Agent, request } from 'undici';
import {
  isLoopback,
  noAnswerWords,
  oversizedHeaders,
  PROXY_REFUSED,
  redirectWords,
} from '../../util/reach.js';
import {
  CallDeadline,
  LIMIT_SETTINGS,
  limitOf,
  limitWords,
  noticeSilence,
  transportLimits,
  type TransportLimits,
  type WaitListener,
} from '../../util/transport-limits.js';
import { durationRefusal, formatDuration, parseDuration } from '../../util/duration.js';
import { retryAfterMs } from '../../util/backoff.js';
import {
  anything,
  bool,
  isMap,
  listOf,
  nullable,
  record,
  shapeProblem,
  str,
  type Shape,
} from '../../util/json-shape.js';
import {
  DEFAULT_DAEMON_URL,
  DEFAULT_RUN_WAIT,
  daemonUrl,
  type DaemonClientArgs,
} from '../define.js';
import type { Io } from '../io.js';
import { headerToken } from '../../util/bound-secret.js';
import { KEPT_RESULTS } from '../../daemon/run-result.js';

export async function approve(args: DaemonClientArgs, io: Io): Promise<number> {
  const at = await daemonAt(args, io.env);
  const base = at.base;
  const s = await readStatus(at, io.env);
  // A follower answers with the leader's status; its own only when the leader is out of
  // reach, and then what waits is the leader's to say, not this replica's.
  if (s.leader && !s.leader.isLeader)
    throw new UserError(
      `${base} is answered by ${s.leader.identity}, which is not the leader and could not reach it (leader: ${s.leader.leader ?? 'none yet'}): ` +
        'what waits for approval is not known here; retry in a few seconds',
    );
  if (args.policies) return approvePolicies(args, io, at, s);
  if (!args.fingerprint) {
    const waiting = sections(s, args.env).flatMap(([name, e]) =>
      e.approval?.pending ? [[name, e.approval.pending, e] as const] : [],
    );
    if (waiting.length === 0) {
      io.stdout.write('Nothing is waiting for approval.\n');
      return 0;
    }
    for (const [name, pending, e] of waiting)
      io.stdout.write(
        `${name !== null ? `Environment ${name}: ` : ''}${plural(pending.changes.length, 'change')} held since ${pending.since}${pending.commit ? ` (commit ${pending.commit.slice(0, 12)})` : ''}:\n` +
          pending.changes.map((c) => `  ${c.action} ${c.address}\n`).join('') +
          `\n${approvedAlready(e, pending.fingerprint) ?? (s.adminApi === false ? NO_ADMIN_TOKEN : `Approve exactly these: ${approveCommand(pending.fingerprint, name)} --daemon ${base}`)}\n`,
      );
    return 0;
  }
  const approver = args.as?.trim() || defaultApprover();
  const fingerprint = digestOf(args.fingerprint);
  const post = await asAdmin(args, io, at, 'approving');
  const res = await post('/approve', {
    fingerprint,
    approver,
    environment: args.env,
  });
  const body = res.json as {
    reason?: string;
    error?: string;
    leader?: string | null;
    frozen?: string | null;
    environment?: string | null;
  };
  if (res.status === 200) {
    const when = body.frozen
      ? `applies are frozen (${body.frozen}): the held changes wait until applies may go, then the daemon applies them`
      : 'the daemon applies the held changes now';
    io.stdout.write(
      `Approved ${fingerprint}${inEnvironment(body.environment)} as ${approver}; ${when} (see ${base}/status).\n`,
    );
    return 0;
  }
  // 409: not what is held; 403 with a reason: an approvers rule refuses the admin token.
  if (res.status === 409 || (res.status === 403 && body.reason))
    throw new UserError(`Approval refused: ${body.reason ?? 'unknown reason'}`);
  if (res.status === 503)
    throw new UserError(
      `${base}: ${body.error ?? 'not the leader'}${body.leader ? ` (the leader is ${body.leader})` : ''}; nothing was approved`,
    );
  throw new UserError(answered(`${base}/approve`, res.status, body.error ?? body.reason));
}

/**
 * Who approved the held changes `fingerprint` already by the API and why they still wait (a
 * freeze), or null: they wait for an approval (docs/daemon.md#approvals).
 */
function approvedAlready(s: DaemonStatus, fingerprint: string): string | null {
  const granted = s.approval?.granted ?? [];
  const g = granted.find((r) => r.fingerprint === fingerprint && !r.pullRequest);
  if (!g) return null;
  const why = s.freeze?.why;
  return `approved by ${g.approver} at ${g.at}, ${why ? `waiting for the freeze to end (${why})` : 'the next run applies them'}`;
}

/** `approve --policies`: the failures listed, or exactly those approved (docs/policies.md). */
async function approvePolicies(
  args: DaemonClientArgs,
  io: Io,
  at: DaemonAt,
  s: DaemonStatus,
): Promise<number> {
  const base = at.base;
  if (!args.fingerprint) {
    const failing = sections(s, args.env).flatMap(([name, e]) =>
      e.policies?.failures ? [[name, e.policies] as const] : [],
    );
    if (failing.length === 0) io.stdout.write('No policy failure waits for approval.\n');
    for (const [name, r] of failing)
      io.stdout.write(
        `${name !== null ? `Environment ${name}:` : ''}${policyText(r)}\n${policyApproval(r, name, base, s.adminApi)}\n`,
      );
    return 0;
  }
  const reason = args.reason?.trim();
  if (!reason)
    throw new UserError('approve --policies needs --reason WHY: the approval is recorded with it');
  const approver = args.as?.trim() || defaultApprover();
  const post = await asAdmin(args, io, at, 'approving');
  const failures = digestOf(args.fingerprint);
  const res = await post('/approve', {
    policies: failures,
    approver,
    reason,
    environment: args.env,
  });
  const body = res.json as { reason?: string; error?: string; environment?: string | null };
  if (res.status === 200) {
    io.stdout.write(
      `Approved the policy failures ${failures}${inEnvironment(body.environment)} as ${approver}: ${reason}. The daemon plans and applies again now.\n`,
    );
    return 0;
  }
  if (res.status === 409)
    throw new UserError(`Approval refused: ${body.reason ?? 'unknown reason'}`);
  throw new UserError(answered(`${base}/approve`, res.status, body.error ?? body.reason));
}

/** Why an approve command would not work: the daemon has no admin token (`/status` `adminApi`). */
const NO_ADMIN_TOKEN =
  "Nobody can approve through this daemon: approving needs the daemon's admin token, and it was started without one; restart it with POOLSYNC_ADMIN_TOKEN or --admin-token-file FILE (docs/daemon.md#approvals)";

/** ` of environment NAME` when the daemon named one (it has environments). */
const inEnvironment = (name: string | null | undefined) => (name ? ` of environment ${name}` : '');

/**
 * The command an owner runs to release `r`'s failures (of environment `name`), as printed
 * runnable (approvePoliciesCommand). None when nobody can: no owner, no user owner (`--as` must
 * name one, docs/policies.md, Owners), or no admin token (`adminApi` false).
 */
function policyApproval(
  r: PolicyReport,
  name: string | null,
  base: string,
  adminApi: boolean | undefined,
): string {
  if (r.owners.length === 0) return `Nobody can approve them: ${NO_OWNER}`;
  const owners = r.owners.join(', ');
  if (!r.owners.some((o) => !o.includes(':')))
    return `No owner may approve them through the daemon (owners: ${owners}): --as must name a user owner, and the policies list none`;
  if (adminApi === false) return NO_ADMIN_TOKEN;
  return `Approve exactly these (an owner: ${owners}): ${approvePoliciesCommand(r.failures!, r.owners, name)} --daemon ${base}`;
}

/**
 * A fingerprint or digest as typed: the 64 hex digits alone (or in capitals) are the one
 * `sha256:` digest they can be; anything else goes as it is, for the daemon to say why not.
 */
function digestOf(typed: string): string {
  const t = typed.trim();
  const hex = /^(?:sha256:)?([0-9a-f]{64})$/i.exec(t)?.[1];
  return hex !== undefined ? `sha256:${hex.toLowerCase()}` : t;
}

function defaultApprover(): string {
  try {
    return `${userInfo().username}@${hostname()}`;
  } catch {
    return `unknown@${hostname()}`;
  }
}

export async function status(args: DaemonClientArgs, io: Io): Promise<number> {
  const at = await daemonAt(args, io.env);
  const base = at.base;
  const s = await readStatus(at, io.env);
  const shown = sections(s, args.env);
  if (args.output !== 'json') {
    io.stdout.write(`Daemon ${base}: ${sourceText(s)}, policy ${s.policy}\n`);
    for (const [name, e] of shown) io.stdout.write(statusText(e, name, base, s.adminApi));
  } else io.stdout.write(asJson(s));
  return args['exit-code'] && shown.some(([, e]) => failed(e.outcome)) ? 1 : 0;
}

const asJson = (value: unknown): string => `${JSON.stringify(value, null, 2)}\n`;

const failed = (result: RunRecord['result'] | null | undefined): boolean =>
  result === 'failed' || result === 'invalid';

export async function sync(args: DaemonClientArgs, io: Io): Promise<number> {
  const at = await daemonAt(args, io.env);
  const base = at.base;
  const post = await asAdmin(args, io, at, 'syncing');
  // --env: a name the daemon does not have is refused here, with the closest one.
  if (args.env !== undefined) sections(await readStatus(at, io.env), args.env);
  const query = [
    args.wait && 'wait=1',
    args['override-freeze'] && 'override=freeze',
    args.env !== undefined && `environment=${encodeURIComponent(args.env)}`,
  ].filter(Boolean);
  const path = `/reconcile${query.length > 0 ? `?${query.join('&')}` : ''}`;
  const res = await post(path, undefined, waited(args, io, 'sync'));
  const body = res.json as { error?: string; runs?: RunMade[] };
  if (res.status !== 200 && res.status !== 202)
    throw new UserError(answered(`${base}/reconcile`, res.status, body.error));
  if (!args.wait) {
    io.stdout.write(`Asked ${base} to reconcile now; \`poolsync status\` shows the result.\n`);
    return 0;
  }
  if (body.runs?.length === 0)
    throw new UserError(
      `${base} made no run: the replica that took the request stopped leading (or shut down) before its run, or leads none of the environments asked; nothing was applied: \`poolsync status\` names the leader, then run \`poolsync sync\` again`,
    );
  const shown = sections(await readStatus(at, io.env), args.env);
  // The runs the daemon says this request made, never a run picked by comparing this machine's
  // clock with the daemon's; a daemon of an earlier build names none: each section's last run.
  const runs =
    body.runs ??
    shown.flatMap(([environment, e]) => (e.lastRun ? [{ environment, run: e.lastRun }] : []));
  if (args.output === 'json')
    io.stdout.write(asJson(Object.fromEntries(runs.map((m) => [m.environment ?? 'run', m.run]))));
  else
    for (const { environment, run } of runs) {
      io.stdout.write(`${environment !== null ? `${environment}: ` : ''}${runLine(run)}\n`);
      // What to fix, where (file:line:column), as `status` lists it: the count alone said none.
      const e = shown.find(([name]) => name === environment)?.[1];
      if (failed(run.result) && e?.lastRun?.id === run.id)
        io.stdout.write(firstErrorLines(e.errors));
    }
  return runs.some((m) => failed(m.run.result)) ? 1 : 0;
}

/** With --wait, the run waited for, --timeout at most (a run answers at its end); else a hand-off. */
function waited(args: DaemonClientArgs, io: Io, command: string): Held | undefined {
  if (!args.wait) return undefined;
  const given = args.timeout ?? DEFAULT_RUN_WAIT;
  const runMs = parseDuration(given);
  if (runMs === 0) throw new UserError(`--timeout: "${given}" is no limit: give more than zero`);
  if (runMs === null) throw new UserError(`--timeout: ${durationRefusal(given, '10m or 2h')}`);
  return { runMs, command, stderr: io.stderr };
}

/** How many of a failed run's errors `sync` shows under it. */
const ERRORS_SHOWN = 5;

/** `  queues/prod/batch.yaml:10:20: SCHEMA: …` for the first few, then how many more. */
function firstErrorLines(errors: DaemonStatus['errors']): string {
  const shown = errors.slice(0, ERRORS_SHOWN).map(errorLine);
  if (errors.length > shown.length)
    shown.push(`… ${errors.length - shown.length} more: \`poolsync status\` lists them all`);
  return shown.map((l) => `  ${escapeTerminal(l)}\n`).join('');
}

export async function history(args: DaemonClientArgs, io: Io): Promise<number> {
  const results = args.result?.map((r) => r.trim());
  for (const r of results ?? [])
    if (!(KEPT_RESULTS as readonly string[]).includes(r))
      throw new UserError(
        `--result ${r} is not a run's result${didYouMean(r, KEPT_RESULTS)}; one of ${KEPT_RESULTS.join(', ')}`,
      );
  const target = args.run;
  if (typeof target === 'string') addressOf(target);
  const s = await readStatus(await daemonAt(args, io.env), io.env);
  const shown = sections(s, args.env);
  const envs = shown.map(
    ([name, e]) =>
      [name, results ? e.runs.filter((r) => results.includes(r.result)) : e.runs] as const,
  );
  if (typeof target === 'string') return objectHistory(target, envs, shown, args, io);
  if (target !== undefined) {
    const found = envs.flatMap(([name, runs]) => {
      const run = findKeptRun(runs, target);
      return run ? [[name, run] as const] : [];
    });
    if (found.length === 0) throw new UserError(noKeptRun(target, shown, results));
    if (found.length > 1)
      throw new UserError(`run #${target} exists in several environments: name one with --env`);
    const [, run] = found[0]!;
    io.stdout.write(args.output === 'json' ? asJson(run) : runText(run));
    return 0;
  }
  if (args.output === 'json') {
    io.stdout.write(asJson(Object.fromEntries(envs.map(([n, runs]) => [n ?? 'runs', runs]))));
    return 0;
  }
  for (const [i, [name, runs]] of envs.entries()) {
    const indent = name !== null ? '  ' : '';
    if (name !== null) io.stdout.write(`Environment ${name}:\n`);
    const last = shown[i]![1].lastRun;
    if (runs.length === 0)
      io.stdout.write(
        `${indent}${results ? 'No kept run has that result.' : last ? `No run is kept: ${runWords.unkept(last.id)}.` : 'No run has finished yet.'}\n`,
      );
    for (const run of runs) io.stdout.write(`${indent}${runLine(run)}\n`);
  }
  return 0;
}

/** Why no line covers run `id` in any section shown; with `results`, why none of those does. */
function noKeptRun(
  id: number,
  shown: [string | null, DaemonStatus][],
  results: string[] | undefined,
): string {
  const why = shown.map(([name, e]) => {
    const run = findKeptRun(e.runs, id);
    const reason = run
      ? `run #${id} was ${run.result.replace(/_/g, ' ')}, not ${(results ?? []).join(' or ')}`
      : missingRunWords(id, missingRun(e.runs, id, e.lastRun?.id));
    return name === null ? reason : `environment ${name}: ${reason}`;
  });
  return `${why.join('; ')}: \`poolsync history\` lists the runs kept`;
}

/** `Kind/name`, the kind one poolsync manages; else what to write instead. */
function addressOf(text: string): string {
  const slash = text.indexOf('/');
  const kind = slash > 0 ? text.slice(0, slash) : text;
  const name = slash > 0 ? text.slice(slash + 1) : '';
  if (!(MANIFEST_KINDS as readonly string[]).includes(kind) || name === '' || /\s/.test(name))
    throw new UserError(
      `${JSON.stringify(text)} is neither a run number nor an object's address: write \`poolsync history 12\` (a run) or KIND/NAME such as Queue/critical${kindTypoHint(text)}; KIND is one of ${MANIFEST_KINDS.join(', ')}`,
    );
  return text;
}

/** `poolsync history ADDRESS`: the kept runs that changed it, newest first. */
function objectHistory(
  address: string,
  envs: (readonly [string | null, RecentRun[]])[],
  shown: [string | null, DaemonStatus][],
  args: DaemonClientArgs,
  io: Io,
): number {
  const found = envs.map(([name, runs]) => [name, runs, objectChanges(runs, address)] as const);
  if (args.output === 'json') {
    const json = found.map(([name, , { changes, unknown }]) => [
      name ?? 'changes',
      { address, changes, runsThatMayHaveChangedIt: unknown },
    ]);
    io.stdout.write(asJson(Object.fromEntries(json)));
    return 0;
  }
  for (const [name, runs, { changes, unknown }] of found) {
    const indent = name !== null ? '  ' : '';
    if (name !== null) io.stdout.write(`Environment ${name}:\n`);
    const oldest = runs.at(-1);
    // A typo (Queue/batchh) is no object the daemon knows: the closest one it knows.
    const section = shown.find(([n]) => n === name)?.[1];
    const hit = changes.length === 0 && section ? meantAddress(address, section) : null;
    if (changes.length === 0)
      io.stdout.write(
        `${indent}${escapeTerminal(`No kept run changed ${address} (${plural(runs.length, 'run')} kept${oldest ? `, the oldest #${oldest.id} of ${at(oldest.finishedAt)}` : ''})${hit ? `: did you mean ${hit}?` : '.'}`)}\n`,
      );
    for (const c of changes) io.stdout.write(`${indent}${escapeTerminal(changeLine(c))}\n`);
    if (unknown > 0)
      io.stdout.write(
        `${indent}${plural(unknown, 'more run', 'more runs')} changed more objects than ${unknown === 1 ? 'it' : 'they'} kept a list of, and may have changed it too.\n`,
      );
  }
  return 0;
}

/**
 * The address `address` was meant as, when the daemon knows no object by it: the closest of
 * those it manages (/status `managed`) and those its kept runs changed or planned; else null.
 */
function meantAddress(address: string, s: DaemonStatus): string | null {
  const known = new Set<string>();
  // Not in STATUS_SHAPE (nothing else reads it here): read as it may be, never a TypeError.
  const managed: unknown = s.managed?.objects;
  for (const o of Array.isArray(managed) ? (managed as unknown[]) : [])
    if (isMap(o) && typeof o.address === 'string') known.add(o.address);
  for (const r of s.runs) {
    for (const c of r.changed) known.add(c.address);
    for (const c of r.plan?.changes ?? []) known.add(c.address);
  }
  return known.has(address) ? null : closestAddress(address, known);
}

/** `#2 update run_concurrency 2026-11-22 12:00:01 commit 3f2a… (webhook), approved by alice`. */
function changeLine(c: ObjectChange): string {
  const fields = c.fields.length > 0 ? ` ${c.fields.join(', ')}` : '';
  const side = c.sideEffect ? ' (side effect)' : '';
  const approved = c.approvedBy !== null ? `, approved by ${c.approvedBy}` : '';
  const back = c.rollback !== null ? `, rollback to run #${c.rollback.to}` : '';
  return `#${c.run} ${c.action}${fields}${side} ${at(c.finishedAt)} commit ${short(c.commit)} (${c.trigger.join(', ')})${approved}${back}`;
}

/**
 * `state show ADDRESS --daemon URL`: the newest kept run of the daemon (of `environment`) that
 * changed it; null when none of the kept runs did.
 */
export async function lastChange(
  daemon: string | undefined,
  env: NodeJS.ProcessEnv,
  address: string,
  environment: string | null,
): Promise<ObjectChange | null> {
  const s = await readStatus({ base: daemonUrl({ daemon }, env), setting: DAEMON_SETTING }, env);
  const [, section] = sections(s, environment ?? undefined)[0]!;
  return objectChanges(section.runs, address).changes[0] ?? null;
}

/** `poolsync rollback RUN`: POST /rollback (docs/daemon.md#rollback), then the run it made. */
export async function rollback(args: DaemonClientArgs, io: Io): Promise<number> {
  const at = await daemonAt(args, io.env);
  const base = at.base;
  const post = await asAdmin(args, io, at, 'rolling back');
  const run = Number(args.run);
  const body = {
    run,
    environment: args.env,
    by: args.as?.trim() || defaultApprover(),
    reason: args.reason,
  };
  const res = await post(
    `/rollback${args.wait ? '?wait=1' : ''}`,
    body,
    waited(args, io, 'rollback'),
  );
  const answer = res.json as {
    error?: string;
    leader?: string | null;
    rollback?: { commit: string };
    status?: DaemonStatus;
  };
  if (res.status === 409)
    throw new UserError(`Not rolled back: ${answer.error ?? 'unknown reason'}`);
  if ((res.status !== 200 && res.status !== 202) || !answer.rollback)
    throw new UserError(
      `${answered(`${base}/rollback`, res.status, answer.error)}${answer.leader ? ` (the leader is ${answer.leader})` : ''}; nothing was rolled back`,
    );
  const where = args.env ? ` in environment ${args.env}` : '';
  const commit = short(answer.rollback.commit);
  if (res.status === 202 || !answer.status) {
    io.stdout.write(
      `Rolling back${where} to run #${run} (commit ${commit}); \`poolsync status\` shows the run.\n`,
    );
    return 0;
  }
  const section = sections(answer.status, args.env)[0]![1];
  const last = section.lastRun;
  if (args.output === 'json') io.stdout.write(asJson({ rollback: answer.rollback, lastRun: last }));
  else {
    const kept = last ? findKeptRun(section.runs, last.id) : undefined;
    // A freeze stopped its run: the rollback holds, its commit is not (all) applied.
    const frozen = last?.result === 'frozen';
    const headline = frozen
      ? `Rollback${where} to run #${run} (commit ${commit}) holds, but applies are frozen`
      : `Rolled back${where} to run #${run} (commit ${commit})`;
    const holds = frozen
      ? `Until a commit newer than the branch head lands, the daemon plans commit ${commit}, not the branch, and applies it once applies may go (\`poolsync resume\` lifts the suspension), or now with \`poolsync sync --override-freeze\`; a \`poolsync resume\` with nothing suspended lifts the rollback and applies the branch again.`
      : `Until a commit newer than the branch head lands, the daemon applies commit ${commit}, not the branch: \`poolsync resume\` applies the branch again.`;
    io.stdout.write(
      `${headline}: ${last ? runLine(last) : 'no run yet'}\n` +
        (kept?.plan ? runText(kept).split('\n').slice(1).join('\n') : '') +
        `${escapeTerminal(holds)}\n`,
    );
  }
  return last && failed(last.result) ? 1 : 0;
}

/**
 * `URL answered HTTP N: why`, and what to do. A 404 without the daemon's words is no daemon's:
 * every path asked here is one a daemon serves; a 401 or 502-504 without them, a proxy's.
 */
function answered(url: string, status: number, why?: string): string {
  const hint = why ? '' : (PROXY_STATUS[status] ?? '');
  return `${url} answered HTTP ${status}${why ? `: ${why}` : ''}${hint}`;
}

const PROXY_STATUS: Record<number, string> = {
  404: ': is --daemon (POOLSYNC_DAEMON_URL) the URL of a poolsync daemon? It prints it as it starts',
  401: ", not in a poolsync daemon's words (the daemon names the token it takes): a proxy or an ingress in front of it asks for a login poolsync does not send; point --daemon (POOLSYNC_DAEMON_URL) past it, or have it let poolsync through",
  502: ': a proxy or load balancer in front of the daemon answered: the daemon behind it is down or restarting; check it (its log, its pod) and retry once it is up',
};
PROXY_STATUS[503] = PROXY_STATUS[502]!;
PROXY_STATUS[504] = PROXY_STATUS[502]!;

async function readStatus(at: DaemonAt, env: NodeJS.ProcessEnv): Promise<DaemonStatus> {
  const base = at.base;
  const res = await daemonRequest(`${base}/status`, { method: 'GET' }, env, at);
  if (res.status !== 200)
    throw new UserError(
      answered(`${base}/status`, res.status, (res.json as { error?: string }).error),
    );
  // What is read of it checked first: a network answer, whatever it holds, is never a TypeError.
  const problem = shapeProblem('status', STATUS_SHAPE, res.json);
  if (problem !== null)
    throw new UserError(
      `${base}/status is not a poolsync daemon's status (${problem}): is --daemon a poolsync daemon, of this version?`,
    );
  return res.json as DaemonStatus;
}

const PENDING_SHAPE = record(
  { fingerprint: str, since: str, changes: listOf(record({ address: str, action: str })) },
  { commit: nullable(str) },
);
/**
 * A field an earlier daemon did not serve reads as its default (initialStatus): /status only
 * gains fields (docs/versioning.md); builds of 21-22 Nov served neither `runs` nor `controlPlane`.
 */
const { source: _source, policy: _policy, ...ABSENT } = initialStatus({}, 'all');
const SECTION_SHAPE = record(
  {
    ...Object.fromEntries(Object.keys(ABSENT).map((k) => [k, anything])),
    source: record({}),
    runs: listOf(RECENT_RUN_SHAPE),
    lastRun: nullable(RECENT_RUN_SHAPE),
  },
  {
    approval: record(
      {},
      {
        pending: nullable(PENDING_SHAPE),
        granted: listOf(record({ fingerprint: str, approver: str, at: str })),
      },
    ),
  },
  ABSENT,
);
const LEADER_SHAPE = record({ isLeader: bool, identity: str }, { leader: nullable(str) });
/** One section, or with environments one per environment; `leader` as `approve` reads it. */
const STATUS_SHAPE: Shape = (v) =>
  record({}, { leader: LEADER_SHAPE })(v) ??
  (isMap(v) && v.environments
    ? record({ environments: mapOf(SECTION_SHAPE) })(v)
    : SECTION_SHAPE(v));

function mapOf(shape: Shape): Shape {
  return (v) => {
    if (!isMap(v)) return { path: '', what: 'is not an object' };
    for (const [k, e] of Object.entries(v)) {
      const p = shape(e);
      if (p) return { path: `.${k}${p.path}`, what: p.what };
    }
    return null;
  };
}

/** By environment, or the one document (name null). */
function sections(s: DaemonStatus, only: string | undefined): [string | null, DaemonStatus][] {
  if (!s.environments) {
    if (only !== undefined) throw new UserError(`--env ${only}: this daemon has no environments`);
    return [[null, s]];
  }
  const all = Object.entries(s.environments);
  if (only === undefined) return all;
  const names = all.map(([name]) => name);
  if (!names.includes(only))
    throw new UserError(
      `the daemon has no environment '${only}'${didYouMean(only, names, { prefixes: true })}; its environments: ${names.join(', ')}`,
    );
  return all.filter(([name]) => name === only);
}

function sourceText(s: DaemonStatus): string {
  const src = s.source;
  return src.kind === 'git'
    ? `following ${src.repository} ${src.branch}${src.path && src.path !== '.' ? ` (${src.path})` : ''}`
    : `watching ${src.dir}`;
}

const short = (commit: string | null | undefined): string => (commit ? commit.slice(0, 12) : '—');

const at = (iso: string) => iso.slice(0, 19).replace('T', ' ');

/**
 * `#12 applied 2026-11-22 12:00:01 (manual, 340 ms) commit 3f2a…: applied: …`; a kept run with
 * the runs folded into it: `#3–#28 in sync since 2026-11-22 12:00:01, last 12:25:01 (26 runs:
 * drift, manual, startup) commit —: in sync`.
 */
function runLine(run: RunRecord & Pick<RecentRun, 'repeats'>): string {
  const result = run.result.replace(/_/g, ' ');
  const r = run.repeats;
  const head = r
    ? `#${run.id}–#${r.lastId} ${result} since ${at(run.finishedAt)}, last ${at(r.lastFinishedAt)} (${runWords.folded(r)})`
    : `#${run.id} ${result} ${at(run.finishedAt)} (${run.trigger.join(', ')}, ${run.durationMs} ms)`;
  const back = run.rollback ? ` (rollback to run #${run.rollback.to})` : '';
  return escapeTerminal(`${head} commit ${short(run.commit)}${back}: ${run.message}`);
}

function statusText(
  s: DaemonStatus,
  name: string | null,
  base: string,
  adminApi: boolean | undefined,
): string {
  const out: string[] = [];
  const cp = s.controlPlane;
  // docs/daemon.md#high-availability: a follower answers its own status only when it cannot
  // reach the leader, and then its "no run yet" is not the team's state.
  const l = s.leader;
  if (l?.enabled) out.push(l.isLeader ? `Leader: ${l.identity}` : leaderWords.ownView(l.leader, l));
  out.push(
    `Outcome: ${(s.outcome ?? 'no run yet').replace(/_/g, ' ')}${s.ready ? '' : ' (not ready)'}`,
  );
  const r = s.running;
  if (r)
    out.push(`Running: #${r.id} since ${at(r.startedAt)} (${r.trigger.join(', ')}), ${r.phase}`);
  out.push(`Commit: ${short(s.commit)} (applied: ${short(s.appliedCommit)})`);
  // Neither is known from a daemon of a build before /status said them.
  if (cp.backend !== null || cp.url !== null)
    out.push(
      `Control plane: ${cp.backend ?? '?'} ${cp.url ?? ''}${cp.reachable === null ? '' : cp.reachable ? ', reachable' : `, not reachable: ${cp.lastError ?? ''}`}`,
    );
  // Live objects the repository does not declare: never touched, but not "in sync" unsaid.
  const unmanaged = s.summary?.unmanaged ?? 0;
  if (s.counts)
    out.push(
      `Last plan: ${countsText(s.counts)}${unmanaged > 0 ? `; ${plural(unmanaged, 'object')} unmanaged (not in the repository: reported, never touched)` : ''}`,
    );
  if (s.freeze?.why) out.push(`Applies frozen: ${s.freeze.why}`);
  if (s.rollback) out.push(`Rolled back: ${s.rollback.why}`);
  if (s.lastRun) out.push(`Last run: ${runLine(s.lastRun)}`);
  // Said while they are left, not only in the message of the run that found them.
  const unpruned = s.warnings.filter((w) => w.code === EARLIER_UNPRUNED).map((w) => w.address);
  if (unpruned.length > 0) out.push(`Warning: ${earlierUnprunedWarning(unpruned)}`);
  const pending = s.approval?.pending;
  const approved = pending && approvedAlready(s, pending.fingerprint);
  if (pending)
    out.push(
      approved
        ? `Held: ${plural(pending.changes.length, 'change')}, ${approved}`
        : `Waiting for approval: ${plural(pending.changes.length, 'change')}: ${adminApi === false ? NO_ADMIN_TOKEN : `${approveCommand(pending.fingerprint, name)} --daemon ${base}`}`,
    );
  // docs/policies.md: the verdict, and how an owner releases its failures.
  if (s.policies) {
    out.push(policySummary(s.policies));
    if (s.policies.failures && !s.policies.approval)
      out.push(policyApproval(s.policies, name, base, adminApi));
  }
  for (const b of s.blocked) out.push(`Blocked: ${b.address}${b.reason ? `: ${b.reason}` : ''}`);
  const moreBlocked = moreListed('blocked', s.blocked.length, s.blockedTotal);
  if (moreBlocked) out.push(`Blocked: ${moreBlocked}`);
  for (const e of s.errors) out.push(`Error: ${errorLine(e)}`);
  const moreErrors = moreListed('errors', s.errors.length, s.errorsTotal);
  if (moreErrors) out.push(`Error: ${moreErrors}`);
  const text = out.map((l) => `${name !== null ? '  ' : ''}${escapeTerminal(l)}\n`).join('');
  return name !== null ? `Environment ${name}:\n${text}` : text;
}

function runText(run: RecentRun): string {
  const counts = run.counts ?? undefined;
  const plan = run.plan
    ? `\n${renderText(run.plan, { color: false, counts, ...renderedOfRun(run), actionsLine: runWords.actionsLine(run.result) })}${run.planChangesOmitted > 0 ? `(${run.planChangesOmitted} more changes were not kept: \`poolsync plan\` shows them all)\n` : ''}${run.planProblemsOmitted ? `${problemsNotKept(run.planProblemsOmitted)}\n` : ''}`
    : run.planElsewhere
      ? `${runWords.planElsewhere}\n`
      : 'No plan: the run ended before planning.\n';
  return `${runLine(run)}\n${plan}`;
}

/**
 * How long the daemon may hold a request before it answers: a follower's hand-off (HAND_OFF_WAIT_MS),
 * waited beyond the read timeout; or a run waited for (`?wait=1`), at most `runMs` (--timeout),
 * told on stderr once its silence lasts.
 */
type Held = { handOffMs: number } | { runMs: number; command: string; stderr: Io['stderr'] };

/**
 * One request, never decompressed, bounded as every client is (util/transport-limits.ts, from
 * the environment) and by what the daemon may hold it (`held`); no answer, or one that is not a
 * JSON object, is a UserError.
 */
async function daemonRequest(
  url: string,
  init: { method: string; headers?: Record<string, string>; body?: string },
  env: NodeJS.ProcessEnv,
  at: DaemonAt,
  held?: Held,
): Promise<{ status: number; json: unknown }> {
  const { setting } = at;
  const given = transportLimits({}, env);
  const limits = { ...given };
  const handOffMs = held && 'handOffMs' in held ? held.handOffMs : HAND_OFF_WAIT_MS;
  const run = held && 'runMs' in held ? held : null;
  // A follower answers when the leader did, or with a 503 when its wait ends: nothing before.
  if (held !== undefined) {
    limits.readTimeoutMs += handOffMs;
    limits.callTimeoutMs = Math.max(limits.callTimeoutMs, limits.readTimeoutMs);
  }
  // A run answers at its end, however long its apply: only --timeout bounds the wait.
  if (run) limits.callTimeoutMs = run.runMs;
  const dispatcher = new Agent({
    connect: { timeout: limits.connectTimeoutMs },
    headersTimeout: run ? 0 : limits.readTimeoutMs,
    bodyTimeout: limits.readTimeoutMs,
    maxResponseSize: limits.maxResponseBytes,
  });
  const deadline = new CallDeadline(limits);
  const heard = run
    ? noticeSilence({ ...given, callTimeoutMs: run.runMs }, url, runNotice(run))
    : () => {};
  const failed = (err: unknown) => {
    const limit = limitOf(err);
    const answered = oversizedHeaders(err);
    const extended = held !== undefined && given.callTimeoutMs < limits.callTimeoutMs;
    return new UserError(
      run && limit === 'call'
        ? `the daemon at ${url}: no answer within ${formatDuration(run.runMs)} (--timeout), the longest \`poolsync ${run.command}\` waits for its run; the daemon may still be running it: \`poolsync status\` shows how it ends; raise --timeout if its applies take longer`
        : held !== undefined && (limit === 'read' || (limit === 'call' && extended))
          ? `the daemon at ${url}: ${heldWords(err, given, handOffMs)}; check --daemon (its status address)`
          : limit
            ? `the daemon at ${url}: ${limitWords(limit, given, undefined, err, false)}; check --daemon (its status address)`
            : answered
              ? `the daemon at ${url}: ${answered}`
              : `cannot reach the daemon at ${url}: ${noAnswerWords(err, new URL(url).origin, setting, limits.proxyVariable)}`,
    );
  };
  try {
    let res;
    try {
      res = await request(url, { ...init, dispatcher, signal: deadline.signal });
    } catch (err) {
      throw failed(err);
    } finally {
      heard();
    }
    const text = await res.body.text().catch((err: unknown) => Promise.reject(failed(err)));
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      // not JSON: refused below
    }
    const bare = url.split('?')[0]!;
    if (res.statusCode === 407)
      throw new UserError(`cannot reach the daemon at ${url}: ${PROXY_REFUSED}`);
    if (res.statusCode === 429) {
      const ms = retryAfterMs(res.headers['retry-after']);
      const when = ms === null ? 'in a minute' : `after ${formatDuration(ms)} (its Retry-After)`;
      throw new UserError(
        `${bare} answered HTTP 429 (too many requests): the daemon, or a proxy in front of it, limits how often it is asked; nothing was done: retry ${when}`,
      );
    }
    // The daemon never redirects: a proxy or another server does, and where to is what to fix.
    if (res.statusCode >= 300 && res.statusCode < 400)
      throw new UserError(
        `${bare} answered HTTP ${res.statusCode}, ${redirectWords(res.headers.location, new URL(url), at.base, { setting: `correct ${setting}` })}`,
      );
    // Every answer of the daemon is a JSON object: its fields are read without a TypeError.
    if (typeof json !== 'object' || json === null || Array.isArray(json))
      throw new UserError(
        NOT_THE_DAEMONS.has(res.statusCode)
          ? answered(bare, res.statusCode)
          : `${url} answered HTTP ${res.statusCode} with a body that is not a JSON object: is --daemon a poolsync daemon?`,
      );
    const code = res.statusCode >= 400 ? controlPlaneCode(json) : null;
    if (code !== null)
      throw new NotADaemon(
        `${bare} answered HTTP ${res.statusCode}${code} as a control plane does, not as a poolsync daemon: ${setting} must be the daemon's own address, which \`poolsync daemon\` prints as it starts (default ${DEFAULT_DAEMON_URL}); a control plane's URL is for --control-plane (plan, apply)`,
      );
    return { status: res.statusCode, json };
  } finally {
    deadline.done();
    void dispatcher.destroy();
  }
}

/** What stops a request a follower may hold, in its parts: the read timeout and the hand-off. */
function heldWords(err: unknown, limits: TransportLimits, handOffMs: number): string {
  const { env } = LIMIT_SETTINGS.read;
  const total = formatDuration(limits.readTimeoutMs + handOffMs);
  const what = bodyGap(err) ? `nothing was received for ${total}` : `no answer within ${total}`;
  return `${what}: its ${formatDuration(limits.readTimeoutMs)} read timeout (${env}) + ${formatDuration(handOffMs)} a follower may take to hand the request to the leader; the daemon or the network stalled: raise ${env} if it is only slow`;
}

/** Whether `err` is undici's gap in a body (not the headers' wait). */
function bodyGap(err: unknown): boolean {
  for (let e: unknown = err, i = 0; e instanceof Error && i < 5; e = e.cause, i++)
    if ((e as { code?: unknown }).code === 'UND_ERR_BODY_TIMEOUT') return true;
  return false;
}

/** One line on stderr when a waited run is silent a while: what it waits for, and how long. */
function runNotice(run: { runMs: number; stderr: Io['stderr'] }): WaitListener {
  return ({ url, silentMs }) =>
    void run.stderr.write(
      `Waiting for ${url}: the daemon answers when the run ends (no answer for ${formatDuration(silentMs)}); giving up after ${formatDuration(run.runMs)} (--timeout); Ctrl-C stops.\n`,
    );
}

/** Statuses a daemon answers in JSON: in another body, a proxy's or a gateway's (answered()). */
const NOT_THE_DAEMONS = new Set([401, 502, 503, 504]);

/**
 * ` (CODE)` of a refusal in a control plane's form, `{code, message}` (REST, flyteadmin, Union's
 * Connect), else null: a daemon's says `error`.
 */
function controlPlaneCode(json: { code?: unknown; message?: unknown; error?: unknown }) {
  const { code, message, error } = json;
  if (error !== undefined || typeof message !== 'string') return null;
  if (typeof code === 'number') return ` (code ${code})`;
  if (typeof code !== 'string') return null;
  return /^[A-Za-z_]{1,40}$/.test(code) ? ` (${code})` : '';
}

/** --daemon names a control plane: said alone, whatever else the command needed. */
class NotADaemon extends UserError {}

/** Where the daemon's URL comes from, for what to check. */
const DAEMON_SETTING = '--daemon (its status address; env POOLSYNC_DAEMON_URL)';

/** POSTs with the admin token, read first (`what`: for the message when there is none). */
async function asAdmin(args: DaemonClientArgs, io: Io, at: DaemonAt, what: string) {
  const base = at.base;
  const admin = await adminToken(args['admin-token-file'], io.env, base);
  if (admin === null) {
    const missing = `${what} needs the daemon admin token: set POOLSYNC_ADMIN_TOKEN or pass --admin-token-file FILE (\`poolsync daemon --quickstart\` makes ${LOCAL_ADMIN_TOKEN_FILE}, read here when the daemon is on this machine)`;
    // No token helps a daemon that does not answer: that is said first (it said only the
    // token), and what it needs once it answers.
    const status = { method: 'GET' };
    const unreachable = await daemonRequest(`${base}/status`, status, io.env, at).then(
      () => null,
      (err: unknown) => (err instanceof UserError ? err : null),
    );
    if (unreachable instanceof NotADaemon) throw unreachable;
    throw new UserError(
      unreachable === null
        ? missing
        : `${unreachable.message}${/[.?!]$/.test(unreachable.message) ? '' : '.'} Once it answers, ${missing}`,
    );
  }
  return async (path: string, body?: object, held: Held = { handOffMs: HAND_OFF_WAIT_MS }) => {
    const headers: Record<string, string> = { authorization: `Bearer ${admin.token}` };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const init = { method: 'POST', headers, body: body && JSON.stringify(body) };
    const res = await daemonRequest(`${base}${path}`, init, io.env, at, held);
    if (res.status !== 401) return res;
    // Which token went, never its value: a stale one in a file is otherwise a riddle.
    const why = (res.json as { error?: string }).error;
    // The daemon's own words name its settings; the token sent, and where from, are said below.
    const wrong = why?.startsWith(WRONG_BEARER) === true;
    const refused = answered(`${base}${path.split('?')[0]}`, 401, wrong ? WRONG_BEARER : why);
    // A follower accepted the token and the leader refused its hand-off: the replicas' settings
    // or clocks, which the daemon's words name, not the token.
    if (why?.includes(HANDED_ON)) throw new UserError(refused);
    const wayOut = wrong ? `, ${admin.wrong}` : '';
    throw new UserError(`${refused}. The admin token sent was read ${admin.from}${wayOut}`);
  };
}

/**
 * --admin-token-file, else POOLSYNC_ADMIN_TOKEN_FILE, else POOLSYNC_ADMIN_TOKEN, else the token
 * the quickstart made in this folder, only when `base` is that quickstart's loopback port
 * (LOCAL_DAEMON_URL_FILE): never sent elsewhere. Null: none of them.
 */
async function adminToken(
  file: string | undefined,
  env: NodeJS.ProcessEnv,
  base: string,
): Promise<{ token: string; from: string; wrong: string } | null> {
  const quickstart =
    !env.POOLSYNC_ADMIN_TOKEN && (await isQuickstartDaemon(base))
      ? LOCAL_ADMIN_TOKEN_FILE
      : undefined;
  const path = file ?? env.POOLSYNC_ADMIN_TOKEN_FILE ?? quickstart;
  if (path) {
    const text = (
      await readUserFile(path, { maxBytes: SECRET_FILE_BYTES, what: 'the admin token file' })
    ).toString();
    if (text.trim() === '') throw new UserError(`the admin token file ${path} is empty`);
    rememberSecret(text, `the admin token file ${path}`);
    const token = headerToken(text.trim(), `the admin token file ${path}`);
    // Read for the person, who may not know the file is there: it may be an earlier quickstart's.
    if ((file ?? env.POOLSYNC_ADMIN_TOKEN_FILE) === undefined)
      return {
        token,
        from: `from ${path} (this folder's quickstart token, used since neither --admin-token-file, POOLSYNC_ADMIN_TOKEN_FILE nor POOLSYNC_ADMIN_TOKEN is set)`,
        wrong: `and this daemon was started with another admin token: pass that one (--admin-token-file FILE, POOLSYNC_ADMIN_TOKEN_FILE or POOLSYNC_ADMIN_TOKEN), or remove ${path} if it is left from an earlier quickstart`,
      };
    const from =
      file !== undefined ? `--admin-token-file ${path}` : `POOLSYNC_ADMIN_TOKEN_FILE (${path})`;
    return { token, from: `from ${from}`, wrong: WRONG_TOKEN };
  }
  const token = env.POOLSYNC_ADMIN_TOKEN?.trim();
  rememberSecret(token, 'POOLSYNC_ADMIN_TOKEN');
  if (!token) return null;
  const sent = headerToken(token, 'POOLSYNC_ADMIN_TOKEN');
  return { token: sent, from: 'from POOLSYNC_ADMIN_TOKEN', wrong: WRONG_TOKEN };
}

/** What to do when a token a person gave is refused as wrong. */
const WRONG_TOKEN =
  'and it is not the admin token this daemon was started with (its POOLSYNC_ADMIN_TOKEN or --admin-token-file): pass that one';

async function isQuickstartDaemon(base: string): Promise<boolean> {
  if (!URL.canParse(base) || !isLoopback(new URL(base).hostname)) return false;
  if (!existsSync(LOCAL_ADMIN_TOKEN_FILE)) return false;
  const made = await quickstartAddress();
  return made !== null && URL.canParse(made) && new URL(made).port === new URL(base).port;
}

/**
 * What the quickstart of this folder recorded in LOCAL_DAEMON_URL_FILE (the address it listens
 * on, trimmed; `0.0.0.0` / `[::]`, every interface, as this machine's loopback); null without
 * the file.
 */
async function quickstartAddress(): Promise<string | null> {
  if (!existsSync(LOCAL_DAEMON_URL_FILE)) return null;
  const what = "the quickstart daemon's address file";
  const made = (await readUserFile(LOCAL_DAEMON_URL_FILE, { maxBytes: 1024, what }))
    .toString()
    .trim();
  return made
    .replace(/^(https?:\/\/)0\.0\.0\.0(?=[:/]|$)/, '$1127.0.0.1')
    .replace(/^(https?:\/\/)\[::\](?=[:/]|$)/, '$1[::1]');
}

/** The daemon asked, and the setting that named it (said when it does not answer). */
interface DaemonAt {
  base: string;
  setting: string;
}

/**
 * --daemon, else POOLSYNC_DAEMON_URL, else the address the quickstart of this folder recorded
 * (it may listen elsewhere than the default: `--listen`), else the default
 * (docs/daemon.md#from-the-command-line). The quickstart's file names a daemon on this machine
 * only: another address there is refused, not asked.
 */
async function daemonAt(
  args: { daemon?: string | undefined },
  env: NodeJS.ProcessEnv,
): Promise<DaemonAt> {
  if (args.daemon !== undefined || env.POOLSYNC_DAEMON_URL !== undefined)
    return { base: daemonUrl(args, env), setting: DAEMON_SETTING };
  const made = await quickstartAddress();
  if (made === null) return { base: daemonUrl(args, env), setting: DAEMON_SETTING };
  const url = URL.canParse(made) ? new URL(made) : null;
  if (
    url === null ||
    url.protocol !== 'http:' ||
    !isLoopback(url.hostname) ||
    url.username ||
    url.password
  )
    throw new UserError(
      `${LOCAL_DAEMON_URL_FILE} holds ${JSON.stringify(made.slice(0, 100))}, not the loopback address a quickstart records there: name the daemon with --daemon URL (or POOLSYNC_DAEMON_URL), or remove the file`,
    );
  return {
    base: url.origin,
    setting: `${LOCAL_DAEMON_URL_FILE} (where this folder's quickstart listens; --daemon URL asks another daemon)`,
  };
}

/** `suspend` / `resume`, for one environment or all: says what waits now and what lifts it. */
export async function freeze(args: DaemonClientArgs, io: Io, suspend: boolean): Promise<number> {
  const at = await daemonAt(args, io.env);
  const base = at.base;
  const post = await asAdmin(args, io, at, suspend ? 'suspending' : 'resuming');
  const res = await post(`/${suspend ? 'suspend' : 'resume'}`, {
    environment: args.env,
    by: args.as?.trim() || defaultApprover(),
    reason: args.reason,
  });
  const body = res.json as { error?: string; freeze?: FreezeStatus; before?: FreezeBefore[] };
  if (res.status !== 200 || !body.freeze)
    throw new UserError(
      answered(`${base}/${suspend ? 'suspend' : 'resume'}`, res.status, body.error),
    );
  // Each environment asked, as it was (an older daemon says nothing: each one changed), so a
  // suspension kept whole or a resume of nothing is not said to have happened.
  const before = body.before ?? [];
  const same = before.filter((b) => (b.suspended !== null) === suspend);
  const windowed = before.filter((b) => b.window);
  const lines: string[] = [];
  if (same.length === 0 || same.length < before.length) {
    const changed = before.filter((b) => !same.includes(b)).map((b) => b.environment);
    const where = args.env
      ? ` in environment ${args.env}`
      : same.length > 0
        ? ` in environment${changed.length > 1 ? 's' : ''} ${changed.join(', ')}`
        : '';
    lines.push(
      suspend
        ? `Applies suspended${where}: the daemon still plans and detects drift, and applies nothing until \`poolsync resume\`.`
        : `Applies resumed${where}: ${windowed.length > 0 ? 'the suspension is lifted' : 'the daemon runs now and applies what waited'}.`,
    );
  }
  // A rollback outlives the suspension it was asked under (docs/daemon.md#rollback).
  for (const b of before.filter((b) => b.holds)) {
    const where = b.environment !== null ? ` in environment ${b.environment}` : '';
    lines.push(
      `The rollback${where} to run #${b.holds!.run} holds: its commit ${short(b.holds!.commit)} is applied now, not the branch head, until a new commit lands (\`poolsync resume\` again lifts it).`,
    );
  }
  for (const b of same) {
    const where = b.environment !== null ? ` in environment ${b.environment}` : '';
    const lifted = b.rollback
      ? `; the rollback to run #${b.rollback.run} is lifted: the daemon runs now and applies the branch head`
      : ': nothing to resume';
    lines.push(
      b.suspended
        ? `Applies${where} were already ${freezeWords.suspended(b.suspended)}; that suspension stays as it is (its reason and start are not replaced).`
        : `Applies${where} were not suspended${lifted}.`,
    );
  }
  for (const { environment, window } of windowed) {
    const where = environment !== null ? ` in environment ${environment}` : '';
    const until = window!.until === null ? null : Date.parse(window!.until);
    lines.push(
      `Applies${where} stay frozen, ${window!.why}, which \`poolsync resume\` does not lift: ${freezeWords.windowsOpen(until)}.`,
    );
  }
  io.stdout.write(lines.map((l) => `${escapeTerminal(l)}\n`).join(''));
  // Another environment's suspension may still hold them (or a sync window, said by an older daemon).
  if (!suspend && body.freeze.why && windowed.length === 0)
    io.stdout.write(`${escapeTerminal(`Still frozen: ${body.freeze.why}`)}\n`);
  return 0;
}
