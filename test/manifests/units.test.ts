/** Pure pieces: "did you mean", positions of the YAML layer, text/JSON reports. */
import { describe, expect, it } from 'vitest';
import { formatSummary, formatValidationText } from '../../src/manifests/report.js';
import { closest, editDistance } from '../../src/manifests/suggest.js';
import { parseYamlFile } from '../../src/manifests/yaml-simple.js';
import { LineIndex, toPlain } from '../../src/manifests/yaml.js';

describe('did you mean', () => {
  it('finds typos, case and separator slips', () => {
    expect(closest('action_concurency', ['run_concurrency', 'action_concurrency'])).toBe(
      'action_concurrency',
    );
    expect(closest('clusterpool', ['ClusterPool', 'Cluster'])).toBe('ClusterPool');
    expect(closest('run-concurrency', ['run_concurrency', 'depth'])).toBe('run_concurrency');
    expect(closest('prioirty', ['priority', 'pool'])).toBe('priority');
  });
  it('stays quiet when nothing is close', () => {
    expect(closest('high', ['min', 'medium', 'max'])).toBeNull();
    expect(closest('labels', ['name', 'annotations'])).toBeNull();
  });
  it('counts a transposition as one edit', () => {
    expect(editDistance('pool', 'pol')).toBe(1);
    expect(editDistance('ab', 'ba')).toBe(1);
  });
});

describe('YAML positions', () => {
  it('maps offsets to 1-based line and column', () => {
    const idx = new LineIndex('ab\ncd\n\nef');
    expect(idx.at(0)).toEqual({ line: 1, column: 1 });
    expect(idx.at(4)).toEqual({ line: 2, column: 2 });
    expect(idx.at(7)).toEqual({ line: 4, column: 1 });
  });

  it('gives scalars, quoted scalars, collections and empty values their own positions', () => {
    const { documents, issues } = parseYamlFile('a: 1\nb: "x"\nc:\n  - [y]\nd:\n');
    expect(issues).toEqual([]);
    const root = documents[0]!.root;
    if (root.kind !== 'map') throw new Error('map expected');
    const pos = Object.fromEntries(root.entries.map((e) => [e.key, e.value.pos]));
    expect(pos).toEqual({
      a: { line: 1, column: 4 },
      b: { line: 2, column: 4 }, // the opening quote
      c: { line: 4, column: 3 },
      d: { line: 5, column: 1 }, // no value: its key
    });
    expect(toPlain(root)).toEqual({ a: 1, b: 'x', c: [['y']], d: null });
  });

  it('resolves the YAML 1.2 core schema and standard explicit tags', () => {
    const { documents } = parseYamlFile(
      '[0x1F, 0o17, -3, 1.5e2, .inf, ~, true, yes, !!str 12, !!int "7", !!bool "false"]',
    );
    expect(toPlain(documents[0]!.root)).toEqual([
      31,
      15,
      -3,
      150,
      Infinity,
      null,
      true,
      'yes',
      '12',
      7,
      false,
    ]);
  });

  it('reports syntax errors at the parser position (1-based)', () => {
    const { issues } = parseYamlFile('a: 1\nb: [1, @x]\n');
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatchObject({ code: 'YAML', line: 2, column: 8 });
    expect(issues[0]!.message).toMatch(/^syntax error: /);
  });

  it('an unclosed flow sequence is reported where it opened, not where the parser gave up', () => {
    const { issues } = parseYamlFile('a: 1\nb: [1,\n');
    expect(issues).toEqual([
      {
        code: 'YAML',
        message:
          'syntax error: flow sequence opened here is never closed (the parser gave up at line 3, column 1); add the closing ]',
        line: 2,
        column: 4,
      },
    ]);
  });
});

