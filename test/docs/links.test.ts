/**
 * Every link of the docs to a heading of a page (`page.md#anchor`, `#anchor`) finds that
 * heading, as GitHub makes its anchors (lower case, punctuation dropped, spaces as `-`).
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { expect, it } from 'vitest';
import { ROOT } from './run-doc.js';

const PAGES = [
  'README.md',
  'CHANGELOG.md',
  'bench/README.md',
  'bench/history.md',
  ...readdirSync(join(ROOT, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`),
  ...readdirSync(join(ROOT, 'examples'))
    .map((d) => `examples/${d}/README.md`)
    .filter((f) => existsSync(join(ROOT, f))),
];

function anchors(page: string): Set<string> {
  const text = readFileSync(join(ROOT, page), 'utf8').replace(/```[\s\S]*?```/g, '');
  const out = new Set<string>();
  for (const m of text.matchAll(/^#{1,6} (.+)$/gm))
    out.add(
      m[1]!
        .trim()
        .toLowerCase()
        .replace(/[^\w\- ]/g, '')
        .replace(/ /g, '-'),
    );
  return out;
}

it('every link to a heading of a page finds it', () => {
  const broken: string[] = [];
  for (const page of PAGES) {
    const text = readFileSync(join(ROOT, page), 'utf8');
    for (const m of text.matchAll(/\]\(([^)\s#]*)#([^)\s]+)\)/g)) {
      const target = m[1] ? normalize(join(dirname(page), m[1])) : page;
      if (!target.endsWith('.md') || !existsSync(join(ROOT, target))) continue;
      if (!anchors(target).has(m[2]!)) broken.push(`${page}: ${target}#${m[2]}`);
    }
  }
  expect(broken).toEqual([]);
});

it('the docs cite what users have: no domain.md, no seed pages', () => {
  const cited = PAGES.filter(
    (p) => !['CHANGELOG.md', 'bench/README.md', 'bench/history.md'].includes(p),
  ).flatMap((page) =>
    readFileSync(join(ROOT, page), 'utf8')
      .split('\n')
      .filter((l) => /\bdomain\.md\b|\bthe seed\b|\bseed's\b|\bseeds'/.test(l))
      .map((l) => `${page}: ${l.trim().slice(0, 80)}`),
  );
  expect(cited).toEqual([]);
});

it("README's command table names every command; no documented render writes into a tracked example", async () => {
  const { COMMANDS } = await import('../../src/cli/define.js');
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const table = readme.slice(readme.indexOf('## Commands'), readme.indexOf('## Control planes'));
  for (const name of Object.keys(COMMANDS))
    expect(table, name).toMatch(new RegExp(`\`poolsync (?:[a-z|]+ )*${name}\\b`));
  for (const page of PAGES)
    for (const m of readFileSync(join(ROOT, page), 'utf8').matchAll(
      /poolsync render [\w-]+ examples\/\S+(.*)$/gm,
    ))
      expect(m[1], page).toMatch(/--out\b|--check\b/);
});
