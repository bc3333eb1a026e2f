/**
 * Guardrails in the daemon (issue 74 items 1, 2 and 7; docs/daemon.md#guardrails): under policy
 * `all`, a plan deleting more clusters than poolsync.yaml's `guardrails.max_destroy` is held for
 * approval, not applied and not failed, and /status, the dashboard and the metrics say which rule
 * holds it; a commit raising the budget beside the deletes is held by the budget last applied;
 * within the budget it applies; an object marked `poolsync/confirm-destroy` is never destroyed
 * without an approval, even once its manifest is gone.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { cleanup } from '../support/cleanup.js';
import { FakeForge } from '../support/fake-forge.js';
import { until } from '../support/until.js';
import { deliverGitHub, issueCommentPayload, pullRequestPayload } from '../vcs/recorded.js';
import { manifests } from './fixtures.js';
import { startTestDaemon } from './harness.js';
import { TestRepo, git, tempDir } from './helpers.js';

const ADMIN = 'admin-token-guardrails-0123456789';
const CLUSTERS = ['c1', 'c2', 'c3', 'c4', 'c5', 'c6', 'c7', 'c8'];

function writeFolder(dir: string, files: Record<string, string>): void {
  rmSync(dir, { recursive: true, force: true });
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
}

/** The fixture's repository with `clusters`, poolsync.yaml's guardrails, and annotations on c1. */
function files(clusters: string[], maxDestroy: number, c1Annotations = ''): Record<string, string> {
  const out = manifests({ clusters });
  out['poolsync.yaml'] =
    `apiVersion: poolsync/v1\nkind: RepoConfig\nprune: true\nguardrails:\n  max_destroy: ${maxDestroy}\n`;
  if (c1Annotations && out['clusters/c1.yaml'])
    out['clusters/c1.yaml'] = out['clusters/c1.yaml'].replace(
      'metadata:\n  name: c1\n',
      `metadata:\n  name: c1\n  annotations:\n${c1Annotations}`,
    );
  return out;
}

async function watching(folder: string) {
  const h = await startTestDaemon({
    flags: { watch: folder, 'watch-debounce': '1h', policy: 'all' },
    env: { POOLSYNC_ADMIN_TOKEN: ADMIN },
    logLevel: 'silent',
    state: join(folder, '..', 'state'),
  });
  cleanup.add(h.stop);
  await h.daemon.firstRun;
  return h;
}

const names = async (h: Awaited<ReturnType<typeof watching>>) =>
  (await h.cp.listClusters()).map((c) => c.name).sort();

