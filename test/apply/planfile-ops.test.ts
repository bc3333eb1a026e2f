/**
 * Every op the planner can emit round-trips through a saved plan: `poolsync plan --out FILE`
 * then `poolsync apply FILE`, as child processes. The ops come from one list (STEP_KINDS in
 * test/plan/helpers.ts, the keys of src/plan/graph.ts STEP_OPS, which the typecheck holds equal
 * to the StepOp union); COVERED maps each to the scenario that emits it, so a new op fails the
 * typecheck here until a scenario plans it and this test applies it from a file. The plan schema, which the one saved-plan reader
 * validates with, accepts exactly that list.
 */
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { executePlan } from '../../src/apply/executor.js';
import { EmbeddedControlPlane } from '../../src/controlplane/embedded/embedded.js';
import { parseCapabilities } from '../../src/model/capabilities.js';
import type { Plan, StepKind } from '../../src/model/plan.js';
import { planRepository } from '../../src/ops/plan-run.js';
import { parsePlanFile } from '../../src/render/plan-file.js';
import { runCli } from '../support/cli.js';
import { FLYTE_LABEL_DOCS as LABELS, STEP_KINDS } from '../plan/helpers.js';

const POOL = (name: string, bucket = name) => `apiVersion: poolsync/v1
kind: ClusterPool
metadata: {name: ${name}}
spec:
  object_store_ref: {uri: s3://acme-${bucket}/metadata}
  secret_store: {type: AWS_SECRETS_MANAGER, locator: us-east-1}
`;
const CLUSTER = (name: string, pool: string, enabled = true) =>
  `apiVersion: poolsync/v1\nkind: Cluster\nmetadata: {name: ${name}}\nspec: {pool: ${pool}, enabled: ${enabled}}\n`;
const QUEUE = (name: string, pool: string, clusters: string[], run = 10) =>
  `apiVersion: poolsync/v1\nkind: Queue\nmetadata: {name: ${name}}\nspec: {pool: ${pool}, clusters: [${clusters.join(', ')}], run_concurrency: ${run}, action_concurrency: 100}\n`;
const ASSIGNMENT = `apiVersion: poolsync/v1\nkind: PoolAssignment\nmetadata: {name: a}\nspec: {project: team1, domain: development, pool: p1}\n`;
const DEFAULT_QUEUE = `apiVersion: poolsync/v1\nkind: DefaultQueue\nmetadata: {name: dq}\nspec: {project: team1, domain: development, queue: q1}\n`;
const MANAGE_ALL =
  'prune: true\nmanage: [ClusterPool, Cluster, Queue, PoolAssignment, DefaultQueue, ExecutionClusterLabel]';

interface Scenario {
  capabilities: string;
  /** Applied in-process first (null: start empty). */
  setup: Record<string, string> | null;
  /** The repository planned with `plan --out` and applied with `apply FILE`. */
  target: Record<string, string>;
  config: string;
  /** Queues drained and deleted after the setup (soft_delete keeps them, names reserved). */
  deleted?: string[];
}

const BASE: Record<string, string> = {
  'pools.yaml': [POOL('p1'), POOL('p2')].join('---\n'),
  'clusters.yaml': [CLUSTER('c1', 'p1'), CLUSTER('c2', 'p1', false)].join('---\n'),
  'queues.yaml': QUEUE('q1', 'p1', ['c1']),
  'assignments.yaml': ASSIGNMENT,
  'default-queues.yaml': DEFAULT_QUEUE,
  'labels.yaml': LABELS,
};

const SCENARIOS = {
  /** Everything created from nothing. */
  create: { capabilities: 'none', setup: null, target: BASE, config: 'prune: false' },
  /** Everything pruned or changed, with the baseline capabilities. */
  prune: {
    capabilities: 'none',
    setup: { ...BASE, 'pools.yaml': [POOL('p1'), POOL('p2'), POOL('p9')].join('---\n') },
    target: {
      'pools.yaml': [POOL('p1'), POOL('p2')].join('---\n'),
      'clusters.yaml': CLUSTER('c1', 'p1'),
      'queues.yaml': QUEUE('q1', 'p1', ['c1'], 20),
    },
    config: MANAGE_ALL,
  },
  /** The capability steps: drain, queue delete, cluster move, pool update, queue move. */
  capabilities: {
    capabilities: 'drain,queue_delete,cluster_move,pool_update,queue_move',
    setup: {
      'pools.yaml': [POOL('p1'), POOL('p2')].join('---\n'),
      'clusters.yaml': [CLUSTER('c1', 'p1'), CLUSTER('c3', 'p1')].join('---\n'),
      'queues.yaml': [
        QUEUE('q1', 'p1', ['c1', 'c3']),
        QUEUE('qx', 'p1', ['c1']),
        QUEUE('qm', 'p1', ['"*"']),
      ].join('---\n'),
    },
    target: {
      'pools.yaml': [POOL('p1'), POOL('p2', 'p2-new')].join('---\n'),
      'clusters.yaml': [CLUSTER('c1', 'p1'), CLUSTER('c3', 'p2')].join('---\n'),
      'queues.yaml': [QUEUE('q1', 'p1', ['c1']), QUEUE('qm', 'p2', ['"*"'])].join('---\n'),
    },
    config: MANAGE_ALL,
  },
  /** A soft-deleted queue declared again: undeleted, updated, activated (Union today). */
  soft_delete: {
    capabilities: 'drain,queue_delete,soft_delete',
    setup: {
      'pools.yaml': POOL('p1'),
      'clusters.yaml': CLUSTER('c1', 'p1'),
      'queues.yaml': QUEUE('qd', 'p1', ['c1']),
    },
    deleted: ['qd'],
    target: {
      'pools.yaml': POOL('p1'),
      'clusters.yaml': CLUSTER('c1', 'p1'),
      'queues.yaml': QUEUE('qd', 'p1', ['c1'], 20),
    },
    config: MANAGE_ALL,
  },
} satisfies Record<string, Scenario>;
type ScenarioName = keyof typeof SCENARIOS;

