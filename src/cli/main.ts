#!/usr/bin/env node
/**
 * The `poolsync` program: what belongs to the process. Before anything else loads: Node's
 * compile cache (Node ≥ 22.1: about a third off every start) and `--version`. The CLI is run.ts.
 */
import module from 'node:module';
import { userCacheDir } from '../util/user-cache.js';
import type { main as runMain } from './run.js';
import { versionLine } from '../util/package-version.js';
import { growWhileLargeInputLoads, isLongRunning, tuneOneShot } from './one-shot-v8.js';

const argv = process.argv.slice(2);

/** True in the built bundle (scripts/bundle.mjs), whose yargs has the lazy copy already. */
declare const POOLSYNC_BUNDLED: boolean | undefined;

/** Never of input; NODE_COMPILE_CACHE moves it, NODE_DISABLE_COMPILE_CACHE=1 turns it off. */
function enableCompileCache(): void {
  const enable = (module as { enableCompileCache?: (dir?: string) => unknown }).enableCompileCache;
  if (enable === undefined) return;
  const dir = process.env.NODE_COMPILE_CACHE || userCacheDir('compile', process.env);
  if (dir === null) return;
  try {
    enable(dir);
  } catch {
    // A cache that cannot be written only costs start-up time.
  }
}

type ResolveHook = (
  specifier: string,
  context: { parentURL?: string },
  next: (specifier: string, context: { parentURL?: string }) => unknown,
) => unknown;

/**
 * yargs, cliui and wrap-ansi import `string-width`, whose loading costs more than everything
 * else a short command does (lazy-string-width.ts): their imports get the lazy copy (Node ≥
 * 22.15, module.registerHooks; elsewhere they load it as usual).
 */
function lazyStringWidth(): void {
  const register = (module as { registerHooks?: (hooks: { resolve: ResolveHook }) => unknown })
    .registerHooks;
  if (register === undefined) return;
  // Beside this file, with its extension: `.js` when built, `.ts` when run from source (tsx).
  const extension = /\.[cm]?[jt]s$/.exec(new URL(import.meta.url).pathname)?.[0] ?? '.js';
  const lazy = new URL(`./lazy-string-width${extension}`, import.meta.url);
  register({
    resolve(specifier, context, next) {
      const parent = context.parentURL;
      if (
        specifier !== 'string-width' ||
        !parent ||
        !/\/node_modules\/(yargs|cliui|wrap-ansi)\//.test(parent)
      )
        return next(specifier, context);
      lazy.searchParams.set('from', parent);
      return { url: lazy.href, format: 'module', shortCircuit: true };
    },
  });
}

/**
 * The bundle (scripts/bundle.mjs) is for start-up; a long-running command runs tsc's modules
 * beside it (a URL the bundler leaves alone), faster once warm: a daemon's one-line commit at
 * 10k planned in ~100 ms on them, ~130 ms on the bundle (bench/README.md).
 */
async function runModule(): Promise<{ main: typeof runMain }> {
  if (typeof POOLSYNC_BUNDLED === 'undefined' || !isLongRunning(argv)) return import('./run.js');
  return (await import(new URL('./run.js', import.meta.url).href)) as { main: typeof runMain };
}

/**
 * A signal that comes while a long-running command's modules load (~0.8 s of a daemon's start)
 * is kept for its first listener (io.ts processIo), instead of ending the process without a word.
 */
function holdSignals(): { first: NodeJS.Signals | null; release(): void } {
  const held = { first: null as NodeJS.Signals | null, release: () => {} };
  const hold = (signal: NodeJS.Signals) => (held.first ??= signal);
  process.on('SIGINT', hold).on('SIGTERM', hold);
  held.release = () => void process.off('SIGINT', hold).off('SIGTERM', hold);
  return held;
}

if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-v')) {
  process.stdout.write(`${versionLine()}\n`);
} else {
  const held = isLongRunning(argv) ? holdSignals() : undefined;
  enableCompileCache();
  tuneOneShot(argv);
  if (typeof POOLSYNC_BUNDLED === 'undefined') lazyStringWidth();
  // A reader that goes away (`poolsync apply | head`) is not an error of ours, and must not
  // end an apply half-way: output is dropped from then on, the work and the exit status go on.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
    process.stdout.write = (() => true) as typeof process.stdout.write;
  });
  const [{ main }, { processIo }, heap] = await Promise.all([
    runModule(),
    import('./io.js'),
    import('../util/heap-growth.js'),
  ]);
  const command = argv.find((a) => !a.startsWith('-'));
  heap.capHeapGrowthOf(command, process.execArgv, process.env.NODE_OPTIONS ?? '');
  heap.onLargeInput(growWhileLargeInputLoads());
  // A command waiting on what can never finish would end with Node's exit 13 and no word of
  // ours ("unsettled top-level await": plan on a wrong-name certificate, issue 78): said instead.
  const stranded = () => {
    process.stderr.write(
      'Internal error (please report it): poolsync was left waiting on work that can never finish, and stopped.\n',
    );
    process.exit(1);
  };
  process.once('beforeExit', stranded);
  process.exitCode = await main(argv, processIo(held));
  process.off('beforeExit', stranded);
}
