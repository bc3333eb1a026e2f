/**
 * Issue 38, item 8: the loader reads folders up to MAX_FOLDER_DEPTH levels down, and says which
 * folder it did not read past that, instead of walking thousands of levels until a path is too
 * long (the daemon's watcher stops at the same depth: test/daemon/watch-hostile.e2e.test.ts).
 */
import { cpSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadRepository } from '../../src/manifests/index.js';
import { MAX_FOLDER_DEPTH } from '../../src/manifests/walk.js';

const tmp = await mkdtemp(join(tmpdir(), 'poolsync-folder-depth-'));
afterAll(() => rm(tmp, { recursive: true, force: true }));

const levels = (n: number) => Array.from({ length: n }, () => 'd').join('/');

describe('folder depth', () => {
  it(`a manifest ${MAX_FOLDER_DEPTH} folders down is read; one a level deeper is an error at its folder`, async () => {
    const repo = join(tmp, 'repo');
    cpSync('examples/config-repo', repo, { recursive: true });
    const before = await loadRepository(repo);
    expect(before.valid).toBe(true);

    // The queues (queues/prod/…) moved so their files are in the deepest folders read.
    mkdirSync(join(repo, levels(MAX_FOLDER_DEPTH - 2)), { recursive: true });
    renameSync(join(repo, 'queues'), join(repo, levels(MAX_FOLDER_DEPTH - 2), 'queues'));
    const deep = await loadRepository(repo);
    expect(deep.errors).toEqual([]);
    expect(deep.counts).toEqual(before.counts);

    mkdirSync(join(repo, levels(MAX_FOLDER_DEPTH + 5)), { recursive: true });
    writeFileSync(join(repo, levels(MAX_FOLDER_DEPTH + 5), 'x.yaml'), 'kind: Nonsense\n');
    const tooDeep = await loadRepository(repo);
    expect(tooDeep.valid).toBe(false);
    expect(tooDeep.errors.map((e) => `${e.file}: ${e.code} ${e.message}`)).toEqual([
      `${levels(MAX_FOLDER_DEPTH + 1)}: IO folder nested more than ${MAX_FOLDER_DEPTH} levels below the config folder: not read (manifests need far fewer); move its files up, or list it under ignore in poolsync.yaml`,
    ]);
  });
});
