/**
 * README's sample plan is what poolsync prints (issue 34, One voice): the example repository
 * (examples/config-repo) is applied to a new embedded state in process by the CLI, edited as the
 * README says (a queue limit raised, a cluster moved to another pool; cluster_move is off, so
 * the move is a delete and re-register that leaves the co-named queue behind, C7), and planned
 * again. The text must be README's block, line for line; the same plan in JSON and markdown
 * must tell the same story about that queue. `UPDATE_README=1` writes the block instead.
 *
 * The run's folder stands for a clone at /home/you/poolsync (the header names the state path).
 */
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Plan } from '../../src/model/plan.js';
import { reasonText } from '../../src/render/reasons.js';
import { runInProcess } from '../support/memory-io.js';

const ROOT = resolve(import.meta.dirname, '../..');
const README = join(ROOT, 'README.md');
const CLONE = '/home/you/poolsync';
const COMMAND = '$ poolsync plan examples/config-repo';

async function poolsync(
  cwd: string,
  args: string[],
): Promise<{ code: number | null; out: string; err: string }> {
  const env = {
    ...process.env,
    NO_COLOR: '1',
    POOLSYNC_CONTROL_PLANE: undefined,
    POOLSYNC_TOKEN: undefined,
  };
  const r = await runInProcess(args, env, cwd);
  return { code: r.code, out: r.stdout, err: r.stderr };
}

async function edit(path: string, from: string, to: string): Promise<void> {
  const text = await readFile(path, 'utf8');
  expect(text, `${path} has ${from}`).toContain(from);
  await writeFile(path, text.replace(from, to));
}

/** README's sample: the lines after `$ poolsync plan examples/config-repo` up to the fence. */
function readmeSample(readme: string): { start: number; end: number } {
  const start = readme.indexOf(`${COMMAND}\n`);
  expect(start, `README.md shows \`${COMMAND}\``).toBeGreaterThan(0);
  const from = start + COMMAND.length + 1;
  return { start: from, end: readme.indexOf('```\n', from) };
}

let dir: string;
const plans: { text: string; json: Plan; markdown: string } = {} as never;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'poolsync-readme-'));
  await cp(join(ROOT, 'examples/config-repo'), join(dir, 'examples/config-repo'), {
    recursive: true,
  });
  const applied = await poolsync(dir, ['apply', 'examples/config-repo', '--auto-approve']);
  expect(applied.code, applied.err).toBe(0);
  const repo = join(dir, 'examples/config-repo');
  await edit(
    join(repo, 'queues/prod/critical.yaml'),
    'run_concurrency: 100',
    'run_concurrency: 150',
  );
  await edit(join(repo, 'clusters/default/shared.yaml'), 'pool: default', 'pool: dev');
  const [text, json, markdown] = await Promise.all(
    ['text', 'json', 'markdown'].map((output) =>
      poolsync(dir, ['plan', 'examples/config-repo', '--output', output]),
    ),
  );
  for (const r of [text!, json!, markdown!]) expect(r.code, r.err).toBe(0);
  plans.text = text!.out.replaceAll(dir, CLONE);
  plans.json = JSON.parse(json!.out) as Plan;
  plans.markdown = markdown!.out;
}, 240_000);
afterAll(() => rm(dir, { recursive: true, force: true }));

describe("README's sample plan", () => {
  it('is what poolsync prints for the edits it describes', async () => {
    const readme = await readFile(README, 'utf8');
    const { start, end } = readmeSample(readme);
    if (process.env.UPDATE_README === '1') {
      await writeFile(README, readme.slice(0, start) + plans.text + readme.slice(end));
      return;
    }
    expect(readme.slice(start, end)).toBe(plans.text);
  });

  it('tells one story about the co-named queue the move leaves behind, in text, JSON and markdown', () => {
    const queue = plans.json.changes.find((c) => c.address === 'Queue/shared-us-west-2')!;
    expect(queue.action).toBe('blocked');
    expect(queue.cause).toEqual({
      code: 'CONAMED_LEFT_BEHIND',
      params: { by: 'Cluster/shared-us-west-2', pool: 'default', to: 'dev' },
    });
    expect(queue.why?.code).toBe('CONAMED_QUEUE_POOL_FIXED');
    // One warning tells it (on the cluster that causes it), not a second one on the queue.
    expect(plans.json.warnings.map((w) => `${w.code} ${w.address}`)).toEqual([
      'CONAMED_QUEUE_ORPHANED Cluster/shared-us-west-2',
      'QUEUE_NO_HEALTHY_CLUSTER Queue/eu-residency',
    ]);
    // The JSON's words: what its reason, cause and warnings say (the catalog's, from their codes).
    const json = [
      queue.reason,
      reasonText(queue.cause!),
      ...plans.json.warnings.map((w) => w.message),
    ];
    for (const [format, out] of [
      ['text', plans.text],
      ['json', json.join('\n')],
      ['markdown', plans.markdown],
    ] as const) {
      // cluster_move is off: nothing may say the queue moves, everything says it stays.
      expect(out, format).not.toMatch(/moves with|\(cluster_move\)/);
      expect(out, format).toContain('stays in pool "default"');
    }
    const stays =
      'Cluster/shared-us-west-2 is deleted and registered again in pool "dev" (C7): this co-named queue stays in pool "default"';
    expect(plans.text).toContain(stays);
    expect(plans.markdown).toContain(stays);
    expect(plans.markdown).toContain(queue.reason!);
    expect(plans.text).toContain(queue.reason!);
  });
});
