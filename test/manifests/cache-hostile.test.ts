/**
 * The manifest cache as hostile input (issue 38, items 1 and 2): an entry cannot change an
 * answer (forged entries under the right key are misses, and the result is byte for byte a cold
 * run's), trimming never leaves its folder, and the CLI keeps its cache out of the checkout.
 */
import { execFileSync } from 'node:child_process';
import {
  appendFileSync,
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { createHmac } from 'node:crypto';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  AnalysisCache,
  analysisCacheStats,
  analysisKey,
  forgetCachedAnalyses,
  loaderFingerprint,
  type FileAnalysis,
} from '../../src/incremental/analysis-cache.js';
import { loadCached } from '../../src/incremental/load-cached.js';
import { EmbeddedControlPlane } from '../../src/controlplane/embedded/embedded.js';
import { cacheTestFolder, renderedPlan } from './cache-setup.js';
import { runInProcess } from '../support/memory-io.js';

const { tmp } = await cacheTestFolder('poolsync-cache-hostile-');

/** Every entry file of a cache folder (relative path → content). */
async function entries(cacheDir: string): Promise<Map<string, string>> {
  const base = join(cacheDir, loaderFingerprint());
  const out = new Map<string, string>();
  for (const sub of await readdir(base))
    for (const name of await readdir(join(base, sub)))
      out.set(join(sub, name), await readFile(join(base, sub, name), 'utf8'));
  return out;
}

/** Every YAML file of `repo` with the key its cache entry has. */
function keysOf(repo: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (rel: string) => {
    for (const e of readdirSync(join(repo, rel), { withFileTypes: true })) {
      const r = rel === '' ? e.name : `${rel}/${e.name}`;
      if (e.isDirectory()) walk(r);
      else if (/\.ya?ml$/.test(e.name))
        out.set(r, analysisKey(r, readFileSync(join(repo, r), 'utf8')));
    }
  };
  walk('');
  return out;
}

async function plan(repo: string, cacheDir: string): Promise<string> {
  const cp = await EmbeddedControlPlane.open({ path: null });
  try {
    return await renderedPlan(repo, cp, cacheDir);
  } finally {
    await cp.close();
  }
}

describe('item 2: a cache entry cannot change an answer', () => {
  it('forged entries under the right keys (999 where the manifest says 40) are misses: the plan is a cold run, byte for byte', async () => {
    const repo = join(tmp, 'forged-repo');
    cpSync('examples/config-repo', repo, { recursive: true });
    const cacheDir = join(tmp, 'forged-cache');
    forgetCachedAnalyses();
    const cold = await plan(repo, cacheDir);
    expect(cold).toContain('run_concurrency');
    // An attacker who can write the folder but not read its secret: every entry rewritten with
    // 999, the header (format, key, HMAC) kept; and entries with a made-up HMAC.
    const genuine = await entries(cacheDir);
    expect(genuine.size).toBeGreaterThan(5);
    let forged = 0;
    for (const [rel, content] of genuine) {
      const newline = content.indexOf('\n');
      const body = content.slice(newline + 1).replace(/"run_concurrency":\d+/g, () => {
        forged++;
        return '"run_concurrency":999';
      });
      const header = JSON.parse(content.slice(0, newline)) as { key: string; mac: string };
      const made = { ...header, mac: createHmac('sha256', 'guess').update(body).digest('hex') };
      const file = join(cacheDir, loaderFingerprint(), rel);
      await writeFile(file, `${JSON.stringify(rel.length % 2 ? header : made)}\n${body}`);
    }
    expect(forged).toBeGreaterThan(3);
    forgetCachedAnalyses();
    const s0 = analysisCacheStats();
    expect(await plan(repo, cacheDir)).toBe(cold);
    expect(analysisCacheStats().hits - s0.hits).toBe(0);
    // Written again by that run: the next one is warm, and still the same.
    forgetCachedAnalyses();
    const s1 = analysisCacheStats();
    expect(await plan(repo, cacheDir)).toBe(cold);
    expect(analysisCacheStats().hits - s1.hits).toBe(genuine.size);
  });

  it.each([
    ['mode 0644, as Git checks files out', 0o644, false],
    ['mode 0600 (checked out under umask 077) and tracked by Git', 0o600, true],
  ])(
    'a committed cache folder brings its own secret (%s): it is replaced, and entries signed with it are misses',
    async (_, mode, tracked) => {
      const repo = join(tmp, `secret-repo-${mode}`);
      cpSync('examples/config-repo', repo, { recursive: true });
      const cacheDir = join(repo, '.cache');
      const secret = 'ab'.repeat(32);
      const fp = loaderFingerprint();
      const keys = keysOf(repo);
      // Entries of an empty analysis, signed with the committed secret: they would drop every object.
      for (const key of keys.values()) {
        mkdirSync(join(cacheDir, fp, key.slice(0, 2)), { recursive: true });
        const body = JSON.stringify({
          issues: [],
          documentCount: 0,
          aliasExpansion: 0,
          aliasBytes: 0,
          documents: [],
        });
        const mac = createHmac('sha256', Buffer.from(secret, 'hex'))
          .update(key)
          .update('\n')
          .update(body)
          .digest('hex');
        writeFileSync(
          join(cacheDir, fp, key.slice(0, 2), `${key}.json`),
          `${JSON.stringify({ format: 'poolsync-cache-entry-1', key, mac })}\n${body}`,
        );
      }
      writeFileSync(join(cacheDir, 'secret'), secret, { mode });
      if (tracked) {
        const git = (...args: string[]) =>
          execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.com', ...args], {
            cwd: repo,
          });
        git('init', '-q');
        git('add', '-f', '.');
        git('commit', '-qm', 'a pull request with a cache folder');
      }
      forgetCachedAnalyses();
      const s0 = analysisCacheStats();
      const warm = JSON.stringify(await loadCached(repo, { cacheDir }));
      expect(analysisCacheStats().hits - s0.hits).toBe(0);
      expect(warm).toBe(JSON.stringify(await loadCached(repo, { cacheDir: null })));
      expect(readFileSync(join(cacheDir, 'secret'), 'utf8')).not.toBe(secret);
      expect(lstatSync(join(cacheDir, 'secret')).mode & 0o777).toBe(0o600);
    },
  );
});

