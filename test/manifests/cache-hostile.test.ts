/**
 * The CLI's cache folder as hostile input (issue 38, items 1 and 2; disk-cache.ts, which the
 * plan memory keeps its records in): an entry cannot change an answer (forged entries under the
 * right key are misses), trimming never leaves its folder, and the CLI keeps its cache out of
 * the checkout.
 */
import { execFileSync } from 'node:child_process';
import {
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
import { codeFingerprint } from '../../src/incremental/plan-memory.js';
import { DiskCache } from '../../src/incremental/disk-cache.js';
import { cacheTestFolder } from './cache-setup.js';
import { runInProcess } from '../support/memory-io.js';

const { tmp } = await cacheTestFolder('poolsync-cache-hostile-');

/** Every entry file of a cache folder (relative path → content). */
async function entries(cacheDir: string): Promise<Map<string, string>> {
  const base = join(cacheDir, codeFingerprint());
  const out = new Map<string, string>();
  for (const sub of await readdir(base))
    for (const name of await readdir(join(base, sub)))
      out.set(join(sub, name), await readFile(join(base, sub, name), 'utf8'));
  return out;
}

describe('item 2: a cache entry cannot change an answer', () => {
  const keys = Array.from({ length: 8 }, (_, i) => i.toString(16).padStart(64, '0'));
  const body = (i: number) => JSON.stringify({ queue: `q${i}`, run_concurrency: 40 });

  it('forged entries under the right keys (999 where the entry says 40) are misses', async () => {
    const cacheDir = join(tmp, 'forged-cache');
    const disk = new DiskCache(cacheDir, codeFingerprint());
    for (const [i, key] of keys.entries()) expect(await disk.write(key, body(i))).toBe(true);
    const genuine = await entries(cacheDir);
    expect(genuine.size).toBe(keys.length);
    // An attacker who can write the folder but not read its secret: every entry rewritten with
    // 999, the header (format, key, HMAC) kept; and entries with a made-up HMAC.
    let forged = 0;
    for (const [rel, content] of genuine) {
      const newline = content.indexOf('\n');
      const forgedBody = content.slice(newline + 1).replace(/"run_concurrency":\d+/g, () => {
        forged++;
        return '"run_concurrency":999';
      });
      const header = JSON.parse(content.slice(0, newline)) as { key: string; mac: string };
      const made = {
        ...header,
        mac: createHmac('sha256', 'guess').update(forgedBody).digest('hex'),
      };
      const file = join(cacheDir, codeFingerprint(), rel);
      await writeFile(file, `${JSON.stringify(rel.length % 2 ? header : made)}\n${forgedBody}`);
    }
    expect(forged).toBe(keys.length);
    const reader = new DiskCache(cacheDir, codeFingerprint());
    for (const key of keys) expect(await reader.read(key, 1 << 20)).toBeNull();
    // Written again: read back as written.
    for (const [i, key] of keys.entries()) await reader.write(key, body(i));
    for (const [i, key] of keys.entries()) expect(await reader.read(key, 1 << 20)).toBe(body(i));
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
      const fp = codeFingerprint();
      // Entries signed with the committed secret.
      for (const [i, key] of keys.entries()) {
        mkdirSync(join(cacheDir, fp, key.slice(0, 2)), { recursive: true });
        const mac = createHmac('sha256', Buffer.from(secret, 'hex'))
          .update(key)
          .update('\n')
          .update(body(i))
          .digest('hex');
        writeFileSync(
          join(cacheDir, fp, key.slice(0, 2), `${key}.json`),
          `${JSON.stringify({ format: 'poolsync-cache-entry-1', key, mac })}\n${body(i)}`,
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
      const disk = new DiskCache(cacheDir, fp);
      for (const key of keys) expect(await disk.read(key, 1 << 20)).toBeNull();
      expect(readFileSync(join(cacheDir, 'secret'), 'utf8')).not.toBe(secret);
      expect(lstatSync(join(cacheDir, 'secret')).mode & 0o777).toBe(0o600);
    },
  );
});

describe('item 1: the cache never reaches outside its folder', () => {
  const key = (i: number) => i.toString(16).padStart(64, '0');

  it('trimming through a linked subfolder, a linked entry or a linked fingerprint folder deletes nothing outside', async () => {
    const outside = join(tmp, 'precious');
    mkdirSync(outside, { recursive: true });
    for (let i = 0; i < 5; i++) writeFileSync(join(outside, `file-${i}`), 'x'.repeat(10_000));
    // Named as an entry, in a folder named as a subfolder: a trim would delete it first (oldest).
    mkdirSync(join(outside, 'zz'), { recursive: true });
    writeFileSync(join(outside, `${key(1)}.json`), 'x'.repeat(10_000));

    const dir = join(tmp, 'trim-links');
    const base = join(dir, codeFingerprint());
    mkdirSync(base, { recursive: true });
    symlinkSync(outside, join(base, 'zz'));
    symlinkSync(outside, join(base, '00')); // the subfolder entry 0-15 would live in
    mkdirSync(join(base, 'ff'));
    symlinkSync(join(outside, 'file-0'), join(base, 'ff', `${'f'.repeat(64)}.json`));
    const cache = new DiskCache(dir, codeFingerprint());
    const ab = (i: number) => `ab${key(i).slice(2)}`;
    for (let i = 16; i < 20; i++) await cache.write(key(i), `{"n":${i}}`); // under 00: refused
    for (let i = 0; i < 4; i++) await cache.write(ab(i), `{"n":${i}}`);
    await cache.trim(1, new Set());
    // Trimmed to its bound: its own entries went, nothing else did.
    expect(readdirSync(join(base, 'ab'))).toEqual([]);
    expect(readdirSync(outside).sort()).toEqual(
      [...[0, 1, 2, 3, 4].map((i) => `file-${i}`), `${key(1)}.json`, 'zz'].sort(),
    );
    expect(readFileSync(join(outside, 'file-0'), 'utf8')).toHaveLength(10_000);

    // The fingerprint folder itself a link: nothing is written or trimmed through it.
    const dir2 = join(tmp, 'trim-linked-fp');
    mkdirSync(dir2);
    symlinkSync(outside, join(dir2, codeFingerprint()));
    const cache2 = new DiskCache(dir2, codeFingerprint());
    await cache2.write(key(16), '{"n":16}');
    // Refused, as the plan memory's trim is (which ignores the error: never fails a plan).
    await expect(cache2.trim(1, new Set())).rejects.toThrow();
    expect(readdirSync(outside)).toHaveLength(7);
  });

  it("the issue's attack: a checkout with .poolsync/cache/<fp>/zz -> a folder; plan deletes nothing and caches outside the checkout", async () => {
    const outside = join(tmp, 'victim');
    mkdirSync(outside, { recursive: true });
    for (let i = 0; i < 5; i++) writeFileSync(join(outside, `f${i}`), 'keep');
    const repo = join(tmp, 'checkout');
    cpSync('examples/config-repo', repo, { recursive: true });
    mkdirSync(join(repo, '.poolsync', 'cache', codeFingerprint()), { recursive: true });
    symlinkSync(outside, join(repo, '.poolsync', 'cache', codeFingerprint(), 'zz'));
    const xdg = join(tmp, 'xdg-cache');
    const cli = async () => {
      const env = {
        ...process.env,
        POOLSYNC_CACHE_DIR: undefined,
        XDG_CACHE_HOME: xdg,
        NO_COLOR: '1',
      };
      const args = ['plan', '.', '--control-plane', `file:${join(tmp, 'attack-cp.json')}`];
      const r = await runInProcess(args, env, repo);
      expect(r.code, r.stderr).toBe(0);
    };
    await cli();
    await cli();
    expect(readdirSync(outside).sort()).toEqual(['f0', 'f1', 'f2', 'f3', 'f4']);
    expect(existsSync(join(xdg, 'poolsync', 'manifests', 'plans'))).toBe(true);
    expect(readdirSync(join(repo, '.poolsync', 'cache', codeFingerprint()))).toEqual(['zz']);
  }, 60_000);
});
