/**
 * The step graph's own contract (src/plan/graph.ts), beside the plans that exercise it: the
 * order of independent steps is the order they were added in, dependencies come first, repeats
 * are one dependency, and a cycle is reported with its path.
 */
import { describe, expect, it } from 'vitest';
import { StepGraph } from '../../src/plan/graph.js';

describe('StepGraph', () => {
  it('finds a step added unchecked (addNew) by its name, and adds it no second time', () => {
    const g = new StepGraph();
    const first = g.add('createPool', 'p', 'create_pool', { name: 'p', contract: {} } as never);
    const q = g.addNew('queue', 'q', 'create_queue', { name: 'q', pool: 'p' } as never);
    const r = g.addNew('queue', 'r', 'create_queue', { name: 'r', pool: 'p' } as never);
    // The first step's rank is 0: a step, not "none".
    g.order(first, q);
    expect(g.at.queue('r')).toBe(r);
    expect(g.at.queue('q')).toBe(q);
    expect(g.add('queue', 'q', 'update_queue', {} as never)).toBe(q);
    expect(g.at.queue('s')).toBeUndefined();
    const steps = g.finalize();
    expect(steps.map((s) => [s.id, s.op, s.target, s.depends_on])).toEqual([
      ['s1', 'create_pool', 'ClusterPool/p', []],
      ['s2', 'create_queue', 'Queue/q', ['s1']],
      ['s3', 'create_queue', 'Queue/r', []],
    ]);
    expect(Object.keys(steps[0]!)).toEqual([
      'id',
      'op',
      'target',
      'depends_on',
      'args',
      'execution',
    ]);
  });

  it('numbers steps in insertion order, each after its dependencies, each dependency once', () => {
    const g = new StepGraph();
    const queue = g.add('queue', 'q', 'create_queue', {
      name: 'q',
      pool: 'p',
      clusters: ['c'],
    } as never);
    const cluster = g.add('register', 'c', 'register_cluster', { name: 'c', pool: 'p' });
    const pool = g.add('createPool', 'p', 'create_pool', { name: 'p', contract: {} } as never);
    const other = g.add('createPool', 'o', 'create_pool', { name: 'o', contract: {} } as never);
    expect(g.add('queue', 'q', 'update_queue', {} as never)).toBe(queue);
    g.order(cluster, queue);
    g.order(pool, queue);
    g.order(pool, queue);
    g.order(pool, cluster);
    g.order(g.at.move('c'), queue); // no such step: nothing
    g.order(queue, queue);
    const steps = g.finalize();
    expect(steps.map((s) => [s.id, s.target, s.depends_on])).toEqual([
      ['s1', 'ClusterPool/p', []],
      ['s2', 'Cluster/c', ['s1']],
      ['s3', 'Queue/q', ['s1', 's2']],
      ['s4', 'ClusterPool/o', []],
    ]);
    expect(g.at.createPool('o')).toBe(other);
  });

  it('keeps a pool delete after thousands of clusters, in their order', () => {
    const g = new StepGraph();
    // More edges than the edge list starts with (it grows).
    const names = Array.from({ length: 3000 }, (_, i) => `c${String(2999 - i).padStart(4, '0')}`);
    const pool = g.add('deletePool', 'p', 'delete_pool', { name: 'p' });
    for (const name of names) g.add('deleteCluster', name, 'delete_cluster', { name });
    for (const name of [...names].reverse()) g.order(g.at.deleteCluster(name), pool);
    const steps = g.finalize();
    expect(steps.at(-1)!.target).toBe('ClusterPool/p');
    expect(steps.slice(0, -1).map((s) => s.target)).toEqual(names.map((n) => `Cluster/${n}`));
    expect(steps.at(-1)!.depends_on).toEqual(names.map((_, i) => `s${i + 1}`));
  });

  it('reports a cycle with its path (a planner bug), from where it closes', () => {
    const g = new StepGraph();
    const entry = g.add('createPool', 'p', 'create_pool', { name: 'p', contract: {} } as never);
    const a = g.add('queue', 'a', 'delete_queue', { name: 'a' });
    const b = g.add('deleteCluster', 'b', 'delete_cluster', { name: 'b' });
    g.order(a, b);
    g.order(b, a);
    g.order(a, entry); // the walk enters the cycle from the pool's step: not part of it
    expect(() => g.finalize()).toThrow(
      'step graph has a cycle: queue:a -> delete_cluster:b -> queue:a',
    );
  });
});
