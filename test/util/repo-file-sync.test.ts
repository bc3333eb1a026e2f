/**
 * src/util/safe-file.ts readRepoFileSync: the manifest walk's files read in synchronous calls give what
 * readRepoFile gives for the same file (the same refusals, the same bytes, the same bound).
 */
import { execFileSync } from 'node:child_process';
import { linkSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { readRepoFile, readRepoFileSync } from '../../src/util/safe-file.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('readRepoFileSync', () => {
  it('reads and refuses exactly as readRepoFile does without its parents check', async () => {
    const d = mkdtempSync(join(tmpdir(), 'poolsync-repo-file-sync-'));
    dirs.push(d);
    writeFileSync(join(d, 'a.yaml'), 'kind: Queue\n'.repeat(1000));
    writeFileSync(join(d, 'empty.yaml'), '');
    writeFileSync(join(d, 'b.yaml'), 'x');
    linkSync(join(d, 'b.yaml'), join(d, 'b-again.yaml'));
    symlinkSync('/dev/zero', join(d, 'zero'));
    symlinkSync(join(d, 'a.yaml'), join(d, 'link.yaml'));
    execFileSync('mkfifo', [join(d, 'fifo')]);
    mkdirSync(join(d, 'sub'));
    const cases: [string, number][] = [
      ['a.yaml', 1 << 20],
      ['a.yaml', 12_000],
      ['a.yaml', 11_999],
      ['empty.yaml', 10],
      ['b.yaml', 10],
      ['zero', 10],
      ['link.yaml', 1 << 20],
      ['fifo', 10],
      ['sub', 10],
      ['missing.yaml', 10],
      ['../a.yaml', 10],
      ['/etc/passwd', 10],
    ];
    for (const [rel, maxBytes] of cases) {
      const sync = readRepoFileSync(d, rel, { maxBytes });
      const promised = await readRepoFile(d, rel, { maxBytes });
      expect({ rel, maxBytes, read: sync }).toEqual({ rel, maxBytes, read: promised });
    }
    expect(readRepoFileSync(d, 'a.yaml', { maxBytes: 12_000 })).toMatchObject({ ok: true });
    expect(readRepoFileSync(d, 'b.yaml', { maxBytes: 10 })).toMatchObject({
      reason: 'hard-link',
      links: 2,
    });
    expect(readRepoFileSync(d, 'fifo', { maxBytes: 10 })).toMatchObject({
      reason: 'not-regular',
      kind: 'FIFO',
    });
  });

  it('bounds the bytes read, not the size stat reports (a /proc file says 0)', () => {
    expect(readRepoFileSync('/proc/self', 'status', { maxBytes: 16 })).toEqual({
      ok: false,
      reason: 'too-large',
      limit: 16,
      size: null,
    });
    const whole = readRepoFileSync('/proc/self', 'status', { maxBytes: 1 << 20 });
    expect(whole.ok && whole.bytes.toString()).toMatch(/^Name:/);
  });
});
