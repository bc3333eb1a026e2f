/**
 * YAML with positions: the tree a file is read into, and the full parser (the fast path is
 * yaml-simple.ts). The tree is built straight from js-yaml 5's `parseEvents` stream, resolving
 * tags as its `eventsToAst` does, without js-yaml's own AST (a fifth of the parse time).
 */
import {
  CORE_SCHEMA,
  EVENT_ID,
  SCALAR_STYLE,
  YAMLException,
  getScalarValue,
  parseEvents,
  type Event,
  type ScalarEvent,
} from '../util/js-yaml.js';
import { LIMITS, formatBytes, type InputLimits } from './limits.js';

/** 1-based; `file` when the node is not from the document's own file (a patch's: mergePatch). */
export interface Position {
  line: number;
  column: number;
  file?: string;
}

export type Scalar = string | number | boolean | null;

export interface YScalar {
  kind: 'scalar';
  value: Scalar;
  pos: Position;
}
export interface YSeq {
  kind: 'seq';
  items: YNode[];
  pos: Position;
}
export interface YMapEntry {
  key: string;
  keyPos: Position;
  value: YNode;
}
export interface YMap {
  kind: 'map';
  entries: YMapEntry[];
  pos: Position;
}
export type YNode = YScalar | YSeq | YMap;

export interface YDocument {
  root: YNode;
  /** 0-based index of the document in its file (empty documents included). */
  index: number;
}

export interface YamlIssue {
  code: 'YAML' | 'LIMIT';
  message: string;
  line: number;
  column: number;
}

export interface ParsedFile {
  /** Non-empty documents read without issues. */
  documents: YDocument[];
  /** Non-empty documents, with or without issues. */
  documentCount: number;
  issues: YamlIssue[];
  /** Nodes and scalar text added by alias expansion, for the folder-wide budget. */
  aliasExpansion: number;
  aliasBytes: number;
}

export class LineIndex {
  private readonly starts: number[] = [0];
  /** Line of the last lookup: events come in source order, so the next is on it or near. */
  private last = 0;
  constructor(text: string) {
    for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1))
      this.starts.push(i + 1);
  }
  at(offset: number): Position {
    const starts = this.starts;
    let l = this.last;
    for (let n = 0; n < 4 && l + 1 < starts.length && starts[l + 1]! <= offset; n++) l++;
    if (starts[l]! > offset || (l + 1 < starts.length && starts[l + 1]! <= offset)) {
      let hi = starts.length - 1;
      for (l = 0; l < hi;) {
        const mid = (l + hi + 1) >> 1;
        if (starts[mid]! <= offset) l = mid;
        else hi = mid - 1;
      }
    }
    this.last = l;
    return { line: l + 1, column: offset - starts[l]! + 1 };
  }
}

/** Plain JSON-like value of a node (aliases already expanded by sharing). */
export function toPlain(node: YNode): unknown {
  switch (node.kind) {
    case 'scalar':
      return node.value;
    case 'seq':
      return node.items.map(toPlain);
    case 'map': {
      const out: Record<string, unknown> = {};
      for (const e of node.entries) setPlain(out, e.key, toPlain(e.value));
      return out;
    }
  }
}

