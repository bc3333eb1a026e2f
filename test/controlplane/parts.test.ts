/**
 * A control plane is the parts it provides: what each backend manages (the planner's
 * BACKEND_KIND source) follows from them, a call through a part a backend lacks is refused
 * with what to do, and open.ts reaches every backend through its folder's opener.
 */
import { createConnectTransport } from '@connectrpc/connect-node';
import { describe, expect, it } from 'vitest';
import { cleanup } from '../support/cleanup.js';
import { EmbeddedControlPlane } from '../../src/controlplane/embedded/embedded.js';
import { FlyteadminControlPlane } from '../../src/controlplane/flyteadmin/client.js';
import { openControlPlane } from '../../src/controlplane/open.js';
import { HttpControlPlane } from '../../src/controlplane/rest/http-client.js';
import {
  backendInfo,
  managedKinds,
  partOf,
  readCapabilities,
  readLiveState,
  type ControlPlane,
} from '../../src/controlplane/types.js';
import { UnionControlPlane } from '../../src/controlplane/union/union.js';
import { BASELINE_CAPABILITIES } from '../../src/model/common.js';
import { Reach } from '../../src/util/reach.js';
import { DEFAULT_RETRY } from '../../src/util/backoff.js';

const keep = <T extends ControlPlane>(cp: T): T => {
  cleanup.add(() => cp.close());
  return cp;
};

// Nothing listens on port 1: these control planes are built, never called over the network.
const NOWHERE = 'http://127.0.0.1:1';
const union = () =>
  keep(
    new UnionControlPlane({
      transport: createConnectTransport({ baseUrl: NOWHERE, httpVersion: '1.1' }),
      org: 'acme',
      url: `union+${NOWHERE}`,
      retry: { ...DEFAULT_RETRY, reach: new Reach(), origin: NOWHERE },
      pageSize: 1000,
      parallelism: 32,
    }),
  );

describe('what a backend manages follows from its parts', () => {
  it('each backend, as docs/plan.md (Backends) lists them', async () => {
    const embedded = keep(await EmbeddedControlPlane.open({ path: null }));
    expect(managedKinds(embedded)).toEqual([
      'ClusterPool',
      'Cluster',
      'Queue',
      'PoolAssignment',
      'DefaultQueue',
      'ExecutionClusterLabel',
    ]);
    expect(managedKinds(keep(new HttpControlPlane(NOWHERE)))).toEqual([
      'ClusterPool',
      'Cluster',
      'Queue',
      'PoolAssignment',
    ]);
    expect(managedKinds(union())).toEqual(['ClusterPool', 'Cluster', 'Queue', 'DefaultQueue']);
    const flyteadmin = keep(new FlyteadminControlPlane(NOWHERE));
    expect(managedKinds(flyteadmin)).toEqual(['PoolAssignment', 'ExecutionClusterLabel']);
    expect(backendInfo(flyteadmin)).toMatchObject({
      name: 'flyteadmin',
      kinds: ['PoolAssignment', 'ExecutionClusterLabel'],
      configKinds: ['ExecutionCluster', 'ClusterLabel', 'ClusterPool', 'Cluster'],
    });
  });

  it('a backend without a part: baseline capabilities, nothing live of its kinds, and calls refused with what to do', async () => {
    const profile = { name: 'labels only' };
    const labelsOnly: ControlPlane = {
      backend: profile,
      executionClusterLabels: {
        listExecutionClusterLabels: async () => [],
        setExecutionClusterLabel: async (label) => label,
        deleteExecutionClusterLabel: async () => {},
      },
      close: async () => {},
    };
    expect(managedKinds(labelsOnly)).toEqual(['ExecutionClusterLabel']);
    expect(await readCapabilities(labelsOnly)).toEqual(BASELINE_CAPABILITIES);
    const live = await readLiveState(labelsOnly);
    expect([live.pools, live.clusters, live.queues, live.assignments]).toEqual([[], [], [], []]);
    expect(live.default_queues).toBeUndefined();
    expect(() => partOf(labelsOnly, 'queues', 'Queue/gpu')).toThrow(
      'Queue/gpu: the labels only control plane does not manage Queue objects; run `poolsync plan` against it again',
    );
    expect(() => partOf(labelsOnly, 'capabilityCalls')).toThrow(
      expect.objectContaining({ code: 'FAILED_PRECONDITION' }),
    );
  });
});

describe('open.ts', () => {
  it('a URL no backend opens is refused naming every form', async () => {
    await expect(openControlPlane('ftp://example.com')).rejects.toThrow(
      /not understood: use file:PATH .*, an http:\/\/ or https:\/\/ URL .*, union\+https:\/\/HOST .* or flyteadmin\+https:\/\/HOST/,
    );
  });
});
