/**
 * The invalid corpus: every fixture under test/fixtures/invalid/ yields exactly the errors
 * listed for it in expected.json (code, file:line:column, and `names`: the file:line:column of
 * each other document the message names), and nothing else.
 */
import { cp, readFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadRepository } from '../../src/manifests/index.js';
import { writeRepo } from './helpers.js';

const DIR = 'test/fixtures/invalid';

interface Expected {
  code: string;
  file: string;
  line: number;
  column: number;
  names?: string[];
}

/** The places a message names (`also declared at pools.yaml:4:9`, `(pools.yaml:7:10)`). */
const named = (message: string) => message.match(/[\w./-]+\.yaml:\d+:\d+/g) ?? [];

const expected = JSON.parse(await readFile(join(DIR, 'expected.json'), 'utf8')) as Record<
  string,
  Expected[]
>;
const fixtures = (await readdir(DIR)).filter((f) => f !== 'expected.json').sort();

describe('invalid fixture corpus', () => {
  it('holds at least 40 fixtures, each with its expected errors listed', () => {
    expect(fixtures.length).toBeGreaterThanOrEqual(40);
    expect(Object.keys(expected).sort()).toEqual(fixtures);
  });

  it('covers every rule V1-V16 and the YAML, SCHEMA and LIMIT codes', () => {
    const codes = new Set(Object.values(expected).flatMap((list) => list.map((e) => e.code)));
    for (const code of [
      'V1',
      'V2',
      'V3',
      'V4',
      'V5',
      'V6',
      'V7',
      'V8',
      'V9',
      'V10',
      'V11',
      'V12',
      'V13',
      'V14',
      'V15',
      'V16',
      'YAML',
      'SCHEMA',
      'LIMIT',
    ]) {
      expect(codes, code).toContain(code);
    }
  });

  it.each(fixtures)('%s', async (name) => {
    const src = join(DIR, name);
    const repo = await writeRepo({});
    if ((await stat(src)).isDirectory()) await cp(src, repo, { recursive: true });
    else await cp(src, join(repo, 'manifest.yaml'));

    const result = await loadRepository(repo);

    expect(result.valid).toBe(false);
    expect(result.desired).toBeNull();
    expect(
      result.errors.map(({ code, file, line, column, message }) => {
        const names = named(message);
        return { code, file, line, column, ...(names.length > 0 && { names }) };
      }),
    ).toEqual(expected[name]);
    for (const e of result.errors) {
      expect(e.message).toMatch(/\S/);
      expect(e.message).not.toContain('\n');
      expect(e.message).not.toMatch(/\bat .*\.(ts|js):\d+/); // no stack frames
    }
  });
});
