/**
 * A saved plan's queue move, undelete and declared addresses are held to its changes, never
 * taken from a file whose unkeyed seal was made again after an edit (docs/plan.md, Sealed plan
 * files): a move's drain, wait and activation, an undeleted queue's update before it takes work,
 * and no address declared that the changes show as another client's. The example repository
 * with prune and every queue capability, the CLI in process, an embedded control plane.
 */
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EmbeddedControlPlane } from '../../src/controlplane/embedded/embedded.js';
import type { Plan } from '../../src/model/plan.js';
import { runInProcess } from '../support/memory-io.js';
import { tempFolder } from '../support/temp-folder.js';
import { resealed } from '../support/resealed.js';

const EXAMPLE = join(import.meta.dirname, '../../examples/config-repo');
const CAPABILITIES = 'drain,queue_delete,queue_move,soft_delete';

/** The example, pruning, applied to a `file:` control plane of its own; `poolsync` against it. */
async function appliedExample(prefix: string) {
  const root = tempFolder(prefix);
  const repo = join(root, 'repo');
  cpSync(EXAMPLE, repo, { recursive: true });
  const config = join(repo, 'poolsync.yaml');
  writeFileSync(config, readFileSync(config, 'utf8').replace(/^prune: false$/m, 'prune: true'));
  const cp = `file:${join(root, 'cp.json')}?capabilities=${CAPABILITIES}`;
  const state = join(root, 'state');
  const run = (...args: string[]) =>
    runInProcess(args[0] === 'show' ? args : [...args, '--state-dir', state], {});
  const apply = async () => {
    const applied = await run('apply', repo, '--control-plane', cp, '--auto-approve');
    expect(applied.code, applied.stderr).toBe(0);
  };
  await apply();
  const saved = join(root, 'p.json');
  const plan = async () => {
    const planned = await run('plan', repo, '--control-plane', cp, '--out', saved);
    expect(planned.code, planned.stderr).toBe(0);
    return readFileSync(saved, 'utf8');
  };
  return { root, repo, cp, run, apply, saved, plan };
}

async function withControlPlane<T>(root: string, read: (cp: EmbeddedControlPlane) => Promise<T>) {
  const cp = await EmbeddedControlPlane.open({ path: join(root, 'cp.json') });
  try {
    return await read(cp);
  } finally {
    await cp.close();
  }
}

const lines = (doc: Plan) =>
  doc.steps.map((s) => `${s.id} ${s.op} ${s.target} after ${s.depends_on.join(',')}`);

/** Each edit refused by apply (and `show`, unless it needs the inventory) with its message. */
async function refusesEach(
  x: Awaited<ReturnType<typeof appliedExample>>,
  original: string,
  edits: [string, (doc: Plan) => void, RegExp][],
  byShow = true,
) {
  for (const [what, edit, refusal] of edits) {
    writeFileSync(x.saved, original);
    resealed(x.saved, edit);
    if (byShow) {
      const show = await x.run('show', x.saved);
      expect([show.code, show.stdout], what).toEqual([1, '']);
      expect(show.stderr, what).toMatch(refusal);
    }
    const apply = await x.run('apply', x.saved, '--control-plane', x.cp, '--auto-approve');
    expect(apply.code, what).toBe(1);
    expect(apply.stderr, what).toMatch(refusal);
    expect(apply.stderr, what).not.toContain('Apply complete');
  }
  writeFileSync(x.saved, original);
}

const RESEARCH = 'queues/research/research.yaml';

