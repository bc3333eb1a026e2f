/**
 * Union's own client checks poolsync's Union stand-in: the real `flyte` CLI (flyte 2.12.1 with
 * flyteplugins-union 0.19.1, installed by scripts/install-union-venv.sh) lists, gets and creates
 * pools, clusters and queues, drains, deletes and undeletes them against the stand-in on
 * 127.0.0.1, and poolsync's union backend reads what the CLI wrote (and the CLI what poolsync
 * wrote). Where the two disagreed, the stand-in was wrong and was fixed (docs/union.md, "Union's
 * client against the stand-in"). Skipped, saying why, without the venv.
 *
 * The CLI runs with `--insecure` (plain HTTP): it then sends no token (flyte
 * remote/_client/auth/_session.py), so the stand-in is started accepting calls without one.
 */
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { readLiveState } from '../../../src/controlplane/types.js';
import { tempDir } from '../../apply/helpers/repo.js';
import { findUnionVenv } from '../../helpers/union-venv.js';
import { openUnion, startUnionServer, type UnionServer } from './helpers.js';

const run = promisify(execFile);
const venv = findUnionVenv();
if (typeof venv === 'string') console.warn(`flyte-cli.e2e.test.ts ${venv}`);

let s: UnionServer | undefined;
afterEach(async () => {
  await s?.close();
  s = undefined;
});

