/**
 * The keys of the loader's cache (analysis-cache.ts), derived from the loader's typed inputs
 * (src/manifests/analysis-port.ts): an encoder per field of `AnalysisInput` and of
 * `FolderInput` (`Encoders<T>` requires every field, so a field added to an input is a
 * compile error here until its key covers it), plus the loader's code fingerprint.
 */
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  LIMITS,
  type AnalysisInput,
  type FolderInput,
  type InputLimits,
} from '../manifests/index.js';

/** One encoder per field of T, none optional; `c`: what an encoder may need besides the value. */
export type Encoders<T, C = void> = { readonly [K in keyof T]-?: (value: T[K], c: C) => string };

/** The key of `input`: the fingerprint, then each field's name and encoding, in a fixed order. */
export function keyOf<T, C>(encoders: Encoders<T, C>, input: T, c: C, fingerprint: string): string {
  const hash = createHash('sha256').update(fingerprint);
  for (const name of (Object.keys(encoders) as (keyof T & string)[]).sort())
    hash.update(`\0${name}\0`).update(encoders[name](input[name], c));
  return hash.digest('hex');
}

const json = (v: unknown): string => JSON.stringify(v);

export const ANALYSIS_KEY: Encoders<AnalysisInput> = {
  // Errors name the path: the same bytes under another path are another analysis.
  file: (file) => file,
  text: (text) => text,
  limits: json,
};

/** The folder's key: `c.fileKey` is the key of a file's analysis (the load computed it once). */
export const FOLDER_KEY: Encoders<FolderInput, { fileKey: (input: AnalysisInput) => string }> = {
  dir: (dir) => dir,
  commit: json,
  environment: json,
  config: json,
  configErrors: json,
  limits: json,
  walk: json,
  patches: json,
  files: (files, c) =>
    files.map((f) => ('error' in f ? `error ${json(f.error)}` : c.fileKey(f.input))).join('\n'),
};

/** Bumped when an entry's shape changes (analysis-cache.ts: the JSON of a lean analysis). */
const FORMAT = 'poolsync-manifest-cache-3';

let cachedFingerprint: string | null = null;

/**
 * The poolsync version, the input limits' defaults and the loader's code (src/manifests/ and
 * the model types it builds, and this folder's cache modules): an entry of any other
 * fingerprint is never read.
 */
export function loaderFingerprint(): string {
  if (cachedFingerprint !== null) return cachedFingerprint;
  const here = dirname(fileURLToPath(import.meta.url));
  const hash = createHash('sha256').update(FORMAT).update(JSON.stringify(LIMITS));
  try {
    const pkg = JSON.parse(readFileSync(join(here, '../../package.json'), 'utf8')) as {
      version?: string;
    };
    hash.update(`version ${pkg.version ?? '?'}`);
  } catch {
    hash.update('version ?');
  }
  const mine = /^(analysis-cache|analysis-key|disk-cache)\.(js|ts)$/;
  for (const folder of [join(here, '../manifests'), join(here, '../model'), here]) {
    for (const name of readdirSync(folder).sort()) {
      if (!/\.(js|ts)$/.test(name) || name.endsWith('.d.ts')) continue;
      if (folder === here && !mine.test(name)) continue;
      hash.update(name).update(readFileSync(join(folder, name)));
    }
  }
  cachedFingerprint = hash.digest('hex').slice(0, 32);
  return cachedFingerprint;
}

/** The key of one file's analysis: its path (errors name it), its text, the limits, the fingerprint. */
export function analysisKey(file: string, text: string, limits: InputLimits = LIMITS): string {
  return keyOf(ANALYSIS_KEY, { file, text, limits }, undefined, loaderFingerprint());
}
