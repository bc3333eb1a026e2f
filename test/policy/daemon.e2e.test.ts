/**
 * Policies in the daemon (issue 75, docs/policies.md), end to end in process with the real OPA:
 * a real bare Git repository with pull-request head refs, the daemon's HTTP server and webhooks,
 * the local GitHub API (test/support/fake-forge.ts, held to GitHub's OpenAPI), the embedded
 * control plane. A deny holds the apply (/status, metrics, dashboard) until a listed owner
 * approves exactly its failures; a pull request is checked by the followed branch's policies;
 * the pull request's author may not approve, an owner may, by comment.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { EmbeddedControlPlane } from '../../src/controlplane/embedded/embedded.js';
import type { RunningDaemon } from '../../src/daemon/daemon.js';
import type { DaemonStatus } from '../../src/daemon/status.js';
import { cleanup } from '../support/cleanup.js';
import { FakeForge } from '../support/fake-forge.js';
import { runInProcess } from '../support/memory-io.js';
import { until } from '../support/until.js';
import { deliverGitHub, issueCommentPayload, pullRequestPayload } from '../vcs/recorded.js';
import { manifests } from '../daemon/fixtures.js';
import { startOwnTestDaemon, startTestDaemon } from '../daemon/harness.js';
import { TestRepo, git, tempDir } from '../daemon/helpers.js';
import { twoEnvironments } from '../environments/helpers.js';
import { opaMissing, opaPath } from './opa.js';

const SECRET = 'gh-webhook-secret-policies-01234';
const ADMIN = 'admin-token-policies-0123456789ab';
const RECONCILE = 'reconcile-token-policies-0123456';

/** Pools need a container registry (examples/policies/pool-registry.rego). */
const REGISTRY = `package main

deny contains {"msg": sprintf("%s has no container registry", [c.address]), "address": c.address} if {
	some c in input.changes
	c.kind == "ClusterPool"
	c.action in {"create", "update", "replace"}
	not c.after.contract.image_registry.locator
}
`;

/** The fixtures' repository, `policies:` configured, its pool `prod` with or without a registry. */
function files(registry: boolean, policy = REGISTRY, gpu = false): Record<string, string> {
  const m = manifests();
  // A new pool `gpu` without a registry.
  const extra: Record<string, string> = gpu
    ? {
        'pools/gpu.yaml': m['pools/prod.yaml']!.replace('name: prod', 'name: gpu').replace(
          'acme-prod',
          'acme-gpu',
        ),
      }
    : {};
  return {
    ...m,
    ...extra,
    'poolsync.yaml': `${m['poolsync.yaml']}policies:\n  path: policies\n  owners: [alice, "team:acme/platform"]\n`,
    'pools/prod.yaml': registry
      ? `${m['pools/prod.yaml']}  image_registry:\n    locator: registry.example.com/prod\n`
      : m['pools/prod.yaml']!,
    'policies/registry.rego': policy,
  };
}

/** The fixtures' repository, Queue/batch at `n` runs at once, checked by a policy asking 500. */
function withMinimum(n: number): Record<string, string> {
  const m = manifests({ batchRunConcurrency: n });
  return {
    ...m,
    'poolsync.yaml': `${m['poolsync.yaml']}policies:\n  path: policies\n  owners: [alice]\n`,
    'policies/minimum.rego': `package main

deny contains {"msg": sprintf("%s runs fewer than 500 at once", [c.address]), "address": c.address} if {
	some c in input.changes
	c.address == "Queue/batch"
	c.after.run_concurrency < 500
}
`,
  };
}

let forge: FakeForge;
beforeEach(async () => {
  forge = await new FakeForge().start();
  cleanup.add(() => forge.stop());
  cleanup.add(() => vi.unstubAllEnvs());
  vi.stubEnv('GITHUB_TOKEN', forge.token);
  vi.stubEnv('GITHUB_API_URL', forge.url);
  vi.stubEnv('POOLSYNC_COMMENT_REPOSITORY', 'acme/cfg');
});

async function start(repo: TestRepo) {
  const started = await startTestDaemon({
    repo,
    env: {
      POOLSYNC_GITHUB_WEBHOOK_SECRET: SECRET,
      POOLSYNC_ADMIN_TOKEN: ADMIN,
      POOLSYNC_RECONCILE_TOKEN: RECONCILE,
      POOLSYNC_OPA: opaPath ?? '',
    },
  });
  cleanup.add(started.stop);
  await started.daemon.firstRun;
  return started;
}

