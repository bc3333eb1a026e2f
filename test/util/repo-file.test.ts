/**
 * src/util/safe-file.ts: the one read (and write) of a repository file (issue 23, items 1, 2).
 * The byte bound is on the read itself: /proc files say size 0 and hold more.
 */
import { execFileSync } from 'node:child_process';
import {
  mkdtempSync,
  readFileSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  writeFileSync,
  mkdirSync,
  lstatSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { readRepoFile, writeRepoFile } from '../../src/util/safe-file.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function temp(): string {
  const d = mkdtempSync(join(tmpdir(), 'poolsync-repo-file-'));
  dirs.push(d);
  return d;
}

describe('readRepoFile', () => {
  it('bounds the bytes read, not the size stat reports (a /proc file says 0)', async () => {
    expect(lstatSync('/proc/self/status').size).toBe(0);
    const small = await readRepoFile('/proc/self', 'status', { maxBytes: 16 });
    expect(small).toEqual({ ok: false, reason: 'too-large', limit: 16, size: null });
    const whole = await readRepoFile('/proc/self', 'status', { maxBytes: 1 << 20 });
    expect(whole.ok && whole.bytes.toString()).toMatch(/^Name:/);
  });

  it('reads a regular file exactly, a size above the limit is refused before reading', async () => {
    const d = temp();
    writeFileSync(join(d, 'a.yaml'), 'x'.repeat(10_000));
    const ok = await readRepoFile(d, 'a.yaml', { maxBytes: 10_000 });
    expect(ok.ok && ok.bytes.length).toBe(10_000);
    expect(await readRepoFile(d, 'a.yaml', { maxBytes: 9_999 })).toEqual({
      ok: false,
      reason: 'too-large',
      limit: 9_999,
      size: 10_000,
    });
  });

  it('refuses links, FIFOs, devices reached through links, folders, and paths leaving the root', async () => {
    const d = temp();
    symlinkSync('/dev/zero', join(d, 'zero'));
    execFileSync('mkfifo', [join(d, 'fifo')]);
    mkdirSync(join(d, 'sub'));
    symlinkSync('/etc', join(d, 'etc'));
    const read = (rel: string) => readRepoFile(d, rel, { maxBytes: 100 });
    expect(await read('zero')).toMatchObject({ reason: 'not-regular', kind: 'symbolic link' });
    expect(await read('fifo')).toMatchObject({ reason: 'not-regular', kind: 'FIFO' });
    expect(await read('sub')).toMatchObject({ reason: 'not-regular', kind: 'folder' });
    expect(await read('etc/hostname')).toMatchObject({ reason: 'outside' });
    expect(await read('../x')).toMatchObject({ reason: 'outside' });
    expect(await read('/etc/hostname')).toMatchObject({ reason: 'outside' });
    expect(await read('missing')).toEqual({ ok: false, reason: 'missing' });
  });
});

describe('writeRepoFile', () => {
  it('replaces a file atomically and creates missing folders', async () => {
    const d = temp();
    await writeRepoFile(d, 'a/b/values.yaml', 'one');
    await writeRepoFile(d, 'a/b/values.yaml', 'two');
    expect(readFileSync(join(d, 'a/b/values.yaml'), 'utf8')).toBe('two');
  });

  it('never writes through a link, a linked folder or outside the root', async () => {
    const d = temp();
    const outside = temp();
    writeFileSync(join(outside, 'target'), 'keep');
    symlinkSync(join(outside, 'target'), join(d, 'values.yaml'));
    symlinkSync(outside, join(d, 'out'));
    await expect(writeRepoFile(d, 'values.yaml', 'x')).rejects.toThrow(
      'cannot write values.yaml: it is a symbolic link, not a regular file',
    );
    await expect(writeRepoFile(d, 'out/new/values.yaml', 'x')).rejects.toThrow(
      'cannot write out/new/values.yaml: out is a symbolic link, not a folder',
    );
    await expect(writeRepoFile(d, '../escape.yaml', 'x')).rejects.toThrow(/not a relative path/);
    expect(readFileSync(join(outside, 'target'), 'utf8')).toBe('keep');
    expect(readlinkSync(join(d, 'values.yaml'))).toBe(join(outside, 'target'));
    expect(() => lstatSync(join(outside, 'new'))).toThrow();
  });
});
