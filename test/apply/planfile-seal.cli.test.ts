/**
 * A reviewed plan is exactly what applies (issue 34): `plan --out FILE` seals the file; an edit
 * of any field `apply` reads — a step's value, op, target, order, dependencies or execution,
 * the fingerprints, the control plane, the capabilities, the changes `show` renders — is
 * refused by `show` and by `apply`, which touch nothing; the untouched file applies. A step
 * slipped in with a recomputed (unkeyed) seal is refused because the changes do not account
 * for it; with `POOLSYNC_PLAN_KEY` a seal cannot be recomputed without the key. The CLI in
 * child processes, an embedded control plane on disk.
 */
import { mkdtemp, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EmbeddedControlPlane } from '../../src/controlplane/embedded/embedded.js';
import type { Plan, Step } from '../../src/model/plan.js';
import { planFileParts, sealOf } from '../../src/render/plan-file.js';
import { mapLimit } from '../../src/util/map-limit.js';
import { runCli } from '../support/cli.js';

const POOL = `apiVersion: poolsync/v1
kind: ClusterPool
metadata: {name: prod}
spec:
  object_store_ref: {uri: s3://acme-prod/metadata}
  secret_store: {type: AWS_SECRETS_MANAGER, locator: us-east-1}
`;
const repo = (run: number, enabled: boolean) => ({
  'poolsync.yaml': 'apiVersion: poolsync/v1\nkind: RepoConfig\nprune: false\n',
  'pools.yaml': POOL,
  'clusters.yaml': [
    'apiVersion: poolsync/v1\nkind: Cluster\nmetadata: {name: c1}\nspec: {pool: prod}\n',
    `apiVersion: poolsync/v1\nkind: Cluster\nmetadata: {name: c2}\nspec: {pool: prod, enabled: ${enabled}}\n`,
  ].join('---\n'),
  'queues.yaml': `apiVersion: poolsync/v1\nkind: Queue\nmetadata: {name: critical}\nspec: {pool: prod, clusters: [c1, c2], run_concurrency: ${run}, action_concurrency: 500}\n`,
});

const KEY = 'ci-signing-key-0123456789abcdef0123456789';

let dir: string;
let cp: string;
let planFile: string;
let text: string;

async function writeRepo(at: string, files: Record<string, string>): Promise<void> {
  await rm(at, { recursive: true, force: true });
  await mkdir(at, { recursive: true });
  for (const [name, content] of Object.entries(files)) await writeFile(join(at, name), content);
}

async function runConcurrency(): Promise<number> {
  const live = await EmbeddedControlPlane.open({ path: join(dir, 'cp.json'), readOnly: true });
  try {
    return (await live.getQueue('critical')).run_concurrency;
  } finally {
    await live.close();
  }
}

const stepOf = (doc: Plan, op: Step['op']) => doc.steps.find((s) => s.op === op)!;

