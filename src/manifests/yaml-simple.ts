/**
 * A fast path for the YAML manifests are written in (js-yaml's event parser was most of a large
 * load): block collections, one-line plain and quoted scalars, one-line flow collections of
 * scalars, comments and `---`, read line by line into the tree (or, PlainParser, plain values).
 * On anything else (anchors, tags, block or multi-line scalars, escapes, tabs, keys that are not
 * plain names, duplicate keys, a limit passed) it gives up and the full parser reads the file, so
 * every error comes from one place. test/manifests/yaml-simple.test.ts holds both parsers to the
 * same output on every YAML file of the repository and thousands of mutations.
 */
import { flatSlice } from '../util/flat-string.js';
import { LIMITS, type InputLimits } from './limits.js';
import {
  parseYamlFull,
  plainScalarValue,
  setPlain,
  type ParsedFile,
  type Position,
  type Scalar,
  type YDocument,
  type YMap,
  type YNode,
  type YScalar,
  type YSeq,
} from './yaml.js';

/** Every document of one file, by the fast path when it can; never throws for bad input. */
export function parseYamlFile(text: string, limits: Readonly<InputLimits> = LIMITS): ParsedFile {
  return parseSimpleYaml(text, limits) ?? parseYamlFull(text, limits);
}

/** Thrown inside the parser when the input leaves the subset; never escapes yaml-simple.ts. */
export const GIVE_UP = new Error('outside the simple subset');

// What js-yaml refuses or treats specially anywhere: controls, C1 controls, surrogates (emoji
// are valid but rare: the full parser takes them), BOM, noncharacters.
// eslint-disable-next-line no-control-regex
const UNSIMPLE_CHARS = /[\x00-\x09\x0B-\x1F\x7F-\x9F\uD800-\uDFFF\uFEFF\uFFFE\uFFFF]/;

/** `read(source)`'s result (BOM removed), or null when the text leaves the subset (GIVE_UP) anywhere. */
function inSubset<T>(text: string, read: (source: string) => T): T | null {
  const source = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  if (UNSIMPLE_CHARS.test(source)) return null;
  try {
    return read(source);
  } catch (err) {
    if (err === GIVE_UP) return null;
    throw err;
  }
}

/** `[A-Za-z0-9_]`: what a plain key may start with. */
function isKeyStart(ch: number): boolean {
  return (ch >= 97 && ch <= 122) || (ch >= 65 && ch <= 90) || (ch >= 48 && ch <= 57) || ch === 95;
}

/**
 * The keys of one mapping, for duplicates: a scan while few, a Set from 16 on (a scan made n keys
 * cost n²: 15 s at 70,000). A Set per mapping was ~10 % of a 10k load's parse, a SeenKeys per
 * mapping a fifth of the parser's allocation: one per depth, cleared for each mapping.
 */
class SeenKeys {
  private readonly few: string[] = [];
  private count = 0;
  private many: Set<string> | null = null;
  clear(): this {
    this.count = 0;
    this.many = null;
    return this;
  }
  /** False when `key` was seen before; else it is noted. */
  add(key: string): boolean {
    const many = this.many;
    if (many !== null) {
      if (many.has(key)) return false;
      many.add(key);
      return true;
    }
    const few = this.few;
    const count = this.count;
    for (let i = 0; i < count; i++) if (few[i] === key) return false;
    few[count] = key;
    this.count = count + 1;
    if (count + 1 === 16) this.many = new Set(few);
    return true;
  }
}

/**
 * Keys and short scalars shared rather than sliced from the text each time: a 100,000-object
 * repository writes ~30 distinct keys and a few thousand recurring values (`poolsync/v1`, a pool's
 * name in each of its queues) a million times. A recurring one is then one string kept by every
 * manifest holding it, and a key that is already a property name stores without a lookup.
 * Direct-mapped by a hash of the characters (a collision replaces the slot), so bounded: at most
 * SHARED_SLOTS strings of SHARED_MAX_LENGTH characters (~1 MB) stay between loads. 16,384
 * slots, not 4,096: the 100k repository's 1.63 million reads, 100,575 distinct, missed 177,000
 * times instead of 216,000 (each miss a new string).
 */
const SHARED_SLOTS = 16384;
const SHARED_MAX_LENGTH = 64;
const shared: string[] = new Array<string>(SHARED_SLOTS).fill('');