describe(
  'a saved plan of queue lifecycle steps edited under a recomputed seal',
  { timeout: 300_000 },
  () => {
    it("a queue move's activation, or its drain, wait and activation, dropped are refused; the file as written moves and activates it", async () => {
      const x = await appliedExample('poolsync-planfile-move-');
      const file = join(x.repo, RESEARCH);
      const moved = readFileSync(file, 'utf8').replace(
        /(name: notebooks\nspec:\n {2}pool:) research/,
        '$1 dev',
      );
      writeFileSync(file, moved);
      const original = await x.plan();
      expect(lines(JSON.parse(original) as Plan)).toEqual([
        's1 drain_queue Queue/notebooks after ',
        's2 wait_drained Queue/notebooks after s1',
        's3 move_queue Queue/notebooks after s2',
        's4 activate_queue Queue/notebooks after s1,s3',
      ]);
      await refusesEach(x, original, [
        [
          'the activation dropped (left DRAINED in its new pool)',
          (d) => void d.steps.splice(3, 1),
          /the change of Queue\/notebooks \(update\) has no step that activates it/,
        ],
        [
          'the drain, its wait and the activation dropped (the control plane refuses the move, Q3)',
          (d) => {
            d.steps = d.steps.filter((s) => s.op === 'move_queue');
            d.steps[0]!.depends_on = [];
          },
          /the change of Queue\/notebooks \(update\) has no step that drains it/,
        ],
        [
          'the wait dropped',
          (d) => {
            d.steps.splice(1, 1);
            d.steps[1]!.depends_on = ['s1'];
          },
          /the change of Queue\/notebooks \(update\) has no step that waits until it is DRAINED/,
        ],
      ]);
      const before = await withControlPlane(x.root, (cp) => cp.getQueue('notebooks'));
      expect([before.pool, before.state ?? 'active']).toEqual(['research', 'active']);

      const apply = await x.run('apply', x.saved, '--control-plane', x.cp, '--auto-approve');
      expect(apply.code, apply.stderr).toBe(0);
      const after = await withControlPlane(x.root, (cp) => cp.getQueue('notebooks'));
      expect([after.pool, after.state ?? 'active']).toEqual(['dev', 'active']);
    });

    it("an undeleted queue's update dropped, or its activation no longer after the update, is refused; the file as written sends the new spec", async () => {
      const x = await appliedExample('poolsync-planfile-undelete-');
      const file = join(x.repo, RESEARCH);
      const declared = readFileSync(file, 'utf8');
      writeFileSync(file, declared.split('---')[0]!);
      await x.apply();
      writeFileSync(file, declared.replace('run_concurrency: 30', 'run_concurrency: 31'));
      const original = await x.plan();
      expect(lines(JSON.parse(original) as Plan)).toEqual([
        's1 undelete_queue Queue/notebooks after ',
        's2 update_queue Queue/notebooks after s1',
        's3 activate_queue Queue/notebooks after s1,s2',
      ]);
      await refusesEach(x, original, [
        [
          'the update dropped (reported created with its old spec)',
          (d) => {
            d.steps.splice(1, 1);
            d.steps[1]!.depends_on = ['s1'];
          },
          /the change of Queue\/notebooks \(create\) has no step that sends the fields its diff changes/,
        ],
        [
          'the activation before the update (work taken with the old spec)',
          (d) => void (d.steps[2]!.depends_on = ['s1']),
          /step s3 \(activate_queue Queue\/notebooks\) does not wait for step s2 \(update_queue Queue\/notebooks\), which its changes put first/,
        ],
      ]);
      const gone = await withControlPlane(x.root, (cp) =>
        cp.getQueue('notebooks').catch(() => null),
      );
      expect(gone).toBeNull();

      const apply = await x.run('apply', x.saved, '--control-plane', x.cp, '--auto-approve');
      expect(apply.code, apply.stderr).toBe(0);
      const back = await withControlPlane(x.root, (cp) => cp.getQueue('notebooks'));
      expect([back.run_concurrency, back.state ?? 'active']).toEqual([31, 'active']);
    });

    it("another client's queue the plan lists as unmanaged, declared and adopted by an edit, is refused by apply; it stays unrecorded", async () => {
      const x = await appliedExample('poolsync-planfile-declared-');
      await withControlPlane(x.root, (cp) =>
        cp.createQueue({ name: 'foreign', run_concurrency: 1, action_concurrency: 1 }),
      );
      const original = await x.plan();
      const foreign = (JSON.parse(original) as Plan).changes.find(
        (c) => c.address === 'Queue/foreign',
      );
      expect(foreign?.action).toBe('unmanaged');
      const add = (list: string[] | undefined) => [...(list ?? []), 'Queue/foreign'].sort();
      await refusesEach(
        x,
        original,
        [
          [
            'declared and adopted',
            (d) => {
              d.inventory!.declared = add(d.inventory!.declared);
              d.inventory!.adopts = add(d.inventory!.adopts);
            },
            /its inventory declares Queue\/foreign, but its changes show it as no object of the repository and the inventory does not record it as .*'s/,
          ],
        ],
        false,
      );
      const inventory = readFileSync(join(x.root, 'cp.json.inventory.json'), 'utf8');
      expect(inventory).not.toContain('Queue/foreign');
    });

    it("another client's queue declared and adopted by an edit of a --target plan, which shows no change of it, is refused; unedited it applies and the queue is never pruned", async () => {
      const x = await appliedExample('poolsync-planfile-target-declared-');
      await withControlPlane(x.root, (cp) =>
        cp.createQueue({ name: 'foreign', run_concurrency: 1, action_concurrency: 1 }),
      );
      const file = join(x.repo, RESEARCH);
      writeFileSync(
        file,
        readFileSync(file, 'utf8').replace('run_concurrency: 30', 'run_concurrency: 31'),
      );
      const targeted = await x.run(
        'plan',
        x.repo,
        '--control-plane',
        x.cp,
        '--target',
        'Queue/notebooks',
        '--out',
        x.saved,
      );
      expect(targeted.code, targeted.stderr).toBe(0);
      const original = readFileSync(x.saved, 'utf8');
      const doc = JSON.parse(original) as Plan;
      expect(doc.changes.map((c) => c.address)).toEqual(['Queue/notebooks']);
      const add = (list: string[] | undefined) => [...(list ?? []), 'Queue/foreign'].sort();
      await refusesEach(
        x,
        original,
        [
          [
            'declared and adopted',
            (d) => {
              d.inventory!.declared = add(d.inventory!.declared);
              d.inventory!.adopts = add(d.inventory!.adopts);
            },
            /its inventory declares Queue\/foreign, which it adopts, but no change of this --target plan shows it: a targeted plan adopts only what its changes show/,
          ],
        ],
        false,
      );
      const apply = await x.run('apply', x.saved, '--control-plane', x.cp, '--auto-approve');
      expect(apply.code, apply.stderr).toBe(0);
      const inventory = readFileSync(join(x.root, 'cp.json.inventory.json'), 'utf8');
      expect(inventory).not.toContain('Queue/foreign');
      await x.apply();
      const kept = await withControlPlane(x.root, (cp) => cp.getQueue('foreign'));
      expect(kept.run_concurrency).toBe(1);
    });

    it('a --target plan adopts only what its changes show; the plan without --target adopts the rest, each applied unedited', async () => {
      const x = await appliedExample('poolsync-planfile-target-adopts-');
      writeFileSync(
        join(x.repo, 'queues/dev/adoptee.yaml'),
        'apiVersion: poolsync/v1\nkind: Queue\nmetadata:\n  name: adoptee\nspec:\n  pool: dev\n  run_concurrency: 2\n  action_concurrency: 2\n',
      );
      await withControlPlane(x.root, (cp) =>
        cp.createQueue({ name: 'adoptee', pool: 'dev', run_concurrency: 2, action_concurrency: 2 }),
      );
      const file = join(x.repo, RESEARCH);
      writeFileSync(
        file,
        readFileSync(file, 'utf8').replace('run_concurrency: 30', 'run_concurrency: 31'),
      );
      const recorded = () => readFileSync(join(x.root, 'cp.json.inventory.json'), 'utf8');
      const targeted = await x.run(
        'plan',
        x.repo,
        '--control-plane',
        x.cp,
        '--target',
        'Queue/notebooks',
        '--out',
        x.saved,
      );
      expect(targeted.code, targeted.stderr).toBe(0);
      const partial = JSON.parse(readFileSync(x.saved, 'utf8')) as Plan;
      expect(partial.inventory?.adopts).toBeUndefined();
      expect(partial.inventory?.declared).not.toContain('Queue/adoptee');
      expect(partial.inventory?.declared).toContain('Queue/gpu-training');
      const first = await x.run('apply', x.saved, '--control-plane', x.cp, '--auto-approve');
      expect(first.code, first.stderr).toBe(0);
      expect(recorded()).not.toContain('Queue/adoptee');

      const whole = JSON.parse(await x.plan()) as Plan;
      expect(whole.inventory?.adopts).toEqual(['Queue/adoptee']);
      const second = await x.run('apply', x.saved, '--control-plane', x.cp, '--auto-approve');
      expect(second.code, second.stderr).toBe(0);
      expect(recorded()).toContain('Queue/adoptee');
    });
  },
);
