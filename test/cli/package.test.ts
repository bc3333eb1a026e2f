/**
 * Installing poolsync as a package (README "as a package"): what a fresh clone packs must be a
 * working install. The tracked files are copied as a clone has them (no dist/), `npm pack`
 * runs (its `prepack` builds), the tarball is installed into a temporary global prefix, and
 * the installed `poolsync` binary answers `--version` and validates the bundled example.
 * One test: packing builds with tsc, and installing resolves the runtime dependencies
 * (from npm's cache, which `npm ci` filled).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = resolve(__dirname, '../..');
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** The environment of a user's shell: none of the npm_* variables `npm test` sets for its child. */
function userEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.toLowerCase().startsWith('npm_')),
  );
}

function npm(args: string[], cwd: string): string {
  const res = spawnSync('npm', [...args, '--no-audit', '--no-fund', '--loglevel=error'], {
    cwd,
    env: userEnv(),
    encoding: 'utf8',
  });
  if (res.status !== 0)
    throw new Error(`npm ${args.join(' ')} failed (${res.status}):\n${res.stdout}\n${res.stderr}`);
  return res.stdout;
}

describe('npm pack from a fresh clone', () => {
  it('packs dist/ (prepack builds) and the installed package gives a working `poolsync`', () => {
    const work = mkdtempSync(join(tmpdir(), 'poolsync-pack-'));
    dirs.push(work);
    const clone = join(work, 'clone');
    // Exactly the tracked files, as `git clone` has them: no dist/, no build output.
    const files = execFileSync('git', ['ls-files', '-z'], { cwd: ROOT, encoding: 'utf8' })
      .split('\0')
      .filter((f) => f !== '' && existsSync(join(ROOT, f)));
    for (const f of files) {
      mkdirSync(dirname(join(clone, f)), { recursive: true });
      cpSync(join(ROOT, f), join(clone, f));
    }
    expect(existsSync(join(clone, 'dist'))).toBe(false);
    // The dev dependencies `npm ci` would install (the build's tsc), without installing them again.
    symlinkSync(join(ROOT, 'node_modules'), join(clone, 'node_modules'), 'dir');

    const out = join(work, 'out');
    mkdirSync(out);
    npm(['pack', '--pack-destination', out], clone);
    const tarballs = readdirSync(out).filter((f) => f.endsWith('.tgz'));
    expect(tarballs).toHaveLength(1);
    const listing = execFileSync('tar', ['-tzf', join(out, tarballs[0]!)], { encoding: 'utf8' });
    expect(listing).toContain('package/dist/cli/main.js');
    expect(listing).toContain('package/schemas/');
    expect(listing).not.toContain('package/src/');

    const prefix = join(work, 'prefix');
    npm(
      [
        'install',
        '--global',
        '--prefix',
        prefix,
        '--prefer-offline',
        '--omit=dev',
        join(out, tarballs[0]!),
      ],
      work,
    );
    const bin = join(prefix, 'bin', 'poolsync');
    expect(existsSync(bin)).toBe(true);
    const run = (args: string[]) =>
      spawnSync(bin, args, { cwd: work, env: userEnv(), encoding: 'utf8' });
    const version = run(['--version']);
    expect(version.status).toBe(0);
    // An installed package is no checkout: the version alone, no commit.
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
    const installed = join(prefix, 'lib', 'node_modules', '@poolsync', 'cli');
    const validate = run(['validate', join(installed, 'examples', 'config-repo')]);
    expect(validate.stderr).toBe('');
    expect(validate.status).toBe(0);
    expect(validate.stdout).toMatch(/^Valid: \d+ pools/);
  }, 300_000);
});

/** Does the engines range admit Node `v`? The forms lock files use: `>=a`, `^a`, `a`, `>=a <b`, `||`. */
function admits(range: string, v: [number, number, number]): boolean {
  const parse = (s: string): [number, number, number] => {
    const [a = 0, b = 0, c = 0] = s.replace(/^v/, '').split('.').map(Number);
    return [a, b, c];
  };
  const cmp = (a: number[], b: number[]) => a[0]! - b[0]! || a[1]! - b[1]! || a[2]! - b[2]!;
  return range.split('||').some((alt) =>
    alt
      .trim()
      .replace(/(>=|<=|>|<|\^|~|=)\s+/g, '$1')
      .split(/\s+/)
      .every((part) => {
        const m = /^(>=|<=|>|<|\^|~|=)?\s*(\d+(?:\.\d+)*)$/.exec(part);
        if (!m) return true; // `*`, `x`: anything
        const [op = '=', ver = '0'] = [m[1], m[2]];
        const p = parse(ver);
        const depth = ver.split('.').length;
        if (op === '>=') return cmp(v, p) >= 0;
        if (op === '>') return cmp(v, p) > 0;
        if (op === '<=') return cmp(v, p) <= 0;
        if (op === '<') return cmp(v, p) < 0;
        if (op === '^') return v[0] === p[0] && cmp(v, p) >= 0;
        if (op === '~') return v[0] === p[0] && v[1] === p[1] && cmp(v, p) >= 0;
        return v.slice(0, depth).every((x, i) => x === p[i]);
      }),
  );
}

describe('supported Node versions', () => {
  it('every package of the lock file, dev dependencies included, runs on the README’s Node ≥ 20.19', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
      engines: { node: string };
    };
    expect(pkg.engines.node).toBe('>=20.19');
    expect(readFileSync(join(ROOT, 'README.md'), 'utf8')).toContain('Node ≥ 20.19');
    const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as {
      packages: Record<string, { engines?: { node?: string } | string[]; optional?: boolean }>;
    };
    const refused = Object.entries(lock.packages)
      .filter(([, p]) => !Array.isArray(p.engines) && p.engines?.node !== undefined)
      .filter(([, p]) => !admits((p.engines as { node: string }).node, [20, 19, 0]))
      .map(([name, p]) => `${name} (${(p.engines as { node: string }).node})`);
    // `npm ci` warns EBADENGINE for each of these on Node 20.
    expect(refused).toEqual([]);
    expect(admits('>=22', [20, 19, 0])).toBe(false);
    expect(admits('^20.19.0 || >=22.12.0', [20, 19, 0])).toBe(true);
  });
});
