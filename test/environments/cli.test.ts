/**
 * `--env` as users run it (docs/environments.md): one repository, two embedded control planes
 * (`file:` states); plan every environment, apply one, saved plans name their environment and
 * are refused in another, each environment keeps its own inventory. The CLI in child processes.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Plan } from '../../src/model/plan.js';
import { runCli } from '../apply/helpers/cli.js';
import { twoEnvironments, writeFiles } from './helpers.js';

let root: string;
let repo: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'poolsync-env-cli-'));
  repo = join(root, 'repo');
  await writeFiles(repo, {
    ...twoEnvironments({ dev: 'file:../state/dev.json', prod: 'file:../state/prod.json' }),
    '../state/.keep': '',
  });
});
afterAll(() => rm(root, { recursive: true, force: true }));

describe('poolsync --env', () => {
  it('plan --env all plans each environment against its own control plane', async () => {
    const r = await runCli(['plan', repo, '--env', 'all', '--detailed-exitcode']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(2);
    const [dev, prod] = r.stdout.split(/\n(?=Environment: )/);
    expect(dev).toMatch(/^Environment: dev\nControl plane: embedded file:.*state\/dev\.json/);
    expect(dev).toContain('+ Cluster/c-dev');
    expect(dev).not.toContain('c-prod');
    expect(dev).toMatch(/run_concurrency += 10/);
    expect(prod).toMatch(/^Environment: prod\nControl plane: embedded file:.*state\/prod\.json/);
    expect(prod).toContain('+ Cluster/c-prod');
    expect(prod).toMatch(/run_concurrency += 50/);
  });

  it('a command without --env in a repository with environments names them', async () => {
    const r = await runCli(['plan', repo]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/declares environments \(dev, prod\): name one with --env NAME/);
    const both = await runCli(['plan', repo, '-e', 'dev', '--control-plane', 'file:/tmp/x.json']);
    expect(both.code).toBe(1);
    expect(both.stderr).toMatch(/--control-plane and --env both name a control plane/);
    const all = await runCli(['apply', repo, '--env', 'all', '--auto-approve']);
    expect(all.code).toBe(1);
    expect(all.stderr).toMatch(/runs for one environment at a time/);
  });

  it('apply -e dev changes dev only; each environment keeps its own inventory', async () => {
    const r = await runCli(['apply', repo, '-e', 'dev', '--auto-approve']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const state = join(root, 'state');
    expect(existsSync(join(state, 'dev.json.inventory.json'))).toBe(true);
    expect(existsSync(join(state, 'prod.json'))).toBe(false);
    const inventory = await readFile(join(state, 'dev.json.inventory.json'), 'utf8');
    expect(inventory).toContain('Cluster/c-dev');
    expect(inventory).not.toContain('c-prod');
    const again = await runCli(['plan', repo, '--env', 'all', '--detailed-exitcode']);
    expect(again.code).toBe(2); // prod still has changes
    expect(again.stdout).toMatch(/Environment: dev\n[^\n]*\n\nNo changes\./);
  });

  it('a saved plan names its environment and is refused in another', async () => {
    const file = join(root, 'prod.plan.json');
    const p = await runCli(['plan', repo, '-e', 'prod', '--out', file, '--output', 'json']);
    expect(p.code).toBe(0);
    const plan = JSON.parse(p.stdout) as Plan;
    expect(plan.control_plane?.environment).toBe('prod');
    const none = await runCli(['apply', file, '--config-dir', repo]);
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(
      /made for environment prod: nothing was applied; apply it with --env prod/,
    );
    const other = await runCli(['apply', file, '-e', 'dev', '--config-dir', repo]);
    expect(other.code).toBe(1);
    expect(other.stderr).toMatch(/made for environment prod, not dev/);
    expect(existsSync(join(root, 'state', 'prod.json'))).toBe(false);
    const ok = await runCli(['apply', file, '-e', 'prod', '--config-dir', repo]);
    expect(ok.stderr).toBe('');
    expect(ok.code).toBe(0);
    const inventory = await readFile(join(root, 'state', 'prod.json.inventory.json'), 'utf8');
    expect(inventory).toContain('Cluster/c-prod');
    expect(inventory).not.toContain('c-dev');
  });

  it('validate checks every environment, each named', async () => {
    const r = await runCli(['validate', repo]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Environment dev:\nValid: 1 pool, 1 cluster, 1 queue/);
    expect(r.stdout).toMatch(/Environment prod:\nValid: 1 pool, 1 cluster, 1 queue/);
    const j = await runCli(['validate', repo, '-e', 'prod', '-o', 'json']);
    expect(JSON.parse(j.stdout)).toMatchObject({
      valid: true,
      environments: { prod: { valid: true } },
    });
  });
});
