/**
 * A daemon started over the state an earlier build wrote (docs/versioning.md, Every format and its
 * rule): 3851f967 (26 Nov 2026) recorded every address in inventory format 1, without the
 * repository that applied it, so an object the repository then removes under prune: true is left
 * unpruned. Until a person settles it, the daemon says so as `poolsync plan` does: never in sync,
 * its warning in /status and `poolsync status` run after run, not only in the run that found it.
 */
import { cpSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { status } from '../../src/cli/commands/daemon-client.js';
import { REPO_ROOT } from '../support/cli.js';
import { cleanup } from '../support/cleanup.js';
import { memoryIo } from '../support/memory-io.js';
import { startOwnTestDaemon } from './harness.js';
import { TestRepo, tempDir } from './helpers.js';

const EARLIER = join(REPO_ROOT, 'test', 'fixtures', 'compat', '3851f967');
const LEFT = 'Cluster/dev-europe-west4';
const WARNING = `1 object not in the repository was applied by an earlier poolsync whose inventory recorded no repository, so prune leaves it (another repository may have applied it): ${LEFT}. If this repository applied it, \`poolsync import ADDRESS\` adopts it and removing its manifest then deletes it; \`poolsync state forget ADDRESS\` leaves it alone for good (docs/versioning.md, Every format and its rule).`;

describe('an object a format-1 inventory recorded, removed from the repository under prune: true', () => {
  it('leaves every run not in sync, its warning in /status and `poolsync status`', async () => {
    const repo = new TestRepo();
    cleanup.add(() => repo.cleanup());
    cpSync(join(EARLIER, 'repo'), repo.work, { recursive: true });
    const config = join(repo.work, 'poolsync.yaml');
    writeFileSync(config, readFileSync(config, 'utf8').replace('prune: false', 'prune: true'));
    rmSync(join(repo.work, 'clusters', 'dev', 'dev-europe-west4.yaml'));
    repo.commit({}, 'prune, and the cluster removed');
    // The embedded state and its format-1 inventory, where the daemon's control plane is.
    const state = tempDir();
    for (const file of readdirSync(join(EARLIER, 'embedded')))
      cpSync(
        join(EARLIER, 'embedded', file),
        join(state, file.replace('control-plane.json', 'cp.json')),
      );
    const h = await startOwnTestDaemon({ repo, state, logLevel: 'silent' });
    cleanup.add(h.stop);
    await h.daemon.firstRun;
    const first = h.daemon.status();
    expect(first.lastRun).toMatchObject({
      result: 'left_unpruned',
      message: expect.stringContaining(
        `; the control plane does not match the repository. Warning: ${WARNING}`,
      ),
    });
    // Polls that find no new commit, then a run that plans again: the outcome and warning stay.
    await h.daemon.reconcile('poll');
    await h.daemon.reconcile('poll');
    expect(h.daemon.status().lastRun?.result).toBe('unchanged');
    for (const trigger of ['poll', 'drift'] as const) {
      if (trigger === 'drift') await h.daemon.reconcile('drift');
      const now = h.daemon.status();
      expect(now.outcome).toBe('left_unpruned');
      expect(now.warnings).toContainEqual({
        code: 'RECORDED_WITHOUT_REPOSITORY',
        address: LEFT,
        message: WARNING,
      });
      const io = memoryIo();
      expect(await status({ daemon: h.daemon.url, output: 'text', wait: true }, io)).toBe(0);
      expect(io.out()).toContain('Outcome: left unpruned\n');
      expect(io.out()).toContain(`Warning: ${WARNING}\n`);
      expect(io.out()).not.toContain('in sync');
    }
  });
});
