/**
 * Sentences a hand test found saying other than the program does, held to what it does: each
 * test checks the behaviour (or cites where it is tested) and that no page says otherwise.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { prunes, scopeWithInventory } from '../../src/plan/prune-scope.js';
import { ROOT } from './run-doc.js';

/** Every sentence of every page, on one line, with its page. */
const SENTENCES = readdirSync(join(ROOT, 'docs'))
  .filter((f) => f.endsWith('.md'))
  .flatMap((f) =>
    readFileSync(join(ROOT, 'docs', f), 'utf8')
      .split(/(?<=\.)\s+|\n\s*\n|\n(?=\||\s*- )/)
      .map((s) => `docs/${f}: ${s.replace(/\s+/g, ' ')}`),
  );

// The control plane drains such a queue and refuses its delete: test/controlplane/
// default-queues.test.ts ("a queue named by a setting"), Union's _queue.py:934-938, 1011-1012.
it('no page says a default-queue setting keeps its queue from being drained, only from being deleted', () => {
  const said = SENTENCES.filter(
    (s) => /setting|default_queue|DefaultQueue/.test(s) && /\brefuses? to drain/i.test(s),
  );
  expect(said).toEqual([]);
});

it('no page gives the prune scope as the kinds the repository declares: the inventory, or manage:', () => {
  const config = { prune: true, ignore: [], declared_kinds: ['PoolAssignment' as const] };
  const set = 'ml/production';
  const scope = scopeWithInventory(config, ['PoolAssignment/ml/development']);
  // A declared kind: only what poolsync applied is pruned, not one set with uctl.
  expect(prunes(scope, new Set(['PoolAssignment/ml/development']), 'PoolAssignment', set)).toBe(
    false,
  );
  const managed = scopeWithInventory({ ...config, manage: ['PoolAssignment'] }, []);
  expect(prunes(managed, new Set(), 'PoolAssignment', set)).toBe(true);
  const said = SENTENCES.filter((s) => /prune scope[^.]*\(the repository declares/i.test(s));
  expect(said).toEqual([]);
});

// As printed (test/apply/prompt-cancel.test.ts): every refusal is a UserError, `Error: ` first.
it('no page quotes an apply cancelled without the `Error: ` it is printed with', () => {
  const said = SENTENCES.filter((s) => /(?<!Error: )Apply cancelled/.test(s));
  expect(said).toEqual([]);
});
