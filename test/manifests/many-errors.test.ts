/**
 * A repository with more errors than a function call takes arguments: 130,000 queues naming a
 * pool nobody declares. `errors.push(...checkRules(…))` overflowed the stack at ~120,000 errors
 * and `validate` printed "Internal error" with a stack trace; every error is now reported.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadRepository } from '../../src/manifests/index.js';
import { tempFolder } from '../support/temp-folder.js';

const FILES = 130;
const PER_FILE = 1000;

describe('a repository with 130,000 errors', () => {
  it('reports each of them, without overflowing the stack', async () => {
    const repo = tempFolder('poolsync-many-errors-');
    mkdirSync(join(repo, 'queues'));
    for (let f = 0; f < FILES; f++) {
      let text = '';
      for (let i = 0; i < PER_FILE; i++)
        text += `---\napiVersion: poolsync/v1\nkind: Queue\nmetadata:\n  name: q-${f}-${i}\nspec:\n  pool: missing\n  clusters: ['*']\n  run_concurrency: 1\n  action_concurrency: 1\n  depth: 1\n  fairness: shuffle_interleave\n`;
      writeFileSync(join(repo, 'queues', `q${f}.yaml`), text);
    }
    const loaded = await loadRepository(repo);
    expect(loaded.valid).toBe(false);
    expect(loaded.errors).toHaveLength(FILES * PER_FILE);
    expect(new Set(loaded.errors.map((e) => e.code))).toEqual(new Set(['V2']));
  }, 120_000);
});
