/**
 * Issue 38, item 12: `show` and `apply PLANFILE` read the plan file a user names through the
 * bounded, regular-files-only read (util/safe-file.ts readUserFile): /dev/zero was read without
 * limit and a FIFO hung the command. Each is now one line, exit 1, at once, and `apply` of
 * anything but a folder says what `show` says.
 */
import { execFileSync } from 'node:child_process';
import { symlinkSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';

const dir = await mkdtemp(join(tmpdir(), 'poolsync-show-hostile-'));
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('show and apply of a plan file that is not a regular file', () => {
  it('/dev/zero, a link to it, a FIFO and a folder: one line each, exit 1', async () => {
    const fifo = join(dir, 'plan.fifo');
    execFileSync('mkfifo', [fifo]);
    const link = join(dir, 'plan.json');
    symlinkSync('/dev/zero', link);
    const cases: [string, string][] = [
      ['/dev/zero', 'it is a device, not a regular file'],
      [link, 'it is a device, not a regular file'],
      [fifo, 'it is a FIFO, not a regular file'],
      [dir, 'it is a folder'],
    ];
    for (const [path, why] of cases) {
      const r = await runCli(['show', path]);
      expect([path, r.code]).toEqual([path, 1]);
      expect(r.stderr.trimEnd().split('\n')).toEqual([
        expect.stringContaining(`cannot read plan file ${path}: ${why}`),
      ]);
    }
    // apply takes a folder or a plan file: anything else is a plan file its reader refuses, in
    // show's words.
    for (const [path, why] of cases.slice(0, 3)) {
      const r = await runCli(['apply', path, '--control-plane', 'file:']);
      expect([path, r.code]).toEqual([path, 1]);
      expect(r.stderr).toBe(
        `Error: cannot read plan file ${path}: ${why}; save a plan with \`poolsync plan --out FILE\`\n`,
      );
    }
  }, 120_000);
});
