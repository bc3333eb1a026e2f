/** `poolsync daemon` (docs/daemon.md): src/daemon started, stopped at SIGTERM/SIGINT. */
import { existsSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  LOCAL_ADMIN_TOKEN_FILE,
  LOCAL_DAEMON_URL_FILE,
  OPTIONS,
} from '../../daemon/config-options.js';
import { localAdminToken, resolveDaemonConfig } from '../../daemon/config.js';
import { startDaemon } from '../../daemon/daemon.js';
import { createLogger, recordLines } from '../../daemon/logger.js';
import { recordLine, RunLines } from '../../daemon/terminal.js';
import type { DaemonStatus } from '../../daemon/status.js';
import { rememberSecretsOf } from '../../util/redact.js';
import { writeOwnFile } from '../../util/safe-file.js';
import { embeddedStatePath } from '../../controlplane/open.js';
import { DEFAULT_CONTROL_PLANE_URL } from '../../controlplane/default-url.js';
import { newStateUndo } from '../../controlplane/embedded/store.js';
import { briefPlan, quickstartBanner, quickstartStop } from '../../render/cli-output.js';
import { UserError } from '../../util/user-error.js';
import { shellQuote } from '../../util/shell-quote.js';
import { resolveNotifyConfig } from '../../notify/config.js';
import { Notifier } from '../../notify/notifier.js';
import type { DaemonArgs } from '../define.js';
import { nextSignal, terminalOf, type Io } from '../io.js';

/** Found from this file whether it runs from src/ (tsx) or dist/. */
function bundledExample(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = [
    resolve(here, '../../../examples/config-repo'), // src/cli/commands/ (tsx), tsc's dist/
    resolve(here, '../../examples/config-repo'), // the bundle's dist/cli/ (scripts/bundle.mjs)
    resolve(process.cwd(), 'examples/config-repo'),
  ];
  const found = candidates.find((c) => existsSync(c));
  if (!found)
    throw new UserError(
      'cannot find examples/config-repo for --quickstart; run it in a config repository (one with poolsync.yaml), or use --watch DIR',
    );
  return found;
}

/**
 * What `--quickstart` watches (docs/daemon.md#quickstart), and why, as its banner says it:
 * `--watch DIR`; else the folder it runs in when that is a config repository (it has
 * poolsync.yaml, as `poolsync init` writes); else the example poolsync ships (`npm start` in a
 * clone, whose root has none). `dir` null: --watch's, resolved with the other settings.
 */
async function quickstartFolder(
  cwd: string,
  watch: unknown,
): Promise<{ dir: string | null; why: string }> {
  if (watch !== undefined && watch !== null) return { dir: null, why: '--watch' };
  if (!existsSync(join(cwd, 'poolsync.yaml')))
    return {
      dir: bundledExample(),
      why: `the example poolsync ships: ${cwd} has no poolsync.yaml`,
    };
  const { readRepoConfig } = await import('../../manifests/config.js');
  // Each environment names its own control plane: the quickstart's policy all would apply there.
  if ((await readRepoConfig(cwd).catch(() => null))?.declaresEnvironments)
    throw new UserError(
      `--quickstart applies everything (policy all) to one embedded control plane, and ${join(cwd, 'poolsync.yaml')} declares environments, each with its own control plane: ` +
        '`poolsync daemon --watch .` reconciles them (policy safe unless you say otherwise; docs/environments.md); `--quickstart --watch .` runs the quickstart on it anyway',
    );
  return { dir: cwd, why: "this folder's poolsync.yaml" };
}

/**
 * A watched folder that is missing or no folder is refused before the daemon starts, in one
 * line, as the CLI refuses a missing folder: its first run failed (GIT_FETCH) and `--once`
 * exited 1. (A Git source, --repo, is a URL: not looked for on disk.)
 */
async function requireWatchedFolder(dir: string, from: string): Promise<void> {
  const wayOut =
    "name a config repository's folder (the one with poolsync.yaml), or follow a Git branch with --repo URL";
  const st = await stat(dir).catch((err: NodeJS.ErrnoException) => {
    throw new UserError(
      err.code === 'ENOENT'
        ? `${from}: folder ${dir} does not exist: ${wayOut}`
        : `${from}: cannot read folder ${dir}: ${err.code ?? String(err)}; check its permissions, or ${wayOut}`,
    );
  });
  if (!st.isDirectory()) throw new UserError(`${from}: ${dir} is not a folder: ${wayOut}`);
}