describe('the destroy budget in the daemon (issue 74 item 2)', { timeout: 240_000 }, () => {
  it('6 deletes over max_destroy: 5 are held under policy all, a raise beside them changes nothing, an approval applies them; 5 apply', async () => {
    const folder = join(tempDir(), 'repo');
    writeFolder(folder, files(CLUSTERS, 5));
    const h = await watching(folder);
    expect(h.daemon.status().lastRun!.result).toBe('applied');

    writeFolder(folder, files(CLUSTERS.slice(6), 5));
    await h.daemon.reconcile('watch');
    let s = h.daemon.status();
    expect(s.lastRun!.result).toBe('waiting_for_approval');
    expect(s.lastRun!.message).toMatch(/^held by guardrails\.max_destroy: /);
    expect(s.heldBy).toEqual(['max_destroy']);
    expect(s.waitingForApproval.filter((c) => c.address.startsWith('Cluster/'))).toHaveLength(6);
    expect(s.errors).toEqual([
      expect.objectContaining({
        code: 'DESTROY_BUDGET',
        message: expect.stringMatching(
          /^this plan would delete 6 objects, over guardrails\.max_destroy: 5 \(this commit's poolsync\.yaml, as last applied\): Cluster\/c1, /,
        ),
      }),
    ]);
    expect(await names(h)).toEqual(CLUSTERS);
    const metrics = await (await fetch(`${h.daemon.url}/metrics`)).text();
    expect(metrics).toMatch(/^poolsync_guardrail_held_changes\{rule="max_destroy"\} [1-9]\d*$/m);
    expect(metrics).toMatch(/^poolsync_guardrail_held_changes\{rule="confirm_destroy"\} 0$/m);
    const page = await (await fetch(`${h.daemon.url}/`)).text();
    expect(page).toContain('held by guardrails.max_destroy');

    // The same change raising its own budget: the budget last applied still holds it.
    writeFolder(folder, files(CLUSTERS.slice(6), 50));
    await h.daemon.reconcile('watch');
    s = h.daemon.status();
    expect(s.lastRun!.result).toBe('waiting_for_approval');
    expect(s.errors[0]!.message).toMatch(/over guardrails\.max_destroy: 5 \(as last applied\)/);
    expect(await names(h)).toEqual(CLUSTERS);

    const approve = await fetch(`${h.daemon.url}/approve`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ fingerprint: s.approval!.pending!.fingerprint, approver: 'ops' }),
    });
    expect(approve.status).toBe(200);
    // The run the approval asks for applies them; the budget's error is not left beside it.
    s = await until('the approved run', () => {
      const now = h.daemon.status();
      return now.lastRun?.approvedBy === 'ops' ? now : null;
    });
    expect(s).toMatchObject({ outcome: 'applied', errors: [], heldBy: [] });
    expect(await names(h)).toEqual(['c7', 'c8']);
  });

  it('5 deletes within max_destroy: 5 apply under policy all', async () => {
    const folder = join(tempDir(), 'repo');
    writeFolder(folder, files(CLUSTERS, 5));
    const h = await watching(folder);
    writeFolder(folder, files(CLUSTERS.slice(5), 5));
    await h.daemon.reconcile('watch');
    expect(h.daemon.status().lastRun!.result).toBe('applied');
    expect(await names(h)).toEqual(['c6', 'c7', 'c8']);
  });
});

