/**
 * A `--target` apply records only what exists or it may have made (a hand-tester's find): it
 * recorded every declared create of the repository, also those its target left out, so a pool
 * another client then made of such a name was taken as poolsync's without an `Adopts …` notice
 * and, once the repository dropped the name, deleted by prune (docs/apply.md, What apply
 * records). Both the direct `apply DIR --target` and a saved targeted plan; the CLI in process
 * against a served embedded control plane.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/run.js';
import { recordedAddresses } from '../../src/model/inventory.js';
import { poolContract } from '../support/builders.js';
import { exitOf, memoryIo } from '../support/memory-io.js';
import { tempDir, writeRepo } from '../support/repo.js';
import { servedControlPlane } from '../support/served-control-plane.js';

/** A served plane with nothing applied, and a repository declaring pools a and b. */
async function declaringTwoPools() {
  const { embedded, url } = await servedControlPlane();
  const root = await tempDir();
  const repo = await writeRepo(join(root, 'repo'), { prune: true, pools: ['a', 'b'] });
  const run = async (...argv: string[]) => {
    const io = memoryIo({ NO_COLOR: '1' });
    const on = ['--control-plane', url, '--state-dir', join(root, 'st')];
    const code = await exitOf(io, main([...argv, ...on], io));
    return { code, out: io.out(), err: io.err() };
  };
  const recorded = async () => {
    const record = await embedded.inventory.readInventory();
    return record ? recordedAddresses(record) : [];
  };
  return { embedded, root, repo, run, recorded };
}

describe('a --target apply records only what exists or it may have made', () => {
  it.each([
    ['apply DIR --target', false],
    ['a saved --target plan', true],
  ])(
    '%s: the create its target left out is not recorded; another client’s pool of that name is adopted visibly, never pruned',
    async (_, saved) => {
      const { embedded, root, repo, run, recorded } = await declaringTwoPools();
      // The write-ahead record, as it stands when the apply's only step, a's create, arrives.
      const aheadOfSteps: string[][] = [];
      const createPool = embedded.createPool.bind(embedded);
      embedded.createPool = async (name, contract) => {
        aheadOfSteps.push(await recorded());
        return createPool(name, contract);
      };
      if (saved) {
        const file = join(root, 'a.json');
        const planned = await run('plan', repo, '--target', 'ClusterPool/a', '--out', file);
        expect(planned.code, planned.err).toBe(0);
        const applied = await run('apply', file, '--auto-approve');
        expect(applied.code, applied.err).toBe(0);
      } else {
        const applied = await run('apply', repo, '--target', 'ClusterPool/a', '--auto-approve');
        expect(applied.code, applied.err).toBe(0);
      }
      expect((await embedded.listPools()).map((p) => p.name)).not.toContain('b');
      expect(aheadOfSteps).toEqual([['ClusterPool/a']]);
      expect(await recorded()).toEqual(['ClusterPool/a']);

      // Another client makes b: the next plan of the same repository says it adopts it.
      await embedded.createPool('b', poolContract('s3://bucket-b/data'));
      const plan = await run('plan', repo);
      expect(plan.code, plan.err).toBe(0);
      expect(plan.out).toContain('Adopts 1 object poolsync did not apply: ClusterPool/b.');

      // Dropped from the repository before any apply adopted it: prune leaves it alone.
      await writeRepo(repo, { prune: true, pools: ['a'] });
      const dropped = await run('plan', repo);
      expect(dropped.code, dropped.err).toBe(0);
      expect(dropped.out).not.toContain('ClusterPool/b  (delete)');
      expect(dropped.out).toContain('? ClusterPool/b  (unmanaged)');
    },
  );
});
