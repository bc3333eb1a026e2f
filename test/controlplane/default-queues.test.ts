/** Union v2 default-queue settings in the embedded control plane (and their absence from the REST API). */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EmbeddedControlPlane } from '../../src/controlplane/embedded/embedded.js';
import {
  defaultQueueInUse,
  initialState,
  applyOp,
  DEFAULT_POOL_CONTRACT,
} from '../../src/controlplane/embedded/state.js';
import { ControlPlaneError } from '../../src/controlplane/errors.js';
import { HttpControlPlane } from '../../src/controlplane/rest/http-client.js';
import {
  managedKinds,
  partOf,
  readLiveState,
  type ControlPlane,
} from '../../src/controlplane/types.js';
import { servedControlPlane } from '../support/served-control-plane.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'poolsync-dq-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const codeOf = async (p: Promise<unknown>) => {
  try {
    await p;
  } catch (err) {
    if (err instanceof ControlPlaneError) return `${err.code} ${err.address} ${err.message}`;
    throw err;
  }
  return 'ok';
};

describe('embedded default-queue settings', () => {
  it('sets (upsert), lists sorted, deletes, and persists across a reopen', async () => {
    const path = join(dir, 'cp.json');
    // keepJournal 0: closing writes the snapshot, whose form is checked at the end.
    const cp = await EmbeddedControlPlane.open({ path, keepJournal: 0 });
    expect(managedKinds(cp)).toContain('DefaultQueue');
    await cp.createQueue({
      name: 'batch',
      pool: 'default',
      clusters: ['*'],
      run_concurrency: 1,
      action_concurrency: 1,
      depth: 10,
      priority: 'medium',
      fairness: 'round_robin',
    });
    expect(await cp.setDefaultQueue('ml', 'prod', 'default')).toEqual({
      project: 'ml',
      domain: 'prod',
      queue: 'default',
    });
    await cp.setDefaultQueue('ml', 'prod', 'batch'); // upsert
    await cp.setDefaultQueue('etl', 'dev', 'default');
    await cp.setDefaultQueue('old', 'dev', 'default');
    await cp.deleteDefaultQueue('old', 'dev');
    expect(await codeOf(cp.deleteDefaultQueue('old', 'dev'))).toMatch(
      /^NOT_FOUND DefaultQueue\/old\/dev /,
    );
    const expected = [
      { project: 'etl', domain: 'dev', queue: 'default' },
      { project: 'ml', domain: 'prod', queue: 'batch' },
    ];
    expect(await cp.listDefaultQueues()).toEqual(expected);
    expect((await readLiveState(cp)).default_queues).toEqual(expected);
    await cp.close();

    const again = await EmbeddedControlPlane.open({ path });
    expect(await again.listDefaultQueues()).toEqual(expected);
    await again.close();
    const snapshot = JSON.parse(await readFile(path, 'utf8')) as {
      state: { default_queues: unknown };
    };
    expect(snapshot.state.default_queues).toEqual(expected);
  });

  it('a setting names an existing queue (NOT_FOUND) and a well-formed key (INVALID_ARGUMENT)', async () => {
    const cp = await EmbeddedControlPlane.open({ path: null });
    expect(await codeOf(cp.setDefaultQueue('ml', 'prod', 'nope'))).toBe(
      'NOT_FOUND DefaultQueue/ml/prod DefaultQueue/ml/prod: queue "nope" does not exist; create it first',
    );
    expect(await codeOf(cp.setDefaultQueue('ml/x', 'prod', 'default'))).toMatch(
      /^INVALID_ARGUMENT .*project must be a non-empty string without spaces or "\/"/,
    );
    expect(await codeOf(cp.setDefaultQueue('ml', 'prod', 'Bad_Name'))).toMatch(/^INVALID_ARGUMENT/);
    expect(await cp.listDefaultQueues()).toEqual([]);
    await cp.close();
  });

  it('a snapshot written before the settings existed still opens (no default_queues field)', async () => {
    const path = join(dir, 'cp.json');
    const cp = await EmbeddedControlPlane.open({ path });
    await cp.close();
    const snapshot = JSON.parse(await readFile(path, 'utf8')) as { state: object };
    expect('default_queues' in snapshot.state).toBe(false);
    const again = await EmbeddedControlPlane.open({ path });
    expect(await again.listDefaultQueues()).toEqual([]);
    await again.close();
  });

  it('defaultQueueInUse: the check a queue delete makes', () => {
    const state = initialState(DEFAULT_POOL_CONTRACT);
    expect(defaultQueueInUse(state, 'default')).toBeNull();
    applyOp(state, { op: 'set_default_queue', project: 'ml', domain: 'prod', queue: 'default' });
    applyOp(state, { op: 'set_default_queue', project: 'etl', domain: 'dev', queue: 'default' });
    const err = defaultQueueInUse(state, 'default')!;
    expect(err.code).toBe('FAILED_PRECONDITION');
    expect(err.address).toBe('Queue/default');
    expect(err.message).toBe(
      'queue "default" is the default queue of etl/dev, ml/prod; it cannot be deleted until those settings name another queue or are deleted',
    );
  });
});

describe('a queue named by a setting', () => {
  it('can be drained but not deleted (FAILED_PRECONDITION) until the setting names another queue (remote/_queue.py:934-938, 1011-1012)', async () => {
    const cp = await EmbeddedControlPlane.open({ path: null });
    await cp.setCapabilities({
      drain: true,
      queue_delete: true,
      pool_update: false,
      cluster_move: false,
      queue_move: false,
    });
    await cp.createQueue({
      name: 'batch',
      pool: 'default',
      clusters: ['*'],
      run_concurrency: 1,
      action_concurrency: 1,
    });
    await cp.setDefaultQueue('ml', 'prod', 'batch');
    await cp.drainQueue('batch');
    expect(await codeOf(cp.deleteQueue('batch'))).toBe(
      'FAILED_PRECONDITION Queue/batch queue "batch" is the default queue of ml/prod; it cannot be deleted until those settings name another queue or are deleted',
    );
    await cp.setDefaultQueue('ml', 'prod', 'default');
    await cp.deleteQueue('batch');
    expect((await cp.listQueues()).map((q) => q.name)).toEqual(['default']);
    await cp.close();
  });
});

describe('the REST API has no default-queue settings', () => {
  it('it has no default-queue part: its kinds leave DefaultQueue out, the live state has none, a step for one is refused clearly', async () => {
    const { server } = await servedControlPlane({ port: 0 });
    const cp = new HttpControlPlane(server.url);
    try {
      expect((cp as ControlPlane).defaultQueues).toBeUndefined();
      expect(managedKinds(cp)).not.toContain('DefaultQueue');
      expect((await readLiveState(cp)).default_queues).toBeUndefined();
      const step = (async () =>
        partOf(cp, 'defaultQueues', 'DefaultQueue/ml/prod').setDefaultQueue('ml', 'prod', 'x'))();
      expect(await codeOf(step)).toBe(
        'FAILED_PRECONDITION DefaultQueue/ml/prod DefaultQueue/ml/prod: the poolsync REST API control plane does not manage DefaultQueue objects; run `poolsync plan` against it again',
      );
    } finally {
      await cp.close();
    }
  });
});
