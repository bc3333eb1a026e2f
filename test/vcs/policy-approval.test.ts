/**
 * Owners' `poolsync approve-policies` comments read in CI (src/vcs/policy-approval.ts) on the
 * local GitHub and GitLab APIs: a comment edited after it was posted approves nothing, whoever
 * the forge says posted it; one written before the plan comment showed the pull request's head
 * commit approves nothing either (a push withdraws it).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { failuresDigest, type PolicyReport } from '../../src/model/policy.js';
import { createPullRequestApi } from '../../src/vcs/forges.js';
import { approvalInComments } from '../../src/vcs/policy-approval.js';
import { publishPlan } from '../../src/vcs/publish.js';
import type { Provider } from '../../src/vcs/types.js';
import { FakeForge, type Account } from '../support/fake-forge.js';
import { makePlan } from './plan-fixture.js';

const ALICE: Account = { login: 'alice', id: 501, type: 'User' };
const MALLORY: Account = { login: 'mallory', id: 666, type: 'User' };
const FAST = { maxRetries: 2, minDelayMs: 5, maxDelayMs: 50 };

const deny = [{ rule: 'deny', msg: 'gpu has no container registry', address: 'ClusterPool/gpu' }];
const report: PolicyReport = {
  source: 'policies',
  from: 'base',
  files: 1,
  rules: 1,
  deny,
  warn: [],
  elapsed_ms: 1,
  owners: ['alice'],
  failures: failuresDigest({ deny }),
};
const approve = `poolsync approve-policies ${report.failures} fine by me`;
const A = 'a'.repeat(40);
const B = 'b'.repeat(40);

let forge: FakeForge;
beforeEach(async () => {
  forge = await new FakeForge().start();
});
afterEach(async () => {
  await forge.stop();
});

const FORGES: { provider: Provider; repository: string; key: string }[] = [
  { provider: 'github', repository: 'acme/cfg', key: 'github:acme/cfg#12' },
  { provider: 'gitlab', repository: 'acme/infra/cfg', key: 'gitlab:acme/infra/cfg!12' },
];

describe.each(FORGES)('approvals by comment in CI ($provider)', ({ provider, repository, key }) => {
  const target = (token: string) => ({
    provider,
    apiUrl: forge.url,
    repository,
    number: 12,
    token,
    retry: FAST,
  });

  /** The forge's clock `s` seconds on: its times are whole seconds, as GitHub's. */
  const later = (s: number) => (forge.now = () => Date.now() + s * 1000);
  /** poolsync's plan comment (and status) for commit `commit`, as `plan --comment` posts it. */
  const plan = (commit: string, policies: PolicyReport = report) =>
    publishPlan({
      ...target(forge.token),
      commit,
      outcome: { kind: 'plan', plan: makePlan({ queueUpdates: 1 }), policies },
    });

  it("an owner's comment edited after it was posted approves nothing, and the refusal says so", async () => {
    forge.heads.set(key, A);
    await plan(A);
    later(2);
    forge.authors.set(key, MALLORY);
    forge.seed(key, [{ body: 'looks risky, let me check', author: ALICE }]);
    const comment = forge.list(key).at(-1);
    // GitHub lets any writer edit any comment (the pull request's author here); GitLab lets a
    // note's author (and maintainers): a second later, as the forge's clock says it.
    later(4);
    const editor = createPullRequestApi(
      target(forge.tokenOf(provider === 'github' ? MALLORY : ALICE)),
    );
    await editor.updateComment(comment!.id, approve);
    await editor.close();
    expect(comment!.author).toBe(ALICE);
    expect(comment!.updated_at).not.toBe(comment!.created_at);

    expect(await approvalInComments(target(forge.token), report)).toEqual({
      ok: false,
      reason:
        "alice's approval comment was edited after it was posted: an edited comment approves nothing; post a new one",
    });

    // A new comment, as posted, approves.
    forge.seed(key, [{ body: approve, author: ALICE }]);
    expect(await approvalInComments(target(forge.token), report)).toMatchObject({
      ok: true,
      approval: { by: 'alice', why: 'fine by me', failures: report.failures },
    });
  });

  it('a push withdraws an approval: one written before the plan comment showed the head commit is refused, naming the commit it was for; re-posting that commit keeps it', async () => {
    forge.heads.set(key, A);
    forge.authors.set(key, MALLORY);
    await plan(A);
    later(2);
    forge.seed(key, [{ body: approve, author: ALICE }]);
    const approved = { ok: true, approval: { by: 'alice', failures: report.failures } };
    expect(await approvalInComments(target(forge.token), report)).toMatchObject(approved);
    // The plan comment shows the approval (updated after it, for the same commit): it still counts.
    later(4);
    await plan(A, {
      ...report,
      approval: { by: 'alice', why: 'fine by me', failures: report.failures!, at: '' },
    });
    expect(await approvalInComments(target(forge.token), report)).toMatchObject(approved);

    // The author pushes the same failures and another change: the plan comment still shows A.
    forge.heads.set(key, B);
    expect(await approvalInComments(target(forge.token), report)).toEqual({
      ok: false,
      reason:
        'written for an earlier commit aaaaaaaaaaaa: the plan comment showed it when alice approved, and the pull request is now at bbbbbbbbbbbb; review the plan of bbbbbbbbbbbb, then approve again',
    });
    // Once it shows B, the approval is still older than that.
    later(6);
    await plan(B);
    const refused = await approvalInComments(target(forge.token), report);
    expect(refused).toMatchObject({ ok: false });
    expect(refused && !refused.ok && refused.reason).toMatch(
      /^written for an earlier commit: alice approved at \S+ \S+ UTC, and the plan comment has shown the pull request's head bbbbbbbbbbbb only since \S+ \S+ UTC; review the plan of bbbbbbbbbbbb, then approve again$/,
    );
    later(8);
    forge.seed(key, [{ body: approve, author: ALICE }]);
    expect(await approvalInComments(target(forge.token), report)).toMatchObject(approved);
  });
});
