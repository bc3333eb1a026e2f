/**
 * examples/three-backends end to end (docs/environments.md): one repository, development on
 * the embedded control plane, staging on the Union stand-in (Connect, OAuth2 API key),
 * production on the flyteadmin stand-in (OAuth2 client credentials). Through the CLI (plan
 * every environment, one pull-request comment on the local forge) and the daemon (each
 * environment applied; drift corrected in each; production's deletes held for approval).
 */
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveDaemonConfig } from '../../src/daemon/config.js';
import { startDaemon, type RunningDaemon } from '../../src/daemon/daemon.js';
import type { DaemonStatus } from '../../src/daemon/status.js';
import { EmbeddedControlPlane } from '../../src/controlplane/embedded/embedded.js';
import { runCli } from '../support/cli.js';
import { apiKey, startUnionServer, type UnionServer } from '../controlplane/union/helpers.js';
import { setRunConcurrency } from '../daemon/fixtures.js';
import { TestRepo, tempDir } from '../daemon/helpers.js';
import {
  CLIENT_ID,
  CLIENT_SECRET,
  EXAMPLE_PROJECTS,
  startFlyteadmin,
  useCredentials,
  type Flyteadmin,
} from '../flyteadmin/helpers.js';
import { FakeForge } from '../support/fake-forge.js';

const RECONCILE = 'reconcile-token-three-backends-01';
const ADMIN = 'admin-token-three-backends-012345';
let union: UnionServer;
let fa: Flyteadmin;
let undoCredentials: () => Promise<void>;
let repo: TestRepo;
let state: string;
let forge: FakeForge;

