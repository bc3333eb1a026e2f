/**
 * The builders (builders.ts) follow schemas/: each fills every field a kind declares with its
 * default, and what it builds is what poolsync itself makes and reads back (issue 77 item 4).
 */
import { describe, expect, it } from 'vitest';
import { SPEC_FIELDS, type SpecField } from '../../src/gen/manifests/kinds.js';
import { QUEUE_SPEC_FIELDS, queueSpecWithDefaults } from '../../src/model/common.js';
import {
  assignmentShape,
  defaultQueueShape,
  executionClusterLabelShape,
  poolContractShape,
  queueSpecShape,
} from '../../src/model/shapes.js';
import { validateContract } from '../../src/controlplane/embedded/validate.js';
import { shapeProblem } from '../../src/util/json-shape.js';
import {
  desiredAssignment,
  desiredCluster,
  desiredDefaultQueue,
  desiredExecutionClusterLabel,
  liveQueue,
  poolContract,
  queueSpec,
} from './builders.js';

/** `[path, default]` of every field of `fields` that has a default, nested ones too. */
function defaults(fields: Readonly<Record<string, SpecField>>, path = ''): [string, unknown][] {
  return Object.entries(fields).flatMap(([name, f]) => [
    ...('default' in f ? [[`${path}${name}`, f.default] as [string, unknown]] : []),
    ...(f.fields && f.required ? defaults(f.fields, `${path}${name}.`) : []),
  ]);
}
const at = (value: object, path: string): unknown =>
  path.split('.').reduce<unknown>((v, k) => (v as Record<string, unknown>)[k], value);

describe('one builder per kind, from its schema', () => {
  const built = {
    ClusterPool: poolContract(),
    Queue: queueSpec(),
    PoolAssignment: desiredAssignment(),
    DefaultQueue: desiredDefaultQueue(),
    ExecutionClusterLabel: desiredExecutionClusterLabel(),
    Cluster: desiredCluster('c1'),
  };

  it.each(Object.keys(built) as (keyof typeof built)[])(
    '%s: every field its schema defaults is there with its default',
    (kind) => {
      const missing = defaults(SPEC_FIELDS[kind])
        .filter(([path]) => kind !== 'Queue' || QUEUE_SPEC_FIELDS.some((f) => f === path))
        .filter(([path, d]) => JSON.stringify(at(built[kind], path)) !== JSON.stringify(d));
      expect(missing).toEqual([]);
    },
  );

  it('what they build is what poolsync stores and reads back (model/shapes.ts)', () => {
    expect(shapeProblem('contract', poolContractShape, built.ClusterPool)).toBeNull();
    expect(shapeProblem('queue', queueSpecShape, built.Queue)).toBeNull();
    const { name: _a, annotations: _b, source: _c, ...assignment } = built.PoolAssignment;
    expect(shapeProblem('assignment', assignmentShape, assignment)).toBeNull();
    const { name: _d, annotations: _e, source: _f, ...setting } = built.DefaultQueue;
    expect(shapeProblem('default queue', defaultQueueShape, setting)).toBeNull();
    const { name: _g, annotations: _h, source: _i, ...label } = built.ExecutionClusterLabel;
    expect(shapeProblem('label', executionClusterLabelShape, label)).toBeNull();
  });

  it("a queue is the model's own defaults (Q1) over the sample settings", () => {
    expect(queueSpec()).toEqual(
      queueSpecWithDefaults({ run_concurrency: 10, action_concurrency: 100 }),
    );
    expect(queueSpec({ depth: 5, clusters: ['c1'] })).toMatchObject({ depth: 5, clusters: ['c1'] });
    expect(queueSpec({ scheduling: 'greedy_capacity' }).scheduling).toBe('greedy_capacity');
    expect(queueSpec()).not.toHaveProperty('scheduling');
    expect(liveQueue('q', { cluster_managed: true })).toMatchObject({
      name: 'q',
      ...queueSpec(),
      cluster_managed: true,
    });
  });

  it('a contract is one the embedded control plane accepts as it is (P2), nested overrides merged', () => {
    const c = poolContract('gs://b', { secret_store: { locator: 'projects/x' } });
    expect(validateContract(c, 'ClusterPool/p')).toEqual(c);
    expect(c).toMatchObject({
      object_store_ref: { uri: 'gs://b', endpoint: '' },
      secret_store: { type: 'AWS_SECRETS_MANAGER', locator: 'projects/x' },
      image_registry: null,
    });
  });
});
