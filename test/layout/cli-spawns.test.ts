/** Commands are tested in process; a small end-to-end set starts the CLI (cli-spawns.ts). */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempFolder } from '../support/temp-folder.js';
import { cliSpawningTests } from './cli-spawns.js';

describe('test files starting the CLI in a child process', () => {
  it('are at most 40', () => {
    const spawning = cliSpawningTests(resolve(import.meta.dirname, '..'));
    expect(spawning.length, spawning.join('\n')).toBeLessThanOrEqual(40);
  });

  it('are found when they spawn it, or call a helper that does (the check can fail)', () => {
    const dir = tempFolder('poolsync-spawns-');
    mkdirSync(join(dir, 'helpers'));
    // Spelled in parts: this file itself starts no CLI.
    const entry = ['src', 'cli', 'main'].join('/');
    const files: Record<string, string> = {
      'helpers/cli.ts':
        "import { spawn } from 'node:child_process';\n" +
        `export function start(a: string[]) { return spawn('node', ['${entry}.ts', ...a]); }\n` +
        'export function run(a: string[]) { return start(a); }\n' +
        'export function inProcess(a: string[]) { return a; }\n',
      'direct.test.ts': `spawnSync(process.execPath, ['--import', 'tsx', '${entry}.ts']);\n`,
      'helper.test.ts': "import { run } from './helpers/cli.js';\nrun(['plan']);\n",
      'renamed.test.ts': "import { start as go } from './helpers/cli.js';\ngo(['plan']);\n",
      'in-process.test.ts': "import { inProcess } from './helpers/cli.js';\ninProcess(['plan']);\n",
    };
    for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
    expect(cliSpawningTests(dir)).toEqual(['direct.test.ts', 'helper.test.ts', 'renamed.test.ts']);
  });
});
