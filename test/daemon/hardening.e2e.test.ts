/**
 * Issue 14: the daemon survives any commit and any fault rate.
 * - A commit whose aliases would expand to 800 MB (it used to abort a daemon capped at the
 *   image's 256 MB heap on every start) is refused at validation with a positioned LIMIT
 *   error, while the daemon, in a child process with that heap cap, keeps serving /status
 *   and keeps the last good state; the next good commit is applied.
 * - A control plane failing every call makes runs fail; the daemon backs off and resumes,
 *   and converges once the fault rate drops to 40%.
 * Real bare Git repositories, the daemon's real HTTP server, the real HTTP client.
 */
import { describe, expect, it } from 'vitest';
import { cleanup } from '../support/cleanup.js';
import { HttpControlPlane } from '../../src/controlplane/rest/http-client.js';
import { RECONCILE_TOKEN, startDaemonProcess, status } from './daemon-process.js';
import { servedControlPlane } from '../support/served-control-plane.js';
import { until } from '../support/until.js';
import { manifests } from './fixtures.js';
import { startTestDaemon } from './harness.js';
import { TestRepo, tempDir } from './helpers.js';

const TOKEN = RECONCILE_TOKEN;
/** Runs the daemon gets to converge at a 40% fault rate (see the test). */
const MAX_RUNS_AT_40_PERCENT = 300;

/** The document: a 200 KB anchored string aliased 4,000 times (263 KB on disk). */
function annotationBomb(): string {
  const lines = [
    'apiVersion: poolsync/v1',
    'kind: ClusterPool',
    'metadata:',
    '  name: bomb',
    '  annotations:',
    `    a0: &big ${'x'.repeat(200_000)}`,
  ];
  for (let i = 1; i < 4000; i++) lines.push(`    a${i}: *big`);
  lines.push(
    'spec:',
    '  object_store_ref:',
    '    uri: s3://bomb/metadata',
    '  secret_store:',
    '    type: VAULT',
    '    locator: x',
    '',
  );
  return lines.join('\n');
}

describe('daemon hardening', () => {
  it('a commit that would exhaust the heap is refused at validation; the daemon (256 MB heap) keeps serving /status and the last good state', async () => {
    const repo = new TestRepo();
    cleanup.add(() => repo.cleanup());
    const good = repo.commit(manifests());
    const state = tempDir();
    const daemon = await startDaemonProcess(repo.bare, state, 256);
    cleanup.add(daemon.kill);
    const { child, url, exited } = daemon;
    await until('the good commit applied', async () => (await status(url)).appliedCommit === good, {
      timeoutMs: 20_000,
      retryErrors: true,
    });

    const bad = repo.commit({ ...manifests(), 'pools/bomb.yaml': annotationBomb() }, 'bomb');
    const res = await fetch(`${url}/reconcile?wait=1`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(res.status).toBe(200);
    const st = await status(url);
    expect(st).toMatchObject({ outcome: 'invalid', commit: bad, appliedCommit: good });
    expect(st.errors).toEqual([
      {
        code: 'LIMIT',
        message: expect.stringMatching(
          /^this document expands to more than 1,048,576 bytes \(1 MiB\) of text through its aliases/,
        ),
        location: 'pools/bomb.yaml:11:9',
        address: null,
      },
    ]);
    // Still alive and answering; the log says what was refused, at its position.
    expect(child.exitCode).toBeNull();
    expect((await fetch(`${url}/healthz`)).status).toBeLessThan(500);
    expect(daemon.output()).toContain('pools/bomb.yaml:11:9: LIMIT');

    const fixed = repo.commit({
      'pools/bomb.yaml': null,
      ...manifests({ batchRunConcurrency: 7 }),
    });
    await fetch(`${url}/reconcile?wait=1`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(await status(url)).toMatchObject({ outcome: 'applied', appliedCommit: fixed });

    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  }, 60_000);

  it('under failing control-plane calls the daemon backs off, resumes, and converges at a 40% fault rate', async () => {
    const repo = new TestRepo();
    cleanup.add(() => repo.cleanup());
    const commit = repo.commit(manifests({ clusters: ['prod-1', 'prod-2', 'prod-3', 'prod-4'] }));
    const { embedded: store, server } = await servedControlPlane({ simulate: true });
    const setFaults = (faults: Record<string, number>) =>
      fetch(`${server.url.replace(/\/$/, '')}/v1/sim/faults`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(faults),
      });
    await setFaults({ fault_rate: 1 });

    // One retry per call: most runs at 40% lose some call, so only the daemon's own
    // backoff-and-resume can converge.
    const client = new HttpControlPlane(server.url, {
      maxRetries: 1,
      minRetryDelayMs: 1,
      maxRetryDelayMs: 5,
    });
    const d = await startTestDaemon({
      repo,
      cp: client,
      // The retry backoff is capped at the poll interval: with 1h, a busy machine that needs
      // a dozen runs at 40% faults would wait minutes between the last ones.
      flags: { 'poll-interval': '3s' },
      logLevel: 'info',
      deps: { retryBaseMs: 40 },
    }).catch(async (err: unknown) => {
      await client.close();
      throw err;
    });
    cleanup.add(async () => {
      await d.stop();
      await client.close();
    });
    const { daemon } = d;
    const logs = () => d.logs.map((l) => JSON.parse(l) as Record<string, unknown>);

    const failures = () =>
      logs().filter((l) => l['result'] === 'failed' && /retrying in \d+s/.test(String(l['msg'])));
    await until('two failed runs, each scheduling a retry', async () => failures().length >= 2, {
      timeoutMs: 20_000,
      retryErrors: true,
    });
    expect(String(failures()[0]!['msg'])).toMatch(/transient failure 1 in a row/);
    expect(String(failures()[1]!['msg'])).toMatch(/transient failure 2 in a row/);
    expect(daemon.status().appliedCommit).toBeNull();

    await setFaults({ fault_rate: 0.4 });
    // Convergence is counted in runs, not waited for on a clock: each run resumes from the
    // live state where the last one stopped, and the backoff's delay between runs (asserted
    // above) only paces them. So the test requests the runs the retry timer would, one after
    // another (the timer may fire too: requests fold into one run). A whole apply of this
    // repository is 16 calls (measured), each failing only when both its tries fail
    // (0.4² = 0.16): even if no run kept any progress, one gets through with p ≥ 0.84^16 ≈ 0.06,
    // and 300 failing in a row has p < 1e-8. Typically 1 to 7 runs.
    let runs = 0;
    while (daemon.status().appliedCommit !== commit && runs < MAX_RUNS_AT_40_PERCENT) {
      await daemon.reconcile('retry');
      runs++;
    }
    expect(daemon.status().appliedCommit, `not converged after ${runs} runs`).toBe(commit);
    expect((await store.getQueue('batch')).run_concurrency).toBe(50);
    expect((await store.listClusters()).map((c) => c.name).sort()).toEqual([
      'prod-1',
      'prod-2',
      'prod-3',
      'prod-4',
    ]);
  });
});
