/**
 * What a user gives that is not what it should be: a file where a folder goes (`init`, `export
 * --dir`, `render --out`'s folder, `plan --out`'s), a folder where a file goes, a daemon
 * address that is no http(s) URL or carries a password, a token no HTTP header can carry. Each
 * is one line saying which and what it is, never an internal error with a stack or a transport
 * code; a password or token given is never shown. Found by a sweep of every command and option
 * over odd values (27 Nov).
 */
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../support/cli.js';
import { runInProcess, type CliResult } from '../support/memory-io.js';
import { servedControlPlane } from '../support/served-control-plane.js';

const tmp = mkdtempSync(join(tmpdir(), 'poolsync-odd-inputs-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const repo = join(tmp, 'repo');
cpSync(join(REPO_ROOT, 'examples/config-repo'), repo, { recursive: true });
const file = join(tmp, 'a-file');
writeFileSync(file, 'not a folder\n');
const folder = join(tmp, 'a-folder');
mkdirSync(folder);
const controlPlane = `file:${join(tmp, 'cp.json')}`;

const poolsync = (args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> =>
  runInProcess(args, env, tmp);

/** A control plane the example was applied to: an export of it writes files. */
let applied: Promise<string> | undefined;
const exportable = () =>
  (applied ??= (async () => {
    const url = `file:${join(tmp, 'applied.json')}`;
    const r = await poolsync(['apply', repo, '--control-plane', url, '--auto-approve']);
    expect(r.code, r.stderr).toBe(0);
    return url;
  })());

/** Refused with exit 1 and one `Error:` line, which `said` matches. */
function expectRefused(r: CliResult, said: RegExp): void {
  const context = `${r.stdout}\n${r.stderr}`;
  expect(r.code, context).toBe(1);
  expect(r.stderr, context).not.toMatch(/Internal error|\n\s+at /);
  expect(r.stderr.trimEnd().split('\n'), context).toEqual([expect.stringMatching(/^Error: /)]);
  expect(r.stderr, context).toMatch(said);
}

describe('a file where a folder goes, a folder where a file goes', () => {
  const notAFolder = (path: string) =>
    new RegExp(`cannot write into the folder ${path}: it is a file, not a folder`);
  const fileInPath = (path: string) =>
    new RegExp(`cannot write into the folder ${path}: a folder in its path is a file`);

  it('init FILE and init FILE/sub', async () => {
    expectRefused(await poolsync(['init', file]), notAFolder(file));
    expectRefused(await poolsync(['init', join(file, 'sub')]), fileInPath(join(file, 'sub')));
  });

  it('export --dir FILE', async () => {
    const r = await poolsync(['export', '--dir', file, '--control-plane', await exportable()]);
    expectRefused(r, notAFolder(file));
  });

  it("render --out: a file in the output's path, or a folder as the output", async () => {
    const render = (out: string) => poolsync(['render', 'union-cluster-pools', repo, '--out', out]);
    expectRefused(await render(join(file, 'values.yaml')), notAFolder(file));
    expectRefused(
      await render(folder),
      new RegExp(`cannot write ${folder}: it is a folder, not a file`),
    );
  });

  it('plan --out: a file in its path, a folder, a folder that does not exist', async () => {
    const plan = (out: string) =>
      poolsync(['plan', repo, '--control-plane', controlPlane, '--out', out]);
    const cases: [string, string][] = [
      [join(file, 'plan.json'), 'cannot save the plan to PATH: a folder in its path is a file'],
      // Refused before planning: a plan is saved only to a regular file (docs/plan.md).
      [folder, '--out PATH is a folder, not a regular file'],
      [
        join(tmp, 'missing', 'plan.json'),
        'cannot save the plan to PATH: the folder it goes in does not exist',
      ],
    ];
    for (const [out, words] of cases)
      expectRefused(await plan(out), new RegExp(words.replace('PATH', out)));
  });

  it('a link to a folder is the folder (export --dir LINK, and a folder below it)', async () => {
    const link = join(tmp, 'link-to-folder');
    symlinkSync(folder, link);
    for (const dir of [link, join(link, 'below')]) {
      const r = await poolsync(['export', '--dir', dir, '--control-plane', controlPlane]);
      expect([r.code, r.stderr]).toEqual([0, '']);
    }
  });

  // Node's own `mkdir(…, { recursive: true })` retries forever where mkdir answers ENOENT under
  // a folder that exists (/proc): these commands never ended (safe-file.ts makeFolders).
  it.skipIf(!existsSync('/proc/self'))(
    'a folder that cannot be made (under /proc): init, export --dir, render --out end refused',
    async () => {
      const under = '/proc/poolsync-odd-inputs';
      const cannot = (path: string) =>
        new RegExp(`cannot write into the folder ${path}: the folder it goes in does not exist`);
      expectRefused(await poolsync(['init', under]), cannot(under));
      const exported = [
        'export',
        '--dir',
        join(under, 'out'),
        '--control-plane',
        await exportable(),
      ];
      expectRefused(await poolsync(exported), cannot(join(under, 'out')));
      const rendered = ['render', 'union-cluster-pools', repo, '--out', join(under, 'v.yaml')];
      expectRefused(await poolsync(rendered), cannot(under));
    },
  );
});

describe('a state folder that cannot be made', () => {
  // A control plane that keeps no records itself: apply keeps its lock under --state-dir.
  const apply = async (stateDir: string) =>
    poolsync([
      'apply',
      repo,
      '--auto-approve',
      '--control-plane',
      (await servedControlPlane()).url,
      '--state-dir',
      stateDir,
    ]);

  it('a file in its path: said in words (it was "cannot take the lock …: ENOTDIR")', async () => {
    const under = join(file, 'state');
    expectRefused(
      await apply(under),
      new RegExp(`cannot use the folder ${under}: a folder in its path is a file`),
    );
  });

  it.skipIf(!existsSync('/proc/self'))('under /proc: said in words (it was "ENOENT")', async () => {
    expectRefused(
      await apply('/proc/poolsync-odd-state'),
      /cannot use the folder \/proc\/poolsync-odd-state: the folder it goes in does not exist/,
    );
  });
});

describe("a daemon's address", () => {
  for (const command of [['status'], ['history'], ['approve'], ['sync'], ['rollback', '3']])
    it(`${command[0]} --daemon that is no http(s) URL`, async () => {
      const r = await poolsync([...command, '--daemon', 'daemon.internal']);
      expectRefused(
        r,
        /--daemon "daemon\.internal" is not a daemon's address: give its http\(s\) URL, as http:\/\/127\.0\.0\.1:8080/,
      );
    });

  it('POOLSYNC_DAEMON_URL is named when it is the one', async () => {
    const env = { POOLSYNC_DAEMON_URL: 'ftp://daemon.internal' };
    const r = await poolsync(['status'], env);
    expectRefused(r, /POOLSYNC_DAEMON_URL "ftp:\/\/daemon\.internal" is not a daemon's address/);
    // state show asks it which run last changed the object: that line only is lost, said so.
    const cp = `file:${join(tmp, 'shown.json')}`;
    expect((await poolsync(['apply', repo, '--control-plane', cp, '--auto-approve'])).code).toBe(0);
    const shown = await poolsync(
      ['state', 'show', 'Queue/batch', repo, '--control-plane', cp],
      env,
    );
    expect(shown.code).toBe(0);
    expect(shown.stderr).toMatch(
      /^POOLSYNC_DAEMON_URL "ftp:\/\/daemon\.internal" is not a daemon's address: .*: not saying which run last changed Queue\/batch\n$/,
    );
  });

  it('a password in --daemon is refused before anything is sent, and never shown', async () => {
    const r = await poolsync(['status', '--daemon', 'http://admin:s3cret-pw@127.0.0.1:1']);
    expectRefused(
      r,
      /--daemon carries a password or token \(user:secret@\); remove it from the URL and give the admin token in POOLSYNC_ADMIN_TOKEN or --admin-token-file/,
    );
    expect(r.stdout + r.stderr).not.toContain('s3cret-pw');
  });
});

it('check shows the control-plane URL it refuses for a password without the password', async () => {
  const r = await poolsync([
    'check',
    repo,
    '--control-plane',
    'http://admin:s3cret-pw@127.0.0.1:1',
  ]);
  expect(r.code).toBe(1);
  expect(r.stdout).toMatch(
    /✗ control plane http:\/\/\*\*\*@127\.0\.0\.1:1: the control plane URL carries a password/,
  );
  expect(r.stdout + r.stderr).not.toContain('s3cret-pw');
});

describe('a token no HTTP header can carry is refused before anything is sent', () => {
  // A closed port: a token that passed would be "cannot reach", not this refusal.
  const closed = 'http://127.0.0.1:1';
  const cases: [string, string[], NodeJS.ProcessEnv, RegExp][] = [
    [
      'POOLSYNC_TOKEN',
      ['plan', repo, '--control-plane', closed],
      { POOLSYNC_TOKEN: 'tök-ën-1' },
      /^Error: POOLSYNC_TOKEN holds/,
    ],
    [
      'POOLSYNC_ADMIN_TOKEN',
      ['sync', '--daemon', closed],
      { POOLSYNC_ADMIN_TOKEN: 'two words' },
      /^Error: POOLSYNC_ADMIN_TOKEN holds/,
    ],
    [
      'GITHUB_TOKEN',
      [
        'plan',
        repo,
        '--control-plane',
        controlPlane,
        '--comment',
        'github',
        '--repo',
        'o/r',
        '--pr',
        '1',
      ],
      { GITHUB_TOKEN: 'ghp_x\u00a0y0123' },
      /^Error: GITHUB_TOKEN holds/,
    ],
  ];
  for (const [name, args, env, said] of cases)
    it(name, async () => {
      const r = await poolsync(args, env);
      expectRefused(r, said);
      expect(r.stderr).toMatch(/a character an HTTP header cannot carry .*: give the token alone/);
    });

  it('a token file with a space in its token', async () => {
    const tokenFile = join(tmp, 'token');
    writeFileSync(tokenFile, 'abc def ghi\n');
    const r = await poolsync(['plan', repo, '--control-plane', closed, '--token-file', tokenFile]);
    expectRefused(r, new RegExp(`^Error: the token file ${tokenFile} holds a character`));
    expect(r.stderr).not.toContain('abc def ghi');
  });
});
