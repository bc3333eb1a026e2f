/**
 * Issue 23, item 5: limits and memory agree. A commit raising every limit of poolsync.yaml to
 * its ceiling and holding 120,000 small documents ran `validate`, `plan` and a daemon capped at
 * the Docker image's 256 MB heap out of memory (exit 134, a crash loop). The loader now keeps a
 * budget of the process's heap (src/manifests/limits.ts heapBudget) and refuses such a commit with
 * LIMIT before running out: the CLI exits 1 with the message; the daemon, in a child process
 * with the image's heap cap, reports the commit invalid, keeps serving /status and the last
 * good state, and applies the next good commit. Real bare Git repositories, real processes.
 */
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cleanup } from '../support/cleanup.js';
import { startDaemonProcess, status } from './daemon-process.js';
import { until } from '../support/until.js';
import { manifests } from './fixtures.js';
import { TestRepo, tempDir } from './helpers.js';
import { stopsWithThisProcess } from '../support/stops-with-this-process.js';

const ROOT = resolve(__dirname, '../..');

/** Every limit at its ceiling, and 120,000 valid queues in 40 files of 3,000 (~13 MB of YAML). */
function hugeCommit(): Record<string, string> {
  const files: Record<string, string> = {
    'poolsync.yaml': [
      'apiVersion: poolsync/v1',
      'kind: RepoConfig',
      'prune: true',
      'limits:',
      '  file_bytes: 67108864',
      '  document_bytes: 67108864',
      '  documents: 1000000',
      '',
    ].join('\n'),
  };
  for (let f = 0; f < 40; f++) {
    const docs: string[] = [];
    for (let i = 0; i < 3000; i++) {
      docs.push(
        `---\napiVersion: poolsync/v1\nkind: Queue\nmetadata:\n  name: q-${f}-${i}\nspec:\n  pool: prod\n  clusters: ["*"]\n  run_concurrency: 5\n  action_concurrency: 50\n`,
      );
    }
    files[`queues/many-${String(f).padStart(2, '0')}.yaml`] = docs.join('');
  }
  return files;
}

function runCli(args: string[], heapMb: number): Promise<{ code: number | null; out: string }> {
  const child = spawn(
    process.execPath,
    [
      `--max-old-space-size=${heapMb}`,
      '--import',
      'tsx',
      resolve(ROOT, 'src/cli/main.ts'),
      ...args,
    ],
    {
      cwd: ROOT,
      env: process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  stopsWithThisProcess(child, 'SIGKILL');
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (out += c.toString()));
  return new Promise((r) => child.on('exit', (code) => r({ code, out })));
}

describe('limits and memory agree (issue 23, item 5)', () => {
  it('a commit at every ceiling with 120,000 documents is refused with LIMIT by a 256 MB daemon, which keeps serving the last good state', async () => {
    const repo = new TestRepo();
    cleanup.add(() => repo.cleanup());
    const good = repo.commit(manifests());
    const state = tempDir();
    const daemon = await startDaemonProcess(repo.bare, state, 256);
    cleanup.add(daemon.kill);
    const { url, reconcile } = daemon;
    await until('the good commit applied', async () => (await status(url)).appliedCommit === good, {
      timeoutMs: 60_000,
      retryErrors: true,
    });

    const bad = repo.commit(hugeCommit(), 'every limit at its ceiling, 120,000 documents');
    expect((await reconcile()).status).toBe(200);
    const st = await status(url);
    expect(st).toMatchObject({ outcome: 'invalid', commit: bad, appliedCommit: good });
    const limit = st.errors.filter((e) => e.code === 'LIMIT');
    expect(limit).toHaveLength(1);
    expect(limit[0]!.location).toMatch(/^queues\/many-\d\d\.yaml:1:1$/);
    expect(limit[0]!.message).toMatch(
      /needs about [\d,]+ MB of memory to validate and plan, more than this process's heap allows/,
    );
    // Still alive and answering, with the last good state on the control plane.
    expect(daemon.child.exitCode).toBeNull();
    expect((await fetch(`${url}/healthz`)).status).toBeLessThan(500);
    expect((await status(url)).summary).toBeNull();

    const fixed = repo.commit({
      ...Object.fromEntries(Object.keys(hugeCommit()).map((k) => [k, null])),
      ...manifests({ batchRunConcurrency: 7 }),
    });
    await reconcile();
    expect(await status(url)).toMatchObject({ outcome: 'applied', appliedCommit: fixed });
    daemon.child.kill('SIGTERM');
    expect(await daemon.exited).toBe(0);
  }, 180_000);

  it('`validate` with a 128 MB heap exits 1 with the LIMIT error instead of running out of memory', async () => {
    const repo = new TestRepo();
    cleanup.add(() => repo.cleanup());
    repo.commit({ ...manifests(), ...hugeCommit() });
    const { code, out } = await runCli(['validate', repo.work], 128);
    expect(out).toMatch(/queues\/many-\d\d\.yaml:1:1: LIMIT the repository's YAML up to this file/);
    expect(code).toBe(1);
  }, 120_000);
});
