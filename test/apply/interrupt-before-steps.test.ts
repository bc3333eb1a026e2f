/**
 * Ctrl-C (SIGINT, SIGTERM) before apply's first step (a hand-tester's find): only the question
 * and the steps listened, so a signal while apply read, planned or waited for a lock, or between
 * the plan shown with --auto-approve and the first step, ended the process at once: exit 130,
 * nothing said, and a new `.poolsync/` state with capabilities none, its journal and both locks
 * left behind, which refused the next command asking `drain`. Now the apply is cancelled as at
 * the question (docs/apply.md#what-it-prints): one line, exit 130, locks let go, no record
 * written, a state it created removed. In process, the signal given when the apply says where it
 * is; test/apply/cli.test.ts sends a real one to a child process.
 */
import { mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { acquireApplyLock, lockPathFor } from '../../src/apply/lock.js';
import { main } from '../../src/cli/run.js';
import { applyRun } from '../../src/ops/apply-run.js';
import { HttpControlPlane } from '../../src/controlplane/rest/http-client.js';
import { readLiveState } from '../../src/controlplane/types.js';
import { exitOf, interruptedWhen, memoryIo } from '../support/memory-io.js';
import { tempDir, writeRepo } from '../support/repo.js';
import { servedControlPlane } from '../support/served-control-plane.js';

const CANCELLED = 'Error: Apply cancelled (Ctrl-C): nothing was applied.\n';
/** Said at once, before what the apply was doing ends. */
const RECEIVED =
  'Interrupt received (SIGINT): the apply stops before its first step, once what it is doing ends; SIGINT again exits at once.\n';

/** `poolsync apply REPO --auto-approve ARGS`; SIGINT once stdout or stderr holds `when`. */
async function applyInterruptedWhen(when: string, args: (root: string) => string[]) {
  const root = await tempDir();
  const repo = await writeRepo(join(root, 'repo'), {
    pools: ['prod'],
    clusters: { 'prod-1': 'prod' },
  });
  const argv = ['apply', repo, '--auto-approve', '--state-dir', join(root, 'st'), ...args(root)];
  return { ...(await interruptedWhen(when, argv)), root, repo };
}

describe('apply interrupted before its first step', () => {
  it('once the plan is shown (--auto-approve): cancelled, and the state it created is gone', async () => {
    const r = await applyInterruptedWhen('Plan: ', (root) => [
      '--control-plane',
      `file:${join(root, '.poolsync', 'control-plane.json')}`,
    ]);
    expect(r.sent).toBe(true);
    expect(r.err).toBe(RECEIVED + CANCELLED);
    expect(r.code).toBe(130);
    expect(r.out).not.toContain('Creating...');
    // No state, journal, lock or record: the folder it made is gone too.
    expect((await readdir(r.root)).sort()).toEqual(['repo']);
    const io = memoryIo();
    const url = `file:${join(r.root, '.poolsync', 'control-plane.json')}?capabilities=drain`;
    expect(await exitOf(io, main(['plan', r.repo, '--control-plane', url], io))).toBe(0);
  });

  it('against an HTTP control plane once the plan is shown: nothing sent, its lease and the lock file let go', async () => {
    const { server } = await servedControlPlane();
    const r = await applyInterruptedWhen('Plan: ', () => ['--control-plane', server.url]);
    expect(r.err).toBe(RECEIVED + CANCELLED);
    expect(r.code).toBe(130);
    const cp = new HttpControlPlane(server.url);
    expect((await readLiveState(cp)).pools.map((p) => p.name)).not.toContain('prod');
    expect(await cp.applyLock.getApplyLock()).toBeNull();
    expect(await readdir(join(r.root, 'st', 'locks'))).toEqual([]);
    await cp.close();
  });

  it('while it waits for a lock (--lock-timeout): cancelled at once, not at the end of the wait', async () => {
    const folder = join(await tempDir(), 'held');
    await mkdir(folder);
    const url = `file:${join(folder, 'cp.json')}`;
    // Held by this process (a second apply here is refused, as another's would be): waited for.
    const lock = await acquireApplyLock(lockPathFor(url));
    try {
      const args = ['--control-plane', url, '--lock-timeout', '1m'];
      const r = await applyInterruptedWhen('Waiting up to', () => args);
      expect(r.err).toMatch(/^Waiting up to \d+s \(--lock-timeout\) for the lock: .*\n/);
      expect(r.err.endsWith(RECEIVED + CANCELLED)).toBe(true);
      expect(r.code).toBe(130);
      expect(await readdir(folder)).toEqual(['cp.json.apply.lock']);
    } finally {
      await lock.release();
    }
  });

  it('after the records written ahead of the first step: the state, its inventory, the start mark and the folder it made go', async () => {
    const root = await tempDir();
    const repo = await writeRepo(join(root, 'repo'), { pools: ['prod'] });
    const cancel = new AbortController();
    const applied = applyRun(
      { kind: 'dir', path: repo, shape: {} },
      {
        locks: {
          kind: 'acquire',
          target: { name: null, url: `file:${join(root, '.poolsync', 'cp.json')}`, env: null },
          opening: { vars: {} },
          stateDir: join(root, 'st'),
          sharedInventory: null,
          lease: null,
          lockTimeoutMs: 0,
          parallelism: 1,
          maxRetries: 0,
        },
        cancelled: cancel.signal,
        stderr: () => {},
        // Ctrl-C at the next turn of the event loop: while the records are written (files).
        approve: async () => void setImmediate(() => cancel.abort(new Error('Ctrl-C'))),
        execute: () => Promise.reject(new Error('no step runs')),
      },
    );
    await expect(applied).rejects.toThrow('Ctrl-C');
    expect(await readdir(root)).toEqual(['repo']);
  });
});
