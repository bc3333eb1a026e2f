/**
 * The daemon's pull-request path end to end (issue 7): a real bare Git repository with a
 * pull-request head ref, the daemon's real webhook server, the local GitHub API, and the
 * in-memory embedded control plane. The PR is planned and commented, never applied.
 */
import { describe, expect, it } from 'vitest';
import { manifests } from '../daemon/fixtures.js';
import { startTestDaemon } from '../daemon/harness.js';
import { TestRepo, git } from '../daemon/helpers.js';
import { until } from '../support/until.js';
import { forgePerTest } from '../support/fake-forge.js';
import { deliverGitHub, pullRequestPayload } from './recorded.js';

const SECRET = 'gh-webhook-secret-pr-0123456789';
const forge = forgePerTest();
/** Statuses past `pending` (planning started → success/failure). */
const finalStatuses = () => forge().statuses.filter((s) => s.body.state !== 'pending');

describe('daemon: pull_request webhook → plan comment', () => {
  it('plans the PR head against live state, upserts one comment and a status, applies nothing', async () => {
    const repo = new TestRepo();
    repo.commit(manifests());
    // The PR: a new cluster, pushed where GitHub keeps pull-request heads.
    const prHead = repo.commit(manifests({ clusters: ['prod-1', 'prod-2', 'prod-3'] }), 'pr');
    git(repo.work, 'push', '--quiet', 'origin', `${prHead}:refs/pull/7/head`);
    forge().heads.set('github:acme/cfg#7', prHead);
    git(repo.work, 'push', '--quiet', '--force', 'origin', 'HEAD~1:main');

    const d = await startTestDaemon({ repo, env: { POOLSYNC_GITHUB_WEBHOOK_SECRET: SECRET } });
    const { daemon, cp, logs } = d;
    try {
      await daemon.firstRun;
      expect((await cp.listClusters()).map((c) => c.name).sort()).toEqual(['prod-1', 'prod-2']);

      const event = pullRequestPayload({
        action: 'synchronize',
        repository: 'acme/cfg',
        number: 7,
        headSha: prHead,
      });
      const deliver = () =>
        deliverGitHub(`${daemon.url}/webhooks/github`, SECRET, 'pull_request', event);
      expect((await deliver()).status).toBe(202);
      await until('the first final status', () => finalStatuses().length > 0);
      const comments = forge().list('github:acme/cfg#7');
      expect(comments).toHaveLength(1);
      expect(comments[0]!.body).toContain('Cluster/prod-3');
      expect(comments[0]!.body).toContain(prHead.slice(0, 7));
      expect(forge().statuses[0]).toMatchObject({ sha: prHead, body: { state: 'pending' } });
      expect(finalStatuses()[0]).toMatchObject({ sha: prHead, body: { state: 'success' } });

      // A second delivery edits the same comment; the PR is never applied.
      expect((await deliver()).status).toBe(202);
      await until('the second final status', () => finalStatuses().length >= 2);
      expect(forge().list('github:acme/cfg#7')).toHaveLength(1);
      expect((await cp.listClusters()).map((c) => c.name).sort()).toEqual(['prod-1', 'prod-2']);
      expect(logs.join('')).not.toContain(forge().token);
    } finally {
      await d.stop();
    }
  });

  /** The comment the daemon posts on pull request `number`, whose head commits `prFiles`. */
  async function commentOn(number: number, prFiles: Record<string, string>): Promise<string> {
    const repo = new TestRepo();
    repo.commit(manifests());
    const prHead = repo.commit(prFiles, 'pr');
    git(repo.work, 'push', '--quiet', 'origin', `${prHead}:refs/pull/${number}/head`);
    forge().heads.set(`github:acme/cfg#${number}`, prHead);
    git(repo.work, 'push', '--quiet', '--force', 'origin', 'HEAD~1:main');
    const d = await startTestDaemon({ repo, env: { POOLSYNC_GITHUB_WEBHOOK_SECRET: SECRET } });
    try {
      await d.daemon.firstRun;
      const event = pullRequestPayload({
        action: 'synchronize',
        repository: 'acme/cfg',
        number,
        headSha: prHead,
      });
      const url = `${d.daemon.url}/webhooks/github`;
      expect((await deliverGitHub(url, SECRET, 'pull_request', event)).status).toBe(202);
      await until('the final status', () => finalStatuses().length > 0);
      return forge().list(`github:acme/cfg#${number}`)[0]!.body;
    } finally {
      await d.stop();
    }
  }

  it('a pull request that changes only a rendered file says so, as `poolsync plan` does (it said "No changes.")', async () => {
    const files = manifests();
    files['poolsync.yaml'] += 'render:\n  union-cluster-pools:\n    path: deploy/pools.yaml\n';
    const comment = await commentOn(8, files);
    expect(comment).toContain(
      '**No changes to send to the control plane.** The repository changes what it has no API for: rendered file deploy/pools.yaml, below.\n',
    );
    // The command a reviewer runs in a clone: the daemon's --path, never its own checkout.
    expect(comment).toContain(
      '- deploy/pools.yaml does not exist yet, and Union self-managed has no API for the pool → clusters mapping. Render the file (`poolsync render union-cluster-pools .`), then hand the file to Union (support), who configure the control plane with it.\n',
    );
    expect(comment).not.toContain('No changes.');
  });

  it('a pull request over configuration-only objects no rendered file is named for says so, as `poolsync plan` does (it said "No changes.")', async () => {
    // The embedded control plane takes ExecutionCluster and ClusterLabel as configuration only.
    const comment = await commentOn(9, manifests({ flyteLabels: true }));
    expect(comment).toContain(
      '**No changes to send to the control plane.** The repository declares ExecutionCluster and ClusterLabel objects, which have no API and no rendered file to compare them with (poolsync.yaml render): whether they changed is unknown, below.\n',
    );
    expect(comment).toContain(
      '- ExecutionCluster and ClusterLabel objects are in no rendered file (poolsync.yaml render names none), and flyteadmin has no API for labelClusterMap and clusterConfigs (it reads them from its Helm values at start-up). Render the file (`poolsync render flyte-core-values . --out FILE`), then deploy it',
    );
    expect(comment).not.toContain('No changes.');
    // The check names no file to deploy (none is named): what is unknown.
    expect(finalStatuses()[0]!.body.description).toBe(
      'Plan: 0 to create, 0 to update, 0 to replace, 0 to delete, 0 blocked. ExecutionCluster and ClusterLabel objects unknown (no rendered file).',
    );
  });

  it('a pull request into another branch than the followed one is not planned, and says so (it promised an apply on merge, with a success status); retargeted to the followed branch, it is planned', async () => {
    const repo = new TestRepo();
    repo.commit(manifests());
    const prHead = repo.commit(manifests({ clusters: ['prod-1', 'prod-2', 'prod-3'] }), 'pr');
    git(repo.work, 'push', '--quiet', 'origin', `${prHead}:refs/pull/10/head`);
    forge().heads.set('github:acme/cfg#10', prHead);
    git(repo.work, 'push', '--quiet', '--force', 'origin', 'HEAD~1:main');
    const d = await startTestDaemon({ repo, env: { POOLSYNC_GITHUB_WEBHOOK_SECRET: SECRET } });
    const url = `${d.daemon.url}/webhooks/github`;
    const pr = { repository: 'acme/cfg', number: 10, headSha: prHead } as const;
    try {
      await d.daemon.firstRun;
      const into = pullRequestPayload({ ...pr, action: 'opened', baseRef: 'release' });
      expect((await deliverGitHub(url, SECRET, 'pull_request', into)).status).toBe(202);
      await until('the not-planned comment', () => forge().list('github:acme/cfg#10').length > 0);
      const [comment] = forge().list('github:acme/cfg#10');
      expect(comment!.body).toContain(
        '**Not planned: this pull request merges into `release`, and this daemon follows `main`.** Merging it applies nothing. To have it planned and applied on merge, change its base branch to `main`.\n',
      );
      expect(comment!.body).not.toMatch(
        /\*\*Merging\*\*|applies this change|held until approved|Cluster\/prod-3/,
      );
      // A new push says nothing new: the same comment, unchanged, and still no status.
      const pushed = pullRequestPayload({ ...pr, action: 'synchronize', baseRef: 'release' });
      expect((await deliverGitHub(url, SECRET, 'pull_request', pushed)).status).toBe(202);
      await until('the push handled', () => d.logs.join('').split('not planned').length > 2);
      expect(forge().list('github:acme/cfg#10')).toEqual([comment]);
      expect(forge().statuses).toEqual([]);

      // Retargeted to the followed branch (an `edited` event with a new base): planned.
      const retarget = { ...pr, action: 'edited', baseRef: 'main', baseFrom: 'release' } as const;
      const edited = pullRequestPayload(retarget);
      expect((await deliverGitHub(url, SECRET, 'pull_request', edited)).status).toBe(202);
      await until('the final status', () => finalStatuses().length > 0);
      expect(forge().list('github:acme/cfg#10')).toHaveLength(1);
      expect(forge().list('github:acme/cfg#10')[0]!.body).toContain('Cluster/prod-3');
      expect(finalStatuses()[0]).toMatchObject({ sha: prHead, body: { state: 'success' } });
      expect((await d.cp.listClusters()).map((c) => c.name).sort()).toEqual(['prod-1', 'prod-2']);
    } finally {
      await d.stop();
    }
  });
});
