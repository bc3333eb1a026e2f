/**
 * Prose that stays a map (issue 77 item 5): the pages read as maps keep within a word budget,
 * and every big page opens by saying what it answers.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { ROOT } from './run-doc.js';

/** Words as `wc -w` counts them: runs of non-space. */
const words = (text: string): number => text.split(/\s+/).filter(Boolean).length;
const read = (page: string): string => readFileSync(join(ROOT, page), 'utf8');

/**
 * architecture.md is the code's map; bench/README.md what to run and what it gives today, with
 * room for each issue's short section (superseded results go to bench/history.md).
 */
const BUDGETS: Record<string, number> = {
  'docs/architecture.md': 1_800,
  'bench/README.md': 3_500,
};

/** Above this many words a page opens with what it answers, so a reader knows where to look. */
const BIG = 1_500;
const OPENING = '**What this page answers:**';

it('the map pages keep within their word budgets', () => {
  const over = Object.entries(BUDGETS)
    .map(([page, budget]) => ({ page, words: words(read(page)), budget }))
    .filter((p) => p.words > p.budget)
    .map((p) => `${p.page}: ${p.words} words, budget ${p.budget}`);
  expect(over).toEqual([]);
});

it(`every page over ${BIG} words opens with "${OPENING}"`, () => {
  const pages = [
    'bench/README.md',
    ...readdirSync(join(ROOT, 'docs'))
      .filter((f) => f.endsWith('.md'))
      .map((f) => `docs/${f}`),
  ];
  const missing = pages.filter((page) => {
    const text = read(page);
    // The first paragraph after the title.
    const first = text.replace(/^# .*\n+/, '').split(/\n\s*\n/)[0] ?? '';
    return words(text) > BIG && !first.startsWith(OPENING);
  });
  expect(missing).toEqual([]);
});