/** `text` from `at` to `stop` as a flat string: the one in `shared` when it is there. */
function sharedSlice(text: string, at: number, stop: number): string {
  const length = stop - at;
  if (length > SHARED_MAX_LENGTH) return flatSlice(text, at, stop);
  // The length and four characters: names differ mostly at their end (`…-prod-398`), and a
  // hash of every character cost as much as the slice it saves.
  let hash = length;
  if (length > 0) {
    hash = Math.imul(hash, 31) + text.charCodeAt(at);
    hash = Math.imul(hash, 31) + text.charCodeAt(at + (length >> 1));
    // Never the character before `at`: a one-character value is hashed alike wherever it is.
    hash = Math.imul(hash, 31) + text.charCodeAt(length > 1 ? stop - 2 : at);
    hash = Math.imul(hash, 31) + text.charCodeAt(stop - 1);
  }
  const slot = (hash ^ (hash >>> 12)) & (SHARED_SLOTS - 1);
  const known = shared[slot]!;
  if (known.length === length && text.startsWith(known, at)) return known;
  return (shared[slot] = flatSlice(text, at, stop));
}

const BLANK = -1;
const DOCUMENT_START = -2;

/** The indicators a plain scalar never starts with, by character code (all ASCII). */
const PLAIN_NEVER_STARTS = asciiTable('&*!|>%@`?:,]}[{#"\'');

function asciiTable(chars: string): Uint8Array {
  const table = new Uint8Array(128);
  for (const ch of chars) table[ch.charCodeAt(0)] = 1;
  return table;
}

/** Parses `text` when it is in the subset; null when the full parser must. */
export function parseSimpleYaml(
  text: string,
  limits: Readonly<InputLimits>,
  each?: (doc: YDocument) => void,
): ParsedFile | null {
  return inSubset(text, (source) => {
    const documents: YDocument[] = [];
    // Given `each` (index.ts analyseFile), each document goes to it as soon as read, unkept.
    const documentCount = new TreeParser(source, limits).documents((root, index) =>
      each ? each({ root, index }) : documents.push({ root, index }),
    );
    return { documents, documentCount, issues: [], aliasExpansion: 0, aliasBytes: 0 };
  });
}

/**
 * The parser; its subclass makes the nodes (`N`; `M` a mapping, `S` a sequence), given where
 * each starts: the tree with positions (TreeParser) or plain values (PlainParser).
 */
abstract class SimpleReader<N, M extends N, S extends N> {
  // Per line: where it starts, where it ends (before its `\n`), its indentation (BLANK: empty or
  // comment, DOCUMENT_START: `---`). Typed arrays, not arrays grown by push (~12 % of what a
  // one-shot load of 100,000 objects allocated): sized for a line per 16 characters (manifests
  // average ~17), doubled when passed, cut to the lines read; counting the lines first searched
  // every `\n` twice.
  protected starts: Int32Array;
  protected ends: Int32Array;
  protected indents: Int32Array;
  /** The next line to read. */
  protected i = 0;
  /** Scalar text of the current document (limits.maxDocumentBytes). */
  protected bytes = 0;
  /**
   * Items read of the sequence open at each depth: a sequence then gets an array of its length,
   * not one grown by push (17 places for most lists' one item, kept as long as the manifest).
   */
  private readonly itemsAt: N[][] = [];
  private readonly seenAt: SeenKeys[] = [];
  /** Where the last `quoted` or `flowScalar` read ends. */
  private next = 0;

  constructor(
    protected readonly text: string,
    protected readonly limits: Readonly<InputLimits>,
  ) {
    const size = (text.length >> 4) + 16;
    this.starts = new Int32Array(size);
    this.ends = new Int32Array(size);
    this.indents = new Int32Array(size);
    const lines = this.splitLines();
    this.starts = this.starts.subarray(0, lines);
    this.ends = this.ends.subarray(0, lines);
    this.indents = this.indents.subarray(0, lines);
  }

