/**
 * The plan's memory between CLI runs (src/incremental/plan-memory.ts): a remembered plan is
 * given again only when nothing it was derived from changed, and it is exactly the plan a run
 * without the memory makes (compared as JSON, every field). Each change of an input misses.
 */
import { appendFile, mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { watchingOpens } from '../support/watching-opens.js';
import { EmbeddedControlPlane } from '../../src/controlplane/embedded/embedded.js';
import { backendInfo, readLiveState } from '../../src/controlplane/types.js';
import { planRemembering, type MemoryOptions } from '../../src/incremental/plan-memory.js';
import { declaresNothing } from '../../src/plan/inventory.js';
import { planRepository } from '../../src/ops/plan-run.js';
import { inventoryStore, readLiveWithInventory } from '../../src/apply/inventory.js';
import { parseCapabilities } from '../../src/model/capabilities.js';
import { INVENTORY_FORMAT } from '../../src/model/inventory.js';
import { runCli, startCli } from '../support/cli.js';
import { tempDir, writeRepo, type RepoSpec } from '../support/repo.js';

const SPEC: RepoSpec = {
  pools: ['gpu', 'prod'],
  clusters: { 'gpu-1': 'gpu', 'prod-1': 'prod', 'prod-2': 'prod' },
  queues: {
    train: { pool: 'gpu', clusters: ['gpu-1'] },
    web: { pool: 'prod', clusters: ['prod-1', 'prod-2'] },
  },
  assignments: { 'ml/production': 'gpu' },
};

let root: string;
let repo: string;
let cacheDir: string;
let cp: EmbeddedControlPlane;
let liveReads: number;

beforeEach(async () => {
  root = await tempDir('poolsync-memory-');
  repo = await writeRepo(join(root, 'repo'), SPEC);
  cacheDir = join(root, 'cache');
  cp = await EmbeddedControlPlane.open({ path: null });
  await cp.createPool('prod', {
    object_store_ref: { uri: 's3://bucket-prod/data', endpoint: '' },
    secret_store: { type: 'AWS_SECRETS_MANAGER', locator: 'us-east-1' },
  } as never);
  liveReads = 0;
});
afterEach(async () => {
  await cp.close();
});

function options(extra: Partial<MemoryOptions> = {}): MemoryOptions {
  return {
    commit: null,
    memoryDir: cacheDir,
    backend: backendInfo(cp),
    facts: (d) => ({ declaresNothing: declaresNothing(d), prune: d.config.prune }),
    planFolder: planRepository,
    ...extra,
  };
}

const readLive = () => {
  liveReads++;
  return readLiveState(cp);
};

async function remembered(extra: Partial<MemoryOptions> = {}) {
  const r = await planRemembering(repo, readLive, options(extra));
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r;
}

/** The plan without any memory or cache, as JSON. */
async function cold(extra: Partial<MemoryOptions> = {}): Promise<string> {
  const r = await planRepository(repo, () => readLiveState(cp), {
    ...options(extra),
  });
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return JSON.stringify(r.plan);
}

describe('plan memory', () => {
  it('gives the remembered plan again, also after a comment at the end of a file; exactly the cold plan', async () => {
    const first = await remembered();
    expect(first.reused).toBe(false);
    expect(first.plan.steps.length).toBeGreaterThan(0);
    const again = await remembered();
    expect(again.reused).toBe(true);
    expect(again.desired).toBeNull();
    expect(JSON.stringify(again.plan)).toBe(await cold());
    expect(again.facts).toEqual(first.facts);
    expect(again.counts).toEqual(first.counts);

    await appendFile(join(repo, 'queues.yaml'), '# a comment\n\n');
    const commented = await remembered();
    expect(commented.reused).toBe(true);
    expect(JSON.stringify(commented.plan)).toBe(await cold());
  });

  it("plans from the texts it keyed: a file written after its read is the next run's miss", async () => {
    const path = join(repo, 'queues.yaml');
    const text = await readFile(path, 'utf8');
    // Written between the memory's read and the load: the loader reads nothing again.
    const planFolder: MemoryOptions['planFolder'] = async (...args) => {
      await writeFile(path, text.replace('run_concurrency: 10', 'run_concurrency: 11'));
      return planRepository(...args);
    };
    const first = await remembered({ planFolder });
    expect(first.reused).toBe(false);
    expect(JSON.stringify(first.plan)).not.toContain('"run_concurrency":11');
    const next = await remembered();
    expect(next.reused).toBe(false);
    expect(JSON.stringify(next.plan)).toContain('"run_concurrency":11');
  });

  it('misses on every input that changed: a value, the positions, the live state, the options, the commit', async () => {
    await remembered();
    const text = await readFile(join(repo, 'queues.yaml'), 'utf8');

    // A value: planned again, and the plan shows it.
    await writeFile(
      join(repo, 'queues.yaml'),
      text.replace('run_concurrency: 10', 'run_concurrency: 11'),
    );
    const value = await remembered();
    expect(value.reused).toBe(false);
    expect(JSON.stringify(value.plan)).toBe(await cold());
    expect(JSON.stringify(value.plan)).toContain('"run_concurrency":11');

    // A comment before the documents moves their lines (named in the plan's sources).
    await writeFile(join(repo, 'queues.yaml'), `# first\n${text}`);
    expect((await remembered()).reused).toBe(false);
    expect((await remembered()).reused).toBe(true);

    // The live state.
    await cp.registerCluster({ name: 'prod-1', pool: 'prod' } as never);
    const live = await remembered();
    expect(live.reused).toBe(false);
    expect(JSON.stringify(live.plan)).toBe(await cold());

    // The options that shape the plan, and the commit recorded in it.
    const targeted = await remembered({ targets: ['Queue/web'] });
    expect(targeted.reused).toBe(false);
    expect(JSON.stringify(targeted.plan)).toBe(await cold({ targets: ['Queue/web'] }));
    expect((await remembered({ commit: 'a'.repeat(40) })).reused).toBe(false);
    expect((await remembered({ commit: 'a'.repeat(40) })).reused).toBe(true);

    // A new file.
    await writeFile(
      join(repo, 'more.yaml'),
      'apiVersion: poolsync/v1\nkind: Cluster\nmetadata:\n  name: gpu-2\nspec:\n  pool: gpu\n',
    );
    const added = await remembered();
    expect(added.reused).toBe(false);
    expect(JSON.stringify(added.plan)).toBe(await cold());
  });

  it('an invalid change is reported by the loader before the control plane is read', async () => {
    await remembered();
    const reads = liveReads;
    await appendFile(join(repo, 'queues.yaml'), '---\napiVersion: poolsync/v1\nkind: Queue\n');
    const r = await planRemembering(repo, readLive, options());
    expect(r.ok).toBe(false);
    expect(liveReads).toBe(reads);
  });

  it('a record changed on disk is never believed: a miss, and the cold plan', async () => {
    await remembered();
    const plans = join(cacheDir, 'plans');
    const [fingerprint] = (await readdir(plans)).filter((n) => /^[0-9a-f]{32}$/.test(n));
    const folder = join(plans, fingerprint!);
    const [entry] = await readdir(folder, { recursive: true }).then((l) =>
      l.filter((n) => n.endsWith('.json')),
    );
    const path = join(folder, entry!);
    const body = await readFile(path, 'utf8');
    expect(body).toContain('"steps"');
    await writeFile(path, body.replace(/"create_pool"/g, '"delete_pool"'));
    const r = await remembered();
    expect(r.reused).toBe(false);
    expect(JSON.stringify(r.plan)).toBe(await cold());
  });

  it('memoryDir null: the pipeline as it is', async () => {
    const r = await remembered({ memoryDir: null });
    expect(r.reused).toBe(false);
    expect((await remembered({ memoryDir: null })).reused).toBe(false);
    expect(JSON.stringify(r.plan)).toBe(await cold());
  });

  it('poolsync plan: text and JSON output of a remembered plan are byte for byte those of a run without memory', async () => {
    const url = `file:${join(root, 'cp.json')}`;
    const plan = (output: string, cache: string) =>
      runCli(['plan', repo, '--control-plane', url, '-o', output, '--detailed-exitcode'], {
        POOLSYNC_CACHE_DIR: cache,
      });
    for (const output of ['text', 'json']) {
      const first = await plan(output, cacheDir);
      // The CLI remembered it (the record is in the cache folder, never in the checkout).
      expect(await readdir(join(cacheDir, 'plans'))).toContain('secret');
      await appendFile(join(repo, 'pools.yaml'), `# ${output}\n`);
      const reused = await plan(output, cacheDir);
      const without = await plan(output, 'off');
      expect(first.code).toBe(2);
      expect([reused.code, without.code]).toEqual([2, 2]);
      expect(reused.stderr).toBe(without.stderr);
      expect(reused.stdout).toBe(without.stdout);
      expect(reused.stdout).toContain('ClusterPool/gpu');
    }
  });
});

describe('plan memory, embedded state file: the live state is not read while its files are unchanged', () => {
  let path: string;
  beforeEach(async () => {
    path = join(root, 'state', 'cp.json');
    await mkdir(dirname(path));
    const writer = await EmbeddedControlPlane.open({ path });
    await writer.createPool('prod', {
      object_store_ref: { uri: 's3://bucket-prod/data', endpoint: '' },
      secret_store: { type: 'AWS_SECRETS_MANAGER', locator: 'us-east-1' },
    } as never);
    await writer.close();
  });

  /**
   * One CLI-like run: the state opened read-only (lazily, as `plan` opens it, with `lazy`), the
   * live state read with its inventory. `opened`: the state's files the remembering run opened.
   */
  async function run(lazy = false, at = path) {
    const ro = await EmbeddedControlPlane.open({ path: at, readOnly: true, lazy });
    let reads = 0;
    const store = inventoryStore(ro, `file:${at}`);
    try {
      const { value: r, opened } = await watchingOpens(at, () =>
        planRemembering(
          repo,
          () => (reads++, readLiveWithInventory(ro, store)),
          options({ backend: backendInfo(ro), stateKey: ro.stateKey }),
        ),
      );
      if (!r.ok) throw new Error(JSON.stringify(r.errors));
      const cold = await planRepository(repo, () => readLiveWithInventory(ro, store), {
        ...options({ backend: backendInfo(ro) }),
      });
      if (!cold.ok) throw new Error(JSON.stringify(cold.errors));
      expect(JSON.stringify(r.plan)).toBe(JSON.stringify(cold.plan));
      return lazy ? { reused: r.reused, reads, opened } : { reused: r.reused, reads };
    } finally {
      await ro.close();
    }
  }

  async function write(change: (cp: EmbeddedControlPlane) => Promise<unknown>) {
    const writer = await EmbeddedControlPlane.open({ path });
    try {
      await change(writer);
    } finally {
      await writer.close();
    }
  }

  it('hits without a read; a write to the state or to its inventory misses and reads it', async () => {
    expect(await run()).toEqual({ reused: false, reads: 1 });
    expect(await run()).toEqual({ reused: true, reads: 0 });
    await appendFile(join(repo, 'queues.yaml'), '# a comment\n');
    expect(await run()).toEqual({ reused: true, reads: 0 });

    await write((cp) => cp.registerCluster({ name: 'prod-1', pool: 'prod' } as never));
    expect(await run()).toEqual({ reused: false, reads: 1 });
    expect(await run()).toEqual({ reused: true, reads: 0 });

    await write((cp) =>
      cp.inventory.writeInventory({
        format: INVENTORY_FORMAT,
        addresses: ['ClusterPool/old'],
        updated_at: new Date(0).toISOString(),
        commit: null,
        control_plane: null,
      }),
    );
    const afterInventory = await run();
    expect(afterInventory).toEqual({ reused: false, reads: 1 });
    expect(await run()).toEqual({ reused: true, reads: 0 });
  });

  it('opened lazily (as plan opens it), a hit reads none of the state files: their metadata only', async () => {
    const state = [path, `${path}.journal`, `${path}.inventory.json`];
    const miss = await run(true);
    // The observer sees the read of a miss (the snapshot), so it would see one on a hit.
    expect(miss).toMatchObject({ reused: false, reads: 1 });
    expect(miss.opened).toContain(path);
    expect(await run(true)).toEqual({ reused: true, reads: 0, opened: [] });
    await appendFile(join(repo, 'queues.yaml'), '# a comment\n');
    expect(await run(true)).toEqual({ reused: true, reads: 0, opened: [] });
    // The eager open and the lazy one give the same key: either run's record serves the other.
    expect(await run(false)).toEqual({ reused: true, reads: 0 });
    await write((cp) => cp.registerCluster({ name: 'prod-1', pool: 'prod' } as never));
    const written = await run(true);
    expect(written).toMatchObject({ reused: false, reads: 1 });
    expect(written.opened).toEqual(expect.arrayContaining([path]));
    expect(written.opened!.every((f) => state.includes(f))).toBe(true);
    expect(await run(true)).toEqual({ reused: true, reads: 0, opened: [] });
  });

  it('poolsync plan opens the state lazily: a remembered replan opens none of its files', async () => {
    // A preload that logs every open of the state's files, async or sync (the CLI's own process).
    const preload = join(root, 'watch-opens.mjs');
    const log = join(root, 'opens.log');
    await writeFile(preload, WATCH_OPENS);
    const plan = () =>
      startCli(['plan', repo, '--control-plane', `file:${path}`, '--detailed-exitcode'], {
        POOLSYNC_CACHE_DIR: cacheDir,
        NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --import=${pathToFileURL(preload).href}`,
        WATCH_OPENS_PREFIX: path,
        WATCH_OPENS_LOG: log,
      }).done;
    const opens = async () => {
      const text = await readFile(log, 'utf8').catch(() => '');
      await rm(log, { force: true });
      return text.split('\n').filter((l) => l !== '');
    };
    const first = await plan();
    expect(first.code).toBe(2);
    expect(await opens()).toContain(path);
    await appendFile(join(repo, 'queues.yaml'), '# again\n');
    const again = await plan();
    expect([again.code, again.stdout, again.stderr]).toEqual([2, first.stdout, first.stderr]);
    expect(await opens()).toEqual([]);
  });

  it('opened lazily, a state that drains with time is read every run (its key before the read is not kept)', async () => {
    const drainPath = join(root, 'state', 'drain.json');
    const writer = await EmbeddedControlPlane.open({ path: drainPath, capabilities: drainOnly() });
    await writer.setQueueActivity('default', { runs_in_flight: 1, actions_in_flight: 1 });
    await writer.close();
    const lazy = await EmbeddedControlPlane.open({ path: drainPath, readOnly: true, lazy: true });
    expect(await lazy.stateKey()).toMatch(/drain\.json\|/); // of the files alone, before a read
    await lazy.listPools();
    expect(await lazy.stateKey()).toBeNull(); // the read knows it drains
    await lazy.close();
    expect(await run(true, drainPath)).toMatchObject({ reused: false, reads: 1 });
    // Read again (its live state is then the same: the plan is given again, as without a key).
    const again = await run(true, drainPath);
    expect(again).toMatchObject({ reads: 1 });
    expect(again.opened).toContain(drainPath);
  });

  it('has no key for a missing state, nor with drain when a queue has activity (it drains with time, Q7)', async () => {
    const missing = await EmbeddedControlPlane.open({
      path: join(root, 'state', 'none.json'),
      readOnly: true,
    });
    expect(await missing.stateKey()).toBeNull();
    await missing.close();

    const ro = await EmbeddedControlPlane.open({ path, readOnly: true });
    expect(await ro.stateKey()).toMatch(/cp\.json\|/);
    await ro.close();

    const drainPath = join(root, 'state', 'drain.json');
    const writer = await EmbeddedControlPlane.open({
      path: drainPath,
      capabilities: drainOnly(),
    });
    await writer.setQueueActivity('default', { runs_in_flight: 1, actions_in_flight: 1 });
    await writer.close();
    const drained = await EmbeddedControlPlane.open({ path: drainPath, readOnly: true });
    expect(await drained.stateKey()).toBeNull();
    await drained.close();
  });
});

/** The preload of a CLI run that logs the opens of files under WATCH_OPENS_PREFIX. */
const WATCH_OPENS = `import { appendFileSync } from 'node:fs';
import { createRequire, syncBuiltinESMExports } from 'node:module';
const require = createRequire(import.meta.url);
const { WATCH_OPENS_PREFIX: prefix, WATCH_OPENS_LOG: log } = process.env;
for (const [mod, name] of [[require('node:fs/promises'), 'open'], [require('node:fs'), 'openSync']]) {
  const original = mod[name];
  mod[name] = (file, ...rest) => {
    if (String(file).startsWith(prefix)) appendFileSync(log, String(file) + '\\n');
    return original(file, ...rest);
  };
}
syncBuiltinESMExports();
`;

function drainOnly() {
  const parsed = parseCapabilities('drain');
  if (!parsed.ok) throw new Error(parsed.error);
  return parsed.capabilities;
}
