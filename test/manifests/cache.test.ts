/**
 * The content-addressed cache of per-file analyses (src/incremental/analysis-cache.ts): a hit gives
 * byte-identical load results, errors and plans to a cold run; entries of another version
 * (fingerprint) or key are never trusted; the folder is safe to delete.
 */
import { execFileSync } from 'node:child_process';
import { appendFileSync, cpSync, existsSync } from 'node:fs';
import { appendFile, mkdir, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { driftModel, generateScaleModel } from '../../bench/lib/scale.js';
import { seedControlPlane } from '../../bench/lib/seed.js';
import { writeRepository } from '../../bench/lib/yaml-writer.js';
import { EmbeddedControlPlane } from '../../src/controlplane/embedded/embedded.js';
import {
  AnalysisCache,
  analysisCacheStats,
  forgetCachedAnalyses,
  loaderFingerprint,
  setMinDiskTextBytes,
  type FileAnalysis,
} from '../../src/incremental/analysis-cache.js';
import { loadCached } from '../../src/incremental/load-cached.js';
import { cacheTestFolder, renderedPlan } from './cache-setup.js';
import { runInProcess } from '../support/memory-io.js';

const { tmp, defaultThreshold } = await cacheTestFolder('poolsync-cache-');

const INVALID = 'test/fixtures/invalid';

/**
 * Loads DIR four ways: cold with an empty cache folder, from that folder, and without a folder
 * (the daemon's way) first cold, then from the in-memory layer.
 */
async function threeLoads(dir: string, cacheDir: string) {
  await rm(cacheDir, { recursive: true, force: true });
  forgetCachedAnalyses();
  const before = analysisCacheStats();
  const cold = JSON.stringify(await loadCached(dir, { cacheDir }));
  const afterCold = analysisCacheStats();
  forgetCachedAnalyses();
  const disk = JSON.stringify(await loadCached(dir, { cacheDir }));
  const afterDisk = analysisCacheStats();
  forgetCachedAnalyses();
  const noCache = JSON.stringify(await loadCached(dir));
  const beforeMem = analysisCacheStats();
  const mem = JSON.stringify(await loadCached(dir));
  const afterMem = analysisCacheStats();
  expect(noCache).toBe(cold);
  expect(afterMem.misses - beforeMem.misses).toBe(0);
  return {
    cold,
    disk,
    mem,
    coldHits: afterCold.hits - before.hits,
    diskHits: afterDisk.hits - afterCold.hits,
  };
}

describe('manifest analysis cache', () => {
  it('every fixture of the invalid corpus gives byte-identical errors from the cache', async () => {
    const fixtures = (await readdir(INVALID)).filter((f) => f !== 'expected.json');
    let hits = 0;
    for (const fixture of fixtures) {
      // A fixture is a folder, or one file that is the whole repository.
      let dir = join(INVALID, fixture);
      if (fixture.endsWith('.yaml')) {
        dir = join(tmp, 'single', fixture.replace(/\.yaml$/, ''));
        await mkdir(dir, { recursive: true });
        cpSync(join(INVALID, fixture), join(dir, fixture));
      }
      const r = await threeLoads(dir, join(tmp, 'cache-invalid'));
      expect(r.coldHits, fixture).toBe(0);
      expect(r.disk, fixture).toBe(r.cold);
      expect(r.mem, fixture).toBe(r.cold);
      expect(JSON.parse(r.cold).valid, fixture).toBe(false);
      hits += r.diskHits;
    }
    expect(hits).toBeGreaterThan(40);
    // The rule errors' positions came from entries whose positions were parsed again.
    expect(analysisCacheStats().rootsRebuilt).toBeGreaterThan(10);
  });

  it('a cache hit gives byte-identical plans (text and JSON) to a cold run; one changed file is one miss', async () => {
    const model = generateScaleModel(1500, 3);
    const repo = join(tmp, 'org');
    await writeRepository(model, repo);
    const cp = await EmbeddedControlPlane.open({ path: null });
    await seedControlPlane(cp, driftModel(model, { seed: 11 }).model, { concurrency: 8 });
    const cacheDir = join(tmp, 'cache-plan');
    const plan = () => renderedPlan(repo, cp, cacheDir);
    forgetCachedAnalyses();
    const cold = await plan();
    forgetCachedAnalyses();
    const s0 = analysisCacheStats();
    const warm = await plan();
    const s1 = analysisCacheStats();
    expect(warm).toBe(cold);
    expect(s1.misses - s0.misses).toBe(0);
    expect(s1.hits - s0.hits).toBeGreaterThan(10);
    // Disk entries carry no positions; a valid repository never needs them rebuilt.
    expect(s1.rootsRebuilt - s0.rootsRebuilt).toBe(0);
    expect(cold).toMatch(/to change|update|replace/i);

    const [someFile] = (await readdir(join(repo, 'queues'))).sort();
    await appendFile(join(repo, 'queues', someFile!), '# a comment changes the bytes\n');
    const s2 = analysisCacheStats();
    expect(await plan()).toBe(cold);
    expect(analysisCacheStats().misses - s2.misses).toBe(1);

    // Safe to delete: a removed cache folder is a cold run with the same result.
    await rm(cacheDir, { recursive: true, force: true });
    forgetCachedAnalyses();
    expect(await plan()).toBe(cold);
    await cp.close();
  });

  it('never trusts an entry of another fingerprint or key, and deletes other fingerprints', async () => {
    const repo = join(tmp, 'small');
    cpSync('examples/config-repo', repo, { recursive: true });
    const cacheDir = join(tmp, 'cache-trust');
    forgetCachedAnalyses();
    const cold = JSON.stringify(await loadCached(repo, { cacheDir }));
    const fp = loaderFingerprint();
    // Every entry of this version now holds the analysis of another file: all are misses.
    const base = join(cacheDir, fp);
    const entries: string[] = [];
    for (const sub of await readdir(base))
      for (const f of await readdir(join(base, sub))) entries.push(join(base, sub, f));
    expect(entries.length).toBeGreaterThan(3);
    for (const e of entries) {
      await writeFile(e, '{"key":"0000","analysis":{"issues":[],"documents":[]}}');
    }
    const stale = join(cacheDir, 'f'.repeat(32));
    await mkdir(stale, { recursive: true });
    await writeFile(join(stale, 'x.json'), '{}');
    forgetCachedAnalyses();
    const s0 = analysisCacheStats();
    expect(JSON.stringify(await loadCached(repo, { cacheDir }))).toBe(cold);
    expect(analysisCacheStats().hits - s0.hits).toBe(0);
    expect(existsSync(stale)).toBe(false);
  });

  it('the CLI keeps its cache out of the work tree (the user cache folder): a plan in a clean work tree still records the commit', async () => {
    const repo = join(tmp, 'git-repo');
    cpSync('examples/config-repo', repo, { recursive: true });
    // One file large enough for the disk layer (small files skip it).
    appendFileSync(join(repo, 'pools', 'prod.yaml'), '# padding\n'.repeat(1000));
    const git = (...args: string[]) =>
      execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.com', ...args], {
        cwd: repo,
        encoding: 'utf8',
      });
    git('init', '-q');
    git('add', '.');
    git('commit', '-q', '-m', 'initial');
    const cli = async (...args: string[]) => {
      const r = await runInProcess(
        args,
        // The default cache folder: the user's, never the work tree.
        {
          ...process.env,
          POOLSYNC_CACHE_DIR: undefined,
          XDG_CACHE_HOME: join(tmp, 'xdg'),
          NO_COLOR: '1',
        },
        repo,
      );
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
    expect(existsSync(join(tmp, 'xdg', 'poolsync', 'manifests', loaderFingerprint()))).toBe(true);
    expect(existsSync(join(repo, '.poolsync'))).toBe(false);
    expect(git('status', '--porcelain')).toBe('');
    const second = await cli(...args);
    expect(second).toBe(first);
    expect(JSON.parse(second).commit).toBe(git('rev-parse', 'HEAD').trim());
  }, 60_000);
});

