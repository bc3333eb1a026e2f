/**
 * What `daemon --quickstart` watches (docs/daemon.md#quickstart): the folder it runs in when
 * that is a config repository (poolsync.yaml), else the example poolsync ships, each said on its
 * first line with why; one whose poolsync.yaml declares environments is refused (their control
 * planes are not the quickstart's). In this process, one run each (`--once`).
 */
import { cpSync, existsSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runInProcess } from '../support/memory-io.js';
import { tempFolder } from '../support/temp-folder.js';

const EXAMPLE = resolve(import.meta.dirname, '../../examples/config-repo');

const quickstart = (cwd: string) =>
  runInProcess(
    ['daemon', '--quickstart', '--once'],
    { PATH: process.env.PATH, POOLSYNC_LISTEN: '127.0.0.1:0' },
    cwd,
  );

describe('daemon --quickstart watches', () => {
  it('the folder it runs in when that has poolsync.yaml, saying so; else the bundled example, saying why; never a folder whose environments name their own control planes', async () => {
    // A config repository of one's own: the example's files, another queue added.
    const own = tempFolder('poolsync-quickstart-own-');
    cpSync(EXAMPLE, own, { recursive: true });
    writeFileSync(
      join(own, 'queues', 'a-mine.yaml'),
      'apiVersion: poolsync/v1\nkind: Queue\nmetadata:\n  name: a-mine\nspec:\n  pool: prod\n' +
        '  run_concurrency: 1\n  action_concurrency: 1\n',
    );
    const ran = await quickstart(own);
    expect([ran.code, ran.stderr]).toEqual([0, '']);
    expect(ran.stdout).toContain(`, watching ${own} (this folder's poolsync.yaml)\n`);
    expect(ran.stdout).toContain('(`--watch DIR` watches another folder)');
    expect(ran.stdout).toMatch(/^ {2}\+ Queue \(\d+\): a-mine, /m);
    expect(ran.stdout).toContain('What poolsync manages now: `poolsync state list .`');

    // A folder that is none: the example, named where it is, and why.
    const elsewhere = tempFolder('poolsync-quickstart-elsewhere-');
    const shipped = await quickstart(elsewhere);
    expect([shipped.code, shipped.stderr]).toEqual([0, '']);
    expect(shipped.stdout).toContain(
      `, watching ${EXAMPLE} (the example poolsync ships: ${elsewhere} has no poolsync.yaml)\n`,
    );
    expect(shipped.stdout).toContain(
      `What poolsync manages now: \`poolsync state list ${EXAMPLE}\``,
    );

    // Environments name their own control planes, which policy all would apply to: refused.
    const environments = tempFolder('poolsync-quickstart-environments-');
    cpSync(resolve(EXAMPLE, '../environments'), environments, { recursive: true });
    const refused = await quickstart(environments);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(
      `${join(environments, 'poolsync.yaml')} declares environments, each with its own control plane: \`poolsync daemon --watch .\` reconciles them`,
    );
    expect(refused.stdout).toBe('');
    expect(existsSync(join(environments, '.poolsync'))).toBe(false);
  });
});
