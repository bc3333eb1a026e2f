/**
 * A one-shot load reads a file as plain values (src/manifests/index.ts analysePlain) and
 * parses it again with positions only for an error: its analysis must be analyseFile's, trees
 * aside, and every position a rule asks for must be the one the tree holds.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { generateScaleModel } from '../../bench/lib/scale.js';
import { renderRepository } from '../../bench/lib/yaml-writer.js';
import { positionOf } from '../../src/manifests/documents.js';
import { LIMITS } from '../../src/manifests/limits.js';
import {
  analyseFile,
  analyseFileLean,
  analysePlain,
  type FileAnalysis,
} from '../../src/manifests/index.js';
import type { YMap } from '../../src/manifests/yaml.js';

const ROOT = join(import.meta.dirname, '..', '..');

function yamlFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && /\.ya?ml$/.test(e.name))
    .map((e) => join(e.parentPath, e.name));
}

/** The analysis without its trees, and each manifest's position tree read in full. */
function split(a: FileAnalysis) {
  const trees = a.documents.map((d) =>
    d.manifest ? { entries: d.manifest.root.entries, pos: d.manifest.root.pos } : null,
  );
  const documents = a.documents.map((d) =>
    d.manifest ? { ...d, manifest: { ...d.manifest, root: null } } : d,
  );
  return { lean: JSON.stringify({ ...a, documents }), trees };
}

/** analyseFileLean against analyseFile: same analysis, same positions. */
function same(file: string, text: string): void {
  const lean = split(analyseFileLean(file, text, LIMITS));
  const full = split(analyseFile(file, text, LIMITS));
  expect(lean.lean, file).toBe(full.lean);
  expect(lean.trees, file).toStrictEqual(full.trees);
}

describe('the plain-value analysis of a one-shot load', () => {
  it('reads every valid file of the example and of generated organisations without a tree', () => {
    const files = new Map<string, string>();
    for (const path of yamlFiles(join(ROOT, 'examples', 'config-repo', 'pools')))
      files.set(relative(ROOT, path), readFileSync(path, 'utf8'));
    for (const [file, text] of renderRepository(generateScaleModel(2000, 4)))
      if (file !== 'poolsync.yaml') files.set(file, text);
    expect(files.size).toBeGreaterThan(20);
    let rebuilt = 0;
    const counted = () => rebuilt++;
    for (const [file, text] of files) {
      const plain = analysePlain(file, text, LIMITS, counted);
      expect(plain, file).not.toBeNull();
      // Nothing was parsed again to make it; asking for a position parses the file once.
      expect(rebuilt).toBe(0);
      const first = plain!.documents[0]!.manifest!;
      expect(positionOf(first.root, 'metadata', 'name').line).toBeGreaterThan(1);
      expect(positionOf(first.root, 'spec').line).toBeGreaterThan(1);
      expect(rebuilt).toBe(1);
      rebuilt = 0;
      same(file, text);
    }
  });

  it('gives the errors analyseFile gives, on every file of the invalid corpus', () => {
    const files = yamlFiles(join(ROOT, 'test', 'fixtures', 'invalid'));
    expect(files.length).toBeGreaterThan(80);
    let reread = 0;
    for (const path of files) {
      const text = readFileSync(path, 'utf8');
      const file = relative(ROOT, path);
      if (analysePlain(file, text, LIMITS) === null) reread++;
      same(file, text);
    }
    // Most of the corpus is one error a file: read again with positions.
    expect(reread).toBeGreaterThan(files.length / 2);
  });

  it('a document with an error after valid ones: the whole file read again, errors located', () => {
    const pool = (name: string) =>
      `apiVersion: poolsync/v1\nkind: ClusterPool\nmetadata:\n  name: ${name}\nspec:\n  description: d\n`;
    const bad = `apiVersion: poolsync/v1\nkind: Queue\nmetadata:\n  name: q\nspec:\n  pool: a\n  run_concurrency: many\n  action_concurrency: 1\n`;
    const creds = `apiVersion: poolsync/v1\nkind: ClusterPool\nmetadata:\n  name: c\nspec:\n  object_store_ref:\n    uri: https://user:secret@example.com/b\n`;
    for (const text of [`${pool('a')}---\n${bad}`, `${pool('a')}---\n${creds}---\n${pool('b')}`]) {
      expect(analysePlain('f.yaml', text, LIMITS)).toBeNull();
      const lean = analyseFileLean('f.yaml', text, LIMITS);
      expect(lean.documents.flatMap((d) => d.errors).length).toBeGreaterThan(0);
      same('f.yaml', text);
    }
    // A valid file: positions asked for later are the tree's.
    const text = `# head\n\n${pool('a')}---\n  ${pool('b').replaceAll('\n', '\n  ')}`;
    const lean = analyseFileLean('f.yaml', text, LIMITS).documents.map((d) => d.manifest!);
    const full = analyseFile('f.yaml', text, LIMITS).documents.map((d) => d.manifest!);
    expect(lean.map((m) => m.source)).toStrictEqual(full.map((m) => m.source));
    expect(lean[1]!.source).toStrictEqual({ file: 'f.yaml', line: 10, column: 3 });
    const at = (m: { root: YMap }) => positionOf(m.root, 'spec', 'description');
    expect(lean.map(at)).toStrictEqual(full.map(at));
  });
});