  /** Fills starts, ends and indents; the number of lines. */
  private splitLines(): number {
    const text = this.text;
    let start = 0;
    for (let line = 0; ; line++) {
      if (line === this.starts.length) this.growLines();
      let end = text.indexOf('\n', start);
      const last = end === -1;
      if (last) end = text.length;
      if (text.charCodeAt(end - 1) === 13 /* \r */) throw GIVE_UP;
      let c = start;
      while (c < end && text.charCodeAt(c) === 32) c++;
      let indent = c - start;
      if (c === end || text.charCodeAt(c) === 35 /* # */) indent = BLANK;
      else if (c === start) {
        // The first character tested first: most lines at column 0 are keys, not `...` or `---`.
        const ch = text.charCodeAt(start);
        if (ch === 37 /* % */ || (ch === 46 && text.startsWith('...', start))) throw GIVE_UP;
        if (
          ch === 45 &&
          text.startsWith('---', start) &&
          (end === start + 3 || text.charCodeAt(start + 3) === 32)
        ) {
          if (this.contentEnd(start + 3, end) !== start + 3) throw GIVE_UP; // `--- value`
          indent = DOCUMENT_START;
        }
      }
      // Tabs are refused for the whole text by UNSIMPLE_CHARS (\x09).
      this.starts[line] = start;
      this.ends[line] = end;
      this.indents[line] = indent;
      if (last) return line + 1;
      start = end + 1;
    }
  }

