/** Reading one file of the config folder within the input limits (manifests.md). */
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { LIMITS } from './limits.js';
import type { ValidationError } from './types.js';

export type ReadResult = { ok: true; text: string } | { ok: false; error: ValidationError };

const MiB = 1024 * 1024;

export async function readManifestText(root: string, rel: string): Promise<ReadResult> {
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
    if (size > LIMITS.maxFileBytes) {
      return fail(
        'LIMIT',
        `file is ${(size / MiB).toFixed(1)} MiB, over the ${LIMITS.maxFileBytes / MiB} MiB limit: split it into several files`,
      );
    }
    bytes = await readFile(path);
  } catch (err) {
    return fail('IO', `cannot read file: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  if (bytes.length > LIMITS.maxFileBytes) {
    return fail(
      'LIMIT',
      `file grew over the ${LIMITS.maxFileBytes / MiB} MiB limit while being read`,
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
