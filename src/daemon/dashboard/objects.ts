/**
 * The dashboard's Objects section (docs/daemon.md#dashboard): a filter over every object of the
 * last plan (../objects.ts), the matching ones a page at a time as a pool → clusters → queues
 * tree. The filter is a GET form of the page itself: it works without JavaScript, and the page's
 * refresh keeps it.
 */
import type { ObjectFilter, ObjectRow, ObjectsPage, ObjectsView, SyncStatus } from '../objects.js';
import { SYNC_STATUSES } from '../objects.js';
import type { ManagedStatus, ObjectChange } from '../status.js';
import { renderChangeText } from '../../render/text.js';
import { plural } from '../../render/common.js';
import { protectionAnnotations } from '../../render/live-status.js';
import { ansiToHtml, badge, commitRef, markup, type SafeHtml } from './html.js';

export const OBJECTS_PER_PAGE = 200;

const SYNC: Record<SyncStatus, [tone: string, words: string]> = {
  out_of_sync: ['warn', 'out of sync'],
  held: ['warn', 'held'],
  blocked: ['bad', 'blocked'],
  synced: ['ok', 'synced'],
  unmanaged: ['none', 'unmanaged'],
};

/** `?q=…&status=…&kind=…&offset=…`. */
export interface ObjectsQuery extends ObjectFilter {
  offset: number;
}

export const ALL_OBJECTS: ObjectsQuery = { q: '', status: 'all', kind: 'all', offset: 0 };

export function objectsQuery(url: URL): ObjectsQuery {
  const p = url.searchParams;
  const status = p.get('status') ?? 'all';
  const offset = Number(p.get('offset') ?? 0);
  return {
    q: (p.get('q') ?? '').slice(0, 200),
    status: (SYNC_STATUSES as readonly string[]).includes(status) ? (status as SyncStatus) : 'all',
    kind: (p.get('kind') ?? 'all').slice(0, 50),
    offset: Number.isSafeInteger(offset) && offset > 0 ? offset : 0,
  };
}

/** The links of the status counts and pages. */
function link(query: ObjectsQuery, over: Partial<ObjectsQuery>): string {
  const q = { ...query, offset: 0, ...over };
  const params = new URLSearchParams();
  if (q.q) params.set('q', q.q);
  if (q.status !== 'all') params.set('status', q.status);
  if (q.kind !== 'all') params.set('kind', q.kind);
  if (q.offset > 0) params.set('offset', String(q.offset));
  return `?${params.toString()}#objects`;
}

export function objectsSection(
  view: ObjectsView | null,
  query: ObjectsQuery,
  managed: ManagedStatus | null,
  lastChanged: ReadonlyMap<string, ObjectChange> = new Map(),
): SafeHtml {
  if (view === null)
    return markup`<p class="muted">No plan yet: the objects are listed once a run has planned.</p>`;
  const page = view.page(query, query.offset, OBJECTS_PER_PAGE);
  const { run, commit } = view.snapshot;
  const counts = SYNC_STATUSES.filter((s) => page.counts[s] > 0).map(
    (s) =>
      markup` <a class="count" href="${link(query, { status: s })}">${badge(SYNC[s][0], `${SYNC[s][1]} ${page.counts[s]}`)}</a>`,
  );
  const inventory = managed?.recorded
    ? markup` poolsync manages ${managed.count} of them (its inventory)${appliedBy(managed)}${
        managed.missing > 0 ? markup`, ${badge('bad', `${managed.missing} missing`)}` : ''
      }${
        managed.forgotten.length > 0
          ? markup`; forgotten (never pruned): ${managed.forgotten.map((a, i) => markup`${i > 0 ? ', ' : ''}<code>${a}</code>`)}`
          : ''
      }${protectedObjects(managed)}.`
    : markup` No inventory yet: poolsync has applied nothing here.`;
  return markup`<p>As run #${run} found them (commit ${commitRef(commit)}): ${plural(page.total, 'object')}.${counts}${inventory}</p>
${filterForm(query, page.kinds)}
${pager(page, query)}
<div class="tree">${tree(page.rows, commit, lastChanged)}</div>`;
}

/** How many objects each repository applied, when not all this daemon's (docs/plan.md, Prune scope). */
function appliedBy(managed: ManagedStatus): SafeHtml | '' {
  const by = managed.repositories ?? [];
  if (by.every((r) => r.repository === managed.repository)) return '';
  const own = by.find((r) => r.repository === managed.repository)?.count ?? 0;
  const others = by.filter((r) => r.repository !== managed.repository);
  return markup`: ${own} applied by this repository (<code>${managed.repository ?? 'none named'}</code>)${others.map(
    (r) =>
      r.repository === null
        ? markup`, ${r.count} recorded without a repository`
        : markup`, ${r.count} by <code>${r.repository}</code>`,
  )}`;
}

/** What the inventory keeps protected (docs/plan.md, Guardrails), among the objects listed. */
function protectedObjects(managed: ManagedStatus): SafeHtml | '' {
  const marked = managed.objects.filter((o) => o.protection?.length);
  if (marked.length === 0) return '';
  return markup`; protected (kept by the inventory): ${marked.map(
    (o, i) =>
      markup`${i > 0 ? ', ' : ''}<code>${o.address}</code> (${protectionAnnotations(o.protection).join(', ')})`,
  )}`;
}

