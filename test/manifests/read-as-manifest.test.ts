/**
 * readAsManifest (render --out's check) agrees with the walk itself: for files written into a
 * real folder, it says "manifest" exactly for those findManifestFiles lists.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { findManifestFiles, readAsManifest } from '../../src/manifests/walk.js';

const root = mkdtempSync(join(tmpdir(), 'poolsync-read-as-manifest-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const PATHS = [
  'v.yaml',
  'v.yml',
  'v.json',
  'poolsync.yaml',
  '.hidden/v.yaml',
  'a/.v.yaml',
  'drafts/v.yaml',
  'drafts/deep/v.yaml',
  'deploy/values.yaml',
  'deploy/keep.yaml',
  'base/q.yaml',
  'prod/q.yaml',
  'prod/x/q.yaml',
];

describe('readAsManifest', () => {
  for (const folders of [['.'], ['base', 'prod/x']])
    it(`says what the walk reads (folders ${folders.join(', ')})`, async () => {
      for (const p of PATHS) {
        mkdirSync(join(root, dirname(p)), { recursive: true });
        writeFileSync(join(root, p), 'x: 1\n');
      }
      const ignore = ['drafts/**', 'deploy/values.yaml'];
      const walked = (await findManifestFiles(root, ignore, folders)).files;
      expect(walked.length).toBeGreaterThan(0);
      for (const p of PATHS)
        expect([p, readAsManifest(p, ignore, folders)]).toEqual([p, walked.includes(p)]);
    });
});
