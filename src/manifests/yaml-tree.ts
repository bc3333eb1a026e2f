/**
 * The tree a YAML file is read into (yaml.ts, and the fast path of yaml-simple.ts): nodes with
 * their positions, the parsed file with its issues, and how the rules read the tree.
 */

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
  /** Non-empty documents that were read without issues. */
  documents: YDocument[];
  /** Non-empty documents, with or without issues. */
  documentCount: number;
  issues: YamlIssue[];
  /** Nodes added by alias expansion, for the folder-wide budget. */
  aliasExpansion: number;
  /** Scalar text added by alias expansion, for the folder-wide budget. */
  aliasBytes: number;
}

/** Maps source offsets to 1-based line/column. */
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
    if (starts[l]! <= offset) {
      // Forward a few lines from the last lookup before falling back to a binary search.
      for (let n = 0; n < 4 && l + 1 < starts.length && starts[l + 1]! <= offset; n++) l++;
      if (l + 1 === starts.length || starts[l + 1]! > offset) {
        this.last = l;
        return { line: l + 1, column: offset - starts[l]! + 1 };
      }
    }
    l = this.search(offset);
    this.last = l;
    return { line: l + 1, column: offset - starts[l]! + 1 };
  }
  private search(offset: number): number {
    let lo = 0;
    let hi = this.starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.starts[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lo;
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

/** The entry for `key` in a mapping node, if any. */
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