describe('confirm-destroy in the daemon (issue 74 item 1)', { timeout: 240_000 }, () => {
  it('a confirm-destroy mark added to an applied cluster is recorded by an in-sync run; once its manifest is removed, its delete is held under policy all', async () => {
    const folder = join(tempDir(), 'repo');
    writeFolder(folder, files(['c1', 'c2'], 10));
    const h = await watching(folder);
    // An annotation is never sent: the run is in sync, and records the mark in the inventory.
    writeFolder(folder, files(['c1', 'c2'], 10, '    poolsync/confirm-destroy: "true"\n'));
    await h.daemon.reconcile('watch');
    expect(h.daemon.status().lastRun!.result).toBe('in_sync');
    expect((await h.cp.inventory.readInventory())?.confirm_destroy).toEqual(['Cluster/c1']);
    expect(h.daemon.status().managed?.objects).toContainEqual(
      expect.objectContaining({ address: 'Cluster/c1', protection: ['confirm_destroy'] }),
    );
    writeFolder(folder, files(['c2'], 10));
    await h.daemon.reconcile('watch');
    const s = h.daemon.status();
    expect(s.lastRun!.result).toBe('waiting_for_approval');
    expect(s.lastRun!.message).toMatch(/^held by poolsync\/confirm-destroy: /);
    expect(s.heldBy).toEqual(['confirm_destroy']);
    expect(await names(h)).toEqual(['c1', 'c2']);
    const page = await (await fetch(`${h.daemon.url}/`)).text();
    expect(page).toContain('held by poolsync/confirm-destroy, whatever the policy.');
  });

  it('beside a change it applies, the run’s message names the rule that holds the rest', async () => {
    const folder = join(tempDir(), 'repo');
    const marked = '    poolsync/confirm-destroy: "true"\n';
    writeFolder(folder, files(['c1', 'c2'], 10, marked));
    const h = await watching(folder);
    const dropped = files(['c2'], 10);
    dropped['queues/batch.yaml'] = dropped['queues/batch.yaml']!.replace(
      'run_concurrency: 50',
      'run_concurrency: 70',
    );
    writeFolder(folder, dropped);
    await h.daemon.reconcile('watch');
    const s = h.daemon.status();
    expect(s.lastRun!.result).toBe('waiting_for_approval');
    expect(s.lastRun!.message).toMatch(
      /^applied: 0 created, 1 updated, 0 replaced, 0 deleted; 0 blocked; held by poolsync\/confirm-destroy: \d+ changes? held for approval \(delete Cluster\/c1\b/,
    );
    expect((await h.cp.getQueue('batch')).run_concurrency).toBe(70);
    expect(await names(h)).toEqual(['c1', 'c2']);
  });
});

describe('a pull request raising its own budget (issue 74 item 2)', { timeout: 240_000 }, () => {
  let forge: FakeForge;
  beforeEach(async () => {
    forge = await new FakeForge().start();
    cleanup.add(() => forge.stop());
    cleanup.add(() => vi.unstubAllEnvs());
    vi.stubEnv('GITHUB_TOKEN', forge.token);
    vi.stubEnv('GITHUB_API_URL', forge.url);
    vi.stubEnv('POOLSYNC_COMMENT_REPOSITORY', 'acme/cfg');
  });

  it('its plan comment shows the budget error and what the daemon holds under policy all; merged, the deletes are held until approved by comment', async () => {
    const SECRET = 'gh-webhook-secret-guardrails-0123';
    const repo = new TestRepo();
    const base = repo.commit(files(CLUSTERS, 5));
    const head = repo.commit(files(CLUSTERS.slice(6), 50), 'drop six, raise the budget', {
      replaceAll: true,
    });
    git(repo.work, 'push', '--quiet', 'origin', `${head}:refs/pull/3/head`);
    git(repo.work, 'push', '--quiet', '--force', 'origin', `${base}:main`);
    const h = await startTestDaemon({
      repo,
      env: { POOLSYNC_GITHUB_WEBHOOK_SECRET: SECRET, POOLSYNC_ADMIN_TOKEN: ADMIN },
      flags: { policy: 'all' },
      logLevel: 'silent',
    });
    cleanup.add(h.stop);
    await h.daemon.firstRun;
    forge.githubPermissions.set('alice', 'write');
    forge.heads.set('github:acme/cfg#3', head);
    const hook = (event: string, payload: unknown) =>
      deliverGitHub(`${h.daemon.url}/webhooks/github`, SECRET, event, payload);
    await hook(
      'pull_request',
      pullRequestPayload({ action: 'opened', repository: 'acme/cfg', number: 3, headSha: head }),
    );
    const plan = await until(
      'the plan comment',
      () =>
        forge.list('github:acme/cfg#3').find((c) => c.body.includes('Held for approval')) ?? null,
    );
    expect(plan.body).toContain('over guardrails.max_destroy: 5 (as last applied)');
    // The daemon holds such a plan rather than failing it: the comment's last line says so.
    expect(plan.body).toMatch(
      /\*\*Merging\*\*: the daemon applies the rest of these .* and holds the \d+ changes above until approved/,
    );
    await until('the commit status', () =>
      forge.requests.some(
        (r) =>
          r.method === 'POST' &&
          r.url.endsWith(`/statuses/${head}`) &&
          (r.body as { state?: string } | null)?.state !== 'pending',
      ),
    );
    await hook(
      'issue_comment',
      issueCommentPayload({
        repository: 'acme/cfg',
        number: 3,
        login: 'alice',
        body: 'poolsync apply',
      }),
    );
    await until('the approval', () =>
      forge.list('github:acme/cfg#3').some((c) => c.body.includes('approved by @alice')),
    );
    expect(await names(h)).toEqual(CLUSTERS);

    // Merged: held by the budget last applied, and the approval releases exactly these deletes.
    git(repo.work, 'push', '--quiet', '--force', 'origin', `${head}:main`);
    await h.daemon.reconcile('manual');
    // The approval starts a run of its own once recorded (after its reply comment): that run or
    // the manual one applies the merge, whichever fetches it first; the other finds it in sync.
    await until(
      'the approved run',
      () => h.daemon.status().runs.find((r) => r.message.includes('approved by alice')) ?? null,
    );
    expect(await names(h)).toEqual(['c7', 'c8']);
  });
});