/** The example with the stand-ins' URLs and the API key file in place of the placeholders. */
async function exampleFiles(keyFile: string): Promise<Record<string, string>> {
  const root = 'examples/three-backends';
  const files: Record<string, string> = {};
  for (const entry of await readdir(root, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    files[relative(root, path)] = (await readFile(path, 'utf8'))
      .replace('union+http://127.0.0.1:8091', union.url('connect'))
      .replace('flyteadmin+http://127.0.0.1:8091', fa.url)
      .replace('/run/secrets/union-staging-api-key', keyFile);
  }
  return files;
}

beforeAll(async () => {
  union = await startUnionServer();
  fa = await startFlyteadmin(
    { clientId: CLIENT_ID, clientSecret: CLIENT_SECRET },
    { projects: EXAMPLE_PROJECTS },
  );
  // flyteadmin's credentials come from the environment (this process's, and the CLI's).
  undoCredentials = await useCredentials(CLIENT_ID, CLIENT_SECRET);
  forge = await new FakeForge().start();
  state = tempDir();
  const keyFile = join(state, 'union-api-key');
  await writeFile(keyFile, apiKey(union.host), { mode: 0o600 });
  repo = new TestRepo();
  repo.commit(await exampleFiles(keyFile));
  // The CLI's development state, beside the repository as docs/environments.md says.
  await mkdir(join(repo.work, '.poolsync'));
}, 60_000);
afterAll(async () => {
  await forge?.stop();
  await undoCredentials?.();
  await union?.close();
  await fa?.close();
  repo?.cleanup();
});

describe('examples/three-backends', () => {
  it('the CLI plans every environment against its own backend, and comments one pull request', async () => {
    const r = await runCli(['plan', repo.work, '--env', 'all', '--detailed-exitcode'], {});
    expect(r.stderr).toBe('');
    expect(r.code).toBe(2);
    expect(r.stdout).toMatch(/Environment: development\nControl plane: embedded file:/);
    expect(r.stdout).toMatch(/Environment: staging\nControl plane: union /);
    expect(r.stdout).toMatch(/Environment: production\nControl plane: flyteadmin /);
    const comment = ['--comment', 'github', '--repo', 'acme/cfg', '--pr', '3'];
    const c = await runCli(
      ['plan', repo.work, '--env', 'all', ...comment, '--api-url', forge.url],
      // Pull-request mode: the environments' control planes and credentials are the base's.
      { GITHUB_TOKEN: forge.token, POOLSYNC_BASE_REF: 'HEAD' },
    );
    expect(c.code, c.stderr).toBe(0);
    const body = forge.list('github:acme/cfg#3')[0]!.body;
    expect(body).toContain('3 environments: `development`, `staging`, `production`.');
    expect(body).toMatch(/<b>staging<\/b>: Plan: 3 to create/);
    expect(body).toMatch(/<b>production<\/b>: Plan: 4 to create/);
  });

  it('the daemon applies each environment and corrects drift in each; production (policy safe) waits for an approval', async () => {
    const config = await resolveDaemonConfig({
      cwd: state,
      env: { POOLSYNC_RECONCILE_TOKEN: RECONCILE, POOLSYNC_ADMIN_TOKEN: ADMIN },
      flags: {
        repo: repo.bare,
        listen: '127.0.0.1:0',
        'state-dir': `${state}/daemon`,
        'poll-interval': '1h',
        'drift-interval': '1h',
      },
    });
    const daemon: RunningDaemon = await startDaemon(config, {
      env: process.env,
      logger: pino({ level: 'info' }, new Writable({ write: (_c, _e, cb) => cb() })),
    });
    try {
      await daemon.firstRun;
      const status = async () =>
        (await (await fetch(`${daemon.url}/status`)).json()) as DaemonStatus;
      const reconcile = () =>
        fetch(`${daemon.url}/reconcile?wait=1`, {
          method: 'POST',
          headers: { authorization: `Bearer ${RECONCILE}` },
        });
      // Production (policy safe) holds its label changes (they move executions) for a person.
      const approveProduction = async () => {
        const held = (await status()).environments!.production!.approval!.pending!;
        const res = await fetch(`${daemon.url}/approve`, {
          method: 'POST',
          headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
          body: JSON.stringify({ fingerprint: held.fingerprint, approver: 'ops' }),
        });
        expect(res.status).toBe(200);
        await reconcile();
        return held;
      };
      let st = await status();
      expect(st.errors).toEqual([]);
      expect(st.environments!.development!.outcome).toBe('applied');
      expect(st.environments!.staging!.outcome).toBe('applied');
      expect(st.environments!.production!.outcome).toBe('waiting_for_approval');
      expect(fa.store.listAll('EXECUTION_CLUSTER_LABEL', '')).toHaveLength(0);
      expect((await approveProduction()).changes).toHaveLength(4);
      expect(st.environments!.staging!.controlPlane.backend).toBe('union');
      expect(st.environments!.production!.controlPlane.backend).toBe('flyteadmin');
      expect((await union.embedded.getQueue('training')).run_concurrency).toBe(10);
      expect(fa.store.listAll('EXECUTION_CLUSTER_LABEL', '')).toHaveLength(4);
      const devPath = `${state}/daemon/.poolsync/development.json`;
      const dev = await EmbeddedControlPlane.open({ path: devPath });
      try {
        expect((await dev.listClusters()).map((c) => c.name)).toEqual(['gpu-dev-1']);
        await setRunConcurrency(dev, 'training', 2);
      } finally {
        await dev.close();
      }

      // Drift in every environment: each corrected on its own control plane.
      await setRunConcurrency(union.embedded, 'training', 3);
      fa.store.delete({
        project: 'team1',
        domain: 'development',
        workflow: '',
        launch_plan: '',
        resource_type: 'EXECUTION_CLUSTER_LABEL',
        org: '',
      });
      await reconcile();
      st = await status();
      for (const env of ['development', 'staging', 'production'])
        expect(st.environments![env]!.lastDrift, env).not.toBeNull();
      expect((await union.embedded.getQueue('training')).run_concurrency).toBe(10);
      expect(st.environments!.production!.outcome).toBe('waiting_for_approval');
      expect((await approveProduction()).changes).toEqual([
        expect.objectContaining({
          action: 'create',
          address: 'ExecutionClusterLabel/team1/development',
        }),
      ]);
      expect(fa.store.listAll('EXECUTION_CLUSTER_LABEL', '')).toHaveLength(4);
    } finally {
      await daemon.stop();
    }
  }, 120_000);
});
