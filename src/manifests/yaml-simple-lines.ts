/**
 * The lines of a text as the simple YAML parser (yaml-simple.ts) reads them: where each
 * starts and ends, its indentation (or a blank, comment or `---` line), positions, the
 * document's byte budget and where a line's content ends. Anything outside the subset is
 * GIVE_UP, which the parser turns into "let the full parser read it".
 */
import { CORE_SCHEMA } from '../util/js-yaml.js';
import type { InputLimits } from './limits.js';
import type { Position } from './yaml-tree.js';

/** Thrown inside the parser when the input leaves the subset; never escapes yaml-simple.ts. */
export const GIVE_UP = new Error('outside the simple subset');

const STR_TAG = 'tag:yaml.org,2002:str';
// Characters js-yaml refuses or treats specially anywhere in the input: control characters,
// C1 controls, surrogates (emoji are valid but rare: the full parser handles them), BOM, noncharacters.
// eslint-disable-next-line no-control-regex
const UNSIMPLE_CHARS = /[\x00-\x09\x0B-\x1F\x7F-\x9F\uD800-\uDFFF\uFEFF\uFFFE\uFFFF]/;

/** `read()`'s result, or null when `source` leaves the subset (GIVE_UP) anywhere. */
export function inSubset<T>(read: () => T, source: string): T | null {
  if (UNSIMPLE_CHARS.test(source)) return null;
  try {
    return read();
  } catch (err) {
    if (err === GIVE_UP) return null;
    throw err;
  }
}

const stringKeys = new Map<string, boolean>();

/** True when a plain key reads as a string in the core schema (`1`, `true`, `null` do not). */
export function isStringKey(key: string): boolean {
  // A letter other than n, t, f cannot start null, true or false: the only core words.
  const c = key.charCodeAt(0) | 0x20;
  if (c >= 97 && c <= 122 && c !== 110 && c !== 116 && c !== 102) return true;
  let ok = stringKeys.get(key);
  if (ok === undefined) {
    ok = CORE_SCHEMA.resolveImplicitScalarTag(key).tag.tagName === STR_TAG;
    if (stringKeys.size < 10_000) stringKeys.set(key, ok);
  }
  return ok;
}

/** `[A-Za-z0-9_]`: what a plain key may start with. */
export function isKeyStart(ch: number): boolean {
  return (ch >= 97 && ch <= 122) || (ch >= 65 && ch <= 90) || (ch >= 48 && ch <= 57) || ch === 95;
}

/**
 * The keys of one mapping, for duplicates: a scan while there are few (nearly every mapping
 * of a manifest), a Set from 16 on (a scan of every key made a mapping of n keys cost n²:
 * 15 s at 70,000 keys). A Set per mapping was ~10 % of a 10k load's parse.
 */
export class SeenKeys {
  private readonly few: string[] = [];
  private many: Set<string> | null = null;
  /** False when `key` was seen before; else it is noted. */
  add(key: string): boolean {
    const many = this.many;
    if (many !== null) {
      if (many.has(key)) return false;
      many.add(key);
      return true;
    }
    const few = this.few;
    for (let i = 0; i < few.length; i++) if (few[i] === key) return false;
    few.push(key);
    if (few.length === 16) this.many = new Set(few);
    return true;
  }
}

export const BLANK = -1;
export const DOCUMENT_START = -2;

export abstract class SimpleLines {
  /** Offset of each line's first character. */
  protected readonly starts: number[] = [];
  /** Offset just past each line's last character (its `\n` excluded). */
  protected readonly ends: number[] = [];
  /** Indentation of each line; BLANK for empty and comment lines, DOCUMENT_START for `---`. */
  protected readonly indents: number[] = [];
  /** The next line to read. */
  protected i = 0;
  /** Scalar text of the current document (limits.maxDocumentBytes). */
  protected bytes = 0;

  constructor(
    protected readonly text: string,
    protected readonly limits: Readonly<InputLimits>,
  ) {
    this.splitLines();
  }

  private splitLines(): void {
    const text = this.text;
    let start = 0;
    for (;;) {
      let end = text.indexOf('\n', start);
      const last = end === -1;
      if (last) end = text.length;
      if (text.charCodeAt(end - 1) === 13 /* \r */) throw GIVE_UP;
      let c = start;
      while (c < end && text.charCodeAt(c) === 32) c++;
      let indent = c - start;
      if (c === end || text.charCodeAt(c) === 35 /* # */) indent = BLANK;
      else if (c === start) {
        const ch = text.charCodeAt(start);
        if (ch === 37 /* % */ || text.startsWith('...', start)) throw GIVE_UP;
        if (
          text.startsWith('---', start) &&
          (end === start + 3 || text.charCodeAt(start + 3) === 32)
        ) {
          if (this.contentEnd(start + 3, end) !== start + 3) throw GIVE_UP; // `--- value`
          indent = DOCUMENT_START;
        }
      }
      // Tabs are refused for the whole text by UNSIMPLE_CHARS (\x09).
      this.starts.push(start);
      this.ends.push(end);
      this.indents.push(indent);
      if (last) break;
      start = end + 1;
    }
  }

  protected skipBlank(): void {
    while (this.i < this.indents.length && this.indents[this.i] === BLANK) this.i++;
  }

  /** The indentation of the next content line of this document, or -1 at its end. */
  protected nextIndent(): number {
    this.skipBlank();
    if (this.i >= this.indents.length) return -1;
    const indent = this.indents[this.i]!;
    return indent === DOCUMENT_START ? -1 : indent;
  }

  protected pos(line: number, offset: number): Position {
    return { line: line + 1, column: offset - this.starts[line]! + 1 };
  }

  /** The position at `offset` of `line`: `a` or `b` when it is that place, else a new one. */
  protected posAt(line: number, offset: number, a: Position | null, b: Position): Position {
    const column = offset - this.starts[line]! + 1;
    if (a !== null && a.line === line + 1 && a.column === column) return a;
    if (b.line === line + 1 && b.column === column) return b;
    return { line: line + 1, column };
  }

  protected addBytes(n: number): void {
    this.bytes += n;
    if (this.bytes > this.limits.maxDocumentBytes) throw GIVE_UP;
  }

  /** A `- ` (or a final `-`) at `at`: a sequence entry. */
  protected isDash(at: number, end: number): boolean {
    return (
      this.text.charCodeAt(at) === 45 /* - */ &&
      (at + 1 === end || this.text.charCodeAt(at + 1) === 32)
    );
  }

  /** True when a `name:` key starts at `at` (a plain scalar never has `: ` or a final `:`). */
  protected looksLikeKey(at: number, end: number): boolean {
    const stop = this.contentEnd(at, end);
    for (let c = at; c < stop; c++) if (this.text.charCodeAt(c) === 58) return true;
    return false;
  }

  /** Where a line's content ends: before a ` #` comment and trailing spaces. */
  protected contentEnd(from: number, end: number): number {
    const text = this.text;
    let stop = end;
    if (from < end && text.charCodeAt(from) === 35) stop = from;
    else
      for (let c = from + 1; c < end; c++)
        if (text.charCodeAt(c) === 35 && text.charCodeAt(c - 1) === 32) {
          stop = c - 1;
          break;
        }
    while (stop > from && text.charCodeAt(stop - 1) === 32) stop--;
    return stop;
  }
}
