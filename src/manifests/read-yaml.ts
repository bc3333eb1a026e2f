/**
 * A file's documents read one at a time (issue 25): each document is turned into what the
 * caller keeps (`read(doc)`) as soon as it is parsed, so its tree dies young. Whole files'
 * trees (~14 bytes of heap per byte of YAML) used to live long enough to be promoted to V8's
 * old generation and pile up there as garbage: most of the peak memory of a 100,000-object
 * load.
 */
import type { InputLimits } from './limits.js';
import { parseYamlFull, plainScalarValue, type ParsedFile, type YDocument } from './yaml.js';
import { parseSimpleYaml } from './yaml-simple.js';

export function readYamlFile<R>(
  text: string,
  limits: Readonly<InputLimits>,
  read: (doc: YDocument) => R,
): { file: ParsedFile; results: R[] } {
  const source = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  let results: R[] = [];
  const simple = parseSimpleYaml(source, limits, plainScalarValue, (doc) =>
    results.push(read(doc)),
  );
  if (simple) return { file: simple, results };
  // The fast path gave up part-way: what it read is read again by the full parser.
  const file = parseYamlFull(text, limits);
  results = file.documents.map(read);
  return { file, results };
}
