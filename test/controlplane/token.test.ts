import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { resolveToken } from '../../src/controlplane/open.js';

const dir = mkdtempSync(join(tmpdir(), 'poolsync-token-'));
const file = (name: string, text: string) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};
afterEach(() => vi.unstubAllEnvs());

describe('resolveToken: --token-file > POOLSYNC_TOKEN_FILE > POOLSYNC_TOKEN', () => {
  it('reads the first line of --token-file, trimmed', async () => {
    vi.stubEnv('POOLSYNC_TOKEN', 'from-env');
    expect(await resolveToken(file('a', 'from-flag-file\nignored\n'))).toBe('from-flag-file');
  });
  it('falls back to the file named by POOLSYNC_TOKEN_FILE, then POOLSYNC_TOKEN', async () => {
    vi.stubEnv('POOLSYNC_TOKEN', 'from-env');
    vi.stubEnv('POOLSYNC_TOKEN_FILE', file('b', 'from-env-file\n'));
    expect(await resolveToken(undefined)).toBe('from-env-file');
    vi.stubEnv('POOLSYNC_TOKEN_FILE', '');
    expect(await resolveToken(undefined)).toBe('from-env');
    vi.stubEnv('POOLSYNC_TOKEN', '');
    expect(await resolveToken(undefined)).toBeUndefined();
  });
  it('names a missing or empty file, never a token', async () => {
    await expect(resolveToken(join(dir, 'missing'))).rejects.toThrow(
      /token file .*missing does not exist/,
    );
    await expect(resolveToken(file('empty', '\n'))).rejects.toThrow(/token file .*empty is empty/);
  });
});
