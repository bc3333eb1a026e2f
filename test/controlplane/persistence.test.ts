import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import {
  appendFile,
  copyFile,
  mkdtemp,
  readFile,
  rm,
  stat,
  utimes,
  writeFile,
} from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EmbeddedControlPlane } from '../../src/controlplane/embedded/embedded.js';
import { openControlPlane } from '../../src/controlplane/open.js';
import { readLiveState } from '../../src/controlplane/types.js';
import { coreCalls } from './core-calls.js';
import { QUEUE_DEFAULTS, QUEUE_SETTINGS, type PoolContract } from '../../src/model/common.js';
import { raceChildren } from '../util/child-race.js';
import { poolContract } from '../support/builders.js';

const WRITER = join(import.meta.dirname, '../fixtures/controlplane/writer.ts');
const OPEN_CHILD = join(import.meta.dirname, 'helpers/open-child.ts');
const PROD: PoolContract = poolContract('s3://prod', {
  secret_store: { type: 'VAULT', locator: 'secret/prod' },
});

let dir: string;
let children: ChildProcess[] = [];
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'poolsync-cp-store-'));
});
afterEach(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  children = [];
  await rm(dir, { recursive: true, force: true });
});

/** Starts the writer child; resolves once it prints "ready"; tracks the last acked count. */
function startChild(path: string, mode: 'write' | 'hold', prefix = 'w') {
  const child = spawn(process.execPath, ['--import', 'tsx', WRITER, path, mode, prefix], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  const state = { acked: 0, stderr: '' };
  let onLine: (line: string) => void = () => undefined;
  let buffer = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    buffer += chunk.toString();
    const lines = buffer.split('\n');
    buffer = lines.pop()!;
    for (const line of lines) {
      if (/^\d+$/.test(line)) state.acked = Number(line);
      onLine(line);
    }
  });
  child.stderr!.on('data', (c: Buffer) => (state.stderr += c.toString()));
  const waitFor = (pred: (line: string) => boolean) =>
    new Promise<void>((resolve, reject) => {
      onLine = (line) => pred(line) && resolve();
      child.once('exit', (code) => reject(new Error(`writer exited (${code}): ${state.stderr}`)));
    });
  const killed = () => new Promise((r) => child.once('exit', r));
  return { child, state, waitFor, killed };
}