/** A daemon of two environments (dev, prod) whose one policy denies `address` with `msg`. */
async function startTwoEnvironments(file: string, msg: string, address: string) {
  const state = tempDir();
  const repo = new TestRepo();
  repo.commit({
    ...twoEnvironments(
      { dev: `file:${state}/dev.json`, prod: `file:${state}/prod.json` },
      'policies:\n  path: policies\n  owners: [alice]\n',
    ),
    [file]: `package main

deny contains {"msg": "${msg}", "address": c.address} if {
\tsome c in input.changes
\tc.address == "${address}"
}
`,
  });
  const started = await startOwnTestDaemon({
    state,
    env: { POOLSYNC_ADMIN_TOKEN: ADMIN, POOLSYNC_OPA: opaPath ?? '' },
    flags: { repo: repo.bare, 'control-plane': `file:${state}/unused.json` },
  });
  cleanup.add(started.stop);
  await started.daemon.firstRun;
  return started;
}

const status = async (daemon: RunningDaemon) =>
  (await (await fetch(`${daemon.url}/status`)).json()) as DaemonStatus;
const reconcile = (daemon: RunningDaemon) =>
  fetch(`${daemon.url}/reconcile?wait=1`, {
    method: 'POST',
    headers: { authorization: `Bearer ${RECONCILE}` },
  });
const hook = (daemon: RunningDaemon, event: string, payload: unknown) =>
  deliverGitHub(`${daemon.url}/webhooks/github`, SECRET, event, payload);
const comment = (daemon: RunningDaemon, number: number, login: string, body: string) =>
  hook(
    daemon,
    'issue_comment',
    issueCommentPayload({ repository: 'acme/cfg', number, login, body }),
  );
const replies = (number: number) =>
  forge
    .list(`github:acme/cfg#${number}`)
    .filter((c) => c.body.startsWith('**poolsync**') || c.body.startsWith('✅'));

async function postPlan(daemon: RunningDaemon, number: number, head: string) {
  forge.heads.set(`github:acme/cfg#${number}`, head);
  const res = await hook(
    daemon,
    'pull_request',
    pullRequestPayload({ action: 'opened', repository: 'acme/cfg', number, headSha: head }),
  );
  expect(res.status).toBe(202);
  const posted = await until(
    'the plan comment',
    () => forge.list(`github:acme/cfg#${number}`).find((c) => c.body.includes('Policies')) ?? null,
  );
  await until('the final commit status', () =>
    forge.requests.some(
      (r) =>
        r.method === 'POST' &&
        r.url.endsWith(`/repos/acme/cfg/statuses/${head}`) &&
        (r.body as { state?: string } | null)?.state !== 'pending',
    ),
  );
  return posted;
}