/** Runs `flyte --endpoint dns:///HOST --org acme --insecure ARGS` without a terminal. */
async function flyte(
  server: UnionServer,
  home: string,
  args: string[],
): Promise<{ code: number; out: string }> {
  if (typeof venv === 'string') throw new Error(venv);
  const argv = ['--endpoint', `dns:///${server.host}`, '--org', 'acme', '--insecure', ...args];
  try {
    const { stdout, stderr } = await run(venv.flyte, argv, {
      env: { PATH: process.env.PATH ?? '', HOME: home, NO_COLOR: '1', COLUMNS: '200' },
      timeout: 120_000,
    });
    return { code: 0, out: stdout + stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return {
      code: typeof e.code === 'number' ? e.code : 1,
      out: `${e.stdout ?? ''}${e.stderr ?? ''}`,
    };
  }
}

/**
 * What Union's client reads, through its own objects (flyteplugins.union.remote), in one process
 * (importing flyte takes seconds): for each `KIND:NAME`, `to_dict()` of that object, or of every
 * one listed (`KIND:--list`; `KIND:--deleted`: the soft-deleted ones).
 */
const READ = `
import json, os, sys, flyte
from flyteplugins.union.remote import Queue, Cluster, ClusterPool
flyte.init(endpoint=sys.argv[1], insecure=True, org="acme")
out = []
for spec in sys.argv[2:]:
    kind, name = spec.split(":")
    cls = {"queue": Queue, "cluster": Cluster, "pool": ClusterPool}[kind]
    if name in ("--list", "--deleted"):
        out.append([x.to_dict() for x in cls.listall(deleted=name == "--deleted")])
    else:
        out.append(cls.get(name).to_dict())
print(json.dumps(out, default=str), flush=True)
# The client's native HTTP threads may abort the interpreter's teardown (SIGABRT): leave at once.
os._exit(0)
`;

async function remote(server: UnionServer, home: string, args: string[]): Promise<unknown[]> {
  if (typeof venv === 'string') throw new Error(venv);
  const argv = ['-c', READ, `dns:///${server.host}`, ...args];
  const env = { PATH: process.env.PATH ?? '', HOME: home };
  try {
    const { stdout } = await run(venv.python, argv, { env, timeout: 120_000 });
    return JSON.parse(stdout.trim().split('\n').pop()!);
  } catch (err) {
    const e = err as { stderr?: string };
    const e2 = err as { stdout?: string; signal?: string };
    throw new Error(
      `Union's client failed to read ${args.join(' ')} (${e2.signal ?? 'exit'}): ${e.stderr ?? ''}${e2.stdout ?? ''}`,
    );
  }
}

const byName = (list: unknown, name: string) =>
  (list as { name: string }[]).find((x) => x.name === name);

describe.skipIf(typeof venv === 'string')(
  "Union's own CLI against poolsync's Union stand-in",
  () => {
    it('pools, clusters and queues: create, get, drain, delete, undelete; poolsync reads what the CLI wrote', async () => {
      s = await startUnionServer({ acceptUnauthenticated: true });
      const home = await tempDir('poolsync-flyte-home-');
      const poolFile = join(home, 'gpu-pool.yaml');
      await writeFile(
        poolFile,
        'name: gpu\nconfig:\n  object_store_ref: {uri: s3://gpu-bucket/meta, endpoint: ""}\n  secret_store: {type: AWS_SECRETS_MANAGER, locator: us-east-1}\n  image_registry: {locator: reg.example.com/union}\n',
      );
      const ok = async (args: string[]) => {
        const r = await flyte(s!, home, args);
        expect(r.code, `flyte ${args.join(' ')}: ${r.out}`).toBe(0);
        return r.out;
      };

      await ok(['create', 'cluster-pool', 'gpu', '--file', poolFile]);
      await ok(['create', 'cluster', 'g1', '--pool', 'gpu']);
      await ok(['create', 'cluster', 'c1']);
      await ok([
        'create',
        'queue',
        'batch',
        '--run-concurrency',
        '5',
        '--action-concurrency',
        '50',
        '--cluster-pool',
        'gpu',
        '--cluster',
        'g1',
        '--max-resources',
        'cpu=64',
      ]);

      // What the CLI reads back.
      const [pools, queueRead, ownRead] = await remote(s, home, [
        'pool:--list',
        'queue:batch',
        'queue:g1',
      ]);
      // ClusterPool.to_dict() is the message itself (MessageToDict).
      const gpu = (pools as { id: { name: string } }[]).find((p) => p.id.name === 'gpu');
      expect(JSON.stringify(gpu)).toContain('s3://gpu-bucket/meta');
      const queue = queueRead as Record<string, unknown>;
      expect(queue).toMatchObject({
        name: 'batch',
        status: 'active',
        run_concurrency: 5,
        action_concurrency: 50,
        depth: 10000,
        clusters: ['g1'],
        cluster_pool: 'gpu',
        max_resources: { cpu: '64' },
        scheduling: 'strict_fifo',
      });
      const own = ownRead as Record<string, unknown>;
      expect(own).toMatchObject({ cluster_managed: true, cluster_pool: 'gpu', clusters: ['g1'] });

      // What poolsync reads of what the CLI wrote.
      const cp = await openUnion(s, 'connect');
      const live = await readLiveState(cp);
      expect(live.pools.find((p) => p.name === 'gpu')?.contract).toEqual({
        object_store_ref: { uri: 's3://gpu-bucket/meta', endpoint: '' },
        secret_store: { type: 'AWS_SECRETS_MANAGER', locator: 'us-east-1' },
        image_registry: { locator: 'reg.example.com/union' },
      });
      expect(live.clusters.find((c) => c.name === 'g1')).toMatchObject({
        pool: 'gpu',
        enabled: true,
      });
      expect(live.queues.find((q) => q.name === 'batch')).toMatchObject({
        pool: 'gpu',
        clusters: ['g1'],
        run_concurrency: 5,
        depth: 10000,
        unknown_fields: [8, 9],
      });

      // Cluster drain and activate: poolsync's `enabled`.
      await ok(['update', 'cluster', 'c1', '--drain', '--yes']);
      expect((await cp.getCluster('c1')).enabled).toBe(false);
      await ok(['update', 'cluster', 'c1', '--activate', '--yes']);
      expect((await cp.getCluster('c1')).enabled).toBe(true);
      // A cluster another queue names cannot be deleted (Union: unpin it first).
      const pinned = await flyte(s, home, ['delete', 'cluster', 'g1', '--yes']);
      expect(pinned.code).not.toBe(0);
      expect(pinned.out).toMatch(/batch/);

      // Queue drain, delete (soft: the name stays reserved), undelete.
      await ok(['update', 'queue', 'batch', '--drain']);
      const early = await flyte(s, home, ['delete', 'queue', 'batch', '--yes']);
      expect(early.code).toBe(0); // drained at once: nothing in flight
      expect((await cp.listDeletedQueues()).map((q) => q.name)).toEqual(['batch']);
      const deleted = (await remote(s, home, ['queue:--deleted']))[0];
      expect(byName(deleted, 'batch')).toMatchObject({ status: 'deleted' });
      const taken = await flyte(s, home, [
        'create',
        'queue',
        'batch',
        '--run-concurrency',
        '1',
        '--action-concurrency',
        '1',
      ]);
      expect(taken.code).not.toBe(0);
      await ok(['undelete', 'queue', 'batch']);
      expect(await cp.getQueue('batch')).toMatchObject({ state: 'drained', run_concurrency: 5 });
      // The caps came back with it.
      expect((await cp.getQueue('batch')).unknown_fields).toEqual([8, 9]);
      await ok(['update', 'queue', 'batch', '--activate']);

      // What poolsync writes, the CLI reads.
      await cp.createPool('cpu', {
        object_store_ref: { uri: 's3://cpu-bucket/meta', endpoint: '' },
        secret_store: { type: 'KUBERNETES', locator: 'union' },
        image_registry: null,
      });
      await cp.registerCluster({ name: 'k1', pool: 'cpu' });
      await cp.updateCluster('k1', { enabled: false });
      const [k1Read] = await remote(s, home, ['cluster:k1']);
      const k1 = k1Read as Record<string, unknown>;
      expect(JSON.stringify(k1)).toMatch(/cpu/);
      expect(JSON.stringify(k1)).toMatch(/drain/);
      await cp.drainQueue('k1');
      await cp.deleteCluster('k1');
      const gone = (await remote(s, home, ['cluster:--deleted']))[0];
      // Cluster.to_dict() is the message itself: the deleted cluster, with deleted_at.
      expect(JSON.stringify(gone)).toMatch(/"name":"k1"[^]*"deletedAt"/);
      await cp.close();
    }, 300_000);
  },
);
