/** An object's live state in words and a tone (src/render/live-status.ts): honest where no health is reported. */
import { describe, expect, it } from 'vitest';
import type { LiveCluster, LiveQueue, LiveState } from '../../src/model/live.js';
import { liveStatusOf, liveStatusWords } from '../../src/render/live-status.js';
import { liveCluster, liveQueue } from '../support/builders.js';

const cluster = (name: string, over: Partial<LiveCluster> = {}) =>
  liveCluster(name, { pool: 'prod', ...over });
const queue = (name: string, over: Partial<LiveQueue> = {}) =>
  liveQueue(name, { pool: 'prod', ...over });
const state = (clusters: LiveCluster[], queues: LiveQueue[] = []): LiveState =>
  ({ pools: [], clusters, queues, assignments: [], capabilities: {} }) as unknown as LiveState;

describe('liveStatusOf', () => {
  it('a cluster: healthy green, unhealthy red with its reasons, disabled yellow, no health reported grey', () => {
    const of = liveStatusOf(state([]));
    const at = (c: LiveCluster) => of({ address: `Cluster/${c.name}`, live: c });
    expect(at(cluster('a'))).toEqual({ tone: 'ok', words: 'pool prod, enabled, healthy' });
    expect(at(cluster('b', { health: 'unhealthy', unhealthy_reasons: ['no heartbeat'] }))).toEqual({
      tone: 'bad',
      words: 'pool prod, enabled, unhealthy (no heartbeat)',
    });
    expect(at(cluster('c', { enabled: false })).tone).toBe('warn');
    expect(at(cluster('d', { health: 'unknown' }))).toEqual({
      tone: 'none',
      words: 'pool prod, enabled, health not reported',
    });
    expect(of({ address: 'Cluster/gone', live: null })).toEqual({
      tone: 'bad',
      words: 'missing: not on the control plane',
    });
  });

  it('a queue: where its work can go, never "0 healthy" for clusters that report no health', () => {
    const reported = liveStatusOf(state([cluster('a')]));
    const q = (over: Partial<LiveQueue> = {}) => ({ address: 'Queue/q', live: queue('q', over) });
    expect(reported(q({ available_clusters: ['a'] }))).toEqual({
      tone: 'ok',
      words: 'pool prod, active, routes to 1 healthy cluster',
    });
    expect(reported(q({ state: 'draining', available_clusters: ['a'] })).tone).toBe('warn');
    expect(reported(q({ clusters: ['elsewhere'] }))).toEqual({
      tone: 'warn',
      words: 'pool prod, active, selects no cluster',
    });
    const unreported = liveStatusOf(
      state([cluster('a', { health: 'unknown' }), cluster('b', { health: 'unknown' })]),
    );
    expect(unreported(q())).toEqual({
      tone: 'none',
      words: 'pool prod, active, 2 selected clusters, health not reported',
    });
    const broken = liveStatusOf(state([cluster('a', { health: 'unhealthy' })]));
    expect(broken(q()).tone).toBe('bad');
    expect(liveStatusWords(state([cluster('a', { health: 'unhealthy' })]))(q())).toBe(
      'pool prod, active, routes to no cluster (1 selected cluster: unhealthy or disabled)',
    );
  });
});
