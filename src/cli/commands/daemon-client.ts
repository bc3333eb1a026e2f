/**
 * `poolsync status`, `poolsync sync`, `poolsync history` (docs/daemon.md#from-the-command-line):
 * GET /status and POST /reconcile?wait=1 of a running daemon, said in a few lines per
 * environment. Exit 1 when the daemon cannot be reached or refuses, or when the run `sync`
 * started failed or found the repository invalid.
 */
import { renderText } from '../../render/index.js';
import { countsText } from '../../render/common.js';
import type { DaemonStatus, RecentRun, RunRecord } from '../../daemon/status.js';
import { UserError } from '../../util/user-error.js';
import { escapeTerminal } from '../../util/terminal-text.js';
import { adminToken, daemonBase, daemonRequest } from '../daemon-api.js';
import type { DaemonClientArgs } from '../define/daemon-client.js';
import { runCommand, type Io } from '../io.js';

export function status(args: DaemonClientArgs, io: Io): Promise<number> {
  return runCommand(io, async () => {
    const s = await readStatus(args);
    if (args.output === 'json') {
      io.stdout.write(`${JSON.stringify(s, null, 2)}\n`);
      return 0;
    }
    io.stdout.write(`Daemon ${daemonBase(args)}: ${sourceText(s)}, policy ${s.policy}\n`);
    for (const [name, e] of sections(s, args.env))
      io.stdout.write(statusText(e, name, daemonBase(args)));
    return 0;
  });
}

export function sync(args: DaemonClientArgs, io: Io): Promise<number> {
  return runCommand(io, async () => {
    const base = daemonBase(args);
    const token = await adminToken(args['admin-token-file'], 'syncing', io.env);
    const before = Date.now();
    const res = await daemonRequest(
      `${base}/reconcile${args.wait ? '?wait=1' : ''}`,
      { method: 'POST', headers: { authorization: `Bearer ${token}` } },
      // A run takes as long as its apply: waited for as `POST /reconcile?wait=1` does.
      args.wait ? 3_600_000 : 15_000,
    );
    const body = res.json as { error?: string; lastRun?: RunRecord | null };
    if (res.status !== 200 && res.status !== 202)
      throw new UserError(`${base}/reconcile answered HTTP ${res.status}: ${body.error ?? ''}`);
    if (!args.wait) {
      io.stdout.write(`Asked ${base} to reconcile now; \`poolsync status\` shows the result.\n`);
      return 0;
    }
    // With environments every one ran: each one's run of this sync.
    const s = await readStatus(args);
    const runs = sections(s, undefined)
      .map(([name, e]) => [name, e.lastRun] as const)
      .filter(([, run]) => run !== null && Date.parse(run.finishedAt) >= before - 1000);
    if (args.output === 'json')
      io.stdout.write(
        `${JSON.stringify(Object.fromEntries(runs.map(([n, r]) => [n ?? 'run', r])), null, 2)}\n`,
      );
    else
      for (const [name, run] of runs)
        io.stdout.write(`${name !== null ? `${name}: ` : ''}${runLine(run!)}\n`);
    return runs.some(([, run]) => run!.result === 'failed' || run!.result === 'invalid') ? 1 : 0;
  });
}

export function history(args: DaemonClientArgs, io: Io): Promise<number> {
  return runCommand(io, async () => {
    const s = await readStatus(args);
    const envs = sections(s, args.env);
    if (args.run !== undefined) {
      const found = envs.flatMap(([name, e]) =>
        e.runs.filter((r) => r.id === args.run).map((r) => [name, r] as const),
      );
      if (found.length === 0)
        throw new UserError(
          `the daemon keeps no run #${args.run} (it keeps the last ${envs[0]?.[1].runs.length ?? 0}: \`poolsync history\` lists them)`,
        );
      if (found.length > 1)
        throw new UserError(`run #${args.run} exists in several environments: name one with --env`);
      const [, run] = found[0]!;
      if (args.output === 'json') io.stdout.write(`${JSON.stringify(run, null, 2)}\n`);
      else io.stdout.write(runText(run));
      return 0;
    }
    if (args.output === 'json') {
      io.stdout.write(
        `${JSON.stringify(Object.fromEntries(envs.map(([n, e]) => [n ?? 'runs', e.runs])), null, 2)}\n`,
      );
      return 0;
    }
    for (const [name, e] of envs) {
      const indent = name !== null ? '  ' : '';
      if (name !== null) io.stdout.write(`Environment ${name}:\n`);
      if (e.runs.length === 0) io.stdout.write(`${indent}No run has finished yet.\n`);
      for (const run of e.runs) io.stdout.write(`${indent}${runLine(run)}\n`);
    }
    return 0;
  });
}

