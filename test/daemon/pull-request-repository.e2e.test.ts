/**
 * The daemon's plan of a pull request keeps the followed branch's repository identity, as last
 * applied (docs/plan.md, Prune scope): a pull request naming another repository in poolsync.yaml
 * `repository:` gets a failed plan saying so, never a plan that prunes that repository's objects.
 * In process: a real Git remote, the daemon's HTTP server, the embedded control plane, the local
 * GitHub API.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { normalizeRemote } from '../../src/ops/repository.js';
import { cleanup } from '../support/cleanup.js';
import { FakeForge } from '../support/fake-forge.js';
import { runInProcess } from '../support/memory-io.js';
import { until } from '../support/until.js';
import { deliverGitHub, pullRequestPayload } from '../vcs/recorded.js';
import { manifests } from './fixtures.js';
import { startOwnTestDaemon } from './harness.js';
import { TestRepo, git, tempDir } from './helpers.js';

const SECRET = 'gh-webhook-secret-pr-repository-01';
const OTHER = 'github.com/acme/team-a';

describe("a pull request's plan keeps the followed branch's repository", () => {
  it("a pull request naming another repository in repository: fails its plan, naming that repository's queue, which it does not delete", async () => {
    const forge = await new FakeForge().start();
    cleanup.add(() => forge.stop());
    cleanup.add(() => vi.unstubAllEnvs());
    vi.stubEnv('GITHUB_TOKEN', forge.token);
    vi.stubEnv('GITHUB_API_URL', forge.url);
    vi.stubEnv('POOLSYNC_COMMENT_REPOSITORY', 'acme/cfg');
    const state = tempDir();
    const url = `file:${join(state, 'cp.json')}`;
    // Another repository applies its queue to the same control plane first.
    const other = join(state, 'team-a');
    mkdirSync(other);
    writeFileSync(
      join(other, 'poolsync.yaml'),
      `apiVersion: poolsync/v1\nkind: RepoConfig\nprune: true\nrepository: ${OTHER}\n`,
    );
    writeFileSync(
      join(other, 'queue.yaml'),
      'apiVersion: poolsync/v1\nkind: Queue\nmetadata:\n  name: team-a-queue\nspec:\n  pool: default\n  clusters: ["*"]\n  run_concurrency: 10\n  action_concurrency: 100\n',
    );
    const applied = await runInProcess(['apply', other, '--control-plane', url, '--auto-approve'], {
      HOME: state,
    });
    expect(applied.code, applied.stderr).toBe(0);

    const repo = new TestRepo();
    cleanup.add(() => repo.cleanup());
    const files = manifests();
    const main = repo.commit(files);
    const { daemon, stop } = await startOwnTestDaemon({
      state,
      env: { POOLSYNC_GITHUB_WEBHOOK_SECRET: SECRET },
      flags: { repo: repo.bare, 'control-plane': url },
      deps: { retryBaseMs: 3_600_000 },
      logLevel: 'silent',
    });
    cleanup.add(stop);
    await daemon.firstRun;

    const head = repo.commit(
      { 'poolsync.yaml': `${files['poolsync.yaml']!}repository: ${OTHER}\n` },
      'tidy config',
    );
    git(repo.work, 'push', '--quiet', 'origin', `${head}:refs/pull/5/head`);
    git(repo.work, 'push', '--quiet', '--force', 'origin', `${main}:main`);
    forge.heads.set('github:acme/cfg#5', head);
    const opened = pullRequestPayload({
      action: 'opened',
      repository: 'acme/cfg',
      number: 5,
      headSha: head,
    });
    const hook = await deliverGitHub(
      `${daemon.url}/webhooks/github`,
      SECRET,
      'pull_request',
      opened,
    );
    expect(hook.status).toBe(202);
    const comment = await until(
      'the plan comment',
      () => forge.list('github:acme/cfg#5').find((c) => c.body.includes('team-a')) ?? null,
    );
    expect(comment.body).toContain(
      `this pull request changes the repository identity from ${normalizeRemote(repo.bare)} to ${OTHER}`,
    );
    expect(comment.body).toContain(
      `${OTHER}'s prune scope holds 1 object ${normalizeRemote(repo.bare)}'s does not: Queue/team-a-queue`,
    );
    expect(comment.body).toContain('**Merging** makes this repository another one');
    // Planned as the followed repository: the other's queue is its own, left unmanaged.
    expect(comment.body).toContain(`\`Queue/team-a-queue\`: repository ${OTHER} applied it`);
  });
});
