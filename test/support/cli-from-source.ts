/**
 * The argv that runs poolsync's CLI from source in a child process (`node` + this + the CLI's
 * arguments): tsx's ESM loader and src/cli/main.ts by absolute path, so any cwd works.
 */
import { resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '../..');

export function cliFromSource(...args: string[]): string[] {
  return [
    '--import',
    resolve(ROOT, 'node_modules/tsx/dist/esm/index.mjs'),
    resolve(ROOT, 'src/cli/main.ts'),
    ...args,
  ];
}