describe.skipIf(opaMissing)(
  `policies in the daemon${opaMissing ? ` (skipped: ${opaMissing})` : ''}`,
  { timeout: 120_000 },
  () => {
    it('a deny holds the apply, shown in /status, /metrics and the dashboard; a non-owner is refused; an owner’s approval of exactly those failures releases it', async () => {
      const repo = new TestRepo();
      repo.commit(files(false));
      const { daemon, cp } = await start(repo);
      const held = await status(daemon);
      expect(held.outcome).toBe('waiting_for_approval');
      expect(held.lastRun!.message).toMatch(
        /^Policies of policies: 1 rule in 1 file: 1 failure, 0 warnings: apply is blocked until an owner of the policies approves \(alice, team:acme\/platform\)/,
      );
      expect(held.policies).toMatchObject({
        deny: [
          {
            rule: 'deny',
            msg: 'ClusterPool/prod has no container registry',
            address: 'ClusterPool/prod',
            location: 'pools/prod.yaml:1',
          },
        ],
        owners: ['alice', 'team:acme/platform'],
      });
      const digest = held.policies!.failures!;
      expect(digest).toMatch(/^sha256:[0-9a-f]{64}$/);
      // Nothing was applied.
      expect((await cp.listPools()).map((p) => p.name)).not.toContain('prod');
      const metrics = await (await fetch(`${daemon.url}/metrics`)).text();
      expect(metrics).toMatch(/^poolsync_policy_failures 1$/m);
      expect(metrics).toMatch(/^poolsync_policy_evaluations_total\{result="deny"\} 1$/m);
      const page = await (await fetch(`${daemon.url}/`)).text();
      expect(page).toContain('<h2 id="policies-h">Policies</h2>');
      expect(page).toContain(
        'FAIL deny: ClusterPool/prod has no container registry (pools/prod.yaml:1)',
      );

      const env = { ...process.env, POOLSYNC_ADMIN_TOKEN: ADMIN, NO_COLOR: '' };
      const approve = (as: string, failures = digest, reason = 'registry comes next week') =>
        runInProcess(
          [
            'approve',
            '--policies',
            failures,
            '--reason',
            reason,
            '--as',
            as,
            '--daemon',
            daemon.url,
          ],
          env,
        );
      const told = await runInProcess(['status', '--daemon', daemon.url], env);
      expect(told.stdout).toContain('Policies of policies: 1 rule in 1 file: 1 failure');
      // The command as printed runs: it names a user owner with --as (a team cannot be one here).
      const hint = `Approve exactly these (an owner: alice, team:acme/platform): poolsync approve --policies ${digest} --reason WHY --as alice --daemon ${daemon.url}`;
      expect(told.stdout).toContain(`${hint}\n`);
      const listed = await runInProcess(['approve', '--policies', '--daemon', daemon.url], env);
      expect(listed.stdout).toContain(`${hint}\n`);
      const bob = await approve('bob');
      expect(bob.code).toBe(1);
      expect(bob.stderr).toContain(
        'Approval refused: bob is not an owner of the policies of policies (alice, team:acme/platform)',
      );
      const other = await approve('alice', `sha256:${'0'.repeat(64)}`);
      expect(other.stderr).toContain(`names sha256:${'0'.repeat(64)}, not the failures' ${digest}`);
      const printed = hint.slice(hint.indexOf('poolsync approve') + 'poolsync '.length);
      const words = printed.replace('WHY', 'registry-comes-next-week').split(' ');
      const alice = await runInProcess(words, env);
      expect(alice.stderr).toBe('');
      expect(alice.code).toBe(0);
      // The approval asks for a run (as POST /approve does): it applies the approved plan.
      const applied = await until('the approved plan applied', async () => {
        const s = await status(daemon);
        return s.outcome === 'applied' ? s : null;
      });
      expect(applied.policies!.approval).toMatchObject({
        by: 'alice',
        why: 'registry-comes-next-week',
        failures: digest,
      });
      expect((await cp.listPools()).map((p) => p.name)).toContain('prod');
    });

    it('with environments, an owner approves the failures of the environment holding them, named by --env or not', async () => {
      // Only prod's cluster fails: dev applies, prod waits for an owner.
      const { daemon } = await startTwoEnvironments(
        'policies/clusters.rego',
        'c-prod waits for its network review',
        'Cluster/c-prod',
      );
      const held = await status(daemon);
      expect(held.environments!.dev!.outcome).toBe('applied');
      expect(held.environments!.prod!.outcome).toBe('waiting_for_approval');
      const digest = held.environments!.prod!.policies!.failures!;
      const env = { ...process.env, POOLSYNC_ADMIN_TOKEN: ADMIN, NO_COLOR: '' };
      const cli = (...args: string[]) =>
        runInProcess(['approve', '--policies', ...args, '--daemon', daemon.url], env);

      expect((await cli('--env', 'dev')).stdout).toBe('No policy failure waits for approval.\n');
      const listed = await cli('--env', 'prod');
      expect(listed.stdout).toContain('Environment prod:');
      expect(listed.stdout).toContain(`poolsync approve --policies ${digest} --reason WHY`);
      const asAlice = ['--reason', 'reviewed', '--as', 'alice'];
      const wrong = await cli(digest, ...asAlice, '--env', 'dev');
      expect(wrong.code).toBe(1);
      expect(wrong.stderr).toContain('Approval refused');
      // Not named: the environment whose failures have that digest (prod, not the first one).
      const approved = await cli(digest, ...asAlice);
      expect(approved.stderr).toBe('');
      expect(approved.code).toBe(0);
      await until('prod applied', async () => {
        const s = await status(daemon);
        return s.environments!.prod!.outcome === 'applied' ? s : null;
      });
    });

    it('a pull request is checked by the followed branch’s policies, not its own edit of them; its author may not approve, an owner may', async () => {
      const repo = new TestRepo();
      const base = repo.commit(files(true));
      // #7 adds a pool without a registry and weakens the policy in the same change.
      const weakened = repo.commit(
        files(true, 'package main\n\ndeny contains "never" if false\n', true),
        'weaken',
      );
      git(repo.work, 'push', '--quiet', 'origin', `${weakened}:refs/pull/7/head`);
      repo.resetTo(base);
      // #8 only adds the pool.
      const dropped = repo.commit(files(true, REGISTRY, true), 'add pool gpu', { force: true });
      git(repo.work, 'push', '--quiet', 'origin', `${dropped}:refs/pull/8/head`);
      git(repo.work, 'push', '--quiet', '--force', 'origin', `${base}:main`);
      const { daemon } = await start(repo);
      expect((await status(daemon)).outcome).toBe('applied');

      const seven = await postPlan(daemon, 7, weakened);
      expect(seven.body).toContain('❌ Policies');
      expect(seven.body).toMatch(
        /\| FAIL \| `deny` \| ClusterPool\/gpu has no container registry \| pools\/gpu\.yaml:1 \|/,
      );
      const statusOf7 = forge.requests.filter(
        (r) => r.method === 'POST' && r.url.endsWith(`/statuses/${weakened}`),
      );
      expect(statusOf7.at(-1)!.body).toMatchObject({ state: 'failure' });

      forge.authors.set('github:acme/cfg#8', { login: 'mallory', id: 66, type: 'User' });
      const eight = await postPlan(daemon, 8, dropped);
      const command = /`(poolsync approve-policies sha256:[0-9a-f]{64}) WHY`/.exec(eight.body)![1]!;
      await comment(daemon, 8, 'mallory', `${command} I wrote it, trust me`);
      await until('the author refused', () => replies(8).length === 1);
      expect(replies(8)[0]!.body).toContain(
        'mallory wrote the pull request: its author may not approve its policy failures',
      );
      await comment(daemon, 8, 'bob', `${command} looks fine`);
      await until('a non-owner refused', () => replies(8).length === 2);
      expect(replies(8)[1]!.body).toContain('bob is not an owner of the policies');
      await comment(daemon, 8, 'alice', `${command} registry moves to the cluster next sprint`);
      await until('the owner approved', () => replies(8).length === 3);
      expect(replies(8)[2]!.body).toContain(
        'approved by @alice: registry moves to the cluster next sprint',
      );

      // Merged: the followed branch's run fails with exactly those failures, approved: applied.
      git(repo.work, 'push', '--quiet', '--force', 'origin', `${dropped}:main`);
      await reconcile(daemon);
      const merged = await status(daemon);
      expect(merged.outcome).toBe('applied');
      expect(merged.policies!.approval!.by).toBe('alice');
    });

    it('a pull request is checked by the followed branch’s policies when no run applies: a policy set merged while in sync, and after a restart', async () => {
      const repo = new TestRepo();
      cleanup.add(() => repo.cleanup());
      const { 'policies/registry.rego': _, ...noPolicies } = files(true);
      repo.commit({ ...noPolicies, 'poolsync.yaml': manifests()['poolsync.yaml']! }, 'A');
      const cp = await EmbeddedControlPlane.open({ path: null });
      cleanup.add(() => cp.close());
      const state = tempDir();
      const restart = async () => {
        const started = await startTestDaemon({
          cp,
          state,
          flags: { repo: repo.bare },
          env: {
            POOLSYNC_GITHUB_WEBHOOK_SECRET: SECRET,
            POOLSYNC_RECONCILE_TOKEN: RECONCILE,
            POOLSYNC_OPA: opaPath ?? '',
          },
        });
        cleanup.add(started.stop);
        await started.daemon.firstRun;
        return started;
      };
      const first = await restart();
      expect((await status(first.daemon)).outcome).toBe('applied');
      // B adds the policies and changes no object: its run applies nothing.
      const base = repo.commit(files(true), 'B: policies');
      await reconcile(first.daemon);
      expect(await status(first.daemon)).toMatchObject({ outcome: 'in_sync', commit: base });
      const gpu = repo.commit(files(true, REGISTRY, true), 'add pool gpu');
      git(repo.work, 'push', '--quiet', 'origin', `${gpu}:refs/pull/9/head`);
      git(repo.work, 'push', '--quiet', '--force', 'origin', `${base}:main`);
      const checked = async (daemon: RunningDaemon, number: number) => {
        forge.heads.set(`github:acme/cfg#${number}`, gpu);
        const payload = { action: 'opened' as const, repository: 'acme/cfg', number, headSha: gpu };
        expect((await hook(daemon, 'pull_request', pullRequestPayload(payload))).status).toBe(202);
        const final = await until('the final commit status', () =>
          forge.requests.findLast(
            (r) =>
              r.method === 'POST' &&
              r.url.endsWith(`/repos/acme/cfg/statuses/${gpu}`) &&
              (r.body as { state?: string } | null)?.state !== 'pending',
          ),
        );
        expect(final.body).toMatchObject({ state: 'failure' });
        const posted = forge.list(`github:acme/cfg#${number}`).at(-1)!.body;
        expect(posted).toContain('❌ Policies');
        expect(posted).toContain('ClusterPool/gpu has no container registry');
      };
      await checked(first.daemon, 9);
      await first.stop();
      forge.requests.length = 0;
      // Restarted: its first run is in sync, applies nothing.
      const second = await restart();
      expect((await status(second.daemon)).outcome).toBe('in_sync');
      await checked(second.daemon, 10);
    });

    it('while the head has been invalid since the start, the pull request fixing it is checked by the head’s policies, not by its own poolsync.yaml', async () => {
      const repo = new TestRepo();
      cleanup.add(() => repo.cleanup());
      const broken = repo.commit(
        { ...files(true), 'pools/broken.yaml': 'metadata: [\n' },
        'broken',
      );
      // #11 fixes the head, adds a pool without a registry and drops the policies it is checked by.
      const fix = repo.commit(
        {
          ...files(true, REGISTRY, true),
          'pools/broken.yaml': null,
          'poolsync.yaml': manifests()['poolsync.yaml']!,
          'policies/registry.rego': null,
        },
        'fix, add pool gpu, no policies',
      );
      git(repo.work, 'push', '--quiet', 'origin', `${fix}:refs/pull/11/head`);
      git(repo.work, 'push', '--quiet', '--force', 'origin', `${broken}:main`);
      const { daemon } = await start(repo);
      expect((await status(daemon)).outcome).toBe('invalid');

      const posted = await postPlan(daemon, 11, fix);
      expect(posted.body).toContain('❌ Policies');
      expect(posted.body).toContain('ClusterPool/gpu has no container registry');
      const final = forge.requests.findLast(
        (r) => r.method === 'POST' && r.url.endsWith(`/statuses/${fix}`),
      );
      expect(final!.body).toMatchObject({ state: 'failure' });
    });

    it('a rollback to a commit from before the policies is checked by the branch head’s policies, read from its files', async () => {
      const repo = new TestRepo();
      const batch = (n: number) => manifests({ batchRunConcurrency: n });
      repo.commit(batch(300), 'A: no policies');
      const { daemon, cp } = await start(repo);
      const runA = (await status(daemon)).lastRun!.id;
      repo.commit(withMinimum(600), 'B: batch 600, policies');
      expect((await reconcile(daemon)).status).toBe(200);
      expect((await status(daemon)).outcome).toBe('applied');
      const back = await fetch(`${daemon.url}/rollback?wait=1`, {
        method: 'POST',
        headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
        body: JSON.stringify({ run: runA }),
      });
      expect(back.status).toBe(200);
      const held = await status(daemon);
      expect(held.lastRun).toMatchObject({
        result: 'waiting_for_approval',
        rollback: { to: runA },
      });
      expect(held.policies).toMatchObject({
        deny: [expect.objectContaining({ msg: 'Queue/batch runs fewer than 500 at once' })],
        owners: ['alice'],
      });
      expect((await cp.getQueue('batch')).run_concurrency).toBe(600);
    });

    it('a merged commit that drops a deny rule and lists another owner beside the change it denied is judged by the last applied commit’s policies and owners too; applied, the relaxed set judges the next commit', async () => {
      const WARN = 'warn contains "batch is watched" if false\n';
      const strict = withMinimum(600);
      const rego = strict['policies/minimum.rego']!;
      const relaxed = (n: number) => ({
        ...withMinimum(n),
        'poolsync.yaml': strict['poolsync.yaml']!.replace('owners: [alice]', 'owners: [mallory]'),
        'policies/minimum.rego': `package main\n\n${WARN}`,
      });
      const repo = new TestRepo();
      const first = repo.commit({ ...strict, 'policies/minimum.rego': `${rego}\n${WARN}` }, '1');
      const { daemon, cp } = await start(repo);
      expect(await status(daemon)).toMatchObject({ outcome: 'applied', appliedCommit: first });

      // 2: the deny rule removed, mallory the owner, and the change the old rule denies.
      const second = repo.commit(relaxed(300), '2: relax the policy and lower batch');
      await reconcile(daemon);
      const held = await status(daemon);
      const short = first.slice(0, 12);
      expect(held.outcome).toBe('waiting_for_approval');
      expect(held.policies).toMatchObject({
        deny: [
          {
            msg: 'Queue/batch runs fewer than 500 at once',
            set: `policies of the last applied commit ${short}`,
          },
        ],
        owners: ['alice'],
      });
      expect(held.lastRun!.message).toBe(
        `Policies of policies: 1 rule in 1 file, and policies of the last applied commit ${short}: 2 rules in 1 file: 1 failure, 0 warnings: apply is blocked until an owner of the policies approves (alice, as the last applied commit ${short} lists them: the owners a commit lists approve from the commit after it)`,
      );
      const page = await (await fetch(`${daemon.url}/`)).text();
      expect(page).toContain(
        `FAIL deny: Queue/batch runs fewer than 500 at once (queues/batch.yaml:1) (policies of the last applied commit ${short})`,
      );
      expect((await cp.getQueue('batch')).run_concurrency).toBe(600);
      // A pull request on the relaxed head is judged as its merged run will be: by that set too.
      for (const [path, text] of Object.entries(relaxed(250)))
        writeFileSync(join(repo.work, path), text);
      git(repo.work, 'commit', '--quiet', '-am', '9: lower batch more');
      const nine = git(repo.work, 'rev-parse', 'HEAD');
      git(repo.work, 'push', '--quiet', 'origin', `${nine}:refs/pull/9/head`);
      repo.resetTo(second);
      const pr = await postPlan(daemon, 9, nine);
      expect(pr.body).toContain('❌ Policies');
      expect(pr.body).toContain(
        `| FAIL | \`deny\` | Queue/batch runs fewer than 500 at once | queues/batch.yaml:1, policies of the last applied commit ${short} |`,
      );

      const env = { ...process.env, POOLSYNC_ADMIN_TOKEN: ADMIN, NO_COLOR: '' };
      const approve = (as: string) =>
        runInProcess(
          ['approve', '--policies', held.policies!.failures!, '--reason', 'migration'].concat([
            '--as',
            as,
            '--daemon',
            daemon.url,
          ]),
          env,
        );
      const mallory = await approve('mallory');
      expect(mallory.stderr).toContain('mallory is not an owner of the policies');
      expect((await approve('alice')).code).toBe(0);
      await until('the approved commit applied', async () =>
        (await status(daemon)).outcome === 'applied' ? true : null,
      );
      expect((await cp.getQueue('batch')).run_concurrency).toBe(300);

      // 3: the relaxed set is the last applied commit's now: a lower batch goes without approval.
      const third = repo.commit(relaxed(200), '3: lower batch again');
      await reconcile(daemon);
      expect(await status(daemon)).toMatchObject({ outcome: 'applied', appliedCommit: third });
      expect((await status(daemon)).policies).toMatchObject({ deny: [], owners: ['mallory'] });
      expect((await cp.getQueue('batch')).run_concurrency).toBe(200);
    });

    it('a merged commit that drops poolsync.yaml policies beside a change they deny is held by the last applied commit’s set alone', async () => {
      const repo = new TestRepo();
      const first = repo.commit(withMinimum(600), '1');
      const { daemon, cp } = await start(repo);
      expect((await status(daemon)).outcome).toBe('applied');
      const m = manifests({ batchRunConcurrency: 300 });
      repo.commit({ ...m, 'policies/minimum.rego': null }, '2: no policies, lower batch');
      await reconcile(daemon);
      const held = await status(daemon);
      const short = first.slice(0, 12);
      expect(held.outcome).toBe('waiting_for_approval');
      expect(held.lastRun!.message).toBe(
        `Policies of policies of the last applied commit ${short} (this commit configures none): 1 rule in 1 file: 1 failure, 0 warnings: apply is blocked until an owner of the policies approves (alice)`,
      );
      expect((await cp.getQueue('batch')).run_concurrency).toBe(600);
    });

    it('an approval is used once: approving again after its run applied is refused and keeps the first; a rollback and resume hold the head again; a digest given as a fingerprint is said to be one', async () => {
      const repo = new TestRepo();
      repo.commit(withMinimum(600), 'A: 600');
      const { daemon, cp } = await start(repo);
      const runA = (await status(daemon)).lastRun!.id;
      repo.commit(withMinimum(300), 'B: 300, fewer than the policy asks');
      await reconcile(daemon);
      const digest = (await status(daemon)).policies!.failures!;
      const env = { ...process.env, POOLSYNC_ADMIN_TOKEN: ADMIN, NO_COLOR: '' };
      const cli = (...args: string[]) => runInProcess([...args, '--daemon', daemon.url], env);
      const command = `poolsync approve --policies ${digest} --reason WHY --as alice`;

      // The digest as held changes' fingerprint: what it is, and the command that approves it.
      const asHeld = await cli('approve', digest);
      expect(asHeld.code).toBe(1);
      expect(asHeld.stderr).toBe(
        `Error: Approval refused: ${digest} is the digest of the policy failures, not of changes held for approval: an owner of the policies approves them with \`${command}\`\n`,
      );

      const approve = (reason: string) =>
        cli('approve', '--policies', digest, '--reason', reason, '--as', 'alice');
      expect((await approve('300 for the migration')).code).toBe(0);
      await until('the approved plan applied', async () =>
        (await status(daemon)).outcome === 'applied' ? true : null,
      );
      const first = (await status(daemon)).policies!.approval!;
      // Approved and applied: a second approval is refused, naming the digest, and keeps the first.
      const again = await approve('another reason');
      expect(again.code).toBe(1);
      expect(again.stderr).toBe(
        `Error: Approval refused: nothing is waiting for approval: the policy failures ${digest} were approved by alice at ${first.at} (300 for the migration), and the run they held has applied; a plan with them again waits for a new approval\n`,
      );
      expect((await status(daemon)).policies!.approval).toEqual(first);

      // Rolled back to A, then resumed: head B is planned again and waits for a new approval.
      const back = await fetch(`${daemon.url}/rollback?wait=1`, {
        method: 'POST',
        headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
        body: JSON.stringify({ run: runA }),
      });
      expect(back.status).toBe(200);
      expect((await status(daemon)).lastRun).toMatchObject({
        result: 'applied',
        rollback: { to: runA },
      });
      const resumed = await cli('resume');
      expect(resumed.stdout).toBe(
        `Applies were not suspended; the rollback to run #${runA} is lifted: the daemon runs now and applies the branch head.\n`,
      );
      const held = await until('head B planned again', async () => {
        const s = await status(daemon);
        return s.lastRun?.rollback ? null : s;
      });
      expect(held.outcome).toBe('waiting_for_approval');
      expect(held.policies).toMatchObject({ failures: digest });
      expect(held.policies!.approval).toBeUndefined();
      expect((await cp.getQueue('batch')).run_concurrency).toBe(600);
      // A new approval of the same failures is taken, and releases them.
      expect((await approve('reviewed again')).code).toBe(0);
      await until('applied on the new approval', async () => {
        const s = await status(daemon);
        return s.outcome === 'applied' && s.policies?.approval?.why === 'reviewed again' ? s : null;
      });
    });

    it('with environments holding the same policy failures, every command printed names its environment, an approval without --env is refused listing them, and one with --env approves that one only', async () => {
      // Both environments create Queue/training: the same failure, the same digest.
      const started = await startTwoEnvironments(
        'policies/training.rego',
        'training waits for its review',
        'Queue/training',
      );
      const { daemon } = started;
      const held = await status(daemon);
      const digest = held.environments!.dev!.policies!.failures!;
      expect(held.environments!.prod!.policies!.failures).toBe(digest);
      expect(held.environments!.dev!.outcome).toBe('waiting_for_approval');
      expect(held.environments!.prod!.outcome).toBe('waiting_for_approval');
      const env = { ...process.env, POOLSYNC_ADMIN_TOKEN: ADMIN, NO_COLOR: '' };
      const cli = (...args: string[]) => runInProcess([...args, '--daemon', daemon.url], env);
      const command = (name: string) =>
        `poolsync approve --policies ${digest} --reason WHY --as alice --env ${name}`;

      // Under each environment, the command that approves that one.
      const [devPart, prodPart] = (await cli('status')).stdout.split('Environment prod:');
      expect(devPart).toContain(`${command('dev')} --daemon ${daemon.url}\n`);
      expect(prodPart).toContain(`${command('prod')} --daemon ${daemon.url}\n`);
      expect((await cli('approve', '--policies')).stdout).toContain(`${command('prod')} --daemon`);

      // Not named: refused, with each environment's command; nothing approved.
      const both = `\`${command('dev')}\` or \`${command('prod')}\``;
      const unnamed = await cli('approve', '--policies', digest, '--reason', 'ok', '--as', 'alice');
      expect(unnamed.code).toBe(1);
      expect(unnamed.stderr).toBe(
        `Error: Approval refused: environments dev, prod all have policy failures with digest ${digest}: name the one you approve (${both}; "environment" in POST /approve)\n`,
      );
      const asHeld = await cli('approve', digest);
      expect(asHeld.stderr).toBe(
        `Error: Approval refused: ${digest} is the digest of the policy failures of environments dev, prod, not of changes held for approval: an owner of the policies approves them with ${both}\n`,
      );
      const after = await status(daemon);
      expect(after.environments!.dev!.policies!.approval).toBeUndefined();
      expect(after.environments!.prod!.policies!.approval).toBeUndefined();

      // Named: that environment's only, said and logged with its name.
      const dev = await cli(
        'approve',
        '--policies',
        digest,
        '--reason',
        'dev only',
        '--as',
        'alice',
        '--env',
        'dev',
      );
      expect(dev.stderr).toBe('');
      expect(dev.stdout).toBe(
        `Approved the policy failures ${digest} of environment dev as alice: dev only. The daemon plans and applies again now.\n`,
      );
      expect(started.logs.join('')).toMatch(
        /"by":"alice","why":"dev only",[^\n]*"environment":"dev","via":"api","msg":"policy failures approved by an owner"/,
      );
      const applied = await until('dev applied', async () => {
        const s = await status(daemon);
        return s.environments!.dev!.outcome === 'applied' ? s : null;
      });
      expect(applied.environments!.prod!.outcome).toBe('waiting_for_approval');
      expect(applied.environments!.prod!.policies!.approval).toBeUndefined();
    });

    it('nobody is told to run an approval that cannot work: a daemon without an admin token, a policy set without owners', async () => {
      const noToken = new TestRepo();
      noToken.commit(files(false));
      const started = await startTestDaemon({
        repo: noToken,
        env: { POOLSYNC_OPA: opaPath ?? '' },
      });
      cleanup.add(started.stop);
      await started.daemon.firstRun;
      const s = await status(started.daemon);
      expect(s).toMatchObject({ outcome: 'waiting_for_approval', adminApi: false });
      const env = { ...process.env, NO_COLOR: '' };
      const url = started.daemon.url;
      const noAdmin =
        "Nobody can approve through this daemon: approving needs the daemon's admin token, and it was started without one; restart it with POOLSYNC_ADMIN_TOKEN or --admin-token-file FILE (docs/daemon.md#approvals)\n";
      for (const args of [['status'], ['approve', '--policies']]) {
        const told = await runInProcess([...args, '--daemon', url], env);
        expect(told.stdout).toContain(noAdmin);
        expect(told.stdout).not.toContain('poolsync approve --policies sha256:');
      }
      // A policy set that lists no owner: nobody may approve, and the words say so everywhere.
      const m = files(false);
      const noOwner = new TestRepo();
      noOwner.commit({
        ...m,
        'poolsync.yaml': m['poolsync.yaml']!.replace(/ {2}owners: .*\n/, ''),
      });
      const { daemon } = await start(noOwner);
      const held = await status(daemon);
      expect(held).toMatchObject({ adminApi: true, policies: { owners: [] } });
      const none =
        'the policy set lists no owner; fix the plan, or add `owners` under `policies` in poolsync.yaml (`--policy-owners` for the daemon)';
      expect(held.lastRun!.message).toContain(
        `1 failure, 0 warnings: apply is blocked, and nobody can approve: ${none}`,
      );
      const told = await runInProcess(['status', '--daemon', daemon.url], env);
      expect(told.stdout).toContain(`Nobody can approve them: ${none}\n`);
      expect(told.stdout).not.toContain('an owner of the policies approves');
    });
  },
);
