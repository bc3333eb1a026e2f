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
  const flows: number[] = [];
  let quote: { char: '"' | "'"; offset: number } | null = null;
  let i = 0;
  let lineStart = 0;
  let blockIndent = -1; // inside a block scalar: lines indented more than this belong to it
  // What the current character follows on its line: the last non-blank character, and the
  // first character of the last word (a tag `!x` or anchor `&a` may come before a scalar).
  let prev = '';
  let wordFirst = '';
  let inWord = false;
  const newLine = (at: number): void => {
    i = at;
    lineStart = at;
    prev = '';
    wordFirst = '';
    inWord = false;
  };
  while (i < end && i < source.length) {
    const c = source[i]!;
    if (quote) {
      if (quote.char === '"' && c === '\\') i += 2;
      else if (quote.char === "'" && c === "'" && source[i + 1] === "'") i += 2;
      else {
        if (c === quote.char) {
          quote = null;
          prev = c;
        }
        i++;
      }
      continue;
    }
    if (i === lineStart && blockIndent >= 0) {
      const indent = leadingSpaces(source, i);
      const blank = /[\r\n]/.test(source[i + indent] ?? '\n');
      if (blank || indent > blockIndent) {
        newLine(nextLine(source, i));
        continue;
      }
      blockIndent = -1;
    }
    if (c === '\n') {
      newLine(i + 1);
      continue;
    }
    const blankBefore = i === lineStart || /\s/.test(source[i - 1]!);
    if (c === '#' && blankBefore) {
      newLine(nextLine(source, i));
      continue;
    }
    if (/\s/.test(c)) {
      inWord = false;
      i++;
      continue;
    }
    const startsScalar =
      prev === '' || ':-?[{,'.includes(prev) || wordFirst === '!' || wordFirst === '&';
    if (
      (c === '"' || c === "'") &&
      startsScalar &&
      (blankBefore || '[{,'.includes(source[i - 1]!))
    ) {
      quote = { char: c, offset: i };
      i++;
      continue;
    }
    if ((c === '[' || c === '{') && (flows.length > 0 || startsScalar)) flows.push(i);
    else if ((c === ']' || c === '}') && flows.length > 0) flows.pop();
    else if (
      (c === '|' || c === '>') &&
      flows.length === 0 &&
      startsScalar &&
      /^[|>][-+0-9]*\s*(#.*)?$/.test(restOfLine(source, i))
    ) {
      blockIndent = leadingSpaces(source, lineStart);
      newLine(nextLine(source, i));
      continue;
    }
    if (!inWord) wordFirst = c;
    inWord = true;
    prev = c;
    i++;
  }
  const describe = (offset: number, char: keyof typeof DESCRIBE): Open => ({
    offset,
    message: (line, column) =>
      `syntax error: ${DESCRIBE[char].what} opened here is never closed (the parser gave up at line ${line}, column ${column}); add the closing ${DESCRIBE[char].close}`,
  });
  if (quote) return describe(quote.offset, quote.char);
  const last = flows.at(-1);
  return last === undefined ? null : describe(last, source[last] as '[' | '{');
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
