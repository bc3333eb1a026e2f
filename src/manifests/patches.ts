/**
 * An environment's patches (docs/environments.md): documents naming an object of the
 * environment's folders by `kind` and `metadata.name`, merged into that object's document as a
 * JSON merge patch (RFC 7386: maps merge key by key, `null` removes a field, anything else
 * replaces it, lists whole), before the document is read. The merge is on the YAML trees, and
 * every node a patch brings keeps its position with its own file (`Position.file`), so an
 * invalid patched value is reported at its line in the patch, not in the base.
 */
import { readManifestText } from './files.js';
import type { InputLimits } from './limits.js';
import type { ValidationError } from './types.js';
import { entry, parseYamlFile, type Position, type YMap, type YNode } from './yaml.js';

export interface Patch {
  file: string;
  root: YMap;
  /** Where the patch names its object (`metadata.name`), for "patches nothing". */
  at: Position;
}

export interface PatchSet {
  /** `Kind/name` → the patch of that object. */
  byAddress: Map<string, Patch>;
  errors: ValidationError[];
  /** The patch files' text, part of what a load depends on. */
  texts: string[];
}

/** The `Kind/name` a document names, or null when it names none. */
export function documentAddress(root: YNode): string | null {
  const kind = entry(root, 'kind')?.value;
  const name = entry(entry(root, 'metadata')?.value, 'name')?.value;
  if (kind?.kind !== 'scalar' || name?.kind !== 'scalar') return null;
  if (typeof kind.value !== 'string' || name.value === null) return null;
  return `${kind.value}/${String(name.value)}`;
}

/** The patches of one environment, read from its patch files. */
export async function readPatches(
  dir: string,
  files: readonly string[],
  limits: Readonly<InputLimits>,
): Promise<PatchSet> {
  const set: PatchSet = { byAddress: new Map(), errors: [], texts: [] };
  const error = (file: string, pos: Position, message: string, address: string | null = null) =>
    set.errors.push({
      code: 'SCHEMA',
      message,
      file,
      line: pos.line,
      column: pos.column,
      address,
    });
  for (const file of files) {
    const read = await readManifestText(dir, file, limits);
    if (!read.ok) {
      set.errors.push(read.error);
      continue;
    }
    set.texts.push(read.text);
    const parsed = parseYamlFile(read.text, limits);
    for (const i of parsed.issues)
      set.errors.push({ ...i, file, address: null } as ValidationError);
    for (const doc of parsed.documents) {
      const root = doc.root;
      const address = documentAddress(root);
      if (root.kind !== 'map' || address === null) {
        error(
          file,
          root.pos,
          'a patch names the object it changes: a mapping with kind and metadata.name, and the fields to merge into it',
        );
        continue;
      }
      const at = entry(entry(root, 'metadata')?.value, 'name')!.value.pos;
      const first = set.byAddress.get(address);
      if (first) {
        error(
          file,
          at,
          `${address} is patched twice in this environment: also at ${first.file}:${first.at.line}:${first.at.column}; merge the two patches`,
          address,
        );
        continue;
      }
      set.byAddress.set(address, { file, root, at });
    }
  }
  return set;
}

/** `base` with `patch` merged in (RFC 7386); nodes from the patch carry `file`. */
export function mergePatch(base: YNode, patch: YNode, file: string): YNode {
  if (patch.kind !== 'map' || base.kind !== 'map') return fromPatch(patch, file);
  const entries = [...base.entries];
  for (const e of patch.entries) {
    const i = entries.findIndex((b) => b.key === e.key);
    const removes = e.value.kind === 'scalar' && e.value.value === null;
    if (i < 0) {
      if (!removes)
        entries.push({
          key: e.key,
          keyPos: { ...e.keyPos, file },
          value: fromPatch(e.value, file),
        });
    } else if (removes) entries.splice(i, 1);
    else entries[i] = { ...entries[i]!, value: mergePatch(entries[i]!.value, e.value, file) };
  }
  return { kind: 'map', entries, pos: base.pos };
}

/** A copy of a patch's node whose every position names the patch file. */
function fromPatch(node: YNode, file: string): YNode {
  const pos = { ...node.pos, file };
  switch (node.kind) {
    case 'scalar':
      return { ...node, pos };
    case 'seq':
      return { kind: 'seq', items: node.items.map((n) => fromPatch(n, file)), pos };
    case 'map':
      return {
        kind: 'map',
        entries: node.entries
          .filter((e) => !(e.value.kind === 'scalar' && e.value.value === null))
          .map((e) => ({
            key: e.key,
            keyPos: { ...e.keyPos, file },
            value: fromPatch(e.value, file),
          })),
        pos,
      };
  }
}
