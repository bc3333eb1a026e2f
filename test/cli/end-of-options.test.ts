/**
 * `--` ends the options and the words after it are positionals (POSIX), for every command that
 * takes some: `apply -- PLANFILE` applied the working folder instead (the words after `--` were
 * dropped), `plan -- DIR` and `validate -- DIR` planned and checked `.`. What cannot be a
 * positional is refused in one line. In process (src/cli/run.ts's main).
 */
import { cpSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { endOfOptions } from '../../src/cli/end-of-options.js';
import { runInProcess } from '../support/memory-io.js';
import { REPO_ROOT } from '../support/cli.js';
import { tempFolder } from '../support/temp-folder.js';

describe('endOfOptions', () => {
  it.each([
    // After the command's words when no positional precedes `--`: no option takes them.
    [
      ['apply', '--control-plane', 'file:cp.json', '--auto-approve', '--', 'plan.json'],
      ['apply', 'plan.json', '--control-plane', 'file:cp.json', '--auto-approve'],
    ],
    // A list option would take every word after it as one of its values.
    [
      ['plan', '--target', 'Cluster/a', '--', 'repo'],
      ['plan', 'repo', '--target', 'Cluster/a'],
    ],
    // After the positionals given before `--`, in their order.
    [
      ['state', 'show', 'Queue/a', '--output', 'json', '--', 'repo'],
      ['state', 'show', 'Queue/a', 'repo', '--output', 'json'],
    ],
    [
      ['state', 'list', '--', 'repo', 'Queue/*'],
      ['state', 'list', 'repo', 'Queue/*'],
    ],
    [
      ['apply', '--auto-approve', 'true', '--', 'plan.json'],
      ['apply', 'plan.json', '--auto-approve', 'true'],
    ],
    [
      ['--log-format', 'json', 'rollback', '--', '3'],
      ['--log-format', 'json', 'rollback', '3'],
    ],
    [['plan', '--'], ['plan']],
    [
      ['plan', 'repo'],
      ['plan', 'repo'],
    ],
  ])('%j reads as %j', (given, read) => {
    expect(endOfOptions(given, {})).toEqual(read);
  });

  it('refuses a word starting with "-" after it: yargs would read it as an option', () => {
    expect(() => endOfOptions(['plan', '--', '--out'], {})).toThrow(
      '"--out" comes after --, where only positionals go, and poolsync reads a word starting with "-" as an option: put options before --; a file of that name is ./--out',
    );
  });
});

describe('poolsync with words after --', () => {
  const ENV = { PATH: process.env.PATH, NO_COLOR: '1' };

  it('apply -- PLANFILE applies that plan, not the working folder (it applied 28 creates instead of the reviewed 1)', async () => {
    const root = tempFolder('poolsync-dashdash-');
    const repo = join(root, 'repo');
    cpSync(join(REPO_ROOT, 'examples/config-repo'), repo, { recursive: true });
    const cp = ['--control-plane', `file:${join(root, 'cp.json')}`];
    const run = (...args: string[]) => runInProcess(args, { ...ENV, HOME: root }, repo);
    const planned = await run('plan', ...cp, '--target', 'ClusterPool/prod', '--out', '../p.json');
    expect(planned.stdout).toMatch(/^Plan: 1 to create, 0 to update/m);
    const applied = await run('apply', ...cp, '--auto-approve', '--', '../p.json');
    expect(applied.stderr).toBe('');
    expect(applied.stdout).toMatch(/^Apply complete: 1 created, 0 updated/m);
    expect(applied.code).toBe(0);
  });

  it('validate, plan and show take the word after -- as their positional', async () => {
    const root = tempFolder('poolsync-dashdash-');
    cpSync(join(REPO_ROOT, 'examples/config-repo'), join(root, 'repo1'), { recursive: true });
    const run = (...args: string[]) => runInProcess(args, { ...ENV, HOME: root }, root);
    const valid = await run('validate', '--', 'repo1');
    expect(valid.stdout).toMatch(/^Valid: 3 pools/);
    expect(valid.code).toBe(0);
    const cp = ['--control-plane', `file:${join(root, 'cp.json')}`];
    const plan = await run('plan', ...cp, '--out', 'p.json', '--', 'repo1');
    expect(plan.stderr).toBe('');
    expect(plan.stdout).toMatch(/^Plan: 28 to create/m);
    expect((await run('show', '--', 'p.json')).stdout).toMatch(/^Plan: 28 to create/m);
  });

  it('refuses a word no positional takes, in one line', async () => {
    const root = tempFolder('poolsync-dashdash-');
    const r = await runInProcess(['plan', '--', 'repo1', 'extra'], { ...ENV, HOME: root }, root);
    expect(r).toEqual({
      code: 1,
      stdout: '',
      stderr: 'Error: Unexpected argument "extra".\nRun `poolsync plan --help` for the options.\n',
    });
  });

  it('refuses "-", which yargs made an empty name (`show -`) or dropped (`apply -` planned .)', async () => {
    const root = tempFolder('poolsync-dash-');
    cpSync(join(REPO_ROOT, 'examples/config-repo'), join(root, 'repo'), { recursive: true });
    const said =
      'Error: "-" names no file or folder: poolsync reads no plan or folder from stdin; name the file or folder (a file named - is ./-)\n';
    const cp = ['--control-plane', `file:${join(root, 'cp.json')}`];
    for (const args of [
      ['show', '-'],
      ['apply', '-', ...cp],
      ['apply', ...cp, '--', '-'],
      ['plan', '-', ...cp],
    ]) {
      const r = await runInProcess(args, { ...ENV, HOME: root }, join(root, 'repo'));
      expect([args, r]).toEqual([args, { code: 1, stdout: '', stderr: said }]);
    }
  });
});