/** Hand edits of a saved plan, each in a field apply (or show) reads. */
const EDITS: Record<string, (doc: Plan) => void> = {
  "a step's value (the issue's 120 → 130 edited to 7)": (d) => {
    (stepOf(d, 'update_queue').args as { run_concurrency: number }).run_concurrency = 7;
  },
  'a value in the step and in the change alike (999)': (d) => {
    (stepOf(d, 'update_queue').args as { run_concurrency: number }).run_concurrency = 999;
    const change = d.changes.find((c) => c.address === 'Queue/critical')!;
    change.after!.run_concurrency = 999;
    change.diff.find((f) => f.path === 'run_concurrency')!.after = 999;
  },
  "a step's op": (d) => {
    Object.assign(stepOf(d, 'update_cluster'), { op: 'delete_cluster', args: { name: 'c2' } });
  },
  "a step's target": (d) => void (stepOf(d, 'update_cluster').target = 'Cluster/c1'),
  "a step's dependencies": (d) => void d.steps[1]!.depends_on.push(d.steps[0]!.id),
  'the order of the steps': (d) => void d.steps.reverse(),
  "a step's execution": (d) => void (d.steps[0]!.execution = 'manual'),
  'a step removed': (d) => void d.steps.pop(),
  'the live fingerprint': (d) => void (d.live_fingerprint = `sha256:${'0'.repeat(64)}`),
  'the desired fingerprint': (d) => void (d.desired_fingerprint = `sha256:${'1'.repeat(64)}`),
  'the control plane it names': (d) => void (d.control_plane!.organization = 'acme'),
  'the capabilities': (d) => void (d.capabilities!.drain = true),
  'a change show renders (its reason)': (d) => void (d.changes[0]!.reason = 'reviewed'),
  'a warning added': (d) =>
    void d.warnings.push({ code: 'REVIEWED', address: 'Queue/critical', message: 'fine' }),
  'the seal removed': (d) => void delete d.seal,
};

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'poolsync-planfile-seal-'));
  cp = `file:${join(dir, 'cp.json')}`;
  planFile = join(dir, 'plan.json');
  await writeRepo(join(dir, 'repo'), repo(120, false));
  const setup = await runCli(['apply', join(dir, 'repo'), '--control-plane', cp, '--auto-approve']);
  expect(setup.code, setup.stderr).toBe(0);
  await writeRepo(join(dir, 'repo'), repo(130, true));
  const planned = await runCli([
    'plan',
    join(dir, 'repo'),
    '--control-plane',
    cp,
    '--out',
    planFile,
  ]);
  expect(planned.code, planned.stderr).toBe(0);
  text = await readFile(planFile, 'utf8');
}, 120_000);
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('a sealed plan file', { timeout: 300_000 }, () => {
  it('every edit of a field apply reads is refused by show and by apply; nothing is applied', async () => {
    const state = await readFile(join(dir, 'cp.json'));
    expect(await runConcurrency()).toBe(120);
    const edits = Object.entries(EDITS).map(([what, edit], i) => ({ what, edit, i }));
    const results = await mapLimit(edits, 3, async ({ what, edit, i }) => {
      const doc = JSON.parse(text) as Plan;
      edit(doc);
      const file = join(dir, `edited-${i}.json`);
      await writeFile(file, JSON.stringify(doc, null, 2));
      const show = await runCli(['show', file]);
      const apply = await runCli(['apply', file, '--control-plane', cp]);
      return { what, show, apply };
    });
    for (const { what, show, apply } of results) {
      const message =
        what === 'the seal removed' ? /has no seal/ : /was changed after poolsync wrote it/;
      expect(show.code, `show: ${what}`).toBe(1);
      expect(show.stderr, `show: ${what}`).toMatch(message);
      expect(show.stdout, `show: ${what}`).toBe('');
      expect(apply.code, `apply: ${what}`).toBe(1);
      expect(apply.stderr, `apply: ${what}`).toMatch(message);
      expect(apply.stdout, `apply: ${what}`).not.toMatch(/Apply complete/);
    }
    // Refused before the control plane was opened: its state file is byte for byte the same.
    expect(await readFile(join(dir, 'cp.json'))).toEqual(state);
  });

  it('a step slipped in with its seal made again is refused: the changes do not account for it', async () => {
    const doc = JSON.parse(text) as Plan;
    doc.steps.push({
      id: `s${doc.steps.length + 1}`,
      op: 'delete_cluster',
      target: 'Cluster/c1',
      depends_on: [],
      args: { name: 'c1' },
      execution: 'api',
    });
    const file = join(dir, 'injected.json');
    // poolsync itself never writes such a plan (the same check as apply's): sealed by hand.
    expect(() => [...planFileParts(doc, null)]).toThrow(
      /a plan its own apply would refuse: step s\d+ \(delete_cluster Cluster\/c1\)/,
    );
    const resealed = { ...doc, seal: sealOf(doc as never, null) };
    await writeFile(file, JSON.stringify(resealed, null, 2));
    for (const args of [
      ['show', file],
      ['apply', file, '--control-plane', cp],
    ]) {
      const r = await runCli(args);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(
        `${file} is refused: step s${doc.steps.length} (delete_cluster Cluster/c1) does not realise the change the plan shows for it (noop)`,
      );
    }
  });

  it('the untouched file is shown as reviewed and applies', async () => {
    const show = await runCli(['show', planFile]);
    expect(show.code, show.stderr).toBe(0);
    expect(show.stdout).toContain('run_concurrency: 120 → 130');
    const json = await runCli(['show', planFile, '--output', 'json']);
    expect(json.stdout).toBe(text);
    const apply = await runCli(['apply', planFile, '--control-plane', cp]);
    expect(apply.code, apply.stderr).toBe(0);
    expect(apply.stdout).toMatch(/Apply complete/);
    expect(await runConcurrency()).toBe(130);
  });

  it("poolsync's other JSON given as a plan is refused as what it is: a drift report, an apply's result", async () => {
    const report = join(dir, 'drift.json');
    const drift = await runCli([
      'plan',
      '--refresh-only',
      join(dir, 'repo'),
      '--control-plane',
      cp,
      '--output',
      'json',
    ]);
    expect(drift.code, drift.stderr).toBe(0);
    await writeFile(report, drift.stdout);
    const applied = await runCli(['apply', report, '--control-plane', cp]);
    expect([applied.code, applied.stdout]).toEqual([1, '']);
    expect(applied.stderr).toBe(
      `Error: ${report} is not a plan but a drift report (\`poolsync plan --refresh-only --output json\`), which lists what changed outside poolsync and has nothing to apply; save a plan with \`poolsync plan --out FILE\`\n`,
    );
    const result = join(dir, 'result.json');
    const done = await runCli([
      'apply',
      join(dir, 'repo'),
      '--control-plane',
      cp,
      '--auto-approve',
      '--output',
      'json',
    ]);
    expect(done.code, done.stderr).toBe(0);
    await writeFile(result, done.stdout);
    const shown = await runCli(['show', result]);
    expect([shown.code, shown.stdout]).toEqual([1, '']);
    expect(shown.stderr).toBe(
      `Error: ${result} is not a plan but the result of an apply (\`poolsync apply --output json\`), which says what ran: nothing in it runs again; save a plan with \`poolsync plan --out FILE\`\n`,
    );
  });

  it('with POOLSYNC_PLAN_KEY: a keyed plan applies only where the key is set', async () => {
    await writeRepo(join(dir, 'repo'), repo(140, true));
    const keyed = join(dir, 'keyed.json');
    const env = { POOLSYNC_PLAN_KEY: KEY };
    const made = await runCli(
      ['plan', join(dir, 'repo'), '--control-plane', cp, '--out', keyed],
      env,
    );
    expect(made.code, made.stderr).toBe(0);
    const content = await readFile(keyed, 'utf8');
    expect(JSON.parse(content).seal).toMatch(/^hmac-sha256:/);
    expect(content).not.toContain(KEY);
    const without = await runCli(['apply', keyed, '--control-plane', cp]);
    expect(without.code).toBe(1);
    expect(without.stderr).toContain('is sealed with a key (hmac-sha256) and no key is set');
    const wrong = await runCli(['apply', keyed, '--control-plane', cp], {
      POOLSYNC_PLAN_KEY: `${KEY}-not`,
    });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/was changed after poolsync wrote it.*another key/);
    const short = await runCli(['show', keyed], { POOLSYNC_PLAN_KEY: 'k3y!' });
    expect(short.code).toBe(1);
    expect(short.stderr).toContain('too short to seal plans');
    expect(short.stderr).not.toContain('k3y!');
    const right = await runCli(['apply', keyed, '--control-plane', cp], env);
    expect(right.code, right.stderr).toBe(0);
    expect(await runConcurrency()).toBe(140);
  });
});
