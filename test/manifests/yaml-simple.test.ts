/**
 * The fast path (src/manifests/yaml-simple.ts) must build exactly the tree the full parser
 * builds (values, positions, document indexes) or give up: on every YAML file of this
 * repository, on generated organisations, and on thousands of mutations of them.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { generateScaleModel, rng } from '../../bench/lib/scale.js';
import { renderRepository } from '../../bench/lib/yaml-writer.js';
import { LIMITS } from '../../src/manifests/limits.js';
import { parseSimpleYaml } from '../../src/manifests/yaml-simple.js';
import { parseSimplePlain } from '../../src/manifests/yaml-simple.js';
import { parseYamlFull, toPlain } from '../../src/manifests/yaml.js';

const ROOT = join(import.meta.dirname, '..', '..');

function yamlFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, e.name);
    if (e.isDirectory()) {
      if (!['node_modules', '.git', 'dist', '.poolsync'].includes(e.name))
        out.push(...yamlFiles(path));
    } else if (/\.ya?ml$/.test(e.name)) out.push(path);
  }
  return out;
}

const simple = (text: string) => parseSimpleYaml(text, LIMITS);

/** The plain-value mode's documents (yaml-simple.ts parseSimplePlain), or null when it gave up. */
function plain(text: string) {
  const docs: { root: unknown; index: number; pos: unknown }[] = [];
  const count = parseSimplePlain(text, LIMITS, (root, index, pos) =>
    docs.push({ root, index, pos }),
  );
  return count === null ? null : { docs, count };
}

/**
 * Null when the fast path gave up; otherwise it must equal the full parser's result. Its
 * plain-value mode gives up on the same texts and otherwise gives toPlain of each tree.
 */
function agree(text: string): boolean | null {
  const fast = simple(text);
  const values = plain(text);
  if (fast === null) {
    expect(values, JSON.stringify(text)).toBeNull();
    return null;
  }
  expect(fast).toStrictEqual(parseYamlFull(text));
  expect(values).toStrictEqual({
    docs: fast.documents.map((d) => ({ root: toPlain(d.root), index: d.index, pos: d.root.pos })),
    count: fast.documentCount,
  });
  return true;
}

