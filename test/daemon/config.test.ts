import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveDaemonConfig } from '../../src/daemon/config.js';
import { formatDuration, parseDuration } from '../../src/util/duration.js';
import { tempDir } from './helpers.js';

const base = { cwd: '/srv', env: {} as Record<string, string> };

describe('durations', () => {
  it('parses 30s, 1m, 10m, 1h30m, 500ms and rejects bare numbers and junk', () => {
    expect(parseDuration('30s')).toBe(30_000);
    expect(parseDuration('1m')).toBe(60_000);
    expect(parseDuration('10m')).toBe(600_000);
    expect(parseDuration('1h30m')).toBe(5_400_000);
    expect(parseDuration('500ms')).toBe(500);
    expect(parseDuration('1.5s')).toBe(1500);
    expect(parseDuration('60')).toBeNull();
    expect(parseDuration('1 m')).toBeNull();
    expect(parseDuration('tenm')).toBeNull();
    expect(formatDuration(90_000)).toBe('1m30s');
  });
});

describe('resolveDaemonConfig', () => {
  it('leader election: a longest write the lease timings and the takeover wait do not cover is refused in one line, saying what to set', async () => {
    const flags = {
      repo: 'https://example.com/r.git',
      'leader-elect': true,
      'leader-election-longest-write': '25s',
    };
    const refused = await resolveDaemonConfig({ ...base, flags }).catch((e: Error) => e);
    expect((refused as Error).message).toBe(
      '--leader-election-renew-deadline (10000ms) + --leader-election-longest-write (25000ms) must be at most --leader-election-lease-duration (15000ms) + --leader-election-takeover-wait (0ms), or a deposed leader\'s write could land after its successor\'s first: set --leader-election-takeover-wait to 20000ms or more, or raise the lease duration by as much (docs/daemon.md, "Nothing runs twice").',
    );
    const c = await resolveDaemonConfig({
      ...base,
      flags: { ...flags, 'leader-election-takeover-wait': '20s' },
    });
    expect(c.leaderElection).toMatchObject({ longestWriteMs: 25_000, takeoverWaitMs: 20_000 });
    // Without them: the timings as before, no wait.
    const plain = await resolveDaemonConfig({
      ...base,
      flags: { repo: flags.repo, 'leader-elect': true },
    });
    expect(plain.leaderElection).toMatchObject({
      leaseDurationMs: 15_000,
      renewDeadlineMs: 10_000,
    });
    expect(plain.leaderElection!.takeoverWaitMs).toBeUndefined();
  });

  it('defaults: branch main, path ., 1m poll, 10m drift, loopback 8080, policy safe, parallelism 8, 30m wait', async () => {
    const c = await resolveDaemonConfig({ ...base, flags: { repo: 'https://example.com/r.git' } });
    expect(c.source).toMatchObject({
      kind: 'git',
      repo: 'https://example.com/r.git',
      branch: 'main',
      path: '.',
    });
    expect(c.pollIntervalMs).toBe(60_000);
    expect(c.driftIntervalMs).toBe(600_000);
    expect(c.listen).toEqual({ host: '127.0.0.1', port: 8080 });
    expect(c.policy).toBe('safe');
    expect(c.parallelism).toBe(8);
    expect(c.waitTimeoutMs).toBe(1_800_000);
    expect(c.stateDir).toBe('/srv/.poolsync/daemon');
    expect(c.controlPlane).toEqual({ url: 'file:.poolsync/control-plane.json', token: null });
  });

  it('flags win over env, env over the config file, file over defaults', async () => {
    const dir = tempDir();
    const file = join(dir, 'poolsync-daemon.yaml');
    writeFileSync(
      file,
      'repo: https://file/r.git\nbranch: from-file\npoll-interval: 5m\npolicy: none\nstate-dir: state\n',
    );
    const c = await resolveDaemonConfig({
      cwd: '/srv',
      configFile: file,
      env: { POOLSYNC_BRANCH: 'from-env', POOLSYNC_POLL_INTERVAL: '2m' },
      flags: { 'poll-interval': '30s' },
    });
    expect(c.source).toMatchObject({ repo: 'https://file/r.git', branch: 'from-env' });
    expect(c.pollIntervalMs).toBe(30_000);
    expect(c.policy).toBe('none');
    expect(c.stateDir).toBe(join(dir, 'state')); // relative to the config file
  });

  it('secrets come from env or files, a *_FILE wins over the inherited value', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'gh'), 'file-secret\n');
    const c = await resolveDaemonConfig({
      cwd: dir,
      flags: { repo: 'r' },
      env: {
        POOLSYNC_TOKEN: 'cp-token',
        POOLSYNC_GITHUB_WEBHOOK_SECRET: 'env-secret',
        POOLSYNC_GITHUB_WEBHOOK_SECRET_FILE: 'gh',
        POOLSYNC_GITLAB_WEBHOOK_TOKEN: 'gl-webhook-token',
        POOLSYNC_RECONCILE_TOKEN: 'reconcile-token',
        POOLSYNC_GIT_TOKEN: 'git-token-1',
      },
    });
    expect(c.controlPlane.token).toBe('cp-token');
    expect(c.githubWebhookSecret).toBe('file-secret');
    expect(c.gitlabWebhookToken).toBe('gl-webhook-token');
    expect(c.reconcileToken).toBe('reconcile-token');
    expect(c.source.kind === 'git' && c.source.auth.token).toBe('git-token-1');
  });

  it('a control-plane token file that does not exist is named by where it was set', async () => {
    const dir = tempDir();
    const missing = join(dir, 'nonexistent');
    const flags = { repo: 'r', 'control-plane': 'http://127.0.0.1:9' };
    const refused = (input: Partial<Parameters<typeof resolveDaemonConfig>[0]>) =>
      resolveDaemonConfig({ cwd: dir, env: {}, flags, ...input }).then(
        () => 'started',
        (e: Error) => e.message,
      );
    const fix = "does not exist: correct the path, or put the control plane's token in that file";
    expect(await refused({ env: { POOLSYNC_TOKEN_FILE: missing } })).toBe(
      `environment variable POOLSYNC_TOKEN_FILE ${missing} ${fix}`,
    );
    expect(await refused({ flags: { ...flags, 'token-file': missing } })).toBe(
      `--token-file ${missing} ${fix}`,
    );
  });

  it('refuses a secret written in the config file, naming the file-based alternative', async () => {
    const dir = tempDir();
    const file = join(dir, 'c.yaml');
    writeFileSync(file, 'repo: r\ngithub-webhook-secret: hunter2\n');
    const err = await resolveDaemonConfig({ ...base, configFile: file, flags: {} }).catch(
      (e: Error) => e,
    );
    expect(String(err)).toMatch(/github-webhook-secret" is a secret.*github-webhook-secret-file/);
    expect(String(err)).not.toContain('hunter2');
  });

  it('names the real environment variable of a secret in the config file (POOLSYNC_TOKEN, not TOKEN)', async () => {
    const dir = tempDir();
    const file = join(dir, 'c.yaml');
    writeFileSync(file, 'repo: r\ntoken: hunter2\n');
    const err = await resolveDaemonConfig({ ...base, configFile: file, flags: {} }).catch(
      (e: Error) => e,
    );
    expect((err as Error).message).toBe(
      `${file}: "token" is a secret and cannot be written in the config file; name a file with "token-file" or set POOLSYNC_TOKEN.`,
    );
  });

  it('unknown config keys get a did-you-mean hint', async () => {
    const dir = tempDir();
    const file = join(dir, 'c.yaml');
    writeFileSync(file, 'repo: r\npoll-intervall: 1m\n');
    await expect(resolveDaemonConfig({ ...base, configFile: file, flags: {} })).rejects.toThrow(
      /unknown setting "poll-intervall" \(did you mean "poll-interval"\?\)/,
    );
  });

  it('a config file that is not YAML is one line at file:line:column (it printed a snippet)', async () => {
    const file = join(tempDir(), 'c.yaml');
    writeFileSync(file, 'repo: r\n  bad: [\n');
    const err = await resolveDaemonConfig({ ...base, configFile: file, flags: {} }).catch(
      (e: unknown) => e as Error,
    );
    expect((err as Error).message).toBe(
      `config file ${file}:2:6: not valid YAML: bad indentation of a mapping entry`,
    );
  });

  it('sync windows: a string of windows, or a list in the config file; a bad one names where it came from', async () => {
    const dir = tempDir();
    const file = join(dir, 'c.yaml');
    writeFileSync(
      file,
      'repo: r\nsync-windows:\n  - deny Sat,Sun 00:00-24:00\n  - allow * 09:00-17:00 Europe/Berlin\n',
    );
    const c = await resolveDaemonConfig({ ...base, configFile: file, flags: {} });
    expect(c.syncWindows.map((w) => w.text)).toEqual([
      'deny Sat,Sun 00:00-24:00 UTC',
      'allow * 09:00-17:00 Europe/Berlin',
    ]);
    await expect(
      resolveDaemonConfig({
        ...base,
        env: { POOLSYNC_SYNC_WINDOWS: 'deny * 22:00-06:00; allow Mon-Fry 09:00-17:00' },
        flags: { repo: 'r' },
      }),
    ).rejects.toThrow(
      /^environment variable POOLSYNC_SYNC_WINDOWS: sync window "allow Mon-Fry 09:00-17:00": "Mon-Fry" is not a day/,
    );
    // A window written as a mapping: the list's form, not "must be a single value, not a list".
    writeFileSync(file, 'repo: r\nsync-windows:\n  - {kind: deny, days: Sat}\n');
    await expect(resolveDaemonConfig({ ...base, configFile: file, flags: {} })).rejects.toThrow(
      /"sync-windows" is a list of windows, each a string like "deny Mon-Fri 18:00-08:00 Europe\/Berlin"/,
    );
  });

  it('bad values say where they came from and what to write', async () => {
    await expect(
      resolveDaemonConfig({
        ...base,
        env: { POOLSYNC_DRIFT_INTERVAL: '10' },
        flags: { repo: 'r' },
      }),
    ).rejects.toThrow(
      /environment variable POOLSYNC_DRIFT_INTERVAL: "10" is not a duration; write it like 30s/,
    );
    await expect(
      resolveDaemonConfig({ ...base, flags: { repo: 'r', policy: 'yolo' } }),
    ).rejects.toThrow(/--policy: "yolo" is not one of none, safe, all/);
    await expect(
      resolveDaemonConfig({ ...base, flags: { repo: 'r', listen: 'localhost' } }),
    ).rejects.toThrow(/--listen: "localhost" is not HOST:PORT/);
    await expect(
      resolveDaemonConfig({ ...base, flags: { repo: 'r', parallelism: '0' } }),
    ).rejects.toThrow(/--parallelism/);
    await expect(
      resolveDaemonConfig({ ...base, flags: { repo: 'r', lock: 'ci/apply-lock' } }),
    ).rejects.toThrow(
      '--lock: "ci/apply-lock" is not a Kubernetes Lease; write k8s:NAMESPACE/NAME (for example k8s:poolsync/poolsync-leader).',
    );
  });

  it('refuses credentials in the repository URL, without echoing them', async () => {
    const err = await resolveDaemonConfig({
      ...base,
      flags: { repo: 'https://u:ghp_abc@github.com/a/b.git' },
    }).catch((e: Error) => e);
    expect(String(err)).toMatch(
      /--repo: the repository URL carries a password or token \(user:secret@\); remove it from the URL and put the token in POOLSYNC_GIT_TOKEN/,
    );
    expect(String(err)).not.toContain('ghp_abc');
  });

  it('refuses a token as the user part of the repository URL (it would land in .git/config)', async () => {
    for (const repo of [
      'https://ghp_abcdefgh@github.com/a/b.git',
      'HTTPS://ghp_abcdefgh@github.com/a/b.git',
      'http://ghp_abcdefgh@127.0.0.1:9/a/b.git',
    ]) {
      const err = await resolveDaemonConfig({ ...base, flags: { repo } }).catch((e: Error) => e);
      expect(String(err), repo).toMatch(
        /--repo: the repository URL carries a user part \(TOKEN@\), which git and HTTP clients send as a credential; remove it from the URL and put the token in POOLSYNC_GIT_TOKEN or --git-token-file/,
      );
      expect(String(err)).not.toContain('ghp_abcdefgh');
    }
    // The SSH login name is no secret.
    for (const repo of ['ssh://git@github.com/a/b.git', 'git@github.com:a/b.git']) {
      await expect(resolveDaemonConfig({ ...base, flags: { repo } })).resolves.toBeDefined();
    }
  });

  it('refuses credentials in the control-plane URL at start-up, with the same check', async () => {
    const err = await resolveDaemonConfig({
      ...base,
      flags: { repo: 'r', 'control-plane': 'https://tok_123456@cp.example.com' },
    }).catch((e: Error) => e);
    expect(String(err)).toMatch(
      /--control-plane: the control plane URL carries a user part \(TOKEN@\).*POOLSYNC_TOKEN or --token-file/,
    );
    expect(String(err)).not.toContain('tok_123456');
  });

  it('needs exactly one of --repo and --watch', async () => {
    await expect(resolveDaemonConfig({ ...base, flags: {} })).rejects.toThrow(
      /set --repo URL .* or --watch DIR/,
    );
    await expect(
      resolveDaemonConfig({ ...base, flags: { repo: 'r', watch: 'd' } }),
    ).rejects.toThrow(
      '--repo and --watch are both set; choose one: --repo follows a Git branch, --watch reconciles a folder on disk.',
    );
    const c = await resolveDaemonConfig({ ...base, flags: { watch: 'conf' } });
    expect(c.source).toEqual({ kind: 'watch', dir: '/srv/conf' });
  });

  it("refuses a Git source's setting with --watch, which would ignore it without a word", async () => {
    const watch = (flags: Record<string, string>, env: Record<string, string> = {}) =>
      resolveDaemonConfig({ ...base, env, flags: { watch: 'conf', ...flags } });
    await expect(watch({ branch: 'release' })).rejects.toThrow(
      '--branch is a setting of --repo (a Git branch); --watch reconciles a folder on disk and would ignore it: leave it out, or follow the repository with --repo.',
    );
    await expect(watch({}, { POOLSYNC_PATH: 'config' })).rejects.toThrow(
      /^environment variable POOLSYNC_PATH is a setting of --repo/,
    );
    await expect(watch({ 'ssh-key-file': 'id' })).rejects.toThrow(/^--ssh-key-file is a setting/);
    // The token's variable may be set for other jobs of a CI runner: not a setting given here.
    expect((await watch({}, { POOLSYNC_GIT_TOKEN: 'git-token-1' })).source.kind).toBe('watch');
  });

  it('rejects a path that leaves the repository', async () => {
    await expect(
      resolveDaemonConfig({ ...base, flags: { repo: 'r', path: '../x' } }),
    ).rejects.toThrow(/inside the repository/);
  });
});
