/**
 * poolsync's version, from its package.json (found from this file: `src/util/` under tsx,
 * `dist/util/` when built, `dist/cli/` when bundled: two folders up each time). yargs is given
 * it too: its own look-up starts from where yargs is, which in the bundle is not under
 * node_modules.
 */
import { readFileSync } from 'node:fs';

export function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}
