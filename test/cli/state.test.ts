/**
 * `poolsync state list|show|forget` (docs/plan.md, What poolsync manages), in process: the
 * inventory of an embedded control plane with each object's live status, one object's fields,
 * and forgetting one (`state forget`, Terraform's `state rm`): nothing sent, out of the inventory,
 * never pruned afterwards, whatever `manage:` claims; `import` manages it again. Words honest
 * where the control plane reports no health; `state list` filters addresses.
 */
import { whyText } from '../../src/render/common.js';
import { mkdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { executePlan } from '../../src/apply/executor.js';
import { forget, list, show } from '../../src/cli/commands/export.js';
import type { Plan } from '../../src/model/plan.js';
import type { StateArgs } from '../../src/cli/define.js';
import { EmbeddedControlPlane } from '../../src/controlplane/embedded/embedded.js';
import { acquireApplyLock, lockPathFor } from '../../src/apply/lock.js';
import { applyRun } from '../../src/ops/apply-run.js';
import { planRun } from '../../src/ops/plan-run.js';
import { tempFolder } from '../support/temp-folder.js';
import { exitOf, memoryIo, runInProcess } from '../support/memory-io.js';
import { POOL, QUEUE, cluster, twoEnvironments, writeFiles } from '../environments/helpers.js';
import { recordedAddresses, type InventoryRecord } from '../../src/model/inventory.js';

let root: string;
let repo: string;
let url: string;

async function applyFolder(dir: string, cpUrl: string, environment?: string): Promise<void> {
  await applyRun(
    { kind: 'dir', path: dir, shape: {}, ...(environment ? { environment } : {}) },
    {
      locks: {
        kind: 'acquire',
        target: { name: environment ?? null, url: cpUrl, env: null },
        opening: { vars: {} },
        stateDir: join(root, 'state'),
        sharedInventory: null,
        lease: null,
        lockTimeoutMs: 0,
        parallelism: 8,
        maxRetries: 0,
      },
      stderr: () => {},
      execute: (plan, cp) => executePlan(plan, cp, { parallelism: 8, waitTimeoutMs: 1000 }),
    },
  );
}

const args = (over: Partial<StateArgs> = {}): StateArgs => ({
  dir: repo,
  'control-plane': url,
  'max-retries': 0,
  'state-dir': join(root, 'state'),
  output: 'text',
  ...over,
});

beforeAll(async () => {
  root = tempFolder('poolsync-state-');
  repo = join(root, 'repo');
  url = `file:${join(root, 'cp.json')}`;
  await writeFiles(repo, {
    'poolsync.yaml': 'apiVersion: poolsync/v1\nkind: RepoConfig\nprune: true\nmanage: [Queue]\n',
    'pool.yaml': POOL,
    'cluster.yaml': cluster('c1'),
    'queue.yaml': QUEUE,
  });
  await applyFolder(repo, url);
});

describe('poolsync state list and show', () => {
  it('lists the inventory with each object as the control plane shows it now', async () => {
    const io = memoryIo();
    expect(await list(args(), io)).toBe(0);
    expect(io.err()).toBe('');
    expect(io.out()).toMatch(
      /^Control plane: embedded file:.*cp\.json\nInventory: .*cp\.json\.inventory\.json/,
    );
    // The embedded control plane has no data plane: no cluster reports health, and the
    // planner does not count that against a queue; nor do these words (issue 61).
    expect(io.out()).toMatch(/^Cluster\/c1 +pool gpu, enabled, health not reported$/m);
    expect(io.out()).toMatch(/^ClusterPool\/gpu +1 cluster$/m);
    expect(io.out()).toMatch(
      /^Queue\/training +pool gpu, active, 1 selected cluster, health not reported$/m,
    );
    expect(io.out()).not.toMatch(/unknown|0 healthy/);
    expect(io.out()).toContain('\n3 managed objects.\n');
    const json = memoryIo();
    expect(await list(args({ output: 'json' }), json)).toBe(0);
    const parsed = JSON.parse(json.out()) as {
      objects: { address: string }[];
      forgotten: string[];
    };
    expect(parsed.objects.map((o) => o.address)).toEqual([
      'Cluster/c1',
      'ClusterPool/gpu',
      'Queue/training',
    ]);
    expect(parsed.forgotten).toEqual([]);
  });

  it('shows one object with its live fields; an unmanaged or unknown address is one line', async () => {
    const io = memoryIo();
    expect(await show(args({ address: 'Queue/training' }), io)).toBe(0);
    expect(io.out()).toContain('Queue/training: pool gpu, active');
    expect(io.out()).toMatch(/^ {2}run_concurrency += 10$/m);
    const missing = memoryIo();
    expect(await exitOf(missing, show(args({ address: 'Queue/nope' }), missing))).toBe(1);
    expect(missing.err()).toBe(
      'Error: Queue/nope is not managed by poolsync and not on the control plane (`poolsync state list` lists what is managed)\n',
    );
    const bad = memoryIo();
    expect(await exitOf(bad, show(args({ address: 'training' }), bad))).toBe(1);
    expect(bad.err()).toMatch(/an address is Kind\/name/);
  });

  it('lists only the addresses a filter names: a kind, an address, a pattern, also in the folder’s place', async () => {
    const kind = memoryIo();
    expect(await list(args({ filter: ['Cluster'] }), kind)).toBe(0);
    expect(kind.out()).toContain('Cluster/c1');
    expect(kind.out()).not.toMatch(/ClusterPool|Queue\//);
    expect(kind.out()).toContain('\n1 of 3 managed objects matches Cluster.\n');
    const two = memoryIo();
    expect(await list(args({ filter: ['Queue/train*', 'ClusterPool/gpu'] }), two)).toBe(0);
    expect(two.out()).toMatch(/^ClusterPool\/gpu /m);
    expect(two.out()).toMatch(/^Queue\/training /m);
    expect(two.out()).toContain('2 of 3 managed objects match Queue/train* ClusterPool/gpu.');
    const json = memoryIo();
    expect(await list(args({ filter: ['Queue'], output: 'json' }), json)).toBe(0);
    expect((JSON.parse(json.out()) as { objects: unknown[] }).objects).toEqual([
      {
        address: 'Queue/training',
        status: 'pool gpu, active, 1 selected cluster, health not reported',
        repository: realpathSync(repo),
      },
    ]);
    // Terraform's `state list ADDRESS`: a filter where the folder goes, the folder then `.`.
    const first = await runInProcess(
      [
        'state',
        'list',
        'Queue/training',
        '--control-plane',
        url,
        '--state-dir',
        join(root, 'state'),
      ],
      {},
      repo,
    );
    expect(first.stderr).toBe('');
    expect(first.stdout).toContain('1 of 3 managed objects matches Queue/training.');
    const bad = memoryIo();
    expect(await exitOf(bad, list(args({ filter: ['training'] }), bad))).toBe(1);
    expect(bad.err()).toMatch(/"training" is not an address filter: write Kind/);
    const misspelt = memoryIo();
    expect(await exitOf(misspelt, list(args({ filter: ['Quuee'] }), misspelt))).toBe(1);
    expect(misspelt.err()).toMatch(/"Quuee" is not an address filter \(did you mean 'Queue'\?\): /);
    // A pattern whose kind is mistyped matched nothing (`0 of 3 … match queue/*`).
    const typo = memoryIo();
    expect(await exitOf(typo, list(args({ filter: ['queue/*'] }), typo))).toBe(1);
    expect(typo.err()).toContain(
      `"queue/*" names no kind (did you mean 'Queue/*'?): Kind is one of`,
    );
    // A misspelt kind where the folder may go is that, not a folder that does not exist.
    for (const [word, hint] of [
      ['Qeue', 'Queue'],
      ['queue', 'Queue'],
      ['clusterpool/gpu', 'ClusterPool/gpu'],
    ]) {
      const io = memoryIo();
      expect(await exitOf(io, list(args({ dir: word }), io))).toBe(1);
      expect(io.err()).toBe(
        `Error: state list: "${word}" is neither a folder nor a kind (did you mean '${hint}'?): a filter is Kind, Kind/name or a pattern with *, with Kind one of ClusterPool, Cluster, Queue, PoolAssignment, DefaultQueue, ExecutionCluster, ClusterLabel, ExecutionClusterLabel\n`,
      );
    }
  });

  it('says when nothing was applied here yet', async () => {
    const io = memoryIo();
    const fresh = `file:${join(root, 'fresh.json')}`;
    expect(await list(args({ 'control-plane': fresh }), io)).toBe(0);
    expect(io.out()).toMatch(
      /No inventory yet \(.*fresh\.json\.inventory\.json\): poolsync has applied nothing here/,
    );
  });
});

describe('poolsync state forget', () => {
  it('takes an object out of management without a call: a later prune never deletes it, import adopts it again', async () => {
    const before = readFileSync(join(root, 'cp.json'), 'utf8');
    const io = memoryIo();
    expect(await forget(args({ address: 'Queue/training' }), io)).toBe(0);
    expect(io.out()).toContain('Forgot Queue/training: it left the inventory');
    expect(io.out()).toContain(`Queue/training is still declared in ${repo}`);
    // Nothing was sent: the control plane's state is byte for byte what it was.
    expect(readFileSync(join(root, 'cp.json'), 'utf8')).toBe(before);
    const record = JSON.parse(
      readFileSync(join(root, 'cp.json.inventory.json'), 'utf8'),
    ) as InventoryRecord;
    expect(recordedAddresses(record)).not.toContain('Queue/training');
    expect(record.forgotten).toEqual(['Queue/training']);
    const again = memoryIo();
    expect(await forget(args({ address: 'Queue/training' }), again)).toBe(0);
    expect(again.out()).toBe('Queue/training is already forgotten: poolsync leaves it alone.\n');
    const listed = memoryIo();
    await list(args(), listed);
    expect(listed.out()).toContain('2 managed objects.');
    expect(listed.out()).toContain(
      'Forgotten (never pruned; `poolsync state show ADDRESS` says how to manage one again): Queue/training',
    );

    // The manifest goes; prune is on and manage: claims every Queue: still not deleted.
    rmSync(join(repo, 'queue.yaml'));
    const planned = await planRun({
      source: {
        kind: 'acquire',
        target: { name: null, url, env: null },
        opening: { vars: {} },
        stateDir: join(root, 'state'),
        sharedInventory: null,
        maxRetries: 0,
      },
      desired: { kind: 'folder', dir: repo },
      environment: null,
      commit: null,
      shape: {},
    });
    if (planned.kind === 'unreadable' || planned.kind === 'invalid') throw new Error(planned.kind);
    const change = planned.plan.changes.find((c) => c.address === 'Queue/training')!;
    expect(change.action).toBe('unmanaged');
    expect(whyText(change)).toContain('taken out of management (`poolsync state forget`)');
    expect(planned.plan.prune_scope?.forgotten).toEqual(['Queue/training']);
    await applyFolder(repo, url);
    const cp = await EmbeddedControlPlane.open({ path: join(root, 'cp.json'), readOnly: true });
    try {
      expect((await cp.listQueues()).map((q) => q.name)).toContain('training');
    } finally {
      await cp.close();
    }
    writeFileSync(join(repo, 'queue.yaml'), QUEUE);
  });

  it('state forget, then import: the object is managed again (issue 61); `state rm` is forget', async () => {
    const cli = (...words: string[]) =>
      runInProcess(
        [...words, '--control-plane', url, '--state-dir', join(root, 'state')],
        {},
        repo,
      );
    // The queue the test above forgot, declared again: import takes it back.
    const queue = await cli('import', 'Queue/training', '--dir', repo);
    expect(queue.stdout).toMatch(/^Adopted Queue\/training again in the inventory/);
    const forgot = await cli('state', 'rm', 'Cluster/c1');
    expect(forgot.stderr).toBe('');
    expect(forgot.stdout).toContain('Forgot Cluster/c1: it left the inventory');
    expect((await cli('state', 'show', 'Cluster/c1')).stderr).toContain(
      'Cluster/c1 was forgotten (`poolsync state forget`): poolsync does not manage it; `poolsync import Cluster/c1` adopts it again',
    );
    // Still declared: import writes nothing, and takes it back into management.
    const manifest = readFileSync(join(repo, 'cluster.yaml'), 'utf8');
    const imported = await cli('import', 'Cluster/c1', '--dir', repo);
    expect(imported.stderr).toBe('');
    expect(imported.code).toBe(0);
    expect(imported.stdout).toBe(
      `Adopted Cluster/c1 again in the inventory (${join(root, 'cp.json.inventory.json')}): poolsync manages it from now on as its manifest at ${join(repo, 'cluster.yaml')}:1:1 declares it, and with prune: true deletes it once that leaves the repository.\n`,
    );
    expect(readFileSync(join(repo, 'cluster.yaml'), 'utf8')).toBe(manifest);
    const shown = await cli('state', 'show', 'Cluster/c1');
    expect(shown.stdout).toContain('Cluster/c1: pool gpu, enabled, health not reported');
    const listed = await cli('state', 'list');
    expect(listed.stdout).not.toContain('Forgotten');
    expect(listed.stdout).toContain('\n3 managed objects.\n');
    expect(listed.stdout).toMatch(/^Cluster\/c1 /m);
    // Managed again: once its manifest goes, prune deletes it, as it would anything poolsync applied.
    rmSync(join(repo, 'cluster.yaml'));
    try {
      const plan = await cli('plan', '.', '--output', 'json');
      const change = (JSON.parse(plan.stdout) as Plan).changes.find(
        (c) => c.address === 'Cluster/c1',
      );
      expect(change?.action).toBe('delete');
    } finally {
      writeFileSync(join(repo, 'cluster.yaml'), manifest);
    }
    // Import of what poolsync manages already is refused, naming the manifest.
    const twice = await cli('import', 'Cluster/c1', '--dir', repo);
    expect(twice.code).toBe(1);
    expect(twice.stderr).toContain(
      `Cluster/c1 is already in the repository at ${join(repo, 'cluster.yaml')}:1:1, and poolsync manages it: nothing to import`,
    );
  });

  it('advises only what works for a system object: show says why there is nothing to import; forget refuses what is not in the inventory', async () => {
    const cli = (...words: string[]) =>
      runInProcess(
        [...words, '--control-plane', url, '--state-dir', join(root, 'state')],
        {},
        repo,
      );
    const why = {
      'Queue/default': 'Queue/default needs no manifest: it is a system queue',
      'Queue/c1': 'Queue/c1 needs no manifest: it is a system queue',
      'ClusterPool/default': 'ClusterPool/default is the system pool',
    };
    for (const [address, words] of Object.entries(why)) {
      const shown = await cli('state', 'show', address);
      expect(shown.code).toBe(1);
      expect(shown.stderr).toContain(
        `${address} is on the control plane, but poolsync does not manage it (it is not in the inventory): ${words}`,
      );
      expect(shown.stderr).not.toContain('poolsync import');
    }
    // manage: [Queue] here: a hand-made queue may be forgotten, so that prune leaves it.
    const forgot = await cli('state', 'forget', 'ClusterPool/default');
    expect(forgot.code).toBe(1);
    expect(forgot.stderr).toContain(
      'ClusterPool/default is not in the inventory (' +
        join(root, 'cp.json.inventory.json') +
        '): poolsync never applied nor adopted it, and poolsync.yaml manage: does not claim ClusterPool, so no prune deletes it: there is nothing to forget',
    );
    expect((await cli('state', 'list')).stdout).not.toContain('Forgotten');
  });

  it('refuses an address neither managed nor live', async () => {
    const io = memoryIo();
    expect(await exitOf(io, forget(args({ address: 'Cluster/ghost' }), io))).toBe(1);
    expect(io.err()).toMatch(
      /Cluster\/ghost is neither in the inventory .* nor on the control plane/,
    );
  });
});

describe('state forget and import while an apply holds the lock', () => {
  it('each is one line saying what was left undone, changing nothing; with --lock-timeout it waits for the lock', async () => {
    const cli = (...words: string[]) =>
      runInProcess(
        [...words, '--control-plane', url, '--state-dir', join(root, 'state')],
        {},
        repo,
      );
    const inventory = join(root, 'cp.json.inventory.json');
    const refused = (undone: string) =>
      new RegExp(
        `^Error: ${undone}: another apply is running against this control plane: pid ${process.pid} on \\S+ since \\S+ ` +
          `\\(lock ${join(root, 'cp.json.apply.lock')}\\)\\. Wait for it to finish; if that process is gone, delete the lock file, ` +
          'then run it again \\(or pass --lock-timeout 5m to wait for it\\)\n$',
      );
    let held = await acquireApplyLock(lockPathFor(url));
    try {
      const before = readFileSync(inventory, 'utf8');
      const forgot = await cli('state', 'forget', 'Queue/training');
      expect(forgot.code).toBe(1);
      expect(forgot.stdout).toBe('');
      expect(forgot.stderr).toMatch(refused('Queue/training was not forgotten'));
      expect(readFileSync(inventory, 'utf8')).toBe(before);

      // --lock-timeout: it waits, and forgets once the apply lets the lock go.
      const io = memoryIo();
      const told = io.stderr.write;
      io.stderr = {
        write: (text: string) => {
          if (text.startsWith('Waiting up to 60s (--lock-timeout) for the lock: '))
            void held.release();
          return told(text);
        },
      };
      const waited = forget(args({ address: 'Queue/training', 'lock-timeout': '1m' }), io);
      expect(await waited).toBe(0);
      expect(io.err()).toMatch(
        /^Waiting up to 60s \(--lock-timeout\) for the lock: another apply is running/,
      );
      expect(io.out()).toContain('Forgot Queue/training: it left the inventory');

      // Import of the forgotten, declared queue: only the record to write, so refused as forget is.
      held = await acquireApplyLock(lockPathFor(url));
      const forgotten = readFileSync(inventory, 'utf8');
      const imported = await cli('import', 'Queue/training', '--dir', repo);
      expect(imported.code).toBe(1);
      expect(imported.stdout).toBe('');
      expect(imported.stderr).toMatch(refused('Queue/training was not adopted again'));
      expect(readFileSync(inventory, 'utf8')).toBe(forgotten);
    } finally {
      await held.release();
    }
    const again = await cli('import', 'Queue/training', '--dir', repo, '--lock-timeout', '1m');
    expect(again.stderr).toBe('');
    expect(again.stdout).toMatch(/^Adopted Queue\/training again in the inventory/);
    const bad = await cli('state', 'forget', 'Queue/training', '--lock-timeout', 'soon');
    expect(bad.stderr).toMatch(/^Error: --lock-timeout "soon" is not a duration/);
  });
});

describe('poolsync state --env', () => {
  it("reads the environment's control plane, as plan --env does", async () => {
    const envRepo = join(root, 'envs');
    mkdirSync(join(root, 'envstate'));
    await writeFiles(
      envRepo,
      twoEnvironments({ dev: 'file:../envstate/dev.json', prod: 'file:../envstate/prod.json' }),
    );
    await applyFolder(envRepo, `file:${join(root, 'envstate/dev.json')}`, 'dev');
    const io = memoryIo();
    expect(await list(args({ dir: envRepo, env: 'dev', 'control-plane': undefined }), io)).toBe(0);
    expect(io.out()).toMatch(
      /^Environment: dev\nControl plane: embedded file:.*envstate\/dev\.json/,
    );
    expect(io.out()).toContain('Cluster/c-dev');
    const none = memoryIo();
    expect(await exitOf(none, list(args({ dir: envRepo, 'control-plane': undefined }), none))).toBe(
      1,
    );
    expect(none.err()).toMatch(/declares environments \(dev, prod\): name one with --env NAME/);
    const typo = memoryIo();
    expect(
      await exitOf(
        typo,
        list(args({ dir: envRepo, env: 'dve', 'control-plane': undefined }), typo),
      ),
    ).toBe(1);
    expect(typo.err()).toBe(
      "Error: no environment 'dve' in poolsync.yaml (did you mean 'dev'?); its environments: dev, prod\n",
    );
  });
});
