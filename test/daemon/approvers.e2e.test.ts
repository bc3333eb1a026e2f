/**
 * Approvers read from the followed branch, never from the pull request (issue 74 item 3), end to
 * end in process: a real bare Git repository whose main names production's approvers as a
 * GitHub team, a pull request that drops a cluster and names its own author's friend as the
 * approver in its poolsync.yaml, the daemon's HTTP server and webhooks, the local GitHub API
 * held to GitHub's OpenAPI description (team memberships included).
 */
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { cleanup } from '../support/cleanup.js';
import type { RunningDaemon } from '../../src/daemon/daemon.js';
import type { DaemonStatus } from '../../src/daemon/status.js';
import { FakeForge } from '../support/fake-forge.js';
import { forgeProblems } from '../support/github-openapi.js';
import { deliverGitHub, issueCommentPayload, pullRequestPayload } from '../vcs/recorded.js';
import { manifests } from './fixtures.js';
import { TestRepo, git } from './helpers.js';
import { until } from '../support/until.js';
import { startTestDaemon } from './harness.js';

const SECRET = 'gh-webhook-secret-approvers-0123';

let forge: FakeForge;
beforeEach(async () => {
  forge = await new FakeForge().start();
  cleanup.add(() => forge.stop());
  cleanup.add(() => vi.unstubAllEnvs());
  vi.stubEnv('GITHUB_TOKEN', forge.token);
  vi.stubEnv('GITHUB_API_URL', forge.url);
  vi.stubEnv('POOLSYNC_COMMENT_REPOSITORY', 'acme/cfg');
});

const approvers = (principal: string) => `approvers:\n  '*':\n    approve: [${principal}]\n`;

describe('approvers of the followed branch', () => {
  it("a pull request naming its own approver changes nothing: the base's team decides, and its plan comment says so", async () => {
    const repo = new TestRepo();
    const files = manifests();
    files['poolsync.yaml'] += approvers('team:acme/sre');
    const base = repo.commit(files);
    const changed = manifests({ clusters: ['prod-1'] });
    changed['poolsync.yaml'] += approvers('bob');
    const head = repo.commit(changed, 'drop prod-2, approved by bob', { replaceAll: true });
    git(repo.work, 'push', '--quiet', 'origin', `${head}:refs/pull/7/head`);
    git(repo.work, 'push', '--quiet', '--force', 'origin', `${base}:main`);
    const { daemon, cp, stop } = await startTestDaemon({
      repo,
      env: { POOLSYNC_GITHUB_WEBHOOK_SECRET: SECRET },
      flags: { policy: 'safe' },
      logLevel: 'silent',
    });
    cleanup.add(stop);
    await daemon.firstRun;
    for (const login of ['bob', 'carol']) forge.githubPermissions.set(login, 'write');
    forge.githubTeams.set('acme/sre', new Map([['carol', 'active']]));
    forge.heads.set('github:acme/cfg#7', head);

    const hook = (d: RunningDaemon, event: string, payload: unknown) =>
      deliverGitHub(`${d.url}/webhooks/github`, SECRET, event, payload);
    await hook(
      daemon,
      'pull_request',
      pullRequestPayload({ action: 'opened', repository: 'acme/cfg', number: 7, headSha: head }),
    );
    const plan = await until(
      'the plan comment',
      () =>
        forge.list('github:acme/cfg#7').find((c) => c.body.includes('Held for approval')) ?? null,
    );
    expect(plan.body).toContain(
      'A user with write permission who is one of `team:acme/sre` (`approvers.*.approve` in poolsync.yaml)',
    );
    await until('the final commit status', () =>
      forge.statuses.some((s) => s.sha === head && s.body.state !== 'pending'),
    );
    const replies = () =>
      forge.list('github:acme/cfg#7').filter((c) => c.body.startsWith('**poolsync**'));
    const comment = (login: string) =>
      hook(
        daemon,
        'issue_comment',
        issueCommentPayload({ repository: 'acme/cfg', number: 7, login, body: 'poolsync apply' }),
      );

    await comment('bob');
    await until('a refusal', () => replies().length === 1);
    expect(replies()[0]!.body).toBe(
      '**poolsync**: approval by @bob refused: @bob may not approve held changes: approvers.*.approve (poolsync.yaml of the followed branch) names team:acme/sre, and @bob is none of them',
    );
    await comment('carol');
    await until('an approval', () => replies().length === 2);
    expect(replies()[1]!.body).toContain(
      'approved by @carol (write; team:acme/sre, approvers.*.approve)',
    );
    const st = (await (await fetch(`${daemon.url}/status`)).json()) as DaemonStatus;
    expect(st.approval!.granted).toEqual([
      expect.objectContaining({ approver: 'carol', principal: 'team:acme/sre' }),
    ]);
    expect(forgeProblems(forge)).toEqual([]);
    // Nothing applied before the merge.
    expect((await cp.listClusters()).map((c) => c.name).sort()).toEqual(['prod-1', 'prod-2']);
  }, 60_000);
});
