/**
 * src/util/safe-file.ts writeRepoFiles: several files all or none. A rename failing after others
 * took their place puts the old files back and removes the new ones, the temporaries and the
 * folders made for them.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import type * as fsPromises from 'node:fs/promises';
import { writeRepoFiles } from '../../src/util/safe-file.js';
import { tempFolder } from '../support/temp-folder.js';

/** Renames into place allowed before one fails (Infinity: none fails). */
const renames = vi.hoisted(() => ({ left: Infinity }));
vi.mock('node:fs/promises', async (original) => {
  const real = await original<typeof fsPromises>();
  return {
    ...real,
    rename: (from: string, to: string) => {
      // Only a temporary taking a file's place counts, not one put back on failure.
      if (from.endsWith('.tmp') && !to.endsWith('.tmp') && renames.left-- <= 0)
        return Promise.reject(Object.assign(new Error(`EIO: rename ${to}`), { code: 'EIO' }));
      return real.rename(from, to);
    },
  };
});

const FILES = [
  { path: 'a.yaml', content: 'a: new\n' },
  { path: 'new/b.yaml', content: 'b: new\n' },
  { path: 'c.yaml', content: 'c: new\n' },
];

describe('writeRepoFiles', () => {
  it('writes every file; a rename failing part-way leaves every file as it was and nothing new', async () => {
    const root = tempFolder('poolsync-repo-files-');
    writeFileSync(join(root, 'a.yaml'), 'a: mine\n');
    writeFileSync(join(root, 'c.yaml'), 'c: mine\n');
    // The third rename fails: a.yaml and new/b.yaml are in place by then.
    renames.left = 2;
    await expect(writeRepoFiles(root, FILES)).rejects.toThrow('EIO: rename');
    expect(readFileSync(join(root, 'a.yaml'), 'utf8')).toBe('a: mine\n');
    expect(readFileSync(join(root, 'c.yaml'), 'utf8')).toBe('c: mine\n');
    expect(readdirSync(root).sort()).toEqual(['a.yaml', 'c.yaml']);

    renames.left = Infinity;
    await writeRepoFiles(root, FILES);
    for (const f of FILES) expect(readFileSync(join(root, f.path), 'utf8')).toBe(f.content);
    expect(readdirSync(root).sort()).toEqual(['a.yaml', 'c.yaml', 'new']);
  });

  it('a folder where a file goes: refused before any file takes its place', async () => {
    const root = tempFolder('poolsync-repo-files-');
    mkdirSync(join(root, 'c.yaml'));
    await expect(writeRepoFiles(root, FILES)).rejects.toThrow(
      'cannot write c.yaml: it is a folder, not a regular file',
    );
    expect(existsSync(join(root, 'new'))).toBe(false);
    expect(readdirSync(root)).toEqual(['c.yaml']);
  });
});
