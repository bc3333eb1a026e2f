/**
 * Each repository prunes only what it applied (docs/plan.md, Prune scope: each repository its
 * own): two repositories applying to one control plane, embedded (`file:`) and served (`poolsync
 * control-plane serve`, its inventory kept by the server), through the CLI. One's `prune: true`,
 * `manage:` too, leaves the other's objects `unmanaged`; an object the other applied, declared
 * here, is left as the other applied it, with a warning (REPOSITORY_CONFLICT), blocked where its
 * manifest differs (a folder moved without a Git remote too), until `import` hands it over or
 * `repository:` names the other; an inventory an earlier build wrote
 * (no repository in it) is pruned by no repository until one declares and adopts its entries.
 * The rest of the record is per repository where it must be: each one's destroy budget (an
 * earlier build's binds each until its own apply), and another's apply keeps this one's
 * protection marks and what it forgot (docs/plan.md, Guardrails).
 */
import { execFileSync, spawn } from 'node:child_process';
import { cpSync, existsSync, realpathSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BASELINE_CAPABILITIES } from '../../src/model/common.js';
import type { Change, Plan } from '../../src/model/plan.js';
import { planValidator } from '../../src/render/plan-file.js';
import { REPO_ROOT, runCli } from '../support/cli.js';
import { cliFromSource } from '../support/cli-from-source.js';
import { servedControlPlane } from '../support/served-control-plane.js';
import { tempFolder } from '../support/temp-folder.js';

/** A pool, its cluster and a queue on it. */
const objects = (pool: string, cluster: string, queue: string) => ({
  [`${pool}.yaml`]: `apiVersion: poolsync/v1
kind: ClusterPool
metadata: {name: ${pool}}
spec:
  object_store_ref: {uri: s3://acme-${pool}/metadata}
  secret_store: {type: AWS_SECRETS_MANAGER, locator: us-east-1}
---
apiVersion: poolsync/v1
kind: Cluster
metadata: {name: ${cluster}}
spec: {pool: ${pool}}
`,
  [`${queue}.yaml`]: `apiVersion: poolsync/v1
kind: Queue
metadata: {name: ${queue}}
spec: {pool: ${pool}, clusters: [${cluster}], run_concurrency: 10, action_concurrency: 100}
`,
});

async function writeRepo(dir: string, files: Record<string, string>, config = 'prune: true') {
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  const all = {
    ...files,
    'poolsync.yaml': `apiVersion: poolsync/v1\nkind: RepoConfig\n${config}\n`,
  };
  for (const [path, text] of Object.entries(all)) await writeFile(join(dir, path), text);
  // Outside Git, a repository is named by its folder's real path (src/ops/repository.ts).
  return realpathSync(dir);
}

/** The queue `queue` of `pool` on `cluster`, alone. */
const queueOf = (pool: string, cluster: string, queue: string) => {
  const { [`${queue}.yaml`]: text } = objects(pool, cluster, queue);
  return { [`${queue}.yaml`]: text! };
};

/** A document with `poolsync/MARK: "true"` on the object named `name`. */
const annotated = (text: string, name: string, mark: string) =>
  text.replace(
    `metadata: {name: ${name}}`,
    `metadata: {name: ${name}, annotations: {poolsync/${mark}: "true"}}`,
  );

const budget = (maxDestroy: number) => `prune: true\nguardrails: {max_destroy: ${maxDestroy}}`;

/** What the DESTROY_BUDGET errors of a `plan --output json` run say (exit 1 with them, else 0). */
function budgetErrorsOf(r: { code: number; stdout: string; stderr: string }) {
  const plan = JSON.parse(r.stdout) as Plan;
  const errors = plan.errors.filter((e) => e.code === 'DESTROY_BUDGET');
  expect(r.code, r.stderr).toBe(errors.length > 0 ? 1 : 0);
  // `this plan would delete 2 objects, over guardrails.max_destroy: 1 (as last applied)`
  return errors.map((e) => /^this plan would .*?\)(?=: )/.exec(e.message ?? '')?.[0]);
}

/**
 * A command line as a person pastes it, in bash with `poolsync` (this source) on PATH: a child
 * process, so a control plane served by this one keeps answering.
 */
const onPath = (tool: string) =>
  (process.env.PATH ?? '')
    .split(delimiter)
    .some((dir) => dir !== '' && existsSync(join(dir, tool)));

