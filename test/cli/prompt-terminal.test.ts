/**
 * Issue 78, item 2: `apply` at a real terminal (tmux, TERM=xterm-256color) echoes the answer as
 * typed, `Enter a value: yes`, as Terraform does; it showed `\u001b[18Gyes\u000d` when the
 * echo went through the escaping of every command's output. Skips without tmux.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cleanup } from '../support/cleanup.js';
import { REPO_ROOT } from '../support/cli.js';
import { tempFolder } from '../support/temp-folder.js';
import { until } from '../support/until.js';

const MAIN = join(REPO_ROOT, 'src', 'cli', 'main.ts');
const hasTmux = spawnSync('tmux', ['-V']).status === 0;
if (!hasTmux) console.log('prompt-terminal tests skipped: no tmux on PATH (apt-get install tmux)');

/**
 * A tmux server of this test's own, removed after it. Its socket is in the test's temporary
 * folder (`-S`): by name (`-L`) it was left in /tmp/tmux-UID after kill-server, one a run.
 */
function tmuxServer() {
  const socket = join(tempFolder('poolsync-tmux-'), 'socket');
  const tmux = (...args: string[]) =>
    execFileSync('tmux', ['-S', socket, '-f', '/dev/null', ...args], { encoding: 'utf8' });
  cleanup.add(() => spawnSync('tmux', ['-S', socket, 'kill-server']));
  return tmux;
}

const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

describe.skipIf(!hasTmux)('apply at a terminal', () => {
  it('echoes the typed `yes` as typed, and applies', async () => {
    const tmux = tmuxServer();
    const dir = tempFolder('poolsync-prompt-');
    const command = [
      'env',
      `HOME=${quote(dir)}`,
      'TERM=xterm-256color',
      quote(process.execPath),
      '--import',
      'tsx',
      quote(MAIN),
      'apply',
      'examples/config-repo',
      '--control-plane',
      quote(`file:${join(dir, 'cp.json')}`),
    ].join(' ');
    // The pane stays after the command ends (remain-on-exit), so its last lines can be read.
    tmux('new-session', '-d', '-s', 'apply', '-x', '120', '-y', '50', '-c', REPO_ROOT, command);
    tmux('set-option', '-t', 'apply', 'remain-on-exit', 'on');
    const screen = () => tmux('capture-pane', '-p', '-J', '-S', '-', '-t', 'apply');
    await until('the prompt', () => screen().includes('Enter a value:'), { detail: screen });
    tmux('send-keys', '-t', 'apply', 'yes', 'Enter');
    const done = await until(
      'the apply to end',
      () => /Apply complete/.test(screen()) && screen(),
      {
        detail: screen,
      },
    );
    expect(done).toMatch(/^ {2}Enter a value: yes$/m);
    expect(done).not.toMatch(/\\u001b|\\u000d/);
  });
});
