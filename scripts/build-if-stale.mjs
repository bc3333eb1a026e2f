/**
 * `npm run build` (`--always`), and `npm start`'s prestart: builds dist/ only when its sources
 * changed since the build there, by either (a
 * build takes 39-49 s on a busy 2-core machine; this check reads ~220 files). The sources are
 * src/, the tsconfig files, scripts/bundle.mjs, package.json and package-lock.json, hashed by
 * path and content, not by time (a checkout or a copy moves mtimes; an edit undone needs no
 * build). dist/source-hash is the hash of the sources the last build here started from, written
 * once that build succeeded: a change made while it ran is seen by the next start.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const INPUTS = [
  'src',
  'tsconfig.json',
  'tsconfig.build.json',
  'scripts/bundle.mjs',
  'package.json',
  'package-lock.json',
];
const STAMP = 'dist/source-hash';

/** The hash of the build's inputs under `root`, by path and content. */
export function sourceHash(root) {
  const hash = createHash('sha256');
  const add = (rel) => {
    const path = join(root, rel);
    const st = statSync(path, { throwIfNoEntry: false });
    if (st === undefined) hash.update(`${rel}\0-\0`);
    else if (st.isDirectory()) for (const name of readdirSync(path).sort()) add(`${rel}/${name}`);
    else hash.update(`${rel}\0`).update(readFileSync(path)).update('\0');
  };
  for (const rel of INPUTS) add(rel);
  return hash.digest('hex');
}

/** Why dist/ under `root` needs a build, or null when it was built from these sources. */
export function staleness(root, hash = sourceHash(root)) {
  if (!existsSync(join(root, 'dist/cli/main.js'))) return 'dist/ has not been built';
  const stamp = existsSync(join(root, STAMP)) ? readFileSync(join(root, STAMP), 'utf8').trim() : '';
  if (stamp === '') return 'dist/ has no record of the sources it was built from';
  return stamp === hash ? null : 'the sources changed since dist/ was built';
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const root = resolve(fileURLToPath(import.meta.url), '../..');
  const hash = sourceHash(root);
  const always = process.argv.includes('--always');
  const why = always ? null : staleness(root, hash);
  if (!always && why === null) {
    process.stdout.write('dist/ is up to date with the sources: no build.\n');
  } else {
    if (why !== null) process.stdout.write(`Building: ${why}.\n`);
    // A build that fails part-way leaves no stamp: whatever the sources then, the next builds.
    rmSync(join(root, STAMP), { force: true });
    // tsc, then the bundle over its output (scripts/bundle.mjs).
    for (const args of [
      [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'],
      [join(root, 'scripts/bundle.mjs')],
    ]) {
      const run = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit' });
      if (run.status !== 0) process.exit(run.status ?? 1);
    }
    writeFileSync(join(root, STAMP), `${hash}\n`);
  }
}