async function shell(line: string, cwd: string) {
  const bin = tempFolder('poolsync-bin-');
  const q = (word: string) => `'${word}'`;
  await writeFile(
    join(bin, 'poolsync'),
    `#!/bin/sh\nexec ${q(process.execPath)} ${cliFromSource().map(q).join(' ')} "$@"\n`,
    { mode: 0o755 },
  );
  const child = spawn('bash', ['--noprofile', '--norc', '-o', 'pipefail', '-c', line], {
    cwd,
    env: {
      ...Object.fromEntries(
        Object.entries(process.env).filter(([k]) => !k.startsWith('POOLSYNC_')),
      ),
      PATH: `${bin}:${process.env.PATH ?? ''}`,
      NO_COLOR: '1',
    },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number | null>((done) => child.on('close', done));
  return { code, stdout, stderr };
}

const byAddress = (plan: Plan) => new Map(plan.changes.map((c) => [c.address, c]));
const actionOf = (c: Change | undefined) => c?.action;

/** The control planes two repositories apply to: its URL, and where apply keeps its records. */
const TARGETS = [
  {
    name: 'embedded (file:)',
    start: () => {
      const root = tempFolder('poolsync-repositories-');
      return Promise.resolve({
        url: `file:${join(root, 'cp.json')}?capabilities=drain,queue_delete`,
        root,
      });
    },
  },
  {
    name: 'served (control-plane serve)',
    start: async () => {
      const capabilities = { ...BASELINE_CAPABILITIES, drain: true, queue_delete: true };
      const served = await servedControlPlane({}, { capabilities });
      return { url: served.url.replace(/\/$/, ''), root: tempFolder('poolsync-repositories-') };
    },
  },
];

describe.each(TARGETS)(
  'two repositories on one control plane, $name',
  { timeout: 240_000 },
  (t) => {
    it("prune in one never deletes the other's objects, manage: or not; each still prunes its own", async () => {
      const { url, root } = await t.start();
      const cli = (...args: string[]) =>
        runCli([...args, '--control-plane', url, '--state-dir', join(root, 'state')]);
      const planOf = async (dir: string) => {
        const r = await cli('plan', dir, '--output', 'json');
        expect(r.code, r.stderr).toBe(0);
        return JSON.parse(r.stdout) as Plan;
      };
      const a = join(root, 'labels');
      const b = join(root, 'assignments');
      const nameA = await writeRepo(a, objects('prod', 'c1', 'qa'));
      const nameB = await writeRepo(b, objects('dev', 'c2', 'qb'), 'prune: false');
      for (const dir of [a, b]) {
        const r = await cli('apply', dir, '--auto-approve');
        expect(r.code, r.stderr).toBe(0);
      }

      // A's prune sees B's objects, applied by B: reported, never touched; the plan sends nothing.
      const plan = await planOf(a);
      expect(plan.inventory?.repository).toBe(nameA);
      expect(plan.steps).toEqual([]);
      for (const at of ['ClusterPool/dev', 'Cluster/c2', 'Queue/qb'])
        expect(byAddress(plan).get(at), at).toMatchObject({
          action: 'unmanaged',
          why: { code: 'OTHER_REPOSITORY', params: { repository: nameB } },
        });
      const text = await cli('plan', a);
      expect(text.stdout).toContain(
        `repository ${nameB} applied it (the inventory says so): only that repository changes or deletes it`,
      );
      // manage: claims the hand-made objects of its kinds, never another repository's.
      await writeRepo(
        a,
        objects('prod', 'c1', 'qa'),
        'prune: true\nmanage: [ClusterPool, Cluster, Queue]',
      );
      expect((await planOf(a)).steps).toEqual([]);

      // A drops its queue: its own is deleted, B's stay.
      const { 'qa.yaml': _dropped, ...rest } = objects('prod', 'c1', 'qa');
      await writeRepo(a, rest);
      const dropping = byAddress(await planOf(a));
      expect(actionOf(dropping.get('Queue/qa'))).toBe('delete');
      expect(actionOf(dropping.get('Queue/qb'))).toBe('unmanaged');
      expect((await cli('apply', a, '--auto-approve')).code).toBe(0);
      // B, with prune: true, drops its cluster's queue: it deletes its own only.
      const { 'qb.yaml': _gone, ...restB } = objects('dev', 'c2', 'qb');
      await writeRepo(b, restB);
      const pruned = await planOf(b);
      expect(pruned.changes.filter((c) => c.action === 'delete').map((c) => c.address)).toEqual([
        'Queue/qb',
      ]);
      expect((await cli('apply', b, '--auto-approve')).code).toBe(0);
      const list = await cli('state', 'list', a);
      expect(list.stdout).toMatch(/ClusterPool\/dev[\s\S]*ClusterPool\/prod/);
      expect(list.stdout).not.toMatch(/Queue\/q[ab]/);
    });

    it('an object the other applied, declared here, is left to it (REPOSITORY_CONFLICT) until import hands it over', async () => {
      const { url, root } = await t.start();
      const cli = (...args: string[]) =>
        runCli([...args, '--control-plane', url, '--state-dir', join(root, 'state')]);
      const a = join(root, 'platform');
      const b = join(root, 'team');
      const nameA = await writeRepo(a, objects('prod', 'c1', 'qa'));
      expect((await cli('apply', a, '--auto-approve')).code).toBe(0);
      // B declares A's pool, with another secret store, beside a queue of its own on it.
      const pool = objects('prod', 'c1', 'qa')['prod.yaml']!.split('---')[0]!;
      const queue = objects('prod', 'c1', 'qb')['qb.yaml']!;
      const nameB = await writeRepo(b, {
        'prod.yaml': pool.replace('us-east-1', 'eu-west-1'),
        'qb.yaml': queue.replace('[c1]', '[]'),
      });

      // Left as A applied it: no update nor replace of it, its own queue planned.
      const r0 = await cli('plan', b, '--output', 'json');
      expect(r0.code, r0.stderr).toBe(0);
      const plan = JSON.parse(r0.stdout) as Plan;
      expect(plan.warnings.filter((w) => w.code === 'REPOSITORY_CONFLICT')).toEqual([
        {
          code: 'REPOSITORY_CONFLICT',
          address: 'ClusterPool/prod',
          params: {
            address: 'ClusterPool/prod',
            repository: nameA,
            here: nameB,
            here_is_path: true,
          },
          message: expect.stringContaining(
            `declared in this repository (${nameB}), but repository ${nameA} applied it (the inventory says so): left as ${nameA} applied it`,
          ) as string,
        },
      ]);
      // Its manifest differs from what A applied: a change this plan cannot make, blocked.
      expect(byAddress(plan).get('ClusterPool/prod')).toMatchObject({
        action: 'blocked',
        why: { code: 'HELD_BY_OTHER_REPOSITORY', params: { repository: nameA, here: nameB } },
      });
      expect(plan.steps.map((st) => st.target)).toEqual(['Queue/qb']);
      expect(plan.inventory?.declared).toEqual(['Queue/qb']);
      const text = await cli('plan', b);
      expect(text.stdout).toContain('warning REPOSITORY_CONFLICT ClusterPool/prod: declared in');
      expect((await cli('apply', b, '--auto-approve')).code).toBe(0);
      const planA = await cli('plan', a, '--detailed-exitcode');
      expect([planA.code, planA.stdout]).toEqual([0, expect.stringContaining('No changes.')]);

      // B takes it over: its next apply sends its contract; A, still declaring it, is warned.
      const imported = await cli('import', 'ClusterPool/prod', '--dir', b);
      expect(imported.code, imported.stderr).toBe(0);
      expect(imported.stdout).toContain(
        `for repository ${nameB}, taken from repository ${nameA}, which no longer prunes it`,
      );
      const taken = await cli('plan', b, '--output', 'json');
      expect(byAddress(JSON.parse(taken.stdout) as Plan).get('ClusterPool/prod')?.action).not.toBe(
        'unmanaged',
      );
      expect((await cli('plan', a)).stdout).toContain(
        `declared in this repository (${nameA}), but repository ${nameB} applied it`,
      );
      // A moves to another pool: its own cluster and queue are deleted, B's pool is left.
      await writeRepo(a, objects('staging', 'c3', 'qc'));
      const r = await cli('plan', a, '--output', 'json');
      expect(r.code, r.stderr).toBe(0);
      const moved = byAddress(JSON.parse(r.stdout) as Plan);
      expect([moved.get('Cluster/c1'), moved.get('Queue/qa')].map(actionOf)).toEqual([
        'delete',
        'delete',
      ]);
      expect(moved.get('ClusterPool/prod')).toMatchObject({
        action: 'unmanaged',
        why: { code: 'OTHER_REPOSITORY', params: { repository: nameB } },
      });
    });

    it("each repository's destroy budget is its own: another's apply neither erases nor imposes it", async () => {
      const { url, root } = await t.start();
      const cli = (...args: string[]) =>
        runCli([...args, '--control-plane', url, '--state-dir', join(root, 'state')]);
      const a = join(root, 'platform');
      const b = join(root, 'team');
      const queues = { ...objects('prod', 'c1', 'qa'), ...queueOf('prod', 'c1', 'qa2') };
      const { 'qa.yaml': _qa, 'qa2.yaml': _qa2, ...noQueues } = queues;
      await writeRepo(a, queues, budget(1));
      await writeRepo(b, objects('dev', 'c2', 'qb'));
      for (const dir of [a, b]) expect((await cli('apply', dir, '--auto-approve')).code).toBe(0);

      // B, without guardrails:, applied last: A's commit raising its budget to spend it is held
      // by the budget A applied.
      await writeRepo(a, noQueues, budget(5));
      expect(budgetErrorsOf(await cli('plan', a, '--output', 'json'))).toEqual([
        'this plan would delete 2 objects, over guardrails.max_destroy: 1 (as last applied)',
      ]);
      // A applies the raise on its own; B then applies a stricter budget of its own.
      await writeRepo(a, queues, budget(5));
      expect((await cli('apply', a, '--auto-approve')).code).toBe(0);
      await writeRepo(b, objects('dev', 'c2', 'qb'), budget(0));
      expect((await cli('apply', b, '--auto-approve')).code).toBe(0);
      // B's bound holds B's plans, never A's.
      await writeRepo(a, noQueues, budget(5));
      expect(budgetErrorsOf(await cli('plan', a, '--output', 'json'))).toEqual([]);
      const { 'qb.yaml': _qb, ...noQueueB } = objects('dev', 'c2', 'qb');
      await writeRepo(b, noQueueB);
      expect(budgetErrorsOf(await cli('plan', b, '--output', 'json'))).toEqual([
        'this plan would delete 1 object, over guardrails.max_destroy: 0 (as last applied)',
      ]);
    });

    it("another repository's apply keeps the protection marks of this one's objects, declared there or not", async () => {
      const { url, root } = await t.start();
      const cli = (...args: string[]) =>
        runCli([...args, '--control-plane', url, '--state-dir', join(root, 'state')]);
      const a = join(root, 'platform');
      const b = join(root, 'team');
      const marked = {
        ...objects('prod', 'c1', 'qa'),
        ...queueOf('prod', 'c1', 'qa2'),
      };
      marked['qa.yaml'] = annotated(marked['qa.yaml']!, 'qa', 'prevent-destroy');
      marked['qa2.yaml'] = annotated(marked['qa2.yaml']!, 'qa2', 'confirm-destroy');
      await writeRepo(a, marked);
      expect((await cli('apply', a, '--auto-approve')).code).toBe(0);
      // B declares A's queues, on its own pool and without the annotations (left to A), beside
      // objects of its own; it applies twice, the second time a change of its own.
      const bFiles = {
        ...objects('dev', 'c2', 'qb'),
        ...queueOf('dev', 'c2', 'qa'),
        ...queueOf('dev', 'c2', 'qa2'),
      };
      await writeRepo(b, bFiles);
      const first = await cli('apply', b, '--auto-approve');
      expect(first.code, first.stdout + first.stderr).toBe(0);
      await writeRepo(b, { ...bFiles, ...queueOf('dev', 'c2', 'qb2') });
      expect((await cli('apply', b, '--auto-approve')).code).toBe(0);

      // A removes both manifests: still protected, as A applied them.
      const { 'qa.yaml': _qa, 'qa2.yaml': _qa2, ...rest } = marked;
      await writeRepo(a, rest);
      const r = await cli('plan', a, '--output', 'json');
      const plan = JSON.parse(r.stdout) as Plan;
      expect(plan.errors.map((e) => [e.code, e.address])).toEqual([
        ['PREVENT_DESTROY', 'Queue/qa'],
      ]);
      expect(plan.confirm_destroy).toEqual(['Queue/qa2']);
      expect((await cli('state', 'show', 'Queue/qa', a)).stdout).toContain(
        'kept by the inventory: poolsync/prevent-destroy',
      );
    });

    it("what one repository forgot stays forgotten through another's apply, manage: too", async () => {
      const { url, root } = await t.start();
      const cli = (...args: string[]) =>
        runCli([...args, '--control-plane', url, '--state-dir', join(root, 'state')]);
      const a = join(root, 'platform');
      const b = join(root, 'team');
      const protectedQueue = objects('prod', 'c1', 'qa');
      protectedQueue['qa.yaml'] = annotated(protectedQueue['qa.yaml']!, 'qa', 'prevent-destroy');
      await writeRepo(a, protectedQueue);
      await writeRepo(b, objects('dev', 'c2', 'qb'), 'prune: true\nmanage: [Queue]');
      expect((await cli('apply', a, '--auto-approve')).code).toBe(0);
      const { 'qa.yaml': _qa, ...rest } = objects('prod', 'c1', 'qa');
      await writeRepo(a, rest);
      const forgot = await cli('state', 'forget', 'Queue/qa', a);
      expect(forgot.code, forgot.stderr).toBe(0);

      // B claims every Queue: the one A forgot is reported, never deleted, applied or not.
      for (let i = 0; i < 2; i++) {
        const p = await cli('plan', b, '--output', 'json');
        expect(byAddress(JSON.parse(p.stdout) as Plan).get('Queue/qa')).toMatchObject({
          action: 'unmanaged',
          why: { code: 'FORGOTTEN' },
        });
        expect((await cli('apply', b, '--auto-approve')).code).toBe(0);
      }
      expect(
        byAddress(JSON.parse((await cli('plan', a, '--output', 'json')).stdout) as Plan).get(
          'Queue/qa',
        ),
      ).toMatchObject({
        action: 'unmanaged',
        why: { code: 'FORGOTTEN' },
      });
      expect((await cli('state', 'list', a)).stdout).toMatch(/Queue\/qa/);
      // Adopted again, it keeps the mark it was applied with (docs/plan.md, Protection).
      const imported = await cli('import', 'Queue/qa', '--dir', a);
      expect(imported.code, imported.stderr).toBe(0);
      const r = await cli('plan', a, '--output', 'json');
      expect(JSON.parse(r.stdout)).toMatchObject({ inventory: { prevent_destroy: ['Queue/qa'] } });
    });

    it('state list, export and init --from-live name the repository that applied each object', async (ctx) => {
      const { url, root } = await t.start();
      const flags = ['--control-plane', url, '--state-dir', join(root, 'state')];
      const cli = (...args: string[]) => runCli([...args, ...flags]);
      const a = join(root, 'platform');
      const b = join(root, 'team');
      // The platform's pool, cluster and queue, and 20 queues more: 23 objects.
      const more = Object.fromEntries(
        Array.from({ length: 20 }, (_, i) => `q${String(i).padStart(2, '0')}.yaml`).map((file) => [
          file,
          objects('prod', 'c1', file.slice(0, 3))[file]!,
        ]),
      );
      const nameA = await writeRepo(a, { ...objects('prod', 'c1', 'qa'), ...more });
      const nameB = await writeRepo(b, objects('dev', 'c2', 'qb'));
      for (const dir of [a, b]) expect((await cli('apply', dir, '--auto-approve')).code).toBe(0);

      // B's list: its own lines as before, each of A's naming A; the count of each.
      const list = await cli('state', 'list', b);
      expect(list.code, list.stderr).toBe(0);
      expect(list.stdout).toContain(`\nRepository: ${nameB} (this folder's; `);
      expect(list.stdout).toMatch(/^ClusterPool\/dev +1 cluster$/m);
      expect(list.stdout).toMatch(/^Queue\/qb +pool dev, active, [^;\n]*$/m);
      const line = list.stdout.split('\n').find((l) => l.startsWith('ClusterPool/prod '));
      expect(line).toMatch(
        new RegExp(
          `; applied by repository ${nameA.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: only it changes or prunes it$`,
        ),
      );
      expect(list.stdout).toContain(
        `\n26 managed objects.\nApplied by this repository: 3; by ${nameA}: 23 (docs/plan.md, Prune scope).\n`,
      );
      const json = JSON.parse(
        (await cli('state', 'list', b, 'Queue/q*', '--output', 'json')).stdout,
      ) as {
        repository: string;
        repositories: unknown;
        objects: { address: string; repository: string | null }[];
      };
      expect(json.repository).toBe(nameB);
      expect(json.repositories).toEqual([
        { repository: nameA, count: 23 },
        { repository: nameB, count: 3 },
      ]);
      expect(json.objects.find((o) => o.address === 'Queue/qa')?.repository).toBe(nameA);
      expect(json.objects.find((o) => o.address === 'Queue/qb')?.repository).toBe(nameB);

      // Exported into a folder that plans as B: A's objects are written, and said to be A's.
      const x = join(root, 'exported');
      await mkdir(x);
      await writeFile(
        join(x, 'poolsync.yaml'),
        `apiVersion: poolsync/v1\nkind: RepoConfig\nrepository: ${nameB}\n`,
      );
      const exported = await cli('export', '--dir', x);
      expect(exported.code, exported.stderr).toBe(0);
      const warned = exported.stderr.split('\n').filter((l) => l.includes('another repository'));
      expect(warned).toHaveLength(1);
      expect(warned[0]).toContain(
        `Warning: 23 objects written were applied by another repository, ${nameA} (the inventory says so), not by ${nameB}, which plans these files: `,
      );
      expect(warned[0]).toMatch(
        /: (ClusterPool|Cluster|Queue)\/[^.]* and 3 more\. Their manifests take nothing over: /,
      );
      expect(warned[0]).not.toContain('Queue/qb');
      // One command hands over all 23, not the 20 listed: run further down as printed.
      expect(warned[0]).toContain(
        `hand them over: \`poolsync state list ${x} --output json | jq -r --arg r ${nameA} '.objects[] | select(.repository == $r and .status) | .address' | poolsync import --from - --dir ${x}\` (with jq: every live object ${nameA} applied), with this command's --control-plane and inventory flags on both poolsync commands`,
      );
      const handOver = /hand them over: `([^`]+)`/.exec(warned[0]!)![1]!;
      expect(await readFile(join(x, 'pools', 'prod.yaml'), 'utf8')).toContain('name: prod');
      // As said: the next plan leaves them to A, with the warning.
      const planned = JSON.parse((await cli('plan', x, '--output', 'json')).stdout) as Plan;
      expect(planned.warnings.filter((w) => w.code === 'REPOSITORY_CONFLICT')).toHaveLength(23);
      expect(planned.steps).toEqual([]);

      // init --from-live: a new repository of its own, so both A's and B's are another's.
      const c = join(root, 'new');
      const init = await cli('init', c, '--from-live');
      expect(init.code, init.stderr).toBe(0);
      const nameC = realpathSync(c);
      expect(init.stderr).toContain(
        `Warning: 3 objects written were applied by another repository, ${nameB} (the inventory says so), not by ${nameC}, which plans these files: ClusterPool/dev, Cluster/c2, Queue/qb. `,
      );
      expect(init.stderr).toContain(
        `Warning: 23 objects written were applied by another repository, ${nameA}`,
      );
      // The hand-over it names works: B's pool is C's from then on.
      const imported = await cli('import', 'ClusterPool/dev', '--dir', c);
      expect(imported.code, imported.stderr).toBe(0);
      expect(imported.stdout).toContain(`for repository ${nameC}, taken from repository ${nameB}`);
      const after = await cli('state', 'list', c, 'ClusterPool/dev');
      expect(after.stdout).toMatch(/^ClusterPool\/dev +1 cluster$/m);

      // Export's hand-over, pasted with this test's flags on both poolsync commands: all 23 are B's.
      // It pipes through jq, which a machine with only Node and Git may lack.
      if (!onPath('jq'))
        return ctx.skip("jq is not on PATH: export's printed hand-over is not run");
      const added = flags.join(' ');
      const pasted =
        handOver.replace(' --output json |', ` --output json ${added} |`) + ` ${added}`;
      const ran = await shell(pasted, root);
      expect(ran.code, ran.stderr).toBe(0);
      expect(ran.stdout.split(`taken from repository ${nameA}, `)).toHaveLength(24);
      const whose = JSON.parse((await cli('state', 'list', x, '--output', 'json')).stdout) as {
        repositories: unknown;
      };
      expect(whose.repositories).toEqual([
        { repository: nameB, count: 25 },
        { repository: nameC, count: 1 },
      ]);
    });
  },
);

describe('a budget an earlier build recorded (no repository named)', { timeout: 240_000 }, () => {
  it("binds every repository until that repository's own apply records its own", async () => {
    const root = tempFolder('poolsync-repositories-budget-');
    const cp = join(root, 'cp.json');
    const cli = (...args: string[]) =>
      runCli([
        ...args,
        '--control-plane',
        `file:${cp}?capabilities=drain,queue_delete`,
        '--state-dir',
        join(root, 'state'),
      ]);
    const a = join(root, 'platform');
    const b = join(root, 'team');
    const filesA = { ...objects('prod', 'c1', 'qa'), ...queueOf('prod', 'c1', 'qa2') };
    const filesB = { ...objects('dev', 'c2', 'qb'), ...queueOf('dev', 'c2', 'qb2') };
    await writeRepo(a, filesA);
    await writeRepo(b, filesB);
    for (const dir of [a, b]) expect((await cli('apply', dir, '--auto-approve')).code).toBe(0);
    // As the build before per-repository budgets wrote it: one budget, the last commit applied's.
    const inventory = `${cp}.inventory.json`;
    const record = JSON.parse(await readFile(inventory, 'utf8')) as Record<string, unknown>;
    expect(record).not.toHaveProperty('repository_guardrails');
    await writeFile(inventory, JSON.stringify({ ...record, guardrails: { max_destroy: 0 } }));

    const earlier =
      "this plan would delete 1 object, over guardrails.max_destroy: 0 (as last applied, recorded by an earlier poolsync for every repository until this one's next apply records its own)";
    const { 'qa.yaml': _qa, ...dropA } = filesA;
    const { 'qb.yaml': _qb, ...dropB } = filesB;
    await writeRepo(a, dropA);
    expect(budgetErrorsOf(await cli('plan', a, '--output', 'json'))).toEqual([earlier]);
    await writeRepo(b, dropB);
    expect(budgetErrorsOf(await cli('plan', b, '--output', 'json'))).toEqual([earlier]);
    // A applies a commit within it: from then on A keeps its own (none), B still the earlier one.
    await writeRepo(a, filesA);
    expect((await cli('apply', a, '--auto-approve')).code).toBe(0);
    await writeRepo(a, dropA);
    expect(budgetErrorsOf(await cli('plan', a, '--output', 'json'))).toEqual([]);
    expect(budgetErrorsOf(await cli('plan', b, '--output', 'json'))).toEqual([earlier]);
    const written = JSON.parse(await readFile(inventory, 'utf8')) as Record<string, unknown>;
    expect(written).toMatchObject({
      format: 3,
      guardrails: { max_destroy: 0 },
      repository_guardrails: { [realpathSync(a)]: {} },
    });
  });
});

describe(
  'an inventory an earlier build wrote (format 1, no repository in it)',
  { timeout: 240_000 },
  () => {
    const BUILD = join(REPO_ROOT, 'test', 'fixtures', 'compat', 'b8137a5c');

    it('no repository prunes its entries until one declares them; that one adopts them with its first apply, as its plan and export say', async () => {
      const root = tempFolder('poolsync-repositories-old-');
      cpSync(join(BUILD, 'embedded'), join(root, 'cp'), { recursive: true });
      const inventory = join(root, 'cp', 'control-plane.json.inventory.json');
      const written = JSON.parse(await readFile(inventory, 'utf8')) as { format: number };
      expect(written.format).toBe(1);
      const cli = (...args: string[]) =>
        runCli([
          ...args,
          '--control-plane',
          `file:${join(root, 'cp', 'control-plane.json')}`,
          '--state-dir',
          join(root, 'state'),
        ]);
      const planOf = async (dir: string) => {
        const r = await cli('plan', dir, '--output', 'json');
        expect(r.code, r.stderr).toBe(0);
        return JSON.parse(r.stdout) as Plan;
      };
      const prune = (dir: string) =>
        writeFile(
          join(dir, 'poolsync.yaml'),
          'apiVersion: poolsync/v1\nkind: RepoConfig\nprune: true\nignore: [drafts/**]\n',
        );
      // The repository that applied it, and another without its assignments: both prune.
      const full = join(root, 'full');
      const other = join(root, 'other');
      cpSync(join(BUILD, 'repo'), full, { recursive: true });
      cpSync(join(BUILD, 'repo'), other, { recursive: true });
      await rm(join(other, 'assignments'), { recursive: true });
      await Promise.all([prune(full), prune(other)]);

      // Which repository applied the assignments is unknown: the other never deletes them.
      const before = await planOf(other);
      expect(before.steps).toEqual([]);
      const assignments = before.changes.filter((c) => c.kind === 'PoolAssignment');
      expect(assignments.length).toBeGreaterThan(0);
      for (const c of assignments)
        expect(c, c.address).toMatchObject({
          action: 'unmanaged',
          why: { code: 'RECORDED_WITHOUT_REPOSITORY' },
        });

      // state list says so of each, as its repositories count them.
      const listed = await cli('state', 'list', full);
      const lines = listed.stdout.split('\n').filter((l) => /^[A-Za-z]+\/\S+ /.test(l));
      expect(lines.length).toBeGreaterThan(assignments.length);
      for (const l of lines)
        expect(l).toMatch(
          /; recorded without its repository \(an earlier poolsync\): no repository prunes it$/,
        );
      expect(listed.stdout).toContain(
        `Applied by this repository: 0; recorded without a repository: ${lines.length} (`,
      );
      const json = JSON.parse((await cli('state', 'list', full, '--output', 'json')).stdout) as {
        objects: { repository: string | null }[];
        repositories: unknown;
      };
      expect(new Set(json.objects.map((o) => o.repository))).toEqual(new Set([null]));
      expect(json.repositories).toEqual([{ repository: null, count: lines.length }]);

      // Plan and export say once, before, that the first apply adopts them (export: for whom).
      const said = (out: string) =>
        out
          .split('\n')
          .filter((l) =>
            /by an earlier poolsync, without|did not apply:|recorded without a repository:/.test(l),
          );
      const planned = await cli('plan', full);
      expect([planned.code, planned.stderr]).toEqual([0, '']);
      const declared =
        'Cluster/dev-europe-west4, Cluster/dev-us-central1, Cluster/prod-eu-west-1, Cluster/prod-us-east-1, Cluster/prod-us-west-2';
      expect(said(planned.stdout)).toEqual([
        `Adopts ${lines.length} objects an earlier poolsync recorded without a repository: ${declared} and ${lines.length - 5} more. The apply records them as this repository's; with prune: true, removing a manifest then deletes its object.`,
      ]);
      const { inventory: adoption } = await planOf(full);
      expect(adoption?.adopts).toHaveLength(lines.length);
      expect(adoption?.adopts_recorded_without_repository).toEqual(adoption?.adopts);
      const exported = await cli('export', '--dir', join(root, 'exported'));
      expect(exported.code, exported.stderr).toBe(0);
      const files =
        'ClusterPool/dev, ClusterPool/prod, ClusterPool/research, Cluster/dev-europe-west4, Cluster/dev-us-central1';
      expect(said(exported.stderr)).toEqual([
        `Warning: ${lines.length} objects written were recorded in the inventory by an earlier poolsync, without the repository that applied them: ${files} and ${lines.length - 5} more. ` +
          `The next apply of ${realpathSync(join(root, 'exported'))} records them as its own, and with prune: true then deletes each once its manifest is removed (docs/plan.md, Prune scope).`,
      ]);

      // The repository that declares them applies: nothing to send, its entries adopted, as said.
      const applied = await cli('apply', full, '--auto-approve');
      expect(applied.code, applied.stderr).toBe(0);
      expect(said(applied.stdout)).toEqual(said(planned.stdout));
      const record = JSON.parse(await readFile(inventory, 'utf8')) as {
        format: number;
        addresses: string[];
        repositories: Record<string, string[]>;
      };
      expect(record.format).toBe(3);
      expect(record.addresses).toEqual([]);
      expect(Object.keys(record.repositories)).toEqual([realpathSync(full)]);
      expect(said((await cli('plan', full)).stdout)).toEqual([]);
      // From then on it prunes what it drops, and the other repository leaves its objects to it.
      await rm(join(full, 'assignments'), { recursive: true });
      const dropped = await planOf(full);
      expect(
        dropped.changes.filter((c) => c.kind === 'PoolAssignment').map((c) => c.action),
      ).toEqual(assignments.map(() => 'delete'));
      const conflict = await planOf(other);
      expect(conflict.steps).toEqual([]);
      expect(new Set(conflict.warnings.map((w) => w.code))).toEqual(
        new Set(['REPOSITORY_CONFLICT']),
      );
    });
  },
);

