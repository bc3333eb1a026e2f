/**
 * The one in-process daemon of the tests: `resolveDaemonConfig` with the flags every end-to-end
 * test starts from (the repository's bare remote, a `file:` control-plane URL in a temp folder
 * that decides where the apply lock lives, a loopback listener on a free port, hour-long poll
 * and drift intervals so that only the test triggers runs), a control plane injected (by
 * default an in-memory embedded one), and a pino logger whose lines the test can read.
 * `stop()` stops the daemon, closes the control plane it opened, and removes the repository
 * and the temp folder it made.
 * `startOwnTestDaemon` is the same daemon without an injected control plane: it opens its
 * `--control-plane` URL itself (by default the `file:` state in the temp folder, `cpUrl`), as
 * the CLI's daemon does.
 */
import { rmSync } from 'node:fs';
import { Writable } from 'node:stream';
import { pino, type Level } from 'pino';
import { EmbeddedControlPlane } from '../../src/controlplane/embedded/embedded.js';
import type { ControlPlane } from '../../src/controlplane/types.js';
import { resolveDaemonConfig, type DaemonConfig } from '../../src/daemon/config.js';
import { startDaemon, type DaemonDeps, type RunningDaemon } from '../../src/daemon/daemon.js';
import { tempDir, type TestRepo } from './helpers.js';

export interface TestDaemonOptions<C extends ControlPlane> {
  /** The repository the daemon pulls; absent: the daemon watches the folder of `flags.watch`. */
  repo?: TestRepo;
  /** Default: an embedded control plane in memory. */
  cp?: C;
  /** Flags added to (or replacing) the defaults, e.g. `policy`, `poll-interval`. */
  flags?: Record<string, unknown>;
  env?: Record<string, string>;
  /** The temp folder of the daemon's state (default: a new one, removed by stop()). */
  state?: string;
  /** Default 'debug': every line, for tests that read the logs. */
  logLevel?: Level | 'silent';
  deps?: Partial<DaemonDeps>;
}

export interface TestDaemon<C extends ControlPlane> {
  daemon: RunningDaemon;
  cp: C;
  config: DaemonConfig;
  /** The daemon's log lines (JSON), as written. */
  logs: string[];
  state: string;
  /** Stops the daemon, then removes the repository and the state folder (those it made). */
  stop(): Promise<void>;
}

/** A daemon that opened its control plane itself; `cpPath`: its default `file:` state. */
export type OwnTestDaemon = Omit<TestDaemon<never>, 'cp'> & { cpPath: string };

export async function startTestDaemon<C extends ControlPlane = EmbeddedControlPlane>(
  opts: TestDaemonOptions<C>,
): Promise<TestDaemon<C>> {
  const cp = opts.cp ?? ((await EmbeddedControlPlane.open({ path: null })) as ControlPlane as C);
  const started = await launch(opts, cp);
  return {
    ...started,
    cp,
    stop: async () => {
      await started.stop();
      if (opts.cp === undefined) await cp.close();
    },
  };
}

export function startOwnTestDaemon(
  opts: Omit<TestDaemonOptions<ControlPlane>, 'cp'>,
): Promise<OwnTestDaemon> {
  return launch(opts, null);
}

async function launch(
  opts: Omit<TestDaemonOptions<ControlPlane>, 'cp'>,
  cp: ControlPlane | null,
): Promise<OwnTestDaemon> {
  const state = opts.state ?? tempDir();
  const cpPath = `${state}/cp.json`;
  const config = await resolveDaemonConfig({
    cwd: state,
    env: opts.env ?? {},
    flags: {
      ...(opts.repo ? { repo: opts.repo.bare } : {}),
      // Injected (startTestDaemon): the URL only decides where the apply lock lives, beside it.
      'control-plane': `file:${cpPath}`,
      listen: '127.0.0.1:0',
      'state-dir': `${state}/daemon`,
      policy: 'all',
      'poll-interval': '1h',
      'drift-interval': '1h',
      ...opts.flags,
    },
  });
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      logs.push(String(chunk));
      cb();
    },
  });
  const daemon = await startDaemon(config, {
    // What the daemon's command passes: the process's environment (git's PATH) with the test's.
    env: { ...process.env, ...opts.env },
    logger: pino({ level: opts.logLevel ?? 'debug' }, sink),
    ...(cp === null ? {} : { controlPlane: cp }),
    ...opts.deps,
  });
  return {
    daemon,
    config,
    logs,
    state,
    cpPath,
    stop: async () => {
      await daemon.stop();
      opts.repo?.cleanup();
      if (opts.state === undefined) rmSync(state, { recursive: true, force: true });
    },
  };
}
