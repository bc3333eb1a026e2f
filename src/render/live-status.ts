/**
 * An object's live state in a few words and a tone (the dashboard's colour), as the dashboard
 * and `poolsync state` say it. The embedded control plane's clusters never report health (no
 * data plane), and the planner does not count that against a queue (Q8, C5); so neither does
 * this: "health not reported", in no colour, never "unknown" or "0 healthy" as if broken.
 */
import { WILDCARD } from '../model/common.js';
import type { LiveCluster, LiveState } from '../model/live.js';
import { plural } from './common.js';

/** `ok` green, `warn` yellow, `bad` red, `none`: nothing to judge by (grey). */
export type Tone = 'ok' | 'warn' | 'bad' | 'none';

export interface LiveStatus {
  tone: Tone;
  words: string;
}

const NOT_REPORTED = 'health not reported';

/** An object poolsync names by address, as the control plane has it (null: missing). */
interface LiveObject {
  address: string;
  live: object | null;
}

/**
 * The words and tone of each object of `live` (its clusters indexed once, by name and by pool,
 * for every queue: a queue of `*` no longer filters every cluster, issue 79 item 4).
 */
export function liveStatusOf(live: LiveState): (o: LiveObject) => LiveStatus {
  const clusters = new Map(live.clusters.map((c) => [c.name, c]));
  const byPool = new Map<string, LiveCluster[]>();
  for (const c of live.clusters) {
    const members = byPool.get(c.pool);
    if (members) members.push(c);
    else byPool.set(c.pool, [c]);
  }
  const ofPool = (pool: string) => byPool.get(pool) ?? [];
  return ({ address, live: o }) => {
    if (o === null) return { tone: 'bad', words: 'missing: not on the control plane' };
    const field = (name: string) => String((o as Record<string, unknown>)[name]);
    switch (address.slice(0, address.indexOf('/'))) {
      case 'ClusterPool': {
        const members = (o as { member_clusters: string[] }).member_clusters.length;
        return { tone: 'none', words: plural(members, 'cluster') };
      }
      case 'Cluster':
        return clusterStatus(o as LiveCluster);
      case 'Queue': {
        const q = o as { pool: string; clusters: string[]; state?: string };
        const selected =
          q.clusters.length === 1 && q.clusters[0] === WILDCARD
            ? ofPool(q.pool)
            : q.clusters.flatMap((n) => {
                const c = clusters.get(n);
                return c && c.pool === q.pool ? [c] : [];
              });
        const routes = routing(
          selected,
          (o as { available_clusters: string[] }).available_clusters,
        );
        const state = q.state ?? 'active';
        return {
          tone: state === 'active' ? routes.tone : 'warn',
          words: [`pool ${q.pool}`, state, routes.words].join(', '),
        };
      }
      case 'PoolAssignment':
        return { tone: 'none', words: `pool ${field('pool')}` };
      case 'DefaultQueue':
        return { tone: 'none', words: `queue ${field('queue')}` };
      default:
        return { tone: 'none', words: `label ${field('label')}` };
    }
  };
}

function clusterStatus(c: LiveCluster): LiveStatus {
  const [tone, health]: [Tone, string] =
    c.health === 'unknown'
      ? ['none', NOT_REPORTED]
      : c.health === 'unhealthy'
        ? [
            'bad',
            `unhealthy${c.unhealthy_reasons.length > 0 ? ` (${c.unhealthy_reasons.join('; ')})` : ''}`,
          ]
        : ['ok', 'healthy'];
  const words = [`pool ${c.pool}`, c.enabled ? 'enabled' : 'disabled', health]
    .concat(c.deleting ? ['deleting'] : [])
    .join(', ');
  return { tone: tone === 'bad' ? tone : c.enabled && !c.deleting ? tone : 'warn', words };
}

/** Where a queue's work can go: the control plane's healthy clusters, and the selected ones that report no health. */
function routing(selected: readonly LiveCluster[], available: readonly string[]): LiveStatus {
  // As the plan's QUEUE_ROUTES_NOWHERE: a warning (a retired queue may route nowhere on purpose).
  if (selected.length === 0) return { tone: 'warn', words: 'selects no cluster' };
  const unreported = selected.filter((c) => c.enabled && c.health === 'unknown').length;
  const healthy = available.length;
  if (unreported === 0)
    return healthy > 0
      ? { tone: 'ok', words: `routes to ${plural(healthy, 'healthy cluster')}` }
      : {
          tone: 'bad',
          words: `routes to no cluster (${plural(selected.length, 'selected cluster')}: unhealthy or disabled)`,
        };
  const notReported = `${plural(unreported, 'selected cluster')}, ${NOT_REPORTED}`;
  return healthy === 0
    ? { tone: 'none', words: notReported }
    : {
        tone: 'ok',
        words: `routes to ${plural(healthy, 'healthy cluster')}; ${unreported} more selected, ${NOT_REPORTED}`,
      };
}

/** The words alone: what `poolsync state list|show` and /status `managed` say of each object. */
export function liveStatusWords(live: LiveState): (o: LiveObject) => string {
  const of = liveStatusOf(live);
  return (o) => of(o).words;
}

/** The inventory's protection marks (docs/plan.md, Guardrails) as their annotations. */
export function protectionAnnotations(marks: readonly string[] | undefined): string[] {
  return (marks ?? []).map((m) => `poolsync/${m.replace('_', '-')}`);
}

/** `; kept by the inventory: poolsync/prevent-destroy` after an object's state, or nothing. */
export function protectionWords(marks: readonly string[] | undefined): string {
  if (!marks?.length) return '';
  return `; kept by the inventory: ${protectionAnnotations(marks).join(', ')}`;
}
