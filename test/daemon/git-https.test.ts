/**
 * The HTTPS token path for real: a smart-HTTP Git server on 127.0.0.1 (git http-backend behind
 * node:http) that demands `Authorization: Basic`. The daemon's source must authenticate with
 * the token from configuration, and the token must never show up in URLs, errors or status.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cleanup } from '../support/cleanup.js';
import { GitSource } from '../../src/daemon/git-source.js';
import { TestRepo, git, tempDir } from './helpers.js';

const TOKEN = 'ghp_daemonTestToken_9f8e7d6c5b4a';
const BACKEND = '/usr/lib/git-core/git-http-backend';

async function gitHttpServer(
  projectRoot: string,
  seen: { url: string; auth: string | null }[],
): Promise<string> {
  const expected = `Basic ${Buffer.from(`x-access-token:${TOKEN}`).toString('base64')}`;
  const server: Server = createServer((req, res) => {
    seen.push({ url: req.url ?? '', auth: req.headers.authorization ?? null });
    if (req.headers.authorization !== expected) {
      res.writeHead(401, { 'www-authenticate': 'Basic realm="git"' });
      res.end('unauthorized');
      return;
    }
    const url = new URL(req.url ?? '/', 'http://x');
    const cgi = spawn(BACKEND, [], {
      env: {
        GIT_PROJECT_ROOT: projectRoot,
        GIT_HTTP_EXPORT_ALL: '1',
        PATH_INFO: decodeURIComponent(url.pathname),
        QUERY_STRING: url.search.slice(1),
        REQUEST_METHOD: req.method ?? 'GET',
        CONTENT_TYPE: req.headers['content-type'] ?? '',
        REMOTE_USER: 'x-access-token',
        REMOTE_ADDR: '127.0.0.1',
        GIT_PROTOCOL: String(req.headers['git-protocol'] ?? ''),
        PATH: process.env.PATH ?? '',
      },
    });
    req.pipe(cgi.stdin);
    let head = Buffer.alloc(0);
    let headersDone = false;
    cgi.stdout.on('data', (chunk: Buffer) => {
      if (headersDone) return void res.write(chunk);
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      headersDone = true;
      let status = 200;
      const headers: Record<string, string> = {};
      for (const line of head.subarray(0, end).toString().split('\r\n')) {
        const i = line.indexOf(':');
        const k = line.slice(0, i).trim();
        const v = line.slice(i + 1).trim();
        if (k.toLowerCase() === 'status') status = Number(v.split(' ')[0]);
        else headers[k] = v;
      }
      res.writeHead(status, headers);
      res.write(head.subarray(end + 4));
    });
    cgi.on('close', () => res.end());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanup.add(() => new Promise<void>((r) => server.close(() => r())));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe.skipIf(!existsSync(BACKEND))('GitSource over HTTPS-style auth (smart HTTP)', () => {
  it('authenticates with the configured token in a header, never in the URL', async () => {
    const repo = new TestRepo();
    cleanup.add(() => repo.cleanup());
    const c1 = repo.commit({ 'a.yaml': 'x\n' });
    const seen: { url: string; auth: string | null }[] = [];
    const base = await gitHttpServer(dirname(repo.bare), seen);
    const url = `${base}/remote.git`;
    const auth = {
      token: TOKEN,
      username: 'x-access-token',
      sshKeyFile: null,
      sshKnownHostsFile: null,
    };
    const checkoutDir = join(tempDir(), 'co');
    const src = new GitSource({
      repo: url,
      branch: 'main',
      path: '.',
      auth,
      checkoutDir,
      env: process.env,
    });
    expect((await src.sync()).commit).toBe(c1);
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.every((r) => !r.url.includes(TOKEN))).toBe(true);
    // Nothing of the token was written into the checkout's Git config.
    expect(git(checkoutDir, 'config', '--list', '--local')).not.toContain(TOKEN);
    expect(git(checkoutDir, 'config', '--list', '--local')).not.toMatch(/extraheader/i);

    const c2 = repo.commit({ 'a.yaml': 'y\n' });
    expect((await src.sync()).commit).toBe(c2);
  });

  it('a wrong token fails with a clear error that contains no token', async () => {
    const repo = new TestRepo();
    cleanup.add(() => repo.cleanup());
    repo.commit({ 'a.yaml': 'x\n' });
    const base = await gitHttpServer(dirname(repo.bare), []);
    const wrong = 'ghp_wrongToken_000000000000';
    const src = new GitSource({
      env: process.env,
      repo: `${base}/remote.git`,
      branch: 'main',
      path: '.',
      auth: { token: wrong, username: 'x-access-token', sshKeyFile: null, sshKnownHostsFile: null },
      checkoutDir: join(tempDir(), 'co'),
    });
    const err = await src.sync().then(
      () => null,
      (e: Error) => e,
    );
    expect(err?.message).toMatch(
      /cannot fetch branch main of http:\/\/127\.0\.0\.1:\d+\/remote\.git: .*(Authentication failed|401|could not read Username)/i,
    );
    expect(err?.message).not.toContain(wrong);
    expect(err?.message).not.toContain(Buffer.from(`x-access-token:${wrong}`).toString('base64'));
  });
});
