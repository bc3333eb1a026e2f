/**
 * A watched folder without a Git remote is named by its path (docs/plan.md, Which repository):
 * moved, what it applied is another repository's (REPOSITORY_CONFLICT). A commit changing such
 * an object is blocked, and the daemon's run says it was not applied, never `in sync`, naming
 * the setting that keeps the old name; with it, the change applies. Given a Git remote where it
 * is, what it applied under its path is its own, recorded under the remote's name. In process: the daemon on a
 * folder (--watch), an embedded control plane in memory shared by both daemons.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, realpathSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EmbeddedControlPlane } from '../../src/controlplane/embedded/embedded.js';
import { cleanup } from '../support/cleanup.js';
import { manifests } from './fixtures.js';
import { startTestDaemon } from './harness.js';
import { tempDir } from './helpers.js';

function writeFolder(dir: string, files: Record<string, string>): void {
  rmSync(dir, { recursive: true, force: true });
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
}

async function watching(folder: string, cp: EmbeddedControlPlane, state: string) {
  const h = await startTestDaemon({
    cp,
    flags: { watch: folder, 'watch-debounce': '1h', policy: 'all' },
    logLevel: 'silent',
    state,
  });
  cleanup.add(h.stop);
  await h.daemon.firstRun;
  return h;
}

const batchRunConcurrency = async (cp: EmbeddedControlPlane) =>
  (await cp.listQueues()).find((q) => q.name === 'batch')?.run_concurrency;

describe('a watched folder moved after its apply', { timeout: 120_000 }, () => {
  it('a commit changing what it applied under the old path fails as not applied, never in sync, other steps or not; repository: applies it', async () => {
    const three = ['prod-1', 'prod-2', 'prod-3'];
    const root = tempDir();
    const before = join(root, 'mv1');
    const after = join(root, 'mv2');
    writeFolder(before, manifests());
    const cp = await EmbeddedControlPlane.open({ path: null });
    cleanup.add(() => cp.close());
    const first = await watching(before, cp, join(root, 'state-1'));
    expect(first.daemon.status().lastRun!.result).toBe('applied');
    const old = realpathSync(before);
    await first.stop();

    // Moved as it is: every object the old path's, a warning only, in sync.
    renameSync(before, after);
    const h = await watching(after, cp, join(root, 'state-2'));
    expect(h.daemon.status().lastRun!.result).toBe('in_sync');

    writeFolder(after, manifests({ batchRunConcurrency: 75 }));
    await h.daemon.reconcile('watch');
    const s = h.daemon.status();
    expect(s.lastRun!.result).toBe('failed');
    expect(s.lastRun!.message).toMatch(/^not applied: 1 change blocked \(Queue\/batch\)\. /);
    expect(s.lastRun!.message).toContain(
      `If this folder was moved from ${old} (without a Git remote, a folder is named by its path), set \`repository: ${old}\` in poolsync.yaml`,
    );
    expect(s.outcome).toBe('failed');
    expect(await batchRunConcurrency(cp)).toBe(50);

    // With a step of its own beside it the commit is no more applied: the same result and words.
    writeFolder(after, manifests({ batchRunConcurrency: 75, clusters: three }));
    await h.daemon.reconcile('watch');
    const mixed = h.daemon.status().lastRun!;
    expect(mixed.result).toBe('failed');
    expect(mixed.message).toBe(
      `applied: 1 created, 0 updated, 0 replaced, 0 deleted; 1 blocked; 1 side effect (made by the control plane); ${s.lastRun!.message}`,
    );
    expect((await cp.listClusters()).map((c) => c.name)).toContain('prod-3');
    expect(await batchRunConcurrency(cp)).toBe(50);

    const files = manifests({ batchRunConcurrency: 75, clusters: three });
    files['poolsync.yaml'] += `repository: ${old}\n`;
    writeFolder(after, files);
    await h.daemon.reconcile('watch');
    expect(h.daemon.status().lastRun!.result).toBe('applied');
    expect(await batchRunConcurrency(cp)).toBe(75);
  });

  it('a Git remote added to the folder where it is: what it applied under its path is its own, recorded under the remote', async () => {
    const root = tempDir();
    const folder = join(root, 'pools');
    writeFolder(folder, manifests());
    const cp = await EmbeddedControlPlane.open({ path: null });
    cleanup.add(() => cp.close());
    const first = await watching(folder, cp, join(root, 'state-1'));
    expect(first.daemon.status().lastRun!.result).toBe('applied');
    await first.stop();
    const path = realpathSync(folder);
    const recorded = async () => Object.keys((await cp.inventory.readInventory())!.repositories!);
    expect(await recorded()).toEqual([path]);

    execFileSync('git', ['-C', folder, 'init', '-q']);
    execFileSync('git', ['-C', folder, 'remote', 'add', 'origin', 'git@github.com:acme/pools.git']);
    const h = await watching(folder, cp, join(root, 'state-2'));
    // Said alone, as /status and history show it: both names, no warning to point at.
    expect(h.daemon.status().lastRun).toMatchObject({
      result: 'in_sync',
      message: `in sync: nothing was sent to the control plane, but the apply recorded what was recorded under ${path} (the folder's path, its name before a Git remote named it) under that remote's name, github.com/acme/pools`,
    });
    expect(await recorded()).toEqual(['github.com/acme/pools']);

    // Written over, not replaced: the folder keeps its .git.
    for (const [file, text] of Object.entries(manifests({ batchRunConcurrency: 75 })))
      writeFileSync(join(folder, file), text);
    await h.daemon.reconcile('watch');
    expect(h.daemon.status().lastRun!.result).toBe('applied');
    expect(await batchRunConcurrency(cp)).toBe(75);
  });
});