  private growLines(): void {
    const grown = (from: Int32Array) => {
      const to = new Int32Array(from.length * 2);
      to.set(from);
      return to;
    };
    this.starts = grown(this.starts);
    this.ends = grown(this.ends);
    this.indents = grown(this.indents);
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

  /**
   * True when a `name:` key starts at `at`, its line's content ending at `stop` (contentEnd): a
   * plain scalar never has `: ` or a final `:`.
   */
  protected looksLikeKey(at: number, stop: number): boolean {
    for (let c = at; c < stop; c++) if (this.text.charCodeAt(c) === 58) return true;
    return false;
  }

  /** A `: ` or a final `:` from `at` to `stop`: read in the text, not by two searches of a slice. */
  private hasKeyColon(at: number, stop: number): boolean {
    const text = this.text;
    for (let c = at; c < stop; c++)
      if (text.charCodeAt(c) === 58 && (c + 1 === stop || text.charCodeAt(c + 1) === 32))
        return true;
    return false;
  }

  /** One of `[]{},#:` from `at` to `stop`: a plain scalar in a flow collection has none. */
  private hasFlowIndicator(at: number, stop: number): boolean {
    const text = this.text;
    for (let c = at; c < stop; c++) {
      const ch = text.charCodeAt(c);
      if (ch === 91 || ch === 93 || ch === 123 || ch === 125 || ch === 44 || ch === 35 || ch === 58)
        return true;
    }
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

  protected abstract scalarAt(value: Scalar, line: number, offset: number): N;
  protected abstract newMap(line: number, offset: number): M;
  protected abstract setKey(map: M, key: string, line: number, offset: number, value: N): void;
  /** The sequence starting at `offset` of `line`, of `items` (its own array). */
  protected abstract newSeq(line: number, offset: number, items: N[]): S;

  /** Each document's root, index and start, given to `take` as soon as read; their count. */
  documents(take: (root: M, index: number, pos: Position) => void): number {
    let count = 0;
    // Before the first `---` is a document; so is what follows each, even nothing (an empty
    // document keeps its index, as the full parser counts them).
    let index = 0;
    if (this.nextIndent() !== -1) {
      this.documentRoot(take, index++);
      count++;
    }
    while (this.i < this.indents.length) {
      this.i++; // the `---`
      if (this.nextIndent() !== -1) {
        this.documentRoot(take, index);
        count++;
      }
      index++;
    }
    return count;
  }

  private documentRoot(take: (root: M, index: number, pos: Position) => void, index: number) {
    this.bytes = 0;
    const line = this.i;
    const at = this.starts[line]! + this.indents[line]!;
    // A document is a mapping (the depth check is block()'s, for the root).
    if (this.isDash(at, this.ends[line]!) || this.limits.maxDepth <= 1) throw GIVE_UP;
    const root = this.mapping(at, 0);
    if (this.nextIndent() !== -1) throw GIVE_UP;
    take(root, index, this.pos(line, at));
  }

  /** The node starting on the current line, at its indentation. */
  private block(depth: number): N {
    if (depth >= this.limits.maxDepth - 1) throw GIVE_UP;
    const line = this.i;
    const at = this.starts[line]! + this.indents[line]!;
    if (this.isDash(at, this.ends[line]!)) return this.sequence(depth, false);
    return this.mapping(at, depth);
  }

  /** A block mapping whose first key starts at `at` on the current line. */
  private mapping(at: number, depth: number): M {
    const text = this.text;
    const indent = at - this.starts[this.i]!;
    const map = this.newMap(this.i, at);
    const seen = this.seen(depth);
    for (;;) {
      const line = this.i;
      const end = this.ends[line]!;
      const colon = this.keyEnd(at, end);
      const key = this.key(at, colon, seen);
      let v = colon + 1;
      while (v < end && text.charCodeAt(v) === 32) v++;
      let value: N;
      // Where the value's content ends, found once: inline reads a plain scalar up to it.
      const stop = this.contentEnd(v, end);
      if (stop === v) {
        this.i++;
        const next = this.nextIndent();
        if (next > indent) value = this.block(depth + 1);
        else if (next === indent && this.isDash(this.starts[this.i]! + next, this.ends[this.i]!))
          value = this.sequence(depth + 1, true);
        else value = this.scalarAt(null, line, at);
      } else {
        value = this.inline(line, v, end, stop, depth + 1);
        this.i++;
      }
      this.setKey(map, key, line, at, value);
      const next = this.nextIndent();
      if (next < indent) break;
      // Also after a value on the key's line: a multi-line scalar, or bad indentation.
      if (next > indent) throw GIVE_UP;
      at = this.starts[this.i]! + indent;
      if (this.isDash(at, this.ends[this.i]!)) throw GIVE_UP;
    }
    return map;
  }

  private seen(depth: number): SeenKeys {
    return (this.seenAt[depth] ??= new SeenKeys()).clear();
  }

  /** The plain key from `at` to its `:`: a string in the core schema, not `seen` in its mapping. */
  private key(at: number, colon: number, seen: SeenKeys): string {
    const key = sharedSlice(this.text, at, colon);
    if (typeof plainScalarValue(key) !== 'string') throw GIVE_UP;
    if (!seen.add(key)) throw GIVE_UP;
    this.addBytes(key.length);
    return key;
  }

  /** Offset of the `:` ending a plain key at `at`; gives up on any other key. */
  private keyEnd(at: number, end: number): number {
    const text = this.text;
    if (!isKeyStart(text.charCodeAt(at))) throw GIVE_UP;
    let c = at + 1;
    for (; c < end; c++) {
      const ch = text.charCodeAt(c);
      if (!isKeyStart(ch) && ch !== 45 && ch !== 46 && ch !== 47) break; // - . /
    }
    if (text.charCodeAt(c) !== 58 /* : */) throw GIVE_UP;
    if (c + 1 < end && text.charCodeAt(c + 1) !== 32) throw GIVE_UP;
    return c;
  }

  /** A block sequence of `- ` lines at the current line's indentation. */
  private sequence(depth: number, compact: boolean): S {
    const text = this.text;
    const line0 = this.i;
    const indent = this.indents[line0]!;
    const at0 = this.starts[line0]! + indent;
    const items = (this.itemsAt[depth] ??= []);
    let n = 0;
    for (;;) {
      const line = this.i;
      const end = this.ends[line]!;
      let c = this.starts[line]! + indent + 1;
      while (c < end && text.charCodeAt(c) === 32) c++;
      const stop = this.contentEnd(c, end);
      if (stop === c) {
        this.i++;
        if (this.nextIndent() > indent) items[n++] = this.block(depth + 1);
        else items[n++] = this.scalarAt(null, line0, at0);
      } else if (this.isDash(c, end)) {
        throw GIVE_UP; // `- - x`
      } else if (this.looksLikeKey(c, stop)) {
        items[n++] = this.mapping(c, depth + 1);
      } else {
        items[n++] = this.inline(line, c, end, stop, depth + 1);
        this.i++;
        if (this.nextIndent() > indent) throw GIVE_UP;
      }
      const next = this.nextIndent();
      if (next < indent) break;
      if (next > indent) throw GIVE_UP;
      if (!this.isDash(this.starts[this.i]! + indent, this.ends[this.i]!)) {
        if (compact) break; // the next key of the mapping this sequence is a value of
        throw GIVE_UP;
      }
    }
    return this.newSeq(line0, at0, items.slice(0, n));
  }

  /**
   * A value written on the line after its key or dash: a scalar or a one-line flow sequence.
   * `stop`: where the line's content ends (contentEnd), a plain scalar's end.
   */
  private inline(line: number, at: number, end: number, stop: number, depth: number): N {
    const text = this.text;
    const ch = text.charCodeAt(at);
    if (ch === 34 /* " */ || ch === 39 /* ' */) {
      const value = this.quoted(at, end);
      const next = this.next;
      if (this.contentEnd(next, end) !== next || (next < end && text.charCodeAt(next) !== 32))
        throw GIVE_UP;
      return this.scalarAt(value, line, at);
    }
    if (ch === 91 /* [ */) return this.flowSequence(line, at, end, depth);
    if (ch === 123 /* { */) return this.flowMapping(line, at, end, depth);
    return this.plain(line, at, stop, false);
  }

  private plain(line: number, at: number, stop: number, inFlow: boolean): N {
    const text = this.text;
    const ch = text.charCodeAt(at);
    // Indicators that start something other than a plain scalar (or that YAML reserves).
    if (
      (ch < 128 && PLAIN_NEVER_STARTS[ch] === 1) ||
      (ch === 45 && (at + 1 === stop || text.charCodeAt(at + 1) === 32))
    )
      throw GIVE_UP;
    if (ch >= 48 && ch <= 57 && stop - at <= 9) {
      // Up to nine digits alone (a count, a concurrency): the integer plainScalarValue reads,
      // read here without a string or a regular expression (140,000 in a 100,000-object load),
      // in 32 bits, so a small integer as Number() makes it, not a boxed double.
      let n = 0;
      let c = at;
      for (; c < stop; c++) {
        const digit = text.charCodeAt(c) - 48;
        if (digit < 0 || digit > 9) break;
        n = (n * 10 + digit) | 0;
      }
      if (c === stop) {
        this.addBytes(stop - at);
        return this.scalarAt(n, line, at);
      }
    }
    const raw = sharedSlice(text, at, stop);
    // `a:b` is a plain scalar in a block (`gs://bucket`); `a: b` or `a:` would be a key.
    if (inFlow ? this.hasFlowIndicator(at, stop) : this.hasKeyColon(at, stop)) throw GIVE_UP;
    this.addBytes(raw.length);
    const value = plainScalarValue(raw);
    if (value === undefined) throw GIVE_UP;
    return this.scalarAt(value, line, at);
  }

  /** `"text"` without escapes, or `'text'` with `''`; on one line. `next`: just past it. */
  private quoted(at: number, end: number): string {
    const text = this.text;
    const quote = text.charCodeAt(at);
    if (quote === 34) {
      const close = text.indexOf('"', at + 1);
      if (close === -1 || close >= end) throw GIVE_UP;
      const value = sharedSlice(text, at + 1, close);
      if (value.includes('\\')) throw GIVE_UP;
      this.addBytes(value.length);
      this.next = close + 1;
      return value;
    }
    let value = '';
    let c = at + 1;
    for (;;) {
      const close = text.indexOf("'", c);
      if (close === -1 || close >= end) throw GIVE_UP;
      value += text.slice(c, close);
      if (text.charCodeAt(close + 1) === 39) {
        value += "'";
        c = close + 2;
        continue;
      }
      this.addBytes(value.length);
      this.next = close + 1;
      return flatSlice(value, 0, value.length);
    }
  }

  /** `{a: b, c: "d"}` on one line: plain keys, scalar values. */
  private flowMapping(line: number, at: number, end: number, depth: number): M {
    const text = this.text;
    const map = this.newMap(line, at);
    const seen = this.seen(depth);
    for (let c = this.flowOpen(at, end, depth, 125 /* } */); c !== -1;) {
      const colon = this.keyEnd(c, end);
      if (text.charCodeAt(colon + 1) !== 32) throw GIVE_UP; // `{a:b}`, `{a:}`
      const key = this.key(c, colon, seen);
      let v = colon + 1;
      while (v < end && text.charCodeAt(v) === 32) v++;
      this.setKey(map, key, line, c, this.flowScalar(line, v, end, 125));
      c = this.flowNext(this.next, end, 125);
    }
    return map;
  }

  /** `[a, "b", 'c']` on one line, of scalars only. */
  private flowSequence(line: number, at: number, end: number, depth: number): S {
    const items = (this.itemsAt[depth] ??= []);
    let n = 0;
    for (let c = this.flowOpen(at, end, depth, 93 /* ] */); c !== -1;) {
      items[n++] = this.flowScalar(line, c, end, 93);
      c = this.flowNext(this.next, end, 93);
    }
    return this.newSeq(line, at, items.slice(0, n));
  }

  /** A scalar inside a flow collection, up to its `,` or `closer` (`]` or `}`): `next`. */
  private flowScalar(line: number, c: number, end: number, closer: number): N {
    const text = this.text;
    const ch = text.charCodeAt(c);
    if (ch === 34 || ch === 39) return this.scalarAt(this.quoted(c, end), line, c);
    let stop = c;
    while (stop < end && text.charCodeAt(stop) !== 44 && text.charCodeAt(stop) !== closer) stop++;
    let last = stop;
    while (last > c && text.charCodeAt(last - 1) === 32) last--;
    if (last === c) throw GIVE_UP; // an empty entry: `[a,,b]`, `[a,]`, `{a: }`
    this.next = stop;
    return this.plain(line, c, last, true);
  }

  /**
   * The one-line flow collection whose opener is at `at`, closed by `closer` (`]` or `}`):
   * where its first entry starts, or -1 when it is empty (`[]`).
   */
  private flowOpen(at: number, end: number, depth: number, closer: number): number {
    if (depth >= this.limits.maxDepth - 1) throw GIVE_UP;
    const c = this.skipSpaces(at + 1, end);
    if (this.text.charCodeAt(c) !== closer) return c;
    this.flowClosed(c + 1, end);
    return -1;
  }

  /** After an entry ending at `c`: where the next entry starts, or -1 after the closer. */
  private flowNext(c: number, end: number, closer: number): number {
    c = this.skipSpaces(c, end);
    const sep = this.text.charCodeAt(c++);
    if (sep === closer) {
      this.flowClosed(c, end);
      return -1;
    }
    if (sep !== 44 /* , */) throw GIVE_UP;
    return this.skipSpaces(c, end);
  }

  /** After a flow collection's closer at `c - 1`: nothing but a comment. */
  private flowClosed(c: number, end: number): void {
    const text = this.text;
    if (this.contentEnd(c, end) !== c || (c < end && text.charCodeAt(c) !== 32)) throw GIVE_UP;
  }

  private skipSpaces(c: number, end: number): number {
    while (c < end && this.text.charCodeAt(c) === 32) c++;
    return c;
  }
}

class TreeParser extends SimpleReader<YNode, YMap, YSeq> {
  protected scalarAt(value: Scalar, line: number, offset: number): YScalar {
    return { kind: 'scalar', value, pos: this.pos(line, offset) };
  }
  protected newMap(line: number, offset: number): YMap {
    return { kind: 'map', entries: [], pos: this.pos(line, offset) };
  }
  protected setKey(map: YMap, key: string, line: number, offset: number, value: YNode): void {
    // A map and its first key, a key and its empty value start at one place: one Position
    // kept, not two (29,000 fewer objects in a daemon holding 10,000 objects' trees).
    const first = map.entries.length === 0 ? map.pos : null;
    map.entries.push({ key, keyPos: this.posAt(line, offset, first, value.pos), value });
  }
  protected newSeq(line: number, offset: number, items: YNode[]): YSeq {
    return { kind: 'seq', items, pos: this.pos(line, offset) };
  }
}

/** The plain-value mode (issue 35): values as toPlain makes them, no node, no Position. */
type PlainValue = Scalar | PlainMap | PlainValue[];
type PlainMap = { [key: string]: PlainValue };

/**
 * Each document to `take` as soon as read; their count, or null when the full parser must read
 * the file (documents already taken stay so).
 */
export function parseSimplePlain(
  text: string,
  limits: Readonly<InputLimits>,
  take: (root: PlainMap, index: number, pos: Position) => void,
): number | null {
  return inSubset(text, (source) => new PlainParser(source, limits).documents(take));
}

class PlainParser extends SimpleReader<PlainValue, PlainMap, PlainValue[]> {
  protected scalarAt(value: Scalar): PlainValue {
    return value;
  }
  protected newMap(): PlainMap {
    return {};
  }
  protected setKey(map: PlainMap, key: string, _line: number, _at: number, value: PlainValue) {
    setPlain(map, key, value);
  }
  protected newSeq(_line: number, _offset: number, items: PlainValue[]): PlainValue[] {
    return items;
  }
}
