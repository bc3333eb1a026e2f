/**
 * Promotion (docs/environments.md, Promotion): `poolsync promote dev` shows what making prod's
 * own folder hold dev's manifests would plan on prod's control plane, before the change is
 * made; `--write` makes it. Clusters in a later folder of each environment and patches are
 * never promoted. Two `file:` control planes; the CLI in child processes.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';
import { shellQuote } from '../../src/util/shell-quote.js';
import { POOL, QUEUE, cluster, twoEnvironments, writeFiles } from './helpers.js';

let root: string;
let repo: string;
const queue = (name: string, run: number) =>
  `apiVersion: poolsync/v1\nkind: Queue\nmetadata: {name: ${name}}\nspec: {pool: gpu, run_concurrency: ${run}, action_concurrency: ${run * 10}}\n`;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'poolsync-env-promote-'));
  repo = join(root, 'repo');
  await writeFiles(repo, {
    'poolsync.yaml': `apiVersion: poolsync/v1
kind: RepoConfig
environments:
  dev:
    controlPlane: file:../state/dev.json
    folders: [base, dev, clusters/dev]
    promotesTo: prod
  prod:
    controlPlane: file:../state/prod.json
    folders: [base, prod, clusters/prod]
    patches: [prod/patches.yaml]
`,
    'base/pool.yaml': POOL,
    'base/queue.yaml': QUEUE,
    'clusters/dev/c.yaml': cluster('c-dev'),
    'clusters/prod/c.yaml': cluster('c-prod'),
    'dev/queues.yaml': queue('experiments', 5),
    'dev/old.yaml': queue('batch', 2),
    'prod/old.yaml': queue('batch', 1),
    'prod/retired.yaml': queue('retired', 1),
    'prod/patches.yaml': 'kind: Queue\nmetadata: {name: training}\nspec: {run_concurrency: 50}\n',
    '../state/.keep': '',
  });
  const applied = await runCli(['apply', repo, '-e', 'prod', '--auto-approve']);
  expect(applied.code, applied.stderr).toBe(0);
});
afterAll(() => rm(root, { recursive: true, force: true }));

describe('poolsync promote', () => {
  it('plans the promoted manifests on the next environment, changing nothing', async () => {
    const r = await runCli(['promote', 'dev', repo, '--detailed-exitcode']);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain(
      'Promoting dev to prod changes 3 files:\n  ~ prod/old.yaml\n  + prod/queues.yaml\n  - prod/retired.yaml\n',
    );
    expect(r.stdout).toMatch(
      /^Environment: prod\nControl plane: embedded file:.*state\/prod\.json/,
    );
    expect(r.stdout).toContain('+ Queue/experiments');
    expect(r.stdout).toContain('~ Queue/batch');
    // Not promoted: dev's cluster, prod's patch (training keeps prod's 50).
    expect(r.stdout).not.toContain('c-dev');
    expect(r.stdout).not.toContain('Queue/training');
    // Nothing was written.
    expect(existsSync(join(repo, 'prod/queues.yaml'))).toBe(false);
    expect(await readFile(join(repo, 'prod/old.yaml'), 'utf8')).toContain('run_concurrency: 1');
  });

  it('--write makes the change; promoting again then changes no file', async () => {
    const r = await runCli(['promote', 'dev', repo, '--write']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/Wrote 3 file changes into prod: commit them and open/);
    expect(await readFile(join(repo, 'prod/queues.yaml'), 'utf8')).toContain('experiments');
    expect(existsSync(join(repo, 'prod/retired.yaml'))).toBe(false);
    expect(existsSync(join(repo, 'prod/patches.yaml'))).toBe(true);
    const again = await runCli(['promote', 'dev', repo]);
    expect(again.stderr).toMatch(/changes no file/);
  });

  it('refuses what is not a promotion', async () => {
    const last = await runCli(['promote', 'prod', repo]);
    expect(last.code).toBe(1);
    expect(last.stderr).toMatch(/prod promotes to no environment: set its promotesTo/);
    const unknown = await runCli(['promote', 'qa', repo]);
    expect(unknown.stderr).toMatch(/no environment 'qa'.*dev, prod/);
  });
});

describe('promote with rendered files', () => {
  it("names the user's folder in the render command, never its temporary copy (gone after the command)", async () => {
    const dir = join(root, 'rendering');
    const render = 'render:\n  union-cluster-pools:\n    path: deploy/{env}-pools.yaml\n';
    await writeFiles(dir, {
      ...twoEnvironments(
        { dev: 'file:../state/r-dev.json', prod: 'file:../state/r-prod.json' },
        render,
      ),
    });
    const r = await runCli(['promote', 'dev', dir]);
    expect(r.code, r.stderr).toBe(0);
    // It said `poolsync render union-cluster-pools /tmp/poolsync-promote-…/rendering --env prod`.
    expect(r.stdout).toContain(
      `Rendered file deploy/prod-pools.yaml does not exist yet. Union self-managed has no API for the pool → clusters mapping, so no plan or apply sends this change: render the file (\`poolsync render union-cluster-pools ${shellQuote(dir)} --env prod\`)`,
    );
    expect(r.stdout + r.stderr).not.toContain('poolsync-promote-');
  });
});
