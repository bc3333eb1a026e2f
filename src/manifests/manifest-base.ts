/**
 * What every typed manifest has (its name, annotations, source and root node) and whether a
 * field of a partial one (a document that failed its schema) can be read.
 */
import type { Annotations, SourceLocation } from '../model/desired.js';
import type { YMap } from './yaml.js';

export interface ManifestBase {
  name: string;
  annotations: Annotations;
  source: SourceLocation;
  /** The document's root mapping, to find the position of any field. */
  root: YMap;
  /**
   * Empty for a document that passed its schema. For one that did not, the JSON pointers
   * of the fields at fault: the manifest is partial, its values there are placeholders, and
   * the rules skip every check that reads them (see `usable`).
   */
  faults: readonly string[];
  /** `<Kind>/<name>` (assignments: the key), as the document's schema errors give it. */
  address: string | null;
}

/**
 * True when the field at `pointer` (`/spec/pool`) is well-formed: no schema error at it,
 * inside it, or at an ancestor (a `spec` that is not a mapping hides all its fields).
 */
export function usable(m: Pick<ManifestBase, 'faults'>, pointer: string): boolean {
  return m.faults.length === 0 || isUsable(m.faults, pointer);
}

/** Like `usable`, but errors inside the field (one bad list item) do not count. */
export function intact(m: Pick<ManifestBase, 'faults'>, pointer: string): boolean {
  return m.faults.length === 0 || isIntact(m.faults, pointer);
}

export function isUsable(faults: readonly string[], pointer: string): boolean {
  return faults.every(
    (f) => f !== pointer && !f.startsWith(pointer + '/') && !pointer.startsWith(f + '/'),
  );
}

export function isIntact(faults: readonly string[], pointer: string): boolean {
  return faults.every((f) => f !== pointer && !pointer.startsWith(f + '/'));
}
