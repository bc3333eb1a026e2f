/**
 * What the help and the pages say of `--max-retries` is what the code does: a hand test read 6
 * retries and "100 ms → 5 s" in docs/union.md and "doubling to 10 s" for every backend in the
 * help, where the CLI gives 8 (9 attempts against flyteadmin) and Union's backoff stops at 5 s.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { DEFAULT_RETRY, HTTP_DELAYS } from '../../src/util/backoff.js';
import { runInProcess } from '../support/memory-io.js';
import { ROOT } from './run-doc.js';

const PAGES = readdirSync(join(ROOT, 'docs'))
  .filter((f) => f.endsWith('.md'))
  .map((f) => `docs/${f}`);

/** The sentences and table rows of a page that name `--max-retries`, on one line each. */
function retrySentences(page: string): string[] {
  return readFileSync(join(ROOT, page), 'utf8')
    .split(/(?<=\.)\s+|\n\s*\n|\n(?=\|)/)
    .map((s) => s.replace(/\s+/g, ' '))
    .filter((s) => s.includes('max-retries'));
}

/** The help of `command --max-retries`, its default included, on one line. */
async function help(command: string): Promise<string> {
  const r = await runInProcess([command, '--help'], { PATH: process.env.PATH, NO_COLOR: '1' });
  return /--max-retries .*?\[default: \d+\]/.exec(r.stdout.replace(/\s+/g, ' '))?.[0] ?? '';
}

const s = (ms: number) => `${ms / 1000} s`;

it("every page gives --max-retries the CLI's default", async () => {
  const byDefault = Number(/\[default: (\d+)\]/.exec(await help('plan'))?.[1]);
  expect(byDefault).toBe(8);
  const wrong = PAGES.flatMap((page) =>
    retrySentences(page).flatMap((sentence) =>
      [
        ...sentence.matchAll(
          /(?<!at most )\b(\d+) retries|default:? `?(\d+)\b|\| `--max-retries` \|(?: `\w+` \|)? `?(\d+)`? \|/g,
        ),
      ]
        .map((m) => Number(m[1] ?? m[2] ?? m[3]))
        .filter((n) => n !== byDefault)
        .map((n) => `${page}: ${n} in "${sentence}"`),
    ),
  );
  expect(wrong).toEqual([]);
});

it("the backoff the help and the pages give is each backend's", async () => {
  const every = `0.1 s doubling to ${s(HTTP_DELAYS.maxDelayMs)}, to ${s(DEFAULT_RETRY.maxDelayMs)} for Union`;
  expect(HTTP_DELAYS.minDelayMs).toBe(DEFAULT_RETRY.minDelayMs);
  for (const command of ['plan', 'apply']) expect(await help(command)).toContain(every);
  // The pages that restate the flag for every backend say the same; Union's page its own.
  for (const page of ['docs/apply.md', 'docs/daemon.md'])
    expect(
      retrySentences(page).some((t) => t.includes(every)),
      page,
    ).toBe(true);
  const union = `${DEFAULT_RETRY.minDelayMs} ms doubling to ${s(DEFAULT_RETRY.maxDelayMs)}`;
  const unionSentences = retrySentences('docs/union.md').filter((t) => /doubling|→/.test(t));
  expect(unionSentences.length).toBeGreaterThan(0);
  for (const t of unionSentences) expect(t).toContain(union);
});
