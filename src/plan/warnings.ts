/** Queue warnings computed on the state the plan leads to: QUEUE_ROUTES_NOWHERE, QUEUE_NO_HEALTHY_CLUSTER. */
import { address } from '../model/common.js';
import type { PlanWarning } from '../model/plan.js';
import { isWildcard, type ClusterDecision, type PlanContext } from './context.js';
import { reasonOf, reasonText, warning } from './reasons.js';

type Member = [string, NonNullable<ClusterDecision['final']>];

/**
 * Q8: routing skips disabled and unhealthy clusters. `unknown` (not reported yet) is not
 * counted against the queue: a fresh cluster reports once its data plane runs (C5). Null
 * when the queue routes somewhere (or names no cluster the plan keeps), else why not.
 */
const isDead = (f: Member[1]): boolean => !f.enabled || f.health === 'unhealthy';
const isAlive = (f: Member[1] | null | undefined): boolean => !!f && !isDead(f);

function noRoute(routed: readonly Member[]): string | null {
  if (routed.length === 0) return null;
  const dead = routed.filter(([, f]) => isDead(f));
  if (dead.length !== routed.length) return null;
  const shown = dead.slice(0, 5);
  const clusters = shown.map(([c]) => address('Cluster', c));
  const states = shown.map(([, f]) => (f.enabled ? 'unhealthy' : 'disabled'));
  return reasonText(reasonOf('NO_ROUTE', { clusters, states, more: dead.length - shown.length }))!;
}

/** The queue warnings of the assembled decisions, given the warnings of the passes (`earlier`). */
export function queueWarnings(ctx: PlanContext, earlier: readonly PlanWarning[]): PlanWarning[] {
  const out: PlanWarning[] = [];
  // A co-named queue a re-registration leaves behind is told once, by CONAMED_QUEUE_ORPHANED
  // on its cluster (which says it routes nowhere and what to do): not again as a queue warning.
  const orphaned = new Set(
    earlier
      .filter((w) => w.code === 'CONAMED_QUEUE_ORPHANED')
      .map((w) => w.address.slice('Cluster/'.length)),
  );
  const wildcardVerdicts = new Map<string, string | null>();
  const members = new Map<string, Member[]>();
  for (const [name, d] of ctx.clusters) {
    if (!d.final) continue;
    const list = members.get(d.final.pool);
    if (list) list.push([name, d.final]);
    else members.set(d.final.pool, [[name, d.final]]);
  }

  for (const [name, q] of ctx.queues) {
    const final = q.final;
    if (!final) continue;
    if (final.clusters.length === 0) {
      // Only when this plan empties it, creates it empty, or cannot give it what the repo
      // asks: a queue retired on purpose earlier is not re-reported on every plan.
      const emptiedNow = q.live === null || q.live.clusters.length > 0;
      // A default-queue setting sends runs to it: said, even of an orphaned co-named queue.
      const settings = ctx.settingQueues.get(name);
      if ((emptiedNow || q.change.action === 'blocked') && (!orphaned.has(name) || settings)) {
        const by = q.change.caused_by;
        const why = reasonText(
          by
            ? (q.change.cause ?? reasonOf('CAUSED_BY', { by }))
            : q.change.action === 'blocked'
              ? reasonOf('ROUTES_NOWHERE_BLOCKED', {})
              : reasonOf('ROUTES_NOWHERE_EMPTY_SELECTOR', {}),
        )!;
        const cause = settings
          ? reasonText(reasonOf('ROUTES_NOWHERE_DEFAULT_OF', { why, settings: [...settings] }))!
          : why;
        const addr = address('Queue', name);
        out.push(warning('QUEUE_ROUTES_NOWHERE', addr, { queue: addr, cause, pool: final.pool }));
      }
      continue;
    }
    if (!q.declared) continue;
    const wildcard = isWildcard(final.clusters);
    if (wildcard && !members.has(final.pool)) {
      // `*` in a pool no cluster is registered in: nothing to route to until one is.
      const addr = address('Queue', name);
      const cause = reasonText(reasonOf('ROUTES_NOWHERE_EMPTY_POOL', { pool: final.pool }))!;
      out.push(warning('QUEUE_ROUTES_NOWHERE', addr, { queue: addr, cause, pool: final.pool }));
      continue;
    }
    // A pool's `*` queues all route to its members: judged once per pool.
    let why = wildcard ? wildcardVerdicts.get(final.pool) : undefined;
    // Most pinned queues name a live, enabled cluster: settled without building the list.
    if (!wildcard && final.clusters.some((c) => isAlive(ctx.clusters.get(c)?.final))) continue;
    if (why === undefined) {
      why = noRoute(
        wildcard
          ? (members.get(final.pool) ?? [])
          : final.clusters.flatMap((c) => {
              const f = ctx.clusters.get(c)?.final;
              return f ? [[c, f] as Member] : [];
            }),
      );
      if (wildcard) wildcardVerdicts.set(final.pool, why);
    }
    if (why !== null) {
      const addr = address('Queue', name);
      out.push(warning('QUEUE_NO_HEALTHY_CLUSTER', addr, { queue: addr, why }));
    }
  }
  return out;
}
