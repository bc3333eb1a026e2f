/**
 * The files poolsync keeps for itself read defensively (issue 60): through the safe-file layer,
 * and never parsed when the parse would not fit the heap (a JSON value takes about three times
 * its text while it is parsed: a 60 MB file aborted V8 at --max-old-space-size=256). One whose
 * loss is harmless (a history) that is too large, not JSON or not its shape is set aside
 * (`NAME.corrupt-TIME-RANDOM`) with a warning and read as absent: never a crash, a 500 or a
 * stack trace.
 */
import { randomBytes } from 'node:crypto';
import { lstat, rename } from 'node:fs/promises';
import { getHeapStatistics } from 'node:v8';
import { readOwnFile, UnsafeFileError } from './safe-file.js';
import { formatSize } from './transport-limits.js';

/** Heap a JSON text takes while it is parsed, per byte: the text, the values, the parser's garbage. */
const PARSE_HEAP_PER_BYTE = 4;

/** Why parsing `bytes` of JSON would not fit the heap left (node --max-old-space-size), or null. */
export function parseHeapProblem(bytes: number): string | null {
  const { heap_size_limit, used_heap_size } = getHeapStatistics();
  const left = heap_size_limit - used_heap_size;
  if (bytes * PARSE_HEAP_PER_BYTE < left) return null;
  return `it holds ${formatSize(bytes)}, and reading it would take about ${formatSize(bytes * PARSE_HEAP_PER_BYTE)} of memory, more than the ${formatSize(Math.max(0, left))} this process has left (node --max-old-space-size)`;
}

/** readOwnFile, and an UnsafeFileError when the file is too large to parse here. */
export async function readStateBytes(
  root: string,
  path: string,
  o: { maxBytes: number; what: string },
): Promise<Buffer | null> {
  const bytes = await readOwnFile(root, path, o);
  const problem = bytes === null ? null : parseHeapProblem(bytes.length);
  if (problem !== null) throw new UnsafeFileError(`cannot read the ${o.what} ${path}: ${problem}`);
  return bytes;
}

/** A kept file whose loss is harmless (`parse`: its value, or why not); null when absent or set aside. */
export async function readKeptFile<T>(
  root: string,
  path: string,
  o: {
    maxBytes: number;
    what: string;
    parse: (data: unknown) => T | string;
    warn: (message: string) => void;
  },
): Promise<T | null> {
  const st = await lstat(path).catch(() => null);
  // Too large to read: set aside unread (a link or a folder there is refused by the read).
  let problem =
    st?.isFile() !== true
      ? null
      : st.size > o.maxBytes
        ? `it is larger than ${formatSize(o.maxBytes)}`
        : parseHeapProblem(st.size);
  if (problem === null) {
    const bytes = await readStateBytes(root, path, o);
    if (bytes === null) return null;
    let data: unknown;
    try {
      data = JSON.parse(bytes.toString('utf8'));
    } catch {
      // Never the parser's message: it quotes the text.
      data = undefined;
    }
    const parsed = data === undefined ? 'not JSON' : o.parse(data);
    if (typeof parsed !== 'string') return parsed;
    problem = parsed;
  }
  // Unique, so an earlier one set aside is never replaced.
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const aside = `${path}.corrupt-${stamp}-${randomBytes(3).toString('hex')}`;
  await rename(path, aside);
  o.warn(
    `the ${o.what} ${path} is not one poolsync can read (${problem}): set aside as ${aside}, starting anew`,
  );
  return null;
}
