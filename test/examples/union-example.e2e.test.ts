/**
 * The bundled example (examples/config-repo) against the Union stand-in with Union's capability
 * set (issue 46, "Done when"), through the CLI as a user runs it: with and without its
 * PoolAssignments, apply exits 0 and the next plan holds nothing but blocked changes. Without
 * them the next plan is empty (its disabled prod-eu-west-1 is drained before eu-residency pins
 * it: remote/_cluster.py:363-365). With them: Union v2 has no pool assignments (a DefaultQueue
 * per project/domain replaced them, backend.replacedKinds), so each is planned blocked, saying
 * which setting to declare instead; nothing is sent for them, the rest applies, and a saved plan
 * holding them round-trips (plan --out, apply PLANFILE; the reader validates it against
 * schemas/plan.schema.json).
 */
import { execFile } from 'node:child_process';
import { cp as copy, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Plan } from '../../src/model/plan.js';
import { planValidator } from '../../src/render/plan-file.js';
import { REPO_ROOT } from '../support/cli.js';
import { cliFromSource } from '../support/cli-from-source.js';
import { tempDir } from '../support/repo.js';
import { apiKey, startUnionServer, type UnionServer } from '../controlplane/union/helpers.js';

const run = promisify(execFile);
let s: UnionServer | undefined;
/** The test's working folder: apply keeps its records and Union's inventory under ./.poolsync. */
let cwd: string;
beforeEach(async () => {
  cwd = await tempDir('poolsync-union-example-state-');
});
afterEach(async () => {
  await s?.close();
  s = undefined;
});

async function poolsync(server: UnionServer, ...args: string[]) {
  try {
    const r = await run(
      process.execPath,
      cliFromSource(...args, '--control-plane', server.url('connect')),
      {
        cwd,
        env: { ...process.env, POOLSYNC_UNION_API_KEY: apiKey(server.host), NO_COLOR: '1' },
      },
    );
    return { code: 0, out: r.stdout + r.stderr, stdout: r.stdout };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? 1, out: `${e.stdout ?? ''}${e.stderr ?? ''}`, stdout: e.stdout ?? '' };
  }
}

/** A copy of the example, with or without its assignments. */
async function exampleRepo(withAssignments: boolean): Promise<string> {
  const dir = join(await tempDir('poolsync-union-example-'), 'repo');
  await copy(join(REPO_ROOT, 'examples', 'config-repo'), dir, { recursive: true });
  if (!withAssignments) await rm(join(dir, 'assignments'), { recursive: true });
  return dir;
}

/** The plan as JSON, valid against schemas/plan.schema.json. */
async function jsonPlan(server: UnionServer, dir: string): Promise<Plan> {
  const r = await poolsync(server, 'plan', dir, '--output', 'json');
  expect(r.code, r.out).toBe(0);
  const plan = JSON.parse(r.stdout) as Plan;
  const validate = planValidator();
  expect(validate(plan), JSON.stringify(validate.errors)).toBe(true);
  return plan;
}

const ASSIGNMENTS = [
  'PoolAssignment/flytesnacks/development',
  'PoolAssignment/flytesnacks/development/flytesnacks.workflows.critical_pipeline',
  'PoolAssignment/flytesnacks/production',
  'PoolAssignment/flytesnacks/staging',
  'PoolAssignment/ml-research/development',
  'PoolAssignment/ml-research/production',
  'PoolAssignment/ml-research/production/ml.features.nightly_backfill',
];

describe('examples/config-repo against the Union stand-in', () => {
  it('without its PoolAssignments: apply exits 0, the next plan has nothing to do', async () => {
    s = await startUnionServer();
    const dir = await exampleRepo(false);
    const applied = await poolsync(s, 'apply', dir, '--auto-approve');
    expect(applied.code, applied.out).toBe(0);
    expect(applied.out).toContain('Apply complete');
    const again = await poolsync(s, 'plan', dir, '--detailed-exitcode');
    expect(again.code, again.out).toBe(0);
    expect(again.out).toContain('No changes');
    expect((await s.embedded.getCluster('prod-eu-west-1')).enabled).toBe(false);
  }, 120_000);

  it('with them: each is blocked with what to declare instead, the rest applies (saved plan), the next plan holds only them', async () => {
    s = await startUnionServer();
    const dir = await exampleRepo(true);
    const planFile = join(dir, '..', 'plan.json');
    const planned = await poolsync(s, 'plan', dir, '--output', 'json', '--out', planFile);
    expect(planned.code, planned.out).toBe(0);
    const applied = await poolsync(s, 'apply', planFile);
    expect(applied.code, applied.out).toBe(0);
    expect(applied.out).toContain('Apply complete');
    expect((await s.embedded.listClusters()).length).toBe(9);

    const next = await jsonPlan(s, dir);
    expect(next.errors).toEqual([]);
    expect(next.steps).toEqual([]);
    const shown = next.changes.filter((c) => c.action !== 'noop');
    expect(shown.map((c) => [c.address, c.action])).toEqual(ASSIGNMENTS.map((a) => [a, 'blocked']));
    const reason = (a: string) => shown.find((c) => c.address === a)!.reason;
    expect(reason('PoolAssignment/flytesnacks/production')).toBe(
      'the union backend has no pool assignments: a default queue per project/domain replaced them (run.default_queue). ' +
        'Declare a DefaultQueue for flytesnacks/production naming a queue of pool "prod" ' +
        '(batch, critical, eu-residency, prod-us-east-1), then remove this PoolAssignment',
    );
    expect(reason('PoolAssignment/ml-research/production/ml.features.nightly_backfill')).toContain(
      'set queue= on the TaskEnvironment of workflow ml.features.nightly_backfill (or run it with flyte run --queue)',
    );

    // The same through apply DIR: exit 0, nothing sent, and the text plan shows them blocked.
    const again = await poolsync(s, 'apply', dir, '--auto-approve');
    expect(again.code, again.out).toBe(0);
    expect(again.out).toContain('! PoolAssignment/flytesnacks/production');
    expect(again.out).toContain('7 blocked');
    const detailed = await poolsync(s, 'plan', dir, '--detailed-exitcode');
    expect(detailed.code, detailed.out).toBe(0);
  }, 180_000);
});
