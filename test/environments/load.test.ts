/**
 * poolsync.yaml `environments:` as the loader reads it (docs/environments.md): each environment
 * its folders and patches; errors at the node of the file that caused them, base or patch; a
 * repository without environments exactly as before.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadRepository } from '../../src/manifests/index.js';
import { twoEnvironments, writeFiles } from './helpers.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'poolsync-env-load-'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

const CPS = { dev: 'file:.state/dev.json', prod: 'file:.state/prod.json' };
const load = (environment?: string) =>
  loadRepository(dir, { ...(environment ? { environment } : {}) });

describe('environments', () => {
  it('each environment reads the base and its own folder; the patch raises production limits', async () => {
    await writeFiles(dir, twoEnvironments(CPS));
    const dev = await load('dev');
    const prod = await load('prod');
    expect(dev.errors).toEqual([]);
    expect(prod.errors).toEqual([]);
    expect(dev.desired!.clusters.map((c) => c.name)).toEqual(['c-dev']);
    expect(prod.desired!.clusters.map((c) => c.name)).toEqual(['c-prod']);
    expect(dev.desired!.queues[0]!.spec.run_concurrency).toBe(10);
    expect(prod.desired!.queues[0]!.spec.run_concurrency).toBe(50);
    expect(prod.desired!.queues[0]!.spec.action_concurrency).toBe(500);
    expect(prod.desired!.config.environment).toBe('prod');
    // The patch file is not a manifest of any environment.
    expect(prod.counts.files).toBe(3);
  });

  it('a load without an environment, or of one not declared, is refused with the names', async () => {
    await writeFiles(dir, twoEnvironments(CPS));
    const none = await load();
    expect(none.valid).toBe(false);
    expect(none.errors[0]!.message).toMatch(/declares environments \(dev, prod\): name one/);
    const other = await load('staging');
    expect(other.errors[0]!.message).toMatch(/no environment 'staging'.*dev, prod/);
    const typo = await load('prdo');
    expect(typo.errors[0]!.message).toBe(
      "no environment 'prdo' in poolsync.yaml (did you mean 'prod'?); its environments: dev, prod",
    );
  });

  it('an invalid value a patch brings is reported at its line in the patch, not in the base', async () => {
    const files = twoEnvironments(CPS);
    files['prod/patches.yaml'] = files['prod/patches.yaml']!.replace(
      'run_concurrency: 50',
      'run_concurrency: -5',
    );
    await writeFiles(dir, files);
    const prod = await load('prod');
    expect(prod.valid).toBe(false);
    expect(prod.errors).toHaveLength(1);
    expect(prod.errors[0]).toMatchObject({ file: 'prod/patches.yaml', line: 6, column: 20 });
    // The same base is valid in the environment without the patch.
    expect((await load('dev')).valid).toBe(true);
  });

  it('an error of the base is reported at the base, per environment', async () => {
    const files = twoEnvironments(CPS);
    files['prod/cluster.yaml'] = files['prod/cluster.yaml']!.replace('pool: gpu', 'pool: nope');
    await writeFiles(dir, files);
    const prod = await load('prod');
    expect(prod.errors.map((e) => `${e.code} ${e.file}:${e.line}`)).toEqual([
      'V2 prod/cluster.yaml:4',
    ]);
    expect((await load('dev')).valid).toBe(true);
  });

  it('a patch of an object no folder declares, or the same object patched twice, is an error at the patch', async () => {
    const files = twoEnvironments(CPS);
    files['prod/patches.yaml'] +=
      '---\napiVersion: poolsync/v1\nkind: Queue\nmetadata: {name: trainnig}\nspec: {depth: 5}\n' +
      '---\nkind: Queue\nmetadata: {name: training}\nspec: {depth: 9}\n';
    await writeFiles(dir, files);
    const prod = await load('prod');
    expect(prod.errors.map((e) => `${e.file}:${e.line}:${e.column} ${e.message}`)).toEqual([
      expect.stringMatching(
        /^prod\/patches.yaml:11:18 patches Queue\/trainnig, which no folder of environment prod declares/,
      ),
      expect.stringMatching(
        /^prod\/patches.yaml:15:18 Queue\/training is patched twice.*also at prod\/patches.yaml:4:9/,
      ),
    ]);
  });

  it('a null in a patch removes the field (RFC 7386): the default applies again', async () => {
    const files = twoEnvironments(CPS);
    files['base/queue.yaml'] += '  depth: 300\n';
    files['prod/patches.yaml'] += '  depth: null\n';
    await writeFiles(dir, files);
    expect((await load('dev')).desired!.queues[0]!.spec.depth).toBe(300);
    expect((await load('prod')).desired!.queues[0]!.spec.depth).toBe(10000);
  });

  it('poolsync.yaml errors are at their node: missing folder, shared control plane, credentials in a URL, promotion loop', async () => {
    const files = twoEnvironments({ dev: 'file:.state/one.json', prod: 'file:./.state/one.json' });
    files['poolsync.yaml'] = files['poolsync.yaml']!.replace(
      'folders: [base, dev]',
      'folders: [base, dev, missing]',
    )
      .replace('policy: safe', 'policy: safe\n    promotesTo: dev')
      .concat('  qa:\n    controlPlane: https://user:secret@cp.example.com\n    folders: [../x]\n');
    await writeFiles(dir, files);
    const r = await load('dev');
    const at = r.errors.map((e) => `${e.file}:${e.line}:${e.column} ${e.code}`);
    expect(at).toEqual([
      'poolsync.yaml:6:26 IO', // folders: missing
      'poolsync.yaml:8:17 SCHEMA', // loop dev → prod → dev, at dev's promotesTo
      'poolsync.yaml:10:19 SCHEMA', // prod's control plane is dev's
      'poolsync.yaml:14:17 SCHEMA', // the loop, at prod's promotesTo
      'poolsync.yaml:16:19 SCHEMA', // credentials in the URL
      'poolsync.yaml:17:15 SCHEMA', // ../x
    ]);
    expect(r.errors.find((e) => e.code === 'IO')!.message).toMatch(/missing does not exist/);
    expect(JSON.stringify(r.errors)).not.toContain('secret@');
  });

  it('the schema reports an unknown field of an environment at its key', async () => {
    const files = twoEnvironments(CPS);
    files['poolsync.yaml'] = files['poolsync.yaml']!.replace('policy: all', 'polcy: all');
    await writeFiles(dir, files);
    const r = await load('dev');
    expect(r.errors).toEqual([
      expect.objectContaining({ file: 'poolsync.yaml', line: 7, column: 5, code: 'SCHEMA' }),
    ]);
  });

  it("an environment named 'all' is refused at its key: `--env all` means every environment", async () => {
    const files = twoEnvironments(CPS);
    files['poolsync.yaml'] = files['poolsync.yaml']!.replace('  prod:\n', '  all:\n').replace(
      'promotesTo: prod',
      'promotesTo: all',
    );
    await writeFiles(dir, files);
    const r = await load('dev');
    expect(r.errors.map((e) => `${e.file}:${e.line}:${e.column} ${e.code} ${e.message}`)).toEqual([
      "poolsync.yaml:9:3 SCHEMA environments.all: 'all' cannot name an environment (`--env all` means every environment); name it otherwise",
    ]);
  });

  it('an environment reads the files under its folders only, in the walk order, whatever else the repository holds', async () => {
    const files = twoEnvironments(CPS);
    files['poolsync.yaml'] = files['poolsync.yaml']!.replace(
      'folders: [base, dev]',
      'folders: [dev, base, base/sub, dev-extra]',
    );
    await writeFiles(dir, {
      ...files,
      'base/sub/q.yaml': files['base/queue.yaml']!.replace('training', 'sub'),
      'base-other/c.yaml': files['dev/cluster.yaml']!.replace('c-dev', 'not-mine'),
      'dev-extra/c.yaml': files['dev/cluster.yaml']!.replace('c-dev', 'c-extra'),
      'dev.yaml': files['dev/cluster.yaml']!.replace('c-dev', 'not-mine-either'),
    });
    const r = await load('dev');
    expect(r.errors).toEqual([]);
    expect(r.desired!.clusters.map((c) => c.name).sort()).toEqual(['c-dev', 'c-extra']);
    expect(r.desired!.queues.map((q) => q.name).sort()).toEqual(['sub', 'training']);
  });

  it('without environments, --env is refused and the folder loads as before', async () => {
    await writeFiles(dir, {
      'poolsync.yaml': 'apiVersion: poolsync/v1\nkind: RepoConfig\n',
      'a/pool.yaml': twoEnvironments(CPS)['base/pool.yaml']!,
    });
    expect((await load()).valid).toBe(true);
    expect((await load()).desired!.config.environment).toBeUndefined();
    expect((await load('dev')).errors[0]!.message).toMatch(/declares no environments/);
  });
});
