/** Compact builders of DesiredState / LiveState for planner tests, over test/support/builders.ts. */
import {
  BASELINE_CAPABILITIES,
  DEFAULT_POOL,
  DEFAULT_QUEUE,
  type PoolContract,
  type QueueSpec,
} from '../../src/model/common.js';
import type { DesiredState } from '../../src/model/desired.js';
import type { ClusterHealth, LiveQueue, LiveState } from '../../src/model/live.js';
import {
  desiredAssignment,
  desiredCluster,
  desiredPool,
  desiredQueue,
  liveCluster,
  livePool,
  liveQueue,
  poolContract,
} from '../support/builders.js';

/** A contract naming its own bucket (P3: a different bucket is a different contract). */
export const contract = (bucket: string): PoolContract => poolContract(`s3://${bucket}`);

const src = (file: string, line = 1) => ({ file, line, column: 1 });

export interface DesiredInput {
  /** null: the contract is marked unknown (`poolsync/contract: unknown`). */
  pools?: Record<
    string,
    PoolContract | null | { contract: PoolContract | null; annotations: Record<string, string> }
  >;
  clusters?: Record<
    string,
    { pool?: string; enabled?: boolean; annotations?: Record<string, string> }
  >;
  queues?: Record<string, Partial<QueueSpec> & { annotations?: Record<string, string> }>;
  assignments?: {
    project: string;
    domain: string;
    workflow?: string;
    pool: string;
    annotations?: Record<string, string>;
  }[];
  prune?: boolean;
  commit?: string | null;
}

export function desired(input: DesiredInput = {}): DesiredState {
  const pools = Object.entries(input.pools ?? {}).map(([name, p], i) => {
    const c = p === null ? null : 'contract' in p ? p.contract : p;
    const annotations = p !== null && 'annotations' in p ? p.annotations : undefined;
    return desiredPool(name, c, { annotations, source: src('pools.yaml', i * 10 + 1) });
  });
  const clusters = Object.entries(input.clusters ?? {}).map(([name, c], i) =>
    desiredCluster(name, { ...c, source: src('clusters.yaml', i * 10 + 1) }),
  );
  const queues = Object.entries(input.queues ?? {}).map(([name, q], i) => {
    const { annotations, ...spec } = q;
    return desiredQueue(name, spec, { annotations, source: src('queues.yaml', i * 10 + 1) });
  });
  const assignments = (input.assignments ?? []).map((a, i) =>
    desiredAssignment({ name: `a${i}`, ...a, source: src('assignments.yaml', i * 10 + 1) }),
  );
  const byName = <T extends { name: string }>(xs: T[]) =>
    xs.sort((a, b) => (a.name < b.name ? -1 : 1));
  return {
    pools: byName(pools),
    clusters: byName(clusters),
    queues: byName(queues),
    assignments,
    config: { prune: input.prune ?? false, ignore: [] },
    commit: input.commit ?? null,
  };
}

export interface LiveInput {
  pools?: Record<string, PoolContract>;
  clusters?: Record<string, { pool?: string; enabled?: boolean; health?: ClusterHealth }>;
  /** Queues other than the co-named and default ones (which are added like the control plane does). */
  queues?: Record<string, Partial<QueueSpec> & { cluster_managed?: boolean }>;
  assignments?: { project: string; domain: string; workflow?: string; pool: string }[];
  /** Skip the C2 co-named queues (e.g. to model an orphan differently). */
  noConamed?: string[];
  /** Model a control plane whose `default` queue is missing (C3). */
  noDefaultQueue?: boolean;
}

export const DEFAULT_CONTRACT = contract('default-bucket');

/** A live state as a control plane would report it: default pool and queue (P1), co-named queues (C2). */
export function live(input: LiveInput = {}): LiveState {
  const pools: Record<string, PoolContract> = {
    [DEFAULT_POOL]: DEFAULT_CONTRACT,
    ...(input.pools ?? {}),
  };
  const clusters = Object.entries(input.clusters ?? {}).map(([name, c]) => liveCluster(name, c));
  const queues = new Map<string, LiveQueue>();
  // C2/C3: the defaults a control plane creates, not the test's sample settings.
  const created = { run_concurrency: 0, action_concurrency: 0 };
  if (!input.noDefaultQueue) queues.set(DEFAULT_QUEUE, liveQueue(DEFAULT_QUEUE, created));
  for (const c of clusters) {
    if (!(input.noConamed ?? []).includes(c.name))
      queues.set(
        c.name,
        liveQueue(c.name, { ...created, pool: c.pool, clusters: [c.name], cluster_managed: true }),
      );
  }
  for (const [name, spec] of Object.entries(input.queues ?? {}))
    queues.set(name, liveQueue(name, spec));
  const livePools = Object.entries(pools).map(([name, contract]) =>
    livePool(
      name,
      contract,
      clusters
        .filter((c) => c.pool === name)
        .map((c) => c.name)
        .sort(),
    ),
  );
  const byName = <T extends { name: string }>(xs: T[]) =>
    xs.sort((a, b) => (a.name < b.name ? -1 : 1));
  return {
    pools: byName(livePools),
    clusters: byName(clusters),
    queues: byName([...queues.values()]),
    assignments: (input.assignments ?? []).map((a) => ({ ...a, workflow: a.workflow ?? null })),
    capabilities: { ...BASELINE_CAPABILITIES },
  };
}
