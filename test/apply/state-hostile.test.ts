/**
 * The state folder as hostile input (issue 38, items 1, 3, 4 and 12): a checkout's
 * `.poolsync/` may hold links, devices, files of the wrong shape or files Git tracks. Each case
 * runs the CLI in such a folder and checks the message (one line, no stack trace, nothing
 * quoted) and that the file outside is untouched.
 */
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  cpSync,
  existsSync,
  linkSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { lockPathFor } from '../../src/apply/lock.js';
import { lastAppliedPathFor, writeLastApplied } from '../../src/apply/last-applied.js';
import { writeFileAtomic } from '../../src/controlplane/embedded/store.js';
import { REPO_ROOT } from '../support/cli.js';
import { runInProcess } from '../support/memory-io.js';
import { nodeForUser } from '../support/node-for-user.js';
import { poolContract } from '../support/builders.js';

const tmp = mkdtempSync(join(tmpdir(), 'poolsync-state-hostile-'));
afterAll(() => {
  chmodRecursive(tmp);
  rmSync(tmp, { recursive: true, force: true });
});

function chmodRecursive(dir: string): void {
  try {
    chmodSync(dir, 0o755);
    for (const e of readdirSync(dir, { withFileTypes: true }))
      if (e.isDirectory()) chmodRecursive(join(dir, e.name));
  } catch {
    // gone already
  }
}

const SECRET = 'TOPSECRET-token-0123456789abcdef';
let n = 0;

/** A config repository (the example) in a fresh folder, with an outside secret beside it. */
function checkout(): { dir: string; secret: string } {
  const dir = join(tmp, `checkout-${++n}`);
  cpSync(join(REPO_ROOT, 'examples/config-repo'), dir, { recursive: true });
  const secret = join(tmp, `secret-${n}`);
  writeFileSync(secret, `${SECRET}\n`, { mode: 0o600 });
  return { dir, secret };
}

function cli(
  cwd: string,
  args: string[],
  options: { uid?: number; env?: Record<string, string | undefined> } = {},
) {
  const r = spawnSync(
    options.uid === undefined ? process.execPath : nodeForUser(options.uid, tmp),
    ['--import', import.meta.resolve('tsx'), join(REPO_ROOT, 'src/cli/main.ts'), ...args],
    {
      cwd,
      encoding: 'utf8',
      env: { ...process.env, POOLSYNC_CONTROL_PLANE: undefined, NO_COLOR: '1', ...options.env },
      // A safety net for a read that never ends (the bug), not a timing assertion.
      timeout: 120_000,
      ...(options.uid !== undefined ? { uid: options.uid, gid: options.uid } : {}),
    },
  );
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, signal: r.signal };
}

/** A clear user error: exit 1, one `Error:` line, no stack, nothing of the secret. */
function expectClearError(r: ReturnType<typeof cli>, pattern: RegExp): void {
  expect(r.signal).toBeNull();
  expect(r.stderr).toMatch(/^Error: /);
  expect(r.stderr).not.toMatch(/Internal error|\n\s+at /);
  expect(r.stderr).not.toContain('TOPSECRET');
  expect(r.stdout).not.toContain('TOPSECRET');
  expect(r.stderr).toMatch(pattern);
  expect(r.code).toBe(1);
}

const apply = ['apply', '.', '--auto-approve'];

describe('item 3: nothing outside the state folder is written', () => {
  it('a journal linked to a token file: apply refuses it, the token file is untouched', () => {
    const { dir, secret } = checkout();
    mkdirSync(join(dir, '.poolsync'));
    symlinkSync(secret, join(dir, '.poolsync', 'control-plane.json.journal'));
    const r = cli(dir, apply);
    expectClearError(r, /control-plane journal .*control-plane\.json\.journal: .*symbolic link/);
    expect(readFileSync(secret, 'utf8')).toBe(`${SECRET}\n`);
  }, 60_000);

  it('links planted at the temporary names of earlier versions (pid-based) receive nothing', async () => {
    const dir = join(tmp, 'tmp-names');
    mkdirSync(dir);
    const victim = join(tmp, 'tmp-names-victim');
    writeFileSync(victim, 'keep');
    const state = join(dir, 'cp.json');
    const record = lastAppliedPathFor(`file:${state}`);
    for (const name of [
      `${state}.tmp-${process.pid}`,
      `${record}.${process.pid}.tmp`,
      join(dir, `.cp.json.poolsync-${process.pid}.tmp`),
    ])
      symlinkSync(victim, name);
    await writeFileAtomic(state, '{}\n');
    const live = {
      pools: [],
      clusters: [],
      queues: [],
      assignments: [],
      capabilities: {
        drain: false,
        queue_delete: false,
        pool_update: false,
        cluster_move: false,
        queue_move: false,
      },
    };
    await writeLastApplied(record, live, null);
    expect(readFileSync(victim, 'utf8')).toBe('keep');
    expect(readFileSync(state, 'utf8')).toBe('{}\n');
    // No temporary file is left behind either.
    expect(
      readdirSync(dir).filter((f) => f.endsWith('.tmp') && !f.includes(`${process.pid}`)),
    ).toEqual([]);
  });
});

