/**
 * The in-memory cache of per-file analyses and folder results (src/incremental/analysis-cache.ts,
 * the daemon's): a hit gives byte-identical load results, errors and plans to a cold run; a
 * one-shot load (the CLI) keeps nothing, in memory or on disk, and writes nothing into the work
 * tree.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync } from 'node:fs';
import { appendFile, mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { driftModel, generateScaleModel } from '../../bench/lib/scale.js';
import { seedControlPlane } from '../../bench/lib/seed.js';
import { writeRepository } from '../../bench/lib/yaml-writer.js';
import { EmbeddedControlPlane } from '../../src/controlplane/embedded/embedded.js';
import { AnalysisCache } from '../../src/incremental/analysis-cache.js';
import { loadDesired } from '../../src/ops/plan-run.js';
import { LIMITS } from '../../src/manifests/limits.js';
import { cacheTestFolder, renderedPlan } from './cache-setup.js';
import { runInProcess } from '../support/memory-io.js';

const { tmp } = await cacheTestFolder('poolsync-cache-');

const INVALID = 'test/fixtures/invalid';

/** Loads DIR one-shot (the CLI's way), then through the memory layer cold and warm. */
async function threeLoads(dir: string) {
  const cold = JSON.stringify(await loadDesired(dir));
  const analyses = new AnalysisCache();
  const noCache = JSON.stringify(await loadDesired(dir, { analyses }));
  const beforeMem = { ...analyses.stats };
  const mem = JSON.stringify(await loadDesired(dir, { analyses }));
  const afterMem = { ...analyses.stats };
  expect(noCache).toBe(cold);
  expect(afterMem.misses - beforeMem.misses).toBe(0);
  return { cold, mem };
}

describe('manifest analysis cache', () => {
  it('every fixture of the invalid corpus gives byte-identical errors from the memory layer', async () => {
    const fixtures = (await readdir(INVALID)).filter((f) => f !== 'expected.json');
    for (const fixture of fixtures) {
      // A fixture is a folder, or one file that is the whole repository.
      let dir = join(INVALID, fixture);
      if (fixture.endsWith('.yaml')) {
        dir = join(tmp, 'single', fixture.replace(/\.yaml$/, ''));
        await mkdir(dir, { recursive: true });
        cpSync(join(INVALID, fixture), join(dir, fixture));
      }
      const r = await threeLoads(dir);
      expect(r.mem, fixture).toBe(r.cold);
      expect(JSON.parse(r.cold).valid, fixture).toBe(false);
    }
  });

  it('a cache hit gives byte-identical plans (text and JSON) to a cold run; one changed file is one miss', async () => {
    const model = generateScaleModel(1500, 3);
    const repo = join(tmp, 'org');
    await writeRepository(model, repo);
    const cp = await EmbeddedControlPlane.open({ path: null });
    await seedControlPlane(cp, driftModel(model, { seed: 11 }).model, { concurrency: 8 });
    let analyses = new AnalysisCache();
    const plan = () => renderedPlan(repo, cp, analyses);
    const cold = await plan();
    const s0 = { ...analyses.stats };
    const warm = await plan();
    const s1 = { ...analyses.stats };
    expect(warm).toBe(cold);
    expect(s1.misses - s0.misses).toBe(0);
    expect(cold).toMatch(/to change|update|replace/i);

    const [someFile] = (await readdir(join(repo, 'queues'))).sort();
    await appendFile(join(repo, 'queues', someFile!), '# a comment changes the bytes\n');
    const s2 = { ...analyses.stats };
    expect(await plan()).toBe(cold);
    expect(analyses.stats.misses - s2.misses).toBe(1);
    expect(analyses.stats.hits - s2.hits).toBeGreaterThan(10);

    // Safe to lose: a forgotten memory layer is a cold run with the same result.
    analyses = new AnalysisCache();
    expect(await plan()).toBe(cold);
    await cp.close();
  });

  it('the CLI keeps no plan cache, in the work tree or the user cache folder: a plan in a clean work tree records the commit', async () => {
    const repo = join(tmp, 'git-repo');
    cpSync('examples/config-repo', repo, { recursive: true });
    const git = (...args: string[]) =>
      execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.com', ...args], {
        cwd: repo,
        encoding: 'utf8',
      });
    git('init', '-q');
    git('add', '.');
    git('commit', '-q', '-m', 'initial');
    const cli = async (...args: string[]) => {
      const env = {
        ...process.env,
        XDG_CACHE_HOME: join(tmp, 'xdg'),
        NO_COLOR: '1',
      };
      const r = await runInProcess(args, env, repo);
      expect(r.code, r.stderr).toBe(0);
      return r.stdout;
    };
    const args = [
      'plan',
      '.',
      '--control-plane',
      `file:${join(tmp, 'cli-cp.json')}`,
      '--output',
      'json',
    ];
    const first = await cli(...args);
    expect(existsSync(join(tmp, 'xdg', 'poolsync', 'manifests'))).toBe(false);
    expect(existsSync(join(repo, '.poolsync'))).toBe(false);
    expect(git('status', '--porcelain')).toBe('');
    const second = await cli(...args);
    expect(second).toBe(first);
    expect(JSON.parse(second).commit).toBe(git('rev-parse', 'HEAD').trim());
  }, 60_000);
});

