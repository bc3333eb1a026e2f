import { describe, expect, it } from 'vitest';
import { EmbeddedControlPlane } from '../../src/controlplane/embedded/embedded.js';
import { readLiveState } from '../../src/controlplane/types.js';
import type { DaemonConfig } from '../../src/daemon/config.js';
import {
  followedByWebhooks,
  forgeTargetFromRemote,
  PostedPlans,
  pullRequestHandlerForDaemon,
} from '../../src/daemon/pull-requests.js';

describe('forgeTargetFromRemote', () => {
  it.each([
    ['https://github.com/acme/cfg.git', 'github', { repository: 'acme/cfg', apiUrl: undefined }],
    ['git@github.com:acme/cfg.git', 'github', { repository: 'acme/cfg', apiUrl: undefined }],
    [
      'https://ghe.acme.io/acme/cfg',
      'github',
      { repository: 'acme/cfg', apiUrl: 'https://ghe.acme.io/api/v3' },
    ],
    [
      'ssh://git@ghe.acme.io:2222/acme/cfg.git',
      'github',
      { repository: 'acme/cfg', apiUrl: 'https://ghe.acme.io/api/v3' },
    ],
    [
      'https://gitlab.com/grp/sub/cfg.git',
      'gitlab',
      { repository: 'grp/sub/cfg', apiUrl: undefined },
    ],
    [
      'git@git.acme.io:grp/cfg.git',
      'gitlab',
      { repository: 'grp/cfg', apiUrl: 'https://git.acme.io/api/v4' },
    ],
    [
      'http://127.0.0.1:8080/grp/cfg.git',
      'gitlab',
      { repository: 'grp/cfg', apiUrl: 'http://127.0.0.1:8080/api/v4' },
    ],
  ] as const)('%s (%s)', (remote, provider, expected) => {
    expect(forgeTargetFromRemote(remote, provider)).toEqual(expected);
  });

  it('refuses what is not a forge repository', () => {
    expect(forgeTargetFromRemote('/srv/git/cfg.git', 'github')).toBeNull();
    expect(forgeTargetFromRemote('file:///srv/git/cfg.git', 'github')).toBeNull();
    expect(forgeTargetFromRemote('https://github.com/acme/sub/cfg', 'github')).toBeNull();
  });
});

describe('followedByWebhooks', () => {
  const source = (repo: string) =>
    ({ kind: 'git', repo, branch: 'main', path: '.' }) as unknown as DaemonConfig['source'];

  it("is POOLSYNC_COMMENT_REPOSITORY, else --repo's forge repository, on each forge", () => {
    const scp = 'git@git.acme.io:grp/sub/cfg.git';
    expect(followedByWebhooks(source(scp), {})).toEqual({
      github: null,
      gitlab: { name: 'grp/sub/cfg', remote: scp },
    });
    const named = followedByWebhooks(source('/srv/git/cfg.git'), {
      POOLSYNC_COMMENT_REPOSITORY: ' acme/cfg ',
    });
    expect(named.github).toEqual({ name: 'acme/cfg', remote: '/srv/git/cfg.git' });
  });

  it('is unknown for a local path, a file: remote or --watch: every delivery is taken', () => {
    for (const repo of ['/srv/git/cfg.git', 'file:///srv/git/cfg.git'])
      expect(followedByWebhooks(source(repo), {})).toEqual({ github: null, gitlab: null });
    const watch = { kind: 'watch', dir: '/srv/cfg' } as unknown as DaemonConfig['source'];
    expect(followedByWebhooks(watch, { POOLSYNC_COMMENT_REPOSITORY: 'acme/cfg' })).toEqual({
      github: null,
      gitlab: null,
    });
  });
});

describe('pullRequestHandlerForDaemon', () => {
  const config = (over: Partial<DaemonConfig>): DaemonConfig =>
    ({
      source: {
        kind: 'git',
        repo: 'https://github.com/acme/cfg.git',
        branch: 'main',
        path: 'pools',
        auth: {
          token: null,
          username: 'x-access-token',
          sshKeyFile: null,
          sshKnownHostsFile: null,
        },
      },
      githubWebhookSecret: 'whsec',
      gitlabWebhookToken: null,
      stateDir: '/tmp/poolsync-state-unused',
      ...over,
    }) as DaemonConfig;
  const logs: string[] = [];
  const logger = {
    info: (_: object, m: string) => logs.push(m),
    warn: (_: object, m: string) => logs.push(m),
    debug: (_: object, m: string) => logs.push(m),
  };

  it('is on only with a webhook secret, a token and a Git remote of that forge', async () => {
    const cp = await EmbeddedControlPlane.open({ path: null });
    // The one unit of a daemon without environments, as the pull-request side reads it.
    const handlerFor = (c: DaemonConfig, env: Record<string, string>) =>
      pullRequestHandlerForDaemon(
        c,
        [
          {
            name: null,
            config: c,
            readLive: () => readLiveState(cp),
            backend: () => undefined,
            identity: () => undefined,
            mergePolicy: () => Promise.resolve({ policy: 'safe', lastApplied: null }),
            mergeRepository: () => Promise.resolve({ set: null }),
          },
        ],
        logger,
        new PostedPlans(),
        env,
      );
    expect(handlerFor(config({}), {})).toBeNull();
    expect(handlerFor(config({ githubWebhookSecret: null }), { GITHUB_TOKEN: 't' })).toBeNull();
    expect(
      handlerFor(config({ source: { kind: 'watch', dir: '.' } }), { GITHUB_TOKEN: 't' }),
    ).toBeNull();
    const handler = handlerFor(config({}), { GITHUB_TOKEN: 't' });
    expect(handler).toBeTypeOf('function');
    // Events of another provider or repository are ignored without any I/O.
    await handler!({
      provider: 'gitlab',
      repository: 'acme/cfg',
      number: 1,
      headSha: 'a'.repeat(40),
      headRef: 'x',
      action: 'open',
    });
    await handler!({
      provider: 'github',
      repository: 'acme/other',
      number: 1,
      headSha: 'a'.repeat(40),
      headRef: 'x',
      action: 'opened',
    });
    expect(logs).toContain('plan comments on pull requests are on');
    await cp.close();
  });
});