describe('a saved plan applied after its folder moved and its Git remote changed', () => {
  it("records under the repository the plan was made from, never the folder's new name", async () => {
    const root = tempFolder('poolsync-repositories-moved-');
    const git = (...args: string[]) => execFileSync('git', ['-C', join(root, 'repo'), ...args]);
    const commit = (message: string) =>
      git('-c', 'user.name=t', '-c', 'user.email=t@t.invalid', 'commit', '-qam', message);
    const cli = (...args: string[]) =>
      runCli([
        ...args,
        '--control-plane',
        `file:${join(root, 'cp.json')}?capabilities=drain,queue_delete`,
      ]);
    execFileSync('git', ['init', '-q', join(root, 'repo')]);
    git('remote', 'add', 'origin', 'git@github.com:acme/pools.git');
    const dir = join(root, 'repo', 'deploy');
    await writeRepo(dir, objects('prod', 'c1', 'qa'));
    git('add', '-A');
    commit('pools');
    expect((await cli('apply', dir, '--auto-approve')).code).toBe(0);

    // The queue dropped and the plan saved; then the folder moves and the remote is renamed.
    await rm(join(dir, 'qa.yaml'));
    commit('drop qa');
    const saved = join(root, 'plan.json');
    const planned = await cli('plan', dir, '--out', saved);
    expect(planned.code, planned.stderr).toBe(0);
    git('mv', 'deploy', 'moved');
    commit('move');
    git('remote', 'set-url', 'origin', 'git@github.com:acme/renamed.git');

    const applied = await cli('apply', saved);
    expect(applied.code, applied.stderr).toBe(0);
    expect(applied.stdout).toContain('0 created, 0 updated, 0 replaced, 1 deleted');
    const record = JSON.parse(await readFile(join(root, 'cp.json.inventory.json'), 'utf8')) as {
      repositories: Record<string, string[]>;
    };
    expect(record.repositories).toEqual({
      'github.com/acme/pools//deploy': ['Cluster/c1', 'ClusterPool/prod'],
    });
    // The moved folder is another repository until poolsync.yaml names the old one.
    await writeFile(
      join(root, 'repo', 'moved', 'poolsync.yaml'),
      'apiVersion: poolsync/v1\nkind: RepoConfig\nprune: true\nrepository: github.com/acme/pools//deploy\n',
    );
    const kept = await cli('plan', join(root, 'repo', 'moved'), '--output', 'json');
    expect((JSON.parse(kept.stdout) as Plan).warnings).toEqual([]);
  });
});

