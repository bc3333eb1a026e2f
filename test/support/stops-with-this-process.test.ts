/** test/support/stops-with-this-process.ts: a peer outlives neither a killed test process nor itself. */
import { spawn } from 'node:child_process';
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

describe('stopsWithThisProcess', () => {
  it('stops the peer when the process that started it is killed with SIGKILL', async () => {
    const dir = tempFolder('stops-with-');
    const script = join(dir, 'holder.mjs');
    writeFileSync(
      script,
      `import { spawn } from 'node:child_process';\n` +
        `import { stopsWithThisProcess } from ${JSON.stringify(HELPER)};\n` +
        `const peer = spawn('sleep', ['1000'], { stdio: 'ignore' });\n` +
        `stopsWithThisProcess(peer);\n` +
        `process.stdout.write(peer.pid + '\\n');\n` +
        `setInterval(() => {}, 1000);\n`,
    );
    const holder = spawn(process.execPath, ['--import', 'tsx', script], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    cleanup.add(() => holder.kill('SIGKILL'));
    let out = '';
    holder.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
    const peer = Number(await until('the peer pid', () => /^(\d+)\n/.exec(out)?.[1]));
    cleanup.add(() => running(peer) && process.kill(peer, 'SIGKILL'));
    expect(running(peer)).toBe(true);
    holder.kill('SIGKILL');
    await until(`the peer (pid ${peer}) to end`, () => !running(peer));
  });

  it('removes a folder once the process that made it is killed, and not while it runs', async () => {
    const dir = tempFolder('when-ends-');
    const folder = join(dir, 'made');
    const script = join(dir, 'maker.mjs');
    writeFileSync(
      script,
      `import { mkdirSync } from 'node:fs';\n` +
        `import { whenThisProcessEnds } from ${JSON.stringify(HELPER)};\n` +
        `mkdirSync(${JSON.stringify(folder)});\n` +
        `whenThisProcessEnds('rm -rf -- "$0"', ${JSON.stringify(folder)});\n` +
        `process.stdout.write('made\\n');\n` +
        `setInterval(() => {}, 1000);\n`,
    );
    const maker = spawn(process.execPath, ['--import', 'tsx', script], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    cleanup.add(() => maker.kill('SIGKILL'));
    let out = '';
    maker.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
    await until('the folder made', () => out === 'made\n');
    expect(existsSync(folder)).toBe(true);
    maker.kill('SIGKILL');
    await until('the folder removed', () => !existsSync(folder));
  });

  it('takes its watcher away when the peer exits first, and keeps nothing alive', async () => {
    const peer = spawn('sleep', ['1000'], { stdio: 'ignore' });
    const watcher = stopsWithThisProcess(peer, 'SIGINT')!;
    cleanup.add(() => peer.kill('SIGKILL'));
    await until('the watcher to start', () => watcher.pid !== undefined && running(watcher.pid));
    const watcherGone = new Promise((r) => watcher.once('exit', (_code, signal) => r(signal)));
    peer.kill('SIGTERM');
    expect(await watcherGone).toBe('SIGKILL');
  });
});
