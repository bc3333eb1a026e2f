/**
 * A daemon for the dashboard tests: a real bare Git repository, the real HTTP server on
 * 127.0.0.1:0, the in-memory embedded control plane, policy `safe` and an admin token.
 */
import { pino } from 'pino';
import { EmbeddedControlPlane } from '../../src/controlplane/embedded/embedded.js';
import { resolveDaemonConfig } from '../../src/daemon/config.js';
import { startDaemon, type DaemonDeps, type RunningDaemon } from '../../src/daemon/daemon.js';
import type { DaemonStatus } from '../../src/daemon/status.js';
import { TestRepo, tempDir } from './helpers.js';

export const ADMIN_TOKEN = 'admin-token-dashboard-0123456789';
export const RECONCILE_TOKEN = 'reconcile-token-dashboard-01234';
export const WEBHOOK_SECRET = 'gh-webhook-secret-dashboard-0123';

export interface DashboardHarness {
  repo: TestRepo;
  cp: EmbeddedControlPlane;
  daemon: RunningDaemon;
  status(): Promise<DaemonStatus>;
  stop(): Promise<void>;
}

export async function startDashboardDaemon(
  options: {
    flags?: Record<string, string>;
    deps?: Partial<DaemonDeps>;
    repo?: TestRepo;
    noAdminToken?: boolean;
  } = {},
): Promise<DashboardHarness> {
  const repo = options.repo ?? new TestRepo();
  const cp = await EmbeddedControlPlane.open({ path: null });
  const state = tempDir();
  const config = await resolveDaemonConfig({
    cwd: state,
    env: {
      ...(options.noAdminToken ? {} : { POOLSYNC_ADMIN_TOKEN: ADMIN_TOKEN }),
      POOLSYNC_RECONCILE_TOKEN: RECONCILE_TOKEN,
      POOLSYNC_GITHUB_WEBHOOK_SECRET: WEBHOOK_SECRET,
    },
    flags: {
      repo: repo.bare,
      'control-plane': `file:${state}/cp.json`,
      listen: '127.0.0.1:0',
      'state-dir': `${state}/daemon`,
      policy: 'safe',
      // Runs happen when the test asks for them.
      'poll-interval': '1h',
      'drift-interval': '1h',
      ...options.flags,
    },
  });
  const daemon = await startDaemon(config, {
    logger: pino({ level: 'silent' }),
    controlPlane: cp,
    ...options.deps,
  });
  return {
    repo,
    cp,
    daemon,
    status: async () => (await (await fetch(`${daemon.url}/status`)).json()) as DaemonStatus,
    stop: async () => {
      await daemon.stop();
      await cp.close();
      repo.cleanup();
    },
  };
}