async function readStatus(args: DaemonClientArgs): Promise<DaemonStatus> {
  const base = daemonBase(args);
  const res = await daemonRequest(`${base}/status`, { method: 'GET' });
  if (res.status !== 200) throw new UserError(`${base}/status answered HTTP ${res.status}`);
  return res.json as DaemonStatus;
}

/** Each environment's document by name, or the one document (name null). */
function sections(s: DaemonStatus, only: string | undefined): [string | null, DaemonStatus][] {
  if (!s.environments) {
    if (only !== undefined) throw new UserError(`--env ${only}: this daemon has no environments`);
    return [[null, s]];
  }
  const all = Object.entries(s.environments);
  if (only === undefined) return all;
  const one = all.filter(([name]) => name === only);
  if (one.length === 0)
    throw new UserError(
      `the daemon has no environment '${only}'; its environments: ${all.map(([n]) => n).join(', ')}`,
    );
  return one;
}

function sourceText(s: DaemonStatus): string {
  const src = s.source;
  return src.kind === 'git'
    ? `following ${src.repository} ${src.branch}${src.path && src.path !== '.' ? ` (${src.path})` : ''}`
    : `watching ${src.dir}`;
}

const short = (commit: string | null | undefined): string => (commit ? commit.slice(0, 12) : '—');

/** `#12 applied 2026-11-22 12:00:01 (manual, 340 ms) commit 3f2a…: Applied 2 changes.` */
function runLine(run: RunRecord): string {
  const at = run.finishedAt.slice(0, 19).replace('T', ' ');
  return escapeTerminal(
    `#${run.id} ${run.result.replace(/_/g, ' ')} ${at} (${run.trigger.join(', ')}, ${run.durationMs} ms) commit ${short(run.commit)}: ${run.message}`,
  );
}

function statusText(s: DaemonStatus, name: string | null, base: string): string {
  const out: string[] = [];
  const cp = s.controlPlane;
  out.push(
    `Outcome: ${(s.outcome ?? 'no run yet').replace(/_/g, ' ')}${s.ready ? '' : ' (not ready)'}`,
    `Commit: ${short(s.commit)} (applied: ${short(s.appliedCommit)})`,
    `Control plane: ${cp.backend ?? '?'} ${cp.url ?? ''}${cp.reachable === null ? '' : cp.reachable ? ', reachable' : `, not reachable: ${cp.lastError ?? ''}`}`,
  );
  if (s.counts) out.push(`Last plan: ${countsText(s.counts)}`);
  if (s.lastRun) out.push(`Last run: ${runLine(s.lastRun)}`);
  const pending = s.approval?.pending;
  if (pending)
    out.push(
      `Waiting for approval: ${pending.changes.length} change(s): poolsync approve ${pending.fingerprint} --daemon ${base}`,
    );
  for (const b of s.blocked) out.push(`Blocked: ${b.address}: ${b.reason ?? ''}`);
  for (const e of s.errors)
    out.push(`Error: ${e.location ?? e.address ?? '-'}: ${e.code}: ${e.message}`);
  const text = out.map((l) => `${name !== null ? '  ' : ''}${escapeTerminal(l)}\n`).join('');
  return name !== null ? `Environment ${name}:\n${text}` : text;
}

/** One kept run: its line and the plan it made. */
function runText(run: RecentRun): string {
  const plan = run.plan
    ? `\n${renderText(run.plan, { color: false })}${run.planChangesOmitted > 0 ? `(${run.planChangesOmitted} more changes were not kept)\n` : ''}`
    : 'No plan: the run ended before planning.\n';
  return `${runLine(run)}\n${plan}`;
}