/**
 * Ops that only the Union backend plans (its pools and clusters have soft deletes; the embedded
 * control plane's `soft_delete` keeps deleted queues only): test/controlplane/union/
 * undelete.e2e.test.ts plans them with `plan --out FILE` and applies that file.
 */
const COVERED_BY_UNION = ['undelete_pool', 'undelete_cluster'] as const;

/** Which scenario plans each op: a new StepKind does not typecheck until it is here. */
const COVERED: Record<Exclude<StepKind, (typeof COVERED_BY_UNION)[number]>, ScenarioName> = {
  create_pool: 'create',
  register_cluster: 'create',
  update_cluster: 'create',
  create_queue: 'create',
  set_assignment: 'create',
  set_default_queue: 'create',
  set_execution_cluster_label: 'create',
  delete_pool: 'prune',
  delete_cluster: 'prune',
  wait_idle: 'prune',
  update_queue: 'prune',
  delete_assignment: 'prune',
  delete_default_queue: 'prune',
  delete_execution_cluster_label: 'prune',
  drain_queue: 'capabilities',
  wait_drained: 'capabilities',
  activate_queue: 'capabilities',
  delete_queue: 'capabilities',
  undelete_queue: 'soft_delete',
  move_cluster: 'capabilities',
  move_queue: 'capabilities',
  update_pool: 'capabilities',
};

async function writeRepo(dir: string, files: Record<string, string>, config: string) {
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  await writeFile(
    join(dir, 'poolsync.yaml'),
    `apiVersion: poolsync/v1\nkind: RepoConfig\n${config}\n`,
  );
  for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
}

describe('every op round-trips through a saved plan', { timeout: 180_000 }, () => {
  let root: string;
  const saved = new Map<ScenarioName, Plan>();
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'poolsync-planfile-ops-'));
  });
  afterAll(() => rm(root, { recursive: true, force: true }));

  it('the plan schema (the validator of the saved-plan reader) knows exactly STEP_KINDS', () => {
    const schema = JSON.parse(readFileSync('schemas/plan.schema.json', 'utf8')) as {
      $defs: { step: { properties: { op: { enum: string[] } } } };
    };
    expect([...schema.$defs.step.properties.op.enum].sort()).toEqual([...STEP_KINDS].sort());
    expect([...Object.keys(COVERED), ...COVERED_BY_UNION].sort()).toEqual([...STEP_KINDS].sort());
  });

  it.each(Object.keys(SCENARIOS) as ScenarioName[])(
    '%s: plan --out FILE, then apply FILE',
    async (name) => {
      const s: Scenario = SCENARIOS[name];
      const dir = join(root, name);
      const state = join(root, `${name}.json`);
      const url = `file:${state}?capabilities=${s.capabilities}`;
      if (s.setup) {
        await writeRepo(dir, s.setup, 'prune: false');
        const caps = parseCapabilities(s.capabilities);
        if (!caps.ok) throw new Error(caps.error);
        const cp = await EmbeddedControlPlane.open({
          path: state,
          capabilities: caps.capabilities,
        });
        try {
          const r = await planRepository(dir, cp);
          if (!r.ok) throw new Error(JSON.stringify(r.errors));
          expect(r.plan.errors).toEqual([]);
          expect((await executePlan(r.plan, cp)).ok).toBe(true);
          for (const q of s.deleted ?? []) {
            await cp.drainQueue(q);
            await cp.deleteQueue(q);
          }
        } finally {
          await cp.close();
        }
      }
      await writeRepo(dir, s.target, s.config);
      const file = join(root, `${name}.plan.json`);
      const planned = await runCli(['plan', dir, '--control-plane', url, '--out', file]);
      expect(planned.stderr).toBe('');
      expect(planned.code).toBe(0);
      const text = readFileSync(file, 'utf8');
      // The one reader (show's and apply's) accepts the file: sealed, valid, every step accounted for.
      const plan = parsePlanFile(text, file, { key: null });
      const wanted = Object.entries(COVERED)
        .filter(([, scenario]) => scenario === name)
        .map(([op]) => op);
      expect([...new Set(plan.steps.map((step) => step.op))].sort()).toEqual(
        expect.arrayContaining(wanted.sort()),
      );
      saved.set(name, plan);
      const applied = await runCli(['apply', file, '--control-plane', url]);
      expect(applied.stderr.replace(/^warning: .*\n/gm, '')).toBe('');
      expect(applied.code).toBe(0);
      expect(applied.stdout).toMatch(/Apply complete/);
      // The control plane is now what the repository says.
      const after = await EmbeddedControlPlane.open({ path: state, readOnly: true });
      try {
        const again = await planRepository(dir, after);
        expect(again.ok && again.plan.steps.map((x) => `${x.op} ${x.target}`)).toEqual([]);
      } finally {
        await after.close();
      }
    },
  );

  it('together the scenarios emitted every op', () => {
    const emitted = new Set([...saved.values()].flatMap((p) => p.steps.map((s) => s.op)));
    const union: readonly string[] = COVERED_BY_UNION;
    expect([...STEP_KINDS].filter((op) => !emitted.has(op) && !union.includes(op))).toEqual([]);
  });
});