describe('a folder without a Git remote, moved after its apply (named by its path)', () => {
  it('plans a changed object it applied under the old path as blocked, never "No changes"; repository: keeps that name', async () => {
    const root = tempFolder('poolsync-repositories-moved-folder-');
    const cli = (...args: string[]) =>
      runCli([...args, '--control-plane', `file:${join(root, 'cp.json')}`]);
    const before = join(root, 'mv1');
    const old = await writeRepo(before, objects('prod', 'c1', 'qa'), 'prune: false');
    const git = (...args: string[]) => execFileSync('git', ['-C', before, ...args]);
    git('init', '-q');
    git('add', '-A');
    git('-c', 'user.name=t', '-c', 'user.email=t@t.invalid', 'commit', '-qm', 'x');
    expect((await cli('apply', before, '--auto-approve')).code).toBe(0);
    const after = join(root, 'mv2');
    await rename(before, after);
    const here = realpathSync(after);

    // Moved as it is: each object another repository's, a warning only.
    const same = await cli('plan', after, '--detailed-exitcode');
    expect([same.code, same.stdout]).toEqual([0, expect.stringContaining('No changes.')]);

    const qa = join(after, 'qa.yaml');
    await writeFile(
      qa,
      (await readFile(qa, 'utf8')).replace('run_concurrency: 10', 'run_concurrency: 15'),
    );
    const text = await cli('plan', after, '--detailed-exitcode');
    expect(text.code, text.stderr).toBe(2);
    expect(text.stdout).not.toContain('No changes');
    expect(text.stdout).toContain('! Queue/qa  (blocked)\n      run_concurrency: 10 → 15\n');
    expect(text.stdout).toContain(
      `! Queue/qa: declared in this repository (${here}), but repository ${old} applied it (the inventory says so), and this plan sends nothing of it`,
    );
    expect(text.stdout).toContain(
      'Plan: 0 to create, 0 to update, 0 to replace, 0 to delete, 1 blocked.',
    );
    // Said once, after the plan, not in each of the 3 warnings: the folder moved, what keeps its name.
    const once = `3 objects this repository declares were applied by repository ${old} (REPOSITORY_CONFLICT): nothing of them is sent, recorded or pruned, so 1 change to them is blocked. If this folder was moved from ${old} (without a Git remote, a folder is named by its path), set \`repository: ${old}\` in poolsync.yaml`;
    expect(text.stdout.split(once)).toHaveLength(2);

    const json = await cli('plan', after, '--output', 'json');
    expect(json.code, json.stderr).toBe(0);
    const data: unknown = JSON.parse(json.stdout);
    const validate = planValidator();
    expect(validate(data), JSON.stringify(validate.errors)).toBe(true);
    const plan = data as Plan;
    expect([plan.summary.blocked, plan.steps]).toEqual([1, []]);
    expect(byAddress(plan).get('Queue/qa')).toMatchObject({
      action: 'blocked',
      diff: [{ path: 'run_concurrency', before: 10, after: 15, forces_replacement: false }],
      why: { code: 'HELD_BY_OTHER_REPOSITORY', params: { repository: old, here } },
      reason: expect.stringContaining(`but repository ${old} applied it`) as string,
      destructive: false,
    });

    // Apply sends nothing, and says so.
    const applied = await cli('apply', after, '--auto-approve');
    expect([applied.code, applied.stdout]).toEqual([
      0,
      expect.stringContaining('No changes to apply: 1 blocked change cannot be applied'),
    ]);
    // The setting the plan names: the folder keeps its old name, and the change is an update.
    await writeFile(
      join(after, 'poolsync.yaml'),
      `apiVersion: poolsync/v1\nkind: RepoConfig\nprune: false\nrepository: ${old}\n`,
    );
    const kept = await cli('plan', after, '--output', 'json', '--detailed-exitcode');
    expect(kept.code, kept.stderr).toBe(2);
    const keptPlan = JSON.parse(kept.stdout) as Plan;
    expect(keptPlan.warnings).toEqual([]);
    expect(byAddress(keptPlan).get('Queue/qa')).toMatchObject({ action: 'update' });
  });
});

