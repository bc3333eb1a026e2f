/**
 * Faults (quality.md, Reliability): with 20% of calls answered UNAVAILABLE, some calls
 * carried out but their answer lost, and 50 ms latency (the server's /v1/sim/faults), an
 * apply of the example repository over HTTP converges.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EmbeddedControlPlane } from '../../src/controlplane/embedded/embedded.js';
import {
  startControlPlaneServer,
  type ControlPlaneServer,
} from '../../src/controlplane/embedded/server.js';
import { readLiveState } from '../../src/controlplane/types.js';
import { loadRepository } from '../../src/manifests/index.js';
import { computePlan } from '../../src/plan/index.js';
import { REPO_ROOT, runCli } from '../support/cli.js';
import { tempDir } from '../support/repo.js';

const EXAMPLE = join(REPO_ROOT, 'examples', 'config-repo');

describe('apply under injected faults', () => {
  let cp: EmbeddedControlPlane;
  let server: ControlPlaneServer;
  beforeAll(async () => {
    cp = await EmbeddedControlPlane.open({ path: null });
    server = await startControlPlaneServer({
      controlPlane: cp,
      host: '127.0.0.1',
      port: 0,
      simulate: true,
    });
  });
  afterAll(async () => {
    await server.close();
    await cp.close();
  });

  const setFaults = async (faults: Record<string, number>) => {
    const res = await fetch(`${server.url.replace(/\/$/, '')}/v1/sim/faults`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(faults),
    });
    expect(res.status).toBe(200);
  };

  it('converges on examples/config-repo with 20% UNAVAILABLE, 5% lost responses and 50 ms latency', async () => {
    await setFaults({ fault_rate: 0.2, lost_response_rate: 0.05, latency_ms: 50 });
    const stateDir = await tempDir();
    const r = await runCli([
      'apply',
      EXAMPLE,
      '--control-plane',
      server.url,
      '--auto-approve',
      '--state-dir',
      stateDir,
    ]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Apply complete: \d+ created/);

    await setFaults({ fault_rate: 0, lost_response_rate: 0, latency_ms: 0 });
    const loaded = await loadRepository(EXAMPLE);
    if (!loaded.valid) throw new Error('example repo invalid');
    const plan = computePlan(loaded.desired, await readLiveState(cp));
    expect(plan.steps).toEqual([]);
    const live = await readLiveState(cp);
    expect(live.pools.map((p) => p.name).sort()).toEqual(
      ['default', ...loaded.desired.pools.map((p) => p.name)].sort(),
    );
    expect(live.clusters.map((c) => c.name)).toEqual(loaded.desired.clusters.map((c) => c.name));

    const again = await runCli([
      'apply',
      EXAMPLE,
      '--control-plane',
      server.url,
      '--auto-approve',
      '--state-dir',
      stateDir,
    ]);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('No changes');
  }, 120_000);

  it('--max-retries is the retry budget per call: 0 fails fast and says so; 25 converges at a 40% fault rate', async () => {
    // A fresh control plane: the test above converged the shared one.
    await cp.close();
    await server.close();
    cp = await EmbeddedControlPlane.open({ path: null });
    server = await startControlPlaneServer({
      controlPlane: cp,
      host: '127.0.0.1',
      port: 0,
      simulate: true,
    });
    await setFaults({ fault_rate: 1, lost_response_rate: 0, latency_ms: 0 });
    const stateDir = await tempDir();
    const args = ['apply', EXAMPLE, '--control-plane', server.url, '--auto-approve'];
    const none = await runCli([...args, '--state-dir', stateDir, '--max-retries', '0']);
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/still failing after 0 retries/);
    expect(none.stderr).not.toMatch(/\n\s+at /);

    const bad = await runCli([...args, '--state-dir', stateDir, '--max-retries', 'lots']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toBe(
      'Error: --max-retries must be a whole number from 0 to 100 (got "lots")\nRun `poolsync apply --help` for usage.\n',
    );

    await setFaults({ fault_rate: 0.4, lost_response_rate: 0, latency_ms: 0 });
    const r = await runCli([...args, '--state-dir', stateDir, '--max-retries', '25']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Apply complete: /);
  }, 120_000);

  it('plan takes --max-retries too: 0 fails fast on a failing read; 25 reads through a 40% fault rate', async () => {
    await setFaults({ fault_rate: 1, lost_response_rate: 0, latency_ms: 0 });
    const args = ['plan', EXAMPLE, '--control-plane', server.url];
    const none = await runCli([...args, '--max-retries', '0']);
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/still failing after 0 retries/);
    expect(none.stderr).not.toMatch(/\n\s+at /);
    const bad = await runCli([...args, '--max-retries', '-1']);
    expect(bad.stderr).toBe(
      'Error: --max-retries must be a whole number from 0 to 100 (got "-1")\nRun `poolsync plan --help` for usage.\n',
    );
    await setFaults({ fault_rate: 0.4, lost_response_rate: 0, latency_ms: 0 });
    const ok = await runCli([...args, '--max-retries', '25']);
    expect(ok.stderr).toBe('');
    expect(ok.code).toBe(0);
    await setFaults({ fault_rate: 0, lost_response_rate: 0, latency_ms: 0 });
  }, 120_000);
});
