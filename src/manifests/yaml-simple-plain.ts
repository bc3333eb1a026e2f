/**
 * The fast path's plain-value mode (issue 35): the values of each document as toPlain would
 * make them from the tree, without the tree. No node and no Position object is made, only the
 * values and each document's start; a one-shot load (analysePlain) reads a file this way and
 * parses it again, with positions, only when one of its documents has an error to locate.
 * Same subset and same GIVE_UP as the tree (yaml-simple.ts): it is the same parser.
 */
import type { InputLimits } from './limits.js';
import { inSubset } from './yaml-simple-lines.js';
import { SimpleReader, type PlainResolver } from './yaml-simple.js';
import type { Position, Scalar } from './yaml-tree.js';

export type PlainValue = Scalar | PlainMap | PlainValue[];
export type PlainMap = { [key: string]: PlainValue };

/** One document read as plain values: its root mapping, index and first key's position. */
export type TakePlain = (root: PlainMap, index: number, pos: Position) => void;

/**
 * Reads `source` (BOM removed), each document going to `take` as soon as read; the number of
 * documents, or null when the full parser must read the file (documents already taken stay so).
 */
export function parseSimplePlain(
  source: string,
  limits: Readonly<InputLimits>,
  resolvePlain: PlainResolver,
  take: TakePlain,
): number | null {
  return inSubset(() => new PlainParser(source, limits, resolvePlain).all(take), source);
}

class PlainParser extends SimpleReader<PlainValue, PlainMap, PlainValue[]> {
  all(take: TakePlain): number {
    return this.documents(take);
  }
  protected scalarAt(value: Scalar): PlainValue {
    return value;
  }
  protected newMap(): PlainMap {
    return {};
  }
  protected setKey(map: PlainMap, key: string, _line: number, _at: number, value: PlainValue) {
    // Plain assignment keeps objects fast; only __proto__ needs defineProperty to stay data.
    if (key === '__proto__')
      Object.defineProperty(map, key, {
        value,
        enumerable: true,
        writable: true,
        configurable: true,
      });
    else map[key] = value;
  }
  protected newSeq(): PlainValue[] {
    return [];
  }
  protected pushItem(seq: PlainValue[], item: PlainValue): void {
    seq.push(item);
  }
}
