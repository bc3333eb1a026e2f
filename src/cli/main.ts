#!/usr/bin/env node
/**
 * The `poolsync` program. Before anything else is loaded: Node's compile cache (Node ≥ 22.1:
 * modules compiled once are read back, about a third off every start), and `--version`, which
 * needs nothing but package.json. The CLI itself (yargs, the command definitions) is in run.ts.
 */
import { readFileSync } from 'node:fs';
import module from 'node:module';
import { userCacheDir } from '../util/user-cache.js';

const argv = process.argv.slice(2);

/**
 * Node's code cache of poolsync's modules (not of any input: POOLSYNC_CACHE_DIR=off, the
 * manifest cache, leaves it on). Node's own NODE_COMPILE_CACHE names another folder,
 * NODE_DISABLE_COMPILE_CACHE=1 turns it off.
 */
function enableCompileCache(): void {
  const enable = (module as { enableCompileCache?: (dir?: string) => unknown }).enableCompileCache;
  if (enable === undefined) return;
  const dir = process.env.NODE_COMPILE_CACHE || userCacheDir('compile');
  if (dir === null) return;
  try {
    enable(dir);
  } catch {
    // A cache that cannot be written only costs start-up time.
  }
}

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}

if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-v')) {
  process.stdout.write(`${version()}\n`);
} else {
  enableCompileCache();
  const { main } = await import('./run.js');
  process.exitCode = await main(argv);
}
