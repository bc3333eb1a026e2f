/**
 * Issue 38, item 11: huge live values are refused when the live state is read, before anything
 * plans, renders or exports them. A 10 MB flyteadmin label made `export` overflow the stack
 * (js-yaml) and would have been quoted whole; through the CLI under a 256 MB heap, `export` and
 * `plan --output json` now end with one line naming where the value is, and nothing is written.
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_LIVE_STRING } from '../../src/controlplane/types.js';
import { runCli } from '../support/cli.js';
import { startFlyteadmin, type Flyteadmin } from './helpers.js';

let fa: Flyteadmin;
let dir: string;
beforeAll(async () => {
  fa = await startFlyteadmin(null);
  fa.store.createOrUpdate(
    {
      project: 'team1',
      domain: 'development',
      workflow: '',
      launch_plan: '',
      resource_type: 'EXECUTION_CLUSTER_LABEL',
      org: '',
    },
    { execution_cluster_label: { value: 'x'.repeat(10_000_000) } },
  );
  dir = await mkdtemp(join(tmpdir(), 'poolsync-huge-'));
});
afterAll(async () => {
  await fa?.close();
  await rm(dir, { recursive: true, force: true });
});

const env = { NODE_OPTIONS: '--max-old-space-size=256' };
const refusal = new RegExp(
  `^Error: control plane: INVALID_ARGUMENT: it reported a value of 10,000,000 characters at labels\\[0\\]\\.label \\("x{40}"…\\): more than ${MAX_LIVE_STRING} characters, which no name, label or setting needs; poolsync does not plan, render or export it\\. Fix or remove that object with the control plane's own tool\\n$`,
);

describe('a 10 MB flyteadmin label', () => {
  it('export: one line, exit 1, nothing written', { timeout: 120_000 }, async () => {
    const r = await runCli(['export', '--control-plane', fa.url, '--dir', join(dir, 'out')], env);
    expect(r.stderr).toMatch(refusal);
    expect(r.code).toBe(1);
    expect(await readdir(dir)).toEqual([]);
  });

  it('plan --output json: one line, exit 1', { timeout: 120_000 }, async () => {
    const r = await runCli(
      ['plan', 'examples/flyte-oss', '--control-plane', fa.url, '--output', 'json'],
      env,
    );
    expect(r.stderr).toMatch(refusal);
    expect(r.stdout).toBe('');
    expect(r.code).toBe(1);
  });
});
