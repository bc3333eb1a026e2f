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
const URL = 'https://cp.example.com';

/** resolveToken under this process's environment (vi.stubEnv sets it). */
const token = (file: string | undefined, url: string, environment: string | null = null) =>
  resolveToken(file, url, environment, process.env);

describe('resolveToken: --token-file > POOLSYNC_TOKEN_FILE > POOLSYNC_TOKEN', () => {
  it('reads --token-file, trimmed; a file of more than one line is refused, naming it, never its content', async () => {
    vi.stubEnv('POOLSYNC_TOKEN', 'from-env');
    expect(await token(file('a', ' from-flag-file \n'), URL)).toBe('from-flag-file');
    const passwd = file('passwd', 'root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1::/:/bin/sh\n');
    const refused = await token(passwd, URL).catch((e: Error) => e.message);
    expect(refused).toMatch(
      `the token file ${passwd} holds more than one line: give the token alone, on one line`,
    );
    expect(refused).not.toContain('x:0:0');
  });
  it('falls back to the file named by POOLSYNC_TOKEN_FILE, then POOLSYNC_TOKEN', async () => {
    vi.stubEnv('POOLSYNC_TOKEN', 'from-env');
    vi.stubEnv('POOLSYNC_TOKEN_FILE', file('b', 'from-env-file\n'));
    expect(await token(undefined, URL)).toBe('from-env-file');
    vi.stubEnv('POOLSYNC_TOKEN_FILE', '');
    expect(await token(undefined, URL)).toBe('from-env');
    vi.stubEnv('POOLSYNC_TOKEN', '');
    expect(await token(undefined, URL)).toBeUndefined();
  });
  it('names a missing or empty file, never a token', async () => {
    await expect(token(join(dir, 'missing'), URL)).rejects.toThrow(
      /^--token-file .*missing does not exist/,
    );
    await expect(token(file('empty', '\n'), URL)).rejects.toThrow(
      /^--token-file .*empty is empty: put the control plane's token in it$/,
    );
  });
  // It said `token file /nonexistent does not exist`: not where that path was set, nor what to do.
  it('a missing file is named by the setting that gave it, with what to do', async () => {
    const missing = join(dir, 'nonexistent');
    const fix = "correct the path, or put the control plane's token in that file";
    const said = (p: Promise<unknown>) =>
      p.then(
        () => 'no error',
        (e: Error) => e.message,
      );
    expect(await said(token(missing, URL))).toBe(`--token-file ${missing} does not exist: ${fix}`);
    vi.stubEnv('POOLSYNC_TOKEN_FILE', missing);
    expect(await said(token(undefined, URL))).toBe(
      `POOLSYNC_TOKEN_FILE ${missing} does not exist: ${fix}`,
    );
    const daemonFile = 'environment variable POOLSYNC_TOKEN_FILE';
    expect(await said(resolveToken(missing, URL, null, {}, daemonFile))).toBe(
      `${daemonFile} ${missing} does not exist: ${fix}`,
    );
  });
});

describe('a token file bound to its control plane (docs/security.md, "Environments")', () => {
  const bound = file('bound', 'endpoint: https://CP.example.com:443/\ntoken: bound-secret\n');
  it('goes to that control plane, under any spelling of it, and nowhere else', async () => {
    expect(await token(bound, URL)).toBe('bound-secret');
    expect(await token(bound, 'https://cp.example.com/.', 'prod')).toBe('bound-secret');
    for (const elsewhere of [
      'https://catcher.example.com',
      'http://cp.example.com',
      'https://cp.example.com:8443',
    ])
      await expect(token(bound, elsewhere)).rejects.toThrow(
        /^the token file .*bound is for the control plane https:\/\/cp\.example\.com, not .*: nothing was sent/,
      );
  });
  it("compares exactly what it binds: this machine's other names are other listeners", async () => {
    const local = file('local', 'endpoint: http://127.0.0.1:8080\ntoken: local-secret\n');
    expect(await token(local, 'http://127.0.0.1:8080/')).toBe('local-secret');
    for (const other of ['http://[::1]:8080', 'http://[::]:8080', 'http://0.0.0.0:8080'])
      await expect(token(local, other)).rejects.toThrow(
        /is for the control plane http:\/\/127\.0\.0\.1:8080, not .*: nothing was sent/,
      );
  });
  it('is required for an environment; the process token never goes to one', async () => {
    vi.stubEnv('POOLSYNC_TOKEN', 'from-env');
    vi.stubEnv('POOLSYNC_TOKEN_FILE', bound);
    const plain = file('plain', 'plain-secret\n');
    await expect(token(plain, URL, 'prod')).rejects.toThrow(
      `environment prod: the token file ${plain} does not name its control plane, so nothing was sent to https://cp.example.com`,
    );
    // The bound form without its endpoint line: the binding is what is missing, the token unsaid.
    const unbound = file('unbound', 'token: half-bound-secret\n');
    const refused = await token(unbound, URL, 'prod').catch((e: Error) => e.message);
    expect(refused).toMatch(
      `environment prod: the token file ${unbound} does not name its control plane, so nothing was sent to https://cp.example.com. A token for an environment's control plane must name it (a first line \`endpoint: https://cp.example.com\``,
    );
    expect(refused).not.toContain('half-bound-secret');
    expect(await token(unbound, URL)).toBe('half-bound-secret');
    expect(await token(undefined, URL, 'prod')).toBeUndefined();
    expect(await token(undefined, URL)).toBe('bound-secret');
  });
  it("is read only for poolsync's REST API; a bound file without a token is refused", async () => {
    expect(await token(bound, 'union+https://cp.example.com')).toBeUndefined();
    await expect(token(file('notoken', 'endpoint: https://x\n'), URL)).rejects.toThrow(
      /^--token-file .*notoken has no `token:` line: put the control plane's token in it$/,
    );
  });
});
