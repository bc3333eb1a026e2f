/**
 * What `apply PLANFILE` records and what `show` counts are held to the file's changes and the
 * inventory as it is now, never taken from a file whose unkeyed seal was made again after an
 * edit (docs/plan.md, Sealed plan files): its repository, marks, declared addresses and summary.
 * The example repository, the CLI in process, an embedded control plane.
 */
import { cpSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EmbeddedControlPlane } from '../../src/controlplane/embedded/embedded.js';
import type { Plan } from '../../src/model/plan.js';
import { runInProcess } from '../support/memory-io.js';
import { tempFolder } from '../support/temp-folder.js';
import { resealed } from '../support/resealed.js';

const EXAMPLE = join(import.meta.dirname, '../../examples/config-repo');
const PRUNE = 'apiVersion: poolsync/v1\nkind: RepoConfig\nprune: true\nignore:\n  - drafts/**\n';

/** The example applied to a `file:` control plane of its own, and `poolsync` against it. */
async function appliedExample(prefix: string, config = PRUNE) {
  const root = tempFolder(prefix);
  const repo = join(root, 'repo');
  cpSync(EXAMPLE, repo, { recursive: true });
  writeFileSync(join(repo, 'poolsync.yaml'), config);
  const cp = `file:${join(root, 'cp.json')}`;
  const state = join(root, 'state');
  const run = (...args: string[]) =>
    runInProcess(args[0] === 'show' ? args : [...args, '--state-dir', state], {});
  const applied = await run('apply', repo, '--control-plane', cp, '--auto-approve');
  expect(applied.code, applied.stderr).toBe(0);
  const saved = join(root, 'p.json');
  const plan = async () => {
    const planned = await run('plan', repo, '--control-plane', cp, '--out', saved);
    expect(planned.code, planned.stderr).toBe(0);
  };
  return { root, repo, cp, run, saved, plan };
}

async function clusterNames(root: string): Promise<string[]> {
  const cp = await EmbeddedControlPlane.open({ path: join(root, 'cp.json'), readOnly: true });
  try {
    return (await cp.listClusters()).map((c) => c.name);
  } finally {
    await cp.close();
  }
}

const inventoryOf = (root: string) =>
  JSON.parse(readFileSync(join(root, 'cp.json.inventory.json'), 'utf8')) as {
    prevent_destroy?: string[];
    repositories?: Record<string, string[]>;
  };

const setting = (spec: string, field: string, value: string) =>
  spec.replace(new RegExp(`^(  ${field}:).*$`, 'm'), `$1 ${value}`);

/** A change of the batch queue's run_concurrency: a plan with one update step. */
function updateBatch(repo: string): void {
  const batch = join(repo, 'queues/prod/batch.yaml');
  writeFileSync(batch, setting(readFileSync(batch, 'utf8'), 'run_concurrency', '301'));
}