/** `map[key] = value`: plain assignment keeps objects fast; `__proto__` stays data. */
export function setPlain(map: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__')
    Object.defineProperty(map, key, {
      value,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  else map[key] = value;
}

/** Mappings above this size get a key index: a scan per lookup is quadratic on hostile input. */
export const INDEX_FROM = 32;
const keyIndexes = new WeakMap<YMap, Map<string, YMapEntry>>();

export function entry(node: YNode | undefined, key: string): YMapEntry | undefined {
  if (!node || node.kind !== 'map') return undefined;
  if (node.entries.length <= INDEX_FROM) return node.entries.find((e) => e.key === key);
  let index = keyIndexes.get(node);
  if (!index) {
    index = new Map(node.entries.map((e) => [e.key, e]));
    keyIndexes.set(node, index);
  }
  return index.get(key);
}

/** parseYamlFile (yaml-simple.ts) without the fast path (the tests compare the two). */
export function parseYamlFull(text: string, limits: Readonly<InputLimits> = LIMITS): ParsedFile {
  const unmarked = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  // A lone CR (old Mac line ends) is a line break in YAML, whose scalars read every break as
  // LF: replaced one for one, so every offset stays and positions count its lines.
  const source = unmarked.includes('\r') ? unmarked.replace(/\r(?!\n)/g, '\n') : unmarked;
  const lines = new LineIndex(source);
  const result: ParsedFile = {
    documents: [],
    documentCount: 0,
    issues: [],
    aliasExpansion: 0,
    aliasBytes: 0,
  };
  try {
    const events = parseEvents(source, { maxDepth: limits.maxDepth });
    const cursor = { i: 0 };
    // The anchors of the documents before, only to say so at an alias that names one.
    const earlier = new Map<string, EarlierAnchor>();
    for (let index = 0; cursor.i < events.length; index++) {
      // DOCUMENT event, at most one root node, POP.
      cursor.i++;
      const builder = new DocumentBuilder(source, events, cursor, lines, limits, earlier);
      let root: YNode | null = null;
      if (events[cursor.i]!.type !== EVENT_ID.POP) root = builder.build({ line: 1, column: 1 });
      cursor.i++;
      for (const [name, { line }] of builder.anchors)
        earlier.set(name, { document: index + 1, line });
      if (root === null || (root.kind === 'scalar' && root.value === null)) continue; // empty document
      result.documentCount++;
      // A document with issues is dropped unexpanded, so only kept ones use the folder budget.
      if (builder.issues.length > 0) result.issues.push(...builder.issues);
      else {
        result.aliasExpansion += builder.aliasExpansion;
        result.aliasBytes += builder.aliasBytes;
        result.documents.push({ root, index });
      }
    }
    return result;
  } catch (err) {
    const issues = [parserIssue(err, source, lines, limits)];
    return { documents: [], documentCount: 0, issues, aliasExpansion: 0, aliasBytes: 0 };
  }
}

interface Anchored {
  node: YNode;
  /** Nodes and scalar text in the subtree, aliases expanded. */
  size: number;
  bytes: number;
  /** Where its `&` is. */
  line: number;
}

/** An anchor of an earlier document of the file (numbered from 1), where it is defined. */
interface EarlierAnchor {
  document: number;
  line: number;
}

const NO_RANGE = -1;

class DocumentBuilder {
  readonly issues: YamlIssue[] = [];
  aliasExpansion = 0;
  aliasBytes = 0;
  /** Nodes and scalar text so far, aliases expanded: a subtree's is the difference. */
  private nodes = 0;
  private bytes = 0;
  /** One LIMIT per document: past the first, the document is refused anyway. */
  private limitReported = false;
  readonly anchors = new Map<string, Anchored>();

  constructor(
    private readonly source: string,
    private readonly events: Event[],
    private readonly cursor: { i: number },
    private readonly lines: LineIndex,
    private readonly limits: Readonly<InputLimits>,
    private readonly earlier: ReadonlyMap<string, EarlierAnchor>,
  ) {}

  /** Over the limit, an error at the node that crossed it, before any later stage expands it. */
  private addBytes(n: number, pos: Position, viaAlias: boolean): void {
    this.bytes += n;
    if (viaAlias) this.aliasBytes += n;
    if (this.limitReported || this.bytes <= this.limits.maxDocumentBytes) return;
    this.limitReported = true;
    this.issue(
      `this document expands to more than ${formatBytes(this.limits.maxDocumentBytes)} of text` +
        (viaAlias
          ? ' through its aliases (an alias repeats its anchor in full): write the value once, or raise limits.document_bytes in poolsync.yaml'
          : ': split it, or raise limits.document_bytes in poolsync.yaml'),
      pos,
      'LIMIT',
    );
  }

  private issue(message: string, pos: Position, code: YamlIssue['code'] = 'YAML'): void {
    this.issues.push({ code, message, line: pos.line, column: pos.column });
  }

  /** `fallback`: where a node without source text (an empty value) is, its key. */
  build(fallback: Position): YNode {
    const ev = this.events[this.cursor.i++]!;
    const before = this.nodes;
    const bytesBefore = this.bytes;
    let node: YNode;
    switch (ev.type) {
      case EVENT_ID.ALIAS:
        return this.alias(this.source.slice(ev.anchorStart, ev.anchorEnd), ev.anchorStart);
      case EVENT_ID.SCALAR:
        this.nodes++;
        node = this.scalar(ev, fallback);
        break;
      case EVENT_ID.SEQUENCE:
      case EVENT_ID.MAPPING: {
        this.nodes++;
        const pos = ev.start >= 0 ? this.lines.at(ev.start) : fallback;
        const kind = ev.type === EVENT_ID.SEQUENCE ? 'seq' : 'map';
        const tag = this.rawTag(ev);
        const t = normalizeTag(tag);
        if (tag !== '' && t !== CORE + kind && t !== '!') this.issue(`unsupported tag ${tag}`, pos);
        if (kind === 'map') node = { kind, entries: this.entries(pos), pos };
        else {
          const items: YNode[] = [];
          while (this.events[this.cursor.i]!.type !== EVENT_ID.POP) items.push(this.build(pos));
          this.cursor.i++; // POP
          node = { kind, items, pos };
        }
        break;
      }
      default:
        throw new Error(`bug: unexpected YAML event ${ev.type} inside a document`);
    }
    if (ev.anchorStart !== NO_RANGE) {
      this.anchors.set(this.source.slice(ev.anchorStart, ev.anchorEnd), {
        node,
        size: this.nodes - before,
        bytes: this.bytes - bytesBefore,
        line: this.lines.at(ev.anchorStart - 1).line,
      });
    }
    return node;
  }

  private entries(pos: Position): YMapEntry[] {
    const entries: YMapEntry[] = [];
    let seen: Map<string, YMapEntry> | undefined;
    while (this.events[this.cursor.i]!.type !== EVENT_ID.POP) {
      const keyEvent = this.events[this.cursor.i]!;
      const k = this.build(pos);
      // An alias key's node is its anchor's, elsewhere: the key is where the `*` is.
      const aliasKey = keyEvent.type === EVENT_ID.ALIAS;
      const keyPos = aliasKey ? this.lines.at(keyEvent.anchorStart - 1) : k.pos;
      // As eventsToAst, whose error the caller reports like a syntax error.
      if (this.events[this.cursor.i]!.type === EVENT_ID.POP)
        throw new Error('incomplete mapping pair in event stream');
      const v = this.build(keyPos);
      // An alias as key names a node, not a plain string (js-yaml's AST kind 'alias').
      if (aliasKey) {
        const alias = this.source.slice(keyEvent.anchorStart - 1, keyEvent.anchorEnd);
        this.issue(
          `mapping keys must be plain strings, not an alias (${alias}): write the key out`,
          keyPos,
        );
        continue;
      }
      if (k.kind !== 'scalar' || keyEvent.type !== EVENT_ID.SCALAR) {
        this.issue('mapping keys must be plain strings: write the key as a plain name', keyPos);
        continue;
      }
      const key = getScalarValue(this.source, keyEvent);
      if (typeof k.value !== 'string') {
        // `1:`, `true:`, `null:` are numbers, booleans and null in YAML 1.2, not names.
        const message = `mapping keys must be strings: ${key === '' ? 'an empty key' : `'${clip(key)}'`} is ${k.value === null ? 'null' : `a ${typeof k.value}`}; quote it ("${clip(key)}") if you mean the text`;
        this.issue(message, keyPos);
        continue;
      }
      if (key === '<<' && keyEvent.style === SCALAR_STYLE.PLAIN) {
        this.issue('merge keys (<<) are not supported: write the fields out', keyPos);
        continue;
      }
      // Manifests' mappings are small: a scan is cheaper than a Map per mapping, until a
      // hostile one has thousands of keys (then the scan would be quadratic).
      const first =
        entries.length < INDEX_FROM
          ? entries.find((e) => e.key === key)
          : (seen ??= new Map(entries.map((e) => [e.key, e]))).get(key);
      if (first) {
        const message = `duplicate key '${clip(key)}' (first at line ${first.keyPos.line}, column ${first.keyPos.column})`;
        this.issue(message, keyPos);
        continue;
      }
      const added = { key, keyPos, value: v };
      entries.push(added);
      seen?.set(key, added);
    }
    this.cursor.i++; // POP
    return entries;
  }

  /** The anchor's node again, at the `*` (just before `anchorStart`). */
  private alias(anchor: string, anchorStart: number): YNode {
    const pos = this.lines.at(Math.max(0, anchorStart - 1));
    const target = this.anchors.get(anchor);
    if (!target) {
      this.nodes++;
      const before = this.earlier.get(anchor);
      this.issue(
        before === undefined
          ? `alias *${anchor} names no anchor defined before it`
          : `alias *${anchor} names no anchor defined before it in this document: anchors do not carry across documents (---), and &${anchor} is defined in document ${before.document} at line ${before.line}; write the value here again, or anchor it in this document`,
        pos,
      );
      return { kind: 'scalar', value: null, pos };
    }
    this.nodes += target.size;
    const before = this.aliasExpansion;
    this.aliasExpansion += target.size;
    const max = this.limits.maxAliasExpansion;
    if (before <= max && this.aliasExpansion > max && !this.limitReported) {
      this.limitReported = true;
      const message = `aliases expand to more than ${max} nodes in this document (alias bomb?)`;
      this.issue(message, pos, 'LIMIT');
    }
    this.addBytes(target.bytes, pos, true);
    return target.node;
  }

  private rawTag(ev: { tagStart: number; tagEnd: number }): string {
    return ev.tagStart === NO_RANGE ? '' : this.source.slice(ev.tagStart, ev.tagEnd);
  }

  private scalar(ev: ScalarEvent, fallback: Position): YScalar {
    let pos = fallback;
    const quoted =
      ev.style === SCALAR_STYLE.SINGLE_QUOTED || ev.style === SCALAR_STYLE.DOUBLE_QUOTED;
    if (ev.valueStart >= 0) pos = this.lines.at(quoted ? ev.valueStart - 1 : ev.valueStart);
    else if (ev.tagStart >= 0) pos = this.lines.at(ev.tagStart);
    else if (ev.anchorStart >= 0) pos = this.lines.at(ev.anchorStart - 1);
    const text = getScalarValue(this.source, ev);
    this.addBytes(text.length, pos, false);
    const raw = this.rawTag(ev);
    const tagged = raw !== '';
    // As js-yaml's eventsToAst: the tag as written, else the core schema decides.
    const tag = tagged
      ? raw
      : ev.style === SCALAR_STYLE.PLAIN
        ? CORE_SCHEMA.resolveImplicitScalarTag(text).tag.tagName
        : CORE_SCHEMA.defaultScalarTag.tagName;
    const resolvedTag = tagged ? normalizeTag(tag) : tag;
    if (tagged && resolvedTag === '!') return { kind: 'scalar', value: text, pos };
    const value = resolveScalar(text, resolvedTag);
    if (value !== OUT_OF_RANGE && value !== UNRESOLVED) return { kind: 'scalar', value, pos };
    this.issue(
      value === OUT_OF_RANGE
        ? outOfRange(text)
        : tagged && SCALAR_TAGS.has(resolvedTag)
          ? `'${clip(text)}' is not a valid ${tag}`
          : `unsupported tag ${tag}: manifests use plain strings, numbers and booleans (tags ${[...SCALAR_TAGS].map((t) => '!!' + t.slice(CORE.length)).join(', ')})`,
      pos,
    );
    return { kind: 'scalar', value: text, pos };
  }
}

const CORE = 'tag:yaml.org,2002:';

function normalizeTag(tag: string): string {
  if (tag.startsWith('!!')) return CORE + tag.slice(2);
  if (tag.startsWith('!<') && tag.endsWith('>')) return tag.slice(2, -1);
  return tag;
}

const UNRESOLVED = Symbol('unresolved');
/** A number literal no double holds as written (1e-400 would read as 0, 1e400 as Infinity). */
const OUT_OF_RANGE = Symbol('out of range');

function outOfRange(text: string): string {
  return `the number ${clip(text)} cannot be stored as written (it would read as ${Number(text)}): whole numbers go up to ±9,007,199,254,740,991 and no exponent may underflow to 0; write the value you mean, or quote it if it is text`;
}

/** The core schema's words (null, bool): other plain scalars starting with a letter are strings. */
const LETTER_WORDS = new Map<string, Scalar>(
  [null, true, false].flatMap((v) => {
    const word = String(v);
    return [word, word[0]!.toUpperCase() + word.slice(1), word.toUpperCase()].map(
      (w): [string, Scalar] => [w, v],
    );
  }),
);

/** Up to 15 digits: the core schema's int, below 2^53 (resolveScalar's `Number(text)`). */
const SHORT_DIGITS = /^[0-9]{1,15}$/;
/** A character no core int (`0x1f`, `0o17`, `12`) or float (`1.5e-3`) is written with. */
const NOT_NUMERIC = /[^0-9a-fA-FoxX.+-]/;

/** What an untagged plain scalar is, as the full parser resolves it; undefined if it cannot. */
export function plainScalarValue(text: string): Scalar | undefined {
  const c = text.charCodeAt(0) | 0x20; // lower case of an ASCII letter
  if (c >= 97 && c <= 122) {
    // Only null, true and false (n, t, f) are not strings.
    if (c !== 110 && c !== 116 && c !== 102) return text;
    const word = LETTER_WORDS.get(text);
    return word === undefined ? text : word;
  }
  const first = text.charCodeAt(0);
  if (first >= 48 && first <= 57) {
    // Digits alone (a count, a concurrency) are an integer a double holds exactly; a digit
    // followed by any character no int or float has (`123456789012.dkr.ecr…`) is a string.
    if (SHORT_DIGITS.test(text)) return Number(text);
    if (NOT_NUMERIC.test(text)) return text;
  }
  const value = resolveScalar(text, CORE_SCHEMA.resolveImplicitScalarTag(text).tag.tagName);
  // The full parser reports what cannot be resolved, at its position.
  return value === UNRESOLVED || value === OUT_OF_RANGE ? undefined : value;
}

/** A key or value quoted in a message: one line's worth, never a whole hostile scalar. */
export function clip(text: string): string {
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/** The scalar tags of the YAML 1.2 core schema: any other (`!!binary`, `!!timestamp`) is unsupported. */
const SCALAR_TAGS: ReadonlySet<string> = new Set(
  ['str', 'int', 'float', 'bool', 'null'].map((t) => CORE + t),
);

/**
 * Scalars as the YAML 1.2 core schema resolves them (js-yaml's CORE_SCHEMA), refusing integers a
 * double would round.
 */
function resolveScalar(
  text: string,
  tag: string,
): Scalar | typeof UNRESOLVED | typeof OUT_OF_RANGE {
  switch (tag) {
    case CORE + 'str':
      return text;
    case CORE + 'null':
      return /^(~|null|Null|NULL|)$/.test(text) ? null : UNRESOLVED;
    case CORE + 'bool':
      if (/^(true|True|TRUE)$/.test(text)) return true;
      if (/^(false|False|FALSE)$/.test(text)) return false;
      return UNRESOLVED;
    case CORE + 'int':
      if (/^[-+]?[0-9]+$/.test(text)) return exactInteger(Number(text));
      if (/^0o[0-7]+$/.test(text)) return exactInteger(parseInt(text.slice(2), 8));
      if (/^0x[0-9a-fA-F]+$/.test(text)) return exactInteger(parseInt(text.slice(2), 16));
      return UNRESOLVED;
    case CORE + 'float':
      if (/^[-+]?\.(inf|Inf|INF)$/.test(text)) return text.startsWith('-') ? -Infinity : Infinity;
      if (/^\.(nan|NaN|NAN)$/.test(text)) return NaN;
      if (/^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$/.test(text)) {
        const n = Number(text);
        // Overflow to ±Infinity, or underflow to 0 of a mantissa that is not 0.
        if (!Number.isFinite(n)) return OUT_OF_RANGE;
        if (n === 0 && /[1-9]/.test(text.split(/[eE]/)[0]!)) return OUT_OF_RANGE;
        return n;
      }
      return UNRESOLVED;
    default:
      return UNRESOLVED;
  }
}

/** Integers beyond 2^53 are rounded by a double: refused, not silently changed. */
function exactInteger(n: number): number | typeof OUT_OF_RANGE {
  return Number.isSafeInteger(n) ? n : OUT_OF_RANGE;
}

/**
 * Reasons under which js-yaml may be reporting a quote or `[`/`{` never closed: it notices only
 * where it runs out of input or indentation, often lines later; the user needs where it opened.
 */
const RAN_OUT =
  /deficient indentation|unexpected end of the stream|end of the stream or a document separator/;

function parserIssue(
  err: unknown,
  source: string,
  lines: LineIndex,
  limits: Readonly<InputLimits>,
): YamlIssue {
  if (!(err instanceof YAMLException)) {
    // The engine's limits (string length, call stack) reached by a hostile file, or any exception
    // js-yaml documents may escape: kept structured.
    const message =
      err instanceof RangeError
        ? `file is too large or too deeply nested to read (over ${formatBytes(limits.maxDocumentBytes)} per document)`
        : `YAML could not be read: ${String(err)}`;
    return { code: err instanceof RangeError ? 'LIMIT' : 'YAML', message, line: 1, column: 1 };
  }
  const line = (err.mark?.line ?? 0) + 1;
  const column = (err.mark?.column ?? 0) + 1;
  if (/maxDepth/.test(err.reason)) {
    const message = `collections nested deeper than ${limits.maxDepth} levels; manifests need far fewer`;
    return { code: 'LIMIT', message, line, column };
  }
  const offset = err.mark?.position ?? -1;
  const open = offset >= 0 && RAN_OUT.test(err.reason) ? openAt(source, offset) : null;
  if (open !== null && open.length > 0) {
    // Closed further down, the construct ran out of indentation here, not of input.
    if (/deficient indentation/.test(err.reason) && !openAt(source).includes(open[0]!))
      return { code: 'YAML', message: underIndented(source, offset, open, lines), line, column };
    const { what, close } = DESCRIBE[source[open.at(-1)!] as keyof typeof DESCRIBE];
    const message = `syntax error: ${what} opened here is never closed (the parser gave up at line ${line}, column ${column}); add the closing ${close}`;
    return { code: 'YAML', message, ...lines.at(open.at(-1)!) };
  }
  const key = offset >= 0 ? keyWithoutColon(source, offset, err.reason) : null;
  if (key !== null) {
    const message = `syntax error: '${clip(key.text)}' is missing its ':' (key: value), so the parser read on and gave up at line ${line}, column ${column}`;
    return { code: 'YAML', message, ...lines.at(key.offset) };
  }
  // The code column already says YAML: the message starts with what went wrong.
  return { code: 'YAML', message: `syntax error: ${err.reason}`, line, column };
}

/**
 * Reasons under which js-yaml may be reporting a plain scalar that ran on over the next lines, a
 * key's ':' missing: it notices at the ':' that ends the run (or, for a key, at whatever follows
 * it, the end of the file included), often lines later.
 */
const RUN_ON_KEY = /multiline key may not be an implicit key/;
const RUN_ON_AT_COLON =
  /bad indentation of a mapping entry|end of the stream or a document separator is expected/;
/**
 * A mapping's key alone on its line with nothing after it but comments, blank lines, a less
 * indented line or the end of the document or file (its mapping's last key): js-yaml reports the
 * end of that line, or of the file when it has no final line break.
 */
const KEY_ALONE = /expected ':' after a mapping key/;

/**
 * Where the line before `end`'s ends, before its own comment, when `end` is its line's first
 * character and comments (that line's or whole lines) lie between; else -1.
 */
function keyBeforeComments(source: string, end: number): number {
  let start = source.lastIndexOf('\n', end - 1) + 1;
  if (source.slice(start, end).trim() !== '') return -1;
  let comments = false;
  while (start > 0) {
    const stop = start - 1;
    start = source.lastIndexOf('\n', stop - 1) + 1;
    const line = source.slice(start, stop);
    const hash = line.search(/(^|\s)#/);
    comments ||= hash >= 0;
    const text = hash < 0 ? line : line.slice(0, hash);
    if (text.trim() !== '') return comments ? start + text.length : -1;
  }
  return -1;
}

/**
 * Where the plain scalar that ends at the parser's position `end` starts, when that is on an
 * earlier line: the key written without its ':' (`ignore` over `  - drafts/**`); null when the
 * reason is another or the scalar starts on the parser's line (its position is then right).
 * Read back from `end` to the nearest line a plain scalar cannot run over (a ':' indicator, a
 * comment, a document marker); of the lines after it, the first one no later line is indented
 * less than (a scalar's next lines are indented at least as far as its first), unless they are
 * all indented past a `key: value` line's key: then they run on its value, and no key is missing.
 * A key alone on the parser's own line (KEY_ALONE) is that line's text before the parser's
 * position, when only a comment follows it there; a key whose value follows comments is read
 * back from before them.
 */
export function keyWithoutColon(
  source: string,
  end: number,
  reason: string,
): { offset: number; text: string } | null {
  if (KEY_ALONE.test(reason)) return keyAlone(source, end);
  const atColon = source[end] === ':';
  let last = end;
  if (!RUN_ON_KEY.test(reason) && !(atColon && RUN_ON_AT_COLON.test(reason))) {
    // A key alone on its line, comments, then its value: a comment ends a plain scalar, so
    // js-yaml finds the value a misplaced entry and reports its first character.
    last = /bad indentation of a mapping entry/.test(reason) ? keyBeforeComments(source, end) : -1;
    if (last < 0) return null;
  }
  // The scalar's end: at the ':', else before the comments or line breaks the parser read past.
  if (!atColon) while (last > 0 && /\s/.test(source[last - 1]!)) last--;
  const lineStart = (i: number) => (i <= 0 ? 0 : source.lastIndexOf('\n', i - 1) + 1);
  let first: number | null = null;
  let lessIndented = Infinity;
  let stop = last;
  for (let start = lineStart(last); ; start = lineStart(start - 1)) {
    const line = source.slice(start, stop).replace(/\r$/, '');
    if (/:(\s|$)|(^|\s)#|^(---|\.\.\.)(\s|$)/.test(line)) {
      // `key: value` over lines indented further: the value's own next lines, not a key.
      const keyIndent = /^\s*(-\s+)*/.exec(line)![0].length;
      if (/:\s+[^\s#]/.test(line) && lessIndented > keyIndent) return null;
      break;
    }
    const indent = line.length - line.trimStart().length;
    if (indent < line.length && indent <= lessIndented) {
      // A sequence entry's dash is not the key's.
      first = start + indent + /^(-\s+)*/.exec(line.slice(indent))![0].length;
      lessIndented = indent;
    }
    if (start === 0) break;
    stop = start - 1;
  }
  if (first === null || lineStart(first) === lineStart(end)) return null;
  const lineEnd = source.indexOf('\n', first);
  // Its first line, without a comment after the key.
  const text = source.slice(first, lineEnd < 0 ? last : Math.min(lineEnd, last)).trim();
  return { offset: first, text };
}

/** The key before `end` on its line (after a sequence entry's dash), if only a comment follows. */
function keyAlone(source: string, end: number): { offset: number; text: string } | null {
  const start = source.lastIndexOf('\n', end - 1) + 1;
  const lineEnd = source.indexOf('\n', end);
  const rest = source.slice(end, lineEnd < 0 ? source.length : lineEnd);
  if (!/^\s*(#[^\n]*)?$/.test(rest)) return null; // `"key" value`: the parser's position is right
  const before = source.slice(start, end);
  const first = start + /^\s*(-\s+)*/.exec(before)![0].length;
  const text = source.slice(first, end).trim();
  return text === '' ? null : { offset: first, text };
}

const DESCRIBE = {
  '"': { what: 'double-quoted string', close: '"' },
  "'": { what: 'single-quoted string', close: "'" },
  '[': { what: 'flow sequence', close: ']' },
  '{': { what: 'flow mapping', close: '}' },
} as const;

/**
 * Where each quote and flow collection still open at `end` (default: the end of the source)
 * opened, outermost first, by YAML's lexical rules (comments, block scalars, quotes only where a
 * scalar starts).
 */
function openAt(source: string, end = source.length): number[] {
  const flows: number[] = [];
  let quote: { char: '"' | "'"; offset: number } | null = null;
  let i = 0;
  let lineStart = 0;
  /** Inside a block scalar: lines indented more than this belong to it; -1 outside. */
  let blockIndent = -1;
  // The last non-blank character on the line, and the first of the last word (a tag `!x` or an
  // anchor `&a` may come before a scalar).
  let prev = '';
  let wordFirst = '';
  let inWord = false;
  const newLine = (at: number): void => {
    i = lineStart = at;
    prev = wordFirst = '';
    inWord = false;
  };
  const lineEnd = (from: number): number => {
    const nl = source.indexOf('\n', from);
    return nl === -1 ? source.length : nl;
  };
  const nextLine = (from: number): number => Math.min(source.length, lineEnd(from) + 1);
  const spaces = (from: number): number => {
    let n = 0;
    while (source[from + n] === ' ') n++;
    return n;
  };
  while (i < end && i < source.length) {
    const c = source[i]!;
    if (quote) {
      // An escape, a doubled single quote, the closing quote.
      const twice = quote.char === '"' ? c === '\\' : c === "'" && source[i + 1] === "'";
      if (twice) i += 2;
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
      // A line of the block scalar is skipped; the first that is not ends it.
      const indent = spaces(i);
      if (/[\r\n]/.test(source[i + indent] ?? '\n') || indent > blockIndent) {
        newLine(nextLine(i));
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
      newLine(nextLine(i));
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
      quote = { char: c, offset: i++ };
      continue;
    }
    if ((c === '[' || c === '{') && (flows.length > 0 || startsScalar)) flows.push(i);
    else if ((c === ']' || c === '}') && flows.length > 0) flows.pop();
    else if (
      (c === '|' || c === '>') &&
      flows.length === 0 &&
      startsScalar &&
      /^[|>][-+0-9]*\s*(#.*)?$/.test(source.slice(i, lineEnd(i)).replace(/\r$/, ''))
    ) {
      blockIndent = spaces(lineStart);
      newLine(nextLine(i));
      continue;
    }
    if (!inWord) wordFirst = c;
    inWord = true;
    prev = c;
    i++;
  }
  return quote ? [...flows, quote.offset] : flows;
}

/**
 * A line of the quote or flow collection open at `offset` (`open`: openAt's), closed further
 * down, that is not indented past the key or `-` its outermost one belongs to (YAML 1.2).
 */
function underIndented(source: string, offset: number, open: number[], lines: LineIndex): string {
  const inner = open.at(-1)!;
  const { what, close } = DESCRIBE[source[inner] as keyof typeof DESCRIBE];
  const { line, column } = lines.at(offset);
  const here =
    source[offset] === close
      ? `the closing ${close} at ${line}:${column}`
      : `line ${line}, inside the ${what} opened at ${at(lines.at(inner))},`;
  return `syntax error: ${here} must be indented more than ${ownerOf(source, open[0]!, lines)}: move it right`;
}

/** `line:column` */
function at({ line, column }: Position): string {
  return `${line}:${column}`;
}

/** The key (or the list entry's `-`) whose value opens at `offset`, as a message names it. */
function ownerOf(source: string, offset: number, lines: LineIndex): string {
  const start = source.lastIndexOf('\n', offset - 1) + 1;
  const [, lead, dashes, rest] = /^(\s*)((?:-\s+)*)(.*)$/.exec(source.slice(start, offset))!;
  const key = /^([^\s#].*?)\s*:\s/.exec(rest!)?.[1];
  if (key !== undefined)
    return `its key '${clip(key)}' at ${at(lines.at(start + lead!.length + dashes!.length))}`;
  if (dashes !== '' && rest === '')
    return `its list entry's - at ${at(lines.at(start + lead!.length + dashes!.trimEnd().lastIndexOf('-')))}`;
  return 'the key it is the value of';
}
