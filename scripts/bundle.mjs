/**
 * The second step of `npm run build` (the first is tsc): the CLI as an esbuild bundle over
 * tsc's dist/cli/main.js. Resolving and instantiating ~190 modules one by one was a third of a
 * short command's CPU (bench/README.md, issue 35, fifth stop). Written into dist/cli/ (chunks
 * beside main.js, split at every dynamic import so a command loads only what it uses), so every
 * path found from `import.meta.url` (package.json, schemas/, examples/) is where it was.
 *
 * Left outside the bundle: pino and pino-pretty (pino starts worker threads by file name), and
 * @kubernetes/client-node (loaded on demand, large). yargs' `string-width` is the lazy copy
 * (src/cli/lazy-string-width.ts), as main.ts's resolve hook gives it to the tsc build.
 */
import { readdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const ROOT = resolve(fileURLToPath(import.meta.url), '../..');
const OUT = join(ROOT, 'dist/cli');
const CHUNK = /^chunk-[A-Z0-9]+\.js(\.map)?$/;

for (const name of readdirSync(OUT)) if (CHUNK.test(name)) rmSync(join(OUT, name));

const lazyStringWidth = {
  name: 'lazy-string-width',
  setup(b) {
    b.onResolve({ filter: /^string-width$/ }, (args) =>
      /[/\\]node_modules[/\\](yargs|cliui|wrap-ansi)[/\\]/.test(args.importer)
        ? { path: join(ROOT, 'src/cli/lazy-string-width.ts') }
        : undefined,
    );
  },
};

await build({
  absWorkingDir: ROOT,
  entryPoints: ['src/cli/main.ts'],
  outdir: 'dist/cli',
  entryNames: '[name]',
  chunkNames: 'chunk-[hash]',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20.19',
  sourcemap: 'linked',
  external: ['pino', 'pino-pretty', '@kubernetes/client-node'],
  define: { POOLSYNC_BUNDLED: 'true' },
  // CommonJS dependencies bundled into ES modules call require() for Node's built-ins.
  banner: {
    js: "import { createRequire as __poolsyncRequire } from 'node:module'; const require = __poolsyncRequire(import.meta.url);",
  },
  plugins: [lazyStringWidth],
  logLevel: 'warning',
});
