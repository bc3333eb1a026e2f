/**
 * Syntax errors of js-yaml as positioned issues. js-yaml notices an unterminated quote or an
 * unclosed `[`/`{` only where it runs out of input or indentation, often lines later
 * ("deficient indentation" at the next key); the user needs the place the construct opened.
 */
import { YAMLException } from '../util/js-yaml.js';
import { formatBytes, type InputLimits } from './limits.js';
import type { LineIndex, YamlIssue } from './yaml-tree.js';

/** Reasons under which js-yaml may be reporting a construct that was never closed. */
const RAN_OUT =
  /deficient indentation|unexpected end of the stream|end of the stream or a document separator/;

export function parserIssue(
  err: unknown,
  source: string,
  lines: LineIndex,
  limits: Readonly<InputLimits>,
): YamlIssue {
  if (err instanceof YAMLException) {
    const line = (err.mark?.line ?? 0) + 1;
    const column = (err.mark?.column ?? 0) + 1;
    if (/maxDepth/.test(err.reason)) {
      return {
        code: 'LIMIT',
        message: `collections nested deeper than ${limits.maxDepth} levels; manifests need far fewer`,
        line,
        column,
      };
    }
    const offset = err.mark?.position ?? -1;
    const open = offset >= 0 && RAN_OUT.test(err.reason) ? openConstruct(source, offset) : null;
    if (open !== null) {
      const at = lines.at(open.offset);
      return {
        code: 'YAML',
        message: open.message(line, column),
        line: at.line,
        column: at.column,
      };
    }
    // The code column already says YAML: the message starts with what went wrong.
    return { code: 'YAML', message: `syntax error: ${err.reason}`, line, column };
  }
  if (err instanceof RangeError) {
    // The engine's own limits (string length, call stack) reached by a hostile file.
    return {
      code: 'LIMIT',
      message: `file is too large or too deeply nested to read (over ${formatBytes(limits.maxDocumentBytes)} per document)`,
      line: 1,
      column: 1,
    };
  }
  // js-yaml documents that any exception may escape; keep it structured.
  return { code: 'YAML', message: `YAML could not be read: ${String(err)}`, line: 1, column: 1 };
}

interface Open {
  offset: number;
  message: (line: number, column: number) => string;
}

const DESCRIBE = {
  '"': { what: 'double-quoted string', close: '"' },
  "'": { what: 'single-quoted string', close: "'" },
  '[': { what: 'flow sequence', close: ']' },
  '{': { what: 'flow mapping', close: '}' },
} as const;

/**
 * The innermost quote or flow collection still open at `end`, scanning from the start with
 * YAML's lexical rules (comments, block scalars, quotes only where a scalar starts). Null when
 * everything opened before `end` was closed: the error is then js-yaml's as it stands.
 */
export function openConstruct(source: string, end: number): Open | null {
  const s: Scan = {
    source,
    flows: [],
    quote: null,
    i: 0,
    lineStart: 0,
    blockIndent: -1,
    prev: '',
    wordFirst: '',
    inWord: false,
  };
  while (s.i < end && s.i < source.length) {
    const c = source[s.i]!;
    if (s.quote) inQuote(s, c);
    else if (!skipsBlockLine(s)) step(s, c);
  }
  const describe = (offset: number, char: keyof typeof DESCRIBE): Open => ({
    offset,
    message: (line, column) =>
      `syntax error: ${DESCRIBE[char].what} opened here is never closed (the parser gave up at line ${line}, column ${column}); add the closing ${DESCRIBE[char].close}`,
  });
  if (s.quote) return describe(s.quote.offset, s.quote.char);
  const last = s.flows.at(-1);
  return last === undefined ? null : describe(last, source[last] as '[' | '{');
}

/** openConstruct's scan: where it is and what is open. */
interface Scan {
  readonly source: string;
  readonly flows: number[];
  quote: { char: '"' | "'"; offset: number } | null;
  i: number;
  lineStart: number;
  /** Inside a block scalar: lines indented more than this belong to it; -1 outside. */
  blockIndent: number;
  // What the current character follows on its line: the last non-blank character, and the
  // first character of the last word (a tag `!x` or anchor `&a` may come before a scalar).
  prev: string;
  wordFirst: string;
  inWord: boolean;
}

function newLine(s: Scan, at: number): void {
  s.i = at;
  s.lineStart = at;
  s.prev = '';
  s.wordFirst = '';
  s.inWord = false;
}

/** One character inside a quoted scalar: an escape, a doubled single quote, the closing quote. */
function inQuote(s: Scan, c: string): void {
  const quote = s.quote!;
  if (quote.char === '"' && c === '\\') s.i += 2;
  else if (quote.char === "'" && c === "'" && s.source[s.i + 1] === "'") s.i += 2;
  else {
    if (c === quote.char) {
      s.quote = null;
      s.prev = c;
    }
    s.i++;
  }
}

/** At a line's start inside a block scalar: true when the line is the scalar's (and skipped). */
function skipsBlockLine(s: Scan): boolean {
  if (s.i !== s.lineStart || s.blockIndent < 0) return false;
  const indent = leadingSpaces(s.source, s.i);
  const blank = /[\r\n]/.test(s.source[s.i + indent] ?? '\n');
  if (blank || indent > s.blockIndent) {
    newLine(s, nextLine(s.source, s.i));
    return true;
  }
  s.blockIndent = -1;
  return false;
}

/** One character outside quotes and block scalars. */
function step(s: Scan, c: string): void {
  const { source, i } = s;
  if (c === '\n') return newLine(s, i + 1);
  const blankBefore = i === s.lineStart || /\s/.test(source[i - 1]!);
  if (c === '#' && blankBefore) return newLine(s, nextLine(source, i));
  if (/\s/.test(c)) {
    s.inWord = false;
    s.i++;
    return;
  }
  const startsScalar =
    s.prev === '' || ':-?[{,'.includes(s.prev) || s.wordFirst === '!' || s.wordFirst === '&';
  if ((c === '"' || c === "'") && startsScalar && (blankBefore || '[{,'.includes(source[i - 1]!))) {
    s.quote = { char: c, offset: i };
    s.i++;
    return;
  }
  if ((c === '[' || c === '{') && (s.flows.length > 0 || startsScalar)) s.flows.push(i);
  else if ((c === ']' || c === '}') && s.flows.length > 0) s.flows.pop();
  else if (
    (c === '|' || c === '>') &&
    s.flows.length === 0 &&
    startsScalar &&
    /^[|>][-+0-9]*\s*(#.*)?$/.test(restOfLine(source, i))
  ) {
    s.blockIndent = leadingSpaces(source, s.lineStart);
    return newLine(s, nextLine(source, i));
  }
  if (!s.inWord) s.wordFirst = c;
  s.inWord = true;
  s.prev = c;
  s.i++;
}

function leadingSpaces(source: string, from: number): number {
  let n = 0;
  while (source[from + n] === ' ') n++;
  return n;
}

function nextLine(source: string, from: number): number {
  const nl = source.indexOf('\n', from);
  return nl === -1 ? source.length : nl + 1;
}

function restOfLine(source: string, from: number): string {
  const nl = source.indexOf('\n', from);
  return source.slice(from, nl === -1 ? source.length : nl).replace(/\r$/, '');
}
