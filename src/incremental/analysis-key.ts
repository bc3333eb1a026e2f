/**
 * The keys of the loader's cache (analysis-cache.ts), derived from the loader's typed inputs
 * (src/manifests/analysis-port.ts): an encoder per field of `AnalysisInput` and of
 * `FolderInput` (`Encoders<T>` requires every field, so a field added to an input is a
 * compile error here until its key covers it), plus the loader's code fingerprint.
 */
import { createHash, type Hash } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  LIMITS,
  type AnalysisInput,
  type FolderInput,
  type InputLimits,
} from '../manifests/index.js';
import { readBuildId } from './code-fingerprint.js';

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
 * fingerprint is never read. Once per process.
 */
export function loaderFingerprint(): string {
  // This module's folder: src/incremental (tsx), dist/incremental (tsc) or dist/cli (bundle).
  cachedFingerprint ??= loaderFingerprintOf(dirname(dirname(fileURLToPath(import.meta.url))));
  return cachedFingerprint;
}

/**
 * The loader fingerprint of the code under CODE_ROOT (`src/` or `dist/`, package.json beside
 * it). A built CLI's `dist/build-id` (code-fingerprint.ts `readBuildId`: a hash of every file
 * the build emitted, with its stamps and main.js's) stands for the loader's files, as it does
 * for the plan memory; from source, or a build without one, the files are read.
 */
export function loaderFingerprintOf(codeRoot: string): string {
  const hash = createHash('sha256').update(FORMAT).update(JSON.stringify(LIMITS));
  try {
    const pkg = JSON.parse(readFileSync(join(codeRoot, '../package.json'), 'utf8')) as {
      version?: string;
    };
    hash.update(`version ${pkg.version ?? '?'}`);
  } catch {
    hash.update('version ?');
  }
  const buildId = readBuildId(codeRoot);
  if (buildId !== null) hash.update(buildId);
  else hashLoaderFiles(hash, codeRoot);
  return hash.digest('hex').slice(0, 32);
}

function hashLoaderFiles(hash: Hash, codeRoot: string): void {
  const mine = /^(analysis-cache|analysis-key|disk-cache)\.(js|ts)$/;
  const own = join(codeRoot, 'incremental');
  for (const folder of [join(codeRoot, 'manifests'), join(codeRoot, 'model'), own]) {
    let names: string[];
    try {
      names = readdirSync(folder).sort();
    } catch {
      hash.update(`no ${folder}`);
      continue;
    }
    for (const name of names) {
      if (!/\.(js|ts)$/.test(name) || name.endsWith('.d.ts')) continue;
      if (folder === own && !mine.test(name)) continue;
      hash.update(name).update(readFileSync(join(folder, name)));
    }
  }
}

/** The key of one file's analysis: its path (errors name it), its text, the limits, the fingerprint. */
export function analysisKey(file: string, text: string, limits: InputLimits = LIMITS): string {
  return keyOf(ANALYSIS_KEY, { file, text, limits }, undefined, loaderFingerprint());
}
