/**
 * YAML with positions. js-yaml 5's `parseEvents` gives a pre-order event stream with
 * source offsets; the tree is built straight from it, resolving tags the way js-yaml's
 * `eventsToAst` does (raw tag as written, else the core schema's implicit tag for plain
 * scalars), without building js-yaml's own AST first: on large folders that AST was a
 * fifth of the parse time.
 */
import {
  CORE_SCHEMA,
  EVENT_ID,
  SCALAR_STYLE,
  getScalarValue,
  parseEvents,
  type Event,
  type ScalarEvent,
} from '../util/js-yaml.js';
import { LIMITS, formatBytes, type InputLimits } from './limits.js';
import { parserIssue } from './yaml-errors.js';
import { parseSimpleYaml } from './yaml-simple.js';
import {
  INDEX_FROM,
  LineIndex,
  type ParsedFile,
  type Position,
  type YMapEntry,
  type YNode,
  type YScalar,
  type YamlIssue,
} from './yaml-tree.js';

import {
  CORE,
  OUT_OF_RANGE,
  SCALAR_TAGS,
  UNRESOLVED,
  clip,
  normalizeTag,
  outOfRange,
  plainScalarValue,
  resolveScalar,
} from './yaml-scalars.js';

export * from './yaml-tree.js';
export { plainScalarValue } from './yaml-scalars.js';

/**
 * Parses every document of one file. Never throws for bad input. Files in the subset of
 * YAML that manifests use take the fast path (yaml-simple.ts); the rest, and every file with
 * an error, the full parser.
 */
export function parseYamlFile(text: string, limits: Readonly<InputLimits> = LIMITS): ParsedFile {
  const source = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  return parseSimpleYaml(source, limits, plainScalarValue) ?? parseYamlFull(text, limits);
}

/** parseYamlFile without the fast path (the tests compare the two). */
export function parseYamlFull(text: string, limits: Readonly<InputLimits> = LIMITS): ParsedFile {
  const source = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const lines = new LineIndex(source);
  let events: Event[];
  try {
    events = parseEvents(source, { maxDepth: limits.maxDepth });
  } catch (err) {
    return failed(parserIssue(err, source, lines, limits));
  }
  try {
    return buildDocuments(source, events, lines, limits);
  } catch (err) {
    return failed(parserIssue(err, source, lines, limits));
  }
}

function failed(issue: YamlIssue): ParsedFile {
  return { documents: [], documentCount: 0, issues: [issue], aliasExpansion: 0, aliasBytes: 0 };
}

