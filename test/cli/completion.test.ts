/**
 * `poolsync completion bash|zsh|fish`: each script is loaded by its shell and asked for
 * candidates, which come from the real CLI (`poolsync --get-yargs-completions …`) through a
 * `poolsync` on PATH that runs src/cli/main.ts. zsh's completion widgets cannot run outside
 * an interactive line editor: its script is parsed and loaded, and the CLI's zsh-format
 * answer is checked. A shell that is not installed is skipped, saying so.
 */
import { execFile, execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');
const run = promisify(execFile);
const has = (shell: string) => {
  try {
    execFileSync('sh', ['-c', `command -v ${shell}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
};

let bin: string;
let env: NodeJS.ProcessEnv;
beforeAll(() => {
  bin = mkdtempSync(join(tmpdir(), 'poolsync-completion-'));
  const tsx = createRequire(join(ROOT, 'package.json')).resolve('tsx');
  writeFileSync(
    join(bin, 'poolsync'),
    `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} --import ${JSON.stringify(tsx)} ${JSON.stringify(join(ROOT, 'src/cli/main.ts'))} "$@"\n`,
  );
  chmodSync(join(bin, 'poolsync'), 0o755);
  env = { ...process.env, PATH: `${bin}:${process.env.PATH ?? ''}` };
});
afterAll(() => rmSync(bin, { recursive: true, force: true }));

async function script(shell: string): Promise<string> {
  const { stdout } = await run('poolsync', ['completion', shell], { env, cwd: bin });
  writeFileSync(join(bin, `poolsync.${shell}`), stdout);
  return join(bin, `poolsync.${shell}`);
}

describe('poolsync completion', () => {
  it('bash: completes commands and a command’s options', async () => {
    const file = await script('bash');
    const ask = async (words: string[]) => {
      const { stdout, stderr } = await run(
        'bash',
        [
          '--norc',
          '-c',
          `source ${file}; COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _poolsync_yargs_completions; printf '%s\\n' "\${COMPREPLY[@]}"`,
        ],
        { env: { ...env, SHELL: '/bin/bash' }, cwd: bin },
      );
      expect(stderr).toBe('');
      return stdout.split('\n').filter(Boolean);
    };
    expect(await ask(['poolsync', 'pl'])).toEqual(['plan']);
    expect(await ask(['poolsync', 'im'])).toEqual(['import']);
    expect(await ask(['poolsync', 'plan', '--ta'])).toEqual(['--target']);
    expect(await ask(['poolsync', 'plan', '--refr'])).toEqual(['--refresh-only']);
    // A path is wanted: the answer is empty, and `complete -o default` makes bash complete
    // file names (not option names).
    expect(await ask(['poolsync', 'plan', '--out', ''])).toEqual([]);
    expect(await ask(['poolsync', 'show', ''])).toEqual([]);
    expect(await ask(['poolsync', 'apply', '--token-file', ''])).toEqual([]);
    // An option's value not typed yet is no empty value to refuse (it printed "Error: --env is
    // empty" under the prompt).
    expect(await ask(['poolsync', 'plan', '-e', ''])).toContain('--out');
    expect(await ask(['poolsync', 'state', 'list', '--env', ''])).toContain('--control-plane');
    // With environments, their names: of the folder named, else of the current one.
    const environments = join(ROOT, 'examples/environments');
    expect(await ask(['poolsync', 'plan', environments, '-e', ''])).toEqual([
      'development',
      'staging',
      'production',
    ]);
    expect(await ask(['poolsync', 'apply', environments, '--env', 'st'])).toEqual(['staging']);
    expect(readFileSync(file, 'utf8')).toMatch(/complete -o bashdefault -o default -F/);
    // Choices still complete after their option.
    expect(await ask(['poolsync', 'show', 'plan.json', '--output', 'ma'])).toEqual(['markdown']);
  }, 60_000);

  it.skipIf(!has('fish'))(
    'fish: completes with descriptions',
    async () => {
      const file = await script('fish');
      const { stdout } = await run(
        'fish',
        [
          '--no-config',
          '-c',
          `source ${file}; complete -C 'poolsync pl'; complete -C 'poolsync apply --rep'`,
        ],
        { env: { ...env, SHELL: '/usr/bin/fish' }, cwd: bin },
      );
      expect(stdout).toMatch(/^plan\tShow what apply would change/m);
      expect(stdout).toMatch(/^--replace\tDelete and create again/m);
    },
    60_000,
  );

  it.skipIf(!has('zsh'))(
    'zsh: the script parses and defines its completion function',
    async () => {
      const file = await script('zsh');
      await run('zsh', ['-n', file]);
      const { stdout } = await run(
        'zsh',
        [
          '-f',
          '-c',
          `autoload -Uz compinit && compinit -u -d ${bin}/zcompdump; source ${file}; whence -w _poolsync_yargs_completions`,
        ],
        { env, cwd: bin },
      );
      expect(stdout).toContain('_poolsync_yargs_completions: function');
      // What the function asks for, answered in zsh's `name:description` form.
      const answer = await run('poolsync', ['--get-yargs-completions', 'poolsync', 'comp'], {
        env: { ...env, SHELL: '/bin/zsh' },
        cwd: bin,
      });
      expect(answer.stdout).toMatch(/^completion:Print the shell completion script/m);
    },
    60_000,
  );

  it('refuses another shell', async () => {
    const r = await run('poolsync', ['completion', 'powershell'], { env, cwd: bin }).catch(
      (e: { code: number; stderr: string }) => e,
    );
    expect((r as { code: number }).code).toBe(1);
    expect((r as { stderr: string }).stderr).toContain(
      'Error: <shell> "powershell" is not one of bash, zsh, fish.',
    );
  }, 30_000);
});