describe('fast YAML path', () => {
  it('agrees with the full parser on every YAML file of the repository', () => {
    const files = [...yamlFiles(join(ROOT, 'test')), ...yamlFiles(join(ROOT, 'examples'))];
    expect(files.length).toBeGreaterThan(100);
    let taken = 0;
    for (const file of files) if (agree(readFileSync(file, 'utf8'))) taken++;
    // Most fixtures are in the subset; the ones that are not are YAML errors and oddities.
    expect(taken).toBeGreaterThan(files.length * 0.8);
  });

  it('reads every file of the example repository and of generated organisations', () => {
    for (const file of yamlFiles(join(ROOT, 'examples', 'config-repo')))
      expect(agree(readFileSync(file, 'utf8')), file).toBe(true);
    for (const seed of [1, 2, 3]) {
      for (const [file, text] of renderRepository(generateScaleModel(2000, seed)))
        expect(agree(text), file).toBe(true);
    }
  });

  it('resolves scalars and keys that start with a digit or a letter as the full parser does', () => {
    // Its shortcuts (digits alone are an int; a digit then a character no number has is a
    // string; a key starting with a letter other than n, t, f is a string) against js-yaml.
    const words = [
      ...['0', '7', '007', '100', '123456789012345', '1234567890123456', '9007199254740993'],
      ...['0x1f', '0o17', '0b101', '1e3', '1E3', '1.5', '1.', '1_000', '12:30', '1-2', '1+2'],
      ...['123abc', '1.2.3', '1e', '0xZ', '123456789012.dkr.ecr.us-east-1.amazonaws.com/x'],
      ...['e1', 'f', 'n', 't', 'x', 'Null', 'NULL', 'nULL', 'tRUE', 'True', 'FALSE', 'nope', 'yes'],
    ];
    let taken = 0;
    for (const w of words) {
      if (agree(`a: ${w}\nb: [${w}, x]\n`)) taken++;
      agree(`${w}: x\n`);
      agree(`m:\n  ${w}: 1\n  c: {${w}: ${w}}\n`);
    }
    expect(taken).toBeGreaterThan(words.length * 0.8);
  });

  it('gives up on what it does not read, leaving it (and its errors) to the full parser', () => {
    const outside = [
      'a:\tb\n', // tab
      'a: 1\r\nb: 2\r\n', // CRLF
      'a: &x 1\nb: *x\n', // anchors
      'a: !!str 1\n', // tags
      'a: |\n  text\n', // block scalar
      'a: >\n  text\n',
      'a: one\n  two\n', // multi-line plain scalar
      'a: "one\n  two"\n',
      'a: b: c\n',
      'a: x:\n',
      '? a\n: b\n',
      'a: 1\na: 2\n', // duplicate key
      '1: x\n', // non-string key
      'true: x\n',
      '<<: {a: 1}\n',
      '"a": 1\n', // quoted key
      'a: "x\\ty"\n', // escapes
      'a: [b, [c]]\n', // nested flow
      'a: [b,]\n',
      'a: {b: {c: 1}}\n',
      'a: 😀\n', // surrogates
      '--- a: 1\n',
      '%YAML 1.2\n---\na: 1\n',
      'a: 1\n...\n',
      '- a\n- b\n', // root sequence
      'just text\n', // root scalar
      'a:\n  - - b\n',
      'a:\n b: 1\n  c: 2\n', // bad indentation
      'a:\n  b\n',
      'a: @x\n',
      'a: `x\n',
    ];
    for (const text of outside) expect(agree(text), JSON.stringify(text)).toBeNull();
  });

  it('a mapping of 70,000 keys (issue 38, item 7): read as the full parser reads it; a duplicate key anywhere still gives up', () => {
    // Keys were checked for duplicates by scanning the mapping's entries: n² (15 s at
    // 70,000 keys). The bench row "validate one mapping of 70,000 keys vs 7,000" measures it.
    const keys = Array.from({ length: 70_000 }, (_, i) => `    k${i}: v`);
    const doc = (lines: string[]) =>
      `apiVersion: poolsync/v1\nkind: ClusterPool\nmetadata:\n  name: wide\n  annotations:\n${lines.join('\n')}\nspec: {}\n`;
    expect(agree(doc(keys))).toBe(true);
    expect(agree(doc([...keys, '    k69999: again']))).toBeNull();
    expect(agree(doc([keys[0]!, ...keys]))).toBeNull();
    expect(agree('a: {x: 1, y: 2, x: 3}\n')).toBeNull();
  });

  it('reads the constructs manifests use, positions included; the plain mode their values', () => {
    const inside = [
      "a: 1\nb: two # comment\nc: \"three\" # c\nd: 'it''s'\ne:\nf: ~\n",
      '# head\n---\nkind: Queue\nspec:\n  clusters:\n  - a\n  - b\n  pool: p\n---\n---\n# only a comment\n---\nx: 1\n',
      'spec:\n  items:\n    - name: a\n      n: 1\n    -   name: b\n    -\n      name: c\n    - plain\n    -\n',
      'a: [x, "y", \'z\', 1, true, null]\nb: []\nc: {}\nd: {k: v, n: 2, q: "s"}\n',
      'url: gs://bucket/path\ntime: 12:30\nneg: -1\nhex: 0x1F\noct: 0o17\nf: 1.5e3\ninf: -.inf\nnan: .NaN\nt: True\n',
      '  indented: 1\n  doc: 2\n',
      'a:\n  b:\n    c:\n      d: deep\n  e: back\nf: top\n',
      "key-with.dots/and_slash: v\n'': x\n",
      'a: value#not-a-comment\nb: "x" #c\n',
    ];
    expect(plain('__proto__: {a: 1}\nb: [1]\n')?.docs[0]?.root).toStrictEqual(
      toPlain(parseYamlFull('__proto__: {a: 1}\nb: [1]\n').documents[0]!.root),
    );
    for (const text of inside) {
      if (text.includes("'': x")) {
        expect(agree(text)).toBeNull(); // an empty quoted key: outside the subset
        continue;
      }
      expect(agree(text), JSON.stringify(text)).toBe(true);
    }
  });

  it('agrees with the full parser on 4,000 mutations of real files', () => {
    const random = rng(20261122);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
    const bases = [
      ...yamlFiles(join(ROOT, 'examples', 'config-repo')).map((f) => readFileSync(f, 'utf8')),
      ...[...renderRepository(generateScaleModel(300, 9)).values()].map((t) => t.slice(0, 1500)),
    ];
    const pieces = [
      ' ',
      '  ',
      ':',
      ': ',
      '-',
      '- ',
      '#',
      ' #',
      '"',
      "'",
      '[',
      ']',
      '{',
      '}',
      ',',
      '\n',
      '\n  ',
      'a',
      '0',
      '.',
      '~',
      '&a ',
      '*a',
      '!',
      '|',
      '>',
      '?',
      '@',
      '---\n',
      'true',
      '1e3',
      '0x1F',
      '.inf',
      'null',
      "'a''b'",
      '""',
      '-1',
      '+1',
      '0o7',
      '1_000',
      '2001-01-01',
      'yes',
      '\t',
      '\r',
      'é',
      '😀',
      '\\',
    ];
    let taken = 0;
    let gaveUp = 0;
    for (let n = 0; n < 4000; n++) {
      let text = pick(bases);
      for (let edits = 1 + Math.floor(random() * 3); edits > 0; edits--) {
        const at = Math.floor(random() * (text.length + 1));
        const op = random();
        if (op < 0.5) text = text.slice(0, at) + pick(pieces) + text.slice(at);
        else if (op < 0.8) text = text.slice(0, at) + text.slice(at + 1 + Math.floor(random() * 3));
        else {
          const lines = text.split('\n');
          const i = Math.floor(random() * lines.length);
          lines.splice(i, 0, lines[Math.floor(random() * lines.length)]!);
          text = lines.join('\n');
        }
      }
      if (agree(text)) taken++;
      else gaveUp++;
    }
    // Both outcomes must be exercised for the comparison to mean something.
    expect(taken).toBeGreaterThan(1000);
    expect(gaveUp).toBeGreaterThan(500);
  });
});

describe('positions kept by the tree', () => {
  it('shares one Position where a map, its first key and an empty value start at one place', () => {
    const file = simple('a: 1\nb:\nc:\n  - d: x\n    e: y\n')!;
    const root = file.documents[0]!.root;
    if (root.kind !== 'map') throw new Error('not a map');
    const [a, b] = root.entries;
    expect(a!.keyPos).toBe(root.pos);
    expect(b!.keyPos).toBe(b!.value.pos);
    expect(b!.keyPos).toEqual({ line: 2, column: 1 });
    const seq = root.entries[2]!.value;
    const item = seq.kind === 'seq' ? seq.items[0] : undefined;
    if (item?.kind !== 'map') throw new Error('not a list of maps');
    expect(item.entries[0]!.keyPos).toBe(item.pos);
    expect(item.entries[0]!.keyPos).toEqual({ line: 4, column: 5 });
    // Different places keep different objects.
    expect(item.entries[1]!.keyPos).not.toBe(item.pos);
    expect(item.entries[1]!.keyPos).toEqual({ line: 5, column: 5 });
    expect(a!.value.pos).toEqual({ line: 1, column: 4 });
  });
});
