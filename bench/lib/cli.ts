/**
 * How the benchmark starts poolsync: the built CLI (`node dist/cli/main.js`), as users run it,
 * built first when it is missing or older than the sources; or, when the build is impossible
 * or `--tsx` is given, `node --import tsx src/cli/main.ts` (slower startup: it compiles).
 */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface Cli {
  /** Executable and leading arguments; append the poolsync command line. */
  command: string;
  prefix: string[];
  /** What the table says was measured. */
  label: string;
}

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}

export async function resolveCli(
  root: string,
  options: { tsx: boolean; log: (line: string) => void },
): Promise<Cli> {
  const tsx: Cli = {
    command: process.execPath,
    prefix: ['--import', 'tsx', join(root, 'src/cli/main.ts')],
    label: '`node --import tsx src/cli/main.ts`',
  };
  if (options.tsx) return tsx;
  const main = join(root, 'dist/cli/main.js');
  const stale = !existsSync(main) || statSync(main).mtimeMs < newestMtime(join(root, 'src'));
  if (stale) {
    options.log('building dist/ (npm run build) ...');
    try {
      await run('npm', ['run', '--silent', 'build'], { cwd: root, maxBuffer: 64 * 1024 * 1024 });
    } catch (err) {
      // tsc still emits JavaScript when some file has type errors; use it if it is there.
      const out = (err as { stdout?: string }).stdout ?? '';
      options.log(`build reported errors:\n${out.split('\n').slice(0, 10).join('\n')}`);
      if (!existsSync(main)) {
        options.log('no dist/cli/main.js: measuring through tsx instead');
        return tsx;
      }
    }
  }
  return { command: process.execPath, prefix: [main], label: '`node dist/cli/main.js`' };
}
