/**
 * The tree is built straight from js-yaml's event stream (src/manifests/yaml.ts), not from
 * js-yaml's AST: its values must be exactly what js-yaml itself loads, on a large
 * generated organisation and on fuzzed YAML, and it must never throw.
 */
import { CORE_SCHEMA, loadAll } from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { generateScaleModel } from '../../bench/lib/scale.js';
import { renderRepository } from '../../bench/lib/yaml-writer.js';
import { parseYamlFile } from '../../src/manifests/yaml-simple.js';
import { toPlain, type YNode } from '../../src/manifests/yaml.js';

/** js-yaml's own reading of the non-empty documents, or null when it rejects the text. */
function reference(text: string): unknown[] | null {
  try {
    return loadAll(text, { schema: CORE_SCHEMA }).filter((d) => d !== null && d !== undefined);
  } catch {
    return null;
  }
}

/**
 * Manifests keep a key as written (`0x1F:` is the key "0x1F"); js-yaml converts it to the
 * value it resolves to ("31"), so such documents are not compared.
 */
function keysAsWritten(node: YNode): boolean {
  if (node.kind === 'seq') return node.items.every(keysAsWritten);
  if (node.kind === 'scalar') return true;
  return node.entries.every(
    (e) =>
      CORE_SCHEMA.resolveImplicitScalarTag(e.key).tag.tagName === 'tag:yaml.org,2002:str' &&
      keysAsWritten(e.value),
  );
}

describe('YAML tree from parser events', () => {
  it('reads every document of a 3,000-object organisation as js-yaml loads it', () => {
    const files = renderRepository(generateScaleModel(3000, 5));
    let documents = 0;
    for (const [file, text] of files) {
      const parsed = parseYamlFile(text);
      expect(parsed.issues, file).toEqual([]);
      expect(
        parsed.documents.map((d) => toPlain(d.root)),
        file,
      ).toEqual(reference(text));
      documents += parsed.documents.length;
    }
    expect(documents).toBeGreaterThan(2500);
  });

  it('positions stay exact deep in a long file (line index lookups in source order)', () => {
    const text = Array.from(
      { length: 400 },
      (_, i) => `---\nkind: Queue\nmetadata:\n  name: q-${i}\nspec:\n  clusters: ["a", 'b']\n`,
    ).join('');
    const parsed = parseYamlFile(text);
    expect(parsed.documents).toHaveLength(400);
    const last = parsed.documents[399]!.root;
    if (last.kind !== 'map') throw new Error('expected a mapping');
    const spec = last.entries.find((e) => e.key === 'spec')!;
    expect(spec.keyPos).toEqual({ line: 399 * 6 + 5, column: 1 });
    if (spec.value.kind !== 'map') throw new Error('expected a mapping');
    const clusters = spec.value.entries[0]!.value;
    if (clusters.kind !== 'seq') throw new Error('expected a list');
    // Quoted scalars are placed at their opening quote.
    expect(clusters.items.map((n) => n.pos)).toEqual([
      { line: 399 * 6 + 6, column: 14 },
      { line: 399 * 6 + 6, column: 19 },
    ]);
  });

  it('fuzzed YAML never throws, and what it reads cleanly is what js-yaml loads', () => {
    const base = `a: &x {b: 1, c: [true, ~, 0x1F, .5, "s"]}\nd: *x\ne: !!str 12\nf: |\n  text\n---\n- 1\n- 'two'\n`;
    const pieces = [
      ':',
      '-',
      ' ',
      '\n',
      '&a ',
      '*a',
      '!!int ',
      '"',
      "'",
      '[',
      '{',
      '}',
      '<<',
      '#',
      '? ',
      '~',
      '0o7',
      '.inf',
    ];
    let seed = 7;
    const rnd = (n: number): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    let clean = 0;
    for (let k = 0; k < 1500; k++) {
      let text = base;
      for (let m = 0; m < 3; m++) {
        const at = rnd(text.length);
        text = text.slice(0, at) + pieces[rnd(pieces.length)]! + text.slice(at + rnd(2));
      }
      const parsed = parseYamlFile(text);
      if (parsed.issues.length > 0 || parsed.documents.length !== parsed.documentCount) continue;
      if (!parsed.documents.every((d) => keysAsWritten(d.root))) continue;
      const expected = reference(text);
      if (expected === null) continue; // e.g. a tag js-yaml constructs but manifests refuse
      clean++;
      expect(
        parsed.documents.map((d) => toPlain(d.root)),
        text,
      ).toEqual(expected);
    }
    expect(clean).toBeGreaterThan(100);
  });
});
