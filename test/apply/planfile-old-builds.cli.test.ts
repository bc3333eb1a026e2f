/**
 * Saved plans earlier builds wrote apply under this one as its own rules allow, or are refused
 * before the first step (docs/versioning.md: a plan file written by 1.2 applies with 1.3): the
 * files and control planes test/fixtures/old-plans/ holds, the CLI in process.
 */
import { cpSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EmbeddedControlPlane } from '../../src/controlplane/embedded/embedded.js';
import { runInProcess } from '../support/memory-io.js';
import { resealed } from '../support/resealed.js';
import { tempFolder } from '../support/temp-folder.js';

const FIXTURES = join(import.meta.dirname, '../fixtures/old-plans');

/** The fixture's control plane in a folder of its own, its plan moved to it (README.md there). */
function placed(fixture: string) {
  const root = tempFolder('poolsync-old-plans-');
  cpSync(join(FIXTURES, fixture, 'cp'), join(root, 'cp'), { recursive: true });
  const saved = join(root, 'plan.json');
  cpSync(join(FIXTURES, fixture, 'plan.json'), saved);
  const cp = `file:${join(root, 'cp', 'state.json')}`;
  resealed(saved, (doc) => void (doc.control_plane!.endpoint = cp));
  const state = join(root, 'state');
  const run = (...args: string[]) =>
    runInProcess(args[0] === 'show' ? args : [...args, '--state-dir', state], {});
  return { root, saved, cp, run };
}

async function liveOf(root: string) {
  const cp = await EmbeddedControlPlane.open({
    path: join(root, 'cp', 'state.json'),
    readOnly: true,
  });
  try {
    const queues = await cp.listQueues();
    const clusters = await cp.listClusters();
    return {
      clusters: clusters.map((c) => c.name),
      queues: Object.fromEntries(queues.map((q) => [q.name, q.clusters])),
    };
  } finally {
    await cp.close();
  }
}

describe('a saved --target plan deleting a cluster', { timeout: 120_000 }, () => {
  it('written on 29 Nov (no routing it read kept) applies whole: the `*` queues routing there now were there when it was made (C9)', async () => {
    const { root, saved, cp, run } = placed('targeted-delete-aff8599a');
    const before = await liveOf(root);
    expect(before.queues.batch).toEqual(['*']);
    const applied = await run('apply', saved, '--control-plane', cp, '--auto-approve');
    expect([applied.code, applied.stderr]).toEqual([0, '']);
    expect(applied.stdout).toContain('Apply complete: 0 created, 1 updated, 0 replaced, 1 deleted');
    const after = await liveOf(root);
    expect(after.clusters).not.toContain('prod-us-west-2');
    expect(after.queues.critical).toEqual(['prod-us-east-1']);
    expect(after.queues.batch).toEqual(['*']);
  });

  it('written on 27 Nov (inventory format 1) is refused before the first step: no repository prunes the cluster', async () => {
    const { root, saved, cp, run } = placed('targeted-delete-62beced8');
    const before = await liveOf(root);
    const applied = await run('apply', saved, '--control-plane', cp, '--auto-approve');
    expect([applied.code, applied.stdout]).toEqual([1, '']);
    expect(applied.stderr).toContain(
      `Error: ${saved} is refused: it deletes Cluster/prod-us-west-2, which an earlier poolsync recorded in the inventory without a repository (format 1), and no repository prunes those (docs/plan.md, Prune scope). Nothing was applied; run \`poolsync plan\` again`,
    );
    expect(await liveOf(root)).toEqual(before);
  });
});

describe("a 27 Nov saved plan deleting another repository's queue", { timeout: 120_000 }, () => {
  it('show prints the prune scope it was made under and that apply refuses the delete; apply refuses it, sending nothing', async () => {
    const { root, saved, cp, run } = placed('other-repository-62beced8');
    const shown = await run('show', saved);
    expect([shown.code, shown.stderr]).toEqual([0, '']);
    expect(shown.stdout).toContain(
      'Prune scope: what poolsync applied (its inventory); other live objects are never deleted.',
    );
    expect(shown.stdout).not.toContain('what this repository applied');
    expect(shown.stdout).toContain(
      '`poolsync apply` refuses it if it deletes what the inventory records (Queue/qb)',
    );
    const before = await liveOf(root);
    expect(Object.keys(before.queues)).toContain('qb');
    const applied = await run('apply', saved, '--control-plane', cp, '--auto-approve');
    expect([applied.code, applied.stdout]).toEqual([1, '']);
    expect(applied.stderr).toMatch(
      /is refused: it deletes Queue\/qb, which an earlier poolsync recorded in the inventory without a repository \(format 1\), and no repository prunes those .*Nothing was applied/,
    );
    expect(await liveOf(root)).toEqual(before);
  });
});
