/**
 * Issue 73 item 2 on the REST backend (the embedded control plane served over HTTP, with
 * `drain`): right after an apply `plan --refresh-only --detailed-exitcode` exits 0; a queue
 * another client drained (POST /v1/queues/{name}/drain, the API's own call) makes it exit 2 and
 * shows the state, and plain `plan` activates exactly that queue. The queue's state is read back
 * through the same API (GET /v1/queues/{name}).
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BASELINE_CAPABILITIES } from '../../src/model/common.js';
import { runCli } from '../support/cli.js';
import { tempDir, writeRepo } from '../support/repo.js';
import { servedControlPlane } from '../support/served-control-plane.js';

async function rest() {
  const { server } = await servedControlPlane(
    { port: 0 },
    { capabilities: { ...BASELINE_CAPABILITIES, drain: true, queue_delete: true } },
  );
  const api = async (method: string, path: string) => {
    const res = await fetch(`${server.url}${path}`, { method });
    expect(res.status, path).toBeLessThan(300);
    return (await res.json()) as { state?: string };
  };
  return { url: server.url, api };
}

describe('issue 73 item 2 on the REST backend', () => {
  it('refresh-only: 0 right after an apply, 2 with the state once another client drains a queue; the plan activates it', async () => {
    const { url, api } = await rest();
    const root = await tempDir('poolsync-queue-state-drift-');
    const repo = await writeRepo(join(root, 'repo'), {
      clusters: { c1: 'default' },
      queues: { q1: { pool: 'default', clusters: ['c1'], run_concurrency: 2 } },
    });
    const args = ['--control-plane', url, '--state-dir', join(root, 'state')];
    const cli = (more: string[]) => runCli([...more, ...args]);

    const first = await cli(['apply', repo, '--auto-approve']);
    expect(first.code, first.stdout + first.stderr).toBe(0);
    const fresh = await cli(['plan', '--refresh-only', '--detailed-exitcode']);
    expect(fresh.stdout).toMatch(/^No drift\./);
    expect(fresh.code).toBe(0);

    await api('POST', '/v1/queues/q1/drain');
    const drifted = await cli(['plan', '--refresh-only', '--detailed-exitcode']);
    // main: exit 0, "No drift." (a queue's drain state was not compared).
    expect(drifted.code, drifted.stdout).toBe(2);
    expect(drifted.stdout).toMatch(/Queue\/q1[^]*state[^\n]*"active" → "drained"/);
    const plan = await cli(['plan', repo, '--detailed-exitcode']);
    expect(plan.code).toBe(2);
    expect(plan.stdout).toContain('activate_queue Queue/q1');

    const again = await cli(['apply', repo, '--auto-approve']);
    expect(again.code, again.stdout + again.stderr).toBe(0);
    expect((await api('GET', '/v1/queues/q1')).state).toBe('active');
    const after = await cli(['plan', '--refresh-only', '--detailed-exitcode']);
    expect(after.code, after.stdout).toBe(0);
  });

  it('export and import of a drained queue warn that the first apply re-activates it; the plan says why, with nothing removed', async () => {
    const { url, api } = await rest();
    const root = await tempDir('poolsync-queue-drained-export-');
    const repo = await writeRepo(join(root, 'repo'), {
      clusters: { c1: 'default' },
      queues: { drq: { pool: 'default', clusters: ['c1'], run_concurrency: 2 } },
    });
    const args = ['--control-plane', url, '--state-dir', join(root, 'state')];
    const cli = (more: string[]) => runCli([...more, ...args]);
    expect((await cli(['apply', repo, '--auto-approve'])).code).toBe(0);
    await api('POST', '/v1/queues/drq/drain');

    const warning =
      'Warning: Queue/drq is drained on the control plane, and no manifest can declare a queue drained: the first apply re-activates it (state: "drained" → "active"). To keep it drained, apply nothing here until it may serve again, or leave queues/drq.yaml out';
    const out = join(root, 'out');
    const exported = await cli(['export', '--dir', out]);
    expect(exported.code, exported.stderr).toBe(0);
    expect(exported.stderr).toContain(warning);
    const empty = await writeRepo(join(root, 'empty'), {});
    const imported = await cli(['import', 'Queue/drq', '--dir', empty]);
    expect(imported.code, imported.stderr).toBe(0);
    expect(imported.stderr).toContain(warning);

    const plan = await cli(['plan', repo]);
    expect(plan.stdout).toContain(
      '# found drained, drained by another client or an apply cut short: re-activated, as the repository wants it active',
    );
    expect(plan.stdout).toMatch(
      /activate_queue Queue\/drq {2}# the queue takes work again, as it routes to clusters/,
    );
    expect(plan.stdout).not.toContain('have gone');
  });
});
