/**
 * src/gen/union/accelerators.ts is what Union's own client knows of accelerators (flyteplugins-
 * union 0.19.1, remote/_queue.py): regenerating it from the installed wheel gives the committed
 * file, and every selector poolsync reads is read as the client's parse_accelerator_selector and
 * format_accelerator_selector read it (issue 46, item 5). Skips without the venv.
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { readTables, render } from '../../../scripts/generate-union-accelerators.js';
import { canonicalSelector } from '../../../src/gen/union/accelerators.js';
import { findUnionVenv } from '../../support/union-venv.js';

const venv = findUnionVenv();
const run = promisify(execFile);
const root = join(import.meta.dirname, '..', '..', '..');

/** What the client makes of each selector: its canonical spelling, or "error". */
const CLIENT = `
import json, sys
from flyteplugins.union.remote._queue import parse_accelerator_selector, format_accelerator_selector
out = {}
for s in json.loads(sys.argv[1]):
    try:
        out[s] = format_accelerator_selector(parse_accelerator_selector(s))
    except ValueError:
        out[s] = "error"
print(json.dumps(out))
`;

const SELECTORS = [
  'nvidia_gpu',
  'google_tpu',
  'nvidia_gpu/t4',
  'nvidia_gpu/nvidia-t4',
  'nvidia_gpu/nvidia-tesla-t4',
  'nvidia_gpu/not-a-gpu',
  'nvidia_gpu/google-tpu-v5e',
  'amd_gpu/nvidia-h100',
  'nvidia_gpu/a100/1g.5gb',
  'nvidia_gpu/nvidia-a100-80gb',
  'google_tpu/v5e',
  'google_tpu/google-tpu-v5e/2x2',
  'amazon_neuron/trn1',
  'amd_gpu/mi300x',
  'habana_gaudi',
  'gpu/h100',
  'tpu/v6e',
];

describe.skipIf(typeof venv === 'string')(
  `accelerators as Union's client knows them${typeof venv === 'string' ? ` (skipped: ${venv})` : ''}`,
  () => {
    it('regenerating src/gen/union/accelerators.ts from the wheel gives the committed file (npm run generate:accelerators)', async () => {
      if (typeof venv === 'string') return;
      const committed = await readFile(join(root, 'src/gen/union/accelerators.ts'), 'utf8');
      expect(committed).toBe(render(readTables(venv.python)));
    });

    it('each selector reads as the client reads it: canonical, or refused', async () => {
      if (typeof venv === 'string') return;
      const { stdout } = await run(venv.python, ['-c', CLIENT, JSON.stringify(SELECTORS)]);
      const client = JSON.parse(stdout) as Record<string, string>;
      const ours = Object.fromEntries(
        SELECTORS.map((s) => {
          const r = canonicalSelector(s);
          return [s, 'selector' in r ? r.selector : 'error'];
        }),
      );
      expect(ours).toEqual(client);
    });
  },
);
