/**
 * The plan key (src/cli/saved-plan.ts, docs/plan.md "Sealed plan files"): a variable that is set
 * but names no key is an error naming it, never "no key" (a missing CI secret is an empty
 * variable); the key file is read bounded and regular-only, so `/dev/zero` and a FIFO are
 * refused at once instead of exhausting memory or hanging.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolvePlanKey } from '../../src/cli/saved-plan.js';
import { tempFolder } from '../support/temp-folder.js';

const KEY = 'a-key-of-this-test-0123456789abcdef';

describe('the plan key', () => {
  const dir = tempFolder('poolsync-plan-key-');
  const file = (name: string, content: string | Buffer) => {
    writeFileSync(join(dir, name), content);
    return join(dir, name);
  };

  it('none set: an unkeyed seal; set: the key, from the file first', async () => {
    expect(await resolvePlanKey({})).toBeNull();
    expect((await resolvePlanKey({ POOLSYNC_PLAN_KEY: ` ${KEY}\n` }))?.toString()).toBe(KEY);
    const env = {
      POOLSYNC_PLAN_KEY_FILE: file('key', `${KEY}\nignored\n`),
      POOLSYNC_PLAN_KEY: 'x',
    };
    expect((await resolvePlanKey(env))?.toString()).toBe(KEY);
  });

  it.each([
    [{ POOLSYNC_PLAN_KEY: '' }, /^POOLSYNC_PLAN_KEY is set but is empty: nothing was sealed/],
    [{ POOLSYNC_PLAN_KEY: ' \t\n' }, /^POOLSYNC_PLAN_KEY is set but is empty/],
    [{ POOLSYNC_PLAN_KEY: '\0'.repeat(32) }, /^POOLSYNC_PLAN_KEY is set but holds only NUL bytes/],
    [{ POOLSYNC_PLAN_KEY_FILE: '' }, /^POOLSYNC_PLAN_KEY_FILE is set but names no file/],
    [
      { POOLSYNC_PLAN_KEY_FILE: '  ', POOLSYNC_PLAN_KEY: KEY },
      /^POOLSYNC_PLAN_KEY_FILE is set but names no file/,
    ],
    [{ POOLSYNC_PLAN_KEY: 'short' }, /^the key in POOLSYNC_PLAN_KEY is too short to seal plans/],
  ])('%j is refused, naming the variable', async (env, message) => {
    await expect(resolvePlanKey(env)).rejects.toThrow(message);
  });

  it('a key file that is empty, blank or all NUL is refused, naming the file and the variable', async () => {
    for (const content of [
      '',
      '\n\n',
      '   \nkey-on-the-second-line-0123456789\n',
      Buffer.alloc(32),
    ]) {
      const path = file('bad', content);
      await expect(resolvePlanKey({ POOLSYNC_PLAN_KEY_FILE: path })).rejects.toThrow(
        `the plan key file ${path} (POOLSYNC_PLAN_KEY_FILE) is set but`,
      );
    }
  });

  it('/dev/zero, a FIFO, a folder and a missing file are refused before anything is read', async () => {
    const fifo = join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    const cases: [string, RegExp][] = [
      [
        '/dev/zero',
        /cannot read the plan key file \(POOLSYNC_PLAN_KEY_FILE\) \/dev\/zero: it is a (character )?device/,
      ],
      [fifo, /: it is a FIFO, not a regular file/],
      [dir, /: it is a folder/],
      [
        join(dir, 'missing'),
        /the plan key file \(POOLSYNC_PLAN_KEY_FILE\) .*missing does not exist/,
      ],
    ];
    for (const [path, message] of cases)
      await expect(resolvePlanKey({ POOLSYNC_PLAN_KEY_FILE: path })).rejects.toThrow(message);
  });
});