describe(
  'a saved plan edited beyond its steps, its unkeyed seal made again',
  { timeout: 300_000 },
  () => {
    it('a repository name edited to escape the recorded destroy budget is refused: the clusters it deletes were applied by another', async () => {
      const { root, repo, cp, run } = await appliedExample(
        'poolsync-planinv-budget-',
        `${PRUNE}guardrails: {max_destroy: 1}\n`,
      );
      rmSync(join(repo, 'clusters/dev/dev-europe-west4.yaml'));
      rmSync(join(repo, 'clusters/dev/dev-us-central1.yaml'));
      const planned = await run('plan', repo, '--control-plane', cp, '--output', 'json');
      expect(planned.code, planned.stderr).toBe(1);
      const edited = join(root, 'p5e.json');
      writeFileSync(edited, planned.stdout);
      resealed(edited, (d) => {
        d.errors = [];
        delete d.inventory!.guardrails;
        d.inventory!.repository = 'github.com/other/repo';
      });
      const apply = await run('apply', edited, '--control-plane', cp, '--auto-approve');
      expect(apply.code, apply.stdout).toBe(1);
      expect(apply.stderr).toContain(
        `${edited} is refused: its inventory names github.com/other/repo as the repository, but the inventory records Cluster/`,
      );
      expect(apply.stderr).toContain(`, which it declares, as applied by ${repo}:`);
      expect(apply.stderr).toContain('Nothing was applied');
      expect(await clusterNames(root)).toEqual(
        expect.arrayContaining(['dev-europe-west4', 'dev-us-central1']),
      );
    });

    it('a prevent-destroy mark taken out of the inventory section is kept by the apply', async () => {
      const { root, repo, run, cp, saved, plan } = await appliedExample('poolsync-planinv-mark-');
      const file = join(repo, 'clusters/dev/dev-us-central1.yaml');
      const manifest = readFileSync(file, 'utf8');
      writeFileSync(
        file,
        manifest.replace(
          /^metadata:\n/m,
          'metadata:\n  annotations:\n    poolsync/prevent-destroy: "true"\n',
        ),
      );
      const marked = await run('apply', repo, '--control-plane', cp, '--auto-approve');
      expect(marked.code, marked.stderr).toBe(0);
      expect(inventoryOf(root).prevent_destroy).toContain('Cluster/dev-us-central1');
      updateBatch(repo);
      await plan();
      resealed(saved, (d) => {
        const marks = d.inventory!.prevent_destroy!;
        d.inventory!.prevent_destroy = marks.filter((a) => a !== 'Cluster/dev-us-central1');
      });
      const apply = await run('apply', saved, '--control-plane', cp, '--auto-approve');
      expect(apply.code, apply.stderr).toBe(0);
      expect(inventoryOf(root).prevent_destroy).toContain('Cluster/dev-us-central1');
      // So removing its manifest is still refused.
      rmSync(file);
      const deleting = await run('plan', repo, '--control-plane', cp);
      expect(deleting.code).toBe(1);
      expect(deleting.stdout + deleting.stderr).toContain('PREVENT_DESTROY');
    });

    it("another client's object pushed into the declared addresses is refused, never made poolsync's to prune", async () => {
      const { root, repo, run, cp, saved, plan } = await appliedExample('poolsync-planinv-victim-');
      const other = await EmbeddedControlPlane.open({ path: join(root, 'cp.json') });
      try {
        await other.registerCluster({ name: 'victim', pool: 'prod' });
      } finally {
        await other.close();
      }
      updateBatch(repo);
      await plan();
      resealed(saved, (d) => {
        d.inventory!.declared = [...d.inventory!.declared, 'Cluster/victim'].sort();
      });
      const apply = await run('apply', saved, '--control-plane', cp, '--auto-approve');
      expect(apply.code, apply.stdout).toBe(1);
      expect(apply.stderr).toContain(
        `${saved} is refused: its inventory.adopts is null, but the inventory now gives ["Cluster/victim"] (Cluster/victim)`,
      );
      const after = await run('plan', repo, '--control-plane', cp, '--output', 'json');
      const next = JSON.parse(after.stdout) as Plan;
      expect(next.changes.find((c) => c.address === 'Cluster/victim')?.action).not.toBe('delete');
      expect(await clusterNames(root)).toContain('victim');
    });

    it('a summary edited to read "No changes" is refused by show and apply; the deleting plan as written shows its delete', async () => {
      const { root, repo, run, cp, saved, plan } = await appliedExample(
        'poolsync-planinv-summary-',
      );
      rmSync(join(repo, 'clusters/dev/dev-europe-west4.yaml'));
      await plan();
      expect((await run('show', saved)).stdout).toContain('1 to delete');
      resealed(saved, (d) => {
        d.summary.delete = 0;
        d.summary.noop += 1;
      });
      const refusal = `${saved} is refused: its summary says 0 delete, but its changes show 1`;
      for (const args of [
        ['show', saved],
        ['show', saved, '--output', 'markdown'],
      ]) {
        const show = await run(...args);
        expect([show.code, show.stdout]).toEqual([1, '']);
        expect(show.stderr).toContain(refusal);
      }
      const apply = await run('apply', saved, '--control-plane', cp, '--auto-approve');
      expect(apply.code).toBe(1);
      expect(apply.stderr).toContain(refusal);
      expect(await clusterNames(root)).toContain('dev-europe-west4');
    });

    it('a step given twice, by its id or as another step making the same call, is refused', async () => {
      const { root, repo, run, cp, saved, plan } = await appliedExample('poolsync-planinv-twice-');
      updateBatch(repo);
      await plan();
      const original = readFileSync(saved, 'utf8');
      const edits: [string, (d: Plan) => void, string][] = [
        [
          'the same id',
          (d) => void d.steps.push({ ...d.steps[0]! }),
          'step id s1 is given to two steps',
        ],
        [
          'another id',
          (d) => void d.steps.push({ ...d.steps[0]!, id: 's2', depends_on: ['s1'] }),
          'step s2 (update_queue Queue/batch) makes the same call as an earlier step',
        ],
      ];
      for (const [what, edit, refusal] of edits) {
        writeFileSync(saved, original);
        resealed(saved, edit);
        const apply = await run('apply', saved, '--control-plane', cp, '--auto-approve');
        expect(apply.code, what).toBe(1);
        expect(apply.stderr, what).toContain(`${saved} is refused: ${refusal}`);
      }
      const live = await EmbeddedControlPlane.open({ path: join(root, 'cp.json'), readOnly: true });
      expect((await live.getQueue('batch')).run_concurrency).toBe(300);
      await live.close();
    });
  },
);

describe('an adopting saved plan applied a second time', { timeout: 300_000 }, () => {
  it.each([
    ['adopting only', false],
    ['adopting and updating', true],
  ])('%s: refused as already applied, nothing listed as changed by another', async (_, update) => {
    const { root, repo, run, cp, saved, plan } = await appliedExample('poolsync-planinv-adopt-');
    // Applied by a poolsync whose inventory is gone: each declared object is adopted again.
    rmSync(join(root, 'cp.json.inventory.json'));
    if (update) updateBatch(repo);
    await plan();
    const doc = JSON.parse(readFileSync(saved, 'utf8')) as Plan;
    expect(doc.inventory!.adopts!.length).toBeGreaterThan(3);
    expect(doc.steps.length).toBe(update ? 1 : 0);
    const first = await run('apply', saved, '--control-plane', cp, '--auto-approve');
    expect(first.code, first.stderr).toBe(0);
    const again = await run('apply', saved, '--control-plane', cp, '--auto-approve');
    expect(again.code).toBe(1);
    expect(again.stderr).toContain(`stale plan: ${saved} was already applied`);
    expect(again.stderr).toMatch(
      /poolsync's inventory records (them and )?the \d+ objects it adopts, and nothing else changed/,
    );
    expect(again.stderr).not.toContain('did not finish');
    expect(again.stderr).not.toContain('another apply');
  });
});