function filterForm(query: ObjectsQuery, kinds: string[]): SafeHtml {
  const option = (value: string, text: string, selected: boolean) =>
    markup`<option value="${value}"${selected ? markup` selected` : ''}>${text}</option>`;
  return markup`<form class="filter" method="get" action="#objects" role="search">
<input type="search" name="q" value="${query.q}" placeholder="Address contains…" aria-label="Search the addresses">
<select name="status" aria-label="Sync status">${option('all', 'any status', query.status === 'all')}${SYNC_STATUSES.map(
    (s) => option(s, SYNC[s][1], query.status === s),
  )}</select>
<select name="kind" aria-label="Kind">${option('all', 'any kind', query.kind === 'all')}${kinds.map(
    (k) => option(k, k, query.kind === k),
  )}</select>
<button type="submit">Filter</button>${
    query.q || query.status !== 'all' || query.kind !== 'all'
      ? markup` <a href="?#objects">clear</a>`
      : ''
  }
</form>`;
}

function pager(page: ObjectsPage, query: ObjectsQuery): SafeHtml {
  if (page.matched === 0) return markup`<p class="muted" id="matched">No object matches.</p>`;
  const last = page.offset + page.rows.length;
  const prev =
    page.offset > 0
      ? markup` <a href="${link(query, { offset: Math.max(0, page.offset - OBJECTS_PER_PAGE) })}">← previous</a>`
      : '';
  const next =
    last < page.matched ? markup` <a href="${link(query, { offset: last })}">next →</a>` : '';
  return markup`<p id="matched">${page.offset + 1}–${last} of ${plural(page.matched, 'matching object')}${prev}${next}</p>`;
}

interface ClusterNode {
  row?: ObjectRow;
  queues: ObjectRow[];
}
interface PoolNode {
  row?: ObjectRow;
  clusters: Map<string, ClusterNode>;
  /** Queues that route to no cluster, and the pool's assignments. */
  rest: ObjectRow[];
}

/** Pools, each with its clusters and the queues routing to each; the rest after. */
function tree(
  rows: readonly ObjectRow[],
  commit: string | null,
  lastChanged: ReadonlyMap<string, ObjectChange>,
): SafeHtml {
  const pools = new Map<string, PoolNode>();
  const other: ObjectRow[] = [];
  const pool = (name: string) => {
    let p = pools.get(name);
    if (!p) pools.set(name, (p = { clusters: new Map(), rest: [] }));
    return p;
  };
  const cluster = (p: PoolNode, name: string) => {
    let c = p.clusters.get(name);
    if (!c) p.clusters.set(name, (c = { queues: [] }));
    return c;
  };
  for (const r of rows) {
    if (r.pool === null) other.push(r);
    else if (r.kind === 'ClusterPool') pool(r.pool).row = r;
    else if (r.kind === 'Cluster') cluster(pool(r.pool), r.name).row = r;
    else if (r.kind === 'Queue' && r.clusters.length > 0)
      for (const c of r.clusters) cluster(pool(r.pool), c).queues.push(r);
    else pool(r.pool).rest.push(r);
  }
  const node = (head: SafeHtml, children: SafeHtml[]) =>
    children.length === 0 ? markup`<li>${head}</li>` : markup`<li>${head}<ul>${children}</ul></li>`;
  const entry = (r: ObjectRow | undefined, kind: string, name: string) =>
    r
      ? objectRow(r, commit, lastChanged.get(r.address))
      : markup`<span class="muted">${kind}/${name} (not on this page)</span>`;
  const leaf = (r: ObjectRow) =>
    markup`<li>${objectRow(r, commit, lastChanged.get(r.address))}</li>`;
  // A queue routed to several clusters is shown under the first, and named under the others.
  const shown = new Set<string>();
  const queue = (q: ObjectRow) => {
    if (shown.has(q.address))
      return markup`<li><a class="see" href="#object-${q.address}">${q.address}</a></li>`;
    shown.add(q.address);
    return leaf(q);
  };
  const items = [...pools].map(([name, p]) =>
    node(entry(p.row, 'ClusterPool', name), [
      ...[...p.clusters].map(([c, at]) => node(entry(at.row, 'Cluster', c), at.queues.map(queue))),
      ...p.rest.map(leaf),
    ]),
  );
  if (other.length > 0)
    items.push(node(markup`<span class="muted">Other objects</span>`, other.map(leaf)));
  return markup`<ul class="objects">${items}</ul>`;
}

function objectRow(r: ObjectRow, commit: string | null, last?: ObjectChange): SafeHtml {
  const [tone, words] = SYNC[r.sync];
  const live = r.live();
  const health = live
    ? badge(live.tone, live.words)
    : markup`<span class="muted">live state not read</span>`;
  const source = r.source
    ? markup`<code class="source">${r.source}</code>${commit ? markup` @ ${commitRef(commit)}` : ''}`
    : markup`<span class="muted">not in the repository</span>`;
  const change =
    r.change.action === 'noop'
      ? markup`<p class="muted">The control plane equals the repository.</p>`
      : markup`${r.appliedNow ? markup`<p class="muted">Applied by this run:</p>` : ''}<pre class="plan">${ansiToHtml(renderChangeText(r.change, { color: true }))}</pre>`;
  const by =
    r.appliedBy === undefined
      ? ''
      : markup` <span class="muted applied-by">${r.appliedBy === null ? 'recorded without its repository' : markup`applied by repository <code>${r.appliedBy}</code>`}</span>`;
  // `poolsync history ADDRESS` in a line: who changed it last, from which commit, approved by whom.
  const changed = last
    ? markup` <span class="muted last-changed">last changed by <a href="#run-${last.run}">run #${last.run}</a> (${last.action}, commit ${commitRef(last.commit)}${last.approvedBy !== null ? `, approved by ${last.approvedBy}` : ''}${last.rollback !== null ? `, rollback to run #${last.rollback.to}` : ''})</span>`
    : '';
  return markup`<details class="object" id="object-${r.address}"><summary>${badge(tone, words)} ${health} <code class="address">${r.address}</code> ${source}${by}${changed}</summary>${change}</details>`;
}
