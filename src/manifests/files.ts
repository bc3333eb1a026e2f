/** Reading one file of the config folder within the input limits (manifests.md). */
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { LIMITS, formatBytes, type InputLimits } from './limits.js';
import type { ValidationError } from './types.js';

export type ReadResult = { ok: true; text: string } | { ok: false; error: ValidationError };

export async function readManifestText(
  root: string,
  rel: string,
  limits: Readonly<InputLimits> = LIMITS,
): Promise<ReadResult> {
  const fail = (
    code: ValidationError['code'],
    message: string,
    line = 1,
    column = 1,
  ): ReadResult => ({
    ok: false,
    error: { code, message, file: rel, line, column, address: null },
  });
  const path = join(root, rel);
  let bytes: Buffer;
  try {
    // Checked before reading, so a huge file is never loaded into memory.
    const size = (await stat(path)).size;
    if (size > limits.maxFileBytes) {
      return fail(
        'LIMIT',
        `file is ${formatBytes(size)}, over the limit of ${formatBytes(limits.maxFileBytes)}: split it into several files, or raise limits.file_bytes in poolsync.yaml`,
      );
    }
    bytes = await readFile(path);
  } catch (err) {
    return fail('IO', `cannot read file: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  if (bytes.length > limits.maxFileBytes) {
    return fail(
      'LIMIT',
      `file grew over the limit of ${formatBytes(limits.maxFileBytes)} while being read`,
    );
  }
  try {
    return { ok: true, text: new TextDecoder('utf-8', { fatal: true }).decode(bytes) };
  } catch {
    // Locate the first undecodable byte so the user can find it.
    const lossy = new TextDecoder('utf-8').decode(bytes);
    const at = lossy.indexOf('\uFFFD');
    const before = lossy.slice(0, Math.max(0, at));
    const line = before.split('\n').length;
    const column = at - before.lastIndexOf('\n');
    return fail(
      'YAML',
      'file is not UTF-8 text (binary data?): manifests must be UTF-8 YAML',
      line,
      column,
    );
  }
}