describe('a key without its colon', () => {
  const at = (text: string) =>
    parseYamlFile(text).issues.map((i) => `${i.line}:${i.column} ${i.message}`);

  it('is reported at the key, not lines later where the parser gave up; nothing else moves', () => {
    expect(at('prune: false\nignore\n  - drafts/**\n')).toEqual([
      "2:1 syntax error: 'ignore' is missing its ':' (key: value), so the parser read on and gave up at line 4, column 1",
    ]);
    expect(at('spec:\n  pool prod\n  clusters: [a]\n')).toEqual([
      "2:3 syntax error: 'pool prod' is missing its ':' (key: value), so the parser read on and gave up at line 3, column 11",
    ]);
    // Past a value's own next lines, a block scalar's, a flow collection's; at a sequence entry's key.
    expect(at('a: foo\n  bar\nabsent\nignore: x\n')[0]).toMatch(/^3:1 syntax error: 'absent' /);
    expect(at('a: |\n  x\nignore\n  - y\n')[0]).toMatch(/^3:1 syntax error: 'ignore' /);
    expect(at('a: [x,\n  y]\r\nignore\r\n  - y\r\n')[0]).toMatch(/^3:1 syntax error: 'ignore' /);
    expect(at('- a: 1\n  b\n  c: 2\n')[0]).toMatch(/^2:3 syntax error: 'b' /);
    expect(at('# a comment\napiVersion poolsync/v1\nkind: Queue\n')[0]).toMatch(
      /^2:1 syntax error: 'apiVersion poolsync\/v1' /,
    );
    // A mapping's last key, followed only by comments, blank lines, a less indented line or the
    // end of the document or file: the parser gives up at the end of the key's own line.
    const gaveUp = (line: number, column: number) =>
      `so the parser read on and gave up at line ${line}, column ${column}`;
    expect(at('spec:\n  a: 1\n  pool\n# a comment\n\n# another\n')).toEqual([
      `3:3 syntax error: 'pool' is missing its ':' (key: value), ${gaveUp(3, 7)}`,
    ]);
    expect(at('spec:\n  a: 1\n  pool prod  # a comment\r\n---\nkind: Queue\n')).toEqual([
      `3:3 syntax error: 'pool prod' is missing its ':' (key: value), ${gaveUp(3, 14)}`,
    ]);
    expect(at('items:\n  - a: 1\n    pool\nkind: Queue\n')[0]).toMatch(
      /^3:5 syntax error: 'pool' /,
    );
    expect(at('prune: false\nignore')[0]).toMatch(
      /^2:1 syntax error: 'ignore' .* line 2, column 7$/,
    );
    expect(at('prune: false\nignore # a comment\n# another')[0]).toMatch(
      /^2:1 syntax error: 'ignore' /,
    );
    // A quoted key with more after it on its line: that is where the mistake is.
    expect(at('a: 1\n"q" x\n')).toEqual(["2:5 syntax error: expected ':' after a mapping key"]);
    // Where no key lacks its ':', the parser's position stays.
    expect(at('a: b: c\n')).toEqual(['1:5 syntax error: bad indentation of a mapping entry']);
    // A value over two lines, then an entry indented too far: that entry is the mistake.
    expect(at('description: a long\n  text\n  b: 1\n')).toEqual([
      '3:4 syntax error: bad indentation of a mapping entry',
    ]);
  });

  it('is reported at the key when comments lie between it and its indented value', () => {
    // A comment ends the key's plain scalar: the parser gives up at the value's first character.
    expect(at('spec:\n  pool\n    # a comment\n\n    prod\n  clusters: [a]\n')).toEqual([
      "2:3 syntax error: 'pool' is missing its ':' (key: value), so the parser read on and gave up at line 5, column 5",
    ]);
    expect(at('spec:\n  ignore  # why\r\n# another\r\n    - drafts/**\r\n')[0]).toMatch(
      /^2:3 syntax error: 'ignore' .* line 4, column 5$/,
    );
    // A value's own next lines, then comments and a line indented too far: that line is the mistake.
    expect(at('description: a long\n  text\n  # a comment\n    b: 1\n')).toEqual([
      '4:5 syntax error: bad indentation of a mapping entry',
    ]);
  });
});

describe('reports', () => {
  it('sorts errors by file, line and column and pluralises the count', () => {
    const e = (file: string, line: number, column = 1) =>
      ({ code: 'V2', message: 'm', file, line, column, address: null }) as const;
    expect(formatValidationText([e('b.yaml', 1), e('a.yaml', 9), e('a.yaml', 2, 5)])).toBe(
      'a.yaml:2:5: V2 m\na.yaml:9:1: V2 m\nb.yaml:1:1: V2 m\n3 errors in 2 files.\n',
    );
    expect(formatValidationText([e('a.yaml', 1)], { baseDir: 'repo' })).toBe(
      'repo/a.yaml:1:1: V2 m\n1 error in 1 file.\n',
    );
    // One past the repeats shown of a code in a file: "1 more V2 error".
    const repeated = Array.from({ length: 11 }, (_, i) => e('a.yaml', i + 1));
    expect(formatValidationText(repeated)).toContain(
      'a.yaml: 1 more V2 error not shown (--output json lists every error)\n',
    );
  });
  it('summarises a valid repository in one line', () => {
    expect(
      formatSummary({ pools: 1, clusters: 2, queues: 0, assignments: 1, files: 1, documents: 4 }),
    ).toBe('Valid: 1 pool, 2 clusters, 0 queues, 1 assignment in 1 file.\n');
    // A Flyte OSS folder declares none of Union's kinds: only its own are named.
    const flyte = { execution_clusters: 3, cluster_labels: 1, execution_cluster_labels: 4 };
    const none = { pools: 0, clusters: 0, queues: 0, assignments: 0, files: 4, documents: 8 };
    expect(formatSummary({ ...none, flyte })).toBe(
      'Valid: 3 execution clusters, 1 cluster label, 4 execution cluster labels in 4 files.\n',
    );
    expect(formatSummary({ ...none, pools: 1, flyte })).toBe(
      'Valid: 1 pool, 0 clusters, 0 queues, 0 assignments (and 3 execution clusters, 1 cluster label, 4 execution cluster labels) in 4 files.\n',
    );
  });
});
