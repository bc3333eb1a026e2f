/**
 * Cold-load timing of the manifest loader: each run is a fresh Node process that imports
 * the loader and calls `loadRepository` once, so module loading and JIT warm-up are
 * counted, as `poolsync plan` pays them.
 *
 *   node --import tsx bench/load-bench.ts DIR [--runs 5] [--dist]
 *
 * Prints each run's load time and the median. `--dist` measures the built loader
 * (dist/manifests, `npm run build` first), else the TypeScript source under tsx.
 */
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { toolArgs } from './lib/args.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/**
 * The child: one timed load, a summary as JSON on stdout. Plain JavaScript, so measuring
 * dist/ does not pay for tsx.
 */
function childScript(loader: string, dir: string): string {
  return `
    const t0 = performance.now();
    const { loadRepository } = await import(${JSON.stringify(loader)});
    const t1 = performance.now();
    const r = await loadRepository(${JSON.stringify(dir)});
    const t2 = performance.now();
    process.stdout.write(JSON.stringify({ importMs: t1 - t0, loadMs: t2 - t1, valid: r.valid }) + '\\n');
  `;
}

function main(): void {
  const { values, positionals } = toolArgs(
    {
      allowPositionals: true,
      options: {
        runs: { type: 'string', default: '5' },
        dist: { type: 'boolean', default: false },
      },
    },
    import.meta.url,
  );
  const dir = positionals[0];
  if (!dir) {
    process.stderr.write('Usage: node --import tsx bench/load-bench.ts DIR [--runs N] [--dist]\n');
    process.exit(2);
  }
  const loader = pathToFileURL(
    resolve(ROOT, values.dist ? 'dist/manifests/index.js' : 'src/manifests/index.ts'),
  ).href;
  const times: number[] = [];
  for (let i = 0; i < Number(values.runs); i++) {
    const args = ['--input-type=module', '-e', childScript(loader, resolve(dir))];
    if (!values.dist) args.unshift('--import', 'tsx');
    const out = spawnSync(process.execPath, args, { encoding: 'utf8', cwd: ROOT });
    if (out.status !== 0) {
      process.stderr.write(out.stderr);
      process.exit(1);
    }
    const r = JSON.parse(out.stdout) as { loadMs: number; importMs: number; valid: boolean };
    times.push(r.loadMs);
    process.stdout.write(
      `run ${i + 1}: load ${r.loadMs.toFixed(0)} ms (import ${r.importMs.toFixed(0)} ms, valid ${r.valid})\n`,
    );
  }
  times.sort((a, b) => a - b);
  process.stdout.write(`median load: ${times[Math.floor(times.length / 2)]!.toFixed(0)} ms\n`);
}

main();
