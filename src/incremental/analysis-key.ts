/**
 * The keys of the loader's cache (analysis-cache.ts), derived from the loader's typed inputs
 * (src/manifests/analysis.ts): an encoder per field of `AnalysisInput` and of
 * `FolderInput` (`Encoders<T>` requires every field, so a field added to an input is a
 * compile error here until its key covers it). No fingerprint of the loader's code: the keys
 * live in one process's memory, under which the code does not change (the disk layer that
 * needed one went in issue 51).
 */
import { createHash } from 'node:crypto';
import type { AnalysisInput, FolderInput } from '../manifests/analysis.js';

/** One encoder per field of T, none optional; `c`: what an encoder may need besides the value. */
export type Encoders<T, C = void> = { readonly [K in keyof T]-?: (value: T[K], c: C) => string };

/** The key of `input`: each field's name and encoding, in a fixed order. */
export function keyOf<T, C>(encoders: Encoders<T, C>, input: T, c: C): string {
  const hash = createHash('sha256');
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