describe('item 4: devices, secrets and files of the wrong shape give one clear line', () => {
  it('/dev/zero linked as the state file, its lock, and an apply lock: refused without reading', () => {
    const a = checkout();
    mkdirSync(join(a.dir, '.poolsync'));
    symlinkSync('/dev/zero', join(a.dir, '.poolsync', 'control-plane.json'));
    expectClearError(cli(a.dir, apply), /control-plane state .* symbolic link/);
    expectClearError(cli(a.dir, ['plan', '.']), /control-plane state .* symbolic link/);

    const b = checkout();
    mkdirSync(join(b.dir, '.poolsync'));
    symlinkSync('/dev/zero', join(b.dir, '.poolsync', 'control-plane.json.lock'));
    expectClearError(cli(b.dir, apply), /lock .*control-plane\.json\.lock: .*symbolic link/);

    const c = checkout();
    const url = 'http://127.0.0.1:9/';
    const lock = lockPathFor(url, join(c.dir, '.poolsync'));
    mkdirSync(join(c.dir, '.poolsync', 'locks'), { recursive: true });
    symlinkSync('/dev/zero', lock);
    expectClearError(
      cli(c.dir, [...apply, '--control-plane', url, '--max-retries', '0']),
      /lock .*\.lock: .*symbolic link/,
    );
  }, 120_000);

  it('a state file linked to a secret: the message never quotes it', () => {
    const { dir, secret } = checkout();
    mkdirSync(join(dir, '.poolsync'));
    symlinkSync(secret, join(dir, '.poolsync', 'control-plane.json'));
    expectClearError(cli(dir, ['plan', '.']), /symbolic link/);
    // The same secret as a regular file of the wrong content: "invalid JSON", nothing quoted.
    rmSync(join(dir, '.poolsync', 'control-plane.json'));
    writeFileSync(join(dir, '.poolsync', 'control-plane.json'), `${SECRET}\n`);
    expectClearError(
      cli(dir, ['plan', '.']),
      /not a poolsync control-plane state file \(invalid JSON\)/,
    );
  }, 60_000);

  it('a state file of the wrong shape names the field, for plan and apply', () => {
    const { dir } = checkout();
    mkdirSync(join(dir, '.poolsync'));
    const write = (state: unknown) =>
      writeFileSync(
        join(dir, '.poolsync', 'control-plane.json'),
        JSON.stringify({ format: 'poolsync-control-plane', version: 1, seq: 0, state }),
      );
    write({ pools: 5, clusters: [], queues: [], assignments: [], activity: [] });
    expectClearError(cli(dir, ['plan', '.']), /state\.pools is not a list/);
    write({
      pools: [{ name: 'default', contract: { object_store_ref: {} } }],
      clusters: [],
      queues: [],
      assignments: [],
      activity: [],
    });
    expectClearError(
      cli(dir, apply),
      /state\.pools\[0\]\.contract\.object_store_ref\.uri is missing/,
    );
    writeFileSync(join(dir, '.poolsync', 'control-plane.json'), '[1, 2]');
    expectClearError(cli(dir, ['plan', '.']), /not a poolsync control-plane state file/);
    rmSync(join(dir, '.poolsync', 'control-plane.json'));
    writeFileSync(join(dir, '.poolsync', 'control-plane.json.journal'), '{"seq":1,"op":7}\n');
    expectClearError(cli(dir, ['plan', '.']), /journal is corrupt/);
    // A gap in the numbers, with no writer compacting: said at once, at its line (it was
    // retried for ~17 s as a race with a compaction, then "kept changing while it was read").
    const op = (seq: number, name: string) =>
      JSON.stringify({ seq, op: { op: 'create_pool', name, contract: poolContract() } });
    writeFileSync(
      join(dir, '.poolsync', 'control-plane.json.journal'),
      `${op(1, 'a')}\n${op(3, 'b')}\n`,
    );
    expectClearError(
      cli(dir, ['plan', '.']),
      /control-plane\.json\.journal:2: the control-plane journal is corrupt \(op 3 follows op 1: ops are missing\); restore from a backup\n$/,
    );
  }, 60_000);

  it('a last-applied record of the wrong shape names the field', () => {
    const { dir } = checkout();
    mkdirSync(join(dir, '.poolsync'), { recursive: true });
    writeFileSync(
      join(dir, '.poolsync', 'control-plane.json.last-applied.json'),
      JSON.stringify({ format_version: '1', applied_at: 'x', commit: null, live: { pools: [{}] } }),
    );
    expectClearError(
      cli(dir, ['plan', '.', '--refresh-only']),
      /live\.pools\[0\]\.name is missing/,
    );
  }, 60_000);

  it('a .poolsync folder without permissions: one line naming it', () => {
    const { dir } = checkout();
    mkdirSync(join(dir, '.poolsync'));
    writeFileSync(join(dir, '.poolsync', 'control-plane.json.lock'), '');
    chmodRecursive(tmp); // the child runs as another user when this runs as root
    chmodSync(join(dir, '.poolsync'), 0o000);
    const asUser = process.getuid?.() === 0 ? { uid: 65534 } : {};
    const env = { HOME: tmp };
    for (const args of [apply, ['plan', '.']]) {
      const r = cli(dir, args, { ...asUser, env });
      expectClearError(r, /\.poolsync.*permission denied/);
    }
  }, 60_000);
});

