/**
 * A daemon for the dashboard tests: a real bare Git repository, the real HTTP server on
 * 127.0.0.1:0, the in-memory embedded control plane, policy `safe` and an admin token.
 */
import type { EmbeddedControlPlane } from '../../src/controlplane/embedded/embedded.js';
import type { DaemonDeps, RunningDaemon } from '../../src/daemon/daemon.js';
import type { DaemonStatus } from '../../src/daemon/status.js';
import { startTestDaemon } from './harness.js';
import { TestRepo } from './helpers.js';

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
  const { cp, daemon, stop } = await startTestDaemon({
    repo,
    env: {
      ...(options.noAdminToken ? {} : { POOLSYNC_ADMIN_TOKEN: ADMIN_TOKEN }),
      POOLSYNC_RECONCILE_TOKEN: RECONCILE_TOKEN,
      POOLSYNC_GITHUB_WEBHOOK_SECRET: WEBHOOK_SECRET,
    },
    // Runs happen when the test asks for them (the harness's hour-long intervals).
    flags: { policy: 'safe', ...options.flags },
    logLevel: 'silent',
    ...(options.deps ? { deps: options.deps } : {}),
  });
  return {
    repo,
    cp,
    daemon,
    status: async () => (await (await fetch(`${daemon.url}/status`)).json()) as DaemonStatus,
    stop,
  };
}
