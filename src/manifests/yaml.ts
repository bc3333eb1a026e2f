/**
 * YAML with positions. js-yaml 5's `parseEvents` gives source offsets and `eventsToAst`
 * resolves tags; AST nodes carry no offsets, so both are walked in lockstep (the AST is a
 * pre-order image of the event stream) to give every node its line and column.
 */
import {
  CORE_SCHEMA,
  EVENT_ID,
  SCALAR_STYLE,
  YAMLException,
  eventsToAst,
  parseEvents,
  type Event,
  type Node,
} from 'js-yaml';
import { LIMITS } from './limits.js';

export interface Position {
  /** 1-based. */
  line: number;
  /** 1-based. */
  column: number;
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
  /** Non-empty documents that were read without issues. */
  documents: YDocument[];
  /** Non-empty documents, with or without issues. */
  documentCount: number;
  issues: YamlIssue[];
  /** Nodes added by alias expansion, for the folder-wide budget. */
  aliasExpansion: number;
}

/** Maps source offsets to 1-based line/column. */
export class LineIndex {
  private readonly starts: number[] = [0];
  constructor(text: string) {
    for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1))
      this.starts.push(i + 1);
  }
  at(offset: number): Position {
    let lo = 0;
    let hi = this.starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.starts[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, column: offset - this.starts[lo]! + 1 };
  }
}

const CORE = 'tag:yaml.org,2002:';

/** Parses every document of one file. Never throws for bad input. */
export function parseYamlFile(text: string): ParsedFile {
  const source = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const lines = new LineIndex(source);
  let events: Event[];
  let docs: ReturnType<typeof eventsToAst>;
  try {
    events = parseEvents(source, { maxDepth: LIMITS.maxDepth });
    docs = eventsToAst(events, { source, schema: CORE_SCHEMA });
  } catch (err) {
    return { documents: [], documentCount: 0, issues: [parserIssue(err)], aliasExpansion: 0 };
  }
  const result: ParsedFile = { documents: [], documentCount: 0, issues: [], aliasExpansion: 0 };
  const cursor = { i: 0 };
  docs.forEach((doc, index) => {
    // DOCUMENT event, content events, POP.
    cursor.i++;
    const builder = new DocumentBuilder(events, cursor, (o) => lines.at(o));
    const contents = doc.contents;
    let root: YNode | null = null;
    if (contents !== null) root = builder.build(contents, { line: 1, column: 1 }).node;
    cursor.i++;
    if (root === null || (root.kind === 'scalar' && root.value === null)) return; // empty document
    result.documentCount++;
    // A document with issues is dropped unexpanded, so only kept ones use the folder budget.
    if (builder.issues.length > 0) result.issues.push(...builder.issues);
    else {
      result.aliasExpansion += builder.aliasExpansion;
      result.documents.push({ root, index });
    }
  });
  return result;
}

function parserIssue(err: unknown): YamlIssue {
  if (err instanceof YAMLException) {
    const line = (err.mark?.line ?? 0) + 1;
    const column = (err.mark?.column ?? 0) + 1;
    if (/maxDepth/.test(err.reason)) {
      return {
        code: 'LIMIT',
        message: `collections nested deeper than ${LIMITS.maxDepth} levels; manifests need far fewer`,
        line,
        column,
      };
    }
    return { code: 'YAML', message: `YAML syntax error: ${err.reason}`, line, column };
  }
  // js-yaml documents that any exception may escape; keep it structured.
  return { code: 'YAML', message: `YAML could not be read: ${String(err)}`, line: 1, column: 1 };
}

interface Built {
  node: YNode;
  /** Nodes in the subtree, aliases expanded. */
  size: number;
}

class DocumentBuilder {
  readonly issues: YamlIssue[] = [];
  aliasExpansion = 0;
  private readonly anchors = new Map<string, Built>();

  constructor(
    private readonly events: Event[],
    private readonly cursor: { i: number },
    private readonly position: (offset: number) => Position,
  ) {}

  private issue(message: string, pos: Position, code: YamlIssue['code'] = 'YAML'): void {
    this.issues.push({ code, message, line: pos.line, column: pos.column });
  }

  /** `fallback` is where a node without source text (an empty value) is reported: its key. */
  build(ast: Node, fallback: Position): Built {
    const ev = this.events[this.cursor.i++]!;
    let built: Built;
    switch (ast.kind) {
      case 'alias':
        built = this.alias(ast.anchor, ev, fallback);
        break;
      case 'scalar':
        built = this.scalar(ast.value, ast.tag, ast.tagged, ev, fallback);
        break;
      case 'sequence': {
        const pos = this.collectionPos(ev, fallback);
        this.checkCollectionTag(ast.tag, ast.tagged, 'seq', pos);
        const items: YNode[] = [];
        let size = 1;
        for (const item of ast.items) {
          const b = this.build(item, pos);
          items.push(b.node);
          size += b.size;
        }
        this.cursor.i++; // POP
        built = { node: { kind: 'seq', items, pos }, size };
        break;
      }
      case 'mapping': {
        const pos = this.collectionPos(ev, fallback);
        this.checkCollectionTag(ast.tag, ast.tagged, 'map', pos);
        const entries: YMapEntry[] = [];
        const seen = new Map<string, Position>();
        let size = 1;
        for (const item of ast.items) {
          const k = this.build(item.key, pos);
          const keyPos = k.node.pos;
          const v = this.build(item.value, keyPos);
          size += k.size + v.size;
          if (k.node.kind !== 'scalar' || item.key.kind !== 'scalar') {
            this.issue('mapping keys must be plain strings', keyPos);
            continue;
          }
          const key = item.key.value;
          if (key === '<<' && item.key.style === SCALAR_STYLE.PLAIN) {
            this.issue('merge keys (<<) are not supported: write the fields out', keyPos);
            continue;
          }
          const first = seen.get(key);
          if (first) {
            this.issue(
              `duplicate key '${key}' (first at line ${first.line}, column ${first.column})`,
              keyPos,
            );
            continue;
          }
          seen.set(key, keyPos);
          entries.push({ key, keyPos, value: v.node });
        }
        this.cursor.i++; // POP
        built = { node: { kind: 'map', entries, pos }, size };
        break;
      }
    }
    if (ast.kind !== 'alias' && ast.anchor !== undefined) this.anchors.set(ast.anchor, built);
    return built;
  }