describe('cache sharing', () => {
  it('in memory, a reload of an unchanged folder returns the same result; any change is a new one', async () => {
    const dir = join(tmp, 'reload');
    cpSync('examples/config-repo', dir, { recursive: true });
    const analyses = new AnalysisCache();
    const load = (opts = {}) => loadDesired(dir, { ...opts, analyses });
    const first = await load();
    expect(first.valid).toBe(true);
    expect(await load()).toBe(first);
    // Another commit is another result, even with the same bytes.
    expect(await load({ commit: 'c0ffee' })).not.toBe(first);
    await appendFile(join(dir, 'pools', 'dev.yaml'), '# touched\n');
    const edited = await load();
    expect(edited).not.toBe(first);
    expect(JSON.stringify(edited)).toBe(JSON.stringify(first));
    expect(await load()).toBe(edited);
    // A file over the size limit is part of the key with its error: a new size is a new error.
    await writeFile(
      join(dir, 'poolsync.yaml'),
      'apiVersion: poolsync/v1\nkind: RepoConfig\nlimits:\n  file_bytes: 4096\n',
    );
    await writeFile(join(dir, 'big.yaml'), `# ${'x'.repeat(5000)}\n`);
    const tooBig = await load();
    expect(tooBig.errors.map((e) => e.message).join()).toContain('5,003 bytes');
    await writeFile(join(dir, 'big.yaml'), `# ${'x'.repeat(6000)}\n`);
    const bigger = await load();
    expect(bigger.errors.map((e) => e.message).join()).toContain('6,003 bytes');
    // A one-shot load (the CLI) never hands out a shared result.
    expect(await loadDesired(dir)).not.toBe(await loadDesired(dir));
  });

  it('the memory layer hands out the same frozen analysis: a hit copies nothing, and nothing can change it', async () => {
    const analyses = new AnalysisCache();
    const first = await loadDesired('examples/config-repo', { analyses });
    const second = await loadDesired('examples/config-repo', { analyses });
    expect(JSON.stringify(second)).toBe(JSON.stringify(first));
    const input = {
      file: 'pools/a.yaml',
      text: 'apiVersion: poolsync/v1\nkind: ClusterPool\nmetadata:\n  name: a\n',
      limits: LIMITS,
    };
    const fresh = analyses.analyse(input);
    const hit = analyses.analyse({ ...input });
    expect(hit).toBe(fresh);
    expect(Object.isFrozen(hit)).toBe(true);
    expect(Object.isFrozen(hit!.documents)).toBe(true);
    expect(() => {
      (hit as { documentCount: number }).documentCount = 2;
    }).toThrow(TypeError);
  });
});
