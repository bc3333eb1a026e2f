/**
 * What a remembered result depends on besides its inputs: poolsync's own code. Derived, not
 * listed: every code file of the package (the folder this module's folder is in: `src/` under
 * tsx, `dist/` when built) by path, size, modification time and inode, with package.json and
 * the Node version, once per process. Stamps rather than contents: reading the ~2 MB of code
 * cost a one-file replan 20-80 ms; a build, an edit or an install writes the files again
 * (new times or new inodes), and a release changes the version.
 *
 * A built CLI (`npm run build`) has `dist/build-id`, a hash of every file the build emitted
 * (scripts/bundle.mjs): its content and the stamps of it and of `dist/cli/main.js` (which tsc
 * and the bundle write on every build) stand for the walk of ~500 files, 5-25 ms of every
 * replan. A file of dist/ edited by hand after the build is not seen there: build again.
 */
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let cached: string | null = null;

const CODE = /\.(js|mjs|cjs|ts|json)$/;

export function codeFingerprint(): string {
  cached ??= fingerprintOf(dirname(dirname(fileURLToPath(import.meta.url))));
  return cached;
}

/** The fingerprint of the code under CODE_ROOT (`src/` or `dist/`), package.json beside it. */
export function fingerprintOf(codeRoot: string): string {
  const hash = createHash('sha256').update(`node ${process.version}\0`);
  try {
    hash.update(readFileSync(join(codeRoot, '..', 'package.json')));
  } catch {
    hash.update('no package.json');
  }
  const walk = (dir: string, rel: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) =>
      a.name < b.name ? -1 : 1,
    )) {
      const path = join(dir, e.name);
      if (e.isDirectory()) walk(path, `${rel}${e.name}/`);
      else if (CODE.test(e.name) && !e.name.endsWith('.d.ts')) {
        const s = statSync(path);
        hash.update(`${rel}${e.name} ${s.size} ${s.mtimeMs} ${s.ino}\n`);
      }
    }
  };
  const buildId = readBuildId(codeRoot);
  if (buildId !== null) hash.update(buildId);
  else walk(codeRoot, '');
  return hash.digest('hex').slice(0, 32);
}

/** dist/build-id with its stamps and main.js's, or null (from source, or an older build). */
export function readBuildId(codeRoot: string): string | null {
  const path = join(codeRoot, 'build-id');
  try {
    const stamp = (p: string) => {
      const s = statSync(p);
      return `${s.size} ${s.mtimeMs} ${s.ino}`;
    };
    return `build-id ${readFileSync(path, 'utf8').trim()} ${stamp(path)} ${stamp(join(codeRoot, 'cli', 'main.js'))}\n`;
  } catch {
    return null;
  }
}
