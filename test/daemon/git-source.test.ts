import { execFileSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { cleanup } from '../support/cleanup.js';
import { GitSource, SourceError, type GitSourceOptions } from '../../src/daemon/git-source.js';
import { gitEnvironment } from '../../src/util/git-env.js';
import { git, TestRepo, tempDir } from './helpers.js';
import { supersedable } from '../../src/daemon/stages/context.js';
import { loadRepository } from '../../src/manifests/index.js';
import { cluster, twoEnvironments } from '../environments/helpers.js';
import { until } from '../support/until.js';

const noAuth = {
  token: null,
  username: 'x-access-token',
  sshKeyFile: null,
  sshKnownHostsFile: null,
};

/** A source of `repo`'s main branch, whole, without credentials, unless `o` says otherwise. */
const sourceOf = (
  repo: string,
  checkoutDir: string,
  o: Partial<GitSourceOptions> = {},
): GitSource =>
  new GitSource({
    env: process.env,
    repo,
    branch: 'main',
    path: '.',
    auth: noAuth,
    checkoutDir,
    ...o,
  });

/**
 * A source of REPO's main branch checked out under ROOT/checkout and synced once, whose every
 * later contact with the remote runs the shell `script` as its upload-pack (to count or hold it).
 */
async function throughUploadPack(repo: TestRepo, root: string, script: string): Promise<GitSource> {
  const src = sourceOf(repo.bare, join(root, 'checkout'));
  await src.sync();
  const pack = join(root, 'upload-pack');
  writeFileSync(pack, `#!/bin/sh\n${script}`, { mode: 0o755 });
  git(join(root, 'checkout'), 'config', 'remote.origin.uploadpack', pack);
  return src;
}

describe('GitSource', () => {
  it('clones, records the exact commit, and follows new commits', async () => {
    const repo = new TestRepo();
    cleanup.add(() => repo.cleanup());
    const c1 = repo.commit({ 'pools/a.yaml': 'one\n' });
    const src = sourceOf(repo.bare, join(tempDir(), 'checkout'), { path: 'pools' });
    const s1 = await src.sync();
    expect(s1.commit).toBe(c1);
    expect(readFileSync(join(s1.dir, 'a.yaml'), 'utf8')).toBe('one\n');

    const c2 = repo.commit({ 'pools/a.yaml': 'two\n', 'pools/b.yaml': 'b\n' });
    const s2 = await src.sync();
    expect(s2.commit).toBe(c2);
    expect(readFileSync(join(s2.dir, 'a.yaml'), 'utf8')).toBe('two\n');
    expect(src.last).toEqual(s2);
  });

  it('a newer head supersedes a commit when it changes what it declares, not its documentation; the checkout stays', async () => {
    const repo = new TestRepo();
    cleanup.add(() => repo.cleanup());
    const first = repo.commit({ 'pools/prod.yaml': 'a: 1\n', 'README.md': 'one\n' });
    const source = sourceOf(repo.bare, join(tempDir(), 'checkout'));
    const synced = await source.sync();
    expect(await source.supersedes(first)).toBeNull();
    const docs = repo.commit({ 'README.md': 'two\n', 'docs/notes.txt': 'x\n' });
    expect(await source.supersedes(first)).toBeNull();
    const declares = repo.commit({ 'pools/prod.yaml': null, 'pools/moved.yaml': 'a: 1\n' });
    expect(await source.supersedes(first)).toBe(declares);
    expect(await source.supersedes(docs)).toBe(declares);
    // A run may be reading the checkout: it is still the commit synced, until the next sync.
    expect(git(synced.dir, 'rev-parse', 'HEAD')).toBe(first);
    expect((await source.sync()).commit).toBe(declares);
  });

  it("an environment's apply is superseded only by a head changing what it reads", async () => {
    const repo = new TestRepo();
    cleanup.add(() => repo.cleanup());
    const files = twoEnvironments({ dev: 'http://127.0.0.1:9', prod: 'http://127.0.0.1:10' });
    const inConfig = (f: Record<string, string | null>) =>
      Object.fromEntries(Object.entries(f).map(([k, v]) => [`config/${k}`, v]));
    const first = repo.commit(inConfig(files));
    const source = sourceOf(repo.bare, join(tempDir(), 'checkout'), { path: 'config' });
    const synced = await source.sync();
    const loaded = await loadRepository(synced.dir, { environment: 'prod', commit: first });
    expect(loaded.errors).toEqual([]);
    // The reads reconcile.ts gives an apply of prod's own head.
    const own = { plan: null, liveInventory: undefined, drift: [], applied: null };
    const applying = supersedable(own, first, loaded.desired!.config)!;
    expect(applying.reads).toEqual(['poolsync.yaml', 'base', 'prod', 'prod/patches.yaml']);
    const prod = (commit: string) => source.supersedes(commit, applying.reads);

    const devOnly = repo.commit(inConfig({ 'dev/cluster.yaml': cluster('c-dev2') }));
    expect(await source.supersedes(first)).toBe(devOnly);
    expect(await prod(first)).toBeNull();
    const prodToo = repo.commit(inConfig({ 'prod/cluster.yaml': cluster('c-prod2') }));
    expect(await prod(devOnly)).toBe(prodToo);
    const config = repo.commit(inConfig({ 'poolsync.yaml': `${files['poolsync.yaml']}\n` }));
    expect(await prod(prodToo)).toBe(config);
  });

  it('a rollback and an invalid head’s drift run apply an earlier commit on purpose: never superseded', () => {
    const products = { plan: null, liveInventory: undefined, drift: [], applied: null };
    const config = { prune: false, ignore: [] };
    expect(supersedable(products, 'a'.repeat(40), config)).toEqual({
      commit: 'a'.repeat(40),
      reads: null,
    });
    const invalidHead = {
      commit: 'b'.repeat(40),
      result: 'invalid' as const,
      errors: [],
      errorsTotal: 1,
      base: 'a'.repeat(40),
    };
    expect(supersedable({ ...products, invalidHead }, 'a'.repeat(40), config)).toBeNull();
    const rollback = { to: 3, commit: 'a'.repeat(40) };
    expect(supersedable({ ...products, rollback }, 'a'.repeat(40), config)).toBeNull();
  });

  it('follows a force-push (history rewritten), never merges, and wipes local edits', async () => {
    const repo = new TestRepo();
    cleanup.add(() => repo.cleanup());
    const c1 = repo.commit({ 'a.yaml': 'base\n' });
    repo.commit({ 'a.yaml': 'bad\n', 'junk.yaml': 'x\n' });
    const src = sourceOf(repo.bare, join(tempDir(), 'co'));
    const before = await src.sync();
    // Someone edits the checkout by hand: it must not survive a sync.
    writeFileSync(join(before.dir, 'stray.yaml'), 'stray\n');

    repo.resetTo(c1);
    const c3 = repo.commit({ 'a.yaml': 'rewritten\n' }, 'rewrite', { force: true });
    const after = await src.sync();
    expect(after.commit).toBe(c3);
    expect(readFileSync(join(after.dir, 'a.yaml'), 'utf8')).toBe('rewritten\n');
    expect(existsSync(join(after.dir, 'junk.yaml'))).toBe(false);
    expect(existsSync(join(after.dir, 'stray.yaml'))).toBe(false);
  });

  it('a commit reaches its checkouts with no timer: no git command is followed by a wait (issue 79 item 2)', async () => {
    // simple-git waited 50 ms after each command that printed nothing: the fetch, checkout and
    // clean of every commit (150 ms). With the clock frozen such a wait never ends.
    const repo = new TestRepo();
    cleanup.add(() => repo.cleanup());
    const c1 = repo.commit({ 'a/x.yaml': 'a1\n' });
    const root = tempDir();
    const src = sourceOf(repo.bare, join(root, 'checkout'));
    const env = src.environment(join(root, 'env', 'checkout'));
    await env.sync();
    const c2 = repo.commit({ 'a/x.yaml': 'a2\n' });
    vi.useFakeTimers();
    cleanup.add(() => vi.useRealTimers());
    const synced = await env.sync();
    expect(synced.commit).toBe(c2);
    expect(readFileSync(join(synced.dir, 'a', 'x.yaml'), 'utf8')).toBe('a2\n');
    // An earlier commit, present in the clone, checked out beside the head (a rollback).
    const back = await env.at!(c1);
    expect(readFileSync(join(back.dir, 'a', 'x.yaml'), 'utf8')).toBe('a1\n');
  });

  it('a pushed commit is one process of the daemon, nothing pushed one too (issue 79 item 2)', async () => {
    // Each is a fork of the daemon, whose cost grows with its resident memory: git and sh are
    // wrapped to note the processes the daemon itself starts (their parent is this process).
    const repo = new TestRepo();
    cleanup.add(() => repo.cleanup());
    repo.commit({ 'a.yaml': 'one\n' });
    const root = tempDir();
    const bin = join(root, 'bin');
    const log = join(root, 'started');
    mkdirSync(bin);
    for (const name of ['git', 'sh']) {
      const real = execFileSync('which', [name], { encoding: 'utf8' }).trim();
      const note = `[ "$PPID" = "${process.pid}" ] && echo "$$" >> '${log}'`;
      writeFileSync(join(bin, name), `#!/bin/sh\n${note}\nexec ${real} "$@"\n`, { mode: 0o755 });
    }
    const env = { ...process.env, PATH: `${bin}:${process.env.PATH}` };
    const src = sourceOf(repo.bare, join(root, 'checkout'), { env });
    await src.sync();
    // Processes the daemon started, not those they start (the fetch, checkout and clean).
    const started = () => new Set(readFileSync(log, 'utf8').trim().split('\n')).size;
    const before = started();
    const c2 = repo.commit({ 'a.yaml': 'two\n' });
    expect((await src.sync()).commit).toBe(c2);
    expect(readFileSync(join(src.last!.dir, 'a.yaml'), 'utf8')).toBe('two\n');
    expect(started() - before).toBe(1); // the fetch and the move, in one shell
    await src.sync();
    expect(started() - before).toBe(2); // the fetch, which transfers nothing
  });

  it('a fetch that outlasts the timeout is stopped, and the next sync works', async () => {
    // The sync is one shell (SYNC): a timeout's SIGTERM reaches the fetch it waits for.
    const repo = new TestRepo();
    cleanup.add(() => repo.cleanup());
    repo.commit({ 'a.yaml': 'one\n' });
    const root = tempDir();
    const checkout = join(root, 'checkout');
    await sourceOf(repo.bare, checkout).sync();
    // Only the held sync has a short bound: the others may take what a busy machine takes.
    const src = sourceOf(repo.bare, checkout, { timeoutMs: 1_000 });
    // The remote's upload-pack notes its pid and holds the fetch until it is killed.
    const held = join(root, 'held');
    writeFileSync(join(root, 'pack'), `#!/bin/sh\necho $$ > '${held}'\nexec sleep 600\n`, {
      mode: 0o755,
    });
    git(checkout, 'config', 'remote.origin.uploadpack', join(root, 'pack'));
    await expect(src.sync()).rejects.toThrow(
      /^cannot fetch branch main of \S+: git fetch did not finish within 1\.0s and was stopped \(the remote stalled or is too slow\): check the URL, the network or a proxy; the bound is --git-timeout, 1\.0s \(docs\/daemon\.md#the-git-source\)$/,
    );
    const pack = Number(readFileSync(held, 'utf8'));
    // Running, not a zombie its reparenting left unreaped.
    const alive = (pid: number) => {
      try {
        return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
      } catch {
        return false;
      }
    };
    cleanup.add(() => void (alive(pack) && process.kill(pack)));
    // Stopped with the fetch's process group: a local remote's upload-pack is in it.
    await until('its upload-pack stopped', () => (alive(pack) ? null : true));
    // No git fetch is left running in the checkout.
    const fetching = () =>
      readdirSync('/proc')
        .filter((p) => /^\d+$/.test(p))
        .some((p) => {
          try {
            const cmd = readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0');
            return cmd.includes('fetch') && readlinkSync(`/proc/${p}/cwd`) === checkout;
          } catch {
            return false;
          }
        });
    await until('the fetch stopped', () => (fetching() ? null : true));
    git(checkout, 'config', '--unset', 'remote.origin.uploadpack');
    const c2 = repo.commit({ 'a.yaml': 'two\n' });
    expect((await sourceOf(repo.bare, checkout).sync()).commit).toBe(c2);
  });

  it('an unreachable remote is a SourceError naming the branch, and keeps the last good snapshot', async () => {
    const repo = new TestRepo();
    cleanup.add(() => repo.cleanup());
    repo.commit({ 'a.yaml': 'x\n' });
    const checkoutDir = join(tempDir(), 'co');
    const ok = sourceOf(repo.bare, checkoutDir);
    const good = await ok.sync();
    repo.cleanup(); // the remote disappears
    await expect(ok.sync()).rejects.toThrow(SourceError);
    await expect(ok.sync()).rejects.toThrow(/cannot fetch branch main/);
    expect(ok.last).toEqual(good);
    expect(readFileSync(join(good.dir, 'a.yaml'), 'utf8')).toBe('x\n');
  });

  it('environments of one repository share a remote read and a fetch, each in its own worktree', async () => {
    const repo = new TestRepo();
    cleanup.add(() => repo.cleanup());
    repo.commit({ 'a/x.yaml': 'a1\n', 'b/x.yaml': 'b1\n' });
    const root = tempDir();
    // Every contact with the remote (a fetch) runs its upload-pack: counted.
    const contacts = join(root, 'contacts');
    const src = await throughUploadPack(
      repo,
      root,
      `echo x >> '${contacts}'\nexec git-upload-pack "$@"\n`,
    );
    const count = () => (existsSync(contacts) ? readFileSync(contacts, 'utf8').length / 2 : 0);
    // Environment b had a clone of its own (as before): it becomes a worktree.
    git(root, 'clone', '--quiet', repo.bare, join(root, 'b', 'checkout'));
    const a = src.environment(join(root, 'a', 'checkout'));
    const b = src.environment(join(root, 'b', 'checkout'));

    const c2 = repo.commit({ 'a/x.yaml': 'a2\n', 'b/x.yaml': 'b2\n' });
    const [sa, sb] = await Promise.all([a.sync(), b.sync()]);
    expect([sa.commit, sb.commit]).toEqual([c2, c2]);
    expect(count()).toBe(1); // one fetch: for both
    expect(sa.root).toBe(join(root, 'a', 'checkout'));
    expect(readFileSync(join(sa.dir, 'a', 'x.yaml'), 'utf8')).toBe('a2\n');
    expect(readFileSync(join(sb.dir, 'b', 'x.yaml'), 'utf8')).toBe('b2\n');
    expect(statSync(join(sb.root!, '.git')).isFile()).toBe(true);
    // Nothing pushed: one remote read for both.
    await Promise.all([a.sync(), b.sync()]);
    expect(count()).toBe(2);

    // Each its own: a moves on while b, not synced, keeps reading its commit.
    writeFileSync(join(sa.dir, 'stray.yaml'), 'stray\n');
    const c3 = repo.commit({ 'a/x.yaml': 'a3\n' });
    expect((await a.sync()).commit).toBe(c3);
    expect(readFileSync(join(sa.dir, 'a', 'x.yaml'), 'utf8')).toBe('a3\n');
    expect(existsSync(join(sa.dir, 'stray.yaml'))).toBe(false);
    expect(readFileSync(join(sb.dir, 'a', 'x.yaml'), 'utf8')).toBe('a2\n');
  });

  it('an environment’s tip is read in a copy of its own, which clean leaves to its read; beside the checkout only what this clone made goes', async () => {
    const repo = new TestRepo();
    cleanup.add(() => repo.cleanup());
    const c1 = repo.commit({ 'a/x.yaml': 'a1\n' });
    const root = tempDir();
    const a = sourceOf(repo.bare, join(root, 'checkout')).environment(join(root, 'a', 'checkout'));
    await a.sync();
    await a.at!(c1);
    // A worktree of that name that another clone made (an operator's) stays.
    git(repo.work, 'worktree', 'add', '--quiet', '--detach', join(root, 'a', 'checkout-tip'));
    const beside = () => readdirSync(join(root, 'a')).sort();
    const read = await a.tip!(async (tip) => {
      await a.clean!();
      expect(beside()).toEqual([
        'checkout',
        'checkout-tip',
        expect.stringMatching(/^checkout-tip\.[0-9a-f]{6}$/),
      ]);
      return readFileSync(join(tip!.dir, 'a', 'x.yaml'), 'utf8');
    });
    expect(read).toBe('a1\n');
    expect(beside()).toEqual(['checkout', 'checkout-tip']);
    expect(git(join(root, 'checkout'), 'worktree', 'list', '--porcelain')).not.toMatch(/-rollback/);
    // Checked out again when a rollback needs it.
    expect(readFileSync(join((await a.at!(c1)).dir, 'a', 'x.yaml'), 'utf8')).toBe('a1\n');
  });

  it('a sync requested after a push never shares a remote read made before it', async () => {
    const repo = new TestRepo();
    cleanup.add(() => repo.cleanup());
    const c1 = repo.commit({ 'a/x.yaml': 'a1\n' });
    const root = tempDir();
    // Each contact with the remote answers, says so, then waits for the gate: a sync whose
    // remote read is done is held in flight.
    const read = join(root, 'read');
    const gate = join(root, 'gate');
    const src = await throughUploadPack(
      repo,
      root,
      `git-upload-pack "$@"\necho x >> '${read}'\nwhile [ ! -e '${gate}' ]; do sleep 0.05; done\n`,
    );
    const a = src.environment(join(root, 'a', 'checkout'));
    const b = src.environment(join(root, 'b', 'checkout'));

    const first = a.sync(performance.now());
    await until('the first sync read the remote', () => existsSync(read));
    const requested = performance.now();
    const c2 = repo.commit({ 'a/x.yaml': 'a2\n' });
    const second = b.sync(requested);
    writeFileSync(gate, '');
    expect((await first).commit).toBe(c1);
    expect((await second).commit).toBe(c2);
  });

  it('a missing branch is a clear error', async () => {
    const repo = new TestRepo();
    cleanup.add(() => repo.cleanup());
    repo.commit({ 'a.yaml': 'x\n' });
    const src = sourceOf(repo.bare, join(tempDir(), 'co'), { branch: 'nope' });
    await expect(src.sync()).rejects.toThrow(/branch nope.*(couldn't find remote ref|not found)/i);
  });

  it('an HTTPS token never appears in errors, and URL userinfo is scrubbed', async () => {
    const token = 'ghp_SuperSecretToken123456';
    const src = sourceOf('http://someone@127.0.0.1:1/org/repo.git', join(tempDir(), 'co'), {
      auth: { ...noAuth, token },
    });
    const err = await src.sync().then(
      () => null,
      (e: Error) => e,
    );
    expect(err).toBeInstanceOf(SourceError);
    expect(err!.message).not.toContain(token);
    expect(err!.message).not.toContain(Buffer.from(`x-access-token:${token}`).toString('base64'));
    expect(err!.message).not.toContain('someone@');
    expect(err!.message).toContain('http://***@127.0.0.1:1/org/repo.git');
  });
});

describe.skipIf(!existsSync('/usr/bin/ssh'))('GitSource over SSH', () => {
  it('runs git with the key through GIT_SSH_COMMAND (not refused by simple-git), and reports ssh failures cleanly', async () => {
    const dir = tempDir();
    const key = join(dir, 'id_test');
    writeFileSync(key, 'not really a key\n', { mode: 0o600 });
    const src = sourceOf('ssh://git@127.0.0.1:1/acme/pools.git', join(dir, 'co'), {
      auth: { ...noAuth, sshKeyFile: key },
    });
    const err = await src.sync().then(
      () => null,
      (e: Error) => e,
    );
    expect(err).toBeInstanceOf(SourceError);
    expect(err!.message).not.toMatch(/unsafe/i);
    expect(err!.message).toMatch(
      /cannot fetch branch main of ssh:\/\/\*\*\*@127\.0\.0\.1:1\/acme\/pools\.git: .*(Connection refused|Could not read from remote|ssh)/i,
    );
  });
});

describe('gitEnvironment', () => {
  it('puts the token in a header scoped to the origin, through GIT_CONFIG_* (never argv or URL)', () => {
    const env = gitEnvironment(
      'https://github.com/acme/pools.git',
      { ...noAuth, token: 'tok' },
      { PATH: '/bin', GIT_PAGER: 'evil' },
      '/s/co',
    );
    expect(env.GIT_CONFIG_KEY_0).toBe('http.https://github.com/.extraHeader');
    expect(env.GIT_CONFIG_VALUE_0).toBe(
      `Authorization: Basic ${Buffer.from('x-access-token:tok').toString('base64')}`,
    );
    expect(env.GIT_TERMINAL_PROMPT).toBe('0');
    expect(env.PATH).toBe('/bin');
    expect(env.GIT_PAGER).toBeUndefined();
  });

  it('uses the SSH key through GIT_SSH_COMMAND with strict host checking when a known_hosts file is given', () => {
    const env = gitEnvironment(
      'git@github.com:acme/pools.git',
      { ...noAuth, sshKeyFile: "/keys/my id's", sshKnownHostsFile: '/keys/kh' },
      {},
      '/s/co',
    );
    // ssh splits the command as a shell does: a path is one word, quoted when it needs it.
    expect(env.GIT_SSH_COMMAND).toContain(`-i '/keys/my id'\\''s' `);
    expect(env.GIT_SSH_COMMAND).toContain('UserKnownHostsFile=/keys/kh');
    expect(env.GIT_SSH_COMMAND).toContain('StrictHostKeyChecking=yes');
    expect(env.GIT_CONFIG_COUNT).toBeUndefined();
  });
});

/** A TCP server that accepts and never answers, counting its connections. */
async function silentServer(): Promise<{ url: string; accepted: Socket[] }> {
  const accepted: Socket[] = [];
  const server = createServer((s) => void accepted.push(s));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanup.add(() => {
    for (const s of accepted) s.destroy();
    server.close();
  });
  const { port } = server.address() as { port: number };
  return { url: `http://127.0.0.1:${port}/repo.git`, accepted };
}

describe('GitSource and a remote that never answers', () => {
  it('the time bound stops the fetch and says so, never the script; the failure is not waited for twice', async () => {
    const { url, accepted } = await silentServer();
    const source = sourceOf(url, join(tempDir(), 'checkout'), { timeoutMs: 1_000 });
    const asked = performance.now();
    const err = await source.sync(asked).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SourceError);
    expect(String((err as Error).message)).toBe(
      `cannot fetch branch main of ${url}: git fetch did not finish within 1.0s and was stopped (the remote stalled or is too slow): check the URL, the network or a proxy; the bound is --git-timeout, 1.0s (docs/daemon.md#the-git-source)`,
    );
    expect(accepted).toHaveLength(1);
    // Asked before that fetch started: its failure answers at once, as the fetch in flight would.
    await expect(source.sync(asked)).rejects.toBe(err);
    expect(accepted).toHaveLength(1);
    // Asked after it: the remote is tried again.
    await expect(source.sync(performance.now())).rejects.toThrow(/did not finish within 1\.0s/);
    expect(accepted).toHaveLength(2);
  });

  it('the start’s callers share the start’s failed fetch; a caller naming no moment never takes a failure', async () => {
    const { url, accepted } = await silentServer();
    const source = sourceOf(url, join(tempDir(), 'checkout'), { timeoutMs: 1_000 });
    const err = await source.sync('start').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SourceError);
    // The first run (docs/daemon.md#the-git-source): the start's failure, without fetching again.
    await expect(source.sync('start')).rejects.toBe(err);
    expect(accepted).toHaveLength(1);
    // Any other caller: that failure may be of long ago, so the remote is tried again.
    const again = await source.sync().catch((e: unknown) => e);
    expect(again).toBeInstanceOf(SourceError);
    expect(again).not.toBe(err);
    expect(accepted).toHaveLength(2);
  });

  it('a remote that answers at once is not a time bound: git’s own words, and what to check', async () => {
    const http = createHttpServer((_req, res) => res.writeHead(404).end('no such repository\n'));
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    cleanup.add(() => void http.close());
    const url = `http://127.0.0.1:${(http.address() as { port: number }).port}/repo.git`;
    const source = sourceOf(url, join(tempDir(), 'checkout'), { timeoutMs: 60_000 });
    const err = String(((await source.sync().catch((e: unknown) => e)) as Error).message);
    expect(err.startsWith(`cannot fetch branch main of ${url}: fatal: `)).toBe(true);
    expect(err).toMatch(/; check --repo, --branch and the Git credentials/);
    expect(err).not.toMatch(/did not finish|trap|sh -c|Command failed/);
  });
});

describe('GitSource.stop (a shutdown)', () => {
  it('stops a fetch from a remote that never answers, and none starts after', async () => {
    const sockets: Socket[] = [];
    let accept = () => {};
    const accepted = new Promise<void>((resolve) => (accept = resolve));
    const server = createServer((s) => (sockets.push(s), accept()));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanup.add(() => {
      for (const s of sockets) s.destroy();
      server.close();
    });
    const { port } = server.address() as { port: number };
    const source = sourceOf(`http://127.0.0.1:${port}/repo.git`, join(tempDir(), 'checkout'));
    const fetching = source.sync().catch((e: unknown) => e);
    await accepted;
    source.stop();
    const err = await fetching;
    expect(err).toBeInstanceOf(SourceError);
    expect(String(err)).toMatch(/cannot fetch branch main of http:\/\/127\.0\.0\.1:\d+\/repo\.git/);
    expect(await source.sync().catch((e: unknown) => e)).toBeInstanceOf(SourceError);
    expect(sockets).toHaveLength(1);
  });
});
