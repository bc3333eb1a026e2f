/**
 * What a remembered result depends on besides its inputs: poolsync's own code. Derived, not
 * listed: every code file of the package (the folder this module's folder is in: `src/` under
 * tsx, `dist/` when built) by path, size, modification time and inode, with package.json and
 * the Node version, once per process. Stamps rather than contents: reading the ~2 MB of code
 * cost a one-file replan 20-80 ms; a build, an edit or an install writes the files again
 * (new times or new inodes), and a release changes the version.
 */
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let cached: string | null = null;

const CODE = /\.(js|mjs|cjs|ts|json)$/;

export function codeFingerprint(): string {
  if (cached !== null) return cached;
  const codeRoot = dirname(dirname(fileURLToPath(import.meta.url)));
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
  walk(codeRoot, '');
  cached = hash.digest('hex').slice(0, 32);
  return cached;
}