  private alias(anchor: string, ev: Event, fallback: Position): Built {
    const pos =
      ev.type === EVENT_ID.ALIAS ? this.position(Math.max(0, ev.anchorStart - 1)) : fallback;
    const target = this.anchors.get(anchor);
    if (!target) {
      this.issue(`alias *${anchor} names no anchor defined before it`, pos);
      return { node: { kind: 'scalar', value: null, pos }, size: 1 };
    }
    const before = this.aliasExpansion;
    this.aliasExpansion += target.size;
    if (before <= LIMITS.maxAliasExpansion && this.aliasExpansion > LIMITS.maxAliasExpansion) {
      this.issue(
        `aliases expand to more than ${LIMITS.maxAliasExpansion} nodes in this document (alias bomb?)`,
        pos,
        'LIMIT',
      );
    }
    return target;
  }

  private collectionPos(ev: Event, fallback: Position): Position {
    if ((ev.type === EVENT_ID.MAPPING || ev.type === EVENT_ID.SEQUENCE) && ev.start >= 0) {
      return this.position(ev.start);
    }
    return fallback;
  }

  private checkCollectionTag(
    tag: string,
    tagged: boolean,
    kind: 'seq' | 'map',
    pos: Position,
  ): void {
    if (!tagged) return;
    const t = normalizeTag(tag);
    if (t !== CORE + kind && t !== '!') this.issue(`unsupported tag ${tag}`, pos);
  }

  private scalar(text: string, tag: string, tagged: boolean, ev: Event, fallback: Position): Built {
    let pos = fallback;
    if (ev.type === EVENT_ID.SCALAR) {
      const quoted =
        ev.style === SCALAR_STYLE.SINGLE_QUOTED || ev.style === SCALAR_STYLE.DOUBLE_QUOTED;
      if (ev.valueStart >= 0) pos = this.position(quoted ? ev.valueStart - 1 : ev.valueStart);
      else if (ev.tagStart >= 0) pos = this.position(ev.tagStart);
      else if (ev.anchorStart >= 0) pos = this.position(ev.anchorStart - 1);
    }
    const resolvedTag = tagged ? normalizeTag(tag) : tag;
    if (tagged && resolvedTag === '!')
      return { node: { kind: 'scalar', value: text, pos }, size: 1 };
    const value = resolveScalar(text, resolvedTag);
    if (value === UNRESOLVED) {
      this.issue(
        resolvedTag.startsWith(CORE) && tagged
          ? `'${text}' is not a valid ${tag}`
          : `unsupported tag ${tag}: manifests use plain strings, numbers and booleans`,
        pos,
      );
      return { node: { kind: 'scalar', value: text, pos }, size: 1 };
    }
    return { node: { kind: 'scalar', value, pos }, size: 1 };
  }
}

function normalizeTag(tag: string): string {
  if (tag.startsWith('!!')) return CORE + tag.slice(2);
  if (tag.startsWith('!<') && tag.endsWith('>')) return tag.slice(2, -1);
  return tag;
}

const UNRESOLVED = Symbol('unresolved');

/** YAML 1.2 core schema scalars (the tags CORE_SCHEMA resolves implicitly). */
function resolveScalar(text: string, tag: string): Scalar | typeof UNRESOLVED {
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
      if (/^[-+]?[0-9]+$/.test(text)) return Number(text);
      if (/^0o[0-7]+$/.test(text)) return parseInt(text.slice(2), 8);
      if (/^0x[0-9a-fA-F]+$/.test(text)) return parseInt(text.slice(2), 16);
      return UNRESOLVED;
    case CORE + 'float':
      if (/^[-+]?\.(inf|Inf|INF)$/.test(text)) return text.startsWith('-') ? -Infinity : Infinity;
      if (/^\.(nan|NaN|NAN)$/.test(text)) return NaN;
      if (/^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$/.test(text)) return Number(text);
      return UNRESOLVED;
    default:
      return UNRESOLVED;
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
      for (const e of node.entries) {
        // Plain assignment keeps objects fast; only __proto__ needs defineProperty to stay data.
        if (e.key === '__proto__') {
          Object.defineProperty(out, e.key, {
            value: toPlain(e.value),
            enumerable: true,
            writable: true,
            configurable: true,
          });
        } else out[e.key] = toPlain(e.value);
      }
      return out;
    }
  }
}

/** The entry for `key` in a mapping node, if any. */
export function entry(node: YNode | undefined, key: string): YMapEntry | undefined {
  if (!node || node.kind !== 'map') return undefined;
  return node.entries.find((e) => e.key === key);
}
