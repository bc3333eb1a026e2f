/**
 * A change with no step of its own is made by its cause (`caused_by`: C2, C3, C8), so a saved
 * plan's `caused_by` is held to what the steps on the cause make: a queue's create whose step was
 * dropped and that names a registration of another cluster (or of one the plan does not
 * register) as its cause was applied as "made by the control plane itself", with nothing sent,
 * and recorded in the inventory. Edited under a recomputed seal, show and apply refuse it.
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

const doc = (kind: string, name: string, spec: string) =>
  `apiVersion: poolsync/v1\nkind: ${kind}\nmetadata:\n  name: ${name}\nspec:\n${spec}`;

describe(
  'a saved plan whose caused_by was edited under a recomputed seal',
  { timeout: 300_000 },
  () => {
    it('a cause that does not make the change is refused by show and apply; nothing is sent; unedited, it applies', async () => {
      const root = tempFolder('poolsync-planfile-caused-by-');
      const repo = join(root, 'repo');
      cpSync(EXAMPLE, repo, { recursive: true });
      const cp = `file:${join(root, 'cp.json')}`;
      const run = (...args: string[]) =>
        runInProcess(args[0] === 'show' ? args : [...args, '--state-dir', join(root, 'state')], {});
      expect((await run('apply', repo, '--control-plane', cp, '--auto-approve')).code).toBe(0);
      // One registration (its co-named queue made by it, C2) and one queue created by its own step.
      writeFileSync(
        join(repo, 'clusters/dev/dev-b.yaml'),
        doc('Cluster', 'dev-b', '  pool: dev\n'),
      );
      writeFileSync(
        join(repo, 'queues/nightly.yaml'),
        doc('Queue', 'nightly', '  pool: dev\n  run_concurrency: 1\n  action_concurrency: 1\n'),
      );
      const saved = join(root, 'p.json');
      const planned = await run('plan', repo, '--control-plane', cp, '--out', saved);
      expect(planned.code, planned.stderr).toBe(0);
      const original = readFileSync(saved, 'utf8');

      const change = (d: Plan, address: string) => d.changes.find((c) => c.address === address)!;
      /** Queue/nightly's create_queue dropped, the change said to be made by `by`. */
      const madeBy = (by: string) => (d: Plan) => {
        change(d, 'Queue/nightly').caused_by = by;
        d.steps = d.steps.filter((s) => s.target !== 'Queue/nightly');
      };
      const edits: [string, (d: Plan) => void, RegExp][] = [
        [
          'a queue create said made by the registration of another cluster',
          madeBy('Cluster/dev-b'),
          /the change of Queue\/nightly \(create\) is made by Cluster\/dev-b, its caused_by, but no step of the plan on Cluster\/dev-b makes it/,
        ],
        [
          'a queue create said made by a cluster the plan has no step on',
          madeBy('Cluster/dev-us-central1'),
          /the change of Queue\/nightly \(create\) is made by Cluster\/dev-us-central1, its caused_by, but no step of the plan on Cluster\/dev-us-central1 makes it/,
        ],
        [
          "the co-named queue's caused_by (C2) removed",
          (d) => void delete change(d, 'Queue/dev-b').caused_by,
          /the change of Queue\/dev-b \(create\) has no step that creates it/,
        ],
      ];
      for (const [what, edit, refusal] of edits) {
        writeFileSync(saved, original);
        resealed(saved, edit);
        const show = await run('show', saved);
        expect([show.code, show.stdout], what).toEqual([1, '']);
        expect(show.stderr, what).toMatch(refusal);
        expect(show.stderr, what).toContain('edited after poolsync made it');
        const apply = await run('apply', saved, '--control-plane', cp);
        expect([apply.code, apply.stdout], what).toEqual([1, '']);
        expect(apply.stderr, what).toMatch(refusal);
      }
      const names = async () => {
        const live = await EmbeddedControlPlane.open({
          path: join(root, 'cp.json'),
          readOnly: true,
        });
        try {
          return [...(await live.listClusters()), ...(await live.listQueues())].map((o) => o.name);
        } finally {
          await live.close();
        }
      };
      expect(await names()).not.toContain('dev-b');
      expect(await names()).not.toContain('nightly');

      writeFileSync(saved, original);
      const apply = await run('apply', saved, '--control-plane', cp);
      expect(apply.code, apply.stderr).toBe(0);
      expect(apply.stdout).toContain('Apply complete: 2 created,');
      expect(await names()).toEqual(expect.arrayContaining(['dev-b', 'nightly']));
    });
  },
);
