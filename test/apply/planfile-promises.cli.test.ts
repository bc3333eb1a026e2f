/**
 * What a saved plan promises is checked from its own content and the inventory, not taken from
 * its seal, which anyone can make again without POOLSYNC_PLAN_KEY (docs/plan.md, Sealed plan
 * files): a step's arguments are its change's `after`, the diff `show` prints is that `after`,
 * the destroy budget the inventory records binds `apply PLANFILE`, and a plan with errors is
 * refused naming them. The example repository, the CLI in process, an embedded control plane.
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

/** The example applied to a `file:` control plane of its own, and `poolsync` against it. */
async function appliedExample(prefix: string, config?: string, capabilities?: string) {
  const root = tempFolder(prefix);
  const repo = join(root, 'repo');
  cpSync(EXAMPLE, repo, { recursive: true });
  if (config) writeFileSync(join(repo, 'poolsync.yaml'), config);
  const cp = `file:${join(root, 'cp.json')}${capabilities ? `?capabilities=${capabilities}` : ''}`;
  const state = join(root, 'state');
  // `show` reads no state.
  const run = (...args: string[]) =>
    runInProcess(args[0] === 'show' ? args : [...args, '--state-dir', state], {});
  const applied = await run('apply', repo, '--control-plane', cp, '--auto-approve');
  expect(applied.code, applied.stderr).toBe(0);
  return { root, repo, cp, run };
}

async function queueOf(root: string, name: string) {
  const cp = await EmbeddedControlPlane.open({ path: join(root, 'cp.json'), readOnly: true });
  try {
    return await cp.getQueue(name);
  } finally {
    await cp.close();
  }
}

const setting = (spec: string, field: string, value: string) =>
  spec.replace(new RegExp(`^(  ${field}:).*$`, 'm'), `$1 ${value}`);

