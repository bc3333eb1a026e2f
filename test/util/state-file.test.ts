/**
 * The files poolsync keeps for itself, read within the heap (issue 60; util/state-file.ts): one
 * whose parse would not fit what is left is refused before it is parsed, and the inventory is
 * capped, so neither aborts V8 at --max-old-space-size=256.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { getHeapStatistics } from 'node:v8';
import { describe, expect, it } from 'vitest';
import { InventoryFile } from '../../src/controlplane/inventory-file.js';
import { parseHeapProblem } from '../../src/util/state-file.js';
import { tempFolder } from '../support/temp-folder.js';

describe('parseHeapProblem', () => {
  it('passes what fits the heap left, and names the sizes of what does not', () => {
    expect(parseHeapProblem(1024 * 1024)).toBeNull();
    expect(parseHeapProblem(getHeapStatistics().heap_size_limit)).toMatch(
      /^it holds \S+ \S+, and reading it would take about \S+ \S+ of memory, more than the \S+ \S+ this process has left \(node --max-old-space-size\)$/,
    );
  });
});

describe('the inventory file', () => {
  it('over 16 MiB is refused unparsed, saying what to do', async () => {
    const root = tempFolder('poolsync-inventory-');
    const path = join(root, 'inventory.json');
    writeFileSync(path, `{"format": 1, "pad": "${'x'.repeat(17 * 1024 * 1024)}"}`);
    const file = new InventoryFile(() => ({ root, path }));
    await expect(file.readInventory()).rejects.toThrow(
      /^cannot read the inventory \S+inventory\.json: it is larger than 16777216 bytes\. Restore it, or delete it/,
    );
  });
});
