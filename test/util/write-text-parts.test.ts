/**
 * src/util/safe-file.ts writeTextParts: parts encoded straight into a reused buffer (issue 79,
 * the embedded journal and snapshots) write exactly the bytes of their joined text as UTF-8,
 * whatever their sizes and characters, appended or from the start.
 */
import { readFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeTextParts } from '../../src/util/safe-file.js';
import { tempFolder } from '../support/temp-folder.js';

/** Parts of every kind: ASCII, 2-, 3- and 4-byte characters, empty, one larger than a buffer. */
const PARTS = [
  '{"name":"plain"}\n',
  '',
  'contrat é ü – 池 \u{1F680} \u{1F9EA}\n',
  'x'.repeat(70),
  '\u{10FFFF}'.repeat(40),
  `${'池'.repeat(300)}\n`,
  ...Array.from(
    { length: 50 },
    (_, i) => `{"seq":${i},"op":{"op":"create_queue","name":"q-${i}"}}\n`,
  ),
];

async function written(parts: string[], buffer?: Buffer, append = false): Promise<Buffer> {
  const path = join(tempFolder('poolsync-text-parts-'), 'out');
  const fh = await open(path, append ? 'a' : 'w');
  try {
    if (append) await fh.write('before\n');
    await writeTextParts(fh, parts, buffer);
    if (append) await writeTextParts(fh, ['after\n'], buffer);
  } finally {
    await fh.close();
  }
  return readFileSync(path);
}

describe('writeTextParts', () => {
  it('writes the UTF-8 bytes of the joined parts, with the default buffer', async () => {
    expect(await written(PARTS)).toEqual(Buffer.from(PARTS.join(''), 'utf8'));
  });

  it('flushes and reuses a small buffer, and writes a part larger than it whole', async () => {
    // 64 bytes: most parts flush what came before; the 300-character part (900 bytes at most)
    // and the 40 four-byte characters do not fit at all.
    for (const size of [64, 100, 1024, 4096]) {
      const bytes = await written(PARTS, Buffer.alloc(size, 0xff));
      expect(bytes).toEqual(Buffer.from(PARTS.join(''), 'utf8'));
    }
  });

  it('appends after what the file holds, as the journal does, the buffer reused', async () => {
    const buffer = Buffer.alloc(256);
    const bytes = await written(PARTS, buffer, true);
    expect(bytes).toEqual(Buffer.from(`before\n${PARTS.join('')}after\n`, 'utf8'));
  });

  it('writes nothing for no parts', async () => {
    expect(await written([])).toEqual(Buffer.alloc(0));
  });
});