export async function daemon(args: DaemonArgs, io: Io): Promise<number> {
  // Heard from the start (main.ts keeps one that came earlier): a Ctrl-C while it starts stops
  // it once started, saying so, never kills it halfway; the start's fetch is stopped at once.
  let stoppedBy: NodeJS.Signals | null = null;
  const stopAsked = new AbortController();
  const signalled = nextSignal(io).then((signal) => {
    stopAsked.abort();
    return (stoppedBy = signal);
  });
  const flags: Record<string, unknown> = {};
  for (const opt of OPTIONS) {
    const v = args[opt.name];
    // yargs sets booleans to false when absent only with a default; we set none, so undefined = not given.
    if (v !== undefined) flags[opt.name] = v;
  }
  const quickstart = args.quickstart === true;
  if (quickstart && flags.repo !== undefined)
    throw new UserError(
      '--quickstart watches a folder on disk (this one when it has poolsync.yaml, else the bundled example, or --watch DIR); drop --repo, or drop --quickstart',
    );
  const watching = quickstart ? await quickstartFolder(process.cwd(), flags.watch) : null;
  const overrides = quickstart
    ? {
        ...(watching?.dir ? { watch: watching.dir } : {}),
        'control-plane': DEFAULT_CONTROL_PLANE_URL,
        policy: 'all',
        // No `listen`: as for any daemon (0.0.0.0:8080 in the Docker image's POOLSYNC_LISTEN).
        'drift-interval': '1m',
        // A line per step scrolled the plan away: applied plans are printed (briefPlan) instead.
        'log-level': 'warn',
      }
    : undefined;
  // Quickstart ignores POOLSYNC_REPO / POOLSYNC_WATCH: it watches what quickstartFolder says.
  const { POOLSYNC_REPO: _r, POOLSYNC_WATCH: _w, ...withoutSource } = io.env;
  const config = await resolveDaemonConfig({
    flags,
    env: quickstart ? withoutSource : io.env,
    cwd: process.cwd(),
    configFile: args.config ?? null,
    overrides,
  });
  if (config.source.kind === 'watch') {
    const from =
      flags.watch !== undefined
        ? '--watch'
        : !quickstart && io.env.POOLSYNC_WATCH
          ? 'environment variable POOLSYNC_WATCH'
          : `${args.config ?? 'the config file'}: watch`;
    await requireWatchedFolder(config.source.dir, from);
  }
  // The quickstart does all the README shows: syncs and approvals need an admin token (kept
  // once the daemon listens: a start that fails keeps none, and the next one shows its own).
  const token =
    quickstart && config.adminToken === null ? await localAdminToken(process.cwd()) : null;
  if (token) config.adminToken = token.token;
  rememberSecretsOf(io.env);
  // The quickstart's terminal is for people: its warnings in words, what its runs say in its
  // run lines (RunLines); pino's JSON lines when asked for (--log-level, --log-format).
  const words = quickstart && flags['log-level'] === undefined && flags['log-format'] === undefined;
  const logger = await createLogger({
    level: config.logLevel,
    format: config.logFormat,
    destination: words
      ? recordLines(io.stdout, recordLine)
      : // The process's own stdout under run.ts's rewriting: pino's (pretty on a terminal).
        terminalOf(io.stdout) === process.stdout
        ? undefined
        : io.stdout,
  });
  const notify = await resolveNotifyConfig(args, io.env);
  if (notify.destinations.length > 0)
    logger.info(
      { destinations: notify.destinations.map((d) => d.origin), events: notify.events },
      'notifications on',
    );
  const notifier =
    notify.destinations.length === 0
      ? null
      : new Notifier({
          destinations: notify.destinations,
          events: notify.events,
          rateLimit: { max: notify.maxPerMinute, windowMs: 60_000 },
          logger,
          limits: config.limits,
        });
  // The quickstart says each run worth a line, as /status has it (each environment's apart).
  const runLines = new Map<string | null, RunLines>();
  const sayRun = (st: DaemonStatus, environment: string | null) => {
    const lines = runLines.get(environment) ?? new RunLines(environment);
    runLines.set(environment, lines);
    io.stdout.write(lines.next(st));
  };
  // A start refused (a port in use) leaves no embedded state it made, as control-plane serve.
  const { url } = config.controlPlane;
  const undoNewState = url.startsWith('file:')
    ? await newStateUndo(embeddedStatePath(url))
    : async () => {};
  const daemon = await startDaemon(config, {
    logger,
    env: io.env,
    notifier: notifier ?? undefined,
    onRun: quickstart ? sayRun : undefined,
    onApplyPlan: quickstart ? (plan, held) => io.stdout.write(briefPlan(plan, held)) : undefined,
    serveControlPlane: quickstart,
    adminTokenFile: token?.path,
    stopped: stopAsked.signal,
  }).catch(async (err: unknown) => {
    await undoNewState();
    throw err instanceof UserError
      ? err
      : new UserError(err instanceof Error ? err.message : String(err));
  });
  // The address must stay discoverable (--listen HOST:0) even when info logs are off.
  if (!logger.isLevelEnabled('info') && !quickstart)
    io.stderr.write(`poolsync daemon listening on ${daemon.url}\n`);
  // Stopped while it started: the quickstart says only that (below), and keeps no token it never showed.
  const starting = quickstart && stoppedBy === null;
  if (token && starting && !(await token.keep())) {
    await daemon.stop();
    throw new UserError(
      `${LOCAL_ADMIN_TOKEN_FILE} appeared while this quickstart started (another \`npm start\` in this folder?), or is empty: stop the other one, or remove the file, and start again`,
    );
  }
  // Commands in this folder find this daemon by it, whichever token it has; the CLI sends this
  // folder's token file to this address only, never to another daemon on this machine.
  if (starting) {
    const path = resolve(LOCAL_DAEMON_URL_FILE);
    const what = "quickstart daemon's address";
    await writeOwnFile(dirname(path), path, `${daemon.url}\n`, { what, mode: 0o644 });
  }
  let firstRunDone = false;
  if (starting) {
    const watched = config.source.kind === 'watch' ? config.source.dir : '';
    const path = relative(process.cwd(), resolve(LOCAL_ADMIN_TOKEN_FILE));
    const what = `${watched} (${watching!.why})`;
    io.stdout.write(quickstartBanner(daemon.url, what, token && { path, made: token.made }));
    // The watched folder as a command typed here names it: relative when below this folder.
    const below = relative(process.cwd(), watched);
    const named = below.startsWith('..') || isAbsolute(below) ? watched : below || '.';
    void daemon.firstRun.then(() => {
      const run = daemon.status().lastRun;
      // A run stopped before it changed anything is said by the line saying it stopped.
      if (!run || (run.result === 'stopped' && run.changedTotal === 0)) return;
      // What it applied, holds, froze or failed at is said already (RunLines).
      io.stdout.write(
        `First run ${run.result.replace(/_/g, ' ')}. What poolsync manages now: \`poolsync state list ${shellQuote(named)}\`.\n`,
      );
    });
  }

  void daemon.firstRun.then(() => (firstRunDone = true));
  // --once: the first run, then stop; else until a signal, which also cuts a --once's run short
  // (as any shutdown: no new step starts, running steps finish).
  // The signal first: one heard while it started, before any run, is said.
  const signal = await (config.once
    ? Promise.race([signalled, daemon.firstRun.then(() => null)])
    : signalled);
  const cutFirstRun = signal !== null && !firstRunDone;
  if (signal !== null) {
    logger.info({ signal }, `received ${signal}: stopping triggers, letting running steps finish`);
    // Before the first run finished, nothing is said until it stopped, unless it is applying
    // (its apply stage's phases: it goes on until the running steps finish).
    const phase = daemon.status().running?.phase ?? '';
    if (quickstart && (!cutFirstRun || ['lock', 'record', 'apply', 'unlock'].includes(phase)))
      io.stdout.write(quickstartStop.stopping(signal));
  }
  // With environments, every one must have converged (docs/environments.md).
  const runsOf = (st: DaemonStatus) =>
    st.environments ? Object.values(st.environments).map((s) => s.lastRun) : [st.lastRun];
  const failed = (runs: DaemonStatus['lastRun'][]) =>
    runs.some((r) => !r || !['applied', 'in_sync', 'left_unpruned', 'planned'].includes(r.result));
  // A --once that failed and changed nothing leaves nothing it made: its state folder, nor
  // (below) a new embedded state no call wrote to.
  const stepsFinished = await daemon.stop(() => {
    const runs = runsOf(daemon.status());
    return config.once && failed(runs) && runs.every((r) => (r?.changedTotal ?? 0) === 0);
  });
  const once = config.once ? daemon.status() : null;
  if (once && failed(runsOf(once))) await undoNewState();
  if (quickstart && once === null) {
    const run = daemon.status().lastRun;
    const nothingApplied = !run || (run.result === 'stopped' && run.changedTotal === 0);
    io.stdout.write(
      cutFirstRun && nothingApplied
        ? quickstartStop.beforeFirstRun(signal)
        : quickstartStop.stopped(stepsFinished, config.controlPlane.url.replace(/^file:/, '')),
    );
  }
  // Messages still being sent get a few seconds, not the whole retry budget, then are cut off.
  await notifier?.close();
  // Timed out: steps were cut off; say so with the status (the next start converges).
  if (once === null) return stepsFinished ? 0 : 1;
  for (const e of once.errors) {
    const env = e.environment !== undefined ? `[${e.environment}] ` : '';
    io.stderr.write(`${env}${e.location ?? e.address ?? 'error'}: ${e.code}: ${e.message}\n`);
  }
  // Cut by a signal: what the run did, as its message says it (no error does).
  for (const [name, st] of signal === null ? [] : Object.entries(once.environments ?? { '': once }))
    if (st.lastRun?.result === 'stopped')
      io.stderr.write(`${name && `[${name}] `}Stopped (${signal}): ${st.lastRun.message}\n`);
  return failed(runsOf(once)) ? 1 : 0;
}
