/**
 * Issue 23, item 6: the CLI redacts `Bearer …` tokens and every configured secret in
 * everything it writes, as the daemon does. A real server on 127.0.0.1 echoes the request's
 * Authorization header (and the token alone, and its base64 form) in its error message.
 */
import { createServer } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redactor } from '../../src/util/redact.js';
import { REPO_ROOT, runCli } from '../support/cli.js';
import { servedControlPlane } from '../support/served-control-plane.js';

const EXAMPLE = join(REPO_ROOT, 'examples', 'config-repo');
const TOKEN = 's3cr3t-token-0123456789';
const UNKNOWN_BEARER = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl';

let url = '';
let close: () => Promise<void>;
const dir = mkdtempSync(join(tmpdir(), 'poolsync-redact-'));

beforeAll(async () => {
  const server = createServer((req, res) => {
    const auth = String(req.headers.authorization ?? '');
    const token = auth.replace(/^Bearer /, '');
    res.writeHead(401, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({
        code: 'UNAUTHENTICATED',
        message: `rejected ${auth}; token ${token} (base64 ${Buffer.from(token).toString('base64')}) is revoked; also seen: Bearer ${UNKNOWN_BEARER}`,
      }),
    );
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  close = () => new Promise((r) => server.close(() => r()));
});
afterAll(async () => {
  await close();
  rmSync(dir, { recursive: true, force: true });
});

describe('CLI errors never show a secret', () => {
  it('a token from POOLSYNC_TOKEN, echoed raw, as a Bearer header and in base64, is ***', async () => {
    const r = await runCli(['plan', EXAMPLE, '--control-plane', url, '--max-retries', '0'], {
      POOLSYNC_TOKEN: TOKEN,
    });
    expect(r.code).toBe(1);
    const out = r.stdout + r.stderr;
    expect(out).toContain(
      'Error: control plane: UNAUTHENTICATED: rejected Bearer ***; token *** (base64 ***) is revoked; also seen: Bearer ***',
    );
    expect(out).not.toContain(TOKEN);
    expect(out).not.toContain(Buffer.from(TOKEN).toString('base64'));
    expect(out).not.toContain(UNKNOWN_BEARER);
  });

  it('a token read from --token-file is known as a secret too', async () => {
    const file = join(dir, 'token');
    writeFileSync(file, `${TOKEN}\n`);
    const r = await runCli(
      ['plan', EXAMPLE, '--control-plane', url, '--token-file', file, '--max-retries', '0'],
      {},
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/token \*\*\* \(base64 \*\*\*\) is revoked/);
    expect(r.stdout + r.stderr).not.toContain(TOKEN);
  });
});

describe('a secret echoed encoded', () => {
  it('percent-encoded, hex, base64url or unpadded base64 is *** too', async () => {
    const token = 'S3CR3T-tok+/=x1';
    const server = createServer((req, res) => {
      const t = String(req.headers.authorization ?? '').replace(/^Bearer /, '');
      const bytes = Buffer.from(t);
      res.writeHead(401, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          code: 'UNAUTHENTICATED',
          message: `pct=[${encodeURIComponent(t)}] hex=[${bytes.toString('hex')}] HEX=[${bytes.toString('hex').toUpperCase()}] b64url=[${bytes.toString('base64url')}] b64=[${bytes.toString('base64').replace(/=+$/, '')}]`,
        }),
      );
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const at = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const r = await runCli(['plan', EXAMPLE, '--control-plane', at, '--max-retries', '0'], {
        POOLSYNC_TOKEN: token,
      });
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(
        'UNAUTHENTICATED: pct=[***] hex=[***] HEX=[***] b64url=[***] b64=[***]',
      );
    } finally {
      await new Promise((r) => server.close(r));
    }
  });
});

describe("poolsync's own REST API refusing a token", () => {
  it('reaches the user whole: its placeholder kept, the token sent never shown', async () => {
    const served = await servedControlPlane({ token: TOKEN });
    const r = await runCli(['plan', EXAMPLE, '--control-plane', served.url], {
      POOLSYNC_TOKEN: 'wrong-0123456789',
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      'Error: control plane: UNAUTHENTICATED: a valid bearer token is required (Authorization: Bearer <token>); ' +
        'the token was refused: check the token in POOLSYNC_TOKEN / POOLSYNC_TOKEN_FILE / --token-file is the one of this control plane\n',
    );
  });
});

describe('a secret shorter than 8 characters', () => {
  it('is refused where it is read, naming where, never showing it (it would be hidden from every word)', async () => {
    const served = await servedControlPlane({ token: 'ter-1' });
    const refusal = (from: string) =>
      `Error: ${from} holds a secret of 5 characters: poolsync refuses secrets shorter than 8, since hiding one from its output would hide those letters from every word (docs/security.md#short-secrets); use a longer one (e.g. \`openssl rand -hex 16\`)\n`;
    const fromEnv = await runCli(['plan', EXAMPLE, '--control-plane', served.url], {
      POOLSYNC_TOKEN: 'ter-1',
    });
    expect(fromEnv).toMatchObject({ code: 1, stderr: refusal('POOLSYNC_TOKEN') });
    const file = join(dir, 'short-token');
    writeFileSync(file, 'ter-1\n');
    const fromFile = await runCli(
      ['plan', EXAMPLE, '--control-plane', served.url, '--token-file', file],
      {},
    );
    expect(fromFile).toMatchObject({ code: 1, stderr: refusal(`the token file ${file}`) });
  });
});

describe('Redactor', () => {
  it('hides a secret of 8 characters or more wherever it stands, a plain word too, and its base64', () => {
    const r = new Redactor(['changeme', 's3cr3t-token-0123456789']);
    expect(r.scrub('rejected Bearer changeme; the client said changeme, not "changeme"')).toBe(
      'rejected Bearer ***; the client said ***, not "***"',
    );
    expect(r.scrub(`basic ${Buffer.from('changeme').toString('base64')}`)).toBe('basic ***');
    expect(r.scrub('got s3cr3t-token-0123456789 back')).toBe('got *** back');
  });

  it('never hides the letters of a shorter secret (refused where it is read) from other words', () => {
    const r = new Redactor(['ter-', 'wrong', 'lus']);
    expect(r.scrub('cluster-a: missing or wrong bearer token')).toBe(
      'cluster-a: missing or wrong bearer token',
    );
  });

  it('hides echoed Bearer tokens, known or not, and leaves prose about bearer tokens alone', () => {
    const r = new Redactor([]);
    expect(r.scrub(`denied: Bearer ${UNKNOWN_BEARER} expired`)).toBe('denied: Bearer *** expired');
    expect(r.scrub('bearer ghp_abcdefgh1234')).toBe('bearer ***');
    expect(r.scrub('the API requires a bearer token; Bearer authentication failed')).toBe(
      'the API requires a bearer token; Bearer authentication failed',
    );
  });

  it('keeps a header\'s placeholder and hides its value (the REST API\'s 401 read "Bearer *** the token was refused")', () => {
    const r = new Redactor([]);
    const said = 'a valid bearer token is required (Authorization: Bearer <token>)';
    expect(r.scrub(said)).toBe(said);
    expect(r.scrub('sent Authorization: Bearer abc.def and Authorization: Basic dXNlcg==')).toBe(
      'sent Authorization: Bearer *** and Authorization: Basic ***',
    );
  });
});
