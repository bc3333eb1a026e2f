/**
 * `--inventory` for a control plane that keeps its own inventory (the embedded `file:` state):
 * the ConfigMap is never read nor written, and plan and apply say so, as an unused `--lock` is
 * said. In process, against a `file:` state.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runInProcess } from '../support/memory-io.js';
import { writeRepo } from '../support/repo.js';
import { tempFolder } from '../support/temp-folder.js';

const UNUSED =
  'is not used: this control plane keeps its own inventory, which every plan and apply of it reads.';

describe('--inventory on a control plane with its own inventory', () => {
  it('plan and apply say it is not used; state-dir and no flag say nothing', async () => {
    const root = tempFolder('poolsync-unused-inventory-');
    const repo = await writeRepo(join(root, 'repo'), {
      clusters: { c1: 'default' },
      queues: { web: { pool: 'default', clusters: ['c1'] } },
    });
    const cp = ['--control-plane', `file:${join(root, 'state.json')}`];
    const env = { HOME: root };
    const plan = await runInProcess(['plan', repo, ...cp, '--inventory', 'k8s:ns/inv'], env);
    expect(plan.stderr).toContain(`Warning: --inventory k8s:ns/inv ${UNUSED}\n`);
    const byEnv = await runInProcess(['plan', repo, ...cp], {
      ...env,
      POOLSYNC_INVENTORY: 'k8s:ns/inv',
    });
    expect(byEnv.stderr).toContain(`Warning: POOLSYNC_INVENTORY k8s:ns/inv ${UNUSED}\n`);
    const applied = await runInProcess(
      ['apply', repo, ...cp, '--auto-approve', '--inventory', 'k8s:ns/inv'],
      env,
    );
    expect(applied.code, applied.stderr).toBe(0);
    expect(applied.stderr).toContain(`Warning: --inventory k8s:ns/inv ${UNUSED}\n`);
    for (const given of [['--inventory', 'state-dir'], []]) {
      const quiet = await runInProcess(['plan', repo, ...cp, ...given], env);
      expect(quiet.stderr).not.toContain('is not used');
    }
  });
});
