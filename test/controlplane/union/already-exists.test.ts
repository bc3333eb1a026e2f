/**
 * A create that meets another client's object of its name on Union is not taken for
 * poolsync's own: its step judges every AlreadyExists, retried or not (src/apply/steps.ts
 * existing). A cluster Union is DELETING reads as listClusters says: not live, among the
 * deleted (remote/_cluster.py `delete`).
 */
import { Code, ConnectError, type Interceptor } from '@connectrpc/connect';
import { afterEach, describe, expect, it } from 'vitest';
import { runCallStep, StepConflictError } from '../../../src/apply/steps.js';
import type { Step } from '../../../src/model/plan.js';
import { ClusterService } from '../../../src/gen/cloudidl/cluster/cluster_pb.js';
import {
  CLIENT,
  openUnion,
  rawClient,
  rejection,
  startUnionServer,
  type UnionServer,
} from './helpers.js';

let s: UnionServer | undefined;
afterEach(async () => {
  await s?.close();
  s = undefined;
});

const register = (name: string): Step & { op: 'register_cluster' } => ({
  id: 's1',
  target: `Cluster/${name}`,
  depends_on: [],
  op: 'register_cluster',
  args: { name, pool: 'default' },
});

describe.each(['connect', 'grpc'] as const)('over %s', (protocol) => {
  it('a registration whose first answer was lost, meanwhile made disabled by another client: CONFLICT naming enabled, not done', async () => {
    let lost = false;
    // The first CreateCluster: another client registers the name disabled, and the answer is lost.
    const interceptor: Interceptor = (next) => async (req) => {
      if (req.method.name !== 'CreateCluster' || lost) return next(req);
      lost = true;
      await s!.embedded.registerCluster({ name: 'c2', pool: 'default' });
      await s!.embedded.updateCluster('c2', { enabled: false });
      throw new ConnectError('simulated Unavailable', Code.Unavailable);
    };
    s = await startUnionServer({ interceptors: [interceptor] });
    const cp = await openUnion(s, protocol);
    const err = await runCallStep(cp, register('c2')).catch((e: unknown) => e);
    await cp.close();
    expect(lost).toBe(true);
    expect(err).toBeInstanceOf(StepConflictError);
    expect((err as Error).message).toContain(
      'Cluster/c2 already exists, made by another client, with a different enabled (false; a cluster this registration makes is enabled, C6)',
    );
  });

  it('a cluster Union is DELETING: GetCluster reads it as not found, as ListClusters does; a registration of its name is a CONFLICT naming the state', async () => {
    // Its deletion goes on for the whole test: nothing waits for it to end.
    s = await startUnionServer({ deletingMs: 600_000 });
    await s.embedded.registerCluster({ name: 'c3', pool: 'default' });
    const raw = await rawClient(s, ClusterService, protocol);
    const clusterId = { organization: CLIENT.org, name: 'c3' };
    const { cluster } = await raw.client.getCluster({ clusterId });
    await raw.client.deleteCluster({
      clusterId,
      expectedGeneration: cluster?.drainStatus?.generation ?? 0n,
    });
    raw.close();
    const cp = await openUnion(s, protocol);
    const notFound = await rejection(cp.clusters.getCluster('c3'));
    const listed = (await cp.clusters.listClusters()).map((c) => c.name);
    const deleted = await cp.clusters.listDeletedClusters!();
    const err = await runCallStep(cp, register('c3')).catch((e: unknown) => e);
    await cp.close();
    expect(notFound.code).toBe('NOT_FOUND');
    expect(notFound.message).toContain('Cluster/c3: Union is deleting it (DELETING)');
    expect(listed).not.toContain('c3');
    expect(deleted).toContainEqual(expect.objectContaining({ name: 'c3', deleting: true }));
    expect(err).toBeInstanceOf(StepConflictError);
    expect((err as Error).message).toContain(
      'Cluster/c3 already exists, made by another client, with a different state (deleting: Union is deleting it; this create makes a live one)',
    );
  });
});
