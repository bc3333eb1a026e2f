/**
 * What a control plane does not report is unknown, not a mismatch: a cluster move without a
 * data-plane report is planned with DATA_PLANE_UNVERIFIED (C4, C5); a pool contract the
 * repository marks unknown (`poolsync/contract: unknown`) is never compared or changed.
 */
import { errorText } from '../../src/render/reasons.js';
import { whyText, warningText } from '../../src/render/common.js';
import { describe, expect, it } from 'vitest';
import { computePlan } from '../../src/plan/index.js';
import type { LiveState } from '../../src/model/live.js';
import { contract, desired, live } from './build.js';
import { actions, change, expectWellFormed, hasStep, warningCodes } from './helpers.js';

const MOVE_CAPS = {
  drain: true,
  queue_delete: true,
  pool_update: true,
  cluster_move: true,
  queue_move: false,
};

/** Union's view: contracts not shown, data planes not reported. */
function unionLive(input: Parameters<typeof live>[0]): LiveState {
  const l = live(input);
  return {
    ...l,
    capabilities: { ...MOVE_CAPS },
    pools: l.pools.map((p) => ({ ...p, contract_known: false as const })),
    clusters: l.clusters.map((c) => ({ ...c, data_plane_reported: false as const })),
  };
}

describe('a cluster move without a data-plane report (cluster_move)', () => {
  const repo = desired({
    pools: { gpu: contract('gpu-bucket'), cpu: contract('cpu-bucket') },
    clusters: { g1: { pool: 'gpu' } },
  });

  it('is planned, with a warning naming what could not be verified (the control plane reports none)', () => {
    const plan = computePlan(
      repo,
      unionLive({
        pools: { gpu: contract('gpu-bucket'), cpu: contract('cpu-bucket') },
        clusters: { g1: { pool: 'cpu', health: 'healthy' } },
      }),
    );
    expectWellFormed(plan);
    expect(actions(plan)['Cluster/g1']).toBe('update');
    expect(hasStep(plan, 'move_cluster Cluster/g1')).toBe(true);
    expect(warningCodes(plan)).toContain('DATA_PLANE_UNVERIFIED Cluster/g1');
    const w = plan.warnings.find((x) => x.code === 'DATA_PLANE_UNVERIFIED')!;
    expect(warningText(w)).toContain("the control plane does not report a cluster's data plane");
    expect(warningText(w)).toContain('object store s3://gpu-bucket');
    expect(warningText(w)).toContain('secret store AWS_SECRETS_MANAGER us-east-1');
    expect(warningText(w)).toMatch(/check the cluster's data-plane deployment/);
    // Nothing was reported, and nothing says so.
    expect(warningText(w)).not.toMatch(
      /\breports a data plane\b|\breported .* (does not match|differs)/,
    );
    expect(whyText(change(plan, 'Cluster/g1'))).toBeNull();
  });

  it('before the first report (health unknown) says that, on any control plane', () => {
    const l = live({
      pools: { gpu: contract('gpu-bucket'), cpu: contract('cpu-bucket') },
      clusters: { g1: { pool: 'cpu', health: 'unknown' } },
    });
    const plan = computePlan(repo, { ...l, capabilities: { ...MOVE_CAPS } });
    expect(actions(plan)['Cluster/g1']).toBe('update');
    const w = plan.warnings.find((x) => x.code === 'DATA_PLANE_UNVERIFIED')!;
    expect(warningText(w)).toContain('has not reported its data plane yet (health unknown)');
  });

  it('a reported data plane that differs still blocks the move (C4), and there is no warning', () => {
    const l = live({
      pools: { gpu: contract('gpu-bucket'), cpu: contract('cpu-bucket') },
      clusters: { g1: { pool: 'cpu', health: 'healthy' } },
    });
    const plan = computePlan(repo, { ...l, capabilities: { ...MOVE_CAPS } });
    expect(actions(plan)['Cluster/g1']).toBe('blocked');
    expect(whyText(change(plan, 'Cluster/g1'))).toMatch(
      /it reports a data plane that does not match/,
    );
    expect(warningCodes(plan)).not.toContain('DATA_PLANE_UNVERIFIED Cluster/g1');
  });

  it('into a pool whose contract is marked unknown: planned, and the warning says so', () => {
    const plan = computePlan(
      desired({
        pools: { gpu: null, cpu: contract('cpu-bucket') },
        clusters: { g1: { pool: 'gpu' } },
      }),
      unionLive({
        pools: { gpu: contract('x'), cpu: contract('cpu-bucket') },
        clusters: { g1: { pool: 'cpu' } },
      }),
    );
    expect(hasStep(plan, 'move_cluster Cluster/g1')).toBe(true);
    const w = plan.warnings.find((x) => x.code === 'DATA_PLANE_UNVERIFIED')!;
    expect(warningText(w)).toContain('which poolsync does not know either: it is marked unknown');
  });
});

describe('a pool contract marked unknown (poolsync/contract: unknown)', () => {
  const repo = desired({ pools: { gpu: null }, clusters: { g1: { pool: 'gpu' } } });

  it('is never diffed against a contract the control plane shows', () => {
    const plan = computePlan(
      repo,
      live({ pools: { gpu: contract('real-bucket') }, clusters: { g1: { pool: 'gpu' } } }),
    );
    expect(plan.errors).toEqual([]);
    expect(change(plan, 'ClusterPool/gpu').action).toBe('noop');
    expect(change(plan, 'ClusterPool/gpu').diff).toEqual([]);
    expect(plan.steps).toEqual([]);
  });

  it('nor against one it does not show (Union)', () => {
    const plan = computePlan(
      repo,
      unionLive({ pools: { gpu: contract('x') }, clusters: { g1: { pool: 'gpu' } } }),
    );
    expect(plan.errors).toEqual([]);
    expect(change(plan, 'ClusterPool/gpu').action).toBe('noop');
    expect(plan.steps).toEqual([]);
  });

  it('cannot create a pool: a plan error naming the annotation and what to write', () => {
    const plan = computePlan(repo, live({}));
    expect(plan.errors.map((e) => e.code)).toEqual(['POOL_CONTRACT_UNKNOWN']);
    expect(errorText(plan.errors[0]!)).toMatch(/poolsync\/contract: unknown.*does not exist/);
    expect(plan.errors[0]!.location).toMatch(/^pools\.yaml:\d+:\d+$/);
    expect(hasStep(plan, 'create_pool ClusterPool/gpu')).toBe(false);
  });
});