describe('the state folder Git tracks is refused (the state-location decision)', () => {
  const git = (cwd: string, ...args: string[]) =>
    spawnSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.com', ...args], {
      cwd,
      encoding: 'utf8',
    });

  it('a committed .poolsync/control-plane.json (a forged state) or last-applied record is never read', () => {
    const { dir } = checkout();
    git(dir, 'init', '-q');
    mkdirSync(join(dir, '.poolsync'));
    writeFileSync(
      join(dir, '.poolsync', 'control-plane.json'),
      JSON.stringify({
        format: 'poolsync-control-plane',
        version: 1,
        seq: 0,
        state: { pools: [], clusters: [], queues: [], assignments: [], activity: [] },
      }),
    );
    git(dir, 'add', '-f', '.'); // -f: committed against the example's .gitignore, as a forged pull request does
    git(dir, 'commit', '-q', '-m', 'a pull request');
    for (const args of [['plan', '.'], apply]) {
      expectClearError(
        cli(dir, args),
        /\.poolsync\/control-plane\.json is tracked by Git: poolsync never takes its control-plane state from a commit .*git rm -r --cached \.poolsync/,
      );
    }
    // Untracked again (the fix the message gives): the same file is the user's state.
    git(dir, 'rm', '-q', '-r', '--cached', '.poolsync');
    const untracked = cli(dir, ['plan', '.']);
    expect(untracked.stderr).not.toMatch(/tracked by Git/);
    expect(untracked.stdout).toMatch(/^Plan: /m);
  }, 60_000);

  it('a committed apply lock under the state dir is refused', () => {
    const { dir } = checkout();
    git(dir, 'init', '-q');
    const url = 'http://127.0.0.1:9/';
    const lock = lockPathFor(url, join(dir, '.poolsync'));
    mkdirSync(join(dir, '.poolsync', 'locks'), { recursive: true });
    writeFileSync(lock, JSON.stringify({ pid: 1, host: 'ci-elsewhere', since: 'x' }));
    git(dir, 'add', '-f', '.');
    git(dir, 'commit', '-q', '-m', 'a pull request');
    expectClearError(
      cli(dir, [...apply, '--control-plane', url, '--max-retries', '0']),
      /locks\/[0-9a-f]{64}\.lock is tracked by Git/,
    );
    expect(existsSync(lock)).toBe(true);
  }, 60_000);
});

describe('item 12: hard links', () => {
  it('a state file that is a hard link to an outside file is refused; a manifest one is not read or quoted', () => {
    const { dir, secret } = checkout();
    mkdirSync(join(dir, '.poolsync'));
    linkSync(secret, join(dir, '.poolsync', 'control-plane.json'));
    expectClearError(cli(dir, ['plan', '.']), /hard link/);
    rmSync(join(dir, '.poolsync'), { recursive: true });
    linkSync(secret, join(dir, 'pools', 'leak.yaml'));
    const r = cli(dir, ['validate', '.']);
    expect(r.code).toBe(1);
    expect(r.stdout + r.stderr).toMatch(/pools\/leak\.yaml:1:1: .*hard link/);
    expect(r.stdout + r.stderr).not.toContain('TOPSECRET');
  }, 60_000);
});

describe('a state named wrong: the way out names the right one, with the option the command has', () => {
  it('a folder named as the state (file:.poolsync, a typo) names the state files in it, never "remove it"', async () => {
    const { dir } = checkout();
    expect((await runInProcess(apply, {}, dir)).code).toBe(0);
    const before = readdirSync(dir).sort();
    const expected = `Error: control-plane state ${join(dir, '.poolsync')} is a folder, not a state file: name the state file in it, e.g. --control-plane file:.poolsync/control-plane.json (control-plane serve: --state .poolsync/control-plane.json); it holds control-plane.json\n`;
    for (const command of [['plan', '.'], apply]) {
      const r = await runInProcess([...command, '--control-plane', 'file:.poolsync'], {}, dir);
      expect([r.code, r.stderr]).toEqual([1, expected]);
    }
    // Nothing was made beside the folder (a lock of "state" .poolsync).
    expect(readdirSync(dir).sort()).toEqual(before);
  });

  it("a state that is not poolsync's: plan and apply name --control-plane, the option they have (they have no --state)", async () => {
    const { dir } = checkout();
    mkdirSync(join(dir, '.poolsync'));
    writeFileSync(join(dir, '.poolsync', 'control-plane.json'), '[1, 2]');
    for (const command of [['plan', '.'], apply]) {
      const r = await runInProcess(command, {}, dir);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(
        /restore it from a backup, or name another state \(--control-plane file:PATH; control-plane serve and capabilities: --state FILE\)\n$/,
      );
    }
  });
});