describe('item 1: the cache never reaches outside its folder', () => {
  const analysis = (n: number): FileAnalysis => ({
    issues: [],
    documentCount: n,
    aliasExpansion: 0,
    aliasBytes: 0,
    documents: [],
  });
  const key = (i: number) => i.toString(16).padStart(64, '0');

  it('trimming through a linked subfolder, a linked entry or a linked fingerprint folder deletes nothing outside', async () => {
    const outside = join(tmp, 'precious');
    mkdirSync(outside, { recursive: true });
    for (let i = 0; i < 5; i++) writeFileSync(join(outside, `file-${i}`), 'x'.repeat(10_000));
    // Named as an entry, in a folder named as a subfolder: a trim would delete it first (oldest).
    mkdirSync(join(outside, 'zz'), { recursive: true });
    writeFileSync(join(outside, `${key(1)}.json`), 'x'.repeat(10_000));

    const dir = join(tmp, 'trim-links');
    const base = join(dir, loaderFingerprint());
    mkdirSync(base, { recursive: true });
    symlinkSync(outside, join(base, 'zz'));
    symlinkSync(outside, join(base, '00')); // the subfolder entry 0-15 would live in
    mkdirSync(join(base, 'ff'));
    symlinkSync(join(outside, 'file-0'), join(base, 'ff', `${'f'.repeat(64)}.json`));
    const cache = new AnalysisCache({ dir, maxBytes: 1 });
    const ab = (i: number) => `ab${key(i).slice(2)}`;
    for (let i = 16; i < 20; i++) cache.set(key(i), analysis(i), 100); // under 00: refused
    for (let i = 0; i < 4; i++) cache.set(ab(i), analysis(i), 100);
    await cache.flush();
    // Trimmed to its bound: its own entries went, nothing else did.
    expect(readdirSync(join(base, 'ab'))).toEqual([]);
    expect(readdirSync(outside).sort()).toEqual(
      [...[0, 1, 2, 3, 4].map((i) => `file-${i}`), `${key(1)}.json`, 'zz'].sort(),
    );
    expect(readFileSync(join(outside, 'file-0'), 'utf8')).toHaveLength(10_000);

    // The fingerprint folder itself a link: nothing is written or trimmed through it.
    const dir2 = join(tmp, 'trim-linked-fp');
    mkdirSync(dir2);
    symlinkSync(outside, join(dir2, loaderFingerprint()));
    const cache2 = new AnalysisCache({ dir: dir2, maxBytes: 1 });
    cache2.set(key(16), analysis(16), 100);
    await cache2.flush();
    expect(readdirSync(outside)).toHaveLength(7);
  });

  it("the issue's attack: a checkout with .poolsync/cache/<fp>/zz -> a folder; validate deletes nothing and caches outside the checkout", async () => {
    const outside = join(tmp, 'victim');
    mkdirSync(outside, { recursive: true });
    for (let i = 0; i < 5; i++) writeFileSync(join(outside, `f${i}`), 'keep');
    const repo = join(tmp, 'checkout');
    cpSync('examples/config-repo', repo, { recursive: true });
    appendFileSync(join(repo, 'pools', 'prod.yaml'), '# padding\n'.repeat(1000)); // ≥ 8 KiB
    mkdirSync(join(repo, '.poolsync', 'cache', loaderFingerprint()), { recursive: true });
    symlinkSync(outside, join(repo, '.poolsync', 'cache', loaderFingerprint(), 'zz'));
    const xdg = join(tmp, 'xdg-cache');
    const cli = async () => {
      const env = {
        ...process.env,
        POOLSYNC_CACHE_DIR: undefined,
        XDG_CACHE_HOME: xdg,
        NO_COLOR: '1',
      };
      const r = await runInProcess(['validate', '.'], env, repo);
      expect(r.code, r.stderr).toBe(0);
    };
    await cli();
    await cli();
    expect(readdirSync(outside).sort()).toEqual(['f0', 'f1', 'f2', 'f3', 'f4']);
    expect(existsSync(join(xdg, 'poolsync', 'manifests', loaderFingerprint()))).toBe(true);
    expect(readdirSync(join(repo, '.poolsync', 'cache', loaderFingerprint()))).toEqual(['zz']);
  }, 60_000);
});
