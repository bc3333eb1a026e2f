/** Where a field of a manifest is (`file:line:column`), from the parts of its tree it keeps. */
import { entry, type Position, type YMap, type YMapEntry, type YNode } from './yaml.js';

/**
 * The parts of a document's tree that `positionOf` is asked about (rules.ts): `metadata.name`
 * and anything under `spec`. A manifest keeps only these, so a loaded (and cached) folder does
 * not hold every node of every document. A rule that needs a position elsewhere adds its path
 * here; the cache test (test/manifests/cache.test.ts) compares every error of the invalid
 * corpus with a cold run.
 */
const POSITION_PATHS: Record<string, true | Record<string, true>> = {
  metadata: { name: true },
  spec: true,
};

/** `root` cut down to POSITION_PATHS (positions of every kept node unchanged). */
export function positionTree(root: YMap): YMap {
  return pruneMap(root, POSITION_PATHS);
}

function pruneMap(node: YMap, keep: Record<string, unknown>): YMap {
  const entries: YMapEntry[] = [];
  for (const e of node.entries) {
    const k = keep[e.key];
    if (k === undefined) continue;
    if (k === true || e.value.kind !== 'map') entries.push(e);
    else
      entries.push({
        key: e.key,
        keyPos: e.keyPos,
        value: pruneMap(e.value, k as Record<string, unknown>),
      });
  }
  return { kind: 'map', entries, pos: node.pos };
}

/** Position of a field (`spec.pool`), else of its nearest present ancestor's key. */
export function positionOf(root: YMap, ...path: (string | number)[]): Position {
  let node: YNode = root;
  let pos = root.pos;
  for (const seg of path) {
    if (typeof seg === 'number') {
      if (node.kind !== 'seq' || !node.items[seg]) return pos;
      node = node.items[seg]!;
      pos = node.pos;
    } else {
      const e = entry(node, seg);
      if (!e) return pos;
      node = e.value;
      pos = e.value.pos;
    }
  }
  return pos;
}
