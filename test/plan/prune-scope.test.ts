/**
 * Prune is scoped to what the repository manages (docs/plan.md, Prune scope): the kinds it
 * declares, or those poolsync.yaml `manage:` lists. A labels-only repository with prune never
 * deletes pool assignments, and the reverse; the scope is in the plan (JSON and text).
 */
import { whyText } from '../../src/render/common.js';
import { describe, expect, it } from 'vitest';
import { loadRepository } from '../../src/manifests/index.js';
import { BASELINE_CAPABILITIES } from '../../src/model/common.js';
import type { DesiredState } from '../../src/model/desired.js';
import type { LiveState } from '../../src/model/live.js';
import { computePlan } from '../../src/plan/index.js';
import { renderMarkdown } from '../../src/render/markdown.js';
import { renderText } from '../../src/render/text.js';
import { writeRepo } from '../manifests/helpers.js';
import { FLYTE_LABEL_DOCS as LABELS } from './helpers.js';

const ASSIGNMENT = `apiVersion: poolsync/v1
kind: PoolAssignment
metadata: {name: a}
spec: {project: team1, domain: development, pool: default}
`;

const live: LiveState = {
  pools: [],
  clusters: [],
  queues: [],
  capabilities: { ...BASELINE_CAPABILITIES },
  assignments: [
    { project: 'team1', domain: 'development', workflow: null, pool: 'default' },
    { project: 'team2', domain: 'development', workflow: null, pool: 'default' },
  ],
  execution_cluster_labels: [
    { project: 'team1', domain: 'development', workflow: null, label: 'l1' },
    { project: 'team2', domain: 'development', workflow: null, label: 'l1' },
  ],
};

async function desired(files: Record<string, string>, config: string): Promise<DesiredState> {
  const r = await loadRepository(
    await writeRepo({
      ...files,
      'poolsync.yaml': `apiVersion: poolsync/v1\nkind: RepoConfig\n${config}\n`,
    }),
  );
  expect(r.errors).toEqual([]);
  return r.desired!;
}
const actions = (d: DesiredState) =>
  computePlan(d, live)
    .changes.filter((c) => c.action !== 'noop')
    .map((c) => `${c.action} ${c.address}`);

describe('prune scope', () => {
  it('a labels-only repository prunes labels, never assignments; the reverse holds too', async () => {
    const labelsOnly = await desired({ 'l.yaml': LABELS }, 'prune: true');
    expect(actions(labelsOnly)).toEqual([
      'unmanaged PoolAssignment/team1/development',
      'unmanaged PoolAssignment/team2/development',
      'delete ExecutionClusterLabel/team2/development',
    ]);
    const p = computePlan(labelsOnly, live);
    expect(p.prune_scope).toEqual({ kinds: ['ExecutionClusterLabel'], source: 'declared' });
    expect(whyText(p.changes.find((c) => c.address === 'PoolAssignment/team2/development')!)).toBe(
      'not in the repository, and PoolAssignment is outside the prune scope (ExecutionClusterLabel: the kinds the repository declares): reported, never touched; list PoolAssignment in poolsync.yaml manage: to prune it',
    );
    const assignmentsOnly = await desired({ 'a.yaml': ASSIGNMENT }, 'prune: true');
    expect(actions(assignmentsOnly)).toEqual([
      'delete PoolAssignment/team2/development',
      'unmanaged ExecutionClusterLabel/team1/development',
      'unmanaged ExecutionClusterLabel/team2/development',
    ]);
  });

  it('manage: lists what the repository manages, even a kind it has no document of left', async () => {
    const d = await desired(
      { 'l.yaml': LABELS },
      'prune: true\nmanage: [ExecutionClusterLabel, PoolAssignment]',
    );
    expect(actions(d)).toEqual([
      'delete PoolAssignment/team1/development',
      'delete PoolAssignment/team2/development',
      'delete ExecutionClusterLabel/team2/development',
    ]);
    expect(computePlan(d, live).prune_scope).toEqual({
      kinds: ['PoolAssignment', 'ExecutionClusterLabel'],
      source: 'manage',
    });
    // manage: narrower than what is declared: a declared kind is applied but not pruned.
    const narrow = await desired(
      { 'l.yaml': LABELS, 'a.yaml': ASSIGNMENT },
      'prune: true\nmanage: [PoolAssignment]',
    );
    expect(actions(narrow)).toEqual([
      'delete PoolAssignment/team2/development',
      'unmanaged ExecutionClusterLabel/team2/development',
    ]);
  });

  it('the plan shows the scope; prune off has none', async () => {
    const d = await desired({ 'l.yaml': LABELS }, 'prune: true');
    const p = computePlan(d, live);
    expect(renderText(p, { color: false })).toContain(
      'Prune scope: ExecutionClusterLabel: the kinds the repository declares; live objects of other kinds are never deleted.',
    );
    expect(renderText(p, { color: false })).toContain(
      '2 objects unmanaged (outside the prune scope',
    );
    expect(renderMarkdown(p)).toContain('Prune scope: ExecutionClusterLabel');
    const off = computePlan(await desired({ 'l.yaml': LABELS }, 'prune: false'), live);
    expect(off.prune_scope).toBeUndefined();
    expect(renderText(off, { color: false })).toContain('3 objects unmanaged (prune is off).');
  });

  it('a desired state built by hand (no loader) keeps every kind in scope', () => {
    const d: DesiredState = {
      pools: [],
      clusters: [],
      queues: [],
      assignments: [],
      config: { prune: true, ignore: [] },
      commit: null,
    };
    expect(computePlan(d, live).prune_scope?.source).toBe('all');
    expect(actions(d)).toEqual([
      'delete PoolAssignment/team1/development',
      'delete PoolAssignment/team2/development',
      'delete ExecutionClusterLabel/team1/development',
      'delete ExecutionClusterLabel/team2/development',
    ]);
  });
});
