/**
 * A hand-tester's small finds: `--token abc` was a plain `Unknown option --token.`;
 * `control-plane capabilities --set drain,clustr_move` blamed `--capabilities:`; `plan --comment
 * github` in a `git init` repository without commits said it was not in a Git repository;
 * `status --daemon` given a control plane's URL said only `answered HTTP 401`.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EmbeddedControlPlane } from '../../src/controlplane/embedded/embedded.js';
import { runInProcess } from '../support/memory-io.js';
import { servedControlPlane } from '../support/served-control-plane.js';
import { tempDir, writeRepo } from '../support/repo.js';

describe('small hints', () => {
  it('a secret given as a flag names its file option and variable, never the value', async () => {
    const root = await tempDir();
    const cases = [
      [
        ['plan', '.', '--token', 'abc'],
        'Unknown option --token: poolsync never takes a secret as a flag value (it would show in `ps` and the shell history): pass --token-file FILE, or set POOLSYNC_TOKEN.',
      ],
      [
        ['apply', '.', '--token=abc'],
        'Unknown option --token: poolsync never takes a secret as a flag value (it would show in `ps` and the shell history): pass --token-file FILE, or set POOLSYNC_TOKEN.',
      ],
      [
        ['sync', '--admin-token', 'abc'],
        'Unknown option --admin-token: poolsync never takes a secret as a flag value (it would show in `ps` and the shell history): pass --admin-token-file FILE, or set POOLSYNC_ADMIN_TOKEN.',
      ],
      [
        ['sync', '--token', 'abc'],
        'Unknown option --token: poolsync never takes a secret as a flag value (it would show in `ps` and the shell history): pass --admin-token-file FILE, or set POOLSYNC_ADMIN_TOKEN.',
      ],
      [
        ['daemon', '--git-token', 'abc'],
        'Unknown option --git-token: poolsync never takes a secret as a flag value (it would show in `ps` and the shell history): pass --git-token-file FILE, or set POOLSYNC_GIT_TOKEN.',
      ],
      [
        ['plan', '.', '--api-key', 'abc'],
        'Unknown option --api-key: poolsync never takes a secret as a flag value (it would show in `ps` and the shell history): pass --api-key-file FILE, or set POOLSYNC_UNION_API_KEY.',
      ],
    ] as const;
    for (const [argv, line] of cases) {
      const r = await runInProcess([...argv], {}, root);
      expect(r.code, argv.join(' ')).toBe(1);
      expect(r.stderr.split('\n')[0], argv.join(' ')).toBe(`Error: ${line}`);
      expect(r.stderr).not.toContain('abc');
    }
  });

  it('capabilities --set: its own flag is named, with the closest capability', async () => {
    const state = join(await tempDir(), 'cp.json');
    await (await EmbeddedControlPlane.open({ path: state })).close();
    const r = await runInProcess(
      ['control-plane', 'capabilities', '--state', state, '--set', 'drain,clustr_move'],
      {},
    );
    expect(r.stderr).toBe(
      'Error: --set: unknown capability "clustr_move" (did you mean cluster_move?): use a comma-separated list of drain, queue_delete, cluster_move, pool_update, queue_move, soft_delete, default_delete, unpin_first (or "none")\n',
    );
    expect(r.code).toBe(1);
  });

  it('plan --comment in a repository with no commit yet says so', async () => {
    const repo = await writeRepo(join(await tempDir(), 'repo'), { pools: ['prod'] });
    execFileSync('git', ['init', '--quiet', repo]);
    const cp = `file:${join(repo, '..', 'cp.json')}`;
    const r = await runInProcess(
      ['plan', '--control-plane', cp, '--comment', 'github', '--repo', 'acme/pools', '--pr', '1'],
      { GITHUB_TOKEN: 'ghp_test' },
      repo,
    );
    expect(r.stderr).toBe(
      'Error: --comment needs the commit the plan is for: the Git repository of . has no commit yet; commit the manifests first, or pass --commit SHA.\n',
    );
    expect(r.code).toBe(1);
  });

  it('--daemon naming a control plane says it is one, and where each URL goes', async () => {
    const guarded = await servedControlPlane({ token: 'cp-token-for-this-test' });
    const open = await servedControlPlane();
    const cases: [string, string[], NodeJS.ProcessEnv][] = [
      [`${guarded.url}/status answered HTTP 401 (UNAUTHENTICATED)`, ['status'], {}],
      [`${open.url}/status answered HTTP 404 (NOT_FOUND)`, ['status'], {}],
      // Without the admin token too: the URL is what is wrong, not the token.
      [`${guarded.url}/status answered HTTP 401 (UNAUTHENTICATED)`, ['sync'], {}],
      [
        `${guarded.url}/reconcile answered HTTP 401 (UNAUTHENTICATED)`,
        ['sync'],
        { POOLSYNC_ADMIN_TOKEN: 'admin-token-for-this-test' },
      ],
    ];
    for (const [said, command, env] of cases) {
      const url = said.slice(0, said.indexOf('/', 'http://'.length));
      const r = await runInProcess([...command, '--daemon', url], env);
      expect(r.stderr).toBe(
        `Error: ${said} as a control plane does, not as a poolsync daemon: --daemon (its status address; env POOLSYNC_DAEMON_URL) must be the daemon's own address, which \`poolsync daemon\` prints as it starts (default http://127.0.0.1:8080); a control plane's URL is for --control-plane (plan, apply)\n`,
      );
      expect(r.code).toBe(1);
    }
  });
});
