/**
 * `<state-dir>/rollback.json` and its shared copy (docs/versioning.md, Every format and its rule):
 * the files 62beced8 (27 Nov 2026) really wrote, before the file said its format, read as format
 * 1 (test/fixtures/daemon/rollback-62beced8/); this build writes `"format": 1`; a newer format is
 * refused in one line naming both versions and left exactly as it was.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Rollback, type SharedRollback } from '../../src/daemon/rollback.js';
import { SYSTEM_CLOCK } from '../../src/util/clock.js';
import { packageVersion } from '../../src/util/package-version.js';
import { tempDir } from './helpers.js';

const EARLIER = join(import.meta.dirname, '..', 'fixtures', 'daemon', 'rollback-62beced8');
const earlier = (name: string) => readFileSync(join(EARLIER, name), 'utf8');
const PIN = (JSON.parse(earlier('pinned.json')) as { rollback: object }).rollback;

function stateWith(text: string): { dir: string; path: string } {
  const dir = tempDir('poolsync-rollback-file-');
  const path = join(dir, 'rollback.json');
  writeFileSync(path, text);
  return { dir, path };
}

const refusal = (where: string) =>
  `${where} is format 2, written by a newer poolsync; this poolsync (${packageVersion()}) reads format 1: upgrade poolsync`;

/** A shared place holding `text`, and what was written to it. */
function sharedWith(text: string | null): SharedRollback & { written: (string | null)[] } {
  const written: (string | null)[] = [];
  return {
    where: 'ConfigMap poolsync/daemon-rollback',
    written,
    read: () => Promise.resolve(text),
    write: (t) => {
      written.push(t);
      return Promise.resolve();
    },
  };
}

describe('rollback.json an earlier build wrote (no format: format 1)', () => {
  it('a rollback in force holds, and is written back with its format', async () => {
    const { dir, path } = stateWith(earlier('pinned.json'));
    const { rollback, unread } = await Rollback.open(SYSTEM_CLOCK, dir);
    expect(unread).toBeNull();
    expect(rollback.current).toEqual(PIN);
    expect(await rollback.lift()).toEqual(PIN);
    expect(JSON.parse(readFileSync(path, 'utf8'))).toEqual({ format: 1, rollback: null });
  });

  it('none in force: nothing held, nothing suspended; the next rollback says its format', async () => {
    const { dir, path } = stateWith(earlier('lifted.json'));
    const { rollback, unread } = await Rollback.open(SYSTEM_CLOCK, dir);
    expect([unread, rollback.current]).toEqual([null, null]);
    const { since: _since, ...asked } = PIN as { since: string };
    const held = await rollback.hold(asked as Parameters<Rollback['hold']>[0]);
    expect(JSON.parse(readFileSync(path, 'utf8'))).toEqual({ format: 1, rollback: held });
  });

  it('in the shared place too', async () => {
    const shared = sharedWith(earlier('pinned.json'));
    const { dir, path } = stateWith(earlier('lifted.json'));
    const { rollback, unshared } = await Rollback.open(SYSTEM_CLOCK, dir, shared);
    expect(unshared).toBeNull();
    expect(rollback.current).toEqual(PIN);
    expect(JSON.parse(readFileSync(path, 'utf8'))).toEqual({ format: 1, rollback: PIN });
  });
});

describe('rollback.json of a newer format', () => {
  const newer = JSON.stringify({ ...JSON.parse(earlier('pinned.json')), format: 2 });

  it('in the state folder: refused in one line naming both versions, and left as it was', async () => {
    const { dir, path } = stateWith(newer);
    await expect(Rollback.open(SYSTEM_CLOCK, dir)).rejects.toThrow(refusal(path));
    expect(readFileSync(path, 'utf8')).toBe(newer);
  });

  it('in the shared place: refused in one line, never overwritten', async () => {
    const shared = sharedWith(newer);
    const { dir } = stateWith(earlier('lifted.json'));
    const { rollback, unshared } = await Rollback.open(SYSTEM_CLOCK, dir, shared);
    expect(unshared).toBe(refusal(shared.where));
    expect(rollback.current).toBeNull();
    expect(shared.written).toEqual([]);
  });
});