describe('cache bounds and sharing', () => {
  const analysis = (n: number): FileAnalysis => ({
    issues: [],
    documentCount: n,
    aliasExpansion: 0,
    aliasBytes: 0,
    documents: [],
  });
  const key = (i: number) => i.toString(16).padStart(64, '0');

  it('keeps the folder within its bound: entries this load used, then the newest, stay', async () => {
    const dir = join(tmp, 'bounded');
    const fill = new AnalysisCache({ dir });
    for (let i = 0; i < 10; i++) fill.set(key(i), analysis(i), 100);
    await fill.flush();
    const base = join(dir, loaderFingerprint());
    const sizes = async () => {
      const out = new Map<string, number>();
      for (const sub of await readdir(base))
        for (const name of await readdir(join(base, sub)))
          out.set(name.slice(0, -5), (await stat(join(base, sub, name))).size);
      return out;
    };
    const all = await sizes();
    expect(all.size).toBe(10);
    const one = Math.max(...all.values());
    // Entries 0-2 are used by the next load, 10 is new: room for four entries.
    const bounded = new AnalysisCache({ dir, maxBytes: Math.floor(one * 4.5) });
    for (const i of [0, 1, 2])
      expect(await bounded.get(key(i), '')).toMatchObject({ documentCount: i });
    bounded.set(key(10), analysis(10), 100);
    await bounded.flush();
    const kept = await sizes();
    expect([...kept.keys()].sort()).toEqual([key(0), key(1), key(2), key(10)].sort());
    expect([...kept.values()].reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(one * 4.5);
  });

  it('in memory, a reload of an unchanged folder returns the same result; any change is a new one', async () => {
    const dir = join(tmp, 'reload');
    cpSync('examples/config-repo', dir, { recursive: true });
    forgetCachedAnalyses();
    const first = await loadCached(dir);
    expect(first.valid).toBe(true);
    expect(await loadCached(dir)).toBe(first);
    // Another commit is another result, even with the same bytes.
    expect(await loadCached(dir, { commit: 'c0ffee' })).not.toBe(first);
    await appendFile(join(dir, 'pools', 'dev.yaml'), '# touched\n');
    const edited = await loadCached(dir);
    expect(edited).not.toBe(first);
    expect(JSON.stringify(edited)).toBe(JSON.stringify(first));
    expect(await loadCached(dir)).toBe(edited);
    // A file over the size limit is part of the key with its error: a new size is a new error.
    await writeFile(
      join(dir, 'poolsync.yaml'),
      'apiVersion: poolsync/v1\nkind: RepoConfig\nlimits:\n  file_bytes: 4096\n',
    );
    await writeFile(join(dir, 'big.yaml'), `# ${'x'.repeat(5000)}\n`);
    const tooBig = await loadCached(dir);
    expect(tooBig.errors.map((e) => e.message).join()).toContain('5,003 bytes');
    await writeFile(join(dir, 'big.yaml'), `# ${'x'.repeat(6000)}\n`);
    const bigger = await loadCached(dir);
    expect(bigger.errors.map((e) => e.message).join()).toContain('6,003 bytes');
    // A disk cache (the CLI) never hands out a shared result.
    const disk = join(tmp, 'reload-cache');
    expect(await loadCached(dir, { cacheDir: disk })).not.toBe(
      await loadCached(dir, { cacheDir: disk }),
    );
  });

  it('the memory layer hands out the same frozen analysis: a hit copies nothing, and nothing can change it', async () => {
    forgetCachedAnalyses();
    const first = await loadCached('examples/config-repo');
    const second = await loadCached('examples/config-repo');
    expect(JSON.stringify(second)).toBe(JSON.stringify(first));
    const memory = new AnalysisCache('memory');
    const a = analysis(1);
    memory.set(key(99), a, 100);
    const hit = await memory.get(key(99), '');
    expect(hit).toBe(a);
    expect(Object.isFrozen(hit)).toBe(true);
    expect(Object.isFrozen(hit!.documents)).toBe(true);
    expect(() => {
      (hit as { documentCount: number }).documentCount = 2;
    }).toThrow(TypeError);
  });
});

describe('small files skip the disk layer (issue 23)', () => {
  it('a folder of one-object files writes no entry and reads none: cold and warm are the cache-off work', async () => {
    const threshold = defaultThreshold();
    setMinDiskTextBytes(threshold);
    try {
      const repo = join(tmp, 'tiny');
      await mkdir(repo, { recursive: true });
      const queue = (i: number) =>
        `apiVersion: poolsync/v1\nkind: Queue\nmetadata:\n  name: q${i}\nspec:\n  run_concurrency: 1\n  action_concurrency: 1\n`;
      for (let i = 0; i < 50; i++) await writeFile(join(repo, `q${i}.yaml`), queue(i));
      // One file of many documents, over the threshold: cached.
      const many = Array.from({ length: 100 }, (_, i) => queue(100 + i)).join('---\n');
      expect(many.length).toBeGreaterThanOrEqual(threshold);
      await writeFile(join(repo, 'many.yaml'), many);
      const cacheDir = join(tmp, 'cache-tiny');
      forgetCachedAnalyses();
      const cold = JSON.stringify(await loadCached(repo, { cacheDir }));
      const entries = async () => {
        const base = join(cacheDir, loaderFingerprint());
        let n = 0;
        for (const sub of await readdir(base)) n += (await readdir(join(base, sub))).length;
        return n;
      };
      expect(await entries()).toBe(1);
      const s0 = analysisCacheStats();
      expect(JSON.stringify(await loadCached(repo, { cacheDir }))).toBe(cold);
      const s1 = analysisCacheStats();
      expect([s1.hits - s0.hits, s1.misses - s0.misses]).toEqual([1, 0]);
      expect(JSON.stringify(await loadCached(repo, { cacheDir: null }))).toBe(cold);
    } finally {
      setMinDiskTextBytes(0);
    }
  });
});
