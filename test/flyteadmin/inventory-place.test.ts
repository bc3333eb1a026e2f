/**
 * Where the CLI keeps the inventory of flyteadmin (docs/plan.md, Prune by inventory): in the
 * user's state folder when --state-dir is not given, under --state-dir whenever it is, even
 * spelt as its default `.poolsync` (the operator's choice: docs/security.md, "Files poolsync keeps").
 */
import { realpathSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runInProcess } from '../support/memory-io.js';
import { tempFolder } from '../support/temp-folder.js';
import { startFlyteadmin, type Flyteadmin } from './helpers.js';

let fa: Flyteadmin;
beforeAll(async () => {
  fa = await startFlyteadmin(null);
});
afterAll(() => fa.close());

const where = (stdout: string) => /No inventory yet \((.*?)\)/.exec(stdout)?.[1];

describe('state list against flyteadmin names the inventory where --state-dir says', () => {
  it('under the working folder when --state-dir .poolsync is given, in the user state folder when not', async () => {
    const cwd = realpathSync(tempFolder('poolsync-inv-place-'));
    const env = { NO_COLOR: '1', XDG_STATE_HOME: process.env.XDG_STATE_HOME };
    const list = (...more: string[]) =>
      runInProcess(['state', 'list', '--control-plane', fa.url, ...more], env, cwd);
    const given = await list('--state-dir', '.poolsync');
    expect(given.code, given.stderr).toBe(0);
    expect(where(given.stdout)).toMatch(
      new RegExp(`^${join(cwd, '.poolsync', 'inventory')}/[0-9a-f]{64}\\.json$`),
    );
    const absent = await list();
    expect(absent.code, absent.stderr).toBe(0);
    expect(where(absent.stdout)).toMatch(
      new RegExp(
        `^${join(process.env.XDG_STATE_HOME!, 'poolsync', 'inventory')}/[0-9a-f]{64}\\.json$`,
      ),
    );
  });
});
