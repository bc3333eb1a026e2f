/**
 * An apply refused for an invalid repository created the default embedded state all the same (a
 * hand-tester's find): `.poolsync/control-plane.json` and its journal with capabilities none, so
 * a later `--control-plane 'file:…?capabilities=drain,queue_delete'` was refused ("was created
 * with capabilities none") and plans no longer said the default state was new. The folder is
 * now validated before the lock is taken or the control plane opened, as plan and validate do.
 */
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runInProcess } from '../support/memory-io.js';
import { tempDir, writeRepo } from '../support/repo.js';

describe('apply of an invalid repository', () => {
  it('creates no state: the next apply may still choose the capabilities', async () => {
    const root = await tempDir();
    const repo = await writeRepo(join(root, 'repo'), {
      pools: ['prod'],
      clusters: { 'prod-1': 'prod' },
      queues: { batch: { pool: 'prod', clusters: ['prod-1'] } },
    });
    const queue = join(repo, 'queues.yaml');
    const valid = await readFile(queue, 'utf8');
    await writeFile(queue, valid.replace('pool: prod', 'pool: nosuchpool'));

    const refused = await runInProcess(['apply', 'repo', '--auto-approve'], {}, root);
    expect(refused.stderr).toContain("V2 queue 'batch': pool 'nosuchpool' is not declared");
    expect(refused.stderr).toContain(
      'Error: the repository is invalid (2 errors): nothing was applied',
    );
    expect(refused.code).toBe(1);
    expect(refused.stdout).toBe('');
    expect(existsSync(join(root, '.poolsync'))).toBe(false);

    await writeFile(queue, valid);
    const caps = 'file:.poolsync/control-plane.json?capabilities=drain,queue_delete';
    const applied = await runInProcess(
      ['apply', 'repo', '--auto-approve', '--control-plane', caps, '--no-color'],
      {},
      root,
    );
    expect(applied.stderr).toBe('');
    expect(applied.code).toBe(0);
    expect(applied.stdout).toContain('Apply complete');
  });
});