describe('embedded control plane persistence (file:PATH)', () => {
  it('state survives a restart, with the default pool contract set at creation (P1)', async () => {
    const path = join(dir, 'nested', 'cp.json');
    const a = await EmbeddedControlPlane.open({ path, defaultPoolContract: PROD });
    await a.createPool('staging', {
      ...PROD,
      object_store_ref: { uri: 'gs://staging', endpoint: '' },
    });
    await a.registerCluster({ name: 'stg-1', pool: 'staging' });
    await a.reportClusterStatus('stg-1', { object_store_uri: 'gs://staging' });
    await a.createQueue({
      name: 'batch',
      pool: 'staging',
      clusters: ['stg-1'],
      run_concurrency: 2,
      action_concurrency: 3,
    });
    await a.setAssignment({ project: 'p', domain: 'd', workflow: null, pool: 'staging' });
    await a.updateCluster('stg-1', { enabled: false });
    const before = await readLiveState(a);
    await a.close();

    // A different default contract on reopen does not change an existing state.
    const b = await EmbeddedControlPlane.open({ path });
    expect(await readLiveState(b)).toEqual(before);
    expect((await b.getPool('default')).contract).toEqual(PROD);
    await b.close();
  });

  it('openControlPlane("file:PATH") refuses a folder that does not exist; with createFolder it creates it and persists', async () => {
    const url = `file:${join(dir, 'a', 'b', 'state.json')}`;
    await expect(openControlPlane(url)).rejects.toThrow(
      /the folder .*\/a\/b does not exist, so there is no control-plane state at/,
    );
    const cp = coreCalls(await openControlPlane(url, { createFolder: true }));
    await cp.createPool('prod', PROD);
    await cp.close();
    const again = coreCalls(await openControlPlane(url));
    expect((await again.listPools()).map((p) => p.name)).toEqual(['default', 'prod']);
    await again.close();
  });

  it('does not rewrite the state file on every call: calls append to a journal (quality.md)', async () => {
    const path = join(dir, 'cp.json');
    const cp = await EmbeddedControlPlane.open({ path, compactAfter: 1000 });
    const snapshot = await readFile(path, 'utf8');
    for (let i = 0; i < 20; i++)
      await cp.createQueue({ name: `q-${i}`, run_concurrency: 1, action_concurrency: 1 });
    expect(await readFile(path, 'utf8')).toBe(snapshot);
    const journal = (await readFile(`${path}.journal`, 'utf8')).trim().split('\n');
    expect(journal).toHaveLength(20);
    await cp.close();
    // A short journal stays as it is: the snapshot plus the journal hold everything.
    expect(await readFile(path, 'utf8')).toBe(snapshot);
    expect((await readFile(`${path}.journal`, 'utf8')).trim().split('\n')).toHaveLength(20);
    const again = await EmbeddedControlPlane.open({ path, keepJournal: 20 });
    expect(await again.listQueues()).toHaveLength(21);
    await again.createQueue({ name: 'q-20', run_concurrency: 1, action_concurrency: 1 });
    await again.close();
    // Opening with 20 ops journaled (keepJournal 20) compacted them; closing after one more
    // left that one; a writer that reaches keepJournal compacts on close: the journal is empty.
    expect(JSON.parse(await readFile(path, 'utf8')).state.queues).toHaveLength(21);
    expect((await readFile(`${path}.journal`, 'utf8')).trim().split('\n')).toHaveLength(1);
    const third = await EmbeddedControlPlane.open({ path, keepJournal: 2 });
    await third.createQueue({ name: 'q-21', run_concurrency: 1, action_concurrency: 1 });
    await third.close();
    expect((await stat(`${path}.journal`)).size).toBe(0);
    expect(JSON.parse(await readFile(path, 'utf8')).state.queues).toHaveLength(23);
  });

  it('stores a queue spec with its members in the schema order, whatever the order asked, and no alias of the request', async () => {
    const path = join(dir, 'cp.json');
    const cp = await EmbeddedControlPlane.open({ path, keepJournal: 1 });
    const clusters = ['*'];
    await cp.createQueue({
      fairness: 'shuffle_interleave',
      priority: 'max',
      depth: 5,
      action_concurrency: 2,
      run_concurrency: 1,
      clusters,
      pool: 'default',
      name: 'q',
    });
    clusters.push('changed-after-the-call');
    await cp.close();
    const { queues } = JSON.parse(await readFile(path, 'utf8')).state;
    const spec = queues.find((q: { name: string }) => q.name === 'q').spec;
    expect(Object.keys(spec)).toEqual(['pool', 'clusters', ...QUEUE_SETTINGS]);
    expect(spec.clusters).toEqual(['*']);
  });

  it('compacts the journal into a new snapshot once it passes the limit', async () => {
    const path = join(dir, 'cp.json');
    const cp = await EmbeddedControlPlane.open({ path, compactAfter: 10 });
    const spec = {
      ...QUEUE_DEFAULTS,
      pool: 'default',
      clusters: ['*'],
      run_concurrency: 1,
      action_concurrency: 1,
    };
    await cp.createQueue({ name: 'q', ...spec });
    // Updates add no object: the journal reaches compactAfter (the state has 3 objects).
    await Promise.all(
      Array.from({ length: 25 }, (_, i) => cp.updateQueue('q', { ...spec, depth: i + 1 })),
    );
    const lines = (await readFile(`${path}.journal`, 'utf8')).split('\n').filter(Boolean).length;
    expect(lines).toBeLessThan(10);
    expect(JSON.parse(await readFile(path, 'utf8')).seq).toBeGreaterThanOrEqual(10);
    await cp.close();
  });

  it('drops a torn last journal line (a call that never returned) and keeps every complete one', async () => {
    const path = join(dir, 'cp.json');
    const cp = await EmbeddedControlPlane.open({ path, compactAfter: 1000 });
    await cp.createPool('prod', PROD);
    await cp.registerCluster({ name: 'prod-1', pool: 'prod' });
    // Copy the live files as a crash would leave them, plus half of a further line.
    const copy = join(dir, 'copy.json');
    await copyFile(path, copy);
    await copyFile(`${path}.journal`, `${copy}.journal`);
    await appendFile(`${copy}.journal`, '{"seq":99,"op":{"op":"create_pool","na');
    await cp.close();
    const recovered = await EmbeddedControlPlane.open({ path: copy });
    expect((await recovered.getCluster('prod-1')).pool).toBe('prod');
    expect((await recovered.listPools()).map((p) => p.name)).toEqual(['default', 'prod']);
    await recovered.close();
  });

  it('a corrupt state file is a clear error, not a crash', async () => {
    const path = join(dir, 'cp.json');
    await writeFile(path, '{"format":"poolsync-control-plane", "vers');
    await expect(EmbeddedControlPlane.open({ path })).rejects.toThrow(
      /not a poolsync control-plane state file/,
    );
    // The failed open released its lock.
    await expect(stat(`${path}.lock`)).rejects.toThrow();
  });

  it('single writer: a second opener gets an error naming the holder pid; a dead holder is taken over', async () => {
    const path = join(dir, 'cp.json');
    const holder = startChild(path, 'hold');
    await holder.waitFor((l) => l === 'ready');
    const err = await EmbeddedControlPlane.open({ path }).then(
      () => null,
      (e: Error) => e,
    );
    expect(err?.message).toContain(`in use by process ${holder.child.pid}`);
    const exited = holder.killed();
    holder.child.kill('SIGKILL');
    await exited;
    const cp = await EmbeddedControlPlane.open({ path });
    // Same process, second open: refused too.
    await expect(EmbeddedControlPlane.open({ path })).rejects.toThrow(
      /already open in this process/,
    );
    await cp.close();
    // close() released the lock.
    await (await EmbeddedControlPlane.open({ path })).close();
  });

  it("single writer: of several processes taking over a dead holder's lock at once, exactly one wins", async () => {
    const path = join(dir, 'cp.json');
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
    await writeFile(
      `${path}.lock`,
      JSON.stringify({
        pid: Number(dead.stdout.toString()),
        host: hostname(),
        since: '2020-01-01T00:00:00.000Z',
      }),
    );
    const outcomes = await raceChildren(OPEN_CHILD, [path], 6);
    expect(outcomes.filter((o) => o === 'won')).toHaveLength(1);
    expect(
      outcomes.filter((o) => o.includes(`control-plane state ${path} is in use by process`)),
    ).toHaveLength(5);
    // The winner closed cleanly: the lock is gone and the state opens again.
    await (await EmbeddedControlPlane.open({ path })).close();
  });

  it('single writer: an unreadable lock is waited for while young and taken over once stale', async () => {
    const path = join(dir, 'cp.json');
    await writeFile(`${path}.lock`, '');
    const old = new Date(Date.now() - 60_000);
    await utimes(`${path}.lock`, old, old);
    await (await EmbeddedControlPlane.open({ path })).close();
    await expect(stat(`${path}.lock`)).rejects.toThrow();
  });

  it('SIGKILL in the middle of writes leaves a readable state holding every acknowledged write', async () => {
    const path = join(dir, 'cp.json');
    // Kill at different points (mid-batch, mid-compaction: the writer's updates fold often).
    for (const [round, waitAcks] of [8, 40, 64, 120, 200].entries()) {
      const w = startChild(path, 'write', `r${round}`);
      await w.waitFor((l) => /^\d+$/.test(l) && Number(l) >= waitAcks);
      const exited = w.killed();
      w.child.kill('SIGKILL');
      await exited;
      const acked = w.state.acked;
      const cp = await EmbeddedControlPlane.open({ path });
      const names = new Set((await cp.listQueues()).map((q) => q.name));
      for (let i = 0; i < acked; i++)
        expect(names.has(`r${round}-${i}`), `r${round}-${i} acked but lost`).toBe(true);
      await cp.close();
    }
  });
});