describe('a folder applied before its Git remote was added (named by its path until then)', () => {
  it("takes what it recorded under its path as its own, once, with a warning; another folder's path still conflicts", async () => {
    const root = tempFolder('poolsync-repositories-remote-added-');
    const url = `file:${join(root, 'cp.json')}?capabilities=drain,queue_delete`;
    const cli = (...args: string[]) => runCli([...args, '--control-plane', url]);
    const dir = join(root, 'pools');
    const path = await writeRepo(dir, objects('prod', 'c1', 'qa'), budget(5));
    const git = (at: string, ...args: string[]) => execFileSync('git', ['-C', at, ...args]);
    git(dir, 'init', '-q');
    git(dir, 'add', '-A');
    git(dir, '-c', 'user.name=t', '-c', 'user.email=t@t.invalid', 'commit', '-qm', 'x');
    expect((await cli('apply', dir, '--auto-approve')).code).toBe(0);
    const recorded = async () => {
      const record = JSON.parse(await readFile(join(root, 'cp.json.inventory.json'), 'utf8')) as {
        repositories: Record<string, string[]>;
        repository_guardrails: Record<string, object>;
      };
      return [record.repositories, record.repository_guardrails];
    };
    const all = ['Cluster/c1', 'ClusterPool/prod', 'Queue/qa'];
    expect(await recorded()).toEqual([{ [path]: all }, { [path]: { max_destroy: 5 } }]);

    // A copy elsewhere given a remote is another folder: the path's records are not its own.
    const copy = join(root, 'copy');
    cpSync(dir, copy, { recursive: true });
    git(copy, 'remote', 'add', 'origin', 'git@github.com:acme/copy.git');
    const other = JSON.parse((await cli('plan', copy, '--output', 'json')).stdout) as Plan;
    expect(other.inventory?.renamed_from).toBeUndefined();
    expect(other.warnings.map((w) => [w.code, w.params?.repository])).toEqual(
      all.map(() => ['REPOSITORY_CONFLICT', path]),
    );

    git(dir, 'remote', 'add', 'origin', 'git@github.com:acme/pools.git');
    const json = await cli('plan', dir, '--output', 'json');
    const data: unknown = JSON.parse(json.stdout);
    const validate = planValidator();
    expect(validate(data), JSON.stringify(validate.errors)).toBe(true);
    const plan = data as Plan;
    expect([plan.warnings, plan.steps, plan.inventory]).toMatchObject([
      [],
      [],
      { repository: 'github.com/acme/pools', renamed_from: path },
    ]);
    // Only an apply records them: something to do, never "No changes".
    const only = await cli('plan', dir, '--detailed-exitcode');
    expect([only.code, only.stdout]).toEqual([
      2,
      expect.stringContaining(
        `Nothing to send to the control plane, but the apply records what was recorded under ${path} under its name now, github.com/acme/pools`,
      ),
    ]);
    const qa = join(dir, 'qa.yaml');
    await writeFile(
      qa,
      (await readFile(qa, 'utf8')).replace('run_concurrency: 10', 'run_concurrency: 15'),
    );
    const text = await cli('plan', dir, '--detailed-exitcode');
    expect(text.code, text.stderr).toBe(2);
    expect(text.stdout).toContain('~ Queue/qa\n      run_concurrency: 10 → 15\n');
    expect(text.stdout).not.toContain('REPOSITORY_CONFLICT');
    const warned = `Warning: the inventory records objects under ${path}, this folder's path, its name before its Git remote named it github.com/acme/pools: they are this repository's, and the apply records them under github.com/acme/pools`;
    expect(text.stdout.split(warned)).toHaveLength(2);
    // The path is not offered to keep: committed, it would name every checkout after this folder.
    expect(text.stdout).not.toContain(`repository: ${path}`);

    const applied = await cli('apply', dir, '--auto-approve');
    expect(applied.code, applied.stderr).toBe(0);
    expect(applied.stdout).toContain('0 created, 1 updated, 0 replaced, 0 deleted; 0 blocked');
    const name = 'github.com/acme/pools';
    expect(await recorded()).toEqual([{ [name]: all }, { [name]: { max_destroy: 5 } }]);
    // Its own under the new name: prune deletes what leaves the repository, and nothing is said again.
    await rm(qa);
    const pruned = await cli('plan', dir);
    expect(pruned.stdout).toContain('- Queue/qa');
    expect(pruned.stdout).not.toContain('Warning: the inventory records');
  });

  it("another checkout of its remote, and export into one, are told to apply once in the folder, never to commit the folder's path; that apply settles it", async () => {
    const root = tempFolder('poolsync-repositories-remote-pushed-');
    const cli = (...args: string[]) =>
      runCli([...args, '--control-plane', `file:${join(root, 'cp.json')}`]);
    const dir = join(root, 'r2');
    const path = await writeRepo(dir, objects('prod', 'c1', 'qa'), 'prune: false');
    const git = (at: string, ...args: string[]) =>
      execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@t.invalid', '-C', at, ...args]);
    git(dir, 'init', '-q', '-b', 'main');
    git(dir, 'add', '-A');
    git(dir, 'commit', '-qm', 'x');
    expect((await cli('apply', dir, '--auto-approve')).code).toBe(0);
    // Pushed to a remote on this machine: a clone of it (the daemon's --repo checkout alike) is named by it.
    const bare = join(root, 'remote-r2.git');
    execFileSync('git', ['init', '-q', '--bare', '-b', 'main', bare]);
    git(dir, 'remote', 'add', 'origin', bare);
    git(dir, 'push', '-q', 'origin', 'main');
    const clone = join(root, 'clone');
    execFileSync('git', ['clone', '-q', bare, clone]);
    const qa = join(clone, 'qa.yaml');
    await writeFile(
      qa,
      (await readFile(qa, 'utf8')).replace('run_concurrency: 10', 'run_concurrency: 15'),
    );

    const name = realpathSync(root) + '/remote-r2';
    const held = await cli('plan', clone);
    expect(held.stdout).toContain('! Queue/qa  (blocked)');
    expect(held.stdout).toContain(
      `3 objects this repository declares were applied by repository ${path} (REPOSITORY_CONFLICT): nothing of them is sent, recorded or pruned, so 1 change to them is blocked. If ${path} is this repository's folder, applied before its Git remote was added, run \`poolsync apply\` there once: with the remote, it records them under ${name}, unless its poolsync.yaml sets \`repository:\`, which then stays its name: hand them over with \`poolsync import\` here instead; else`,
    );
    expect(held.stdout).toContain(
      `run \`poolsync apply\` there once: with the remote, it records it under ${name}, unless its poolsync.yaml sets \`repository:\`, which then stays its name: hand it over with \`poolsync import\` here instead (docs/plan.md, Prune scope).`,
    );
    expect(held.stdout).not.toContain(`repository: ${path}`);
    // Export into a folder a remote names says the same, never the folder's path for poolsync.yaml.
    const x = join(root, 'exported');
    await writeRepo(x, {}, 'prune: false');
    git(x, 'init', '-q');
    git(x, 'remote', 'add', 'origin', 'https://github.com/acme/exported');
    const exported = await cli('export', '--dir', x);
    expect(exported.code, exported.stderr).toBe(0);
    expect(exported.stderr).toContain(
      `If the files are for ${path} itself, nothing is wrong. If ${path} is this repository's folder, applied before its Git remote was added, run \`poolsync apply\` there once: with the remote, it records them under github.com/acme/exported, unless`,
    );
    expect(exported.stderr).not.toContain(`repository: ${path}`);

    // As said: applied once where it was, its records are the remote's, and the change plans.
    const once = await cli('apply', dir, '--auto-approve');
    expect(once.code, once.stderr).toBe(0);
    // Its last line stands alone: the plan's warning is above it, not below.
    expect(once.stdout.trimEnd().split('\n').at(-1)).toBe(
      `Nothing was sent to the control plane, but the apply recorded what was recorded under ${path} (the folder's path, its name before a Git remote named it) under that remote's name, ${name}.`,
    );
    const plan = JSON.parse((await cli('plan', clone, '--output', 'json')).stdout) as Plan;
    expect([plan.warnings, byAddress(plan).get('Queue/qa')?.action]).toEqual([[], 'update']);
  });

  it('where that folder sets repository:, its apply takes nothing over, as the plan says; import does', async () => {
    const root = tempFolder('poolsync-repositories-remote-named-');
    const cli = (...args: string[]) =>
      runCli([...args, '--control-plane', `file:${join(root, 'cp.json')}`]);
    const dir = join(root, 'r3');
    const path = await writeRepo(dir, objects('prod', 'c1', 'qa'), 'prune: false');
    expect((await cli('apply', dir, '--auto-approve')).code).toBe(0);
    const git = (...args: string[]) => execFileSync('git', ['-C', dir, ...args]);
    git('init', '-q');
    git('remote', 'add', 'origin', 'git@github.com:acme/r3.git');
    await writeRepo(dir, objects('prod', 'c1', 'qa'), 'prune: false\nrepository: acme-r3');

    // Planned in that very folder: applying there again changes nothing, and the plan says why.
    const said =
      'unless its poolsync.yaml sets `repository:`, which then stays its name: hand them over with `poolsync import` here instead';
    const held = await cli('plan', dir);
    expect(held.stdout).toContain(
      `If ${path} is this repository's folder, applied before its Git remote was added, run \`poolsync apply\` there once: with the remote, it records them under acme-r3, ${said}`,
    );
    expect((await cli('apply', dir, '--auto-approve')).code).toBe(0);
    const again = JSON.parse((await cli('plan', dir, '--output', 'json')).stdout) as Plan;
    expect(again.warnings.map((w) => [w.code, w.params?.repository])).toEqual(
      ['Cluster/c1', 'ClusterPool/prod', 'Queue/qa'].map(() => ['REPOSITORY_CONFLICT', path]),
    );
    const imported = await cli(
      'import',
      'ClusterPool/prod',
      'Cluster/c1',
      'Queue/qa',
      '--dir',
      dir,
    );
    expect(imported.code, imported.stderr).toBe(0);
    const settled = JSON.parse((await cli('plan', dir, '--output', 'json')).stdout) as Plan;
    expect(settled.warnings).toEqual([]);
  });
});
