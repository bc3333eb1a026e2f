/**
 * The loader cache's keys (src/incremental/analysis-cache.ts) are derived from the loader's typed
 * inputs: an encoder table must name every field (a field left out does not compile), and a
 * change in any one field is a new key.
 */
import { describe, expect, it } from 'vitest';
import {
  ANALYSIS_KEY,
  FOLDER_KEY,
  keyOf,
  type Encoders,
} from '../../src/incremental/analysis-cache.js';
import { type AnalysisInput, type FolderInput } from '../../src/manifests/index.js';
import { LIMITS } from '../../src/manifests/limits.js';

const input: AnalysisInput = { file: 'q.yaml', text: 'a: 1\n', limits: LIMITS };
const fileKey = (i: AnalysisInput) => keyOf(ANALYSIS_KEY, i, undefined);

const folder: FolderInput = {
  dir: '/repo',
  commit: null,
  environment: null,
  config: { prune: false } as FolderInput['config'],
  configErrors: [],
  limits: LIMITS,
  walk: { files: ['q.yaml'], skipped: [], unreadable: [] } as unknown as FolderInput['walk'],
  patches: null,
  files: [{ input }],
};
const folderKey = (f: FolderInput) => keyOf(FOLDER_KEY, f, { fileKey });

describe('keys derived from the typed inputs', () => {
  it('an encoder table names every field of its input (else it does not compile)', () => {
    // @ts-expect-error -- `b` has no encoder: a new input field is a compile error until covered.
    const partial: Encoders<{ a: string; b: number }> = { a: (v) => v };
    expect(Object.keys(partial)).toEqual(['a']);
    expect(Object.keys(ANALYSIS_KEY).sort()).toEqual(['file', 'limits', 'text']);
  });

  it('a change in any field of a file is a new key', () => {
    const base = fileKey(input);
    expect(fileKey({ ...input })).toBe(base);
    const changed = [
      fileKey({ ...input, file: 'r.yaml' }),
      fileKey({ ...input, text: 'a: 2\n' }),
      fileKey({ ...input, limits: { ...LIMITS, maxDocuments: 1 } }),
    ];
    expect(new Set([base, ...changed]).size).toBe(4);
  });

  it('a change in any field of a folder, or in one of its files, is a new folder key', () => {
    const base = folderKey(folder);
    expect(folderKey({ ...folder, files: [{ input: { ...input } }] })).toBe(base);
    const variants: Partial<FolderInput>[] = [
      { dir: '/other' },
      { commit: 'c0ffee' },
      { environment: 'prod' },
      { config: { prune: true } as FolderInput['config'] },
      {
        configErrors: [
          { code: 'YAML', message: 'x', file: 'poolsync.yaml', line: 1, column: 1, address: null },
        ],
      },
      { limits: { ...LIMITS, maxDocuments: 1 } },
      { walk: { files: [], skipped: [], unreadable: [] } as unknown as FolderInput['walk'] },
      { patches: ['patch'] },
      { files: [{ input: { ...input, text: 'a: 2\n' } }] },
      {
        files: [
          {
            error: { code: 'IO', message: 'x', file: 'q.yaml', line: 1, column: 1, address: null },
          },
        ],
      },
    ];
    expect(Object.keys(FOLDER_KEY).length).toBe(variants.length - 1);
    const keys = variants.map((v) => folderKey({ ...folder, ...v }));
    expect(new Set([base, ...keys]).size).toBe(variants.length + 1);
  });
});
