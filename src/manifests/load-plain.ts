/**
 * A one-shot load's analysis of a file (issue 35): its documents read as plain values by the
 * fast path's plain mode (yaml-simple-plain.ts), with no tree, no Position object, no toPlain
 * and no position tree; each manifest's `root` is parsed again from the text only if a rule
 * asks for a position (lazy-roots.ts). A file that leaves the subset, or any of whose
 * documents has an error, is analysed again by analyseFile (load-files.ts analyseFileLean),
 * trees and positions included: every error comes from that one path, worded and located as
 * before.
 */
import type { FileAnalysis } from './analysis.js';
import { readPlainDocument, type DocumentResult } from './documents.js';
import { rootsOnDemand } from './lazy-roots.js';
import type { InputLimits } from './limits.js';
import { plainScalarValue } from './yaml-scalars.js';
import { parseSimplePlain } from './yaml-simple-plain.js';

/** The analysis from plain values, or null when the file must be read with its trees. */
export function analysePlain(
  file: string,
  text: string,
  limits: Readonly<InputLimits>,
  onRebuild?: () => void,
): FileAnalysis | null {
  const source = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const rootAt = rootsOnDemand(text, limits, onRebuild);
  const documents: DocumentResult[] = [];
  let clean = true;
  const count = parseSimplePlain(source, limits, plainScalarValue, (value, _index, pos) => {
    if (!clean) return;
    const read = readPlainDocument(file, value, rootAt(documents.length), pos);
    if (read === null) clean = false;
    else documents.push(read);
  });
  if (count === null || !clean) return null;
  return { issues: [], documentCount: count, aliasExpansion: 0, aliasBytes: 0, documents };
}
