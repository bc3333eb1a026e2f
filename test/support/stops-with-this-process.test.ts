/** test/support/stops-with-this-process.ts: a peer outlives neither a killed test process nor itself. */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { cleanup } from './cleanup.js';
import { stopsWithThisProcess } from './stops-with-this-process.js';
import { tempFolder } from './temp-folder.js';
import { until } from './until.js';

const HELPER = fileURLToPath(new URL('./stops-with-this-process.ts', import.meta.url));

/** Running: /proc says so, or (elsewhere) signal 0 reaches it. A zombie has ended. */
function running(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  }
}

/**
 * A Node process running `body` (ESM, the helper imported as `{ stopsWithThisProcess,
 * whenThisProcessEnds }`) until it is killed, and the first line it writes.
 */
async function holder(body: string): Promise<{ process: ChildProcess; line: string }> {
  const script = join(tempFolder('stops-with-'), 'holder.mjs');
  const imports = `import { stopsWithThisProcess, whenThisProcessEnds } from ${JSON.stringify(HELPER)};`;
  writeFileSync(script, `${imports}\n${body}\nsetInterval(() => {}, 1000);\n`);
  const child = spawn(process.execPath, ['--import', 'tsx', script], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  cleanup.add(() => child.kill('SIGKILL'));
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
  const line = await until("the holder's first line", () => /^(.*)\n/.exec(out)?.[1]);
  return { process: child, line };
}

describe('stopsWithThisProcess', () => {
  it('stops the peer when the process that started it is killed with SIGKILL', async () => {
    const { process: started, line } = await holder(
      `const peer = (await import('node:child_process')).spawn('sleep', ['1000'], { stdio: 'ignore' });\n` +
        `stopsWithThisProcess(peer);\n` +
        `process.stdout.write(peer.pid + '\\n');`,
    );
    const peer = Number(line);
    cleanup.add(() => running(peer) && process.kill(peer, 'SIGKILL'));
    expect(running(peer)).toBe(true);
    started.kill('SIGKILL');
    await until(`the peer (pid ${peer}) to end`, () => !running(peer));
  });

  it('removes a folder once the process that made it is killed, and not while it runs', async () => {
    const folder = join(tempFolder('when-ends-'), 'made');
    const { process: maker } = await holder(
      `(await import('node:fs')).mkdirSync(${JSON.stringify(folder)});\n` +
        `whenThisProcessEnds('rm -rf -- "$0"', ${JSON.stringify(folder)});\n` +
        `process.stdout.write('made\\n');`,
    );
    expect(existsSync(folder)).toBe(true);
    maker.kill('SIGKILL');
    await until('the folder removed', () => !existsSync(folder));
  });

  it('takes its watcher away when the peer exits first', async () => {
    const peer = spawn('sleep', ['1000'], { stdio: 'ignore' });
    const watcher = stopsWithThisProcess(peer, 'SIGINT')!;
    cleanup.add(() => peer.kill('SIGKILL'));
    await until('the watcher to start', () => watcher.pid !== undefined && running(watcher.pid));
    const watcherGone = new Promise((r) => watcher.once('exit', (_code, signal) => r(signal)));
    peer.kill('SIGTERM');
    expect(await watcherGone).toBe('SIGKILL');
  });
});