describe(
  'a saved plan whose unkeyed seal was made again after an edit',
  { timeout: 300_000 },
  () => {
    it("a step's arguments edited away from its change are refused by show and apply, naming the step and the field; nothing is sent", async () => {
      const { root, repo, cp, run } = await appliedExample('poolsync-planfile-args-');
      const batch = join(repo, 'queues/prod/batch.yaml');
      writeFileSync(batch, setting(readFileSync(batch, 'utf8'), 'run_concurrency', '301'));
      const created = readFileSync(batch, 'utf8').replace('name: batch', 'name: nightly');
      writeFileSync(join(repo, 'queues/prod/nightly.yaml'), created);
      const saved = join(root, 'p.json');
      const planned = await run('plan', repo, '--control-plane', cp, '--out', saved);
      expect(planned.code, planned.stderr).toBe(0);
      const original = readFileSync(saved, 'utf8');

      const step = (doc: Plan, op: string, target: string) =>
        doc.steps.find((s) => s.op === op && s.target === target)!;
      const args = (doc: Plan, op: string, target: string) =>
        step(doc, op, target).args as unknown as Record<string, unknown>;
      const edits: [string, (doc: Plan) => void, RegExp][] = [
        [
          'update run_concurrency',
          (d) => void (args(d, 'update_queue', 'Queue/batch').run_concurrency = 9999),
          /step s\d+ \(update_queue Queue\/batch\) sends run_concurrency 9999, but its change shows 301/,
        ],
        [
          'create pool',
          (d) => void (args(d, 'create_queue', 'Queue/nightly').pool = 'dev'),
          /step s\d+ \(create_queue Queue\/nightly\) sends pool "dev", but its change shows "prod"/,
        ],
        [
          'create clusters',
          (d) => void (args(d, 'create_queue', 'Queue/nightly').clusters = ['prod-us-east-1']),
          /\(create_queue Queue\/nightly\) sends clusters \["prod-us-east-1"\], but its change shows \["\*"\]/,
        ],
        [
          'create run_concurrency',
          (d) => void (args(d, 'create_queue', 'Queue/nightly').run_concurrency = 9999),
          /\(create_queue Queue\/nightly\) sends run_concurrency 9999, but its change shows 301/,
        ],
        [
          'a field dropped (read as the schema default)',
          (d) => void delete args(d, 'create_queue', 'Queue/nightly').priority,
          /\(create_queue Queue\/nightly\) sends priority "medium", but its change shows "min"/,
        ],
        [
          "the step and the change's after, not its diff",
          (d) => {
            args(d, 'update_queue', 'Queue/batch').run_concurrency = 9999;
            d.changes.find((c) => c.address === 'Queue/batch')!.after!.run_concurrency = 9999;
          },
          /the change of Queue\/batch shows run_concurrency becoming 301, but its after has 9999/,
        ],
        [
          'the step, the after and its diff entry dropped',
          (d) => {
            args(d, 'update_queue', 'Queue/batch').run_concurrency = 9999;
            const change = d.changes.find((c) => c.address === 'Queue/batch')!;
            change.after!.run_concurrency = 9999;
            change.diff = [];
          },
          /the change of Queue\/batch does not show run_concurrency \(300 → 9999\)/,
        ],
      ];
      for (const [what, edit, refusal] of edits) {
        writeFileSync(saved, original);
        resealed(saved, edit);
        const show = await run('show', saved);
        expect([show.code, show.stdout], what).toEqual([1, '']);
        expect(show.stderr, what).toMatch(refusal);
        expect(show.stderr, what).toContain(`${saved} is refused`);
        expect(show.stderr, what).toContain('edited after poolsync made it');
        const apply = await run('apply', saved, '--control-plane', cp);
        expect(apply.code, what).toBe(1);
        expect(apply.stderr, what).toMatch(refusal);
      }
      expect((await queueOf(root, 'batch')).run_concurrency).toBe(300);
      expect(await queueOf(root, 'nightly').catch(() => null)).toBeNull();

      // The file as poolsync wrote it applies what it shows.
      writeFileSync(saved, original);
      const show = await run('show', saved);
      expect(show.stdout).toContain('run_concurrency: 300 → 301');
      const apply = await run('apply', saved, '--control-plane', cp);
      expect(apply.code, apply.stderr).toBe(0);
      expect((await queueOf(root, 'batch')).run_concurrency).toBe(301);
    });

    it("a registration's data plane edited in is refused by show and apply, naming the step and the field; the change shows the declared one", async () => {
      const { root, repo, cp, run } = await appliedExample('poolsync-planfile-dataplane-');
      const declared = readFileSync(join(repo, 'clusters/dev/dev-us-central1.yaml'), 'utf8');
      writeFileSync(
        join(repo, 'clusters/dev/dev-a.yaml'),
        declared.replace('name: dev-us-central1', 'name: dev-a'),
      );
      const bare =
        'apiVersion: poolsync/v1\nkind: Cluster\nmetadata:\n  name: dev-b\nspec:\n  pool: dev\n';
      writeFileSync(join(repo, 'clusters/dev/dev-b.yaml'), bare);
      const saved = join(root, 'p.json');
      const planned = await run('plan', repo, '--control-plane', cp, '--out', saved);
      expect(planned.code, planned.stderr).toBe(0);
      expect(planned.stdout).toMatch(
        /\+ Cluster\/dev-a\n(.*\n){2}\s+data_plane\.object_store_uri\s+= "gs:\/\/acme-union-dev\/metadata"\n/,
      );
      const original = readFileSync(saved, 'utf8');

      const dataPlane = (doc: Plan, target: string) => {
        const step = doc.steps.find((s) => s.op === 'register_cluster' && s.target === target)!;
        return step.args as { data_plane?: Record<string, unknown> };
      };
      const contract = { type: 'GCP_SECRET_MANAGER', locator: 'projects/acme-union-dev' };
      const edits: [string, (doc: Plan) => void, RegExp][] = [
        [
          'a declared data plane changed',
          (d) => void (dataPlane(d, 'Cluster/dev-a').data_plane!.object_store_uri = 'gs://other/x'),
          /step s\d+ \(register_cluster Cluster\/dev-a\) sends data_plane\.object_store_uri "gs:\/\/other\/x", but its change shows "gs:\/\/acme-union-dev\/metadata"/,
        ],
        [
          'a declared data plane cut',
          (d) => void delete dataPlane(d, 'Cluster/dev-a').data_plane!.secret_store,
          /\(register_cluster Cluster\/dev-a\) sends no data_plane\.secret_store\.type, but its change shows "GCP_SECRET_MANAGER"/,
        ],
        [
          'a declared data plane dropped',
          (d) => void delete dataPlane(d, 'Cluster/dev-a').data_plane,
          /\(register_cluster Cluster\/dev-a\) sends no data_plane, but its change shows \{"object_store_uri":"gs:\/\/acme-union-dev\/metadata"/,
        ],
        [
          'a data plane added to a registration that declares none',
          (d) => void (dataPlane(d, 'Cluster/dev-b').data_plane = { secret_store: contract }),
          /\(register_cluster Cluster\/dev-b\) sends data_plane \{"secret_store":\{"type":"GCP_SECRET_MANAGER".*, which its change does not show/,
        ],
      ];
      for (const [what, edit, refusal] of edits) {
        writeFileSync(saved, original);
        resealed(saved, edit);
        const show = await run('show', saved);
        expect([show.code, show.stdout], what).toEqual([1, '']);
        expect(show.stderr, what).toMatch(refusal);
        const apply = await run('apply', saved, '--control-plane', cp);
        expect(apply.code, what).toBe(1);
        expect(apply.stderr, what).toMatch(refusal);
      }
      const clusters = async () => {
        const live = await EmbeddedControlPlane.open({
          path: join(root, 'cp.json'),
          readOnly: true,
        });
        const names = (await live.listClusters()).map((c) => c.name);
        await live.close();
        return names;
      };
      expect(await clusters()).not.toContain('dev-a');

      writeFileSync(saved, original);
      const apply = await run('apply', saved, '--control-plane', cp);
      expect(apply.code, apply.stderr).toBe(0);
      expect(await clusters()).toEqual(expect.arrayContaining(['dev-a', 'dev-b']));
      // The control plane keeps no data plane: nor does the record of what the apply left, and
      // applied again, the plan reads as applied.
      const record = readFileSync(join(root, 'cp.json.last-applied.json'), 'utf8');
      expect(record).toContain('"dev-a"');
      expect(record).not.toContain('data_plane');
      const again = await run('apply', saved, '--control-plane', cp);
      expect(again.code).toBe(1);
      expect(again.stderr).toContain(`stale plan: ${saved} was already applied`);
    });

    it("a wait's queues, a wait dropped, a step's execution or manual command edited are refused by apply, naming the step and the field; nothing is sent", async () => {
      const config =
        'apiVersion: poolsync/v1\nkind: RepoConfig\nprune: true\nignore:\n  - drafts/**\n';
      const { root, repo, cp, run } = await appliedExample('poolsync-planfile-waits-', config);
      rmSync(join(repo, 'clusters/prod/prod-eu-west-1.yaml'));
      const residency = join(repo, 'queues/prod/eu-residency.yaml');
      const repointed = readFileSync(residency, 'utf8').replace(
        '[prod-eu-west-1]',
        '[prod-us-east-1]',
      );
      writeFileSync(residency, repointed);
      const saved = join(root, 'p.json');
      const planned = await run('plan', repo, '--control-plane', cp, '--out', saved);
      expect(planned.code, planned.stderr).toBe(0);
      const original = readFileSync(saved, 'utf8');
      const ops = (JSON.parse(original) as Plan).steps.map((s) => `${s.id} ${s.op} ${s.target}`);
      expect(ops).toEqual([
        's1 update_queue Queue/eu-residency',
        's2 wait_idle Cluster/prod-eu-west-1',
        's3 delete_cluster Cluster/prod-eu-west-1',
      ]);

      const waitIdle = (d: Plan) =>
        d.steps[1] as Extract<Plan['steps'][number], { op: 'wait_idle' }>;
      const command = { reason: 'no API', command: 'flyte delete cluster prod-us-east-1' };
      const edits: [string, (doc: Plan) => void, RegExp][] = [
        [
          'a queue left out of the wait',
          (d) => void (waitIdle(d).args.queues = ['prod-eu-west-1']),
          /step s2 \(wait_idle Cluster\/prod-eu-west-1\) waits on queues \["prod-eu-west-1"\], but its changes make it wait on \["eu-residency","prod-eu-west-1"\] \(C9\)/,
        ],
        [
          'the wait dropped',
          (d) => {
            d.steps.splice(1, 1);
            d.steps[1]!.depends_on = ['s1'];
          },
          /the plan has no wait_idle step before Cluster\/prod-eu-west-1 leaves, but its changes make one waiting on queues \["eu-residency","prod-eu-west-1"\] \(C9\)/,
        ],
        [
          'the wait made manual, to be skipped',
          (d) => Object.assign(d.steps[1]!, { execution: 'manual', manual: command }),
          /step s2 \(wait_idle Cluster\/prod-eu-west-1\) has execution "manual", but this control plane makes the call itself \("api"\)/,
        ],
        [
          'a manual command beside an API call',
          (d) => void (d.steps[0]!.manual = command),
          /step s1 \(update_queue Queue\/eu-residency\) has the manual command "flyte delete cluster prod-us-east-1", but this control plane makes the call itself/,
        ],
      ];
      for (const [what, edit, refusal] of edits) {
        writeFileSync(saved, original);
        resealed(saved, edit);
        const apply = await run('apply', saved, '--control-plane', cp, '--auto-approve');
        expect(apply.code, what).toBe(1);
        expect(apply.stderr, what).toMatch(refusal);
        expect(apply.stderr, what).toContain(`${saved} is refused`);
        expect(apply.stderr, what).toContain('Nothing was applied');
        expect((await queueOf(root, 'eu-residency')).clusters, what).toEqual(['prod-eu-west-1']);
      }

      writeFileSync(saved, original);
      const apply = await run('apply', saved, '--control-plane', cp, '--auto-approve');
      expect(apply.code, apply.stderr).toBe(0);
      expect((await queueOf(root, 'eu-residency')).clusters).toEqual(['prod-us-east-1']);
    });

    it('a --target plan whose wait watches the `*` queues of a pool the repository empties is applied unedited; a queue its changes need left out is refused', async () => {
      const config =
        'apiVersion: poolsync/v1\nkind: RepoConfig\nprune: true\nignore:\n  - drafts/**\n';
      const { root, repo, cp, run } = await appliedExample('poolsync-planfile-target-', config);
      // Both clusters of `default` leave the repository; the plan targets one.
      rmSync(join(repo, 'clusters/default/shared.yaml'));
      const saved = join(root, 'p.json');
      const target = ['--target', 'Cluster/shared-us-west-2'];
      const planned = await run('plan', repo, '--control-plane', cp, ...target, '--out', saved);
      expect(planned.code, planned.stderr).toBe(0);
      const original = readFileSync(saved, 'utf8');
      const wait = (d: Plan) =>
        d.steps.find((s) => s.op === 'wait_idle') as Extract<
          Plan['steps'][number],
          { op: 'wait_idle' }
        >;
      expect(wait(JSON.parse(original) as Plan).args.queues).toEqual([
        'default',
        'shared-batch',
        'shared-us-west-2',
      ]);

      resealed(saved, (d) => {
        wait(d).args.queues = ['default', 'shared-batch'];
        delete wait(d).args.why!['shared-us-west-2'];
      });
      const edited = await run('apply', saved, '--control-plane', cp, '--auto-approve');
      expect(edited.code).toBe(1);
      expect(edited.stderr).toMatch(
        /waits on queues \["default","shared-batch"\], but its changes make it wait on \["shared-us-west-2"\] \(C9\)/,
      );
      expect(edited.stderr).toContain('--target');

      writeFileSync(saved, original);
      const apply = await run('apply', saved, '--control-plane', cp, '--auto-approve');
      expect(apply.code, apply.stderr).toBe(0);
      const embedded = await EmbeddedControlPlane.open({
        path: join(root, 'cp.json'),
        readOnly: true,
      });
      try {
        expect((await embedded.listClusters()).map((c) => c.name)).toContain('shared-us-east-1');
        expect((await embedded.listClusters()).map((c) => c.name)).not.toContain(
          'shared-us-west-2',
        );
      } finally {
        await embedded.close();
      }
    });

    it('a --target cluster delete is not refused for a `*` queue of its pool the plan left untouched (C9)', async () => {
      const config =
        'apiVersion: poolsync/v1\nkind: RepoConfig\nprune: true\nignore:\n  - drafts/**\n';
      const capabilities = 'drain,queue_delete,soft_delete';
      const { root, repo, cp, run } = await appliedExample(
        'poolsync-target-wildcard-',
        config,
        capabilities,
      );
      rmSync(join(repo, 'clusters/prod/prod-us-west-2.yaml'));
      const critical = join(repo, 'queues/prod/critical.yaml');
      writeFileSync(
        critical,
        readFileSync(critical, 'utf8').replace(
          '[prod-us-east-1, prod-us-west-2]',
          '[prod-us-east-1]',
        ),
      );
      const target = ['--target', 'Cluster/prod-us-west-2'];
      const apply = await run('apply', repo, '--control-plane', cp, ...target, '--auto-approve');
      expect(apply.code, apply.stdout + apply.stderr).toBe(0);
      expect((await queueOf(root, 'batch')).clusters).toEqual(['*']);
      const embedded = await EmbeddedControlPlane.open({
        path: join(root, 'cp.json'),
        readOnly: true,
      });
      try {
        expect((await embedded.listClusters()).map((c) => c.name)).not.toContain('prod-us-west-2');
      } finally {
        await embedded.close();
      }
    });

    // The `*` queue's own change is left out of the partial plan, yet the delete reads it as seen.
    const otherChanges: [string, (repo: string, root: string) => Promise<void>][] = [
      [
        'an untargeted update',
        async (repo) => {
          const batch = join(repo, 'queues/prod/batch.yaml');
          writeFileSync(batch, setting(readFileSync(batch, 'utf8'), 'run_concurrency', '301'));
        },
      ],
      [
        'blocked',
        async (repo) => {
          const batch = join(repo, 'queues/prod/batch.yaml');
          writeFileSync(batch, setting(readFileSync(batch, 'utf8'), 'pool', 'dev'));
        },
      ],
      [
        'unmanaged (made by another client before the plan)',
        async (_repo, root) => {
          const cp = await EmbeddedControlPlane.open({ path: join(root, 'cp.json') });
          try {
            await cp.createQueue({
              name: 'nightly',
              pool: 'prod',
              clusters: ['*'],
              run_concurrency: 0,
              action_concurrency: 0,
              depth: 10000,
              priority: 'medium',
              fairness: 'round_robin',
            });
          } finally {
            await cp.close();
          }
        },
      ],
    ];
    it.each(otherChanges)(
      'a --target cluster delete, applied and saved, is not refused for a `*` queue of its pool whose change is %s (C9)',
      async (what, change) => {
        const config =
          'apiVersion: poolsync/v1\nkind: RepoConfig\nprune: true\nignore:\n  - drafts/**\n';
        const capabilities = 'drain,queue_delete,soft_delete';
        const { root, repo, cp, run } = await appliedExample(
          'poolsync-target-wildcard-changed-',
          config,
          capabilities,
        );
        rmSync(join(repo, 'clusters/prod/prod-us-west-2.yaml'));
        const critical = join(repo, 'queues/prod/critical.yaml');
        const pinned = readFileSync(critical, 'utf8');
        writeFileSync(
          critical,
          pinned.replace('[prod-us-east-1, prod-us-west-2]', '[prod-us-east-1]'),
        );
        await change(repo, root);
        const target = ['--target', 'Cluster/prod-us-west-2'];
        const saved = join(root, 'p.json');
        const planned = await run('plan', repo, '--control-plane', cp, ...target, '--out', saved);
        expect(planned.code, planned.stderr).toBe(0);
        if (what.startsWith('unmanaged')) {
          // Kept for the C9 check, it is still another client's: an edit declaring it is refused.
          const original = readFileSync(saved, 'utf8');
          resealed(saved, (d: Plan) => {
            const add = (list?: string[]) => [...(list ?? []), 'Queue/nightly'].sort();
            d.inventory!.declared = add(d.inventory!.declared);
            d.inventory!.adopts = add(d.inventory!.adopts);
          });
          const forged = await run('apply', saved, '--control-plane', cp, '--auto-approve');
          expect(forged.code, forged.stdout).toBe(1);
          expect(forged.stderr).toMatch(/declares Queue\/nightly/);
          writeFileSync(saved, original);
        }
        const clusters = async () => {
          const embedded = await EmbeddedControlPlane.open({
            path: join(root, 'cp.json'),
            readOnly: true,
          });
          try {
            return (await embedded.listClusters()).map((c) => c.name);
          } finally {
            await embedded.close();
          }
        };
        const fromFile = await run('apply', saved, '--control-plane', cp, '--auto-approve');
        expect(fromFile.code, fromFile.stdout + fromFile.stderr).toBe(0);
        expect(await clusters()).not.toContain('prod-us-west-2');
        // The queue's own change was not applied: only the target's were.
        expect(await queueOf(root, 'batch')).toMatchObject({
          pool: 'prod',
          clusters: ['*'],
          run_concurrency: 300,
        });

        // Once more without a saved plan: prod-eu-west-1 leaves the same way.
        rmSync(join(repo, 'clusters/prod/prod-eu-west-1.yaml'));
        rmSync(join(repo, 'queues/prod/eu-residency.yaml'));
        const eu = ['--target', 'Cluster/prod-eu-west-1'];
        const apply = await run('apply', repo, '--control-plane', cp, ...eu, '--auto-approve');
        expect(apply.code, apply.stdout + apply.stderr).toBe(0);
        expect(await clusters()).not.toContain('prod-eu-west-1');
      },
    );

    it("a change's step dropped, a dependency dropped, a step marked completes_change are refused by show and apply, naming the step; nothing is sent", async () => {
      const config =
        'apiVersion: poolsync/v1\nkind: RepoConfig\nprune: true\nignore:\n  - drafts/**\n';
      const { root, repo, cp, run } = await appliedExample('poolsync-planfile-order-', config);
      rmSync(join(repo, 'clusters/prod/prod-eu-west-1.yaml'));
      const residency = join(repo, 'queues/prod/eu-residency.yaml');
      const repointed = readFileSync(residency, 'utf8').replace(
        '[prod-eu-west-1]',
        '[prod-us-east-1]',
      );
      writeFileSync(residency, repointed);
      const saved = join(root, 'p.json');
      const planned = await run('plan', repo, '--control-plane', cp, '--out', saved);
      expect(planned.code, planned.stderr).toBe(0);
      const original = readFileSync(saved, 'utf8');
      const ops = (JSON.parse(original) as Plan).steps.map(
        (s) => `${s.id} ${s.op} ${s.target} after ${s.depends_on.join(',')}`,
      );
      expect(ops).toEqual([
        's1 update_queue Queue/eu-residency after ',
        's2 wait_idle Cluster/prod-eu-west-1 after s1',
        's3 delete_cluster Cluster/prod-eu-west-1 after s2',
      ]);

      const edits: [string, (doc: Plan) => void, RegExp][] = [
        [
          "the cluster's delete dropped (reported deleted, recorded gone)",
          (d) => void d.steps.splice(2, 1),
          /the change of Cluster\/prod-eu-west-1 \(delete\) has no step that deletes it: applied, it would be reported done with nothing sent/,
        ],
        [
          "the queue's repointing dropped",
          (d) => {
            d.steps.splice(0, 1);
            d.steps[0]!.depends_on = [];
          },
          /the change of Queue\/eu-residency \(update\) has no step that sends the fields its diff changes/,
        ],
        [
          'the delete no longer waiting for the wait',
          (d) => void (d.steps[2]!.depends_on = []),
          /step s3 \(delete_cluster Cluster\/prod-eu-west-1\) does not wait for step s2 \(wait_idle Cluster\/prod-eu-west-1\), which its changes put first \(C9/,
        ],
        [
          'the wait no longer after the repointing',
          (d) => void (d.steps[1]!.depends_on = []),
          /step s2 \(wait_idle Cluster\/prod-eu-west-1\) does not wait for step s1 \(update_queue Queue\/eu-residency\), which its changes put first \(C8/,
        ],
        [
          'the delete marked to run while the apply stops',
          (d) => void (d.steps[2]!.completes_change = true),
          /step s3 \(delete_cluster Cluster\/prod-eu-west-1\) is marked completes_change, which only a registered cluster's disable \(C6\) and an activation are/,
        ],
      ];
      for (const [what, edit, refusal] of edits) {
        writeFileSync(saved, original);
        resealed(saved, edit);
        const show = await run('show', saved);
        expect([show.code, show.stdout], what).toEqual([1, '']);
        expect(show.stderr, what).toMatch(refusal);
        expect(show.stderr, what).toContain('edited after poolsync made it');
        const apply = await run('apply', saved, '--control-plane', cp, '--auto-approve');
        expect(apply.code, what).toBe(1);
        expect(apply.stderr, what).toMatch(refusal);
        expect((await queueOf(root, 'eu-residency')).clusters, what).toEqual(['prod-eu-west-1']);
      }
      // A transitive order is the same order: the delete after the wait through another step.
      writeFileSync(saved, original);
      resealed(saved, (d) => void (d.steps[2]!.depends_on = ['s2', 's1']));
      expect((await run('show', saved)).code).toBe(0);

      writeFileSync(saved, original);
      const apply = await run('apply', saved, '--control-plane', cp, '--auto-approve');
      expect(apply.code, apply.stderr).toBe(0);
      expect((await queueOf(root, 'eu-residency')).clusters).toEqual(['prod-us-east-1']);
    });

    it("a new pool's registration no longer after the pool, or a disable's completes_change (C6) removed or moved, is refused by show and apply", async () => {
      const { root, repo, cp, run } = await appliedExample('poolsync-planfile-create-order-');
      cpSync(join(repo, 'drafts/gpu-pool.yaml'), join(repo, 'pools/gpu-oci.yaml'));
      for (const name of ['gpu-1', 'gpu-2'])
        writeFileSync(
          join(repo, `clusters/${name}.yaml`),
          `apiVersion: poolsync/v1\nkind: Cluster\nmetadata:\n  name: ${name}\nspec:\n  pool: gpu-oci\n  enabled: false\n`,
        );
      const saved = join(root, 'p.json');
      const planned = await run('plan', repo, '--control-plane', cp, '--out', saved);
      expect(planned.code, planned.stderr).toBe(0);
      const original = readFileSync(saved, 'utf8');
      const lines = (d: Plan) =>
        d.steps.map(
          (s) =>
            `${s.id} ${s.op} ${s.target} after ${s.depends_on.join(',')}${s.completes_change ? ' completes' : ''}`,
        );
      expect(lines(JSON.parse(original) as Plan)).toEqual([
        's1 create_pool ClusterPool/gpu-oci after ',
        's2 register_cluster Cluster/gpu-1 after s1',
        's3 update_cluster Cluster/gpu-1 after s2 completes',
        's4 register_cluster Cluster/gpu-2 after s1',
        's5 update_cluster Cluster/gpu-2 after s4 completes',
      ]);
      const edits: [string, (doc: Plan) => void, RegExp][] = [
        [
          'the registration before its pool',
          (d) => void (d.steps[1]!.depends_on = []),
          /step s2 \(register_cluster Cluster\/gpu-1\) does not wait for step s1 \(create_pool ClusterPool\/gpu-oci\), which its changes put first \(C1/,
        ],
        [
          "a disable's mark removed (a stopping apply leaves the cluster enabled)",
          (d) => void delete d.steps[4]!.completes_change,
          /step s5 \(update_cluster Cluster\/gpu-2\) is not marked completes_change: a stopping apply would leave the cluster it registers enabled, taking work \(C6\)/,
        ],
        [
          "a disable's mark moved to its registration",
          (d) => {
            d.steps[1]!.completes_change = true;
            delete d.steps[2]!.completes_change;
          },
          /step s2 \(register_cluster Cluster\/gpu-1\) is marked completes_change, which only a registered cluster's disable \(C6\) and an activation are/,
        ],
      ];
      for (const [what, edit, refusal] of edits) {
        writeFileSync(saved, original);
        resealed(saved, edit);
        const show = await run('show', saved);
        expect([show.code, show.stdout], what).toEqual([1, '']);
        expect(show.stderr, what).toMatch(refusal);
        const apply = await run('apply', saved, '--control-plane', cp, '--auto-approve');
        expect(apply.code, what).toBe(1);
        expect(apply.stderr, what).toMatch(refusal);
      }
      // A plan without any mark reads as one saved before steps were marked (28 Nov 2026).
      writeFileSync(saved, original);
      resealed(saved, (d) => d.steps.forEach((s) => delete s.completes_change));
      expect((await run('show', saved)).code).toBe(0);

      writeFileSync(saved, original);
      const apply = await run('apply', saved, '--control-plane', cp, '--auto-approve');
      expect(apply.code, apply.stderr).toBe(0);
    });

    it("a queue's wait_drained edited to wait on another queue is refused by show and apply; nothing is sent", async () => {
      const config =
        'apiVersion: poolsync/v1\nkind: RepoConfig\nprune: true\nignore:\n  - drafts/**\n';
      const caps = 'drain,queue_delete';
      const { root, repo, cp, run } = await appliedExample(
        'poolsync-planfile-drain-',
        config,
        caps,
      );
      rmSync(join(repo, 'queues/prod/critical.yaml'));
      const saved = join(root, 'p.json');
      const planned = await run('plan', repo, '--control-plane', cp, '--out', saved);
      expect(planned.code, planned.stderr).toBe(0);
      const wait = (d: Plan) =>
        d.steps.find((s) => s.op === 'wait_drained' && s.target === 'Queue/critical')!;
      expect(wait(JSON.parse(readFileSync(saved, 'utf8')) as Plan).args).toEqual({
        queues: ['critical'],
      });
      resealed(saved, (d) => void (wait(d).args = { queues: ['batch'] }));
      const refusal =
        /step s\d+ \(wait_drained Queue\/critical\) waits on queues \["batch"\], but its change drains only critical/;
      const show = await run('show', saved);
      expect([show.code, show.stdout]).toEqual([1, '']);
      expect(show.stderr).toMatch(refusal);
      const apply = await run('apply', saved, '--control-plane', cp, '--auto-approve');
      expect(apply.code).toBe(1);
      expect(apply.stderr).toMatch(refusal);
      expect((await queueOf(root, 'critical')).state).toBe('active');
    });

    it("a plan over the inventory's destroy budget, its errors emptied, is refused by apply as planning refused it; unedited, apply names its errors", async () => {
      const config =
        'apiVersion: poolsync/v1\nkind: RepoConfig\nprune: true\nignore:\n  - drafts/**\nguardrails: {max_destroy: 1}\n';
      const { root, repo, cp, run } = await appliedExample('poolsync-planfile-budget-', config);
      rmSync(join(repo, 'clusters/dev/dev-europe-west4.yaml'));
      rmSync(join(repo, 'clusters/dev/dev-us-central1.yaml'));
      const planned = await run('plan', repo, '--control-plane', cp, '--output', 'json');
      expect(planned.code, planned.stderr).toBe(1);
      const saved = join(root, 'pj.json');
      writeFileSync(saved, planned.stdout);
      const doc = JSON.parse(planned.stdout) as Plan;
      expect(doc.errors.map((e) => e.code)).toEqual(['DESTROY_BUDGET']);
      const budget = doc.errors[0]!.message!;

      const emptied = join(root, 'pj2.json');
      writeFileSync(emptied, planned.stdout);
      resealed(emptied, (d) => void (d.errors = []));
      const applied = await run('apply', emptied, '--control-plane', cp);
      expect(applied.code).toBe(1);
      expect(applied.stderr).toContain(`Error: ${emptied}: ${budget}`);
      expect(applied.stderr).toContain('Nothing was applied.');
      const refused = await run('apply', saved, '--control-plane', cp);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain(
        `Error: the plan has 1 error; nothing was applied:\n  DESTROY_BUDGET: ${budget.split('\n')[0]}\n`,
      );
      expect(refused.stderr).toContain('plan again');

      const live = await EmbeddedControlPlane.open({ path: join(root, 'cp.json'), readOnly: true });
      const names = (await live.listClusters()).map((c) => c.name);
      await live.close();
      expect(names).toEqual(expect.arrayContaining(['dev-europe-west4', 'dev-us-central1']));
    });
  },
);