function buildDocuments(
  source: string,
  events: Event[],
  lines: LineIndex,
  limits: Readonly<InputLimits>,
): ParsedFile {
  const result: ParsedFile = {
    documents: [],
    documentCount: 0,
    issues: [],
    aliasExpansion: 0,
    aliasBytes: 0,
  };
  const cursor = { i: 0 };
  for (let index = 0; cursor.i < events.length; index++) {
    // DOCUMENT event, at most one root node, POP.
    cursor.i++;
    const builder = new DocumentBuilder(source, events, cursor, lines, limits);
    let root: YNode | null = null;
    if (events[cursor.i]!.type !== EVENT_ID.POP) root = builder.build({ line: 1, column: 1 });
    cursor.i++;
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
}

interface Anchored {
  node: YNode;
  /** Nodes in the subtree, aliases expanded. */
  size: number;
  /** Scalar text in the subtree, aliases expanded. */
  bytes: number;
}

const NO_RANGE = -1;

class DocumentBuilder {
  readonly issues: YamlIssue[] = [];
  aliasExpansion = 0;
  /** Scalar text added by aliases (folder budget). */
  aliasBytes = 0;
  /** Nodes built so far, aliases expanded: a subtree's size is the difference. */
  private nodes = 0;
  /** Scalar text so far, aliases expanded (LIMITS.maxDocumentBytes): a subtree's is the difference. */
  private bytes = 0;
  /** One LIMIT per document: past the first, the document is refused anyway. */
  private limitReported = false;
  private readonly anchors = new Map<string, Anchored>();

  constructor(
    private readonly source: string,
    private readonly events: Event[],
    private readonly cursor: { i: number },
    private readonly lines: LineIndex,
    private readonly limits: Readonly<InputLimits>,
  ) {}

  /**
   * Counts expanded text. Over the limit the document is an error at the node that crossed
   * it (an alias, usually), before any later stage (fingerprint, plan JSON) expands it.
   */
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

  /** `fallback` is where a node without source text (an empty value) is reported: its key. */
  build(fallback: Position): YNode {
    const ev = this.events[this.cursor.i++]!;
    const before = this.nodes;
    const bytesBefore = this.bytes;
    let node: YNode;
    switch (ev.type) {
      case EVENT_ID.ALIAS:
        return this.alias(this.source.slice(ev.anchorStart, ev.anchorEnd), ev, fallback);
      case EVENT_ID.SCALAR:
        this.nodes++;
        node = this.scalar(ev, fallback);
        break;
      case EVENT_ID.SEQUENCE: {
        this.nodes++;
        const pos = this.collectionPos(ev.start, fallback);
        this.checkCollectionTag(ev, 'seq', pos);
        const items: YNode[] = [];
        while (this.events[this.cursor.i]!.type !== EVENT_ID.POP) items.push(this.build(pos));
        this.cursor.i++; // POP
        node = { kind: 'seq', items, pos };
        break;
      }
      case EVENT_ID.MAPPING: {
        this.nodes++;
        const pos = this.collectionPos(ev.start, fallback);
        this.checkCollectionTag(ev, 'map', pos);
        node = { kind: 'map', entries: this.entries(pos), pos };
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
      const keyPos = k.pos;
      // As eventsToAst, whose error the caller reports like a syntax error.
      if (this.events[this.cursor.i]!.type === EVENT_ID.POP)
        throw new Error('incomplete mapping pair in event stream');
      const v = this.build(keyPos);
      // An alias as key names a node, not a plain string (js-yaml's AST kind 'alias').
      if (k.kind !== 'scalar' || keyEvent.type !== EVENT_ID.SCALAR) {
        this.issue('mapping keys must be plain strings', keyPos);
        continue;
      }
      const key = getScalarValue(this.source, keyEvent);
      if (typeof k.value !== 'string') {
        // `1:`, `true:`, `null:` are numbers, booleans and null in YAML 1.2, not names.
        this.issue(
          `mapping keys must be strings: ${key === '' ? 'an empty key' : `'${key}'`} is ${k.value === null ? 'null' : `a ${typeof k.value}`}; quote it ("${key}") if you mean the text`,
          keyPos,
        );
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
        this.issue(
          `duplicate key '${key}' (first at line ${first.keyPos.line}, column ${first.keyPos.column})`,
          keyPos,
        );
        continue;
      }
      const added = { key, keyPos, value: v };
      entries.push(added);
      seen?.set(key, added);
    }
    this.cursor.i++; // POP
    return entries;
  }

  private alias(anchor: string, ev: Event, fallback: Position): YNode {
    const pos =
      ev.type === EVENT_ID.ALIAS ? this.lines.at(Math.max(0, ev.anchorStart - 1)) : fallback;
    const target = this.anchors.get(anchor);
    if (!target) {
      this.nodes++;
      this.issue(`alias *${anchor} names no anchor defined before it`, pos);
      return { kind: 'scalar', value: null, pos };
    }
    this.nodes += target.size;
    const before = this.aliasExpansion;
    this.aliasExpansion += target.size;
    const max = this.limits.maxAliasExpansion;
    if (before <= max && this.aliasExpansion > max && !this.limitReported) {
      this.limitReported = true;
      this.issue(
        `aliases expand to more than ${max} nodes in this document (alias bomb?)`,
        pos,
        'LIMIT',
      );
    }
    this.addBytes(target.bytes, pos, true);
    return target.node;
  }

  private collectionPos(start: number, fallback: Position): Position {
    return start >= 0 ? this.lines.at(start) : fallback;
  }

  private rawTag(ev: { tagStart: number; tagEnd: number }): string {
    return ev.tagStart === NO_RANGE ? '' : this.source.slice(ev.tagStart, ev.tagEnd);
  }

  private checkCollectionTag(
    ev: { tagStart: number; tagEnd: number },
    kind: 'seq' | 'map',
    pos: Position,
  ): void {
    const tag = this.rawTag(ev);
    if (tag === '') return;
    const t = normalizeTag(tag);
    if (t !== CORE + kind && t !== '!') this.issue(`unsupported tag ${tag}`, pos);
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
    if (value === OUT_OF_RANGE) {
      this.issue(outOfRange(text), pos);
      return { kind: 'scalar', value: text, pos };
    }
    if (value === UNRESOLVED) {
      this.issue(
        tagged && SCALAR_TAGS.has(resolvedTag)
          ? `'${clip(text)}' is not a valid ${tag}`
          : `unsupported tag ${tag}: manifests use plain strings, numbers and booleans (tags ${[...SCALAR_TAGS].map((t) => '!!' + t.slice(CORE.length)).join(', ')})`,
        pos,
      );
      return { kind: 'scalar', value: text, pos };
    }
    return { kind: 'scalar', value, pos };
  }
}
